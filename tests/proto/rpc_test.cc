// RPC layer over real loopback TCP: round trips, direct payload placement, errors, timeouts, and
// peers that break the protocol.
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <numeric>
#include <thread>

#include "zcfs/proto/gather.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rpc_channel.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kEcho = 1;     // reply body = request body, reply payload = request payload
constexpr uint16_t kSleep = 2;    // waits body-as-ms, then replies with a 64 KiB payload
constexpr uint16_t kFail = 3;     // replies kNotFound
constexpr uint16_t kPattern = 4;  // replies with a payload of body-as-size bytes, byte i = i % 251

std::vector<std::byte> pattern(size_t n, size_t start = 0) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((start + i) % 251);
  return v;
}

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RpcServer>(server_io_.context(), FrameLimits{1 << 20, 64 << 20});
    server_->Register(kEcho, [](RpcRequest& req) -> Task<RpcReply> {
      auto owned = std::make_shared<AlignedBuffer>(std::move(req.payload_buffer));
      RpcReply reply;
      reply.body = req.body;
      if (req.payload_len > 0) {
        reply.payload.emplace_back(owned->data() + req.payload_offset, req.payload_len);
        reply.keepalive = owned;
      }
      co_return reply;
    });
    server_->Register(kSleep, [](RpcRequest& req) -> Task<RpcReply> {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(std::stoi(req.body)));
      co_await timer.async_wait(asio::use_awaitable);
      auto data = std::make_shared<std::vector<std::byte>>(pattern(64 << 10));
      RpcReply reply;
      reply.payload.emplace_back(data->data(), data->size());
      reply.keepalive = data;
      co_return reply;
    });
    server_->Register(kFail, [](RpcRequest&) -> Task<RpcReply> {
      co_return RpcReply::FromStatus(Error(Code::kNotFound, "no such thing"));
    });
    server_->Register(kPattern, [](RpcRequest& req) -> Task<RpcReply> {
      auto data = std::make_shared<std::vector<std::byte>>(pattern(std::stoul(req.body)));
      RpcReply reply;
      reply.payload.emplace_back(data->data(), data->size());
      reply.keepalive = data;
      co_return reply;
    });
    server_->SetPayloadOffset([](uint16_t, std::string_view body) { return body.size(); });
    auto endpoint = server_->Listen(HostPort{"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    address_ = HostPort{"127.0.0.1", endpoint->port()};
    channel_ = Connect();
  }

  void TearDown() override {
    if (channel_) channel_->Close();
    server_->Stop();
    server_io_.Stop();
    client_io_.Stop();
  }

  std::shared_ptr<RpcChannel> Connect() {
    auto channel = run_blocking(client_io_.executor(), RpcChannel::Connect(client_io_.executor(), address_, 2s));
    EXPECT_TRUE(channel.ok()) << channel.status().ToString();
    return channel.ok() ? *channel : nullptr;
  }

  Result<RpcResponse> Call(uint16_t method, std::string body, CallOptions options = {}) {
    return run_blocking(client_io_.executor(), channel_->Call(method, std::move(body), std::move(options)));
  }

  // Places a reply payload straight into `dst`.
  static PayloadPlacement Into(std::span<std::byte> dst) {
    return [dst](const FrameHeader& h, std::string_view) -> Result<std::vector<asio::mutable_buffer>> {
      if (h.payload_len > dst.size()) return Error(Code::kOutOfRange, "reply larger than the buffer");
      return std::vector<asio::mutable_buffer>{asio::buffer(dst.data(), h.payload_len)};
    };
  }

  IoThreads server_io_{2};
  IoThreads client_io_{2};
  std::unique_ptr<RpcServer> server_;
  HostPort address_;
  std::shared_ptr<RpcChannel> channel_;
};

TEST_F(RpcTest, EchoBodyAndPayloadBothWays) {
  auto sent = pattern(300000, 5);
  std::vector<std::byte> received(sent.size());
  CallOptions options;
  options.payload.emplace_back(sent.data(), sent.size());
  options.placement = Into(received);
  auto r = Call(kEcho, "hello", std::move(options));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->payload_len, sent.size());
  EXPECT_EQ(received, sent);
}

