// The FUSE daemon's read-ahead (fuse_mount/src/read_ahead.h) against real servers, without a mount:
// requests a sequential reader sends are answered from the window with the file's bytes, a change
// through the mount drops the window, random reads and a spent budget fall back to direct reads.
#include "read_ahead.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "support/local_cluster.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

constexpr size_t kPiece = 1 << 20;
constexpr uint64_t kFileSize = 10 * kPiece + 123;  // the last piece is short

std::vector<std::byte> pattern(uint64_t size, uint8_t seed) {
  std::vector<std::byte> data(size);
  for (uint64_t i = 0; i < size; ++i) data[i] = static_cast<std::byte>((i * 131 + seed + i / 4096) & 0xff);
  return data;
}

class ReadAheadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new testing::LocalCluster("read-ahead", testing::ClusterOptions{});
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->logs();
  }
  static void TearDownTestSuite() {
    EXPECT_TRUE(cluster_->Stop().ok()) << cluster_->logs();
    delete cluster_;
  }
  void SetUp() override {
    ClientOptions options;
    options.meta_address = cluster_->meta_address();
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    std::string path = std::string("/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto created = client_->CreatePath(path);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    content_ = pattern(kFileSize, 1);
    auto written = client_->WriteAndExtend(*created, 0, content_);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    file_ = *written;
  }
  void TearDown() override { client_.reset(); }

  std::shared_ptr<ReadAheadPool> Pool(size_t budget = 64 * kPiece) {
    return std::make_shared<ReadAheadPool>(*client_, kPiece, budget);
  }

  // Sends one request the way op_read does: read-ahead first, a direct read when it misses. Checks
  // the bytes against `expected`; returns whether the window answered.
  bool Request(ReadAhead& ahead, uint64_t version, uint64_t offset, size_t size,
               const std::vector<std::byte>& expected) {
    ahead.Advance(file_, version, offset, size);
    const uint64_t end = std::min<uint64_t>(offset + size, file_.size);
    std::vector<std::byte> got;
    bool served = ahead.Serve(file_, version, offset, size, [&](std::span<const iovec> iov) {
      for (const iovec& v : iov) {
        auto* p = static_cast<const std::byte*>(v.iov_base);
        got.insert(got.end(), p, p + v.iov_len);
      }
    });
    if (!served) {
      got.resize(size);
      auto n = client_->Read(file_, offset, got);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      got.resize(n.ok() ? *n : 0);
    }
    EXPECT_EQ(got.size(), end - offset) << "request at " << offset;
    EXPECT_TRUE(got.size() == end - offset && std::memcmp(got.data(), expected.data() + offset, got.size()) == 0)
        << "wrong bytes for the request at " << offset << (served ? " (from the window)" : " (direct)");
    return served;
  }

  static testing::LocalCluster* cluster_;
  std::unique_ptr<Client> client_;
  FileInfo file_;
  std::vector<std::byte> content_;
};

testing::LocalCluster* ReadAheadTest::cluster_ = nullptr;

// The first request too: the window starts with its own piece (asked for first), then runs ahead.
TEST_F(ReadAheadTest, SequentialRequestsComeFromTheWindowTheFirstOneIncluded) {
  ReadAhead ahead(*client_, Pool(), 4 * kPiece);
  size_t requests = 0;
  for (uint64_t offset = 0; offset < kFileSize; offset += kPiece, ++requests) {
    EXPECT_TRUE(Request(ahead, 0, offset, kPiece, content_)) << "request at " << offset;
  }
  EXPECT_EQ(ahead.hits(), requests);
}

TEST_F(ReadAheadTest, RequestsAcrossPieceBoundariesAreAnsweredInOrder) {
  ReadAhead ahead(*client_, Pool(), 3 * kPiece);
  const size_t size = 768 * 1024;  // every other request spans two pieces
  for (uint64_t offset = 0; offset < kFileSize; offset += size) Request(ahead, 0, offset, size, content_);
  EXPECT_GT(ahead.hits(), 8u);
}

