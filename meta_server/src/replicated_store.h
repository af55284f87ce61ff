// ReplicatedStore: the primary meta server's KvStore. Every batch is committed to the local store
// with the next log position (replication_log.h) and appended to the log the standbys pull; Sync()
// - what a mutation's reply waits for (WalSyncer) - returns once the batch is durable locally and
// on every in-sync standby (followers.h). Reads are the local store's.
//
// Also the one home of a replicated batch's encoding (to_entry / to_batch) and of the position key.
// Thread-safe.
#pragma once

#include <mutex>

#include "followers.h"
#include "replication_log.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

pb::ReplEntry to_entry(LogPosition position, const WriteBatch& batch);
// kProtocolError for an entry naming no column of ours.
Result<WriteBatch> to_batch(const pb::ReplEntry& entry);
// The batch plus the put of its position (keys::kReplPosition).
void add_position(WriteBatch& batch, LogPosition position);
// The store's position: {0, 0} for a store that never took part in replication.
Result<LogPosition> read_position(const KvStore& store);

class ReplicatedStore : public KvStore {
 public:
  ReplicatedStore(KvStore& local, ReplicationLog& log, Followers& followers, uint64_t epoch);

  Result<std::string> Get(Column column, std::string_view key) const override { return local_.Get(column, key); }
  Status Write(const WriteBatch& batch, Durability durability = Durability::kSynced) override;
  Status Sync() override;
  Result<std::vector<KeyValue>> Scan(Column column, std::string_view prefix, std::string_view after,
                                     size_t limit) const override {
    return local_.Scan(column, prefix, after, limit);
  }

 private:
  KvStore& local_;
  ReplicationLog& log_;
  Followers& followers_;
  const uint64_t epoch_;
  std::mutex write_mutex_;  // one batch at a time: log order is commit order
};

}  // namespace zcfs::meta
