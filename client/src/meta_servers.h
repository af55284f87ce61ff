// MetaServers: the meta servers a client calls - one, or the members of a replicated group
// (ClientOptions::meta_address "h1:p1,h2:p2,h3:p3"), only one of which, the primary, answers at a
// time (standbys do not listen; a primary that is not surely the primary any more refuses with
// kUnavailable). Calls go to the server that answered last. With several servers, a call that one
// could not take (unreachable, silent, refusing) goes to the next, round after round with a short
// pause, for up to `failover`: an election takes the etcd session lease (5 s by default) and a bit.
//
// A mutation retried on the new primary after the old one committed it but died before replying
// runs again there (request ids are not kept yet: a retried create may meet its own file, EEXIST).
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/blocking_channel.h"

namespace zcfs {

// "h:p" or "h1:p1,h2:p2,...".
Result<std::vector<HostPort>> parse_meta_servers(std::string_view list);

// Whether another meta server of a group may take a call that failed with `status`.
bool meta_failover_may_help(const Status& status);

class MetaServers {
 public:
  MetaServers(std::vector<HostPort> servers, std::chrono::milliseconds connect_timeout,
              std::chrono::milliseconds failover);

  Result<std::string> Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                           std::chrono::microseconds poll = {});
  // The server to call now, and, after it failed a call, the next one.
  const HostPort& current() const { return servers_[current_.load() % servers_.size()]; }
  void Failed(const HostPort& server);
  size_t size() const { return servers_.size(); }
  void CloseAll();

 private:
  const std::vector<HostPort> servers_;
  std::vector<std::unique_ptr<BlockingChannelPool>> pools_;  // one per server
  const std::chrono::milliseconds failover_;
  std::atomic<size_t> current_{0};
};

}  // namespace zcfs
