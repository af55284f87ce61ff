// Standby: a meta server that is not the primary. It follows the primary etcd names, pulling its
// committed batches in order (replication_service.h) and applying each to its own store with the
// batch's position, durably, before it asks for more (which acknowledges them). When etcd names no
// primary it campaigns (meta_election.h): if it wins, Run returns and the caller serves as the
// primary from the same store and log. Not thread-safe: one Run at a time.
#pragma once

#include <atomic>
#include <optional>

#include "meta_election.h"
#include "replication_log.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

class Standby {
 public:
  Standby(KvStore& store, ReplicationLog& log, MetaElection& election) : store_(store), log_(log), election_(election) {}

  // Follows until this member is elected (its epoch) or `stop` is set (nullopt). Trouble on the way
  // (etcd or the primary unreachable, a primary that went) is logged and waited out.
  std::optional<int64_t> Run(const std::atomic<bool>& stop);

 private:
  // Pulls from `primary` until an error (it died, was deposed, or etcd named another) or `stop`.
  Status Follow(const MetaElection::Primary& primary, const std::atomic<bool>& stop);
  Status Apply(const pb::ReplPullReply& reply);

  KvStore& store_;
  ReplicationLog& log_;
  MetaElection& election_;
};

}  // namespace zcfs::meta
