// The storage data path over RDMA on the emulated fabric, with the real storage service in this
// process: a batched read names each piece's destination (address + rkey of the client's registered
// region) and the server RDMA WRITEs the bytes its disk read filled straight there before the reply
// SEND; a write's payload is pulled by the server with RDMA READ. No byte of file data is copied in
// user space on a read (the emulated NIC's memcpy is DMA, not a user copy).
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "storage_server/test_util.h"
#include "zcfs.pb.h"
#include "zcfs/common/copy_counter.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/rdma/emulated_verbs.h"
#include "zcfs/proto/rdma/rdma_transport.h"
#include "zcfs/storage/storage_service.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;
using testing::random_bytes;
using testing::ScratchDir;

constexpr uint32_t kTarget = 7;
constexpr uint32_t kChunkSize = 4 << 20;
constexpr uint64_t kInode = 0x7171;

class RdmaDataPathTest : public ::testing::Test {
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
    service_->RegisterWith(*server_);
    auto rdma_server = RdmaServer::Create(*server_, std::move(fabric_.OpenDevice("storage")).value());
    ASSERT_TRUE(rdma_server.ok()) << rdma_server.status().ToString();
    rdma_server_ = std::move(*rdma_server);
    auto transport = RdmaTransport::Create(client_io_.executor(), std::move(fabric_.OpenDevice("client")).value());
    ASSERT_TRUE(transport.ok()) << transport.status().ToString();
    transport_ = std::move(*transport);
    auto endpoint = server_->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    peer_ = "127.0.0.1:" + std::to_string(endpoint->port());
  }

  void TearDown() override {
    transport_.reset();
    rdma_server_->Stop();
    server_->Stop();
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (service_->active_requests() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(2ms);
    }
    server_io_.Stop();
    client_io_.Stop();
  }

  template <typename Reply>
  Result<Reply> CallStorage(uint16_t method, const google::protobuf::MessageLite& request, CallOptions options) {
    return run_blocking(client_io_.executor(), [&]() -> Task<Result<Reply>> {
      auto channel = co_await transport_->Channel(peer_);
      if (!channel.ok()) co_return channel.status();
      auto response = co_await (*channel)->Call(method, request.SerializeAsString(), std::move(options));
      if (!response.ok()) co_return response.status();
      Reply reply;
      if (Status s = ParseMessage(reply, response->body, "reply"); !s.ok()) co_return s;
      co_return reply;
    }());
  }

  Status Write(uint32_t offset, const std::vector<std::byte>& data) {
    pb::WriteChunkRequest request;
    request.set_inode(kInode);
    request.set_target_id(kTarget);
    request.set_offset(offset);
    request.set_chunk_size(kChunkSize);
    CallOptions options;
    options.payload.push_back(asio::buffer(data));  // pulled by the server: RDMA READ
    return CallStorage<pb::WriteChunkReply>(method::kWriteChunk, request, std::move(options)).status();
  }

  // One BatchRead of (chunk offset, length, target) pieces into consecutive ranges of `region`.
  Result<pb::BatchReadReply> Read(const RegionHandle& region, const std::vector<std::array<uint32_t, 3>>& pieces) {
    pb::BatchReadRequest request;
    CallOptions options;
    uint64_t at = 0;
    for (const auto& [offset, length, target] : pieces) {
      auto* piece = request.add_pieces();
      piece->set_inode(kInode);
      piece->set_target_id(target);
      piece->set_offset(offset);
      piece->set_length(length);
      piece->set_region_id(region.id);
      piece->set_region_offset(at);
      auto dst = transport_->Resolve(region.id, at, length);
      if (!dst.ok()) return dst.status();
      options.reply_segments.emplace_back(dst->data(), dst->size());  // piece i lands in segment i
      at += length;
    }
    request.set_want_crc32c(true);
    return CallStorage<pb::BatchReadReply>(method::kBatchRead, request, std::move(options));
  }

  ScratchDir dir_;
  rdma::EmulatedFabric fabric_;
  IoThreads server_io_{2};
  IoThreads client_io_{1};
  std::unique_ptr<UringBlockIo> block_io_;
  std::unique_ptr<StorageTarget> target_;
  std::unique_ptr<StorageService> service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RdmaServer> rdma_server_;
  std::unique_ptr<RdmaTransport> transport_;
  std::string peer_;
};

