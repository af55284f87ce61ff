// The copy contract of the TCP data path, checked in one process so that user_copy_bytes() sees both
// ends: batched reads (aligned or not, several pieces, plain or MSG_ZEROCOPY replies) land in the
// client's registered region with no byte of file data copied in user space - the storage server
// sends from the buffer its disk read filled, the client's receive loop reads into the destination
// the request named. The counter is not just silent: a write that covers part of a block makes the
// server merge it with the block's old bytes, and that copy shows up.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "storage_server/test_util.h"
#include "zcfs.pb.h"
#include "zcfs/common/copy_counter.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/tcp_transport.h"
#include "zcfs/storage/storage_service.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;
using testing::random_bytes;
using testing::ScratchDir;

constexpr uint32_t kTarget = 5;
constexpr uint32_t kChunkSize = 4 << 20;
constexpr uint64_t kInode = 0x5151;

struct Range {
  uint32_t offset;
  uint32_t length;
};

// Param: whether the server sends reply payloads with MSG_ZEROCOPY (forced on, loopback or not).
class DataPathCopyTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto io = UringBlockIo::Create(server_io_.executor(), {.queue_depth = 64, .buffer_count = 8});
    ASSERT_TRUE(io.ok()) << io.status().ToString();
    block_io_ = std::move(*io);
    auto target = StorageTarget::Open({.dir = dir_.path() + "/target"}, *block_io_);
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    target_ = std::move(*target);
    ASSERT_TRUE(target_->SetId(kTarget).ok());
    service_ = std::make_unique<StorageService>(server_io_.executor(), std::vector<StorageTarget*>{target_.get()});
    server_ = std::make_unique<RpcServer>(server_io_.context());
    if (GetParam()) {
      server_->SetWriterOptions({.zerocopy_threshold = 4096, .zerocopy_loopback = true, .zerocopy_copied_limit = 0});
    }
    service_->RegisterWith(*server_);
    auto endpoint = server_->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    peer_ = "127.0.0.1:" + std::to_string(endpoint->port());
  }
  void TearDown() override {
    transport_.CloseAll();
    server_->Stop();
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while ((server_->connection_count() > 0 || service_->active_requests() > 0) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(2ms);
    }
    server_io_.Stop();
    client_io_.Stop();
  }

  void Write(uint32_t offset, const std::vector<std::byte>& data) {
    pb::WriteChunkRequest request;
    request.set_inode(kInode);
    request.set_target_id(kTarget);
    request.set_offset(offset);
    request.set_chunk_size(kChunkSize);
    CallOptions options;
    options.payload.push_back(asio::buffer(data));
    auto reply = run_blocking(client_io_.executor(), [&]() -> Task<Result<pb::WriteChunkReply>> {
      auto channel = co_await transport_.Channel(peer_);
      if (!channel.ok()) co_return channel.status();
      co_return co_await CallPb<pb::WriteChunkReply>(**channel, method::kWriteChunk, request, std::move(options));
    }());
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  }

  // One BatchRead of `ranges` of the chunk into `dst`, back to back, the way the client reads: `dst`
  // is a registered region and the reply payload is placed through Resolve().
  void Read(const std::vector<Range>& ranges, std::vector<std::byte>& dst) {
    size_t total = 0;
    for (const Range& r : ranges) total += r.length;
    dst.assign(total, std::byte{0});
    auto region = transport_.RegisterMemory(dst.data(), dst.size());
    ASSERT_TRUE(region.ok()) << region.status().ToString();
    pb::BatchReadRequest request;
    std::vector<uint64_t> at;
    for (const Range& r : ranges) {
      auto* piece = request.add_pieces();
      piece->set_inode(kInode);
      piece->set_target_id(kTarget);
      piece->set_offset(r.offset);
      piece->set_length(r.length);
      piece->set_region_id(region->id);
      piece->set_region_offset(at.empty() ? 0 : at.back() + ranges[at.size() - 1].length);
      at.push_back(piece->region_offset());
    }
    CallOptions options;
    options.placement = [&](const FrameHeader&, std::string_view body) -> Result<std::vector<asio::mutable_buffer>> {
      pb::BatchReadReply reply;
      RETURN_IF_ERROR(ParseMessage(reply, body, "batch read reply"));
      std::vector<asio::mutable_buffer> out;
      for (int i = 0; i < reply.results_size(); ++i) {
        if (reply.results(i).status() != 0) return Error(Code::kInternal, reply.results(i).message());
        ASSIGN_OR_RETURN(auto span, transport_.Resolve(region->id, at[i], reply.results(i).length()));
        out.emplace_back(span.data(), span.size());
      }
      return out;
    };
    auto reply = run_blocking(client_io_.executor(), [&]() -> Task<Result<RpcResponse>> {
      auto channel = co_await transport_.Channel(peer_);
      if (!channel.ok()) co_return channel.status();
      co_return co_await (*channel)->Call(method::kBatchRead, request.SerializeAsString(), std::move(options));
    }());
    ASSERT_TRUE(transport_.DeregisterMemory(region->id).ok());
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->payload_len, total);
  }

  // The expected bytes of `ranges` of `chunk`, back to back.
  static std::vector<std::byte> Expected(const std::vector<std::byte>& chunk, const std::vector<Range>& ranges) {
    std::vector<std::byte> out;
    for (const Range& r : ranges) out.insert(out.end(), chunk.begin() + r.offset, chunk.begin() + r.offset + r.length);
    return out;
  }

  ScratchDir dir_;
  IoThreads server_io_{2};
  IoThreads client_io_{1};
  std::unique_ptr<UringBlockIo> block_io_;
  std::unique_ptr<StorageTarget> target_;
  std::unique_ptr<StorageService> service_;
  std::unique_ptr<RpcServer> server_;
  TcpTransport transport_{client_io_.executor()};
  std::string peer_;
};

