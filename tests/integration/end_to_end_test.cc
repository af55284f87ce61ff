// End to end on real processes: zcfs-meta and three zcfs-storage servers on loopback, the native
// client in this process, and a real FUSE mount.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "sample_data.h"
#include "support/local_cluster.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

constexpr uint64_t kFileSize = 64ull << 20;
constexpr uint32_t kChunkSize = 1 << 20;  // 64 chunks over 3 servers
constexpr uint64_t kSeed = 42;

class EndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new testing::LocalCluster("e2e");
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << cluster_->logs();
    ClientOptions options;
    options.meta_address = cluster_->meta_address();
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = client->release();
  }

  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
    if (cluster_ != nullptr) {
      Status s = cluster_->Stop();
      EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << cluster_->logs();
    }
    delete cluster_;
    cluster_ = nullptr;
  }

  // The 64 MiB sample file, written once in irregular, unaligned pieces.
  static FileInfo BigFile() {
    static FileInfo file = [] {
      auto dir = client_->MakeDirs("/data");
      EXPECT_TRUE(dir.ok()) << dir.status().ToString();
      CreateOptions options;
      options.chunk_size = kChunkSize;
      auto created = client_->Create(dir->ino, "big.bin", options);
      EXPECT_TRUE(created.ok()) << created.status().ToString();
      std::vector<std::byte> data(kFileSize);
      fill_sample(kSeed, 0, data);
      std::mt19937_64 rng(1);
      for (uint64_t off = 0; off < kFileSize;) {
        uint64_t n = std::min<uint64_t>(kFileSize - off, 1 + rng() % (3 << 20));
        Status s = client_->Write(*created, off, std::span<const std::byte>(data.data() + off, n));
        EXPECT_TRUE(s.ok()) << s.ToString();
        off += n;
      }
      auto extended = client_->ExtendLength(created->ino, kFileSize);
      EXPECT_TRUE(extended.ok()) << extended.status().ToString();
      return *extended;
    }();
    return file;
  }

  static testing::LocalCluster* cluster_;
  static Client* client_;
};

testing::LocalCluster* EndToEndTest::cluster_ = nullptr;
Client* EndToEndTest::client_ = nullptr;

TEST_F(EndToEndTest, FileSpansManyChunksAndAllServers) {
  FileInfo file = BigFile();
  EXPECT_EQ(file.size, kFileSize);
  EXPECT_EQ(file.chunk_size, kChunkSize);
  auto cluster = client_->ClusterStatus();
  ASSERT_TRUE(cluster.ok());
  std::set<uint32_t> targets;  // of the file's chains
  for (const auto& chain : cluster->chains) {
    if (std::find(file.chains.begin(), file.chains.end(), chain.chain_id) == file.chains.end()) continue;
    for (const auto& m : chain.members) targets.insert(m.target_id);
  }
  EXPECT_EQ(targets.size(), 3u) << "the file's chains should use every storage server";
  auto stat = client_->Stat("/data/big.bin");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->ino, file.ino);
  auto data_dir = client_->Stat("/data");
  ASSERT_TRUE(data_dir.ok());
  auto listing = client_->ReadDir(data_dir->ino);
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(std::any_of(listing->begin(), listing->end(), [](const DirEntry& e) { return e.name == "big.bin"; }));
}

TEST_F(EndToEndTest, NativeRandomRangesMatchEveryByteWithoutCopies) {
  FileInfo file = BigFile();
  std::mt19937_64 rng(7);
  std::vector<std::byte> buf(5 << 20);
  uint64_t copies_before = client_->user_copy_bytes();
  for (int i = 0; i < 300; ++i) {
    uint64_t off = rng() % kFileSize;
    size_t len = 1 + rng() % buf.size();
    auto n = client_->Read(file, off, std::span(buf.data(), len));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, std::min<uint64_t>(len, kFileSize - off));
    ASSERT_EQ(find_sample_mismatch(kSeed, off, std::span(buf.data(), *n)), -1) << "range " << off << "+" << len;
  }
  EXPECT_EQ(client_->user_copy_bytes(), copies_before) << "a native read copied file data in user space";
  auto past_end = client_->Read(file, kFileSize + 10, std::span(buf.data(), 100));
  ASSERT_TRUE(past_end.ok());
  EXPECT_EQ(*past_end, 0u);
}

TEST_F(EndToEndTest, WholeFileReadInOneCall) {
  FileInfo file = BigFile();
  std::vector<std::byte> all(kFileSize);
  auto n = client_->Read(file, 0, all);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, kFileSize);
  EXPECT_EQ(find_sample_mismatch(kSeed, 0, all), -1);
}

