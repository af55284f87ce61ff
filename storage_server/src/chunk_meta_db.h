// ChunkMetaDb: chunk metadata (length, version) in RocksDB, one key per chunk.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zcfs/common/status.h"
#include "zcfs/storage/chunk_id.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace zcfs::storage_internal {

struct ChunkRecord {
  ChunkId id;
  ChunkMeta meta;
};

// Key: inode (8 bytes big-endian) + chunk index (4 bytes big-endian), so one file's chunks sort
// together. Value: format byte 1, then length and version as 8-byte little-endian.
// Thread-safe (RocksDB is). Calls block on the disk; Put waits for the WAL sync.
class ChunkMetaDb {
 public:
  static Result<std::unique_ptr<ChunkMetaDb>> Open(const std::string& path);
  ~ChunkMetaDb();

  // The chunk's metadata, or nullopt for a chunk never written.
  Result<std::optional<ChunkMeta>> Get(ChunkId id) const;
  // The records of `inode` with index >= from_index, in index order, at most `limit` of them.
  Result<std::vector<ChunkRecord>> Scan(uint64_t inode, uint32_t from_index, size_t limit) const;

  // Each commits durably (synced write-ahead log) before returning; a batch commits atomically.
  Status Put(ChunkId id, const ChunkMeta& meta);
  Status Put(std::span<const ChunkRecord> records);
  Status Delete(std::span<const ChunkId> ids);

 private:
  explicit ChunkMetaDb(std::unique_ptr<rocksdb::DB> db);
  Status Commit(rocksdb::WriteBatch& batch, const std::string& context);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace zcfs::storage_internal
