// The same tests for every Transport: TCP over loopback, and RDMA on the emulated fabric (client and
// server in this process). Calls, concurrent calls, payloads both ways landing in the caller's
// registered memory with no user-space copy, errors, timeouts, a dead peer, bad region ids; then the
// RDMA-only cases: QP errors, credits, message size.
#include <gtest/gtest.h>

#include "zcfs/common/copy_counter.h"
#include "zcfs/proto/gather.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rdma/emulated_verbs.h"
#include "zcfs/proto/rdma/rdma_transport.h"
#include "zcfs/proto/rpc_server.h"
#include "zcfs/proto/tcp_transport.h"

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

RpcReply payload_reply(std::shared_ptr<std::vector<std::byte>> data) {
  RpcReply reply;
  reply.payload.emplace_back(data->data(), data->size());
  reply.keepalive = std::move(data);
  return reply;
}

void register_handlers(RpcServer& server) {
  server.Register(kEcho, [](RpcRequest& req) -> Task<RpcReply> {
    auto owned = std::make_shared<AlignedBuffer>(std::move(req.payload_buffer));
    RpcReply reply;
    reply.body = req.body;
    if (req.payload_len > 0) {
      reply.payload.emplace_back(owned->data() + req.payload_offset, req.payload_len);
      reply.keepalive = owned;
    }
    co_return reply;
  });
  server.Register(kSleep, [](RpcRequest& req) -> Task<RpcReply> {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(std::stoi(req.body)));
    co_await timer.async_wait(asio::use_awaitable);
    co_return payload_reply(std::make_shared<std::vector<std::byte>>(pattern(64 << 10)));
  });
  server.Register(kFail, [](RpcRequest&) -> Task<RpcReply> {
    co_return RpcReply::FromStatus(Error(Code::kNotFound, "no such thing"));
  });
  server.Register(kPattern, [](RpcRequest& req) -> Task<RpcReply> {
    co_return payload_reply(std::make_shared<std::vector<std::byte>>(pattern(std::stoul(req.body))));
  });
  server.SetPayloadOffset([](uint16_t, std::string_view body) { return body.size(); });
}

class TransportConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Start(); }

  void Start(RdmaOptions rdma_options = {}) {
    server_ = std::make_unique<RpcServer>(server_io_.context(), FrameLimits{1 << 20, 64 << 20});
    register_handlers(*server_);
    if (rdma()) {
      fabric_ = std::make_unique<rdma::EmulatedFabric>();
      auto rdma_server = RdmaServer::Create(*server_, std::move(fabric_->OpenDevice("server")).value(), rdma_options);
      ASSERT_TRUE(rdma_server.ok()) << rdma_server.status().ToString();
      rdma_server_ = std::move(*rdma_server);
      auto transport =
          RdmaTransport::Create(client_io_.executor(), std::move(fabric_->OpenDevice("client")).value(), rdma_options);
      ASSERT_TRUE(transport.ok()) << transport.status().ToString();
      transport_ = std::move(*transport);
    } else {
      transport_ = std::make_unique<TcpTransport>(client_io_.executor());
    }
    auto endpoint = server_->Listen(HostPort{"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    peer_ = "127.0.0.1:" + std::to_string(endpoint->port());
    channel_ = Channel();
    ASSERT_NE(channel_, nullptr);
  }

  void TearDown() override { Stop(); }

  void Stop() {
    channel_.reset();
    transport_.reset();
    if (rdma_server_) rdma_server_->Stop();
    if (server_) server_->Stop();
    server_io_.Stop();
    client_io_.Stop();
    rdma_server_.reset();
  }

  bool rdma() const { return GetParam() == "rdma"; }

  std::shared_ptr<RpcChannel> Channel() {
    auto channel = run_blocking(client_io_.executor(), transport_->Channel(peer_));
    EXPECT_TRUE(channel.ok()) << channel.status().ToString();
    return channel.ok() ? *channel : nullptr;
  }

  Result<RpcResponse> Call(uint16_t method, std::string body, CallOptions options = {}) {
    return run_blocking(client_io_.executor(), channel_->Call(method, std::move(body), std::move(options)));
  }

  // The reply payload goes to `dst` on any transport: TCP places it when the reply comes, RDMA names
  // the memory to the server up front.
  static CallOptions Into(std::span<std::byte> dst) {
    CallOptions options;
    options.placement = [dst](const FrameHeader& h, std::string_view) -> Result<std::vector<asio::mutable_buffer>> {
      if (h.payload_len > dst.size()) return Error(Code::kOutOfRange, "reply larger than the buffer");
      return std::vector<asio::mutable_buffer>{asio::buffer(dst.data(), h.payload_len)};
    };
    options.reply_segments.emplace_back(dst.data(), dst.size());
    return options;
  }

  IoThreads server_io_{2};
  IoThreads client_io_{2};
  std::unique_ptr<rdma::EmulatedFabric> fabric_;  // before what is opened on it
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RdmaServer> rdma_server_;
  std::unique_ptr<Transport> transport_;
  std::string peer_;
  std::shared_ptr<RpcChannel> channel_;
};

TEST_P(TransportConformanceTest, CallReturnsTheReplyBody) {
  auto r = Call(kEcho, "hello");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->payload_len, 0u);
  EXPECT_EQ(transport_->name(), GetParam());
}

