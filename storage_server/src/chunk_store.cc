#include "zcfs/storage/chunk_store.h"

#include <cstring>
#include <filesystem>

#include "async_mutex.h"
#include "chunk_layout.h"
#include "chunk_meta_db.h"
#include "slot_space.h"
#include "zcfs/common/crc32c.h"

namespace zcfs {

using storage_internal::AsyncMutex;
using storage_internal::BlockBytes;
using storage_internal::ChunkMetaDb;
using storage_internal::SlotSpace;
using storage_internal::StoredChunk;

namespace {
constexpr size_t kLockStripes = 256;  // writes to chunks that share a stripe serialize; never deadlock
// Commits waiting for their WAL sync at once; RocksDB groups concurrent synced writes into one fsync.
constexpr size_t kCommitThreads = 4;
}  // namespace

Result<std::unique_ptr<ChunkStore>> ChunkStore::Open(Options options, BlockIo& io) {
  if (options.max_chunk_size == 0 || options.max_chunk_size % kBlockSize != 0 ||
      options.max_chunk_size > storage_internal::ClassSize(storage_internal::kNumClasses - 1)) {
    return Error(Code::kInvalidArgument, "max_chunk_size must be a multiple of 4096 in (0, 64 MiB]");
  }
  if (std::filesystem::exists(options.dir + "/chunks")) {
    return Error(Code::kNotSupported,
                 "target " + options.dir + " holds per-chunk files from an older zcfs; move it away and start afresh");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Error(code_from_errno(ec.value()), "create target " + options.dir + ": " + ec.message());
  ASSIGN_OR_RETURN(auto meta, ChunkMetaDb::Open(options.dir + "/chunk_meta.db"));
  ASSIGN_OR_RETURN(auto groups, meta->LoadSlotGroups());
  SlotSpace::Options space_options{options.dir + "/data", options.direct_io, options.grow_bytes,
                                   options.max_file_bytes};
  ASSIGN_OR_RETURN(auto space, SlotSpace::Open(std::move(space_options), io, groups));
  return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(options), io, std::move(meta), std::move(space)));
}

ChunkStore::ChunkStore(Options options, BlockIo& io, std::unique_ptr<ChunkMetaDb> meta,
                       std::unique_ptr<SlotSpace> space)
    : options_(std::move(options)),
      io_(io),
      meta_(std::move(meta)),
      space_(std::move(space)),
      locks_(new AsyncMutex[kLockStripes]),
      commit_threads_(std::make_unique<asio::thread_pool>(kCommitThreads)) {}

ChunkStore::~ChunkStore() { commit_threads_->join(); }

Task<Status> ChunkStore::Commit(const storage_internal::MetaChange& change) {
  asio::any_io_executor home = co_await asio::this_coro::executor;
  co_await asio::post(commit_threads_->get_executor(), asio::use_awaitable);
  Status s = meta_->Commit(change);
  co_await asio::post(home, asio::use_awaitable);
  co_return s;
}

AsyncMutex& ChunkStore::LockFor(ChunkId id) {
  uint64_t h = id.inode * 0x9E3779B97F4A7C15ull ^ (id.index + 0x632BE59BD9B4E019ull + (id.inode << 6));
  return locks_[h % kLockStripes];
}

Result<std::optional<ChunkMeta>> ChunkStore::GetMeta(ChunkId id) const {
  ASSIGN_OR_RETURN(std::optional<StoredChunk> chunk, meta_->Get(id));
  if (!chunk) return std::optional<ChunkMeta>();
  return std::optional<ChunkMeta>(chunk->meta());
}

Result<std::vector<std::pair<ChunkId, ChunkMeta>>> ChunkStore::List(ChunkId from, size_t limit) const {
  ASSIGN_OR_RETURN(auto records, meta_->ScanAll(from, limit));
  std::vector<std::pair<ChunkId, ChunkMeta>> out;
  out.reserve(records.size());
  for (const auto& [id, chunk] : records) out.emplace_back(id, chunk.meta());
  return out;
}

