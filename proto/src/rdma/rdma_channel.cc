// The client's RpcChannel over RDMA: requests and replies as messages on an RdmaEndpoint, payload
// memory named to the server by address and rkey. All state lives on the endpoint's strand.
#include "rdma_channel.h"

#include <atomic>
#include <map>

#include "zcfs/common/logging.h"
#include "zcfs/proto/methods.h"

// GCC 12 pairs asio's awaitable-frame operator new and delete wrongly in some coroutines here and warns
// of a mismatch (a false positive: both come from awaitable_frame_base).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace zcfs::rdma_internal {
namespace {

namespace access = rdma::access;

class RdmaChannel : public RpcChannel, public std::enable_shared_from_this<RdmaChannel> {
 public:
  RdmaChannel(std::shared_ptr<RpcChannel> control, std::shared_ptr<RdmaEndpoint> endpoint)
      : control_(std::move(control)), endpoint_(std::move(endpoint)), peer_(endpoint_->peer()) {}

  Status Start(const rdma::Handshake& remote) {
    std::weak_ptr<RdmaChannel> weak = shared_from_this();
    RETURN_IF_ERROR(endpoint_->Connect(
        remote,
        [weak](rdma::Message m) {
          if (auto self = weak.lock()) self->OnReply(std::move(m));
        },
        [weak](const Status& why) {
          if (auto self = weak.lock()) self->FailAll(why);
        }));
    open_ = true;
    asio::co_spawn(endpoint_->strand(), WatchControl(shared_from_this()), asio::detached);
    return Status::Ok();
  }

  Task<Result<RpcResponse>> Call(uint16_t method, std::string body, CallOptions options) override {
    co_return co_await asio::co_spawn(endpoint_->strand(), CallOnStrand(method, std::move(body), std::move(options)),
                                      asio::use_awaitable);
  }

  void Close() override { asio::co_spawn(endpoint_->strand(), CloseOnStrand(shared_from_this()), asio::detached); }
  bool is_open() const override { return open_.load(); }
  const std::string& peer() const override { return peer_; }

 private:
  struct Pending {
    explicit Pending(const Strand& strand) : timer(strand) {}
    asio::steady_timer timer;
    bool done = false;
    PayloadPlacement placement;
    Status status;
    RpcResponse response;
  };

  static Task<> CloseOnStrand(std::shared_ptr<RdmaChannel> self) {
    co_await self->endpoint_->Goodbye();
    self->FailAll(Error(Code::kCancelled, "channel closed"));
    self->control_->Close();
  }

