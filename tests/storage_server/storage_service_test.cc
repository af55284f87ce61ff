// The storage service over real RPC on loopback: writes and batched reads with direct placement into
// the caller's buffer, stale routing per piece, chunk truncation, and registration with a (fake) meta
// server.
#include "zcfs/storage/storage_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "storage_server/test_util.h"
#include "zcfs.pb.h"
#include "zcfs/common/crc32c.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/tcp_transport.h"
#include "zcfs/storage/chain_view.h"
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
    service_ =
        std::make_unique<StorageService>(threads_.executor(), std::vector<StorageTarget*>{target_.get()}, options_);
    server_ = std::make_unique<RpcServer>(threads_.context());
    service_->RegisterWith(*server_);
    auto endpoint = server_->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
    port_ = endpoint->port();
    auto channel = Connect();
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    channel_ = *channel;
  }
  Result<std::shared_ptr<RpcChannel>> Connect() {
    return run_blocking(threads_.executor(),
                        RpcChannel::Connect(threads_.executor(), {"127.0.0.1", port_}, std::chrono::seconds(5)));
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

  StorageServiceOptions options_;  // derived fixtures set it before SetUp()
  ScratchDir dir_;
  IoThreads threads_{2};
  std::unique_ptr<UringBlockIo> io_;
  std::unique_ptr<StorageTarget> target_;
  std::unique_ptr<StorageService> service_;
  std::unique_ptr<RpcServer> server_;
  std::shared_ptr<RpcChannel> channel_;
  uint16_t port_ = 0;
};

pb::ReadPiece Piece(uint64_t inode, uint32_t target, uint32_t offset, uint32_t length, uint64_t region_offset,
                    uint32_t index = 0) {
  pb::ReadPiece piece;
  piece.set_inode(inode);
  piece.set_chunk_index(index);
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

// A batched read whose reply data lands in `dest` at each piece's region_offset; returns the results.
Task<Result<pb::BatchReadReply>> BatchReadInto(std::shared_ptr<RpcChannel> channel, pb::BatchReadRequest request,
                                               std::byte* dest,
                                               std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto parsed = std::make_shared<pb::BatchReadReply>();
  CallOptions options;
  options.timeout = timeout;
  options.placement = [parsed, &request, dest](const FrameHeader&,
                                               std::string_view body) -> Result<std::vector<asio::mutable_buffer>> {
    RETURN_IF_ERROR(ParseMessage(*parsed, body, "BatchReadReply"));
    if (parsed->results_size() != request.pieces_size()) return Error(Code::kProtocolError, "wrong result count");
    std::vector<asio::mutable_buffer> out;
    for (int i = 0; i < parsed->results_size(); ++i) {
      if (parsed->results(i).status() != 0 || parsed->results(i).length() == 0) continue;
      out.emplace_back(dest + request.pieces(i).region_offset(), parsed->results(i).length());
    }
    return out;
  };
  auto reply = co_await channel->Call(method::kBatchRead, request.SerializeAsString(), std::move(options));
  if (!reply.ok()) co_return reply.status();
  if (reply->payload_len == 0) {  // no placement ran
    Status s = ParseMessage(*parsed, reply->body, "BatchReadReply");
    if (!s.ok()) co_return s;
  }
  co_return *parsed;
}

// ListChunks (resync) pages through a target's chunks of every inode in id order.
TEST_F(StorageServiceTest, ListChunksPagesThroughEveryChunkInIdOrder) {
  std::vector<std::byte> data(5000, std::byte{7});
  for (auto [inode, index] : std::vector<std::pair<uint64_t, uint32_t>>{{9, 0}, {9, 4}, {3, 1}, {12, 0}, {3, 0}}) {
    ASSERT_TRUE(WriteChunk(inode, kTarget, 0, data, index).ok());
  }
  pb::ListChunksRequest request;
  request.set_target_id(kTarget);
  request.set_first(true);
  request.set_max_entries(2);
  std::vector<std::pair<uint64_t, uint32_t>> seen;
  for (int page = 0; page < 10; ++page) {
    auto reply =
        run_blocking(threads_.executor(), CallPb<pb::ListChunksReply>(*channel_, method::kListChunks, request));
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    for (const auto& c : reply->chunks()) {
      seen.emplace_back(c.inode(), c.index());
      EXPECT_EQ(c.length(), 5000u);
      EXPECT_EQ(c.version(), 1u);
    }
    if (reply->eof()) break;
    request.set_first(false);
    request.set_after_inode(reply->chunks().rbegin()->inode());
    request.set_after_index(reply->chunks().rbegin()->index());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, uint32_t>>{{3, 0}, {3, 1}, {9, 0}, {9, 4}, {12, 0}}));

  request.set_target_id(kTarget + 1);
  auto unknown =
      run_blocking(threads_.executor(), CallPb<pb::ListChunksReply>(*channel_, method::kListChunks, request));
  EXPECT_EQ(unknown.status().code(), Code::kStaleRouting);
  auto garbage = run_blocking(threads_.executor(), channel_->Call(method::kListChunks, "\xff\xff\xff", CallOptions{}));
  EXPECT_EQ(garbage.status().code(), Code::kProtocolError);
}

