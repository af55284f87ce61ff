// The server side of the RDMA transport: the handshake handler, and each request that arrives on an
// RDMA connection pulled (payload by RDMA READ), dispatched to the RpcServer's handler, and answered
// (payload by RDMA WRITE into the call's reply segments, then the reply SEND).
#include <set>

#include "rdma_endpoint.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/rdma/rdma_transport.h"

// GCC 12 pairs asio's awaitable-frame operator new and delete wrongly in some coroutines here and warns
// of a mismatch (a false positive: both come from awaitable_frame_base).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace zcfs {
namespace rdma_internal {

using Op = RdmaEndpoint::Op;

class ServerSide : public std::enable_shared_from_this<ServerSide> {
 public:
  ServerSide(RpcServer& rpc, std::shared_ptr<RdmaContext> context) : rpc_(rpc), context_(std::move(context)) {}

  // method::kRdmaConnect: connects a QP to the client's and answers with this side's half. The
  // connection lives on `executor`, the control connection's.
  Result<std::string> Accept(const RpcRequest& request, asio::any_io_executor executor) {
    ASSIGN_OR_RETURN(rdma::Handshake remote, rdma::decode_handshake(request.body));
    ASSIGN_OR_RETURN(auto endpoint, RdmaEndpoint::Create(context_, std::move(executor), request.peer));
    std::weak_ptr<ServerSide> weak_self = shared_from_this();
    std::weak_ptr<RdmaEndpoint> weak_endpoint = endpoint;
    RETURN_IF_ERROR(endpoint->Connect(
        remote,
        [weak_self, weak_endpoint](rdma::Message m) {
          auto self = weak_self.lock();
          auto ep = weak_endpoint.lock();
          if (self && ep) asio::co_spawn(ep->strand(), self->Serve(ep, std::move(m)), asio::detached);
        },
        [weak_self, raw = endpoint.get()](const Status& why) {
          LOG_DEBUG << "RDMA connection from " << raw->peer() << " closed: " << why.ToString();
          if (auto self = weak_self.lock()) self->Forget(raw);
        }));
    if (request.connection_open) {
      asio::co_spawn(endpoint->strand(), WatchControl(endpoint, request.connection_open), asio::detached);
    }
    std::lock_guard lock(mutex_);
    if (stopped_) return Error(Code::kUnavailable, "server is stopping");
    endpoints_.insert(endpoint);
    return rdma::encode_handshake(endpoint->local());
  }

  void Stop() {
    std::set<std::shared_ptr<RdmaEndpoint>> endpoints;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      endpoints.swap(endpoints_);
    }
    for (const auto& ep : endpoints) asio::co_spawn(ep->strand(), SayGoodbye(ep), asio::detached);
  }

  size_t count() const {
    std::lock_guard lock(mutex_);
    return endpoints_.size();
  }
  RdmaContext& context() { return *context_; }

 private:
  void Forget(RdmaEndpoint* endpoint) {
    std::lock_guard lock(mutex_);
    for (auto it = endpoints_.begin(); it != endpoints_.end(); ++it) {
      if (it->get() == endpoint) {
        endpoints_.erase(it);
        return;
      }
    }
  }

