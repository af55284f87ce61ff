// The storage service over real RPC on loopback: writes and batched reads with direct placement into
// the caller's buffer, stale routing per piece, chunk truncation, and registration with a (fake) meta
// server.
#include "zcfs/storage/storage_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "storage_server/test_util.h"
#include "zcfs.pb.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/storage/node_registrar.h"
#include "zcfs/storage/pread_block_io.h"
#include "zcfs/storage/storage_node.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {
namespace {

using testing::random_bytes;
using testing::ScratchDir;

constexpr uint32_t kTarget = 11;
constexpr uint32_t kChunkSize = 1 << 20;

// Polls `done` until it holds; gives up after a minute (a hang guard, not a timing assertion).
template <typename F>
bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class StorageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto io = UringBlockIo::Create(threads_.executor(), {.queue_depth = 64, .buffer_count = 8, .buffer_size = 1 << 20});
    ASSERT_TRUE(io.ok()) << io.status().ToString();
    io_ = std::move(*io);
    auto target = StorageTarget::Open({.dir = dir_.path() + "/target0"}, *io_);
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    target_ = std::move(*target);
    ASSERT_TRUE(target_->SetId(kTarget).ok());
    service_ = std::make_unique<StorageService>(threads_.executor(), std::vector<StorageTarget*>{target_.get()});
    server_ = std::make_unique<RpcServer>(threads_.context());
    service_->RegisterWith(*server_);
    auto endpoint = server_->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    auto channel = run_blocking(
        threads_.executor(),
        RpcChannel::Connect(threads_.executor(), {"127.0.0.1", endpoint->port()}, std::chrono::seconds(5)));
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    channel_ = *channel;
  }
  void TearDown() override {
    if (channel_) channel_->Close();
    server_->Stop();
    eventually([&] { return server_->connection_count() == 0 && service_->active_requests() == 0; });
    threads_.Stop();
  }

  Result<pb::WriteChunkReply> WriteChunk(uint64_t inode, uint32_t target, uint32_t offset,
                                         const std::vector<std::byte>& data, uint32_t index = 0) {
    pb::WriteChunkRequest request;
    request.set_inode(inode);
    request.set_chunk_index(index);
    request.set_target_id(target);
    request.set_offset(offset);
    request.set_chunk_size(kChunkSize);
    CallOptions options;
    options.payload.push_back(asio::buffer(data.data(), data.size()));
    return run_blocking(threads_.executor(),
                        CallPb<pb::WriteChunkReply>(*channel_, method::kWriteChunk, request, std::move(options)));
  }
  Result<pb::TruncateChunksReply> TruncateChunks(uint64_t inode, uint32_t target, uint64_t length,
                                                 uint32_t chunk_size = kChunkSize) {
    pb::TruncateChunksRequest request;
    request.set_inode(inode);
    request.set_target_id(target);
    request.set_length(length);
    request.set_chunk_size(chunk_size);
    return run_blocking(threads_.executor(),
                        CallPb<pb::TruncateChunksReply>(*channel_, method::kTruncateChunks, request));
  }
  // Reads a chunk straight from the store (copied out).
  std::vector<std::byte> ReadStored(uint64_t inode, uint32_t index) {
    auto data = run_blocking(threads_.executor(), target_->store().Read({inode, index}, 0, kChunkSize));
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    if (!data.ok()) return {};
    return {data->data().begin(), data->data().end()};
  }

  ScratchDir dir_;
  IoThreads threads_{2};
  std::unique_ptr<UringBlockIo> io_;
  std::unique_ptr<StorageTarget> target_;
  std::unique_ptr<StorageService> service_;
  std::unique_ptr<RpcServer> server_;
  std::shared_ptr<RpcChannel> channel_;
};

pb::ReadPiece Piece(uint64_t inode, uint32_t target, uint32_t offset, uint32_t length, uint64_t region_offset) {
  pb::ReadPiece piece;
  piece.set_inode(inode);
  piece.set_target_id(target);
  piece.set_offset(offset);
  piece.set_length(length);
  piece.set_region_offset(region_offset);
  return piece;
}

