// BlockingChannel and its pool against a real RpcServer over loopback TCP, and the buffered frame
// reading of a server that takes no payloads (the meta server's mode).
#include "zcfs/proto/blocking_channel.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rpc_channel.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kEcho = 1;     // reply body = request body
constexpr uint16_t kFail = 2;     // replies kNotFound
constexpr uint16_t kSleep = 3;    // waits body-as-ms, then replies "late"
constexpr uint16_t kRepeat = 4;   // replies with body-as-size bytes of 'x'
constexpr uint16_t kPayload = 5;  // replies with a 16-byte payload

FrameLimits no_payloads() {
  FrameLimits limits;
  limits.max_payload = 0;
  return limits;
}

class BlockingChannelTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(0); }
  void TearDown() override { StopServer(); }

  // A server without payloads (buffered reads) on `port` (0: any), its connections over two threads.
  void StartServer(uint16_t port) {
    threads_ = std::make_unique<IoContextPool>(2);
    server_ = std::make_unique<RpcServer>(*threads_, no_payloads());
    server_->Register(kEcho, [](RpcRequest& req) -> Task<RpcReply> {
      RpcReply reply;
      reply.body = req.body;
      co_return reply;
    });
    server_->Register(kFail, [](RpcRequest&) -> Task<RpcReply> {
      co_return RpcReply::FromStatus(Error(Code::kNotFound, "no such thing"));
    });
    server_->Register(kSleep, [](RpcRequest& req) -> Task<RpcReply> {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(std::stoi(req.body)));
      co_await timer.async_wait(asio::use_awaitable);
      RpcReply reply;
      reply.body = "late";
      co_return reply;
    });
    server_->Register(kRepeat, [](RpcRequest& req) -> Task<RpcReply> {
      RpcReply reply;
      reply.body.assign(std::stoul(req.body), 'x');
      co_return reply;
    });
    auto endpoint = server_->Listen(HostPort{"127.0.0.1", port});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    address_ = HostPort{"127.0.0.1", endpoint->port()};
  }

  void StopServer() {
    if (server_) server_->Stop();
    if (threads_) threads_->Stop();  // no connection runs any more when the server goes
    server_.reset();
    threads_.reset();
  }

  std::unique_ptr<BlockingChannel> Connect() {
    auto channel = BlockingChannel::Connect(address_, 2s);
    EXPECT_TRUE(channel.ok()) << channel.status().ToString();
    return channel.ok() ? std::move(*channel) : nullptr;
  }

  std::unique_ptr<IoContextPool> threads_;
  std::unique_ptr<RpcServer> server_;
  HostPort address_;
};

TEST_F(BlockingChannelTest, RoundTripsAndErrorRepliesKeepTheConnection) {
  auto channel = Connect();
  ASSERT_TRUE(channel);
  for (int i = 0; i < 50; ++i) {
    auto reply = channel->Call(kEcho, "hello " + std::to_string(i), 2s);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(*reply, "hello " + std::to_string(i));
  }
  auto failed = channel->Call(kFail, "", 2s);
  EXPECT_EQ(failed.status().code(), Code::kNotFound);
  EXPECT_EQ(failed.status().message(), "no such thing");
  EXPECT_EQ(channel->Call(99, "", 2s).status().code(), Code::kNotSupported);
  EXPECT_TRUE(channel->usable());
  auto empty = channel->Call(kEcho, "", 2s);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(BlockingChannelTest, PollingCallsGetFastAndSlowReplies) {
  auto channel = Connect();
  ASSERT_TRUE(channel);
  for (int i = 0; i < 50; ++i) {  // answered while the caller polls, most of the time
    auto reply = channel->Call(kEcho, "fast " + std::to_string(i), 2s, 200us);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(*reply, "fast " + std::to_string(i));
  }
  // Answered long after the polling gave up: the caller sleeps and still gets it.
  auto slow = channel->Call(kSleep, "30", 2s, 50us);
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_EQ(*slow, "late");
  // A reply bigger than the receive buffer, partly taken while polling.
  auto big = channel->Call(kRepeat, "100000", 2s, 1000us);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(*big, std::string(100000, 'x'));
  // Timeouts still hold when polling.
  EXPECT_EQ(channel->Call(kSleep, "500", 50ms, 20us).status().code(), Code::kTimeout);
}

TEST_F(BlockingChannelTest, BodiesLargerThanTheBuffersOnBothSides) {
  auto channel = Connect();
  ASSERT_TRUE(channel);
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  auto echoed = channel->Call(kEcho, big, 5s);
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
  EXPECT_EQ(*echoed, big);
  auto repeated = channel->Call(kRepeat, "1000000", 5s);
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_EQ(*repeated, std::string(1000000, 'x'));
  // And small calls still work after the buffers grew.
  EXPECT_EQ(*channel->Call(kEcho, "small", 2s), "small");
}

TEST_F(BlockingChannelTest, TimeoutBreaksTheConnection) {
  auto channel = Connect();
  ASSERT_TRUE(channel);
  auto slow = channel->Call(kSleep, "500", 50ms);
  EXPECT_EQ(slow.status().code(), Code::kTimeout) << slow.status().ToString();
  EXPECT_FALSE(channel->usable());
  // The late reply can never be mistaken for the answer to another call.
  EXPECT_EQ(channel->Call(kEcho, "x", 2s).status().code(), Code::kUnavailable);
}

TEST_F(BlockingChannelTest, ReplyWithPayloadIsAProtocolError) {
  IoThreads io(1);
  RpcServer payload_server(io.context());
  payload_server.Register(kPayload, [](RpcRequest&) -> Task<RpcReply> {
    static const std::array<std::byte, 16> data{};
    RpcReply reply;
    reply.payload.emplace_back(data.data(), data.size());
    co_return reply;
  });
  auto endpoint = payload_server.Listen(HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(endpoint.ok());
  auto channel = BlockingChannel::Connect(HostPort{"127.0.0.1", endpoint->port()}, 2s);
  ASSERT_TRUE(channel.ok());
  auto reply = (*channel)->Call(kPayload, "", 2s);
  EXPECT_EQ(reply.status().code(), Code::kProtocolError) << reply.status().ToString();
  EXPECT_FALSE((*channel)->usable());
  payload_server.Stop();
  io.Stop();
}

TEST_F(BlockingChannelTest, ConnectToAClosedPortFails) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // bound once, now nobody listens there
  auto channel = BlockingChannel::Connect(HostPort{"127.0.0.1", ntohs(addr.sin_port)}, 1s);
  EXPECT_EQ(channel.status().code(), Code::kUnavailable) << channel.status().ToString();
  EXPECT_EQ(BlockingChannel::Connect(HostPort{"no-such-host.invalid", 1}, 1s).status().code(), Code::kUnavailable);
}

TEST_F(BlockingChannelTest, PoolServesManyThreadsAndSurvivesAServerRestart) {
  BlockingChannelPool pool(address_, 2s);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto reply = pool.Call(kEcho, body, 5s);
        if (!reply.ok() || *reply != body) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  uint16_t port = address_.port;
  StopServer();
  StartServer(port);
  std::this_thread::sleep_for(100ms);  // idle long enough that the pool checks before lending
  auto reply = pool.Call(kEcho, "after restart", 2s);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(*reply, "after restart");

  pool.CloseAll();
  EXPECT_EQ(pool.Call(kEcho, "x", 2s).status().code(), Code::kCancelled);
}

TEST_F(BlockingChannelTest, BufferedServerAnswersPipelinedCallsInOrder) {
  IoThreads io(2);
  auto channel = run_blocking(io.executor(), RpcChannel::Connect(io.executor(), address_, 2s));
  ASSERT_TRUE(channel.ok()) << channel.status().ToString();
  constexpr int kCalls = 300;
  std::vector<std::future<Result<RpcResponse>>> replies;
  for (int i = 0; i < kCalls; ++i) {
    replies.push_back(
        asio::co_spawn(io.executor(), (*channel)->Call(kEcho, "call " + std::to_string(i), {}), asio::use_future));
  }
  for (int i = 0; i < kCalls; ++i) {
    auto reply = replies[i].get();
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "call " + std::to_string(i));
  }
  (*channel)->Close();
  io.Stop();
}