TEST_P(DataPathCopyTest, NativeReadsCopyNothingWhilePartialBlockWritesAreCounted) {
  std::mt19937_64 rng(11);
  std::vector<std::byte> chunk = random_bytes(rng, 2 << 20);
  ASSERT_NO_FATAL_FAILURE(Write(0, chunk));  // whole blocks: nothing to merge

  const std::vector<std::vector<Range>> reads = {
      {{0, 2 << 20}},                                      // the whole chunk, one piece
      {{4096, 65536}, {1 << 20, 300000}},                  // aligned pieces
      {{1, 1}, {4097, 70001}, {(2 << 20) - 5, 5}},         // unaligned: widened to blocks and trimmed
      {{123456, 777}, {9, 4087}, {1500000, 131072 + 3}}};  // out of order
  uint64_t before = user_copy_bytes();
  for (const auto& ranges : reads) {
    std::vector<std::byte> dst;
    ASSERT_NO_FATAL_FAILURE(Read(ranges, dst));
    ASSERT_TRUE(dst == Expected(chunk, ranges)) << "a read returned wrong bytes";
  }
  EXPECT_EQ(user_copy_bytes(), before) << "a native read copied file data in user space";

  // 5000 bytes at 100: the first and last blocks are merged with their old bytes on the server.
  std::vector<std::byte> patch = random_bytes(rng, 5000);
  before = user_copy_bytes();
  ASSERT_NO_FATAL_FAILURE(Write(100, patch));
  EXPECT_GT(user_copy_bytes(), before) << "a partial-block write merged bytes without counting the copy";
  std::copy(patch.begin(), patch.end(), chunk.begin() + 100);

  before = user_copy_bytes();
  std::vector<std::byte> dst;
  ASSERT_NO_FATAL_FAILURE(Read({{0, 3 << 13}}, dst));
  EXPECT_TRUE(dst == Expected(chunk, {{0, 3 << 13}}));
  EXPECT_EQ(user_copy_bytes(), before);
}

INSTANTIATE_TEST_SUITE_P(PlainAndZerocopySends, DataPathCopyTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Zerocopy" : "Plain"; });

}  // namespace
}  // namespace zcfs