// The kernel's own read-ahead sends several requests at once, which worker threads may take out of
// order: a later request must not throw away the piece an earlier one is about to ask for.
TEST_F(ReadAheadTest, RequestsArrivingOutOfOrderAreStillAnsweredFromTheWindow) {
  ReadAhead ahead(*client_, Pool(), 4 * kPiece);
  ASSERT_TRUE(Request(ahead, 0, 0, kPiece, content_));
  EXPECT_TRUE(Request(ahead, 0, 2 * kPiece, kPiece, content_));
  EXPECT_TRUE(Request(ahead, 0, kPiece, kPiece, content_));
  EXPECT_TRUE(Request(ahead, 0, 3 * kPiece, kPiece, content_));
  EXPECT_EQ(ahead.hits(), 4u);
}

TEST_F(ReadAheadTest, AWriteThroughTheMountDropsTheWindow) {
  ReadAhead ahead(*client_, Pool(), 4 * kPiece);
  ASSERT_TRUE(Request(ahead, 0, 0, kPiece, content_));
  ASSERT_TRUE(Request(ahead, 0, kPiece, kPiece, content_));  // [2, 6) MiB are in the window now

  // The mount wrote [2, 3) MiB: the inode's data version moves on (InodeState::Wrote).
  std::vector<std::byte> changed = content_;
  auto fresh = pattern(kPiece, 7);
  std::copy(fresh.begin(), fresh.end(), changed.begin() + 2 * kPiece);
  ASSERT_TRUE(client_->Write(file_, 2 * kPiece, fresh).ok());

  // Request() checks the bytes against `changed`: a window read before the write would fail it. The
  // window starts over at the request, read after the write.
  const uint64_t hits_before = ahead.hits();
  EXPECT_TRUE(Request(ahead, 1, 2 * kPiece, kPiece, changed));
  for (uint64_t offset = 3 * kPiece; offset < kFileSize; offset += kPiece) Request(ahead, 1, offset, kPiece, changed);
  const uint64_t requests = (kFileSize - 2 * kPiece + kPiece - 1) / kPiece;  // the last one is short
  EXPECT_EQ(ahead.hits(), hits_before + requests) << "the window did not come back";
}

TEST_F(ReadAheadTest, RandomRequestsAreNotReadAhead) {
  ReadAhead ahead(*client_, Pool(), 4 * kPiece);
  for (uint64_t block : {7, 2, 9, 4, 6, 1, 8}) {
    EXPECT_FALSE(Request(ahead, 0, block * kPiece + 512, 4096, content_)) << "block " << block;
  }
  EXPECT_EQ(ahead.hits(), 0u);
}

TEST_F(ReadAheadTest, ASpentBudgetLeavesDirectReads) {
  ReadAhead ahead(*client_, Pool(/*budget=*/0), 4 * kPiece);
  for (uint64_t offset = 0; offset < kFileSize; offset += kPiece) {
    EXPECT_FALSE(Request(ahead, 0, offset, kPiece, content_));
  }
}

TEST_F(ReadAheadTest, HandlesShareTheBudgetAndGiveBuffersBack) {
  auto pool = Pool(4 * kPiece);  // one window's worth for two handles
  {
    ReadAhead first(*client_, pool, 4 * kPiece);
    ReadAhead second(*client_, pool, 4 * kPiece);
    first.Advance(file_, 0, 0, kPiece);  // its window, not yet used, holds the whole budget
    EXPECT_FALSE(Request(second, 0, 0, kPiece, content_)) << "the second handle got buffers past the budget";
  }  // both windows end here, with reads possibly still in flight: the destructors wait for them
  ReadAhead third(*client_, pool, 4 * kPiece);
  EXPECT_TRUE(Request(third, 0, 0, kPiece, content_)) << "buffers did not go back to the pool";
  EXPECT_TRUE(Request(third, 0, kPiece, kPiece, content_));
}

}  // namespace
}  // namespace zcfs
