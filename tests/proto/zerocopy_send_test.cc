// MSG_ZEROCOPY sends over real loopback TCP (with zerocopy forced on: by default it is off for loopback
// peers, where the kernel copies anyway). Frames above and below the threshold, payloads in several
// pieces, partial sends through tiny socket buffers, many frames in flight, and a reader that goes away
// mid-transfer: the bytes must arrive intact and every keepalive must be released in the end.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "zcfs/proto/frame_writer.h"
#include "zcfs/proto/gather.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rpc_channel.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr size_t kThreshold = 64 * 1024;

// Polls `done` until it holds; gives up after a minute (a hang guard, not a timing assertion).
template <typename F>
bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::shared_ptr<std::vector<std::byte>> pattern(size_t n, size_t seed) {
  auto v = std::make_shared<std::vector<std::byte>>(n);
  for (size_t i = 0; i < n; ++i) v->at(i) = static_cast<std::byte>((i * 7 + seed * 13 + (i >> 12)) % 251);
  return v;
}

FrameWriterOptions forced_zerocopy(uint32_t copied_limit = 0) {
  return FrameWriterOptions{.zerocopy_threshold = kThreshold,
                            .zerocopy_loopback = true,
                            .zerocopy_copied_limit = copied_limit,
                            .counters = std::make_shared<ZerocopyCounters>()};
}

// The sending side: a socket and its writer, on a single-threaded io_context.
struct Sender : std::enable_shared_from_this<Sender> {
  Sender(tcp::socket s, FrameWriterOptions options) : socket(std::move(s)), writer(socket, std::move(options)) {}
  tcp::socket socket;
  FrameWriter writer;
  std::atomic<int> errors{0};
};

class FrameWriterZerocopyTest : public ::testing::Test {
 protected:
  // Connects a blocking reader to a Sender. Small buffers (bytes, 0 = default) force partial sends.
  void Connect(FrameWriterOptions options, int send_buffer = 0, int receive_buffer = 0) {
    counters_ = options.counters;
    tcp::acceptor acceptor(io_.context(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    reader_.open(tcp::v4());
    if (receive_buffer > 0) reader_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    reader_.connect(acceptor.local_endpoint());
    tcp::socket accepted(io_.context());
    acceptor.accept(accepted);
    if (send_buffer > 0) accepted.set_option(asio::socket_base::send_buffer_size(send_buffer));
    sender_ = std::make_shared<Sender>(std::move(accepted), std::move(options));
  }

  void TearDown() override {
    boost::system::error_code ec;
    reader_.close(ec);
    if (sender_) {
      asio::post(io_.context(), [s = sender_] {
        boost::system::error_code ignored;
        s->socket.close(ignored);
      });
    }
    EXPECT_TRUE(eventually([&] { return sender_.use_count() == 1; })) << "the writer still holds its owner";
    sender_.reset();
    io_.Stop();
  }

  // Frame i: body "frame <i>", payload `sizes[i]` bytes from its own buffer, in up to three pieces.
  void SendAll(const std::vector<size_t>& sizes) {
    size_t base = buffers_.size();
    for (size_t i = 0; i < sizes.size(); ++i) buffers_.push_back(pattern(sizes[i], base + i));
    std::vector<std::shared_ptr<std::vector<std::byte>>> batch(buffers_.begin() + base, buffers_.end());
    asio::post(io_.context(), [s = sender_, batch, base] {
      for (size_t i = 0; i < batch.size(); ++i) {
        OutgoingFrame frame;
        frame.header.method = 7;
        frame.header.request_id = base + i;
        frame.body = "frame " + std::to_string(base + i);
        const auto& data = *batch[i];
        size_t cut1 = data.size() / 3, cut2 = data.size() - data.size() / 5;
        frame.payload = {asio::buffer(data.data(), cut1), asio::buffer(data.data() + cut1, cut2 - cut1),
                         asio::buffer(data.data() + cut2, data.size() - cut2)};
        frame.keepalive = batch[i];
        s->writer.Send(std::move(frame), s, [s](const boost::system::error_code&) {
          s->errors++;
          boost::system::error_code ignored;
          s->socket.close(ignored);
        });
      }
    });
  }

  // Reads frame `index` and checks every byte of it.
  void ExpectFrame(size_t index) {
    FrameHeaderBytes raw;
    asio::read(reader_, asio::buffer(raw));
    auto header = decode_frame_header(raw, FrameLimits{1 << 20, 64 << 20});
    ASSERT_TRUE(header.ok()) << header.status().ToString();
    ASSERT_EQ(header->request_id, index);
    std::string body(header->body_len, '\0');
    asio::read(reader_, asio::buffer(body));
    EXPECT_EQ(body, "frame " + std::to_string(index));
    const auto& expected = *buffers_.at(index);
    ASSERT_EQ(header->payload_len, expected.size());
    std::vector<std::byte> payload(expected.size());
    asio::read(reader_, asio::buffer(payload));
    ASSERT_TRUE(payload == expected) << "payload of frame " << index << " differs";
  }

  bool AllReleased() {
    return std::all_of(buffers_.begin(), buffers_.end(), [](const auto& b) { return b.use_count() == 1; });
  }

  IoThreads io_{1};
  asio::io_context reader_io_;
  tcp::socket reader_{reader_io_};
  std::shared_ptr<Sender> sender_;
  std::shared_ptr<ZerocopyCounters> counters_;
  std::vector<std::shared_ptr<std::vector<std::byte>>> buffers_;
};

TEST_F(FrameWriterZerocopyTest, IdenticalBytesAroundTheThresholdWithManyFramesInFlight) {
  Connect(forced_zerocopy());
  std::vector<size_t> sizes;
  for (int round = 0; round < 6; ++round) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, kThreshold - 1, kThreshold, kThreshold + 1, size_t{1} << 20,
                     (size_t{3} << 20) + 5}) {
      sizes.push_back(n);
    }
  }
  SendAll(sizes);
  for (size_t i = 0; i < sizes.size(); ++i) ASSERT_NO_FATAL_FAILURE(ExpectFrame(i));
  size_t large = std::count_if(sizes.begin(), sizes.end(), [](size_t n) { return n >= kThreshold; });
  EXPECT_EQ(counters_->frames.load(), large);
  EXPECT_GE(counters_->sends.load(), large);
  EXPECT_TRUE(eventually([&] { return AllReleased(); })) << "keepalives held after every completion";
  EXPECT_GT(counters_->notices.load(), 0u);
  EXPECT_EQ(sender_->errors.load(), 0);
}