TEST_F(StorageServiceTest, WriteThenBatchReadIntoCallerBuffer) {
  std::mt19937_64 rng(3);
  auto data = random_bytes(rng, 20000);
  auto written = WriteChunk(42, kTarget, 5000, data);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->chunk_length(), 25000u);
  EXPECT_EQ(written->version(), 1u);
  EXPECT_EQ(target_->store().payload_bytes_copied(), 0u);  // received at its in-block offset
  auto tail = random_bytes(rng, 100);
  ASSERT_TRUE(WriteChunk(42, kTarget, 30000, tail).ok());  // leaves a hole at [25000, 30000)

  pb::BatchReadRequest request;
  *request.add_pieces() = Piece(42, kTarget, 5000, 20000, 0);       // the first write
  *request.add_pieces() = Piece(42, 99, 0, 4096, 20000);            // a target this node does not own
  *request.add_pieces() = Piece(42, kTarget, 24000, 10000, 30000);  // clipped at 30100, hole inside
  *request.add_pieces() = Piece(43, kTarget, 0, 4096, 40000);       // a chunk never written
  std::vector<std::byte> dest(50000, std::byte{0xEE});

  pb::BatchReadReply parsed;
  CallOptions options;
  options.placement = [&](const FrameHeader&, std::string_view body) -> Result<std::vector<asio::mutable_buffer>> {
    RETURN_IF_ERROR(ParseMessage(parsed, body, "BatchReadReply"));
    std::vector<asio::mutable_buffer> out;
    for (int i = 0; i < parsed.results_size(); ++i) {
      if (parsed.results(i).status() != 0 || parsed.results(i).length() == 0) continue;
      out.emplace_back(dest.data() + request.pieces(i).region_offset(), parsed.results(i).length());
    }
    return out;
  };
  auto reply = run_blocking(threads_.executor(),
                            channel_->Call(method::kBatchRead, request.SerializeAsString(), std::move(options)));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->payload_len, 20000u + 6100u);
  ASSERT_EQ(parsed.results_size(), 4);
  EXPECT_EQ(parsed.results(0).status(), 0u);
  EXPECT_EQ(parsed.results(0).length(), 20000u);
  EXPECT_EQ(parsed.results(1).status(), static_cast<uint32_t>(Code::kStaleRouting));
  EXPECT_EQ(parsed.results(1).length(), 0u);
  EXPECT_EQ(parsed.results(2).status(), 0u);
  EXPECT_EQ(parsed.results(2).length(), 6100u);
  EXPECT_EQ(parsed.results(3).status(), 0u);
  EXPECT_EQ(parsed.results(3).length(), 0u);

  EXPECT_EQ(0, std::memcmp(dest.data(), data.data(), data.size()));
  for (size_t i = 20000; i < 30000; ++i) ASSERT_EQ(dest[i], std::byte{0xEE}) << "stale piece wrote at " << i;
  // Piece 2: chunk bytes [24000, 30100) = last 1000 bytes of the first write, 5000 zeros, the tail write.
  EXPECT_EQ(0, std::memcmp(dest.data() + 30000, data.data() + 19000, 1000));
  for (size_t i = 31000; i < 36000; ++i) ASSERT_EQ(dest[i], std::byte{0}) << "hole byte " << i;
  EXPECT_EQ(0, std::memcmp(dest.data() + 36000, tail.data(), tail.size()));
  EXPECT_EQ(dest[36100], std::byte{0xEE});
}

TEST_F(StorageServiceTest, WriteErrorsAreReplyStatuses) {
  std::vector<std::byte> data(100);
  EXPECT_EQ(WriteChunk(1, 99, 0, data).status().code(), Code::kStaleRouting);
  EXPECT_EQ(WriteChunk(1, kTarget, kChunkSize - 10, data).status().code(), Code::kInvalidArgument);
  // The connection is still usable.
  EXPECT_TRUE(WriteChunk(1, kTarget, 0, data).ok());
}

