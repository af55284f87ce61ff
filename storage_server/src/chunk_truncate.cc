// ChunkStore::Truncate: removes and cuts the chunks of one inode on this target.
//
// Crash safety rests on one rule: committed metadata never claims bytes the chunk file does not hold,
// so the metadata shrinks before the file does.
//   cut     commit {length = cut, version + 1}, then ftruncate the file to `cut` and fdatasync it.
//   remove  commit {length = 0} for a group of chunks, unlink their files, fsync the directory, then
//           delete their records.
// After a crash between two steps every record's length is at most what its file holds (bytes past a
// record's length are never read and a write past them truncates first: see chunk_write.cc), and a
// retry redoes what is left: a length-0 record still lies past the cut, so it is removed again
// (unlinking a missing file is fine), and the chunk at the cut is ftruncated whenever its file is
// longer than the cut, whatever its record says.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <limits>
#include <vector>

#include "async_mutex.h"
#include "chunk_file.h"
#include "chunk_meta_db.h"
#include "unique_fd.h"
#include "zcfs/storage/chunk_store.h"

namespace zcfs {

using storage_internal::AsyncMutex;
using storage_internal::ChunkRecord;
using storage_internal::UniqueFd;

namespace {
// Chunks removed per metadata batch: bounds the locks held at once and the size of a batch, while a
// large file still costs two synced commits and one directory fsync per group, not per chunk.
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
    Result<std::optional<ChunkMeta>> meta = store_.meta_->Get(id);
    if (!meta.ok()) co_return meta.status();
    if (!meta->has_value()) co_return false;  // never written, or removed: no file to cut
    bool shrinks = (*meta)->length > cut;
    if (shrinks) {
      Status s = store_.meta_->Put(id, ChunkMeta{cut, (*meta)->version + 1});
      if (!s.ok()) co_return s;
    }
    Result<int> fd = store_.OpenChunk(id, false);
    if (!fd.ok() && fd.status().code() == Code::kNotFound) co_return shrinks;  // nothing on disk to cut
    if (!fd.ok()) co_return fd.status();
    UniqueFd file(*fd);
    Status s = storage_internal::TruncateFileBeyond(file.get(), cut);
    if (s.ok()) s = co_await store_.io_.Sync(file.get());
    if (!s.ok()) co_return s.Prepend("cut chunk " + id.ToString());
    co_return shrinks;
  }

  // Removes every chunk with index >= `first`. Returns how many records it deleted.
  Task<Result<uint32_t>> RemoveFrom(uint32_t first) {
    uint32_t removed = 0;
    for (uint64_t from = first; from <= std::numeric_limits<uint32_t>::max();) {
      Result<std::vector<ChunkRecord>> group = store_.meta_->Scan(inode_, static_cast<uint32_t>(from), kRemoveGroup);
      if (!group.ok()) co_return group.status();
      if (group->empty()) break;
      from = uint64_t{group->back().id.index} + 1;
      std::vector<ChunkId> ids;
      for (const ChunkRecord& r : *group) ids.push_back(r.id);
      Result<uint32_t> n = co_await RemoveGroup(std::move(ids));
      if (!n.ok()) co_return n.status();
      removed += *n;
    }
    co_return removed;
  }

 private:
  Task<Result<uint32_t>> RemoveGroup(std::vector<ChunkId> ids) {
    std::vector<AsyncMutex::Guard> guards = co_await LockAll(ids);
    // Re-read under the locks: a write may have changed a chunk, or another truncation removed it,
    // since the scan.
    std::vector<ChunkRecord> doomed;
    for (ChunkId id : ids) {
      Result<std::optional<ChunkMeta>> meta = store_.meta_->Get(id);
      if (!meta.ok()) co_return meta.status();
      if (meta->has_value()) doomed.push_back({id, ChunkMeta{0, (*meta)->version + 1}});
    }
    if (doomed.empty()) co_return 0u;
    Status s = store_.meta_->Put(doomed);
    if (s.ok()) s = UnlinkFiles(doomed);
    if (!s.ok()) co_return s;
    ids.clear();
    for (const ChunkRecord& r : doomed) ids.push_back(r.id);
    s = store_.meta_->Delete(ids);
    if (!s.ok()) co_return s;
    co_return static_cast<uint32_t>(doomed.size());
  }

  // Unlinks the chunks' files (missing ones are fine) and makes the unlinks durable, so that no
  // record is deleted while its file could come back after a crash.
  Status UnlinkFiles(const std::vector<ChunkRecord>& chunks) const {
    for (const ChunkRecord& r : chunks) {
      std::string path = store_.ChunkPath(r.id);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "remove " + path);
    }
    return store_.SyncChunkDir();
  }

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
