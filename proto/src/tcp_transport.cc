#include "zcfs/proto/tcp_transport.h"

namespace zcfs {

TcpTransport::TcpTransport(asio::any_io_executor executor, TcpTransportOptions options)
    : executor_(std::move(executor)), options_(options) {}

Task<Result<std::shared_ptr<RpcChannel>>> TcpTransport::Channel(const std::string& peer, size_t lane) {
  return pool_.Get(peer, lane, [this, peer]() -> Task<Result<std::shared_ptr<RpcChannel>>> {
    auto address = parse_host_port(peer);
    if (!address.ok()) co_return address.status();
    co_return co_await RpcChannel::Connect(executor_, *address, options_.connect_timeout, options_.limits);
  });
}

void TcpTransport::CloseAll() { pool_.CloseAll(); }

}  // namespace zcfs
