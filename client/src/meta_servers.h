// MetaServers: the meta servers a client calls - one, or the members of a replicated group
// (ClientOptions::meta_address "h1:p1,h2:p2,h3:p3"; the rotation rules are meta_group.h's), with a
// pool of blocking connections to each. With several servers, a call that one could not take
// (unreachable, silent, refusing) goes to the next, round after round with a short pause, for up to
// `failover`: an election takes the etcd session lease (5 s by default) and a bit.
//
// A resent call carries `retry_body` when given: a mutation's id marked as a resend, so that the new
// primary answers one the old primary committed before dying instead of running it again
// (meta_server/src/mutation_ids.h). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/blocking_channel.h"
#include "zcfs/proto/meta_group.h"

namespace zcfs {

class MetaServers {
 public:
  MetaServers(std::vector<HostPort> servers, std::chrono::milliseconds connect_timeout,
              std::chrono::milliseconds failover);

  Result<std::string> Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                           std::chrono::microseconds poll = {}, std::string_view retry_body = {});
  // The server to call now, and, after it failed a call, the next one.
  const HostPort& current() const { return rotation_.current(); }
  void Failed(const HostPort& server) { rotation_.Failed(server); }
  size_t size() const { return rotation_.size(); }
  MetaRotation& rotation() { return rotation_; }
  void CloseAll();

 private:
  MetaRotation rotation_;
  std::vector<std::unique_ptr<BlockingChannelPool>> pools_;  // one per server, in the rotation's order
  const std::chrono::milliseconds failover_;
};

}  // namespace zcfs