ChunkStore::SpaceStats ChunkStore::space_stats() const {
  SlotSpace::Stats s = space_->stats();
  SpaceStats out;
  for (int c = 0; c < storage_internal::kNumClasses; ++c) {
    out.slot_bytes += s.classes[c].slots * storage_internal::ClassSize(c);
    out.used_bytes += s.classes[c].used * storage_internal::ClassSize(c);
    out.used_slots += s.classes[c].used;
  }
  out.data_files = s.files;
  return out;
}

Task<Status> ChunkStore::ReadBlocks(ChunkId id, const StoredChunk& chunk, uint64_t first_block,
                                    std::span<std::byte> dst) {
  const uint64_t pos = first_block * kBlockSize;
  Result<size_t> n = co_await io_.Read(space_->fd(chunk.slot), SlotSpace::offset(chunk.slot) + pos, dst);
  if (!n.ok()) {
    Status s = n.status();
    co_return s.Prepend("read chunk " + id.ToString() + " (" + chunk.slot.ToString() + ")");
  }
  if (*n != dst.size()) {
    co_return Error(Code::kCorruption, "the data file of chunk " + id.ToString() + " ends inside its " +
                                           chunk.slot.ToString() + " on " + options_.dir);
  }
  for (uint64_t i = 0; i < dst.size() / kBlockSize; ++i) {
    const uint64_t block = first_block + i;
    const uint64_t bytes = BlockBytes(chunk.length, block);
    if (bytes == 0) break;  // past the chunk's length: filler the caller does not use
    if (crc32c(dst.data() + i * kBlockSize, bytes) != chunk.block_crcs[block]) {
      co_return Error(Code::kChecksumMismatch, "chunk " + id.ToString() + " on " + options_.dir + ": bytes " +
                                                   std::to_string(block * kBlockSize) + ".." +
                                                   std::to_string(block * kBlockSize + bytes) +
                                                   " fail their checksum (the stored data is damaged)");
    }
  }
  co_return Status::Ok();
}

Task<Result<ChunkData>> ChunkStore::Read(ChunkId id, uint64_t offset, uint64_t length) {
  if (offset > options_.max_chunk_size || length > options_.max_chunk_size - offset) {
    co_return Error(Code::kInvalidArgument, "read of chunk " + id.ToString() + " at " + std::to_string(offset) +
                                                " length " + std::to_string(length) + " exceeds the chunk size limit");
  }
  if (length == 0) co_return ChunkData();
  // Pinned before the lookup: the slot the record names cannot be reused until this read is done.
  SlotSpace::ReadPin pin = space_->PinForRead();
  for (int attempt = 0;; ++attempt) {
    Result<std::optional<StoredChunk>> chunk = meta_->Get(id);
    if (!chunk.ok()) co_return chunk.status();
    if (!chunk->has_value() || offset >= (*chunk)->length) co_return ChunkData();  // a hole
    const uint64_t end = std::min(offset + length, (*chunk)->length);
    const uint64_t start = align_down(offset, kBlockSize);
    IoBuffer buffer = io_.AcquireBuffer(align_up(end, kBlockSize) - start);
    Status s = co_await ReadBlocks(id, **chunk, start / kBlockSize, buffer.span());
    if (s.ok()) co_return ChunkData(std::move(buffer), offset - start, end - offset);
    // A cut followed by an append in place rewrites bytes past the cut in the same slot; a read that
    // looked the record up before the cut can see them. A changed version means that, not damage.
    if (s.code() != Code::kChecksumMismatch || attempt == 2) co_return s;
    Result<std::optional<ChunkMeta>> now = GetMeta(id);
    if (!now.ok() || !now->has_value() || (*now)->version == (*chunk)->version) co_return s;
  }
}

Task<Result<WriteResult>> ChunkStore::Write(ChunkId id, uint64_t offset, std::span<const std::byte> data,
                                            uint32_t chunk_size) {
  size_t head = offset % kBlockSize;
  AlignedBuffer buffer(head + data.size(), AlignedBuffer::Init::kUninitialized);
  if (!data.empty()) std::memcpy(buffer.data() + head, data.data(), data.size());
  co_return co_await Write(id, offset, AlignedPayload{&buffer, head, data.size()}, chunk_size);
}

}  // namespace zcfs
