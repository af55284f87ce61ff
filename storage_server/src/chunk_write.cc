// ChunkStore::Write: writes at any offset and length, never changing a committed byte in place.
//
// A write produces the chunk's next state in a slot, then fdatasyncs it, then commits the record
// (and the slot bitmap change) in one batch:
//   append in place  when the write starts at or past the committed length and the result fits the
//                    chunk's slot: only blocks from the one holding the old end are written. The
//                    committed bytes of that block are rewritten with their own values, and its
//                    checksum covers only the chunk's bytes, so the old record stays valid
//                    throughout.
//   copy-on-write    otherwise: a free slot of the class fitting the new length receives the whole
//                    new chunk (old blocks are read, verified and copied around the payload); the
//                    commit frees the old slot.
// Bytes between the old length and the write, and past the new length in its last block, are
// written as zeros: a slot may hold leftovers of an earlier chunk, and a gap must read as zeros.
// The payload sits in aligned memory at its in-block offset, so its whole blocks are written from
// that memory; only the partial edge blocks are assembled (< 4 KiB copied at each end).
#include <algorithm>
#include <cstring>

#include "async_mutex.h"
#include "chunk_layout.h"
#include "chunk_meta_db.h"
#include "slot_space.h"
#include "zcfs/common/copy_counter.h"
#include "zcfs/common/crc32c.h"
#include "zcfs/storage/chunk_store.h"

namespace zcfs {

using storage_internal::AsyncMutex;
using storage_internal::BlockBytes;
using storage_internal::BlockCount;
using storage_internal::ClassFor;
using storage_internal::ClassSize;
using storage_internal::MetaChange;
using storage_internal::SlotId;
using storage_internal::SlotSpace;
using storage_internal::StoredChunk;

namespace {

constexpr uint64_t kCopyStep = 1u << 20;  // old bytes move to a new slot this much at a time

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
  // `replace_version`: the payload (at offset 0) is the chunk's whole new content, at that version.
  Writer(ChunkStore& store, ChunkId id, uint64_t offset, AlignedPayload payload, uint32_t chunk_size,
         std::optional<uint64_t> replace_version = std::nullopt, BeforeCommit before_commit = nullptr)
      : store_(store),
        id_(id),
        offset_(offset),
        end_(offset + payload.length),
        payload_(payload),
        chunk_size_(chunk_size),
        replace_version_(replace_version),
        before_commit_(std::move(before_commit)) {}

  Task<Result<WriteResult>> Run() {
    Result<std::optional<StoredChunk>> old = store_.meta_->Get(id_);
    if (!old.ok()) co_return old.status();
    if (*old) old_slot_ = (*old)->slot;
    // A replacement keeps nothing of the old chunk but its slot, freed at the commit.
    if (!replace_version_) old_ = std::move(*old);
    const uint64_t old_length = old_ ? old_->length : 0;
    next_.length = std::max(old_length, end_);
    next_.version = replace_version_ ? *replace_version_ : (old_ ? old_->version : 0) + 1;
    next_.block_crcs.assign(BlockCount(next_.length), 0);
    uint64_t region_start = 0;
    if (old_ && offset_ >= old_length && align_up(next_.length, kBlockSize) <= ClassSize(old_->slot.size_class)) {
      next_.slot = old_->slot;
      std::copy(old_->block_crcs.begin(), old_->block_crcs.end(), next_.block_crcs.begin());
      region_start = align_down(old_length, kBlockSize);
    } else {
      Result<SlotId> slot = store_.space_->Allocate(ClassFor(NewSlotBytes(old_length)));
      if (!slot.ok()) {
        Status s = slot.status();
        co_return s.Prepend("write chunk " + id_.ToString());
      }
      next_.slot = *slot;
      allocated_ = true;
    }
    Status s = co_await WriteRegion(region_start);
    if (s.ok()) s = co_await store_.io_.Sync(store_.space_->fd(next_.slot));
    if (s.ok() && before_commit_) s = co_await before_commit_();
    if (s.ok()) s = co_await Commit();
    if (!s.ok()) {
      if (allocated_) store_.space_->Cancel(next_.slot);
      co_return s.Prepend("write chunk " + id_.ToString());
    }
    if (allocated_ && old_slot_) store_.space_->Retire(*old_slot_);
    co_return WriteResult{next_.length, next_.version};
  }

