#include "meta_servers.h"

#include <thread>

namespace zcfs {

Result<std::vector<HostPort>> parse_meta_servers(std::string_view list) {
  std::vector<HostPort> servers;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    ASSIGN_OR_RETURN(HostPort server, parse_host_port(item));
    servers.push_back(std::move(server));
  }
  if (servers.empty()) return Error(Code::kInvalidArgument, "no meta server address given");
  return servers;
}

bool meta_failover_may_help(const Status& status) {
  return status.code() == Code::kUnavailable || status.code() == Code::kTimeout;
}

MetaServers::MetaServers(std::vector<HostPort> servers, std::chrono::milliseconds connect_timeout,
                         std::chrono::milliseconds failover)
    : servers_(std::move(servers)), failover_(failover) {
  for (const auto& s : servers_) pools_.push_back(std::make_unique<BlockingChannelPool>(s, connect_timeout));
}

void MetaServers::Failed(const HostPort& server) {
  size_t at = current_.load();
  if (servers_[at % servers_.size()].ToString() == server.ToString()) current_.compare_exchange_strong(at, at + 1);
}

Result<std::string> MetaServers::Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                                      std::chrono::microseconds poll) {
  const auto give_up = std::chrono::steady_clock::now() + failover_;
  for (size_t attempt = 1;; ++attempt) {
    const size_t at = current_.load() % servers_.size();
    auto reply = pools_[at]->Call(method, body, timeout, poll);
    if (reply.ok() || servers_.size() == 1 || !meta_failover_may_help(reply.status())) return reply;
    Failed(servers_[at]);
    if (std::chrono::steady_clock::now() >= give_up) {
      return Status(reply.status()).Prepend("no meta server of " + std::to_string(servers_.size()) + " answered");
    }
    if (attempt % servers_.size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a round
  }
}

void MetaServers::CloseAll() {
  for (auto& pool : pools_) pool->CloseAll();
}

}  // namespace zcfs
