// ChunkStore::Write: O_DIRECT writes at any offset and length.
//
// The payload sits in aligned memory at its in-block offset, so the whole blocks it covers are written
// from that memory. Partial edge blocks are read-modify-write: the head's existing bytes are copied
// into the payload memory in front of the data (< 4 KiB), the last partial block is assembled in a
// 4 KiB buffer. Then fdatasync, then the metadata commit.
//
// Invariant of a chunk file: bytes [0, length) are the chunk's data; bytes past `length` are
// undefined (padding of the last block, or leftovers of a failed write). So a write that starts past
// `length` first truncates the file to `length`, which makes the gap read as zeros.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "async_mutex.h"
#include "chunk_file.h"
#include "chunk_meta_db.h"
#include "unique_fd.h"
#include "zcfs/storage/chunk_store.h"

namespace zcfs {

using storage_internal::AsyncMutex;
using storage_internal::UniqueFd;

namespace {

Status ValidateWrite(ChunkId id, uint64_t offset, const AlignedPayload& payload, uint32_t chunk_size,
                     uint32_t max_chunk_size) {
  if (chunk_size == 0 || chunk_size > max_chunk_size) {
    return Error(Code::kInvalidArgument,
                 "chunk size " + std::to_string(chunk_size) + " is not in (0, " + std::to_string(max_chunk_size) + "]");
  }
  if (offset > chunk_size || payload.length > chunk_size - offset) {
    return Error(Code::kInvalidArgument, "write of " + std::to_string(payload.length) + " bytes at " +
                                             std::to_string(offset) + " does not fit chunk " + id.ToString() +
                                             " of size " + std::to_string(chunk_size));
  }
  if (payload.length > 0 &&
      (payload.buffer == nullptr || payload.data_offset + payload.length > payload.buffer->size())) {
    return Error(Code::kInvalidArgument, "write payload lies outside its buffer");
  }
  return Status::Ok();
}

}  // namespace

// One write, run while holding the chunk's lock. Not thread-safe (lives in one coroutine).
class ChunkStore::Writer {
 public:
  Writer(ChunkStore& store, ChunkId id, uint64_t offset, AlignedPayload payload)
      : store_(store), io_(store.io_), id_(id), offset_(offset), payload_(payload) {}

  Task<Result<WriteResult>> Run() {
    Result<std::optional<ChunkMeta>> old = store_.meta_->Get(id_);
    if (!old.ok()) co_return old.status();
    ChunkMeta meta = old->value_or(ChunkMeta{});
    Result<int> fd = store_.OpenChunk(id_, true);
    if (!fd.ok()) co_return fd.status();
    file_ = UniqueFd(*fd);
    if (offset_ > meta.length) {
      Status s = storage_internal::TruncateFileBeyond(file_.get(), meta.length);  // the gap reads as zeros
      if (!s.ok()) co_return s;
    }
    Status s = co_await WriteBlocks(meta.length);
    if (s.ok()) s = co_await io_.Sync(file_.get());
    if (!s.ok()) co_return s.Prepend("write chunk " + id_.ToString());
    ChunkMeta next{std::max(meta.length, offset_ + payload_.length), meta.version + 1};
    s = store_.meta_->Put(id_, next);
    if (!s.ok()) co_return s;
    co_return WriteResult{next.length, next.version};
  }

 private:
  // Writes the payload's blocks; `length` is the chunk's committed length (what must be preserved).
  Task<Status> WriteBlocks(uint64_t length) {
    const uint64_t head = offset_ % kBlockSize;
    const uint64_t start = offset_ - head;
    const uint64_t end = offset_ + payload_.length;
    const uint64_t full_end = align_down(end, kBlockSize);
    std::byte* mem = payload_.buffer->data() + (payload_.data_offset - head);  // block-aligned
    if (full_end > start) {
      if (head > 0) {
        AlignedBuffer block;
        Status s = co_await ReadBlock(start, start < length, block);
        if (!s.ok()) co_return s;
        std::memcpy(mem, block.data(), head);
      }
      Status s = co_await WriteAll(start, {mem, full_end - start});
      if (!s.ok() || end == full_end) co_return s;
    }
    // The last, partial block (also the only block when the write starts and ends inside it).
    AlignedBuffer block;
    Status s = co_await ReadBlock(full_end, full_end == start ? start < length : end < length, block);
    if (!s.ok()) co_return s;
    uint64_t from = std::max(full_end, offset_);
    std::memcpy(block.data() + (from - full_end), payload_.buffer->data() + payload_.data_offset + (from - offset_),
                end - from);
    co_return co_await WriteAll(full_end, {block.data(), kBlockSize});
  }

  // Fills `block` with the block at `pos` when `existing` (its bytes matter), else with zeros.
  Task<Status> ReadBlock(uint64_t pos, bool existing, AlignedBuffer& block) {
    block = AlignedBuffer(kBlockSize, AlignedBuffer::Init::kZeroed);
    if (!existing) co_return Status::Ok();
    Result<size_t> n = co_await io_.Read(file_.get(), pos, block.span());
    co_return n.status();  // a short read leaves zeros past the end of the file
  }

  Task<Status> WriteAll(uint64_t pos, std::span<const std::byte> data) {
    Result<size_t> n = co_await io_.Write(file_.get(), pos, data);
    co_return n.status();
  }

  ChunkStore& store_;
  BlockIo& io_;
  ChunkId id_;
  uint64_t offset_;
  AlignedPayload payload_;
  UniqueFd file_;
};

Task<Result<WriteResult>> ChunkStore::Write(ChunkId id, uint64_t offset, AlignedPayload payload, uint32_t chunk_size) {
  if (Status s = ValidateWrite(id, offset, payload, chunk_size, options_.max_chunk_size); !s.ok()) co_return s;
  if (payload.length == 0) {  // nothing to write: report the chunk as it is
    Result<std::optional<ChunkMeta>> meta = meta_->Get(id);
    if (!meta.ok()) co_return meta.status();
    ChunkMeta m = meta->value_or(ChunkMeta{});
    co_return WriteResult{m.length, m.version};
  }
  AlignedBuffer copy;
  if (payload.data_offset % kBlockSize != offset % kBlockSize) {
    // Not placed at its in-block offset: one copy into memory that is.
    size_t head = offset % kBlockSize;
    copy = AlignedBuffer(head + payload.length, AlignedBuffer::Init::kUninitialized);
    std::memcpy(copy.data() + head, payload.buffer->data() + payload.data_offset, payload.length);
    payload_bytes_copied_.fetch_add(payload.length);
    payload = AlignedPayload{&copy, head, payload.length};
  }
  AsyncMutex::Guard guard = co_await LockFor(id).Lock();
  Writer writer(*this, id, offset, payload);
  co_return co_await writer.Run();
}

}  // namespace zcfs
