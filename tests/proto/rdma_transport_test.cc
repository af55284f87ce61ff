// What only the RDMA transport has: credit-based flow control, QP errors, completion errors and slow
// completions injected by the emulated fabric, the message size limit, and a reply payload that does not
// fit the memory the call named. Client and server run in this process on one emulated fabric.
#include "zcfs/proto/rdma/rdma_transport.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "zcfs/proto/gather.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rdma/emulated_verbs.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kEcho = 1;   // reply body = request body
constexpr uint16_t kBytes = 2;  // replies with a payload of body-as-size bytes of 0x5a
constexpr uint16_t kHold = 3;   // replies after body-as-ms

CallOptions with_timeout(std::chrono::milliseconds timeout) {
  CallOptions options;
  options.timeout = timeout;
  return options;
}

class RdmaTransportTest : public ::testing::Test {
 protected:
  void Start(RdmaOptions options = {}) {
    server_ = std::make_unique<RpcServer>(server_io_.context());
    server_->Register(kEcho, [](RpcRequest& req) -> Task<RpcReply> {
      RpcReply reply;
      reply.body = req.body;
      co_return reply;
    });
    server_->Register(kBytes, [](RpcRequest& req) -> Task<RpcReply> {
      auto data = std::make_shared<std::vector<std::byte>>(std::stoul(req.body), std::byte{0x5a});
      RpcReply reply;
      reply.payload.emplace_back(data->data(), data->size());
      reply.keepalive = data;
      co_return reply;
    });
    server_->Register(kHold, [](RpcRequest& req) -> Task<RpcReply> {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(std::stoi(req.body)));
      co_await timer.async_wait(asio::use_awaitable);
      co_return RpcReply{};
    });
    auto rdma_server = RdmaServer::Create(*server_, std::move(fabric_.OpenDevice("server")).value(), options);
    ASSERT_TRUE(rdma_server.ok()) << rdma_server.status().ToString();
    rdma_server_ = std::move(*rdma_server);
    auto transport =
        RdmaTransport::Create(client_io_.executor(), std::move(fabric_.OpenDevice("client")).value(), options);
    ASSERT_TRUE(transport.ok()) << transport.status().ToString();
    transport_ = std::move(*transport);
    auto endpoint = server_->Listen(HostPort{"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok());
    peer_ = "127.0.0.1:" + std::to_string(endpoint->port());
    auto channel = run_blocking(client_io_.executor(), transport_->Channel(peer_));
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    channel_ = *channel;
  }

  void TearDown() override {
    channel_.reset();
    transport_.reset();
    if (rdma_server_) rdma_server_->Stop();
    if (server_) server_->Stop();
    server_io_.Stop();
    client_io_.Stop();
  }

  Result<RpcResponse> Call(uint16_t method, std::string body, CallOptions options = {}) {
    return run_blocking(client_io_.executor(), channel_->Call(method, std::move(body), std::move(options)));
  }

  rdma::EmulatedFabric fabric_;
  IoThreads server_io_{2};
  IoThreads client_io_{2};
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RdmaServer> rdma_server_;
  std::unique_ptr<RdmaTransport> transport_;
  std::string peer_;
  std::shared_ptr<RpcChannel> channel_;
};

TEST_F(RdmaTransportTest, TwoCreditsCarryHundredsOfConcurrentCalls) {
  // Senders keep running out of credits in both directions; credit returns must keep them going.
  RdmaOptions options;
  options.credits = 2;
  Start(options);
  std::vector<Task<Result<RpcResponse>>> calls;
  for (int i = 0; i < 300; ++i) calls.push_back(channel_->Call(kEcho, std::to_string(i), {}));
  auto results = run_blocking(client_io_.executor(), gather(client_io_.executor(), std::move(calls)));
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    EXPECT_EQ(results[i]->body, std::to_string(i));
  }
}

TEST_F(RdmaTransportTest, QpErrorFailsPendingCallsAndANewChannelServes) {
  Start();
  auto pending =
      asio::co_spawn(client_io_.executor(), channel_->Call(kHold, "30000", with_timeout(60s)), asio::use_future);
  ASSERT_TRUE(Call(kEcho, "the held call is on the server").ok());
  for (uint32_t qp : fabric_.qp_numbers()) ASSERT_TRUE(fabric_.ForceError(qp).ok());
  auto r = pending.get();
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_FALSE(channel_->is_open());
  auto fresh = run_blocking(client_io_.executor(), transport_->Channel(peer_));
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_NE(*fresh, channel_);
  channel_ = *fresh;
  auto after = Call(kEcho, "again");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->body, "again");
}

TEST_F(RdmaTransportTest, FailedCompletionClosesTheChannelWithTheVerbsStatus) {
  Start();
  ASSERT_TRUE(Call(kEcho, "warm").ok());
  for (uint32_t qp : fabric_.qp_numbers()) ASSERT_TRUE(fabric_.FailNext(qp, 1, rdma::WcStatus::kRetryExcErr).ok());
  auto r = Call(kEcho, "lost", with_timeout(30s));
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("IBV_WC_RETRY_EXC_ERR"), std::string::npos) << r.status().ToString();
}

