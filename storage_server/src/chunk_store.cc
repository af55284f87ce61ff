#include "zcfs/storage/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "async_mutex.h"
#include "chunk_meta_db.h"
#include "unique_fd.h"
#include "zcfs/common/logging.h"

namespace zcfs {

using storage_internal::AsyncMutex;
using storage_internal::ChunkMetaDb;
using storage_internal::UniqueFd;

namespace {
constexpr size_t kLockStripes = 256;  // writes to chunks that share a stripe serialize; never deadlock
}  // namespace

Result<std::unique_ptr<ChunkStore>> ChunkStore::Open(Options options, BlockIo& io) {
  if (options.max_chunk_size == 0 || options.max_chunk_size % kBlockSize != 0) {
    return Error(Code::kInvalidArgument, "max_chunk_size must be a positive multiple of 4096");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir + "/chunks", ec);
  if (ec) return Error(code_from_errno(ec.value()), "create " + options.dir + "/chunks: " + ec.message());
  ASSIGN_OR_RETURN(auto meta, ChunkMetaDb::Open(options.dir + "/chunk_meta.db"));
  return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(options), io, std::move(meta)));
}

ChunkStore::ChunkStore(Options options, BlockIo& io, std::unique_ptr<ChunkMetaDb> meta)
    : options_(std::move(options)), io_(io), meta_(std::move(meta)), locks_(new AsyncMutex[kLockStripes]) {}

ChunkStore::~ChunkStore() = default;

std::string ChunkStore::ChunkPath(ChunkId id) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016" PRIx64 ".%08" PRIx32, id.inode, id.index);
  return options_.dir + "/chunks/" + name;
}

Result<int> ChunkStore::OpenChunk(ChunkId id, bool create) const {
  std::string path = ChunkPath(id);
  int flags = O_RDWR | O_CLOEXEC | (options_.direct_io ? O_DIRECT : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd >= 0 || errno != ENOENT || !create) {
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    return fd;
  }
  fd = ::open(path.c_str(), flags | O_CREAT, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  // The new directory entry must be durable before metadata that refers to the chunk commits.
  if (Status s = SyncChunkDir(); !s.ok()) {
    ::close(fd);
    return s.Prepend("create " + path);
  }
  return fd;
}

Status ChunkStore::SyncChunkDir() const {
  std::string path = options_.dir + "/chunks";
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) return Status::FromErrno(errno, "sync directory " + path);
  return Status::Ok();
}

AsyncMutex& ChunkStore::LockFor(ChunkId id) {
  uint64_t h = id.inode * 0x9E3779B97F4A7C15ull ^ (id.index + 0x632BE59BD9B4E019ull + (id.inode << 6));
  return locks_[h % kLockStripes];
}

Result<std::optional<ChunkMeta>> ChunkStore::GetMeta(ChunkId id) const { return meta_->Get(id); }

Task<Result<ChunkData>> ChunkStore::Read(ChunkId id, uint64_t offset, uint64_t length) {
  if (offset > options_.max_chunk_size || length > options_.max_chunk_size - offset) {
    co_return Error(Code::kInvalidArgument, "read of chunk " + id.ToString() + " at " + std::to_string(offset) +
                                                " length " + std::to_string(length) + " exceeds the chunk size limit");
  }
  if (length == 0) co_return ChunkData();
  Result<std::optional<ChunkMeta>> meta = meta_->Get(id);
  if (!meta.ok()) co_return meta.status();
  if (!meta->has_value() || offset >= (*meta)->length) co_return ChunkData();  // a hole
  uint64_t end = std::min(offset + length, (*meta)->length);

  Result<int> fd = OpenChunk(id, false);
  if (!fd.ok()) {
    // A truncation may have removed the chunk since the lookup: it commits length 0 before unlinking.
    if (fd.status().code() != Code::kNotFound) co_return fd.status();
    meta = meta_->Get(id);
    if (!meta.ok()) co_return meta.status();
    if (!meta->has_value() || offset >= (*meta)->length) co_return ChunkData();
    co_return fd.status();
  }
  UniqueFd file(*fd);
  uint64_t start = align_down(offset, kBlockSize);
  IoBuffer buffer = io_.AcquireBuffer(align_up(end, kBlockSize) - start);
  Result<size_t> n = co_await io_.Read(file.get(), start, buffer.span());
  if (!n.ok()) co_return n.status();
  // Committed bytes are always on disk; a shorter file would only mean trailing zeros.
  if (size_t needed = end - start; *n < needed) std::memset(buffer.data() + *n, 0, needed - *n);
  co_return ChunkData(std::move(buffer), offset - start, end - offset);
}

Task<Result<WriteResult>> ChunkStore::Write(ChunkId id, uint64_t offset, std::span<const std::byte> data,
                                            uint32_t chunk_size) {
  size_t head = offset % kBlockSize;
  AlignedBuffer buffer(head + data.size(), AlignedBuffer::Init::kUninitialized);
  if (!data.empty()) std::memcpy(buffer.data() + head, data.data(), data.size());
  co_return co_await Write(id, offset, AlignedPayload{&buffer, head, data.size()}, chunk_size);
}

}  // namespace zcfs
