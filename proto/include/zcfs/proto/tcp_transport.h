// TcpTransport: the Transport over TCP. Regions are local bookkeeping (the reply payload is read
// straight into them by RpcChannel); channels are pooled, one per peer and lane, and replaced when
// broken. Lanes let one client keep several connections to a server: a server serves each connection
// on one of its I/O threads, so calls spread over lanes can be served in parallel. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <utility>

#include "zcfs/proto/region_table.h"
#include "zcfs/proto/transport.h"

namespace zcfs {

struct TcpTransportOptions {
  std::chrono::milliseconds connect_timeout{3000};
  FrameLimits limits;
};

class TcpTransport : public Transport {
 public:
  TcpTransport(asio::any_io_executor executor, TcpTransportOptions options = {});

  std::string_view name() const override { return "tcp"; }
  Result<RegionHandle> RegisterMemory(void* addr, size_t length) override { return regions_.Add(addr, length); }
  Status DeregisterMemory(uint64_t region_id) override { return regions_.Remove(region_id); }
  Result<std::span<std::byte>> Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const override {
    return regions_.Resolve(region_id, offset, length);
  }
  using Transport::Channel;
  // Each lane is its own TCP connection.
  Task<Result<std::shared_ptr<RpcChannel>>> Channel(const std::string& peer, size_t lane) override;
  // Pending calls fail with kCancelled.
  void CloseAll() override;

 private:
  asio::any_io_executor executor_;
  TcpTransportOptions options_;
  RegionTable regions_;
  ChannelPool pool_;
};

}  // namespace zcfs