TEST_F(FrameWriterZerocopyTest, PartialSendsThroughTinySocketBuffers) {
  // A tiny send buffer only: with a receive window below the MSS as well, this kernel (6.18) was seen
  // to stall a zerocopy segment it would have to split for the window, so the reader keeps its default.
  Connect(forced_zerocopy(), /*send_buffer=*/4096);
  std::vector<size_t> sizes = {(size_t{1} << 20) + 7, 100, (size_t{2} << 20) + 3, kThreshold, 3, size_t{1} << 20};
  SendAll(sizes);
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i % 2 == 0) std::this_thread::sleep_for(5ms);  // a slow reader: the sender's buffer fills up
    ASSERT_NO_FATAL_FAILURE(ExpectFrame(i));
  }
  EXPECT_EQ(counters_->frames.load(), 4u);
  EXPECT_GT(counters_->sends.load(), 4u) << "a 1 MiB payload cannot fit a 4 KiB buffer in one send";
  EXPECT_TRUE(eventually([&] { return AllReleased(); }));
}

TEST_F(FrameWriterZerocopyTest, ReaderGoneMidTransferReleasesEverything) {
  Connect(forced_zerocopy(), /*send_buffer=*/16384);
  std::vector<size_t> sizes(24, size_t{2} << 20);
  SendAll(sizes);
  std::vector<std::byte> some(300000);
  asio::read(reader_, asio::buffer(some));
  reader_.close();  // with unread data: the sender gets a reset
  EXPECT_TRUE(eventually([&] { return sender_->errors.load() == 1; })) << "the writer did not report the failure";
  EXPECT_TRUE(eventually([&] { return AllReleased(); })) << "memory held after the connection died";
  EXPECT_GT(counters_->frames.load(), 0u);
  // The sender's thread is still serving.
  std::promise<bool> alive;
  asio::post(io_.context(), [&] { alive.set_value(true); });
  EXPECT_TRUE(alive.get_future().get());
}

TEST_F(FrameWriterZerocopyTest, OffByDefaultForLoopbackPeers) {
  Connect(FrameWriterOptions{.zerocopy_threshold = kThreshold, .counters = std::make_shared<ZerocopyCounters>()});
  SendAll({size_t{1} << 20, 10});
  ASSERT_NO_FATAL_FAILURE(ExpectFrame(0));
  ASSERT_NO_FATAL_FAILURE(ExpectFrame(1));
  EXPECT_EQ(counters_->frames.load(), 0u);
  EXPECT_EQ(counters_->sends.load(), 0u);
  EXPECT_TRUE(AllReleased());
}