TEST_F(StorageServiceTest, TruncateChunksRemovesAndCuts) {
  std::mt19937_64 rng(4);
  auto data = random_bytes(rng, 20000);
  for (uint32_t index = 0; index < 3; ++index) ASSERT_TRUE(WriteChunk(42, kTarget, 0, data, index).ok());
  ASSERT_TRUE(WriteChunk(43, kTarget, 0, data).ok());

  auto reply = TruncateChunks(42, kTarget, kChunkSize + 5000);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->removed_chunks(), 1u);
  EXPECT_EQ(reply->truncated_chunks(), 1u);
  EXPECT_EQ(ReadStored(42, 0), data);
  auto cut = ReadStored(42, 1);
  ASSERT_EQ(cut.size(), 5000u);
  EXPECT_TRUE(std::equal(cut.begin(), cut.end(), data.begin()));
  EXPECT_TRUE(ReadStored(42, 2).empty());
  EXPECT_EQ(ReadStored(43, 0), data);  // another inode

  // Writing past the cut again shows zeros where the old bytes were.
  std::vector<std::byte> tail(100, std::byte{0x77});
  ASSERT_TRUE(WriteChunk(42, kTarget, 15000, tail, 1).ok());
  auto extended = ReadStored(42, 1);
  ASSERT_EQ(extended.size(), 15100u);
  EXPECT_TRUE(
      std::all_of(extended.begin() + 5000, extended.begin() + 15000, [](std::byte b) { return b == std::byte{0}; }));

  // Unlinked file: everything goes; again: nothing left, still ok.
  for (uint32_t expected : {2u, 0u}) {
    reply = TruncateChunks(42, kTarget, 0);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->removed_chunks(), expected);
    EXPECT_EQ(reply->truncated_chunks(), 0u);
  }
  EXPECT_TRUE(ReadStored(42, 0).empty());
}

TEST_F(StorageServiceTest, TruncateChunksErrorsAreReplyStatuses) {
  EXPECT_EQ(TruncateChunks(1, 99, 0).status().code(), Code::kStaleRouting);
  EXPECT_EQ(TruncateChunks(1, 0, 0).status().code(), Code::kStaleRouting);
  for (uint32_t bad : {0u, 32u << 10, 3u << 20, 128u << 20, (64u << 20) + 1}) {
    EXPECT_EQ(TruncateChunks(1, kTarget, 0, bad).status().code(), Code::kInvalidArgument) << bad;
  }
  for (uint32_t good : {64u << 10, 64u << 20}) {
    auto reply = TruncateChunks(1, kTarget, 0, good);
    EXPECT_TRUE(reply.ok()) << good << ": " << reply.status().ToString();
  }
}

// A meta server that answers RegisterNode, failing the first `fail_first` calls.
class FakeMeta {
 public:
  explicit FakeMeta(IoThreads& threads, int fail_first = 0) : server_(threads.context()), fail_left_(fail_first) {
    RegisterPb<pb::RegisterNodeRequest, pb::RegisterNodeReply>(
        server_, method::kRegisterNode, [this](const pb::RegisterNodeRequest& r) -> Result<pb::RegisterNodeReply> {
          std::lock_guard lock(mutex_);
          requests_.push_back(r);
          if (fail_left_ > 0) {
            --fail_left_;
            return Error(Code::kUnavailable, "not ready");
          }
          pb::RegisterNodeReply reply;
          reply.set_node_id(5);
          for (int i = 0; i < r.targets_size(); ++i) reply.add_target_ids(100 + i);
          return reply;
        });
  }
  ~FakeMeta() { server_.Stop(); }
  HostPort Listen() {
    auto endpoint = server_.Listen({"127.0.0.1", 0});
    return {"127.0.0.1", endpoint.ok() ? endpoint->port() : uint16_t{0}};
  }
  std::vector<pb::RegisterNodeRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  RpcServer server_;
  std::mutex mutex_;
  int fail_left_;
  std::vector<pb::RegisterNodeRequest> requests_;
};

