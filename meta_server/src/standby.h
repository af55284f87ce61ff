// Standby: a meta server that is not the primary. It follows the primary etcd names, pulling its
// committed batches in order (replication_service.h) and applying each to its own store with the
// batch's position, durably, before it asks for more (which acknowledges them). When etcd names no
// primary it campaigns (meta_election.h): if it wins, Run returns and the caller serves as the
// primary from the same store and log.
//
// A standby whose position is not in the primary's log (it was down while the log moved past it, its
// data directory was wiped, or it holds a deposed primary's unacknowledged batches) fetches a
// checkpoint of the primary's database, puts it in place of its own (store_directory.h) and pulls on
// from the checkpoint's position. Not thread-safe: one Run at a time.
#pragma once

#include <atomic>
#include <optional>

#include "meta_election.h"
#include "replication_log.h"
#include "store_directory.h"
#include "zcfs/proto/blocking_channel.h"

namespace zcfs::meta {

class Standby {
 public:
  Standby(StoreDirectory& dir, ReplicationLog& log, MetaElection& election) : dir_(dir), log_(log), election_(election) {}

  // Follows until this member is elected (its epoch) or `stop` is set (nullopt). Trouble on the way
  // (etcd or the primary unreachable, a primary that went) is logged and waited out; an error is
  // returned only when the local database could not be replaced or read (the process must restart).
  Result<std::optional<int64_t>> Run(const std::atomic<bool>& stop);

 private:
  // Pulls from `primary` until an error (it died, was deposed, or etcd named another) or `stop`.
  Status Follow(const MetaElection::Primary& primary, const std::atomic<bool>& stop);
  Status Apply(const pb::ReplPullReply& reply);
  // Replaces the local database with a checkpoint of the primary's on `channel`.
  Status StartOver(BlockingChannel& channel, const std::string& primary);

  StoreDirectory& dir_;
  Status broken_;  // set when the local database could not be replaced: Run gives up
  ReplicationLog& log_;
  MetaElection& election_;
};

}  // namespace zcfs::meta