// Requests naming a chain: refused by a service that does not replicate; with a chain view, served
// only under the chain's version, by a member in the right state, while the node's lease holds.
TEST_F(StorageServiceTest, ChainRequestsCheckVersionStateAndLease) {
  std::vector<std::byte> data(8192, std::byte{3});
  pb::WriteChunkRequest write;
  write.set_inode(40);
  write.set_target_id(kTarget);
  write.set_chunk_size(kChunkSize);
  write.set_chain_id(1);
  write.set_chain_version(3);
  auto send = [&](const pb::WriteChunkRequest& request) {
    CallOptions options;
    options.payload.push_back(asio::buffer(data.data(), data.size()));
    return run_blocking(threads_.executor(),
                        CallPb<pb::WriteChunkReply>(*channel_, method::kWriteChunk, request, std::move(options)));
  };
  auto read = [&]() {
    pb::BatchReadRequest request;
    *request.add_pieces() = Piece(40, kTarget, 0, 8192, 0);
    request.mutable_pieces(0)->set_chain_id(1);
    std::vector<std::byte> dest(8192);
    auto reply = run_blocking(threads_.executor(), BatchReadInto(channel_, request, dest.data()));
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    return reply.ok() ? code_from_wire(static_cast<uint16_t>(reply->results(0).status())) : Code::kInternal;
  };
  EXPECT_EQ(send(write).status().code(), Code::kNotSupported);
  EXPECT_EQ(read(), Code::kNotSupported);

  ChainView view;
  TcpTransport peers(threads_.executor());
  service_->EnableReplication(view, peers);
  uint64_t routing_version = 10;
  auto table_with = [&routing_version](pb::TargetState state) {
    pb::RoutingTable table;
    table.set_version(++routing_version);  // each a newer table: the view takes no older one
    auto* chain = table.add_chains();
    chain->set_chain_id(1);
    chain->set_version(3);
    auto* member = chain->add_members();
    member->set_target_id(kTarget);
    member->set_state(state);
    return table;
  };
  view.Update(table_with(pb::TARGET_STATE_SERVING));
  EXPECT_EQ(send(write).status().code(), Code::kStaleRouting) << "no heartbeat answered yet: fenced";
  view.LeaseRenewed(ChainView::Clock::now(), std::chrono::seconds(10));
  ASSERT_TRUE(send(write).ok());
  EXPECT_EQ(read(), Code::kOk);
  write.set_chain_version(2);
  EXPECT_EQ(send(write).status().code(), Code::kStaleRouting);  // an old chain
  write.set_chain_version(3);
  write.set_chain_id(2);
  EXPECT_EQ(send(write).status().code(), Code::kStaleRouting);  // an unknown chain
  write.set_chain_id(1);

  view.Update(table_with(pb::TARGET_STATE_SYNCING));  // takes writes, serves no reads
  EXPECT_TRUE(send(write).ok());
  EXPECT_EQ(read(), Code::kStaleRouting);
  view.Update(table_with(pb::TARGET_STATE_OFFLINE));
  EXPECT_EQ(send(write).status().code(), Code::kStaleRouting);

  view.Update(table_with(pb::TARGET_STATE_SERVING));
  view.LeaseRenewed(ChainView::Clock::now() - std::chrono::seconds(6), std::chrono::seconds(10));
  EXPECT_TRUE(send(write).ok()) << "renewals never move the lease back";
  ChainView stale;  // a node whose last answered heartbeat is older than half its lease
  stale.Update(table_with(pb::TARGET_STATE_SERVING));
  stale.LeaseRenewed(ChainView::Clock::now() - std::chrono::seconds(6), std::chrono::seconds(10));
  service_->EnableReplication(stale, peers);
  EXPECT_EQ(send(write).status().code(), Code::kStaleRouting);
  EXPECT_EQ(read(), Code::kStaleRouting);
  service_->EnableReplication(view, peers);  // the fixture's requests end before `stale` goes
  peers.CloseAll();
}

