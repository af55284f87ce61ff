#include "zcfs/proto/rpc_channel.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <map>

#include "zcfs/common/logging.h"
#include "zcfs/proto/frame_writer.h"

namespace zcfs {
namespace {

// The RpcChannel over one TCP connection. All state lives on the channel's strand.
class TcpRpcChannel : public RpcChannel, public std::enable_shared_from_this<TcpRpcChannel> {
 public:
  static Task<Result<std::shared_ptr<RpcChannel>>> Connect(asio::any_io_executor executor, HostPort peer,
                                                           std::chrono::milliseconds timeout, FrameLimits limits);
  ~TcpRpcChannel() override;

  Task<Result<RpcResponse>> Call(uint16_t method, std::string body, CallOptions options) override;
  void Close() override;
  bool is_open() const override { return open_.load(); }
  const std::string& peer() const override { return peer_; }

 private:
  struct Pending;
  TcpRpcChannel(Strand strand, std::string peer, FrameLimits limits);
  static Task<Status> ConnectOnStrand(std::shared_ptr<TcpRpcChannel> channel, HostPort peer,
                                      std::chrono::milliseconds timeout);
  Task<Result<RpcResponse>> CallOnStrand(uint16_t method, std::string body, CallOptions options);
  Task<> ReadLoop();
  Task<Status> ReadReply(const FrameHeader& header);
  void FailAll(const Status& status);

