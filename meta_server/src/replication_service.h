// ReplicationService: the primary's side of meta replication - answers the standbys' pulls
// (method kReplPull) from the replication log, and takes each pull's position as its acknowledgement
// (followers.h). A pull waits for new entries up to its wait_ms (at most a second), on a thread of
// its own pool so that no I/O thread blocks. Thread-safe.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "followers.h"
#include "replication_log.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs::meta {

class ReplicationService {
 public:
  ReplicationService(ReplicationLog& log, Followers& followers, uint64_t epoch, int threads = 4)
      : log_(log), followers_(followers), epoch_(epoch), workers_(threads) {}
  ~ReplicationService() { workers_.join(); }

  void RegisterOn(RpcServer& server);
  Result<pb::ReplPullReply> Pull(const pb::ReplPullRequest& request);

 private:
  ReplicationLog& log_;
  Followers& followers_;
  const uint64_t epoch_;
  boost::asio::thread_pool workers_;
};

}  // namespace zcfs::meta
