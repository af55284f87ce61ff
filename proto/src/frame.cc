#include "zcfs/proto/frame.h"

#include <string>

namespace zcfs {
namespace {

template <typename T>
void put_le(std::byte* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::byte>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
}

template <typename T>
T get_le(const std::byte* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

FrameHeaderBytes encode_frame_header(const FrameHeader& h) {
  FrameHeaderBytes out{};
  put_le<uint32_t>(&out[0], kFrameMagic);
  put_le<uint16_t>(&out[4], h.version);
  put_le<uint16_t>(&out[6], h.flags);
  put_le<uint16_t>(&out[8], h.method);
  put_le<uint16_t>(&out[10], h.status);
  put_le<uint32_t>(&out[12], h.body_len);
  put_le<uint64_t>(&out[16], h.request_id);
  put_le<uint64_t>(&out[24], h.payload_len);
  return out;
}

Result<FrameHeader> decode_frame_header(std::span<const std::byte, kFrameHeaderSize> b, const FrameLimits& limits) {
  uint32_t magic = get_le<uint32_t>(&b[0]);
  if (magic != kFrameMagic) return Error(Code::kProtocolError, "bad frame magic " + std::to_string(magic));
  FrameHeader h;
  h.version = get_le<uint16_t>(&b[4]);
  h.flags = get_le<uint16_t>(&b[6]);
  h.method = get_le<uint16_t>(&b[8]);
  h.status = get_le<uint16_t>(&b[10]);
  h.body_len = get_le<uint32_t>(&b[12]);
  h.request_id = get_le<uint64_t>(&b[16]);
  h.payload_len = get_le<uint64_t>(&b[24]);
  if (h.version != kProtocolVersion) {
    return Error(Code::kProtocolError, "unsupported protocol version " + std::to_string(h.version) + " (this build speaks " +
                                           std::to_string(kProtocolVersion) + ")");
  }
  if ((h.flags & ~kKnownFlags) != 0) return Error(Code::kProtocolError, "unknown frame flags " + std::to_string(h.flags));
  if (!h.is_response() && h.status != 0) return Error(Code::kProtocolError, "request frame carries a status");
  if (h.body_len > limits.max_body) {
    return Error(Code::kProtocolError, "frame body of " + std::to_string(h.body_len) + " bytes exceeds limit " +
                                           std::to_string(limits.max_body));
  }
  if (h.payload_len > limits.max_payload) {
    return Error(Code::kProtocolError, "frame payload of " + std::to_string(h.payload_len) + " bytes exceeds limit " +
                                           std::to_string(limits.max_payload));
  }
  return h;
}

}  // namespace zcfs