 private:
  // The room the chunk's new slot must have. A chunk outgrowing its slot by an append gets four times
  // its old slot (at most the chunk size), so a chunk written by sequential appends is copied about
  // once rather than at every doubling: 1 MiB appends into a 4 MiB chunk write 5 MiB instead of 7,
  // 128 KiB appends (FUSE writes) 6.6 MiB instead of 11. A chunk written once gets the smallest slot.
  uint64_t NewSlotBytes(uint64_t old_length) const {
    const uint64_t needed = align_up(next_.length, kBlockSize);
    if (!old_ || offset_ < old_length) return needed;  // a first write or an overwrite
    const uint64_t grown = std::min<uint64_t>(4 * ClassSize(old_->slot.size_class), align_up(chunk_size_, kBlockSize));
    return std::max(needed, grown);
  }

  // Writes the new chunk's blocks from `region_start` (0, or the block of the old end) to its end.
  Task<Status> WriteRegion(uint64_t region_start) {
    const uint64_t head_block = align_down(offset_, kBlockSize);
    const uint64_t full_end = align_down(end_, kBlockSize);
    Status s = co_await CopyOld(region_start, head_block);
    if (s.ok() && full_end > head_block) {
      std::byte* mem = payload_.buffer->data() + (payload_.data_offset - (offset_ - head_block));  // block-aligned
      if (offset_ > head_block) s = co_await LoadHeadInto(mem, head_block);
      if (s.ok()) s = co_await WriteBlocks(head_block, {mem, full_end - head_block});
    }
    if (s.ok() && end_ > full_end) {  // the last, partial block (the only one for a write inside a block)
      AlignedBuffer block(kBlockSize, AlignedBuffer::Init::kUninitialized);
      s = co_await LoadOld(full_end, block.span());
      uint64_t from = std::max(full_end, offset_);
      std::memcpy(block.data() + (from - full_end), payload_.buffer->data() + payload_.data_offset + (from - offset_),
                  end_ - from);
      count_user_copy(end_ - from);
      if (s.ok()) s = co_await WriteBlocks(full_end, block.span());
    }
    if (s.ok()) s = co_await CopyOld(align_up(end_, kBlockSize), align_up(next_.length, kBlockSize));
    co_return s;
  }

  // Writes the chunk's bytes [from, to) (block-aligned) as they were before this write.
  Task<Status> CopyOld(uint64_t from, uint64_t to) {
    for (uint64_t pos = from; pos < to; pos += kCopyStep) {
      IoBuffer buffer = store_.io_.AcquireBuffer(std::min(kCopyStep, to - pos));
      Status s = co_await LoadOld(pos, buffer.span());
      if (s.ok()) s = co_await WriteBlocks(pos, buffer.span());
      if (!s.ok()) co_return s;
    }
    co_return Status::Ok();
  }

  // The bytes of the payload's first block before the payload: old bytes or zeros.
  Task<Status> LoadHeadInto(std::byte* mem, uint64_t head_block) {
    AlignedBuffer block(kBlockSize, AlignedBuffer::Init::kUninitialized);
    Status s = co_await LoadOld(head_block, block.span());
    std::memcpy(mem, block.data(), offset_ - head_block);
    count_user_copy(offset_ - head_block);
    co_return s;
  }

