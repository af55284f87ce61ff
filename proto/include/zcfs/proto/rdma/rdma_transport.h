// The RDMA transport: RPCs as SEND/RECV messages on RC queue pairs, bulk data by one-sided RDMA.
//
//   - Connection setup: the client opens a TCP connection to the server's RPC port (the control
//     connection) and calls method::kRdmaConnect with its QP number, PSN, GID, credits and the rkey of
//     its credit word; the server creates and connects a QP and answers with its own. Both QPs then go
//     RESET -> INIT -> RTR -> RTS. The control connection stays open: its loss ends the RDMA channel.
//   - Messages: each side keeps `credits` receive buffers of `message_size` bytes posted. A sender
//     spends a credit per message and waits when it has none; a receiver returns credits piggybacked on
//     its messages, and by RDMA WRITE into the sender's credit word when it owes half of them (a
//     write needs no receive buffer, so credit returns can never deadlock).
//   - Request payloads are pulled by the server with RDMA READ into its block-aligned receive buffer.
//     Reply payloads are written by the server with RDMA WRITE into the memory the call named
//     (CallOptions::reply_segments), followed by the reply SEND: RC delivers in order, so the data is
//     in place when the reply arrives. Neither side copies payload bytes in user space.
//   - Memory: RegisterMemory() registers an MR (local write, remote read and write) and the handle
//     carries its rkey. Payload memory that is not inside a registered region is registered for the
//     duration of the call only: a cached registration of freed memory could outlive the pages it
//     pinned.
//   - Failure: any failed work completion, a QP in ERROR, the peer's goodbye or the loss of the
//     control connection closes the channel and fails its pending calls with kUnavailable, so callers
//     reconnect (Channel() replaces a closed channel) and retry. A call that times out while the peer
//     may still read or write its memory also closes the channel: no late RDMA can then land in memory
//     handed back to the caller.
//
// RdmaTransport is the client side, RdmaServer serves an RpcServer's handlers over RDMA. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "zcfs/proto/rdma/verbs.h"
#include "zcfs/proto/rpc_server.h"
#include "zcfs/proto/transport.h"

namespace zcfs {

struct RdmaOptions {
  std::chrono::milliseconds connect_timeout{3000};
  uint32_t credits = 16;              // receive buffers each side keeps posted per connection
  uint32_t message_size = 64u << 10;  // bytes per message buffer: the largest header + body + lists
  rdma::ConnectOptions connect;       // QP attributes (path MTU, GID index, retries)
  FrameLimits limits;                 // what a received frame may declare
};

namespace rdma_internal {
class RdmaContext;
class ServerSide;
}  // namespace rdma_internal

class RdmaTransport : public Transport {
 public:
  // `device`: the emulated fabric's or a real one (ib_verbs.h).
  static Result<std::unique_ptr<RdmaTransport>> Create(asio::any_io_executor executor,
                                                       std::unique_ptr<rdma::Device> device, RdmaOptions options = {});
  ~RdmaTransport() override;

  std::string_view name() const override { return "rdma"; }
  Result<RegionHandle> RegisterMemory(void* addr, size_t length) override;
  Status DeregisterMemory(uint64_t region_id) override;
  Result<std::span<std::byte>> Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const override;
  bool peer_places_replies() const override { return true; }
  using Transport::Channel;
  // Each lane is its own QP (and control connection).
  Task<Result<std::shared_ptr<RpcChannel>>> Channel(const std::string& peer, size_t lane) override;
  void CloseAll() override;

 private:
  RdmaTransport(asio::any_io_executor executor, std::shared_ptr<rdma_internal::RdmaContext> context);

  asio::any_io_executor executor_;
  std::shared_ptr<rdma_internal::RdmaContext> context_;
  ChannelPool pool_;
};

// Serves `server`'s handlers over RDMA: registers method::kRdmaConnect on it (call before Listen) and
// runs each request that arrives on an RDMA connection through RpcServer::Dispatch. An RDMA connection
// lives on the I/O thread of its TCP control connection, so the server's threads share the RDMA
// connections as they share the TCP ones.
class RdmaServer {
 public:
  static Result<std::unique_ptr<RdmaServer>> Create(RpcServer& server, std::unique_ptr<rdma::Device> device,
                                                    RdmaOptions options = {});
  ~RdmaServer();  // Stop()
  // Registers memory the server's replies are sent from for as long as the server lives (a storage
  // server's disk read buffers), so a reply from it needs no registration of its own - on a real NIC a
  // registration is a system call and a page pinning per reply. Local access only: no peer can read or
  // write it. Reply memory outside such regions is registered per reply.
  Status RegisterSendMemory(std::span<std::byte> memory);
  // Closes every RDMA connection. Idempotent.
  void Stop();
  size_t connection_count() const;

 private:
  explicit RdmaServer(std::shared_ptr<rdma_internal::ServerSide> side);
  std::shared_ptr<rdma_internal::ServerSide> side_;
};

}  // namespace zcfs
