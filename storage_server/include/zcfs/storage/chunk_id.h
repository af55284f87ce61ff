// Chunk identity and chunk metadata, as the storage server keeps them.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace zcfs {

// Chunk `index` of file `inode`. A value type.
struct ChunkId {
  uint64_t inode = 0;
  uint32_t index = 0;
  auto operator<=>(const ChunkId&) const = default;
  std::string ToString() const { return std::to_string(inode) + "/" + std::to_string(index); }
};

// What the store records per chunk, committed only after the data it describes is durable.
struct ChunkMeta {
  uint64_t length = 0;   // logical length: bytes [0, length) are the chunk's data, holes read as zeros
  uint64_t version = 0;  // bumped by every successful write
  uint32_t digest = 0;   // CRC32C of the chunk's block checksums: replicas with equal digests hold equal bytes
  bool operator==(const ChunkMeta&) const = default;
};

}  // namespace zcfs
