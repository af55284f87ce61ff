#include "zcfs/proto/tcp_transport.h"

namespace zcfs {

TcpTransport::TcpTransport(asio::any_io_executor executor, TcpTransportOptions options)
    : executor_(std::move(executor)), options_(options) {}

Task<Result<std::shared_ptr<RpcChannel>>> TcpTransport::Channel(const std::string& peer, size_t lane) {
  std::pair<std::string, size_t> key(peer, lane);
  {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(key);
    if (it != channels_.end() && it->second->is_open()) co_return it->second;
  }
  auto address = parse_host_port(peer);
  if (!address.ok()) co_return address.status();
  auto channel = co_await RpcChannel::Connect(executor_, *address, options_.connect_timeout, options_.limits);
  if (!channel.ok()) co_return channel.status();
  std::lock_guard lock(mutex_);
  auto& slot = channels_[key];
  // Two callers may have connected at once; keep the first live one so calls share a connection.
  if (slot && slot->is_open()) {
    (*channel)->Close();
    co_return slot;
  }
  slot = *channel;
  co_return slot;
}

void TcpTransport::CloseAll() {
  std::lock_guard lock(mutex_);
  for (auto& [key, channel] : channels_) channel->Close();
  channels_.clear();
}

}  // namespace zcfs