TEST_F(StorageServiceTest, BatchReadRefusesOversizedBatchesWhole) {
  pb::BatchReadRequest too_many;
  for (uint32_t i = 0; i <= batch_read::kMaxPieces; ++i) *too_many.add_pieces() = Piece(5, kTarget, 0, 16, 0, i);
  auto reply = run_blocking(threads_.executor(), BatchReadInto(channel_, too_many, nullptr));
  EXPECT_EQ(reply.status().code(), Code::kInvalidArgument);
  EXPECT_NE(reply.status().message().find("split the batch"), std::string::npos) << reply.status().ToString();

  pb::BatchReadRequest too_big;  // 65 pieces of 1 MiB: over the 64 MiB a reply may carry
  for (uint32_t i = 0; i < 65; ++i) *too_big.add_pieces() = Piece(5, kTarget, 0, 1 << 20, 0, i);
  reply = run_blocking(threads_.executor(), BatchReadInto(channel_, too_big, nullptr));
  EXPECT_EQ(reply.status().code(), Code::kInvalidArgument);
  EXPECT_NE(reply.status().message().find("67108864"), std::string::npos) << reply.status().ToString();

  pb::BatchReadRequest at_limits;  // exactly the limits: accepted (chunks never written: holes)
  for (uint32_t i = 0; i < batch_read::kMaxPieces; ++i) {
    *at_limits.add_pieces() = Piece(5, kTarget, 0, batch_read::kMaxBytes / batch_read::kMaxPieces, 0, i);
  }
  reply = run_blocking(threads_.executor(), BatchReadInto(channel_, at_limits, nullptr));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->results_size(), static_cast<int>(batch_read::kMaxPieces));
  EXPECT_EQ(service_->read_memory().held_bytes, 0u);
}

