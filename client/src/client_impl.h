// The machinery behind Client: I/O threads, the transport, the routing cache and the two paths
// (namespace calls to the meta server, data calls to storage servers). Thread-safe.
#pragma once

#include <atomic>
#include <optional>

#include "buffer_registry.h"
#include "chunk_plan.h"
#include "client_hooks.h"
#include "dir_cache.h"
#include "file_handles.h"
#include "meta_servers.h"
#include "placed_read.h"
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
  ClientImpl(ClientOptions options, const ClientHooks& hooks);
  ~ClientImpl();

  Status Start();
  Status RenewSessions();
  Result<uint64_t> ReopenSession(uint64_t ino);
  pb::Credentials credentials(const std::optional<Credentials>& caller) const;
  Result<pb::RoutingTable> FetchRouting() { return run_blocking(io_.executor(), FetchRoutingAsync()); }

  // A meta server call made by the calling thread itself on a pooled connection (see
  // blocking_channel.h: no I/O thread hand-off, which is most of a namespace call's cost).
  // A mutation gets the next id of this client, and its resends say they are resends.
  template <typename Reply, typename Request>
  Result<Reply> MetaCall(uint16_t method, const Request& request) {
    auto poll = answered_from_memory(method) ? options_.meta_poll : std::chrono::microseconds(0);
    Result<std::string> body;
    if constexpr (requires { request.mutation_id(); }) {
      Request numbered = request;
      pb::MutationId& id = *numbered.mutable_mutation_id();
      id.set_client(client_id_);
      id.set_seq(mutation_seq_.fetch_add(1) + 1);
      const std::string first = numbered.SerializeAsString();
      id.set_retry(true);
      body = meta_servers_->Call(method, first, options_.rpc_timeout, poll, numbered.SerializeAsString());
    } else {
      body = meta_servers_->Call(method, request.SerializeAsString(), options_.rpc_timeout, poll);
    }
    if (!body.ok()) return body.status();
    Reply reply;
    RETURN_IF_ERROR(ParseMessage(reply, *body, "reply"));
    return reply;
  }

  using Deadline = std::chrono::steady_clock::time_point;
  static Deadline DeadlineAfter(std::chrono::milliseconds timeout) {
    return std::chrono::steady_clock::now() + timeout;
  }

  Task<Result<size_t>> ReadAsync(FileInfo file, uint64_t offset, std::span<std::byte> dst);
  // Batched reads of any pieces (batch_read.cc). PlanBatches groups them by storage node (refreshing
  // the routing table once if a target is unknown) and cuts them into batches the servers accept;
  // pieces whose target no node serves are `unroutable` (by owner). ReadBatch sends one batch and
  // returns one status per piece; pieces that failed in a way another replica may cure (the node died,
  // froze, moved on, or holds a bad copy) are read again from another replica after a routing
  // refresh, and a chunk a replica holds less of than the file's size says is asked of a second one
  // (a hole, or lost data: SettlePiece).
  struct BatchPlan {
    std::vector<NodeBatch> batches;
    std::vector<std::pair<uint32_t, Status>> unroutable;
  };
  Task<BatchPlan> PlanBatches(std::vector<PlacedPiece> pieces);
  Task<std::vector<Status>> ReadBatch(NodeBatch batch, Deadline deadline);

  Task<Status> WriteAsync(FileInfo file, uint64_t offset, std::span<const std::byte> src);
  // WriteAsync, again after a pause and a routing refresh while it fails for reasons a chain change
  // cures, for up to ClientOptions::failover_timeout: what Client::Write runs.
  Task<Status> WriteRerouted(FileInfo file, uint64_t offset, std::span<const std::byte> src);
  asio::any_io_executor executor() { return io_.executor(); }
  // Random, nonzero: names this client's file sessions on the meta server.
  uint64_t client_id() const { return client_id_; }
  SessionKeeper& sessions() { return sessions_; }
  HandleTable& handles() { return handles_; }
  Result<FileInfo> GetAttr(uint64_t ino);  // Client::GetAttr, for the pieces of the client below it
  // The file as `handle` knows it, for a read of [offset, offset + length). A read reaching past the
  // known end first asks the meta server whether the inode's version moved on (another client grew or
  // cut the file since the open) and takes the new size if so: close-to-open consistency, revalidated
  // at the end of the file. Reads inside the known size never ask; if the meta server cannot answer,
  // the read goes on with what the handle knows.
  FileInfo KnownForRead(OpenHandleState& handle, uint64_t offset, uint64_t length);
  const std::shared_ptr<BufferRegistry>& buffers() { return buffers_; }
  DirCache& dir_cache() { return dir_cache_; }
  const ClientOptions& options() const { return options_; }
  MetaServers& meta_servers() { return *meta_servers_; }
  Transport& transport() { return *transport_; }

 private:
  // The same call from a coroutine on the I/O threads (the data path refreshing its routing table).
  template <typename Reply, typename Request>
  Task<Result<Reply>> MetaCallAsync(uint16_t method, Request request, std::optional<std::chrono::milliseconds> timeout = {}) {
    // Each server of a group once (the callers retry: routing refreshes, reports).
    Result<Reply> reply = Error(Code::kUnavailable, "no meta server");
    for (size_t i = 0; i < meta_servers_->size(); ++i) {
      const HostPort server = meta_servers_->current();
      auto channel = co_await meta_transport_.Channel(server.ToString());
      if (channel.ok()) {
        CallOptions call;
        call.timeout = timeout.value_or(options_.rpc_timeout);
        reply = co_await call_meta_on<Reply>(**channel, meta_servers_->rotation(), server, method, request, std::move(call));
      } else {
        reply = Status(channel.status()).Prepend("meta server");
      }
      if (reply.ok() || !meta_failover_may_help(reply.status())) break;
      meta_servers_->Failed(server);
    }
    co_return reply;
  }
  Task<Result<pb::RoutingTable>> FetchRoutingAsync();
  Task<Status> RefreshRouting();
  // What one replica answered for one piece: `length` bytes placed (from the piece's start) when ok.
  struct PieceRead {
    Status status;
    uint64_t length = 0;
  };
  Task<std::vector<PieceRead>> ReadFromNode(std::string address, std::vector<PlacedPiece> pieces, Deadline deadline);
  // Takes one replica's answer for `piece` (of the batch `statuses` belongs to, at piece.owner): sets
  // its status, and adds to `again` what must be asked of another replica.
  Task<void> SettlePiece(PlacedPiece piece, PieceRead read, Deadline deadline, std::vector<Status>& statuses,
                         std::vector<PlacedPiece>& again);
  // Zeros the piece's destination from `from` on (what a hole reads as).
  Status ZeroFill(const PlacedPiece& piece, uint64_t from);
  // Tells the meta server that the replica of `piece.short_answer` lacks the `found` bytes at the
  // piece's start, which another replica just returned.
  Task<void> ReportMissingData(const PlacedPiece& piece, uint64_t found, Deadline deadline);
  Result<std::vector<asio::mutable_buffer>> PlaceReply(const std::vector<PlacedPiece>& pieces,
                                                       const pb::BatchReadReply& reply, PinSet& pins,
                                                       std::vector<char>& released, std::vector<std::byte>& sink);
  // Over RDMA: where each piece's bytes may land, named before the request goes out (every buffer is
  // pinned first, since the server writes while the call is in flight; a released one's piece lands
  // in `sink`).
  Result<std::vector<asio::mutable_buffer>> ReplySegments(const std::vector<PlacedPiece>& pieces, PinSet& pins,
                                                          std::vector<char>& released, std::vector<std::byte>& sink);
  PieceRead FinishPiece(const std::string& address, const PlacedPiece& piece, const pb::PieceResult& result,
                        bool released, PinSet& pins);
  // Data calls to one server take its connections in turn (ClientOptions::connections_per_server).
  size_t NextLane() { return next_lane_.fetch_add(1, std::memory_order_relaxed) % connections_per_server_; }
  Task<Status> WriteChunkPiece(uint64_t ino, uint32_t chunk_size, ChunkPiece piece, std::span<const std::byte> src);

  ClientOptions options_;
  IoThreads io_;
  Status transport_status_;                         // why ClientOptions::transport could not be had (Start() fails)
  std::unique_ptr<Transport> transport_;            // data calls to the storage servers: TCP or RDMA
  TcpTransport meta_transport_;                     // the data path's own meta calls (routing), always TCP
  std::unique_ptr<MetaServers> meta_servers_;  // namespace calls; made by Start()
  RoutingCache routing_;
  static constexpr std::chrono::milliseconds kRefreshCoalesce{20};
  std::atomic<int64_t> last_refresh_ns_{0};  // steady clock: RefreshRouting skips a fetch this recent
  const size_t connections_per_server_;
  std::atomic<size_t> next_lane_{0};
  HandleTable handles_;
  std::shared_ptr<BufferRegistry> buffers_;  // shared with the buffers, which may outlive the client
  DirCache dir_cache_;
  const uint64_t client_id_;
  std::atomic<uint64_t> mutation_seq_{0};  // numbers this client's mutations (MetaCall)
  const pb::Credentials default_cred_;
  SessionKeeper sessions_;  // last: its thread calls into the members above
};

}  // namespace zcfs
