#include "zcfs/meta/rocksdb_kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "zcfs/common/logging.h"

namespace zcfs::meta {
namespace {

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  Code code = Code::kIoError;
  if (s.IsNotFound()) code = Code::kNotFound;
  if (s.IsCorruption()) code = Code::kCorruption;
  if (s.IsInvalidArgument()) code = Code::kInvalidArgument;
  if (s.IsNoSpace()) code = Code::kNoSpace;
  return Error(code, "rocksdb " + std::string(what) + ": " + s.ToString());
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

Status closed() { return Error(Code::kUnavailable, "meta store is closed"); }

}  // namespace

Result<std::unique_ptr<RocksKvStore>> RocksKvStore::Open(const std::string& path, RocksKvStoreOptions options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  // Metadata is small; a modest background budget keeps the meta server light on a shared machine.
  db_options.max_background_jobs = 2;
  // Durable mode acknowledges nothing before Sync(), so the WAL need not reach the kernel at every
  // write: Sync() writes and syncs what gathered in one go (a write() per mutation saved). Without
  // syncs the WAL goes out at every write, so that a crash of the process loses nothing.
  db_options.manual_wal_flush = options.sync_writes;

  // Point reads dominate (stat, lookup): a bloom filter per table file answers most misses without
  // reading a block, and one block cache for all families keeps the hot inodes and entries in memory.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions family_options;
  family_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, family_options);
  for (int i = 0; i < kColumnCount; ++i) {
    families.emplace_back(column_name(static_cast<Column>(i)), family_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, path, families, &handles, &raw);
  if (!s.ok()) return from_rocks(s, "open " + path);
  return std::unique_ptr<RocksKvStore>(
      new RocksKvStore(options, std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

RocksKvStore::RocksKvStore(RocksKvStoreOptions options, std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : options_(options), db_(std::move(db)), handles_(std::move(handles)) {}

RocksKvStore::~RocksKvStore() {
  Status s = Close();
  if (!s.ok()) LOG_ERROR << "closing meta store: " << s.ToString();
}

Status RocksKvStore::Checkpoint(const std::string& dir) const {
  if (!db_) return closed();
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(from_rocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: always flush, so that the copy is table files plus an empty WAL.
  return from_rocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), "checkpoint into " + dir);
}

Status RocksKvStore::Close() {
  if (!db_) return Status::Ok();
  Status result;
  if (options_.sync_writes) result = from_rocks(db_->FlushWAL(/*sync=*/true), "sync WAL");  // manual_wal_flush
  for (auto* h : handles_) {
    rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
    if (!s.ok() && result.ok()) result = from_rocks(s, "destroy column family handle");
  }
  handles_.clear();
  rocksdb::Status s = db_->Close();
  if (!s.ok() && result.ok()) result = from_rocks(s, "close");
  db_.reset();
  return result;
}

Result<std::string> RocksKvStore::Get(Column column, std::string_view key) const {
  if (!db_) return closed();
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(column), slice(key), &value);
  if (s.IsNotFound()) return Error(Code::kNotFound, "no key in " + std::string(column_name(column)));
  RETURN_IF_ERROR(from_rocks(s, "get"));
  return value;
}

Status RocksKvStore::Write(const WriteBatch& batch, Durability durability) {
  if (!db_) return closed();
  rocksdb::WriteBatch rb;
  for (const auto& op : batch.ops()) {
    rocksdb::Status s =
        op.is_delete ? rb.Delete(handle(op.column), op.key) : rb.Put(handle(op.column), op.key, op.value);
    RETURN_IF_ERROR(from_rocks(s, "batch"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes && durability == Durability::kSynced;
  RETURN_IF_ERROR(from_rocks(db_->Write(wo, &rb), "write"));
  if (durability == Durability::kDeferred) written_.fetch_add(1);
  return Status::Ok();
}

Status RocksKvStore::Sync() {
  if (!options_.sync_writes) return Status::Ok();
  const uint64_t mine = written_.load();  // every write that returned before this call
  std::lock_guard lock(sync_mutex_);
  if (synced_ >= mine) return Status::Ok();  // a sync that started after our write covered it
  if (!db_) return closed();
  const uint64_t covered = written_.load();  // writes that returned before the sync below starts
  RETURN_IF_ERROR(from_rocks(db_->FlushWAL(/*sync=*/true), "sync WAL"));
  synced_ = covered;
  return Status::Ok();
}

Result<std::vector<KeyValue>> RocksKvStore::Scan(Column column, std::string_view prefix, std::string_view after,
                                                 size_t limit) const {
  if (!db_) return closed();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(column)));
  std::string_view start = after.empty() || after < prefix ? prefix : after;
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(after)) it->Next();
  std::vector<KeyValue> out;
  for (; it->Valid() && (limit == 0 || out.size() < limit); it->Next()) {
    if (!it->key().starts_with(slice(prefix))) break;
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  RETURN_IF_ERROR(from_rocks(it->status(), "scan"));
  return out;
}

}  // namespace zcfs::meta
