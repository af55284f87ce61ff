// StoreDirectory: the meta server's data directory and the database in it (DATA/meta.db), which a
// standby that fell too far behind replaces with a checkpoint of the primary's (standby.h).
//
// The replacement: the checkpoint is fetched into DATA/meta.db.incoming, the store is closed,
// meta.db moves to meta.db.old, incoming to meta.db, old is removed, the store reopens. A crash in
// between is undone at the next Open (meta.db.old back in place, incoming removed): the standby's
// old state is as good as before, and the fetch is simply repeated.
// Not thread-safe: its owner (the standby's loop, then the server) uses it from one thread, and
// replaces the store only while nothing else uses it.
#pragma once

#include <memory>
#include <string>

#include "zcfs/meta/rocksdb_kv_store.h"

namespace zcfs::meta {

class StoreDirectory {
 public:
  static Result<std::unique_ptr<StoreDirectory>> Open(std::string data_dir, RocksKvStoreOptions options);

  RocksKvStore& store() { return *store_; }
  // Where a checkpoint is fetched to, for ReplaceWithIncoming.
  std::string incoming_path() const { return data_dir_ + "/meta.db.incoming"; }
  // Where the server keeps the checkpoints it hands out (checkpoint_service.h).
  std::string checkpoints_path() const { return data_dir_ + "/checkpoints"; }
  // Removes what an interrupted fetch left at incoming_path().
  Status ClearIncoming();
  // Closes the store, puts the fetched checkpoint in its place and opens that. References to the old
  // store() are dangling afterwards.
  Status ReplaceWithIncoming();
  Status Close() { return store_->Close(); }

 private:
  StoreDirectory(std::string data_dir, RocksKvStoreOptions options) : data_dir_(std::move(data_dir)), options_(options) {}
  std::string db_path() const { return data_dir_ + "/meta.db"; }
  std::string old_path() const { return data_dir_ + "/meta.db.old"; }
  // Undoes a replacement a crash interrupted.
  Status Recover();

  const std::string data_dir_;
  const RocksKvStoreOptions options_;
  std::unique_ptr<RocksKvStore> store_;
};

}  // namespace zcfs::meta
