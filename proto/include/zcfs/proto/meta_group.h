// The meta servers of one cluster as their callers see them: one address, or the members of a
// replicated group ("h1:p1,h2:p2,h3:p3"), of which only the primary answers (standbys do not listen;
// a primary not surely the primary any more refuses with kUnavailable). Clients (client/src/
// meta_servers.h) and storage servers (registration, routing fetches, resync reports) share these
// rules: call the member that answered last, and after a failure that another member may not have
// (unreachable, silent, refusing), move on to the next.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/rpc_channel.h"

namespace zcfs {

// "h:p" or "h1:p1,h2:p2,...".
Result<std::vector<HostPort>> parse_meta_servers(std::string_view list);

// Whether another meta server of a group may take a call that failed with `status`.
bool meta_failover_may_help(const Status& status);

// Which member to call now. Thread-safe.
class MetaRotation {
 public:
  explicit MetaRotation(std::vector<HostPort> servers) : servers_(std::move(servers)) {}
  size_t current_index() const { return current_.load() % servers_.size(); }
  const HostPort& current() const { return servers_[current_index()]; }
  // `server` failed a call: the next member becomes current, unless another caller moved on already.
  void Failed(const HostPort& server);
  size_t size() const { return servers_.size(); }
  const std::vector<HostPort>& servers() const { return servers_; }
  // "h1:p1,h2:p2", for messages.
  std::string ToString() const;

 private:
  const std::vector<HostPort> servers_;
  std::atomic<size_t> current_{0};
};

// A connection to the current member or, when that one cannot be reached, to the next ones in turn:
// one round. The error names every member when none could be reached.
struct MetaConnection {
  std::shared_ptr<RpcChannel> channel;
  HostPort server;  // the member it reaches, for MetaRotation::Failed
};
Task<Result<MetaConnection>> connect_to_meta(asio::any_io_executor executor, MetaRotation& rotation,
                                             std::chrono::milliseconds timeout);

// One call on a connection of its own (closed after it), to the current member and then, while the
// failure is one another member may not have, to the next ones in turn: one round.
Task<Result<RpcResponse>> call_meta(asio::any_io_executor executor, MetaRotation& rotation, uint16_t method,
                                    std::string body, std::chrono::milliseconds timeout);

template <typename Reply, typename Request>
Task<Result<Reply>> call_meta_pb(asio::any_io_executor executor, MetaRotation& rotation, uint16_t method,
                                 const Request& request, std::chrono::milliseconds timeout) {
  auto response = co_await call_meta(executor, rotation, method, request.SerializeAsString(), timeout);
  if (!response.ok()) co_return response.status();
  Reply reply;
  Status parsed = ParseMessage(reply, response->body, "reply");
  if (!parsed.ok()) co_return parsed;
  co_return reply;
}

}  // namespace zcfs
