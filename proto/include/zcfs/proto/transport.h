// Transport: how a client reaches servers and lets them place bytes in its memory.
//
//   - RegisterMemory() makes a range of the caller's memory a region that replies may land in
//     (TCP: a bounds-checked table entry; RDMA: an ibv_mr whose rkey the server writes through).
//   - Resolve() turns (region, offset, length), the form a request names a destination in, back into
//     local memory, refusing anything outside the region.
//   - Channel() returns a connected RPC channel to a peer, reused across calls; lanes are separate
//     connections to the same peer (a server serves each connection on one thread), replaced when broken.
//
// Implementations: TcpTransport (tcp_transport.h) and RdmaTransport (rdma/rdma_transport.h);
// rdma/transport_choice.h picks one from a --transport flag.
//
// Implementations are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/proto/rpc_channel.h"

namespace zcfs {

struct RegionHandle {
  uint64_t id = 0;
  std::byte* addr = nullptr;
  size_t length = 0;
  uint32_t rkey = 0;  // RDMA remote key; 0 on TCP
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::string_view name() const = 0;
  virtual Result<RegionHandle> RegisterMemory(void* addr, size_t length) = 0;
  virtual Status DeregisterMemory(uint64_t region_id) = 0;
  virtual Result<std::span<std::byte>> Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const = 0;
  // Whether the peer writes reply payloads into this side's memory by itself (RDMA WRITE), at any
  // time between sending a call and its reply, into the memory the call named before it was sent
  // (CallOptions::reply_segments). False: the receive loop places them (TCP).
  virtual bool peer_places_replies() const { return false; }
  Task<Result<std::shared_ptr<RpcChannel>>> Channel(const std::string& peer) { return Channel(peer, 0); }
  // The channel of connection `lane` (0, 1, ...) to `peer`.
  virtual Task<Result<std::shared_ptr<RpcChannel>>> Channel(const std::string& peer, size_t lane) = 0;
  // Closes every pooled channel (pending calls fail).
  virtual void CloseAll() = 0;
};

// ChannelPool: the channels of a transport by (peer, lane), reused while open and replaced when broken.
// Thread-safe.
class ChannelPool {
 public:
  using Connect = std::function<Task<Result<std::shared_ptr<RpcChannel>>>()>;

  // The open channel of (peer, lane), or a new one from `connect`.
  Task<Result<std::shared_ptr<RpcChannel>>> Get(std::string peer, size_t lane, Connect connect) {
    std::pair<std::string, size_t> key(std::move(peer), lane);
    {
      std::lock_guard lock(mutex_);
      auto it = channels_.find(key);
      if (it != channels_.end() && it->second->is_open()) co_return it->second;
    }
    auto channel = co_await connect();
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

  void CloseAll() {
    std::lock_guard lock(mutex_);
    for (auto& [key, channel] : channels_) channel->Close();
    channels_.clear();
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, size_t>, std::shared_ptr<RpcChannel>> channels_;
};

}  // namespace zcfs