// A raw TCP connection to the test server, for byte-level tests.
int raw_connect(const HostPort& address) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(address.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string request_bytes(uint64_t id, const std::string& body) {
  FrameHeader header;
  header.method = kEcho;
  header.request_id = id;
  header.body_len = static_cast<uint32_t>(body.size());
  auto bytes = encode_frame_header(header);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()) + body;
}

// Property: however the stream of frames is cut into segments, the buffered server answers each
// frame once, in order, with its own body.
TEST_F(BlockingChannelTest, BufferedServerReassemblesFramesCutAnywhere) {
  std::mt19937 random(20261123);
  for (int round = 0; round < 20; ++round) {
    int fd = raw_connect(address_);
    std::string stream;
    std::vector<std::string> bodies;
    int frames = 1 + static_cast<int>(random() % 40);
    for (int i = 0; i < frames; ++i) {
      bodies.push_back(std::string(random() % 3000, static_cast<char>('a' + i % 26)));
      stream += request_bytes(static_cast<uint64_t>(i + 1), bodies.back());
    }
    for (size_t at = 0; at < stream.size();) {
      size_t n = std::min<size_t>(stream.size() - at, 1 + random() % 700);
      ASSERT_EQ(::send(fd, stream.data() + at, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
      at += n;
      if (random() % 4 == 0) std::this_thread::sleep_for(1ms);  // let the server see a partial frame
    }
    for (int i = 0; i < frames; ++i) {
      std::array<std::byte, kFrameHeaderSize> raw;
      ASSERT_EQ(::recv(fd, raw.data(), raw.size(), MSG_WAITALL), static_cast<ssize_t>(raw.size()));
      auto header = decode_frame_header(raw, FrameLimits{});
      ASSERT_TRUE(header.ok()) << header.status().ToString();
      EXPECT_TRUE(header->is_response());
      EXPECT_EQ(header->request_id, static_cast<uint64_t>(i + 1));
      std::string body(header->body_len, '\0');
      if (!body.empty())
        ASSERT_EQ(::recv(fd, body.data(), body.size(), MSG_WAITALL), static_cast<ssize_t>(body.size()));
      EXPECT_EQ(body, bodies[i]);
    }
    ::close(fd);
  }
}

TEST_F(BlockingChannelTest, BufferedServerClosesOnAPayloadOrGarbage) {
  for (bool garbage : {false, true}) {
    int fd = raw_connect(address_);
    std::string bytes;
    if (garbage) {
      bytes = std::string(64, 'G');
    } else {
      FrameHeader header;
      header.method = kEcho;
      header.request_id = 1;
      header.payload_len = 10;  // this server takes no payloads
      auto raw = encode_frame_header(header);
      bytes.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
      bytes += std::string(10, 'p');
    }
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    char c;
    EXPECT_EQ(::recv(fd, &c, 1, 0), 0) << "the server must close the connection without a reply";
    ::close(fd);
  }
  // The server still serves others.
  auto channel = Connect();
  ASSERT_TRUE(channel);
  EXPECT_EQ(*channel->Call(kEcho, "still here", 2s), "still here");
}

}  // namespace
}  // namespace zcfs
