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

// Every successful reply of a meta server carries the epoch of its primary (0 without replication)
// as field kEpochField of the reply message. The server appends it to each body (RpcServer::
// SetReplyTrailer(epoch_trailer(e))), so no reply type declares it and each keeps it as an unknown
// field. A caller that saw epoch E refuses a reply of an older one (MetaRotation::AcceptReply): it
// comes from a primary deposed since, whose answer may be stale.
inline constexpr uint32_t kEpochField = 2047;
std::string epoch_trailer(uint64_t epoch);
// The epoch stamped into a reply body: the last kEpochField (protobuf's rule), 0 when there is none
// or the body does not parse.
uint64_t reply_epoch(std::string_view body);

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
  // The reply `body` from `server`, refused (kUnavailable, and the next member becomes current) when
  // its epoch is older than one seen before; else its epoch is remembered as the newest.
  Status AcceptReply(const HostPort& server, std::string_view body);

 private:
  const std::vector<HostPort> servers_;
  std::atomic<size_t> current_{0};
  std::atomic<uint64_t> newest_epoch_{0};
};

// A connection to the current member or, when that one cannot be reached, to the next ones in turn:
// one round. The error names every member when none could be reached.
struct MetaConnection {
  std::shared_ptr<RpcChannel> channel;
  HostPort server;  // the member it reaches, for MetaRotation::Failed
};
Task<Result<MetaConnection>> connect_to_meta(asio::any_io_executor executor, MetaRotation& rotation,
                                             std::chrono::milliseconds timeout);

// A typed call on a connection to meta server `server`; a reply of a deposed primary is refused
// (MetaRotation::AcceptReply).
template <typename Reply, typename Request>
Task<Result<Reply>> call_meta_on(RpcChannel& channel, MetaRotation& rotation, const HostPort& server, uint16_t method,
                                 const Request& request, CallOptions options) {
  auto response = co_await channel.Call(method, request.SerializeAsString(), std::move(options));
  if (!response.ok()) co_return response.status();
  Status fresh = rotation.AcceptReply(server, response->body);
  if (!fresh.ok()) co_return fresh;
  Reply reply;
  Status parsed = ParseMessage(reply, response->body, "reply");
  if (!parsed.ok()) co_return parsed;
  co_return reply;
}

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
