// The machinery behind Client: I/O threads, the transport, the routing cache and the two paths
// (namespace calls to the meta server, data calls to storage servers). Thread-safe.
#pragma once

#include "chunk_plan.h"
#include "routing_cache.h"
#include "session_keeper.h"
#include "zcfs.pb.h"
#include "zcfs/client/client.h"
#include "zcfs/proto/blocking_channel.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/tcp_transport.h"

namespace zcfs {

// The namespace calls the meta server answers from memory in microseconds: worth polling for (see
// ClientOptions::meta_poll). Mutations wait for a WAL sync, a millisecond or so: better slept through.
constexpr bool answered_from_memory(uint16_t m) {
  return m == method::kLookup || m == method::kGetAttr || m == method::kReaddir || m == method::kOpen ||
         m == method::kStatFs || m == method::kKeepAlive || m == method::kGetRouting || m == method::kClusterStatus;
}

class ClientImpl {
 public:
  explicit ClientImpl(ClientOptions options);
  ~ClientImpl();

  Status Start();
  Status RenewSessions();
  Result<uint64_t> ReopenSession(uint64_t ino);
  pb::Credentials credentials(const std::optional<Credentials>& caller) const;
  Result<pb::RoutingTable> FetchRouting() { return run_blocking(io_.executor(), FetchRoutingAsync()); }

  // A meta server call made by the calling thread itself on a pooled connection (see
  // blocking_channel.h: no I/O thread hand-off, which is most of a namespace call's cost).
  template <typename Reply, typename Request>
  Result<Reply> MetaCall(uint16_t method, const Request& request) {
    auto poll = answered_from_memory(method) ? options_.meta_poll : std::chrono::microseconds(0);
    auto body = meta_pool_->Call(method, request.SerializeAsString(), options_.rpc_timeout, poll);
    if (!body.ok()) return body.status();
    Reply reply;
    RETURN_IF_ERROR(ParseMessage(reply, *body, "reply"));
    return reply;
  }

  Task<Result<size_t>> ReadAsync(FileInfo file, uint64_t offset, std::span<std::byte> dst);
  Task<Status> WriteAsync(FileInfo file, uint64_t offset, std::span<const std::byte> src);
  asio::any_io_executor executor() { return io_.executor(); }
  // Random, nonzero: names this client's file sessions on the meta server.
  uint64_t client_id() const { return client_id_; }
  SessionKeeper& sessions() { return sessions_; }

 private:
  // The same call from a coroutine on the I/O threads (the data path refreshing its routing table).
  template <typename Reply, typename Request>
  Task<Result<Reply>> MetaCallAsync(uint16_t method, Request request) {
    auto channel = co_await transport_.Channel(options_.meta_address);
    if (!channel.ok()) co_return Status(channel.status()).Prepend("meta server");
    CallOptions call;
    call.timeout = options_.rpc_timeout;
    co_return co_await CallPb<Reply>(**channel, method, request, std::move(call));
  }
  Task<Result<pb::RoutingTable>> FetchRoutingAsync();
  Task<Status> RefreshRouting();
  // Groups pieces by the node serving them, refreshing the routing table once if a target is unknown.
  Task<Result<std::map<std::string, std::vector<ChunkPiece>>>> GroupByNode(const std::vector<ChunkPiece>& pieces);
  Task<Status> ReadFromNode(std::string address, uint64_t ino, std::vector<ChunkPiece> pieces, RegionHandle region);
  Task<Status> WriteChunkPiece(uint64_t ino, uint32_t chunk_size, ChunkPiece piece, std::span<const std::byte> src);

  ClientOptions options_;
  IoThreads io_;
  TcpTransport transport_;
  std::unique_ptr<BlockingChannelPool> meta_pool_;  // namespace calls; made by Start()
  RoutingCache routing_;
  const uint64_t client_id_;
  const pb::Credentials default_cred_;
  SessionKeeper sessions_;  // last: its thread calls into the members above
};

}  // namespace zcfs