// Loopback delivery makes the kernel copy every zerocopy send and say so: after `copied_limit` such
// notices in a row the socket goes back to plain sends.
TEST_F(FrameWriterZerocopyTest, KernelCopiesTurnZerocopyOff) {
  Connect(forced_zerocopy(/*copied_limit=*/2));
  SendAll({size_t{1} << 20, size_t{1} << 20, size_t{1} << 20});
  for (size_t i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(ExpectFrame(i));
  ASSERT_TRUE(eventually([&] { return AllReleased(); }));
  if (counters_->copied.load() < 2) GTEST_SKIP() << "this kernel did not report copied loopback zerocopy sends";
  EXPECT_EQ(counters_->turned_off.load(), 1u);
  uint64_t frames = counters_->frames.load();
  SendAll({size_t{1} << 20});
  ASSERT_NO_FATAL_FAILURE(ExpectFrame(3));
  EXPECT_EQ(counters_->frames.load(), frames) << "zerocopy used after the socket turned it off";
}

// The storage server's shape: an RpcServer answering with payloads from shared memory.
class RpcServerZerocopyTest : public ::testing::Test {
 protected:
  static constexpr uint16_t kRead = 1;  // replies with body-as-size bytes of `data_`

  void SetUp() override {
    server_ = std::make_unique<RpcServer>(server_io_.context());
    server_->SetWriterOptions(forced_zerocopy());
    server_->Register(kRead, [this](RpcRequest& req) -> Task<RpcReply> {
      RpcReply reply;
      reply.payload.emplace_back(data_->data(), std::stoul(req.body));
      reply.keepalive = data_;
      co_return reply;
    });
    auto endpoint = server_->Listen(HostPort{"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    address_ = HostPort{"127.0.0.1", endpoint->port()};
  }
  void TearDown() override {
    server_->Stop();
    eventually([&] { return server_->connection_count() == 0; });
    server_io_.Stop();
    client_io_.Stop();
  }

  Result<RpcResponse> Read(RpcChannel& channel, size_t n, std::vector<std::byte>& dst) {
    dst.assign(n, std::byte{0});
    CallOptions options;
    options.placement = [&dst](const FrameHeader&, std::string_view) -> Result<std::vector<asio::mutable_buffer>> {
      return std::vector<asio::mutable_buffer>{asio::buffer(dst)};
    };
    return run_blocking(client_io_.executor(), channel.Call(kRead, std::to_string(n), std::move(options)));
  }

  std::shared_ptr<std::vector<std::byte>> data_ = pattern(8 << 20, 1);
  IoThreads server_io_{2};
  IoThreads client_io_{1};
  std::unique_ptr<RpcServer> server_;
  HostPort address_;
};

TEST_F(RpcServerZerocopyTest, RepliesIntactAndServerSurvivesAReaderThatLeaves) {
  // A client that asks for 32 MiB of replies, reads a little and disconnects.
  {
    asio::io_context ctx;
    tcp::socket raw(ctx);
    raw.open(tcp::v4());
    raw.connect(tcp::endpoint(asio::ip::make_address(address_.host), address_.port));
    for (uint64_t id = 1; id <= 8; ++id) {
      std::string body = std::to_string(4 << 20);
      FrameHeader h;
      h.method = kRead;
      h.request_id = id;
      h.body_len = static_cast<uint32_t>(body.size());
      FrameHeaderBytes bytes = encode_frame_header(h);
      asio::write(raw, std::vector<asio::const_buffer>{asio::buffer(bytes), asio::buffer(body)});
    }
    std::vector<std::byte> some(100000);
    asio::read(raw, asio::buffer(some));
  }
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 0; })) << "the server kept a dead connection";
  EXPECT_TRUE(eventually([&] { return data_.use_count() == 1; })) << "reply memory held after the reader left";

  auto channel = run_blocking(client_io_.executor(), RpcChannel::Connect(client_io_.executor(), address_, 5s));
  ASSERT_TRUE(channel.ok()) << channel.status().ToString();
  for (size_t n : {size_t{1}, kThreshold - 1, kThreshold, size_t{1} << 20, size_t{8} << 20}) {
    std::vector<std::byte> dst;
    auto r = Read(**channel, n, dst);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->payload_len, n);
    EXPECT_TRUE(std::equal(dst.begin(), dst.end(), data_->begin())) << n << " bytes";
  }
  EXPECT_GE(server_->zerocopy_counters().frames.load(), 4u);
  (*channel)->Close();
  EXPECT_TRUE(eventually([&] { return data_.use_count() == 1; }));
}

}  // namespace
}  // namespace zcfs
