// The client's batched reads: cutting a node's pieces into requests the storage server accepts, the
// end-to-end CRC32C check, and reads through real servers that need both (a read bigger than one batch
// may carry, with verification on).
#include "read_batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "support/local_cluster.h"
#include "zcfs/client/client.h"
#include "zcfs/common/crc32c.h"

namespace zcfs {
namespace {

std::vector<ChunkPiece> pieces_of(const std::vector<uint32_t>& lengths) {
  std::vector<ChunkPiece> pieces;
  uint64_t offset = 0;
  for (uint32_t i = 0; i < lengths.size(); ++i) {
    pieces.push_back(ChunkPiece{i, 1, 0, lengths[i], offset});
    offset += lengths[i];
  }
  return pieces;
}

TEST(SplitIntoBatchesTest, KeepsOrderAndStaysWithinBothLimits) {
  std::mt19937_64 rng(1);
  std::vector<uint32_t> lengths;
  for (int i = 0; i < 500; ++i) lengths.push_back(1 + static_cast<uint32_t>(rng() % 5000));
  auto batches = split_into_batches(pieces_of(lengths), 20000, 7);
  uint32_t next = 0;
  for (const auto& batch : batches) {
    ASSERT_FALSE(batch.empty());
    EXPECT_LE(batch.size(), 7u);
    uint64_t bytes = 0;
    for (const auto& p : batch) {
      EXPECT_EQ(p.chunk_index, next++);  // every piece once, in order
      bytes += p.length;
    }
    EXPECT_LE(bytes, 20000u);
  }
  EXPECT_EQ(next, 500u);
}

TEST(SplitIntoBatchesTest, FillsBatchesAndGivesAnOversizedPieceItsOwn) {
  auto batches = split_into_batches(pieces_of({10, 10, 10, 50, 10, 5, 5}), 30, 100);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(), 3u);  // 30 bytes: exactly the limit
  EXPECT_EQ(batches[1].size(), 1u);  // 50 > 30 alone
  EXPECT_EQ(batches[2].size(), 3u);
  EXPECT_TRUE(split_into_batches(std::vector<ChunkPiece>{}, 30, 100).empty());
  EXPECT_EQ(split_into_batches(pieces_of(std::vector<uint32_t>(10, 1)), 1000, 4).size(), 3u);  // 4 + 4 + 2
}

TEST(VerifyPieceCrc32cTest, AcceptsIntactBytesAndNamesTheChunkOfDamagedOnes) {
  std::vector<std::byte> data(10000);
  std::iota(reinterpret_cast<uint8_t*>(data.data()), reinterpret_cast<uint8_t*>(data.data()) + data.size(), 0);
  uint32_t sent = crc32c(data.data(), data.size());
  EXPECT_TRUE(verify_piece_crc32c(data, sent, "10.0.0.1:9000", 42, 3, 4096).ok());
  EXPECT_TRUE(verify_piece_crc32c({}, 0, "10.0.0.1:9000", 42, 3, 0).ok());  // nothing sent, nothing to check

  data[1234] ^= std::byte{0x01};  // one bit flipped on the way
  Status damaged = verify_piece_crc32c(data, sent, "10.0.0.1:9000", 42, 3, 4096);
  EXPECT_EQ(damaged.code(), Code::kChecksumMismatch);
  for (const char* part : {"storage 10.0.0.1:9000", "chunk 42.3", "[4096, 14096)", "damaged"}) {
    EXPECT_NE(damaged.message().find(part), std::string::npos) << part << " missing in " << damaged.message();
  }
}

// One storage server, so that every piece of a read goes to the same node in as few batches as the
// client makes.
class ClientReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = cluster_.Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster_.logs();
  }
  Result<std::unique_ptr<Client>> Connect(bool verify) {
    ClientOptions options;
    options.meta_address = cluster_.meta_address();
    options.verify_checksums = verify;
    return Client::Connect(options);
  }
  static testing::ClusterOptions one_server() {
    testing::ClusterOptions options;
    options.storage_servers = 1;
    return options;
  }
  testing::LocalCluster cluster_{"client-read", one_server()};
};

TEST_F(ClientReadTest, AReadLargerThanABatchWithVerifiedChecksums) {
  // 72 MiB of 64 KiB chunks: 1152 pieces and 72 MiB, over both limits of one batch (1024, 64 MiB).
  constexpr uint64_t kSize = 72ull << 20;
  constexpr uint32_t kChunk = 64 << 10;
  auto client = Connect(/*verify=*/true);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  CreateOptions create;
  create.chunk_size = kChunk;
  auto file = (*client)->Create(kRootInode, "sparse.bin", create);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  // Data at both ends and somewhere unaligned in the middle; the rest is holes.
  std::mt19937_64 rng(9);
  std::vector<std::byte> expected(kSize);
  for (uint64_t at : {uint64_t{0}, uint64_t{(30ull << 20) + 12345}, kSize - (1 << 20)}) {
    for (uint64_t i = 0; i < (1 << 20); ++i) expected[at + i] = static_cast<std::byte>(rng());
    Status written = (*client)->Write(*file, at, std::span<const std::byte>(expected.data() + at, 1 << 20));
    ASSERT_TRUE(written.ok()) << written.ToString();
  }
  auto grown = (*client)->ExtendLength(file->ino, kSize);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();

  for (bool verify : {true, false}) {
    auto reader = Connect(verify);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    std::vector<std::byte> got(kSize, std::byte{0x5a});
    auto n = (*reader)->Read(*grown, 0, got);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, kSize);
    EXPECT_TRUE(got == expected) << "verify " << verify;
  }
}

}  // namespace
}  // namespace zcfs
