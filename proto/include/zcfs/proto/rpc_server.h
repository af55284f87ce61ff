// RpcServer: accepts TCP connections and dispatches request frames to registered handlers.
//
// Each connection reads frames in order and runs every request as its own coroutine on the
// connection's strand, so many requests of one connection can be in flight.
//
// A server that takes no payloads (FrameLimits::max_payload == 0: the meta server) reads its frames
// through a buffer instead, all that have arrived in one recv, and runs each request to its end
// before the next one of that connection (its clients make one call at a time per connection).
// Without payloads, reading ahead can never swallow bytes that belong in someone else's memory. Replies go out through
// a per-connection write queue (FrameWriter), header + body + payload in gathered writes: the payload is sent
// from the handler's memory (for the storage server: the buffer the SSD read filled), never copied in
// user space, and large payloads to remote peers not even by the kernel (MSG_ZEROCOPY).
//
// A frame that is malformed, too large or of another protocol version closes its connection with a
// logged reason. Thread-safe: Register() before Listen(); everything else from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/proto/frame.h"
#include "zcfs/proto/frame_writer.h"
#include "zcfs/proto/io_threads.h"

namespace zcfs {

struct RpcRequest {
  uint16_t method = 0;
  std::string body;
  // The request payload, received straight into block-aligned memory at `payload_offset`.
  AlignedBuffer payload_buffer;
  size_t payload_offset = 0;
  uint64_t payload_len = 0;
  std::string peer;
  // False once the TCP connection the request came on has closed (the client went away); null for
  // requests that came another way (over RDMA). Lets work that outlives the request notice it.
  std::shared_ptr<const std::atomic<bool>> connection_open;

  std::span<std::byte> payload() { return {payload_buffer.data() + payload_offset, payload_len}; }
};

struct RpcReply {
  Status status;
  std::string body;                         // the reply message (ignored unless status is ok)
  std::vector<asio::const_buffer> payload;  // sent after the body, from this memory, without a copy
  std::shared_ptr<void> keepalive;          // keeps the memory behind `payload` alive until it is sent
  // Over RDMA: for each payload buffer, the index of the call's reply segment (CallOptions::
  // reply_segments) it is written into. Empty: the buffers fill the segments in order. TCP ignores it.
  std::vector<uint32_t> payload_segments;

  static RpcReply FromStatus(Status s) {
    RpcReply r;
    r.status = std::move(s);
    return r;
  }
};

using RpcHandler = std::function<Task<RpcReply>(RpcRequest&)>;
// Where a request's payload starts inside its receive buffer, given the method and the body. Lets the
// storage server receive a write at the in-block offset it will be written at, so no copy is needed.
using PayloadOffsetFn = std::function<size_t(uint16_t method, std::string_view body)>;

// Reply payloads of at least this size go out with MSG_ZEROCOPY (see frame_writer.h), except to loopback
// peers: there the kernel copies them on delivery anyway, and forcing it cost 20-25 % of seq 1 MiB read
// throughput (1150-1250 vs 1470-1600 MiB/s). The kernel's documentation puts zerocopy's break-even at
// about 10 KiB per send; 64 KiB keeps small replies on the plain path (no NIC here to measure it on).
inline constexpr size_t kDefaultZerocopyThreshold = 64 * 1024;

class ServerConnection;

class RpcServer {
 public:
  explicit RpcServer(asio::io_context& io, FrameLimits limits = {});
  // Spreads connections over the pool's threads, one thread each.
  explicit RpcServer(IoContextPool& pool, FrameLimits limits = {});
  ~RpcServer();

  void Register(uint16_t method, RpcHandler handler);
  void SetPayloadOffset(PayloadOffsetFn fn) { payload_offset_ = std::move(fn); }
  // A check every request passes before its handler runs; an error is the reply (say, a meta server
  // that can no longer be sure it is the primary refuses everything). Before Listen().
  void SetAdmission(std::function<Status(uint16_t method)> admit) { admit_ = std::move(admit); }
  // Bytes appended to the body of every successful reply (a meta server stamps its epoch into each
  // protobuf reply: meta_group.h). Before Listen().
  void SetReplyTrailer(std::string trailer) { reply_trailer_ = std::move(trailer); }
  // How replies are written (zerocopy threshold and policy); before Listen(). Counts go to
  // zerocopy_counters() unless `options` names its own.
  void SetWriterOptions(FrameWriterOptions options);
  const FrameWriterOptions& writer_options() const { return writer_options_; }
  const ZerocopyCounters& zerocopy_counters() const { return *writer_options_.counters; }

  // Binds and starts accepting. Port 0 picks a free port; the bound endpoint is returned.
  Result<tcp::endpoint> Listen(const HostPort& address);
  // Stops accepting and closes every connection. Idempotent.
  void Stop();

  size_t connection_count() const;

  // Runs the handler registered for request.method (kNotSupported when none; a handler that throws
  // is kInternal). For other transports that deliver requests to this server's handlers (RDMA).
  Task<RpcReply> Dispatch(RpcRequest& request);
  // Where a request's payload should start inside its block-aligned receive buffer (SetPayloadOffset).
  size_t PayloadOffset(uint16_t method, std::string_view body) const {
    return payload_offset_ ? payload_offset_(method, body) % kBlockSize : 0;
  }

 private:
  friend class ServerConnection;
  Task<> AcceptLoop();
  void Forget(ServerConnection* conn);

  std::function<asio::any_io_executor()> connection_executor_;  // where the next connection lives
  FrameLimits limits_;
  std::map<uint16_t, RpcHandler> handlers_;
  PayloadOffsetFn payload_offset_;
  std::function<Status(uint16_t method)> admit_;
  std::string reply_trailer_;
  FrameWriterOptions writer_options_{.zerocopy_threshold = kDefaultZerocopyThreshold,
                                     .counters = std::make_shared<ZerocopyCounters>()};
  tcp::acceptor acceptor_;
  mutable std::mutex mutex_;
  std::set<std::shared_ptr<ServerConnection>> connections_;
  std::atomic<bool> stopped_{false};
};

}  // namespace zcfs
