#include "zcfs/proto/rpc_server.h"

#include <cstring>

#include "zcfs/common/logging.h"
#include "zcfs/proto/frame_writer.h"

namespace zcfs {

// One accepted connection. Lives on its own strand; owned by the server's connection set and by
// its running coroutines. Not thread-safe: all members are used only on the strand.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(RpcServer& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), writer_(socket_, server.writer_options_) {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void Start() { asio::co_spawn(socket_.get_executor(), ReadLoop(shared_from_this()), asio::detached); }

  void Close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->socket_.close(ec);
    });
  }

 private:
  Task<> ReadLoop(std::shared_ptr<ServerConnection> self) {
    Status why = co_await ReadFrames();
    if (!why.ok()) LOG_WARN << "closing connection from " << peer_ << ": " << why.ToString();
    boost::system::error_code ec;
    socket_.close(ec);
    open_->store(false);
    server_.Forget(this);
  }

  // A request arriving on this connection, before its body.
  RpcRequest NewRequest(uint16_t method) const {
    RpcRequest request;
    request.method = method;
    request.peer = peer_;
    request.connection_open = open_;
    return request;
  }

  // A frame header that a server accepts: valid, within the limits, and a request.
  Result<FrameHeader> DecodeRequestHeader(std::span<const std::byte, kFrameHeaderSize> raw) const {
    auto header = decode_frame_header(raw, server_.limits_);
    if (header.ok() && header->is_response()) return Error(Code::kProtocolError, "reply frame sent to a server");
    return header;
  }

  // Reads request frames until the peer goes away (ok) or breaks the protocol (the reason).
  Task<Status> ReadFrames() {
    if (server_.limits_.max_payload == 0) co_return co_await ReadBufferedFrames();
    for (;;) {
      FrameHeaderBytes raw;
      boost::system::error_code ec;
      co_await asio::async_read(socket_, asio::buffer(raw), asio::redirect_error(asio::use_awaitable, ec));
      if (ec)
        co_return ec == asio::error::eof || ec == asio::error::operation_aborted
            ? Status::Ok()
            : Error(Code::kUnavailable, "read: " + ec.message());
      auto header = DecodeRequestHeader(raw);
      if (!header.ok()) co_return header.status();

      RpcRequest request = NewRequest(header->method);
      request.body.resize(header->body_len);
      co_await asio::async_read(socket_, asio::buffer(request.body), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Error(Code::kUnavailable, "read body: " + ec.message());
      if (header->payload_len > 0) {
        size_t offset = server_.PayloadOffset(request.method, request.body);
        request.payload_buffer = AlignedBuffer(offset + header->payload_len, AlignedBuffer::Init::kUninitialized);
        request.payload_offset = offset;
        request.payload_len = header->payload_len;
        co_await asio::async_read(socket_, asio::buffer(request.payload().data(), request.payload_len),
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return Error(Code::kUnavailable, "read payload: " + ec.message());
      }
      asio::co_spawn(socket_.get_executor(), Handle(shared_from_this(), std::move(request), header->request_id),
                     asio::detached);
    }
  }

  // ReadFrames() for a server without payloads: reads whatever has arrived into a buffer and handles
  // every whole frame in it, one after the other.
  Task<Status> ReadBufferedFrames() {
    std::vector<std::byte> inbox(kInboxSize);
    size_t begin = 0;  // the first byte not yet handled
    size_t end = 0;    // one past the last byte received
    for (;;) {
      size_t wanted = kFrameHeaderSize;  // bytes the frame at `begin` needs, as far as known
      while (end - begin >= kFrameHeaderSize) {
        auto header =
            DecodeRequestHeader(std::span<const std::byte, kFrameHeaderSize>(inbox.data() + begin, kFrameHeaderSize));
        if (!header.ok()) co_return header.status();
        wanted = kFrameHeaderSize + header->body_len;
        if (end - begin < wanted) break;
        RpcRequest request = NewRequest(header->method);
        const char* body = reinterpret_cast<const char*>(inbox.data() + begin + kFrameHeaderSize);
        request.body.assign(body, header->body_len);
        begin += wanted;
        wanted = kFrameHeaderSize;
        co_await Handle(shared_from_this(), std::move(request), header->request_id);
      }
      // Keep the partial frame at the front, and room for all of it.
      if (begin > 0) {
        std::memmove(inbox.data(), inbox.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      if (inbox.size() < wanted) inbox.resize(wanted);
      boost::system::error_code ec;
      size_t n = co_await socket_.async_read_some(asio::buffer(inbox.data() + end, inbox.size() - end),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec)
        co_return ec == asio::error::eof || ec == asio::error::operation_aborted
            ? Status::Ok()
            : Error(Code::kUnavailable, "read: " + ec.message());
      end += n;
    }
  }

  // Most frames of a server without payloads are a few hundred bytes; a bigger one grows the buffer.
  static constexpr size_t kInboxSize = 16 * 1024;

  Task<> Handle(std::shared_ptr<ServerConnection> self, RpcRequest request, uint64_t request_id) {
    RpcReply reply = co_await server_.Dispatch(request);
    OutgoingFrame frame;
    frame.header.flags = kFlagResponse;
    frame.header.method = request.method;
    frame.header.request_id = request_id;
    frame.header.status = static_cast<uint16_t>(reply.status.code());
    if (reply.status.ok()) {
      frame.body = std::move(reply.body);
      frame.payload = std::move(reply.payload);
      frame.keepalive = std::move(reply.keepalive);
    } else {
      frame.body = reply.status.message();
    }
    writer_.Send(std::move(frame), self, [this, self](const boost::system::error_code& ec) {
      LOG_INFO << "reply to " << peer_ << " failed: " << ec.message();
      boost::system::error_code ignored;
      socket_.close(ignored);
    });
  }

  RpcServer& server_;
  tcp::socket socket_;
  FrameWriter writer_;
  std::string peer_;
  std::shared_ptr<std::atomic<bool>> open_ = std::make_shared<std::atomic<bool>>(true);  // RpcRequest::connection_open
};

RpcServer::RpcServer(asio::io_context& io, FrameLimits limits)
    : connection_executor_([&io] { return asio::make_strand(io); }),
      limits_(limits),
      acceptor_(asio::make_strand(io)) {}

RpcServer::RpcServer(IoContextPool& pool, FrameLimits limits)
    : connection_executor_([&pool] { return pool.NextExecutor(); }), limits_(limits), acceptor_(pool.context(0)) {}

RpcServer::~RpcServer() {
  Stop();
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void RpcServer::Register(uint16_t method, RpcHandler handler) { handlers_[method] = std::move(handler); }

Task<RpcReply> RpcServer::Dispatch(RpcRequest& request) {
  auto it = handlers_.find(request.method);
  if (it == handlers_.end()) {
    co_return RpcReply::FromStatus(Error(Code::kNotSupported, "unknown method " + std::to_string(request.method)));
  }
  if (admit_) {
    Status admitted = admit_(request.method);
    if (!admitted.ok()) co_return RpcReply::FromStatus(std::move(admitted));
  }
  try {
    RpcReply reply = co_await it->second(request);
    if (reply.status.ok()) reply.body += reply_trailer_;
    co_return reply;
  } catch (const std::exception& e) {  // a handler must not take the server down
    co_return RpcReply::FromStatus(Error(Code::kInternal, std::string("handler failed: ") + e.what()));
  }
}

void RpcServer::SetWriterOptions(FrameWriterOptions options) {
  if (!options.counters) options.counters = writer_options_.counters;
  writer_options_ = std::move(options);
}

Result<tcp::endpoint> RpcServer::Listen(const HostPort& address) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host == "localhost" ? "127.0.0.1" : address.host, ec);
  if (ec) return Error(Code::kInvalidArgument, "bad listen address '" + address.host + "': " + ec.message());
  tcp::endpoint endpoint(ip, address.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(Code::kUnavailable, "listen on " + address.ToString() + ": " + ec.message());
  auto bound = acceptor_.local_endpoint(ec);
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
  return bound;
}

Task<> RpcServer::AcceptLoop() {
  while (!stopped_) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(connection_executor_(), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopped_) break;
      LOG_WARN << "accept failed: " << ec.message();
      continue;
    }
    auto conn = std::make_shared<ServerConnection>(*this, std::move(socket));
    {
      std::lock_guard lock(mutex_);
      if (stopped_) break;
      connections_.insert(conn);
    }
    conn->Start();
  }
}

void RpcServer::Forget(ServerConnection* conn) {
  std::lock_guard lock(mutex_);
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == conn) {
      connections_.erase(it);
      return;
    }
  }
}

void RpcServer::Stop() {
  if (stopped_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  std::lock_guard lock(mutex_);
  for (const auto& conn : connections_) conn->Close();
}

size_t RpcServer::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

}  // namespace zcfs