  // The control connection's loss is how a dead server shows when no call is failing yet.
  static Task<> WatchControl(std::shared_ptr<RdmaChannel> self) {
    asio::steady_timer timer(self->endpoint_->strand());
    while (self->endpoint_->open()) {
      if (!self->control_->is_open()) {
        self->endpoint_->Close(Error(Code::kUnavailable, "control connection to " + self->peer_ + " lost"));
        break;
      }
      timer.expires_after(kControlCheck);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    self->control_->Close();
  }

  // Names the call's payload and reply memory to the server. Memory outside the transport's regions
  // is registered for this call; `held` keeps those registrations until the call ends.
  Status DescribeMemory(const CallOptions& options, rdma::Message& m, std::vector<MrKeys>& held) {
    for (const auto& b : options.payload) {
      if (b.size() == 0) continue;
      ASSIGN_OR_RETURN(MrKeys keys, endpoint_->context().Keys(b.data(), b.size(), access::kRemoteRead));
      m.reads.push_back(
          rdma::RemoteBuffer{reinterpret_cast<uint64_t>(b.data()), keys.rkey, static_cast<uint32_t>(b.size())});
      m.frame.payload_len += b.size();
      held.push_back(std::move(keys));
    }
    for (const auto& b : options.reply_segments) {
      if (b.size() == 0) {  // kept, so segment indices still match the caller's
        m.writes.push_back(rdma::RemoteBuffer{});
        continue;
      }
      ASSIGN_OR_RETURN(MrKeys keys,
                       endpoint_->context().Keys(b.data(), b.size(), access::kLocalWrite | access::kRemoteWrite));
      m.writes.push_back(
          rdma::RemoteBuffer{reinterpret_cast<uint64_t>(b.data()), keys.rkey, static_cast<uint32_t>(b.size())});
      held.push_back(std::move(keys));
    }
    return Status::Ok();
  }

  Task<Result<RpcResponse>> CallOnStrand(uint16_t method, std::string body, CallOptions options) {
    auto self = shared_from_this();
    if (!endpoint_->open()) co_return Error(Code::kUnavailable, "RDMA connection to " + peer_ + " is closed");
    uint64_t id = next_request_id_++;
    rdma::Message m;
    m.frame.method = method;
    m.frame.request_id = id;
    m.body = std::move(body);
    std::vector<MrKeys> held;
    if (Status s = DescribeMemory(options, m, held); !s.ok()) co_return s;
    const bool exposes_memory = !m.reads.empty() || !m.writes.empty();
    auto pending = std::make_shared<Pending>(endpoint_->strand());
    pending->placement = std::move(options.placement);
    pending_[id] = pending;
    if (Status sent = co_await endpoint_->Send(std::move(m)); !sent.ok()) {
      pending_.erase(id);
      co_return sent;
    }
    pending->timer.expires_after(options.timeout);
    while (!pending->done) {
      boost::system::error_code ec;
      co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (pending->done || ec) continue;
      pending->done = true;
      pending->status = Error(Code::kTimeout, "call " + std::to_string(method) + " to " + peer_ + " timed out after " +
                                                  std::to_string(options.timeout.count()) + " ms");
      pending_.erase(id);
      // The server may still read or write this call's memory; a QP in ERROR lets no late RDMA land.
      if (exposes_memory) endpoint_->Close(Error(Code::kUnavailable, pending->status.message()));
    }
    if (!pending->status.ok()) co_return pending->status;
    co_return std::move(pending->response);
  }

  void OnReply(rdma::Message m) {
    if (!m.frame.is_response()) {
      endpoint_->Close(Error(Code::kProtocolError, "request message received from server " + peer_));
      return;
    }
    auto it = pending_.find(m.frame.request_id);
    if (it == pending_.end()) return;  // timed out: its reply is dropped
    auto call = it->second;
    pending_.erase(it);
    call->done = true;
    if (m.frame.status != 0) {
      call->status = Status(code_from_wire(m.frame.status), std::move(m.body));
    } else if (m.frame.payload_len > 0 && call->placement) {
      // The payload was written into the call's reply segments before this message came. The placement
      // still runs, as it would on TCP, for what the caller does there (parse the reply, account
      // for its pieces); the memory it names is not written again.
      auto placed = call->placement(m.frame, m.body);
      if (placed.ok()) {
        call->response = RpcResponse{std::move(m.body), m.frame.payload_len};
      } else {
        call->status = placed.status();
      }
    } else {
      call->response = RpcResponse{std::move(m.body), m.frame.payload_len};
    }
    call->timer.cancel();
  }

  void FailAll(const Status& why) {
    open_ = false;
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, call] : pending) {
      if (call->done) continue;
      call->done = true;
      call->status = why;
      call->timer.cancel();
    }
  }

  std::shared_ptr<RpcChannel> control_;
  std::shared_ptr<RdmaEndpoint> endpoint_;
  std::string peer_;
  std::atomic<bool> open_{false};
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;
};

Task<Status> StartOnStrand(std::shared_ptr<RdmaChannel> channel, rdma::Handshake remote) {
  co_return channel->Start(remote);
}

}  // namespace

Task<Result<std::shared_ptr<RpcChannel>>> OpenRdmaChannel(std::shared_ptr<RdmaContext> context,
                                                          asio::any_io_executor executor, std::string peer) {
  const RdmaOptions& options = context->options();
  auto address = parse_host_port(peer);
  if (!address.ok()) co_return address.status();
  auto control = co_await RpcChannel::Connect(executor, *address, options.connect_timeout, options.limits);
  if (!control.ok()) co_return control.status();
  auto endpoint = RdmaEndpoint::Create(context, executor, peer);
  if (!endpoint.ok()) co_return endpoint.status();
  CallOptions call;
  call.timeout = options.connect_timeout;
  auto reply =
      co_await (*control)->Call(method::kRdmaConnect, rdma::encode_handshake((*endpoint)->local()), std::move(call));
  if (!reply.ok()) co_return Status(reply.status()).Prepend("RDMA handshake with " + peer);
  auto remote = rdma::decode_handshake(reply->body);
  if (!remote.ok()) co_return Status(remote.status()).Prepend("RDMA handshake with " + peer);
  auto channel = std::make_shared<RdmaChannel>(*control, *endpoint);
  Status started = co_await asio::co_spawn((*endpoint)->strand(), StartOnStrand(channel, *remote), asio::use_awaitable);
  if (!started.ok()) co_return started.Prepend("RDMA connection to " + peer);
  co_return std::shared_ptr<RpcChannel>(channel);
}

}  // namespace zcfs::rdma_internal