TEST_F(StorageServiceTest, BadPiecesFailAloneAndHolesReadEmpty) {
  std::mt19937_64 rng(5);
  auto data = random_bytes(rng, 10000);
  ASSERT_TRUE(WriteChunk(8, kTarget, 0, data).ok());
  const uint32_t max_chunk = 64u << 20;
  pb::BatchReadRequest request;
  *request.add_pieces() = Piece(8, kTarget, 0, 10000, 0);                    // 0: good
  *request.add_pieces() = Piece(8, kTarget, max_chunk - 10, 100, 0);         // 1: reaches past 64 MiB
  *request.add_pieces() = Piece(8, kTarget, 0, 0xffffffffu, 0);              // 2: absurd length, not counted
  *request.add_pieces() = Piece(8, kTarget, 20000, 4096, 10000);             // 3: past the chunk's end
  *request.add_pieces() = Piece(8, kTarget, 0, 4096, 10000, 7);              // 4: a chunk never written
  *request.add_pieces() = Piece(8, 0, 0, 4096, 10000);                       // 5: target 0 is never served
  *request.add_pieces() = Piece(8, kTarget, 100, 0, 10000);                  // 6: empty
  *request.add_pieces() = Piece(8, kTarget, max_chunk - 4096, 4096, 10000);  // 7: the last block: a hole
  std::vector<std::byte> dest(10000);
  auto reply = run_blocking(threads_.executor(), BatchReadInto(channel_, request, dest.data()));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->results_size(), 8);
  EXPECT_EQ(reply->results(0).status(), 0u);
  EXPECT_EQ(reply->results(0).length(), 10000u);
  EXPECT_EQ(dest, data);
  for (int bad : {1, 2}) {
    EXPECT_EQ(reply->results(bad).status(), static_cast<uint32_t>(Code::kInvalidArgument)) << bad;
    EXPECT_NE(reply->results(bad).message().find("largest chunk size"), std::string::npos)
        << reply->results(bad).message();
    EXPECT_NE(reply->results(bad).message().find("chunk 8/0"), std::string::npos) << reply->results(bad).message();
  }
  for (int hole : {3, 4, 6, 7}) {
    EXPECT_EQ(reply->results(hole).status(), 0u) << hole;
    EXPECT_EQ(reply->results(hole).length(), 0u) << hole;
  }
  EXPECT_EQ(reply->results(5).status(), static_cast<uint32_t>(Code::kStaleRouting));

  // A body that is not a BatchReadRequest fails the call, not the connection.
  auto garbage = run_blocking(threads_.executor(), channel_->Call(method::kBatchRead, "\xff\xff\xff", {}));
  EXPECT_EQ(garbage.status().code(), Code::kProtocolError);
  EXPECT_TRUE(WriteChunk(8, kTarget, 0, data).ok());
}

TEST_F(StorageServiceTest, BatchReadCarriesTheCrc32cOfTheBytesSent) {
  std::mt19937_64 rng(6);
  auto data = random_bytes(rng, 50000);
  ASSERT_TRUE(WriteChunk(9, kTarget, 0, data).ok());
  pb::BatchReadRequest request;
  *request.add_pieces() = Piece(9, kTarget, 0, 50000, 0);
  *request.add_pieces() = Piece(9, kTarget, 1234, 5000, 50000);   // unaligned inside a block
  *request.add_pieces() = Piece(9, kTarget, 49000, 4096, 55000);  // clipped at the end: 1000 bytes
  *request.add_pieces() = Piece(9, kTarget, 0, 4096, 60000, 3);   // a hole: no bytes
  *request.add_pieces() = Piece(9, 99, 0, 4096, 60000);           // failed: no crc
  std::vector<std::byte> dest(60000);
  for (bool want : {true, false}) {
    request.set_want_crc32c(want);
    auto reply = run_blocking(threads_.executor(), BatchReadInto(channel_, request, dest.data()));
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->results_size(), 5);
    EXPECT_EQ(reply->results(2).length(), 1000u);
    for (int i = 0; i < 3; ++i) {
      const auto& piece = request.pieces(i);
      uint32_t expected = want ? crc32c(data.data() + piece.offset(), reply->results(i).length()) : 0;
      EXPECT_EQ(reply->results(i).crc32c(), expected) << i;
      EXPECT_EQ(crc32c(dest.data() + piece.region_offset(), reply->results(i).length()),
                crc32c(data.data() + piece.offset(), reply->results(i).length()));
    }
    EXPECT_EQ(reply->results(3).crc32c(), 0u);
    EXPECT_EQ(reply->results(4).crc32c(), 0u);
  }
}

TEST_F(StorageServiceTest, ListTargetsNamesTheServedTargets) {
  auto reply = run_blocking(threads_.executor(),
                            CallPb<pb::ListTargetsReply>(*channel_, method::kListTargets, pb::ListTargetsRequest()));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->targets_size(), 1);
  EXPECT_EQ(reply->targets(0).target_id(), kTarget);
  EXPECT_EQ(reply->targets(0).path(), dir_.path() + "/target0");
  EXPECT_GT(reply->targets(0).capacity_bytes(), 0u);
}