  Strand strand_;
  tcp::socket socket_;
  std::string peer_;
  FrameLimits limits_;
  FrameWriter writer_;
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;
  std::atomic<bool> open_{false};
};

// One call waiting for its reply. Touched only on the channel's strand.
struct TcpRpcChannel::Pending {
  explicit Pending(const Strand& strand) : timer(strand) {}
  asio::steady_timer timer;
  PayloadPlacement placement;
  bool done = false;
  bool placing = false;    // the reply payload is being read into the caller's memory
  bool abandoned = false;  // timed out while placing: the connection was closed to end that read
  Status status;
  RpcResponse response;
};

TcpRpcChannel::TcpRpcChannel(Strand strand, std::string peer, FrameLimits limits)
    : strand_(std::move(strand)), socket_(strand_), peer_(std::move(peer)), limits_(limits), writer_(socket_) {}

TcpRpcChannel::~TcpRpcChannel() = default;

Task<Result<std::shared_ptr<RpcChannel>>> TcpRpcChannel::Connect(asio::any_io_executor executor, HostPort peer,
                                                                 std::chrono::milliseconds timeout,
                                                                 FrameLimits limits) {
  auto channel =
      std::shared_ptr<TcpRpcChannel>(new TcpRpcChannel(asio::make_strand(executor), peer.ToString(), limits));
  Status status = co_await asio::co_spawn(channel->strand_, ConnectOnStrand(channel, std::move(peer), timeout),
                                          asio::use_awaitable);
  if (!status.ok()) co_return status;
  co_return std::shared_ptr<RpcChannel>(channel);
}

Task<Status> TcpRpcChannel::ConnectOnStrand(std::shared_ptr<TcpRpcChannel> channel, HostPort peer,
                                            std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  tcp::resolver resolver(channel->strand_);
  auto endpoints = co_await resolver.async_resolve(peer.host, std::to_string(peer.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error(Code::kUnavailable, "resolve " + channel->peer_ + ": " + ec.message());
  // The deadline closes the socket, which aborts the pending connect. Its handler may run after this
  // frame is gone, so it owns what it touches.
  asio::steady_timer deadline(channel->strand_, timeout);
  auto timed_out = std::make_shared<bool>(false);
  deadline.async_wait([channel, timed_out](const boost::system::error_code& wait_ec) {
    if (wait_ec || channel->open_) return;
    *timed_out = true;
    boost::system::error_code ignored;
    channel->socket_.close(ignored);
  });
  co_await asio::async_connect(channel->socket_, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  deadline.cancel();
  if (*timed_out) co_return Error(Code::kTimeout, "connect to " + channel->peer_ + " timed out");
  if (ec) co_return Error(Code::kUnavailable, "connect to " + channel->peer_ + ": " + ec.message());
  channel->socket_.set_option(tcp::no_delay(true), ec);
  channel->open_ = true;
  asio::co_spawn(channel->strand_, channel->ReadLoop(), asio::detached);
  co_return Status::Ok();
}

Task<Result<RpcResponse>> TcpRpcChannel::Call(uint16_t method, std::string body, CallOptions options) {
  // Hop onto the strand for the call and back to the caller's executor for the result.
  co_return co_await asio::co_spawn(strand_, CallOnStrand(method, std::move(body), std::move(options)),
                                    asio::use_awaitable);
}

Task<Result<RpcResponse>> TcpRpcChannel::CallOnStrand(uint16_t method, std::string body, CallOptions options) {
  auto self = shared_from_this();
  if (!open_) co_return Error(Code::kUnavailable, "connection to " + peer_ + " is closed");
  uint64_t id = next_request_id_++;
  auto pending = std::make_shared<Pending>(strand_);
  pending->placement = std::move(options.placement);
  pending_[id] = pending;

  OutgoingFrame frame;
  frame.header.method = method;
  frame.header.request_id = id;
  frame.body = std::move(body);
  frame.payload = std::move(options.payload);
  writer_.Send(std::move(frame), self, [this, self](const boost::system::error_code& ec) {
    FailAll(Error(Code::kUnavailable, "send to " + peer_ + ": " + ec.message()));
  });

  pending->timer.expires_after(options.timeout);
  while (!pending->done) {
    boost::system::error_code ec;
    co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (pending->done || ec) continue;  // completed, or woken to re-check
    if (pending->placing) {
      // The caller's memory is being written; it may only be handed back when that read ends. A peer
      // that stopped in the middle of the payload would hold it forever, so the connection is closed,
      // which ends the read at once (nothing after the unread rest of the payload could be read anyway).
      if (!pending->abandoned) {
        pending->abandoned = true;
        boost::system::error_code ignored;
        socket_.close(ignored);
      }
      pending->timer.expires_after(std::chrono::milliseconds(100));
      continue;
    }
    pending->done = true;
    pending->status = Error(Code::kTimeout, "call " + std::to_string(method) + " to " + peer_ + " timed out after " +
                                                std::to_string(options.timeout.count()) + " ms");
    pending_.erase(id);
  }
  if (pending->abandoned && !pending->status.ok()) {
    co_return Error(Code::kTimeout, "call " + std::to_string(method) + " to " + peer_ + " timed out after " +
                                        std::to_string(options.timeout.count()) +
                                        " ms in the middle of its reply payload (connection closed)");
  }
  if (!pending->status.ok()) co_return pending->status;
  co_return std::move(pending->response);
}

Task<> TcpRpcChannel::ReadLoop() {
  auto self = shared_from_this();
  Status why;
  while (open_) {
    FrameHeaderBytes raw;
    boost::system::error_code ec;
    co_await asio::async_read(socket_, asio::buffer(raw), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      why = Error(Code::kUnavailable, "connection to " + peer_ + " lost: " + ec.message());
      break;
    }
    auto header = decode_frame_header(raw, limits_);
    if (!header.ok()) {
      why = header.status();
      LOG_WARN << "closing connection to " << peer_ << ": " << why.ToString();
      break;
    }
    if (!header->is_response()) {
      why = Error(Code::kProtocolError, "request frame received from server " + peer_);
      LOG_WARN << "closing connection: " << why.message();
      break;
    }
    why = co_await ReadReply(*header);
    if (!why.ok()) break;
  }
  FailAll(why.ok() ? Error(Code::kCancelled, "connection to " + peer_ + " closed") : why);
}

// Reads one reply's body and payload. Returns an error only when the connection cannot go on.
Task<Status> TcpRpcChannel::ReadReply(const FrameHeader& header) {
  boost::system::error_code ec;
  std::string body(header.body_len, '\0');
  co_await asio::async_read(socket_, asio::buffer(body), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error(Code::kUnavailable, "connection to " + peer_ + " lost: " + ec.message());

  std::shared_ptr<Pending> call;
  if (auto it = pending_.find(header.request_id); it != pending_.end()) call = it->second;

  std::vector<asio::mutable_buffer> destination;
  Status call_status;
  if (call && header.status != 0) {
    call_status = Status(code_from_wire(header.status), std::move(body));
  } else if (call && header.payload_len > 0) {
    if (!call->placement) {
      call_status = Error(Code::kProtocolError, "reply carries a payload the call did not ask for");
    } else {
      auto placed = call->placement(header, body);
      if (!placed.ok()) {
        call_status = placed.status();
      } else if (asio::buffer_size(*placed) != header.payload_len) {
        call_status = Error(Code::kProtocolError, "reply payload of " + std::to_string(header.payload_len) +
                                                      " bytes does not match its placement of " +
                                                      std::to_string(asio::buffer_size(*placed)));
      } else {
        destination = std::move(placed).value();
      }
    }
  }

  if (header.payload_len > 0 && !destination.empty()) {
    call->placing = true;  // direct placement into the caller's memory
    co_await asio::async_read(socket_, destination, asio::redirect_error(asio::use_awaitable, ec));
    call->placing = false;
  } else if (header.payload_len > 0) {
    // No one wants these bytes (the call timed out or failed): read them off the socket and drop them.
    std::vector<char> sink(std::min<uint64_t>(header.payload_len, 64 * 1024));
    uint64_t left = header.payload_len;
    while (left > 0 && !ec) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, sink.size()));
      co_await asio::async_read(socket_, asio::buffer(sink.data(), n), asio::redirect_error(asio::use_awaitable, ec));
      left -= n;
    }
  }
  if (ec) co_return Error(Code::kUnavailable, "connection to " + peer_ + " lost: " + ec.message());

  if (call && !call->done) {
    call->done = true;
    call->status = std::move(call_status);
    if (call->status.ok()) call->response = RpcResponse{std::move(body), header.payload_len};
    pending_.erase(header.request_id);
    call->timer.cancel();
  }
  co_return Status::Ok();
}

void TcpRpcChannel::FailAll(const Status& status) {
  open_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, call] : pending) {
    if (call->done) continue;
    call->done = true;
    call->status = status;
    call->timer.cancel();
  }
}

void TcpRpcChannel::Close() {
  asio::post(strand_, [self = shared_from_this()] { self->FailAll(Error(Code::kCancelled, "channel closed")); });
}

}  // namespace

Task<Result<std::shared_ptr<RpcChannel>>> RpcChannel::Connect(asio::any_io_executor executor, HostPort peer,
                                                              std::chrono::milliseconds timeout, FrameLimits limits) {
  return TcpRpcChannel::Connect(std::move(executor), std::move(peer), timeout, limits);
}

}  // namespace zcfs
