#include "chunk_layout.h"

#include <cstring>

#include "zcfs/common/crc32c.h"

namespace zcfs::storage_internal {
namespace {

constexpr char kChunkKeyPrefix = 'c';
constexpr char kFormat = 2;
constexpr size_t kFixedValueSize = 1 + 8 + 8 + 1 + 4 + 4 + 4;

void PutLittle(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLittle(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

std::string ClassName(int size_class) {
  uint64_t size = ClassSize(size_class);
  return size >= (1u << 20) ? std::to_string(size >> 20) + "MiB" : std::to_string(size >> 10) + "KiB";
}

std::string SlotId::ToString() const {
  return ClassName(size_class) + " file " + std::to_string(file) + " slot " + std::to_string(slot);
}

std::string EncodeChunkKey(ChunkId id) {
  std::string key(kChunkKeySize, '\0');
  key[0] = kChunkKeyPrefix;
  for (int i = 0; i < 8; ++i) key[1 + i] = static_cast<char>(id.inode >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) key[9 + i] = static_cast<char>(id.index >> (24 - 8 * i));
  return key;
}

Result<ChunkId> DecodeChunkKey(std::string_view key) {
  if (key.size() != kChunkKeySize || key[0] != kChunkKeyPrefix) {
    return Error(Code::kCorruption, "not a chunk metadata key (" + std::to_string(key.size()) + " bytes)");
  }
  ChunkId id;
  for (int i = 0; i < 8; ++i) id.inode = (id.inode << 8) | static_cast<unsigned char>(key[1 + i]);
  for (int i = 0; i < 4; ++i) id.index = (id.index << 8) | static_cast<unsigned char>(key[9 + i]);
  return id;
}

std::string EncodeStoredChunk(const StoredChunk& chunk) {
  std::string value;
  value.reserve(kFixedValueSize + 4 * chunk.block_crcs.size());
  value.push_back(kFormat);
  PutLittle(value, chunk.length, 8);
  PutLittle(value, chunk.version, 8);
  PutLittle(value, chunk.slot.size_class, 1);
  PutLittle(value, chunk.slot.file, 4);
  PutLittle(value, chunk.slot.slot, 4);
  PutLittle(value, chunk.block_crcs.size(), 4);
  for (uint32_t crc : chunk.block_crcs) PutLittle(value, crc, 4);
  return value;
}

Result<StoredChunk> DecodeStoredChunk(ChunkId id, std::string_view value) {
  auto bad = [&](const std::string& why) {
    return Error(Code::kCorruption, "bad metadata record for chunk " + id.ToString() + ": " + why);
  };
  if (!value.empty() && value[0] != kFormat) {
    return bad("format " + std::to_string(static_cast<unsigned char>(value[0])) +
               " is not 2 (a target from an older zcfs must be re-created)");
  }
  if (value.size() < kFixedValueSize) return bad("too short (" + std::to_string(value.size()) + " bytes)");
  const char* p = value.data() + 1;
  StoredChunk chunk;
  chunk.length = GetLittle(p, 8);
  chunk.version = GetLittle(p + 8, 8);
  uint64_t size_class = GetLittle(p + 16, 1);
  chunk.slot.file = static_cast<uint32_t>(GetLittle(p + 17, 4));
  chunk.slot.slot = static_cast<uint32_t>(GetLittle(p + 21, 4));
  uint64_t crc_count = GetLittle(p + 25, 4);
  if (size_class >= kNumClasses) return bad("size class " + std::to_string(size_class) + " does not exist");
  chunk.slot.size_class = static_cast<uint8_t>(size_class);
  if (chunk.length > ClassSize(chunk.slot.size_class)) {
    return bad("length " + std::to_string(chunk.length) + " exceeds its " + ClassName(chunk.slot.size_class) + " slot");
  }
  if (crc_count != BlockCount(chunk.length)) {
    return bad(std::to_string(crc_count) + " checksums for length " + std::to_string(chunk.length));
  }
  if (value.size() != kFixedValueSize + 4 * crc_count) return bad("size does not match its checksum count");
  chunk.block_crcs.resize(crc_count);
  for (uint64_t i = 0; i < crc_count; ++i) {
    chunk.block_crcs[i] = static_cast<uint32_t>(GetLittle(value.data() + kFixedValueSize + 4 * i, 4));
  }
  return chunk;
}

ChunkMeta StoredChunk::meta() const {
  uint32_t digest = crc32c(block_crcs.data(), block_crcs.size() * sizeof(uint32_t));
  return {length, version, digest};
}

}  // namespace zcfs::storage_internal