// A small read memory budget: 4 MiB for the server, 2 MiB (one batch of two 1 MiB chunks) per connection.
class StorageServiceBudgetTest : public StorageServiceTest {
 protected:
  static constexpr uint64_t kBudget = 4 << 20;
  static constexpr int kChunks = 4;

  void SetUp() override {
    options_.read_memory_bytes = kBudget;
    options_.client_read_bytes = 2 << 20;
    StorageServiceTest::SetUp();
    std::mt19937_64 rng(7);
    for (uint32_t i = 0; i < kChunks; ++i) {
      chunks_.push_back(random_bytes(rng, kChunkSize));
      ASSERT_TRUE(WriteChunk(kInode, kTarget, 0, chunks_.back(), i).ok());
    }
  }
  // Two whole chunks (2 MiB of buffers): chunk `first` and the next one.
  static pb::BatchReadRequest TwoChunks(uint32_t first) {
    pb::BatchReadRequest request;
    *request.add_pieces() = Piece(kInode, kTarget, 0, kChunkSize, 0, first % kChunks);
    *request.add_pieces() = Piece(kInode, kTarget, 0, kChunkSize, kChunkSize, (first + 1) % kChunks);
    return request;
  }
  // Starts `count` two-chunk batches on `channel` into `sink` (2 MiB); counts them as they end.
  struct Flood {
    std::vector<std::byte> sink = std::vector<std::byte>(2 * kChunkSize);
    std::atomic<int> done{0};
    std::atomic<int> failed{0};
  };
  void StartFlood(std::shared_ptr<RpcChannel> channel, Flood& flood, int count) {
    for (int k = 0; k < count; ++k) {
      asio::co_spawn(threads_.executor(), BatchReadInto(channel, TwoChunks(k), flood.sink.data()),
                     [&flood](std::exception_ptr e, Result<pb::BatchReadReply> r) {
                       if (e || !r.ok() || r->results(0).length() != kChunkSize) ++flood.failed;
                       ++flood.done;
                     });
    }
  }

  static constexpr uint64_t kInode = 77;
  std::vector<std::vector<std::byte>> chunks_;
};

TEST_F(StorageServiceBudgetTest, ReadMemoryStaysWithinTheBudget) {
  constexpr int kConnections = 4;
  constexpr int kBatches = 12;
  std::vector<std::shared_ptr<RpcChannel>> channels;
  std::vector<std::vector<std::byte>> sinks(kConnections * kBatches, std::vector<std::byte>(2 * kChunkSize));
  std::vector<std::future<Result<pb::BatchReadReply>>> replies;
  for (int c = 0; c < kConnections; ++c) {
    auto channel = Connect();
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    channels.push_back(*channel);
    for (int k = 0; k < kBatches; ++k) {
      replies.push_back(asio::co_spawn(threads_.executor(),
                                       BatchReadInto(*channel, TwoChunks(c + k), sinks[c * kBatches + k].data()),
                                       asio::use_future));
    }
  }
  for (size_t i = 0; i < replies.size(); ++i) {
    auto reply = replies[i].get();
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    uint32_t first = static_cast<uint32_t>(i / kBatches + i % kBatches);
    ASSERT_TRUE(std::equal(chunks_[first % kChunks].begin(), chunks_[first % kChunks].end(), sinks[i].begin()));
    ASSERT_TRUE(std::equal(chunks_[(first + 1) % kChunks].begin(), chunks_[(first + 1) % kChunks].end(),
                           sinks[i].begin() + kChunkSize));
  }
  ASSERT_TRUE(eventually([&] { return service_->read_memory().held_bytes == 0; }));
  ReadMemoryStats stats = service_->read_memory();
  EXPECT_EQ(stats.granted_batches, uint64_t{kConnections * kBatches});
  EXPECT_EQ(stats.waiting_batches, 0u);
  EXPECT_GE(stats.peak_bytes, 2u * kChunkSize);  // at least one whole batch was held
  EXPECT_LE(stats.peak_bytes, kBudget);          // 48 batches of 2 MiB asked at once, never over 4 MiB held
  for (auto& c : channels) c->Close();
}

