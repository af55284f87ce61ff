// How a target lays chunks out on disk: size classes, slots, and the record RocksDB keeps per chunk.
//
// Chunk data lives in large data files, one series per size class (64 KiB, 128 KiB, ... 64 MiB). A
// class-c file is an array of equal slots of ClassSize(c) bytes; a chunk occupies one slot of the
// smallest class that holds its (block-aligned) length. The record of a chunk says which slot, its
// logical length, its version and one CRC32C per 4 KiB block.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/status.h"
#include "zcfs/storage/chunk_id.h"

namespace zcfs::storage_internal {

inline constexpr uint64_t kMinClassSize = 64u << 10;
inline constexpr int kNumClasses = 11;  // 64 KiB .. 64 MiB

constexpr uint64_t ClassSize(int size_class) { return kMinClassSize << size_class; }

// The smallest class whose slots hold `bytes` (bytes <= ClassSize(kNumClasses - 1)).
constexpr int ClassFor(uint64_t bytes) {
  int c = 0;
  while (c + 1 < kNumClasses && ClassSize(c) < bytes) ++c;
  return c;
}

// "64KiB", "4MiB": how a class appears in data file names and messages.
std::string ClassName(int size_class);

// One slot: slot `slot` of data file `file` of class `size_class`. A value type.
struct SlotId {
  uint8_t size_class = 0;
  uint32_t file = 0;
  uint32_t slot = 0;
  auto operator<=>(const SlotId&) const = default;
  std::string ToString() const;
};

// The blocks a chunk of `length` bytes has, and the bytes of block `block` that belong to the chunk
// (the last block may be partial: its checksum covers only the chunk's bytes).
constexpr uint64_t BlockCount(uint64_t length) { return align_up(length, kBlockSize) / kBlockSize; }
constexpr uint64_t BlockBytes(uint64_t length, uint64_t block) {
  uint64_t start = block * kBlockSize;
  return start >= length ? 0 : std::min<uint64_t>(kBlockSize, length - start);
}

// The committed state of one chunk.
struct StoredChunk {
  uint64_t length = 0;
  uint64_t version = 0;
  SlotId slot;
  std::vector<uint32_t> block_crcs;  // BlockCount(length) entries

  ChunkMeta meta() const;
};

// RocksDB keys: 'c' + inode (8 bytes big-endian) + index (4 bytes big-endian), so one file's chunks
// sort together; slot bitmap groups live under 'b' (slot_bitmap.h).
std::string EncodeChunkKey(ChunkId id);
// The id of a chunk key, or kCorruption when `key` is not one.
Result<ChunkId> DecodeChunkKey(std::string_view key);
inline constexpr size_t kChunkKeySize = 1 + 8 + 4;

// Value: format byte 2, length and version (8 bytes each), class (1), file and slot (4 each), the
// number of checksums (4), then the checksums (4 each); integers little-endian.
std::string EncodeStoredChunk(const StoredChunk& chunk);
// Rejects anything that is not exactly such a value with consistent fields (the checksum count
// matches the length, the length fits the slot's class) as kCorruption naming the chunk.
Result<StoredChunk> DecodeStoredChunk(ChunkId id, std::string_view value);

}  // namespace zcfs::storage_internal
