// KvStore: the small ordered key-value interface the meta server keeps its state in.
//
// Keys live in one of three columns (RocksDB column families): inodes, directory entries and system
// records (counters, node registry). Keys compare bytewise, so big-endian integer prefixes sort
// numerically and a directory's entries come back in name order.
//
// Implementations: RocksKvStore (rocksdb_kv_store.h) for the server, MemoryKvStore
// (memory_kv_store.h) for unit tests. Both are thread-safe and apply a WriteBatch atomically:
// a reader sees all of a batch or none of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zcfs/common/status.h"

namespace zcfs::meta {

enum class Column : uint8_t { kInodes = 0, kDentries = 1, kSystem = 2 };

// kSynced: durable when Write returns (if the store syncs at all). kDeferred: applied and visible when
// Write returns, durable after a later Sync(); many deferred writes share one sync (group commit).
enum class Durability : uint8_t { kSynced, kDeferred };
inline constexpr int kColumnCount = 3;
// The column family name used on disk ("inodes", "dentries", "system").
const char* column_name(Column column);

// A list of puts and deletes applied atomically and in order by KvStore::Write.
// Thread-compatible (a value type).
class WriteBatch {
 public:
  struct Op {
    bool is_delete = false;
    Column column = Column::kSystem;
    std::string key;
    std::string value;  // empty for deletes
  };

  void Put(Column column, std::string key, std::string value) {
    ops_.push_back(Op{false, column, std::move(key), std::move(value)});
  }
  void Delete(Column column, std::string key) { ops_.push_back(Op{true, column, std::move(key), {}}); }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

using KeyValue = std::pair<std::string, std::string>;

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The value of `key`; kNotFound when absent, another error when the store fails.
  virtual Result<std::string> Get(Column column, std::string_view key) const = 0;
  // Applies every operation of `batch` or none of them, in the order of the calls.
  virtual Status Write(const WriteBatch& batch, Durability durability = Durability::kSynced) = 0;
  // Makes every write that returned before this call durable. Concurrent callers share syncs.
  virtual Status Sync() = 0;
  // Entries whose key starts with `prefix`, in key order. When `after` is non-empty only keys strictly
  // greater than it are returned (it is a full key, normally prefix + cookie). `limit` 0 = no limit.
  virtual Result<std::vector<KeyValue>> Scan(Column column, std::string_view prefix, std::string_view after,
                                             size_t limit) const = 0;

  // Single-operation conveniences, each one atomic batch.
  Status Put(Column column, std::string key, std::string value) {
    WriteBatch batch;
    batch.Put(column, std::move(key), std::move(value));
    return Write(batch);
  }
  Status Delete(Column column, std::string key) {
    WriteBatch batch;
    batch.Delete(column, std::move(key));
    return Write(batch);
  }
};

}  // namespace zcfs::meta