TEST_F(EndToEndTest, SparseFileReadsZerosInHoles) {
  ASSERT_TRUE(client_->MakeDirs("/holes").ok());
  auto file = client_->CreatePath("/holes/sparse.bin");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  std::vector<std::byte> tail(1000, std::byte{0x5A});
  auto extended = client_->WriteAndExtend(*file, 10 << 20, tail);
  ASSERT_TRUE(extended.ok()) << extended.status().ToString();
  std::vector<std::byte> buf(extended->size, std::byte{0x11});
  auto n = client_->Read(*extended, 0, buf);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, buf.size());
  EXPECT_TRUE(std::all_of(buf.begin(), buf.begin() + (10 << 20), [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_TRUE(std::all_of(buf.begin() + (10 << 20), buf.end(), [](std::byte b) { return b == std::byte{0x5A}; }));
}

TEST_F(EndToEndTest, NamespaceErrorsAreClear) {
  EXPECT_EQ(client_->Stat("/no/such/file").status().code(), Code::kNotFound);
  ASSERT_TRUE(client_->MakeDirs("/errs").ok());
  EXPECT_EQ(client_->CreatePath("/errs/f", CreateOptions{}).status().code(), Code::kOk);
  CreateOptions exclusive;
  exclusive.exclusive = true;
  EXPECT_EQ(client_->CreatePath("/errs/f", exclusive).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(client_->CreatePath("/errs/f/under-a-file").status().code(), Code::kNotDirectory);
  auto root = client_->GetAttr(kRootInode);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(client_->Read(*root, 0, std::span<std::byte>()).status().code(), Code::kIsDirectory);
}

// Everything through the FUSE mount, in one test to keep to a single mount.
TEST_F(EndToEndTest, FuseMountReadsWritesAndLists) {
  FileInfo big = BigFile();
  auto mounted = cluster_->Mount();
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString() << "\n" << cluster_->logs();
  const std::string mnt = *mounted;

  // stat and random preads of the native-written file.
  struct stat st {};
  ASSERT_EQ(::stat((mnt + "/data/big.bin").c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kFileSize);
  EXPECT_EQ(st.st_ino, big.ino);
  int fd = ::open((mnt + "/data/big.bin").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::mt19937_64 rng(9);
  std::vector<std::byte> buf(3 << 20);
  for (int i = 0; i < 100; ++i) {
    uint64_t off = rng() % kFileSize;
    size_t len = 1 + rng() % buf.size();
    size_t want = std::min<uint64_t>(len, kFileSize - off);
    size_t got = 0;
    while (got < want) {  // a FUSE pread may return less than asked; keep reading
      ssize_t n = ::pread(fd, buf.data() + got, want - got, static_cast<off_t>(off + got));
      ASSERT_GT(n, 0) << strerror(errno);
      got += static_cast<size_t>(n);
    }
    ASSERT_EQ(find_sample_mismatch(kSeed, off, std::span(buf.data(), want)), -1) << "range " << off << "+" << len;
  }
  ::close(fd);

  // cp in: a file written through the mount reads back natively.
  ASSERT_EQ(::mkdir((mnt + "/incoming").c_str(), 0755), 0) << strerror(errno);
  const size_t in_size = (5 << 20) + 123;
  std::vector<std::byte> in_data(in_size);
  fill_sample(77, 0, in_data);
  fd = ::open((mnt + "/incoming/copy.bin").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  for (size_t off = 0; off < in_size;) {
    size_t n = std::min<size_t>(128 << 10, in_size - off);
    ASSERT_EQ(::write(fd, in_data.data() + off, n), static_cast<ssize_t>(n)) << strerror(errno);
    off += n;
  }
  ASSERT_EQ(::close(fd), 0);
  auto copied = client_->Stat("/incoming/copy.bin");
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->size, in_size);
  std::vector<std::byte> back(in_size);
  auto n = client_->Read(*copied, 0, back);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(back, in_data);

  // ls: readdir through the mount sees what was created both ways.
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(mnt)) names.insert(e.path().filename().string());
  EXPECT_TRUE(names.count("data") && names.count("incoming")) << "missing entries in mount root";

  // Errors arrive as errno values.
  EXPECT_EQ(::open((mnt + "/nope").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(::mkdir((mnt + "/incoming").c_str(), 0755), -1);
  EXPECT_EQ(errno, EEXIST);

  Status s = cluster_->Unmount();
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << cluster_->logs();
}

}  // namespace
}  // namespace zcfs