TEST_F(RdmaDataPathTest, ReadsAreRdmaWrittenIntoTheClientsRegionWithNoUserCopy) {
  std::mt19937_64 rng(7);
  std::vector<std::byte> chunk = random_bytes(rng, 2 << 20);
  ASSERT_TRUE(Write(0, chunk).ok());
  std::vector<std::byte> memory(4 << 20, std::byte{0xcc});
  auto region = transport_->RegisterMemory(memory.data(), memory.size());
  ASSERT_TRUE(region.ok()) << region.status().ToString();

  uint64_t copies = user_copy_bytes();
  uint64_t writes_before = fabric_.stats().rdma_writes;
  // Aligned, unaligned (widened and trimmed by the server), and out of order.
  auto reply = Read(*region, {{{0, 1 << 20, kTarget}}, {{4097, 70001, kTarget}}, {{123, 777, kTarget}}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(user_copy_bytes(), copies) << "a native read over RDMA copied file data in user space";
  EXPECT_EQ(fabric_.stats().rdma_writes - writes_before, 3u) << "one RDMA WRITE per piece";
  ASSERT_EQ(reply->results_size(), 3);
  EXPECT_TRUE(std::equal(chunk.begin(), chunk.begin() + (1 << 20), memory.begin()));
  EXPECT_TRUE(std::equal(chunk.begin() + 4097, chunk.begin() + 4097 + 70001, memory.begin() + (1 << 20)));
  EXPECT_TRUE(std::equal(chunk.begin() + 123, chunk.begin() + 900, memory.begin() + (1 << 20) + 70001));
  EXPECT_EQ(memory[(1 << 20) + 70001 + 777], std::byte{0xcc}) << "nothing past the last piece";
  ASSERT_TRUE(transport_->DeregisterMemory(region->id).ok());
}

TEST_F(RdmaDataPathTest, ShortAndFailedPiecesLeaveTheirDestinationsAlone) {
  std::mt19937_64 rng(8);
  std::vector<std::byte> chunk = random_bytes(rng, 8192);
  ASSERT_TRUE(Write(0, chunk).ok());
  std::vector<std::byte> memory(3 * 16384, std::byte{0xcc});
  auto region = transport_->RegisterMemory(memory.data(), memory.size());
  ASSERT_TRUE(region.ok());
  // A piece of an unknown target fails alone; one reaching past the chunk's end comes back short.
  auto reply = Read(*region, {{{0, 16384, kTarget + 1}}, {{4096, 16384, kTarget}}, {{0, 4096, kTarget}}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->results(0).status(), static_cast<uint32_t>(Code::kStaleRouting));
  EXPECT_EQ(reply->results(1).length(), 4096u);
  EXPECT_EQ(reply->results(2).length(), 4096u);
  EXPECT_EQ(memory[0], std::byte{0xcc}) << "the failed piece's destination was written";
  EXPECT_TRUE(std::equal(chunk.begin() + 4096, chunk.end(), memory.begin() + 16384));
  EXPECT_EQ(memory[16384 + 4096], std::byte{0xcc}) << "the short piece wrote past its length";
  EXPECT_TRUE(std::equal(chunk.begin(), chunk.begin() + 4096, memory.begin() + 32768));
}

TEST_F(RdmaDataPathTest, WritesArePulledByRdmaReadAtTheirInBlockOffset) {
  std::mt19937_64 rng(9);
  std::vector<std::byte> chunk = random_bytes(rng, 3 * 4096);
  ASSERT_TRUE(Write(0, chunk).ok());
  uint64_t reads_before = fabric_.stats().rdma_reads;
  std::vector<std::byte> patch = random_bytes(rng, 5000);
  uint64_t copies = user_copy_bytes();
  ASSERT_TRUE(Write(100, patch).ok());
  EXPECT_EQ(fabric_.stats().rdma_reads - reads_before, 1u);
  // Unaligned: the server merges the edge blocks with their old bytes, and counts that copy (the
  // counter the read test relies on is live on this path).
  EXPECT_GT(user_copy_bytes(), copies);
  std::copy(patch.begin(), patch.end(), chunk.begin() + 100);
  std::vector<std::byte> memory(chunk.size());
  auto region = transport_->RegisterMemory(memory.data(), memory.size());
  ASSERT_TRUE(region.ok());
  auto reply = Read(*region, {{{0, static_cast<uint32_t>(chunk.size()), kTarget}}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(memory, chunk);
}

}  // namespace
}  // namespace zcfs