TEST_F(RpcTest, ReplyPayloadLandsInScatteredCallerMemory) {
  std::vector<std::byte> a(1000), b(3000);
  CallOptions options;
  options.placement = [&](const FrameHeader&, std::string_view) -> Result<std::vector<asio::mutable_buffer>> {
    return std::vector<asio::mutable_buffer>{asio::buffer(a), asio::buffer(b)};
  };
  auto r = Call(kPattern, "4000", std::move(options));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(a, pattern(1000));
  EXPECT_EQ(b, pattern(3000, 1000));
}

TEST_F(RpcTest, ErrorStatusAndUnknownMethod) {
  auto failed = Call(kFail, "");
  EXPECT_EQ(failed.status().code(), Code::kNotFound);
  EXPECT_EQ(failed.status().message(), "no such thing");
  auto unknown = Call(999, "");
  EXPECT_EQ(unknown.status().code(), Code::kNotSupported);
  EXPECT_TRUE(Call(kEcho, "still fine").ok());
}

TEST_F(RpcTest, PlacementMismatchFailsOnlyThatCall) {
  std::vector<std::byte> small(10);
  CallOptions options;
  options.placement = [&](const FrameHeader&, std::string_view) -> Result<std::vector<asio::mutable_buffer>> {
    return std::vector<asio::mutable_buffer>{asio::buffer(small)};
  };
  auto r = Call(kPattern, "5000", std::move(options));
  EXPECT_EQ(r.status().code(), Code::kProtocolError);
  EXPECT_EQ(Call(kPattern, "5000").status().code(), Code::kProtocolError);  // payload nobody asked for
  auto ok = Call(kEcho, "after");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->body, "after");
}

TEST_F(RpcTest, TimeoutThenLateReplyIsDropped) {
  std::vector<std::byte> dst(64 << 10);
  CallOptions options;
  options.timeout = 50ms;
  options.placement = Into(dst);
  auto r = Call(kSleep, "400", std::move(options));
  EXPECT_EQ(r.status().code(), Code::kTimeout);
  // The late reply (with its payload) arrives while this call waits; the connection stays in sync.
  CallOptions later;
  later.placement = Into(dst);
  auto next = Call(kSleep, "500", std::move(later));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(dst, pattern(64 << 10));
  EXPECT_TRUE(channel_->is_open());
}

TEST_F(RpcTest, ManyConcurrentCalls) {
  std::vector<std::vector<std::byte>> buffers(200, std::vector<std::byte>(8192));
  std::vector<Task<Result<RpcResponse>>> calls;
  for (size_t i = 0; i < buffers.size(); ++i) {
    CallOptions options;
    options.placement = Into(buffers[i]);
    calls.push_back(channel_->Call(kPattern, std::to_string(1000 + i), std::move(options)));
  }
  auto results = run_blocking(client_io_.executor(), gather(client_io_.executor(), std::move(calls)));
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->payload_len, 1000 + i);
    EXPECT_TRUE(std::equal(buffers[i].begin(), buffers[i].begin() + 1000 + i, pattern(1000 + i).begin()));
  }
}

TEST_F(RpcTest, ServerStopFailsPendingCalls) {
  std::vector<std::byte> dst(64 << 10);
  CallOptions options;
  options.placement = Into(dst);
  auto pending =
      asio::co_spawn(client_io_.executor(), channel_->Call(kSleep, "2000", std::move(options)), asio::use_future);
  while (server_->connection_count() == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);  // let the request reach the server
  server_->Stop();
  auto r = pending.get();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == Code::kUnavailable || r.status().code() == Code::kCancelled)
      << r.status().ToString();
  EXPECT_FALSE(Call(kEcho, "x").ok());
}

TEST_F(RpcTest, ConnectToClosedPortFails) {
  server_->Stop();
  std::this_thread::sleep_for(50ms);
  auto channel = run_blocking(client_io_.executor(), RpcChannel::Connect(client_io_.executor(), address_, 1s));
  EXPECT_EQ(channel.status().code(), Code::kUnavailable);
}