TEST_F(RdmaTransportTest, SlowCompletionsStillDeliverRepliesInPlace) {
  Start();
  for (uint32_t qp : fabric_.qp_numbers()) ASSERT_TRUE(fabric_.SetDelay(qp, 3ms).ok());
  std::vector<std::byte> dst(1 << 20);
  CallOptions options;
  options.reply_segments.emplace_back(dst.data(), dst.size());
  auto r = Call(kBytes, std::to_string(dst.size()), std::move(options));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(dst, std::vector<std::byte>(dst.size(), std::byte{0x5a}));
}

TEST_F(RdmaTransportTest, BodyLargerThanAMessageIsRefusedClearly) {
  RdmaOptions options;
  options.message_size = 4096;
  Start(options);
  auto r = Call(kEcho, std::string(8000, 'x'));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("message_size"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(Call(kEcho, "small").ok()) << "the channel still serves";
}

TEST_F(RdmaTransportTest, ReplyPayloadThatDoesNotFitTheNamedMemoryIsAnError) {
  Start();
  std::vector<std::byte> dst(1000);
  CallOptions options;
  options.reply_segments.emplace_back(dst.data(), dst.size());
  auto r = Call(kBytes, "4096", std::move(options));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  auto none = Call(kBytes, "10");  // no memory named at all
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument) << none.status().ToString();
  EXPECT_EQ(dst, std::vector<std::byte>(1000)) << "nothing was written";
}

TEST_F(RdmaTransportTest, ServerStopSaysGoodbye) {
  Start();
  ASSERT_TRUE(Call(kEcho, "hello").ok());
  EXPECT_EQ(rdma_server_->connection_count(), 1u);
  rdma_server_->Stop();
  auto r = Call(kEcho, "after stop", with_timeout(30s));
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

// A client that goes away without a goodbye (its QP in ERROR, its control connection closed, as when
// its process dies) is forgotten by the server: the server's side of the connection does not linger
// until the server next sends on it.
TEST_F(RdmaTransportTest, AClientGoneWithoutAGoodbyeIsForgotten) {
  Start();
  ASSERT_TRUE(Call(kEcho, "hello").ok());
  ASSERT_EQ(rdma_server_->connection_count(), 1u);
  const uint32_t client_qp = fabric_.qp_numbers().front();  // the client's QP is made before the handshake
  ASSERT_TRUE(fabric_.ForceError(client_qp).ok());
  const auto deadline = std::chrono::steady_clock::now() + 30s;  // generous: a hang is what is looked for
  while (rdma_server_->connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(rdma_server_->connection_count(), 0u) << "the server kept the connection of a client that is gone";
}

// An RDMA connection lives on the I/O thread of its TCP control connection, so a server on two I/O
// threads serves two connections on two threads instead of putting every RDMA connection on one.
TEST(RdmaServerThreadsTest, EachConnectionLivesOnItsControlConnectionsThread) {
  rdma::EmulatedFabric fabric;
  IoContextPool server_threads(2);
  RpcServer server(server_threads);
  std::mutex mutex;
  std::set<std::thread::id> serving;
  server.Register(kEcho, [&](RpcRequest& req) -> Task<RpcReply> {
    {
      std::lock_guard lock(mutex);
      serving.insert(std::this_thread::get_id());
    }
    RpcReply reply;
    reply.body = req.body;
    co_return reply;
  });
  auto rdma_server = RdmaServer::Create(server, std::move(fabric.OpenDevice("server")).value());
  ASSERT_TRUE(rdma_server.ok()) << rdma_server.status().ToString();
  auto endpoint = server.Listen(HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(endpoint.ok());
  const std::string peer = "127.0.0.1:" + std::to_string(endpoint->port());
  IoThreads client_io{1};
  auto transport = RdmaTransport::Create(client_io.executor(), std::move(fabric.OpenDevice("client")).value());
  ASSERT_TRUE(transport.ok()) << transport.status().ToString();
  for (size_t lane = 0; lane < 2; ++lane) {
    auto reply = run_blocking(client_io.executor(), [&]() -> Task<Result<RpcResponse>> {
      auto channel = co_await (*transport)->Channel(peer, lane);
      if (!channel.ok()) co_return channel.status();
      co_return co_await (*channel)->Call(kEcho, "lane " + std::to_string(lane), with_timeout(5s));
    }());
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "lane " + std::to_string(lane));
  }
  EXPECT_EQ(serving.size(), 2u) << "both RDMA connections were served on one thread";
  transport->reset();
  (*rdma_server)->Stop();
  server.Stop();
  server_threads.Stop();
  client_io.Stop();
}

}  // namespace
}  // namespace zcfs