TEST_P(TransportConformanceTest, ErrorRepliesKeepTheirCodeAndMessage) {
  auto r = Call(kFail, "");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no such thing");
  auto unknown = Call(77, "");
  EXPECT_EQ(unknown.status().code(), Code::kNotSupported) << unknown.status().ToString();
}

TEST_P(TransportConformanceTest, ManyConcurrentCallsAllGetTheirOwnReply) {
  std::vector<Task<Result<RpcResponse>>> calls;
  for (int i = 0; i < 100; ++i) calls.push_back(channel_->Call(kEcho, "call " + std::to_string(i), {}));
  auto results = run_blocking(client_io_.executor(), gather(client_io_.executor(), std::move(calls)));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    EXPECT_EQ(results[i]->body, "call " + std::to_string(i));
  }
}

TEST_P(TransportConformanceTest, PayloadsTravelBothWaysIntoRegisteredMemoryWithoutUserCopies) {
  auto sent = pattern(300000, 5);
  std::vector<std::byte> memory(1 << 20, std::byte{0xee});
  auto region = transport_->RegisterMemory(memory.data(), memory.size());
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  auto dst = transport_->Resolve(region->id, 4096, sent.size());
  ASSERT_TRUE(dst.ok());
  CallOptions options = Into(*dst);
  options.payload.emplace_back(sent.data(), sent.size());
  uint64_t copies = user_copy_bytes();
  auto r = Call(kEcho, "with payload", std::move(options));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "with payload");
  EXPECT_EQ(r->payload_len, sent.size());
  EXPECT_TRUE(std::equal(sent.begin(), sent.end(), dst->begin()));
  EXPECT_EQ(memory[4095], std::byte{0xee}) << "bytes around the destination are untouched";
  EXPECT_EQ(memory[4096 + sent.size()], std::byte{0xee});
  EXPECT_EQ(user_copy_bytes(), copies);
  EXPECT_TRUE(transport_->DeregisterMemory(region->id).ok());
}

TEST_P(TransportConformanceTest, LargeReplyPayloadLandsInPlace) {
  std::vector<std::byte> dst(8 << 20);
  auto r = Call(kPattern, std::to_string(dst.size()), Into(dst));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->payload_len, dst.size());
  EXPECT_EQ(dst, pattern(dst.size()));
}

TEST_P(TransportConformanceTest, SlowCallTimesOutAndTheTransportStillServes) {
  std::vector<std::byte> dst(64 << 10);
  CallOptions options = Into(dst);
  options.timeout = 100ms;
  auto slow = Call(kSleep, "3000", std::move(options));
  EXPECT_EQ(slow.status().code(), Code::kTimeout) << slow.status().ToString();
  channel_ = Channel();  // the same channel (TCP) or a fresh one (RDMA closed it: the server held its memory)
  ASSERT_NE(channel_, nullptr);
  auto r = Call(kEcho, "after");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "after");
}

TEST_P(TransportConformanceTest, DeadPeerFailsPendingCallsAsUnavailable) {
  std::vector<std::byte> dst(64 << 10);
  CallOptions options = Into(dst);
  options.timeout = 60s;
  auto pending =
      asio::co_spawn(client_io_.executor(), channel_->Call(kSleep, "30000", std::move(options)), asio::use_future);
  ASSERT_TRUE(Call(kEcho, "the slow call was sent before this reply").ok());
  if (rdma_server_) rdma_server_->Stop();
  server_->Stop();
  auto r = pending.get();
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
}

TEST_P(TransportConformanceTest, BadRegionIdsAndRangesAreRefused) {
  std::vector<std::byte> memory(4096);
  auto region = transport_->RegisterMemory(memory.data(), memory.size());
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(transport_->Resolve(region->id + 1000, 0, 1).status().code(), Code::kBadHandle);
  EXPECT_EQ(transport_->Resolve(region->id, 4000, 100).status().code(), Code::kOutOfRange);
  EXPECT_EQ(transport_->RegisterMemory(nullptr, 10).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(transport_->DeregisterMemory(region->id).ok());
  EXPECT_EQ(transport_->DeregisterMemory(region->id).code(), Code::kBadHandle);
  EXPECT_EQ(transport_->Resolve(region->id, 0, 1).status().code(), Code::kBadHandle);
  if (rdma()) {
    EXPECT_NE(region->rkey, 0u);
  } else {
    EXPECT_EQ(region->rkey, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportConformanceTest, ::testing::Values("tcp", "rdma"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace zcfs
