// ChunkStore::Truncate: removes and cuts the chunks of one inode on this target.
//
// Each step is one atomic commit, so a crash between steps leaves every chunk whole and a retry
// redoes what is left:
//   cut     the record gets the shorter length, the checksum of its new last block (read and
//           verified first) and version + 1. The slot keeps the bytes past the cut; they are never
//           read, and a write that extends the chunk again writes zeros over the gap.
//   remove  a group of records is deleted and their slots freed in one batch; the slots become
//           reusable once reads already under way have finished with them.
#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

#include "async_mutex.h"
#include "chunk_layout.h"
#include "chunk_meta_db.h"
#include "slot_space.h"
#include "zcfs/common/crc32c.h"
#include "zcfs/storage/chunk_store.h"

namespace zcfs {

using storage_internal::AsyncMutex;
using storage_internal::BlockCount;
using storage_internal::MetaChange;
using storage_internal::StoredChunk;

namespace {
// Chunks removed per commit: bounds the locks held at once and the size of a batch, while a large
// file still costs one synced commit per group, not per chunk.
constexpr size_t kRemoveGroup = 64;
}  // namespace

// One truncation of one inode, run inside the Truncate coroutine. Not thread-safe.
class ChunkStore::Truncator {
 public:
  Truncator(ChunkStore& store, uint64_t inode) : store_(store), inode_(inode) {}

  // Cuts chunk `index` to `cut` bytes (0 < cut < chunk size). True when its length was cut.
  Task<Result<bool>> Cut(uint32_t index, uint64_t cut) {
    ChunkId id{inode_, index};
    AsyncMutex::Guard guard = co_await store_.LockFor(id).Lock();
    Result<std::optional<StoredChunk>> chunk = store_.meta_->Get(id);
    if (!chunk.ok()) co_return chunk.status();
    if (!chunk->has_value() || (*chunk)->length <= cut) co_return false;
    StoredChunk next = **chunk;
    next.length = cut;
    next.version += 1;
    next.block_crcs.resize(BlockCount(cut));
    if (uint64_t tail = cut % kBlockSize; tail != 0) {
      uint64_t block = cut / kBlockSize;
      IoBuffer buffer = store_.io_.AcquireBuffer(kBlockSize);
      Status s = co_await store_.ReadBlocks(id, **chunk, block, buffer.span());
      if (!s.ok()) co_return s.Prepend("cut chunk " + id.ToString());
      next.block_crcs[block] = crc32c(buffer.data(), tail);
    }
    MetaChange change;
    change.put.emplace_back(id, std::move(next));
    Status s = co_await store_.Commit(change);
    if (!s.ok()) co_return s;
    co_return true;
  }

  // Removes every chunk with index >= `first`. Returns how many records it deleted.
  Task<Result<uint32_t>> RemoveFrom(uint32_t first) {
    uint32_t removed = 0;
    for (uint64_t from = first; from <= std::numeric_limits<uint32_t>::max();) {
      auto group = store_.meta_->Scan(inode_, static_cast<uint32_t>(from), kRemoveGroup);
      if (!group.ok()) co_return group.status();
      if (group->empty()) break;
      from = uint64_t{group->back().first.index} + 1;
      std::vector<ChunkId> ids;
      for (const auto& [id, chunk] : *group) ids.push_back(id);
      Result<uint32_t> n = co_await RemoveGroup(std::move(ids));
      if (!n.ok()) co_return n.status();
      removed += *n;
    }
    co_return removed;
  }

  // Removes the chunks (those that exist) in one commit. Returns how many it removed.
  Task<Result<uint32_t>> RemoveGroup(std::vector<ChunkId> ids) {
    std::vector<AsyncMutex::Guard> guards = co_await LockAll(ids);
    // Re-read under the locks: a write may have moved a chunk to another slot, or another truncation
    // removed it, since the scan.
    MetaChange change;
    for (ChunkId id : ids) {
      Result<std::optional<StoredChunk>> chunk = store_.meta_->Get(id);
      if (!chunk.ok()) co_return chunk.status();
      if (!chunk->has_value()) continue;
      change.erase.push_back(id);
      change.free.push_back((*chunk)->slot);
    }
    if (change.erase.empty()) co_return 0u;
    Status s = co_await store_.Commit(change);
    if (!s.ok()) co_return s;
    for (auto slot : change.free) store_.space_->Retire(slot);
    co_return static_cast<uint32_t>(change.erase.size());
  }

 private:
  // The write locks of all the chunks, each stripe once, taken in address order so that two
  // truncations never deadlock (writes hold one stripe at a time).
  Task<std::vector<AsyncMutex::Guard>> LockAll(const std::vector<ChunkId>& ids) {
    std::vector<AsyncMutex*> stripes;
    for (ChunkId id : ids) stripes.push_back(&store_.LockFor(id));
    std::sort(stripes.begin(), stripes.end(), std::less<AsyncMutex*>());
    stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
    std::vector<AsyncMutex::Guard> guards;
    for (AsyncMutex* stripe : stripes) guards.push_back(co_await stripe->Lock());
    co_return guards;
  }

  ChunkStore& store_;
  uint64_t inode_;
};

Task<Status> ChunkStore::Remove(ChunkId id) {
  Truncator truncator(*this, id.inode);
  std::vector<ChunkId> ids{id};
  Result<uint32_t> removed = co_await truncator.RemoveGroup(std::move(ids));
  if (!removed.ok()) co_return removed.status();
  co_return Status::Ok();
}

Task<Result<TruncateResult>> ChunkStore::Truncate(uint64_t inode, uint64_t length, uint32_t chunk_size) {
  if (chunk_size == 0 || chunk_size > options_.max_chunk_size) {
    co_return Error(Code::kInvalidArgument, "chunk size " + std::to_string(chunk_size) + " is not in (0, " +
                                                std::to_string(options_.max_chunk_size) + "]");
  }
  TruncateResult result;
  const uint64_t cut_index = length / chunk_size;
  const uint64_t cut = length % chunk_size;
  const uint64_t first_removed = cut_index + (cut > 0 ? 1 : 0);
  // Indexes are 32-bit: a length beyond the last chunk index leaves nothing to cut or remove.
  Truncator truncator(*this, inode);
  if (cut > 0 && cut_index <= std::numeric_limits<uint32_t>::max()) {
    Result<bool> cut_done = co_await truncator.Cut(static_cast<uint32_t>(cut_index), cut);
    if (!cut_done.ok()) co_return cut_done.status();
    result.truncated_chunks = *cut_done ? 1 : 0;
  }
  if (first_removed <= std::numeric_limits<uint32_t>::max()) {
    Result<uint32_t> removed = co_await truncator.RemoveFrom(static_cast<uint32_t>(first_removed));
    if (!removed.ok()) co_return removed.status();
    result.removed_chunks = *removed;
  }
  co_return result;
}

}  // namespace zcfs
