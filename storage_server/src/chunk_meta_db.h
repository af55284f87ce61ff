// ChunkMetaDb: a target's chunk records and slot bitmaps in RocksDB (chunk_layout.h, slot_bitmap.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chunk_layout.h"
#include "zcfs/common/status.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace zcfs::storage_internal {

// What one commit changes, applied atomically: records written and deleted, slots taken and freed.
struct MetaChange {
  std::vector<std::pair<ChunkId, StoredChunk>> put;
  std::vector<ChunkId> erase;
  std::vector<SlotId> take;
  std::vector<SlotId> free;
};

// The committed bitmap of one group of slots.
struct SlotGroup {
  uint8_t size_class = 0;
  uint32_t file = 0;
  uint32_t group = 0;
  std::string bits;  // kGroupBytes
};

// Thread-safe (RocksDB is). Calls block on the disk; Commit waits for the WAL sync.
class ChunkMetaDb {
 public:
  static Result<std::unique_ptr<ChunkMetaDb>> Open(const std::string& path);
  ~ChunkMetaDb();

  // The chunk's record, or nullopt for a chunk never written (or removed).
  Result<std::optional<StoredChunk>> Get(ChunkId id) const;
  // The records of `inode` with index >= from_index, in index order, at most `limit` of them.
  Result<std::vector<std::pair<ChunkId, StoredChunk>>> Scan(uint64_t inode, uint32_t from_index, size_t limit) const;
  // The records of every inode from chunk `from` on (inclusive), in chunk id order, at most `limit`.
  Result<std::vector<std::pair<ChunkId, StoredChunk>>> ScanAll(ChunkId from, size_t limit) const;
  // Every slot bitmap group with at least one bit ever set.
  Result<std::vector<SlotGroup>> LoadSlotGroups() const;

  // Commits durably (synced write-ahead log) before returning, all or nothing.
  Status Commit(const MetaChange& change);

 private:
  explicit ChunkMetaDb(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace zcfs::storage_internal
