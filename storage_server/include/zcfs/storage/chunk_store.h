// ChunkStore: the chunks of one storage target (a directory on a local disk).
//
// Layout: chunk data in size-class data files under `<dir>/data` (slot_space.h: a chunk occupies one
// slot of the smallest class holding it), chunk records (slot, logical length, version, a CRC32C per
// 4 KiB block) and the slot bitmaps in RocksDB at `<dir>/chunk_meta.db`. The layout is private:
// callers see only chunk ids, offsets and lengths.
//
// Durability and atomicity: a write never changes a committed byte in place. It writes into a free
// slot (copy-on-write), or, when it only appends to a chunk whose slot has room, past the committed
// length; then it fdatasyncs, then commits the record and the slot bitmap change in one synced
// RocksDB batch. A crash at any point leaves every chunk with either its old or its new content.
// Reads verify the checksum of every block they return (kChecksumMismatch otherwise).
#pragma once

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/storage/block_io.h"
#include "zcfs/storage/chunk_id.h"

namespace zcfs {

namespace storage_internal {
class ChunkMetaDb;
struct MetaChange;
class AsyncMutex;
class SlotSpace;
struct StoredChunk;
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
    uint32_t max_chunk_size = 64u << 20;    // largest chunk_size accepted (at most 64 MiB)
    bool direct_io = true;                  // O_DIRECT (tests on tmpfs may turn it off)
    uint64_t grow_bytes = 64ull << 20;      // data files grow by this much at a time
    uint64_t max_file_bytes = 64ull << 30;  // size of a data file before its class starts another
  };

  static Result<std::unique_ptr<ChunkStore>> Open(Options options, BlockIo& io);
  ~ChunkStore();

  // Reads [offset, offset + length) of the chunk, clipped at its logical length. An unknown chunk or
  // an offset at/after the end gives length 0 (a hole, not an error). offset + length beyond
  // max_chunk_size is kInvalidArgument; stored bytes that fail their checksum kChecksumMismatch.
  Task<Result<ChunkData>> Read(ChunkId id, uint64_t offset, uint64_t length);

  // Awaited after a write's data is durable and before it commits; an error cancels the write (the
  // chunk stays as it was). Chain replication waits there for the rest of the chain.
  using BeforeCommit = std::function<Task<Status>()>;

  // Writes the payload at `offset`. offset + length must fit in chunk_size (<= max_chunk_size).
  // The new length is max(old length, offset + length); the version grows by one.
  Task<Result<WriteResult>> Write(ChunkId id, uint64_t offset, AlignedPayload payload, uint32_t chunk_size,
                                  BeforeCommit before_commit = nullptr);
  // Convenience: copies `data` into aligned memory first (tests, tools; the RPC path uses the above).
  Task<Result<WriteResult>> Write(ChunkId id, uint64_t offset, std::span<const std::byte> data, uint32_t chunk_size);

  // Makes the chunks of `inode` hold no data at or past file offset `length`, for a file of
  // `chunk_size` (in (0, max_chunk_size]): chunks that start at or past it are removed (their slots
  // freed), the chunk containing it is cut to it (bytes past the cut read as zeros even after a later
  // write extends the chunk). Each step commits atomically; after a failure or crash, calling it
  // again finishes the job; chunks already gone are not an error.
  Task<Result<TruncateResult>> Truncate(uint64_t inode, uint64_t length, uint32_t chunk_size);

  // The committed metadata, or nullopt for a chunk never written.
  Result<std::optional<ChunkMeta>> GetMeta(ChunkId id) const;

  // ---- for replication (chain_replicator.h, resync.h) ----
  // The committed chunks from `from` on (inclusive), in id order, at most `limit`.
  Result<std::vector<std::pair<ChunkId, ChunkMeta>>> List(ChunkId from, size_t limit) const;
  // Makes the chunk hold exactly `whole` (its new length; block-aligned in memory) at `version`,
  // whatever it held before: a copy from another replica. An empty `whole` removes the chunk. Atomic
  // as Write.
  Task<Result<WriteResult>> Replace(ChunkId id, AlignedPayload whole, uint64_t version);
  // Removes the chunk (nothing to do when it does not exist). Atomic.
  Task<Status> Remove(ChunkId id);

  const std::string& dir() const { return options_.dir; }
  // Payload bytes copied because a payload was not placed at its in-block offset (0 on the RPC path).
  uint64_t payload_bytes_copied() const { return payload_bytes_copied_.load(); }

  struct SpaceStats {
    uint64_t slot_bytes = 0;  // in the data files
    uint64_t used_bytes = 0;  // in slots that hold (or are being written with) a chunk
    uint64_t used_slots = 0;
    size_t data_files = 0;
  };
  SpaceStats space_stats() const;

 private:
  class Writer;
  class Truncator;
  ChunkStore(Options options, BlockIo& io, std::unique_ptr<storage_internal::ChunkMetaDb> meta,
             std::unique_ptr<storage_internal::SlotSpace> space);
  // Reads the blocks [first_block, first_block + blocks) of a stored chunk into `dst` (block-aligned,
  // blocks * 4 KiB) and verifies each against its checksum.
  Task<Status> ReadBlocks(ChunkId id, const storage_internal::StoredChunk& chunk, uint64_t first_block,
                          std::span<std::byte> dst);
  storage_internal::AsyncMutex& LockFor(ChunkId id);
  // Commits on a commit thread and resumes on the caller's executor: a synced commit waits for an fsync
  // of the write-ahead log, which must not stall the I/O thread (its ring and its connections).
  Task<Status> Commit(const storage_internal::MetaChange& change);

  Options options_;
  BlockIo& io_;
  std::unique_ptr<storage_internal::ChunkMetaDb> meta_;
  std::unique_ptr<storage_internal::SlotSpace> space_;
  std::unique_ptr<storage_internal::AsyncMutex[]> locks_;
  std::atomic<uint64_t> payload_bytes_copied_{0};
  // Last member: joined first at destruction, while everything a commit touches still exists.
  std::unique_ptr<asio::thread_pool> commit_threads_;
};

}  // namespace zcfs
