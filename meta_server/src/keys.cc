#include "keys.h"

namespace zcfs::meta::keys {

std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::string be32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::optional<uint64_t> read_be64(std::string_view s) {
  if (s.size() < 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::optional<uint32_t> read_be32(std::string_view s) {
  if (s.size() < 4) return std::nullopt;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::string encode_dentry(const Dentry& d) {
  std::string out = be64(d.ino);
  out.push_back(static_cast<char>(d.type));
  return out;
}

std::optional<Dentry> decode_dentry(std::string_view value) {
  if (value.size() != 9) return std::nullopt;
  auto ino = read_be64(value);
  auto type = static_cast<uint8_t>(value[8]);
  if (!ino || !pb::FileType_IsValid(type)) return std::nullopt;
  return Dentry{*ino, static_cast<pb::FileType>(type)};
}

}  // namespace zcfs::meta::keys
