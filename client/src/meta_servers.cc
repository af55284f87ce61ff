#include "meta_servers.h"

#include <thread>

namespace zcfs {

MetaServers::MetaServers(std::vector<HostPort> servers, std::chrono::milliseconds connect_timeout,
                         std::chrono::milliseconds failover)
    : rotation_(std::move(servers)), failover_(failover) {
  for (const auto& s : rotation_.servers()) pools_.push_back(std::make_unique<BlockingChannelPool>(s, connect_timeout));
}

Result<std::string> MetaServers::Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                                      std::chrono::microseconds poll, std::string_view retry_body) {
  const auto give_up = std::chrono::steady_clock::now() + failover_;
  const auto& servers = rotation_.servers();
  for (size_t attempt = 1;; ++attempt) {
    const size_t at = rotation_.current_index();
    const HostPort& server = servers[at];
    auto reply = pools_[at]->Call(method, attempt > 1 && !retry_body.empty() ? retry_body : body, timeout, poll);
    if (reply.ok()) {
      Status fresh = rotation_.AcceptReply(server, *reply);  // moves on from a deposed primary
      if (fresh.ok()) return reply;
      reply = fresh;
    }
    if (reply.ok() || servers.size() == 1 || !meta_failover_may_help(reply.status())) return reply;
    rotation_.Failed(server);
    if (std::chrono::steady_clock::now() >= give_up) {
      return Status(reply.status()).Prepend("no meta server of " + rotation_.ToString() + " answered");
    }
    if (attempt % servers.size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a round
  }
}

void MetaServers::CloseAll() {
  for (auto& pool : pools_) pool->CloseAll();
}

}  // namespace zcfs