  // Fills `dst` (block-aligned) with the chunk's old bytes at `pos`: its stored blocks, verified,
  // and zeros past its old length.
  Task<Status> LoadOld(uint64_t pos, std::span<std::byte> dst) {
    const uint64_t old_length = old_ ? old_->length : 0;
    const uint64_t stored_end = std::min<uint64_t>(pos + dst.size(), align_up(old_length, kBlockSize));
    if (stored_end > pos) {
      Status s = co_await store_.ReadBlocks(id_, *old_, pos / kBlockSize, dst.first(stored_end - pos));
      if (!s.ok()) co_return s;
    }
    const uint64_t zeros_from = std::clamp<uint64_t>(old_length, pos, pos + dst.size()) - pos;
    std::memset(dst.data() + zeros_from, 0, dst.size() - zeros_from);
    co_return Status::Ok();
  }

  // Writes whole blocks of the new chunk at `pos` and records their checksums.
  Task<Status> WriteBlocks(uint64_t pos, std::span<const std::byte> blocks) {
    for (uint64_t i = 0; i < blocks.size() / kBlockSize; ++i) {
      const uint64_t block = pos / kBlockSize + i;
      next_.block_crcs[block] = crc32c(blocks.data() + i * kBlockSize, BlockBytes(next_.length, block));
    }
    Result<size_t> n =
        co_await store_.io_.Write(store_.space_->fd(next_.slot), SlotSpace::offset(next_.slot) + pos, blocks);
    co_return n.status();
  }

  Task<Status> Commit() {
    MetaChange change;
    change.put.emplace_back(id_, next_);
    if (allocated_) {
      change.take.push_back(next_.slot);
      if (old_slot_) change.free.push_back(*old_slot_);
    }
    co_return co_await store_.Commit(change);
  }

  ChunkStore& store_;
  ChunkId id_;
  uint64_t offset_;
  uint64_t end_;
  AlignedPayload payload_;
  std::optional<StoredChunk> old_;  // the content the write builds on (none for a replacement)
  std::optional<SlotId> old_slot_;  // the slot the committed chunk occupies
  const uint32_t chunk_size_;       // the most the chunk can hold
  const std::optional<uint64_t> replace_version_;
  const BeforeCommit before_commit_;
  StoredChunk next_;
  bool allocated_ = false;
};

Task<Result<WriteResult>> ChunkStore::Write(ChunkId id, uint64_t offset, AlignedPayload payload, uint32_t chunk_size,
                                            BeforeCommit before_commit) {
  if (Status s = ValidateWrite(id, offset, payload, chunk_size, options_.max_chunk_size); !s.ok()) co_return s;
  if (payload.length == 0) {  // nothing to write: report the chunk as it is
    Result<std::optional<ChunkMeta>> meta = GetMeta(id);
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
    count_user_copy(payload.length);
    payload = AlignedPayload{&copy, head, payload.length};
  }
  AsyncMutex::Guard guard = co_await LockFor(id).Lock();
  Writer writer(*this, id, offset, payload, chunk_size, std::nullopt, std::move(before_commit));
  co_return co_await writer.Run();
}

Task<Result<WriteResult>> ChunkStore::Replace(ChunkId id, AlignedPayload whole, uint64_t version) {
  const uint32_t chunk_size = options_.max_chunk_size;  // a copy's file chunk size is not known here
  if (Status s = ValidateWrite(id, 0, whole, chunk_size, options_.max_chunk_size); !s.ok()) co_return s;
  if (whole.length == 0) {  // an empty chunk is no chunk
    Status removed = co_await Remove(id);
    if (!removed.ok()) co_return removed;
    co_return WriteResult{0, version};
  }
  if (whole.data_offset % kBlockSize != 0) co_return Error(Code::kInvalidArgument, "replacement is not block-aligned");
  AsyncMutex::Guard guard = co_await LockFor(id).Lock();
  Writer writer(*this, id, 0, whole, chunk_size, version);
  co_return co_await writer.Run();
}

}  // namespace zcfs