// A raw peer that breaks the protocol: the server must close that connection and keep serving.
class RawPeer {
 public:
  explicit RawPeer(const HostPort& address) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address(address.host), address.port));
  }
  void Send(std::span<const std::byte> bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }
  // True when the server closed the connection (read hits EOF) rather than answering.
  bool ClosedByServer() {
    std::array<char, 64> buf;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(buf), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

TEST_F(RpcTest, GarbageBadVersionAndHugeFramesCloseTheConnection) {
  std::vector<FrameHeaderBytes> bad;
  FrameHeaderBytes garbage;
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::byte>(i * 37 + 1);
  bad.push_back(garbage);
  FrameHeader v2;
  v2.version = 2;
  v2.method = kEcho;
  bad.push_back(encode_frame_header(v2));
  FrameHeader huge;
  huge.method = kEcho;
  huge.body_len = 2 << 20;  // over the server's 1 MiB body limit
  bad.push_back(encode_frame_header(huge));
  FrameHeader reply_to_server;
  reply_to_server.flags = kFlagResponse;
  bad.push_back(encode_frame_header(reply_to_server));
  for (const auto& frame : bad) {
    RawPeer peer(address_);
    peer.Send(frame);
    EXPECT_TRUE(peer.ClosedByServer());
  }
  auto r = Call(kEcho, "survived");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "survived");
}

TEST_F(RpcTest, PeerDisconnectingMidPayloadDoesNotHurtTheServer) {
  {
    RawPeer peer(address_);
    FrameHeader h;
    h.method = kEcho;
    h.payload_len = 1 << 20;
    auto bytes = encode_frame_header(h);
    peer.Send(bytes);
    std::vector<std::byte> part(1000);
    peer.Send(part);
  }  // closes with most of the payload unsent
  EXPECT_TRUE(Call(kEcho, "fine").ok());
}

// A server that answers one request with a reply announcing 1 MiB of payload, sends 1000 bytes of it
// and then nothing more, with the connection left open (a server frozen mid-reply). The call must
// still end with kTimeout - not wait for the rest forever - and the connection, out of sync, is closed.
TEST_F(RpcTest, AReplyThatStopsMidPayloadTimesOutAndClosesTheConnection) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HostPort stalled{"127.0.0.1", acceptor.local_endpoint().port()};
  std::thread server([&] {
    tcp::socket peer(io);
    acceptor.accept(peer);
    FrameHeaderBytes raw;
    asio::read(peer, asio::buffer(raw));
    auto request = decode_frame_header(raw, FrameLimits{});
    ASSERT_TRUE(request.ok()) << request.status().ToString();
    std::string body(request->body_len, '\0');
    asio::read(peer, asio::buffer(body));
    FrameHeader reply;
    reply.flags = kFlagResponse;
    reply.method = request->method;
    reply.request_id = request->request_id;
    reply.payload_len = 1 << 20;
    auto header = encode_frame_header(reply);
    asio::write(peer, asio::buffer(header));
    std::vector<std::byte> part(1000, std::byte{7});
    asio::write(peer, asio::buffer(part));
    std::array<char, 64> rest;
    boost::system::error_code ec;
    while (!ec) peer.read_some(asio::buffer(rest), ec);  // until the client closes
  });
  auto channel = run_blocking(client_io_.executor(), RpcChannel::Connect(client_io_.executor(), stalled, 2s));
  ASSERT_TRUE(channel.ok()) << channel.status().ToString();
  std::vector<std::byte> dst(1 << 20);
  CallOptions options;
  options.timeout = 200ms;
  options.placement = Into(dst);
  auto call = asio::co_spawn(client_io_.executor(), (*channel)->Call(kEcho, "x", std::move(options)), asio::use_future);
  // Generous: a hang is the failure looked for, not the time taken.
  ASSERT_EQ(call.wait_for(60s), std::future_status::ready) << "the call waited for the rest of the payload";
  auto r = call.get();
  EXPECT_EQ(r.status().code(), Code::kTimeout) << r.status().ToString();
  EXPECT_NE(r.status().message().find("middle of its reply payload"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(dst[0], std::byte{7}) << "the bytes that came were placed";
  EXPECT_FALSE((*channel)->is_open());
  server.join();
}

}  // namespace
}  // namespace zcfs