TEST(NodeRegistrarTest, RegistersPersistsIdsAndKeepsBeating) {
  ScratchDir dir;
  IoThreads threads(2);
  PreadBlockIo io;
  std::vector<std::unique_ptr<StorageTarget>> targets;
  for (const char* name : {"/t0", "/t1"}) {
    auto target = StorageTarget::Open({.dir = dir.path() + name}, io);
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    targets.push_back(std::move(*target));
  }
  FakeMeta meta(threads, /*fail_first=*/2);
  NodeRegistrar::Options options;
  options.meta = meta.Listen();
  options.data_dir = dir.path();
  options.advertise_address = "127.0.0.1:7777";
  options.interval = std::chrono::milliseconds(10);
  std::atomic<int> registered{0};
  {
    NodeRegistrar registrar(threads.executor(), options, {targets[0].get(), targets[1].get()}, [&] { ++registered; });
    ASSERT_TRUE(registrar.Start().ok());
    ASSERT_TRUE(eventually([&] { return registrar.successful_rounds() >= 3; }));
    registrar.Stop();
    EXPECT_EQ(registrar.node_id(), 5u);
  }
  EXPECT_EQ(registered.load(), 1);
  EXPECT_EQ(targets[0]->id(), 100u);
  EXPECT_EQ(targets[1]->id(), 101u);
  EXPECT_EQ(read_file(dir.path() + "/node_id"), "5\n");
  EXPECT_EQ(read_file(dir.path() + "/t1/target_id"), "101\n");

  auto requests = meta.requests();
  ASSERT_GE(requests.size(), 5u);  // two refused, then at least three accepted
  EXPECT_EQ(requests[0].node_id(), 0u);
  EXPECT_EQ(requests[0].targets(0).target_id(), 0u);
  EXPECT_EQ(requests[0].address(), "127.0.0.1:7777");
  EXPECT_EQ(requests[0].targets(1).path(), dir.path() + "/t1");
  EXPECT_GT(requests[0].targets(0).capacity_bytes(), 0u);
  EXPECT_EQ(requests.back().node_id(), 5u);  // heartbeats carry the assigned ids
  EXPECT_EQ(requests.back().targets(1).target_id(), 101u);

  // A restarted node reads its ids back.
  targets[1].reset();  // releases the RocksDB lock
  auto reopened = StorageTarget::Open({.dir = dir.path() + "/t1"}, io);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->id(), 101u);
  threads.Stop();
}

// The whole node in-process: serves, registers, writes the ready file; keeps retrying while the meta
// server is down; stops cleanly.
TEST(StorageNodeTest, StartsRegistersAndWritesReadyFile) {
  ScratchDir dir;
  IoThreads meta_threads(1);
  FakeMeta meta(meta_threads);
  StorageNode::Options options;
  options.meta = meta.Listen();
  options.data_dir = dir.path() + "/data";
  options.ready_file = dir.path() + "/ready";
  options.io.buffer_count = 2;
  options.io.buffer_size = 1 << 20;
  options.heartbeat = std::chrono::milliseconds(10);
  auto node = StorageNode::Start(options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(options.ready_file); }));
  std::string address = read_file(options.ready_file);
  EXPECT_EQ(address, "127.0.0.1:" + std::to_string((*node)->endpoint().port()));
  EXPECT_EQ(read_file(dir.path() + "/data/target0/target_id"), "100\n");
  (*node)->Stop();
  meta_threads.Stop();
}

TEST(StorageNodeTest, KeepsRetryingWhileMetaIsDown) {
  ScratchDir dir;
  uint16_t dead_port;
  {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dead_port = acceptor.local_endpoint().port();
  }
  StorageNode::Options options;
  options.meta = {"127.0.0.1", dead_port};
  options.data_dir = dir.path() + "/data";
  options.ready_file = dir.path() + "/ready";
  options.io.buffer_count = 1;
  options.heartbeat = std::chrono::milliseconds(10);
  auto node = StorageNode::Start(options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // some failed rounds
  EXPECT_FALSE(std::filesystem::exists(options.ready_file));
  EXPECT_EQ((*node)->registrar().successful_rounds(), 0u);
  (*node)->Stop();
}

}  // namespace
}  // namespace zcfs
