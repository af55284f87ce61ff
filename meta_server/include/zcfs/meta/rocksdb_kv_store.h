// RocksKvStore: the KvStore of the meta server, one RocksDB database with the column families
// "inodes", "dentries" and "system" (plus RocksDB's mandatory "default", unused).
//
// Durability: by default a kSynced write is written with WriteOptions::sync and Sync() fsyncs the WAL,
// so an acknowledged mutation survives a power loss. Sync() runs one WAL sync for every caller that
// arrives while another sync is in progress (group commit). The WAL is flushed by hand in this mode:
// a deferred write stays in RocksDB's buffer until the next Sync() or synced write. `sync_writes = false` trades durability
// against power loss for speed (tests, benchmarks); the WAL is still written, so a process crash
// loses nothing.
// Thread-safe (RocksDB is).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "zcfs/meta/kv_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace zcfs::meta {

struct RocksKvStoreOptions {
  bool sync_writes = true;
  bool create_if_missing = true;
  // Shared by the column families. Every stat and lookup is a point read; a namespace of millions of
  // files is a few hundred MiB, and a read that misses the cache costs a pread.
  size_t block_cache_bytes = 512ull << 20;
};

class RocksKvStore final : public KvStore {
 public:
  // Opens (creating when allowed) the database in directory `path`.
  static Result<std::unique_ptr<RocksKvStore>> Open(const std::string& path, RocksKvStoreOptions options = {});
  ~RocksKvStore() override;  // Close()s, logging a failure
  RocksKvStore(const RocksKvStore&) = delete;
  RocksKvStore& operator=(const RocksKvStore&) = delete;

  Result<std::string> Get(Column column, std::string_view key) const override;
  Status Write(const WriteBatch& batch, Durability durability = Durability::kSynced) override;
  Status Sync() override;
  Result<std::vector<KeyValue>> Scan(Column column, std::string_view prefix, std::string_view after,
                                     size_t limit) const override;

  // Writes a consistent copy of the database, as of one point between writes, into the new directory
  // `dir` (on the same file system: table files are hard-linked). The memtables are flushed first, so
  // the copy needs no WAL replay beyond that point. The copy opens with Open like the original.
  Status Checkpoint(const std::string& dir) const;

  // Flushes and closes the database; later calls fail with kUnavailable. Idempotent. Must not race
  // with other calls (the owner closes after every user has stopped).
  Status Close();

 private:
  RocksKvStore(RocksKvStoreOptions options, std::unique_ptr<rocksdb::DB> db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles);
  rocksdb::ColumnFamilyHandle* handle(Column column) const { return handles_[static_cast<size_t>(column) + 1]; }

  RocksKvStoreOptions options_;
  std::atomic<uint64_t> written_{0};  // deferred writes completed
  std::mutex sync_mutex_;
  uint64_t synced_ = 0;  // guarded by sync_mutex_: deferred writes known durable
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // [0] = default, then the Column order
};

}  // namespace zcfs::meta