TEST_F(StorageServiceBudgetTest, GreedyConnectionsDoNotStarveALightOne) {
  // Two greedy connections queue 60 batches each; together they can fill the server's budget.
  constexpr int kGreedyBatches = 60;
  std::vector<std::shared_ptr<RpcChannel>> greedy;
  Flood floods[2];
  for (auto& flood : floods) {
    auto channel = Connect();
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    greedy.push_back(*channel);
    StartFlood(*channel, flood, kGreedyBatches);
  }
  // Every greedy batch has reached the server (queued, being read or done) before the light client asks.
  ASSERT_TRUE(eventually([&] {
    ReadMemoryStats s = service_->read_memory();
    return s.waiting_batches + s.granted_batches >= 2 * kGreedyBatches;
  }));
  // The light client reads one block at a time; each read waits for at most a few greedy batches.
  std::vector<std::byte> block(4096);
  for (int i = 0; i < 4; ++i) {
    pb::BatchReadRequest request;
    *request.add_pieces() = Piece(kInode, kTarget, 4096 * i, 4096, 0, 2);
    auto reply = run_blocking(threads_.executor(), BatchReadInto(channel_, request, block.data()));
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->results(0).length(), 4096u);
    ASSERT_TRUE(std::equal(block.begin(), block.end(), chunks_[2].begin() + 4096 * i));
  }
  int greedy_done = floods[0].done.load() + floods[1].done.load();
  EXPECT_LT(greedy_done, 2 * kGreedyBatches) << "the light reads waited for every greedy batch";
  ASSERT_TRUE(eventually([&] { return floods[0].done == kGreedyBatches && floods[1].done == kGreedyBatches; }));
  EXPECT_EQ(floods[0].failed + floods[1].failed, 0);
  EXPECT_LE(service_->read_memory().peak_bytes, kBudget);
  for (auto& c : greedy) c->Close();
}

TEST_F(StorageServiceBudgetTest, AConnectionClosedMidTransferGivesItsMemoryBack) {
  auto channel = Connect();
  ASSERT_TRUE(channel.ok()) << channel.status().ToString();
  Flood flood;
  StartFlood(*channel, flood, 20);
  ASSERT_TRUE(eventually([&] { return service_->read_memory().waiting_batches >= 10; }));
  (*channel)->Close();  // with batches being read, sent and queued
  ASSERT_TRUE(eventually([&] { return flood.done == 20; }));
  EXPECT_GT(flood.failed.load(), 0);
  // The queued ones are not read once their connection is gone.
  ASSERT_TRUE(eventually([&] { return service_->active_requests() == 0; }));
  EXPECT_GT(service_->abandoned_batches(), 0u);
  EXPECT_LE(service_->abandoned_batches(), 20u);
  ASSERT_TRUE(eventually([&] {
    ReadMemoryStats s = service_->read_memory();
    return s.held_bytes == 0 && s.waiting_batches == 0 && service_->active_requests() == 0 &&
           server_->connection_count() == 1;
  }));
  // The server goes on serving, with its whole budget.
  std::vector<std::byte> dest(2 * kChunkSize);
  auto reply = run_blocking(threads_.executor(), BatchReadInto(channel_, TwoChunks(1), dest.data()));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_TRUE(std::equal(chunks_[1].begin(), chunks_[1].end(), dest.begin()));
  EXPECT_LE(service_->read_memory().peak_bytes, kBudget);
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
  options.meta = std::make_shared<MetaRotation>(std::vector<HostPort>{meta.Listen()});
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
  options.meta = {meta.Listen()};
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
  options.meta = {{"127.0.0.1", dead_port}};
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
