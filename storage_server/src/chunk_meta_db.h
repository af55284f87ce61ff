// ChunkMetaDb: chunk metadata (length, version) in RocksDB, one key per chunk.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "zcfs/common/status.h"
#include "zcfs/storage/chunk_id.h"

namespace rocksdb {
class DB;
}

namespace zcfs::storage_internal {

// Key: inode (8 bytes big-endian) + chunk index (4 bytes big-endian), so one file's chunks sort
// together. Value: format byte 1, then length and version as 8-byte little-endian.
// Thread-safe (RocksDB is). Calls block on the disk; Put waits for the WAL sync.
class ChunkMetaDb {
 public:
  static Result<std::unique_ptr<ChunkMetaDb>> Open(const std::string& path);
  ~ChunkMetaDb();

  // The chunk's metadata, or nullopt for a chunk never written.
  Result<std::optional<ChunkMeta>> Get(ChunkId id) const;
  // Commits durably (synced write-ahead log) before returning.
  Status Put(ChunkId id, const ChunkMeta& meta);

 private:
  explicit ChunkMetaDb(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace zcfs::storage_internal