  // The client's TCP control connection closing ends its RDMA connection: a client that crashed says
  // no goodbye, and its connection would otherwise linger until this side next sent on it.
  static Task<> WatchControl(std::weak_ptr<RdmaEndpoint> weak, std::shared_ptr<const std::atomic<bool>> control_open) {
    for (;;) {
      auto ep = weak.lock();
      if (!ep || !ep->open()) co_return;
      if (!control_open->load()) {
        ep->Close(Error(Code::kUnavailable, "control connection from " + ep->peer() + " closed"));
        co_return;
      }
      asio::steady_timer timer(ep->strand(), kControlCheck);
      ep.reset();  // no reference held while waiting
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  Task<> Serve(std::shared_ptr<RdmaEndpoint> ep, rdma::Message m);
  // Owns the endpoint while it says goodbye.
  static Task<> SayGoodbye(std::shared_ptr<RdmaEndpoint> ep) { co_await ep->Goodbye(); }
  Task<Status> PullPayload(RdmaEndpoint& ep, const rdma::Message& m, RpcRequest& request);

  RpcServer& rpc_;
  std::shared_ptr<RdmaContext> context_;
  mutable std::mutex mutex_;
  std::set<std::shared_ptr<RdmaEndpoint>> endpoints_;
  bool stopped_ = false;
};

namespace {

// The RDMA WRITEs that put a reply's payload into the call's reply segments: buffer k into segment
// payload_segments[k], or, without that list, the buffers filling the segments in order.
Result<std::vector<Op>> PlaceReply(RdmaContext& context, const RpcReply& reply,
                                   const std::vector<rdma::RemoteBuffer>& segments, std::vector<MrKeys>& held) {
  std::vector<Op> ops;
  const bool indexed = !reply.payload_segments.empty();
  if (indexed && reply.payload_segments.size() != reply.payload.size()) {
    return Error(Code::kInternal, "reply names segments for some of its payload buffers only");
  }
  size_t seg = 0, seg_used = 0;  // in-order filling: the current segment and the bytes it holds
  for (size_t k = 0; k < reply.payload.size(); ++k) {
    const auto& b = reply.payload[k];
    if (b.size() == 0) continue;
    ASSIGN_OR_RETURN(MrKeys keys, context.Keys(b.data(), b.size(), 0));
    auto base = reinterpret_cast<uint64_t>(b.data());
    if (indexed) {
      uint32_t i = reply.payload_segments[k];
      if (i >= segments.size() || b.size() > segments[i].length) {
        return Error(Code::kInvalidArgument, "reply payload piece " + std::to_string(k) + " of " +
                                                 std::to_string(b.size()) + " bytes does not fit reply segment " +
                                                 std::to_string(i) + " the call named");
      }
      ops.push_back(Op{rdma::WrOpcode::kRdmaWrite, rdma::Sge{base, static_cast<uint32_t>(b.size()), keys.lkey},
                       rdma::RemoteBuffer{segments[i].addr, segments[i].rkey, static_cast<uint32_t>(b.size())}});
    } else {
      for (size_t done = 0; done < b.size();) {
        while (seg < segments.size() && seg_used == segments[seg].length) ++seg, seg_used = 0;
        if (seg == segments.size()) {
          return Error(Code::kInvalidArgument,
                       "the reply payload does not fit the reply segments the call named "
                       "(over RDMA a call names where its reply payload goes)");
        }
        auto n = static_cast<uint32_t>(std::min<uint64_t>(b.size() - done, segments[seg].length - seg_used));
        ops.push_back(Op{rdma::WrOpcode::kRdmaWrite, rdma::Sge{base + done, n, keys.lkey},
                         rdma::RemoteBuffer{segments[seg].addr + seg_used, segments[seg].rkey, n}});
        done += n;
        seg_used += n;
      }
    }
    held.push_back(std::move(keys));
  }
  return ops;
}

}  // namespace

// Pulls the request payload with RDMA READ into block-aligned memory, at the offset the server's
// handlers want it (RpcServer::PayloadOffset), as the TCP path receives it.
Task<Status> ServerSide::PullPayload(RdmaEndpoint& ep, const rdma::Message& m, RpcRequest& request) {
  uint64_t total = m.frame.payload_len;
  size_t offset = rpc_.PayloadOffset(request.method, request.body);
  request.payload_buffer = AlignedBuffer(offset + total, AlignedBuffer::Init::kUninitialized);
  request.payload_offset = offset;
  request.payload_len = total;
  auto keys = context_->Keys(request.payload().data(), total, rdma::access::kLocalWrite);
  if (!keys.ok()) co_return keys.status();
  std::vector<Op> ops;
  uint64_t at = 0;
  for (const auto& r : m.reads) {
    if (r.length > total - at) co_return Error(Code::kProtocolError, "request payload lists more than payload_len");
    ops.push_back(Op{rdma::WrOpcode::kRdmaRead,
                     rdma::Sge{reinterpret_cast<uint64_t>(request.payload().data() + at), r.length, keys->lkey}, r});
    at += r.length;
  }
  if (at != total) co_return Error(Code::kProtocolError, "request payload lists less than payload_len");
  co_return co_await ep.Run(std::move(ops));
}

Task<> ServerSide::Serve(std::shared_ptr<RdmaEndpoint> ep, rdma::Message m) {
  if (m.frame.is_response()) {
    ep->Close(Error(Code::kProtocolError, "reply message sent to a server"));
    co_return;
  }
  RpcRequest request;
  request.method = m.frame.method;
  request.body = std::move(m.body);
  request.peer = ep->peer();
  RpcReply reply;
  if (m.frame.payload_len > 0) reply.status = co_await PullPayload(*ep, m, request);
  if (!ep->open()) co_return;
  if (reply.status.ok()) reply = co_await rpc_.Dispatch(request);

  rdma::Message out;
  out.frame.flags = kFlagResponse;
  out.frame.method = request.method;
  out.frame.request_id = m.frame.request_id;
  std::vector<MrKeys> held;  // registrations of the reply payload until its writes are done
  std::vector<Op> writes;
  if (reply.status.ok()) {
    auto placed = PlaceReply(*context_, reply, m.writes, held);
    if (placed.ok()) {
      writes = std::move(placed).value();
      for (const auto& op : writes) out.frame.payload_len += op.local.length;
    } else {
      reply.status = placed.status();
    }
  }
  out.frame.status = static_cast<uint16_t>(reply.status.code());
  out.body = reply.status.ok() ? std::move(reply.body) : reply.status.message();
  // Holds reply.keepalive (the payload's memory) until the writes and the reply have gone out.
  Status sent = co_await ep->Send(std::move(out), std::move(writes));
  if (!sent.ok()) LOG_DEBUG << "reply to " << ep->peer() << " over RDMA failed: " << sent.ToString();
}

}  // namespace rdma_internal

RdmaServer::RdmaServer(std::shared_ptr<rdma_internal::ServerSide> side) : side_(std::move(side)) {}

RdmaServer::~RdmaServer() { Stop(); }

Result<std::unique_ptr<RdmaServer>> RdmaServer::Create(RpcServer& server, std::unique_ptr<rdma::Device> device,
                                                       RdmaOptions options) {
  ASSIGN_OR_RETURN(auto context, rdma_internal::RdmaContext::Create(std::move(device), options));
  auto side = std::make_shared<rdma_internal::ServerSide>(server, std::move(context));
  std::weak_ptr<rdma_internal::ServerSide> weak = side;
  server.Register(method::kRdmaConnect, [weak](RpcRequest& request) -> Task<RpcReply> {
    auto side = weak.lock();
    if (!side) co_return RpcReply::FromStatus(Error(Code::kUnavailable, "RDMA is not served here any more"));
    auto accepted = side->Accept(request, co_await asio::this_coro::executor);
    if (!accepted.ok()) co_return RpcReply::FromStatus(accepted.status());
    RpcReply reply;
    reply.body = std::move(accepted).value();
    co_return reply;
  });
  return std::unique_ptr<RdmaServer>(new RdmaServer(std::move(side)));
}

void RdmaServer::Stop() { side_->Stop(); }

Status RdmaServer::RegisterSendMemory(std::span<std::byte> memory) {
  return side_->context().RegisterRegion(memory.data(), memory.size(), rdma::access::kLocalWrite).status();
}

size_t RdmaServer::connection_count() const { return side_->count(); }

}  // namespace zcfs
