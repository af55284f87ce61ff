// ChunkStore: the chunks of one storage target (a directory on a local disk).
//
// Layout: `<dir>/chunks/<inode:016x>.<index:08x>`, one file per chunk, opened O_DIRECT; metadata
// (logical length, version) in RocksDB at `<dir>/chunk_meta.db`. The file layout is private: callers
// see only chunk ids, offsets and lengths (issue 4 replaces the per-chunk files with size-class files).
//
// Durability: a write puts the data on disk and fdatasyncs it before the metadata commit (synced),
// so committed metadata never describes data that could be lost. A failed write returns its error
// and leaves the metadata, and every byte outside the written range, as they were (bytes inside the
// range may be partly overwritten: writes are in place, not copy-on-write).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/storage/block_io.h"
#include "zcfs/storage/chunk_id.h"

namespace zcfs {

namespace storage_internal {
class ChunkMetaDb;
class AsyncMutex;
}  // namespace storage_internal

// The bytes of one read: owns the aligned buffer the disk filled and points at the requested range
// inside it (no copy). Move-only; thread-compatible.
class ChunkData {
 public:
  ChunkData() = default;
  ChunkData(IoBuffer buffer, size_t offset, size_t length)
      : buffer_(std::move(buffer)), offset_(offset), length_(length) {}
  std::span<const std::byte> data() const { return {buffer_.data() + offset_, length_}; }
  size_t length() const { return length_; }

 private:
  IoBuffer buffer_;
  size_t offset_ = 0;
  size_t length_ = 0;
};

// Write data that already sits in block-aligned memory: bytes [data_offset, data_offset + length) of
// `buffer`. When data_offset % kBlockSize equals the chunk offset % kBlockSize, the data is written
// from this memory in place and the store may overwrite the bytes of `buffer` before data_offset in
// the same block (it merges the chunk's existing head bytes there); otherwise it is copied once.
struct AlignedPayload {
  AlignedBuffer* buffer = nullptr;
  size_t data_offset = 0;
  size_t length = 0;
};

struct WriteResult {
  uint64_t chunk_length = 0;
  uint64_t version = 0;
};

struct TruncateResult {
  uint32_t removed_chunks = 0;    // records deleted (with their files)
  uint32_t truncated_chunks = 0;  // chunks whose length was cut
};

// Thread-safe. Reads run concurrently with everything; writes and truncations of one chunk are
// serialized (a striped coroutine lock), those of different chunks run concurrently.
class ChunkStore {
 public:
  struct Options {
    std::string dir;
    uint32_t max_chunk_size = 64u << 20;  // largest chunk_size accepted; reads must stay below it
    bool direct_io = true;                // O_DIRECT (tests on tmpfs may turn it off)
  };

  static Result<std::unique_ptr<ChunkStore>> Open(Options options, BlockIo& io);
  ~ChunkStore();

  // Reads [offset, offset + length) of the chunk, clipped at its logical length. An unknown chunk or
  // an offset at/after the end gives length 0 (a hole, not an error). offset + length beyond
  // max_chunk_size is kInvalidArgument.
  Task<Result<ChunkData>> Read(ChunkId id, uint64_t offset, uint64_t length);

  // Writes the payload at `offset`. offset + length must fit in chunk_size (<= max_chunk_size).
  // The new length is max(old length, offset + length); the version grows by one.
  Task<Result<WriteResult>> Write(ChunkId id, uint64_t offset, AlignedPayload payload, uint32_t chunk_size);
  // Convenience: copies `data` into aligned memory first (tests, tools; the RPC path uses the above).
  Task<Result<WriteResult>> Write(ChunkId id, uint64_t offset, std::span<const std::byte> data, uint32_t chunk_size);

  // Makes the chunks of `inode` hold no data at or past file offset `length`, for a file of
  // `chunk_size` (in (0, max_chunk_size]): chunks that start at or past it are removed (file and
  // metadata), the chunk containing it is cut to it (metadata, then the file, so that bytes past the
  // cut read as zeros even after a later write extends the chunk). Crash safe and idempotent: after a
  // failure or crash, calling it again finishes the job; chunks already gone are not an error.
  Task<Result<TruncateResult>> Truncate(uint64_t inode, uint64_t length, uint32_t chunk_size);

  // The committed metadata, or nullopt for a chunk never written.
  Result<std::optional<ChunkMeta>> GetMeta(ChunkId id) const;

  const std::string& dir() const { return options_.dir; }
  // Payload bytes copied because a payload was not placed at its in-block offset (0 on the RPC path).
  uint64_t payload_bytes_copied() const { return payload_bytes_copied_.load(); }

 private:
  class Writer;
  class Truncator;
  ChunkStore(Options options, BlockIo& io, std::unique_ptr<storage_internal::ChunkMetaDb> meta);
  std::string ChunkPath(ChunkId id) const;
  Result<int> OpenChunk(ChunkId id, bool create) const;
  // fsync of the chunks directory: makes created and removed chunk files durable.
  Status SyncChunkDir() const;
  storage_internal::AsyncMutex& LockFor(ChunkId id);

  Options options_;
  BlockIo& io_;
  std::unique_ptr<storage_internal::ChunkMetaDb> meta_;
  std::unique_ptr<storage_internal::AsyncMutex[]> locks_;
  std::atomic<uint64_t> payload_bytes_copied_{0};
};

}  // namespace zcfs
