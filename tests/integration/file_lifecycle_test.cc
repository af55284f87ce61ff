// The life of file data across real processes: truncation cuts the chunks on the storage servers,
// unlinked files leave the storage servers once no session holds them, and the FUSE mount does the
// namespace operations of a POSIX file system (rename, unlink of an open file, links, symlinks).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/local_cluster.h"
#include "zcfs.pb.h"
#include "zcfs/client/client.h"
#include "zcfs/common/address.h"
#include "zcfs/proto/blocking_channel.h"
#include "zcfs/proto/methods.h"

namespace zcfs {
namespace {

namespace fs = std::filesystem;
using testing::ClusterOptions;
using testing::LocalCluster;

constexpr uint32_t kChunk = 64 << 10;

std::vector<std::byte> pattern(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<uint8_t>(i * 31 + seed));
  return v;
}

// The fixture's two storage servers form one chain of two: every chunk is stored on both.
constexpr size_t kCopies = 2;

// Chunks stored on every storage target of the cluster, as the storage servers report them (ListTargets).
size_t count_chunks(const LocalCluster& cluster) {
  size_t n = 0;
  for (size_t i = 0; !cluster.storage_address(i).empty(); ++i) {
    const std::string address = cluster.storage_address(i);
    auto peer = parse_host_port(address);
    EXPECT_TRUE(peer.ok()) << address;
    if (!peer.ok()) continue;
    auto channel = BlockingChannel::Connect(*peer, std::chrono::seconds(5));
    EXPECT_TRUE(channel.ok()) << channel.status().ToString();
    if (!channel.ok()) continue;
    auto body =
        (*channel)->Call(method::kListTargets, pb::ListTargetsRequest().SerializeAsString(), std::chrono::seconds(5));
    EXPECT_TRUE(body.ok()) << body.status().ToString();
    pb::ListTargetsReply reply;
    if (!body.ok() || !reply.ParseFromString(*body)) continue;
    for (const auto& target : reply.targets()) n += target.chunks();
  }
  return n;
}

// Polls `done` every 50 ms for at most 15 s; the bound keeps a broken reclaimer from hanging CI.
template <typename Fn>
bool eventually(Fn done) {
  for (int i = 0; i < 300; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

class FileLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.storage_servers = 2;
    options.meta_flags = {"--meta.session_lease=3000", "--meta.reclaim_interval=100"};
    cluster_ = std::make_unique<LocalCluster>(::testing::UnitTest::GetInstance()->current_test_info()->name(), options);
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->logs();
    ClientOptions client_options;
    client_options.meta_address = cluster_->meta_address();
    client_options.cred = Credentials{0, 0, {}};
    client_options.session_renew_interval = std::chrono::milliseconds(200);  // the lease is 3 s
    auto client = Client::Connect(client_options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
  }
  void TearDown() override {
    client_.reset();
    if (cluster_) EXPECT_TRUE(cluster_->Stop().ok()) << cluster_->logs();
  }

  FileInfo MustWrite(const std::string& path, const std::vector<std::byte>& data) {
    CreateOptions options;
    options.chunk_size = kChunk;
    auto file = client_->CreatePath(path, options);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    auto written = client_->WriteAndExtend(*file, 0, data);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    return *written;
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::unique_ptr<Client> client_;
};

TEST_F(FileLifecycleTest, TruncateThenExtendReadsZerosPastTheCut) {
  const auto data = pattern(5 * kChunk + 123, 7);
  FileInfo file = MustWrite("/t.bin", data);
  const size_t files_before = count_chunks(*cluster_);
  EXPECT_GE(files_before, 6u);

  AttrChanges cut;
  cut.size = kChunk + 100;
  ASSERT_TRUE(client_->SetAttr(file.ino, cut).ok());
  EXPECT_LT(count_chunks(*cluster_), files_before);  // whole chunks past the cut are gone

  AttrChanges grow;
  grow.size = data.size();
  auto grown = client_->SetAttr(file.ino, grow);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  std::vector<std::byte> back(data.size());
  auto n = client_->Read(*grown, 0, back);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, data.size());
  EXPECT_TRUE(std::equal(back.begin(), back.begin() + kChunk + 100, data.begin()));
  EXPECT_TRUE(std::all_of(back.begin() + kChunk + 100, back.end(), [](std::byte b) { return b == std::byte{0}; }))
      << "bytes past a truncation came back";
}

TEST_F(FileLifecycleTest, UnlinkedFileDataIsReclaimedAfterClose) {
  FileInfo file = MustWrite("/gone.bin", pattern(3 * kChunk, 1));
  ASSERT_GT(count_chunks(*cluster_), 0u);
  auto open = client_->Open(file.ino, O_RDONLY);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_TRUE(client_->Remove("/gone.bin").ok());
  EXPECT_EQ(client_->Stat("/gone.bin").status().code(), Code::kNotFound);

  // Open: the data stays readable (the meta server's lease is 3 s; the session is renewed by Close
  // below well within it, and reading needs no meta call at all).
  std::vector<std::byte> back(3 * kChunk);
  auto n = client_->Read(open->info, 0, back);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(back, pattern(3 * kChunk, 1));
  ASSERT_TRUE(client_->Close(*open).ok());

  EXPECT_TRUE(eventually([&] { return count_chunks(*cluster_) == 0; })) << cluster_->logs();
  EXPECT_EQ(client_->GetAttr(file.ino).status().code(), Code::kNotFound);
}

// The meta server keeps sessions in memory only: after a crash the client reopens what it holds, so an
// unlinked file it has open is not reclaimed when the restarted server's grace period ends.
TEST_F(FileLifecycleTest, OpenUnlinkedFileSurvivesAMetaServerCrash) {
  FileInfo file = MustWrite("/held.bin", pattern(2 * kChunk, 5));
  auto open = client_->Open(file.ino, O_RDONLY);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_TRUE(client_->Remove("/held.bin").ok());
  ASSERT_TRUE(cluster_->KillMeta().ok());
  ASSERT_TRUE(cluster_->RestartMeta().ok()) << cluster_->logs();
  // Past the restarted server's grace period (one 3 s lease) and several reclaim passes.
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  EXPECT_EQ(count_chunks(*cluster_), 2 * kCopies) << cluster_->logs();
  std::vector<std::byte> back(2 * kChunk);
  auto n = client_->Read(open->info, 0, back);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(back, pattern(2 * kChunk, 5));

  ASSERT_TRUE(client_->Close(*open).ok());
  EXPECT_EQ(client_->Close(*open).status().code(), Code::kBadHandle);
  EXPECT_TRUE(eventually([&] { return count_chunks(*cluster_) == 0; })) << cluster_->logs();
}

TEST_F(FileLifecycleTest, RenameOverAFileReclaimsTheReplacedData) {
  MustWrite("/a", pattern(2 * kChunk, 2));
  MustWrite("/b", pattern(kChunk, 3));
  ASSERT_TRUE(client_->RenamePath("/a", "/b").ok());
  auto b = client_->Stat("/b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size, 2 * kChunk);
  EXPECT_EQ(client_->RenamePath("/b", "/b2", kRenameNoReplace).code(), Code::kOk);
  MustWrite("/c", pattern(10, 4));
  EXPECT_EQ(client_->RenamePath("/c", "/b2", kRenameNoReplace).code(), Code::kAlreadyExists);
  // Only /b2 (2 chunks) and /c (1 chunk) keep data once the replaced file is reclaimed.
  EXPECT_TRUE(eventually([&] { return count_chunks(*cluster_) == 3 * kCopies; })) << cluster_->logs();
}

class FuseNamespaceTest : public FileLifecycleTest {
 protected:
  void SetUp() override {
    FileLifecycleTest::SetUp();
    if (HasFatalFailure()) return;
    auto mnt = cluster_->Mount();
    ASSERT_TRUE(mnt.ok()) << mnt.status().ToString() << cluster_->logs();
    mnt_ = *mnt;
  }
  void TearDown() override {
    if (!mnt_.empty()) EXPECT_TRUE(cluster_->Unmount().ok());
    FileLifecycleTest::TearDown();
  }
  std::string mnt_;
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(FuseNamespaceTest, RenameLinkSymlinkUnlinkRmdir) {
  const fs::path root(mnt_);
  fs::create_directories(root / "d1" / "sub");
  fs::create_directory(root / "d2");
  write_text(root / "d1" / "f", "hello");

  fs::rename(root / "d1" / "f", root / "d2" / "g");
  EXPECT_FALSE(fs::exists(root / "d1" / "f"));
  EXPECT_EQ(read_text(root / "d2" / "g"), "hello");

  fs::create_hard_link(root / "d2" / "g", root / "d1" / "h");
  EXPECT_EQ(fs::hard_link_count(root / "d2" / "g"), 2u);
  fs::create_symlink("../d2/g", root / "d1" / "s");
  EXPECT_EQ(fs::read_symlink(root / "d1" / "s"), "../d2/g");
  EXPECT_EQ(read_text(root / "d1" / "s"), "hello");

  std::error_code ec;
  fs::rename(root / "d1", root / "d1" / "sub" / "x", ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  EXPECT_EQ(::rmdir((root / "d1").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY);
  EXPECT_EQ(::unlink((root / "d1" / "sub").c_str()), -1);
  EXPECT_EQ(errno, EISDIR);

  fs::rename(root / "d1" / "sub", root / "d2" / "sub");  // a directory to another parent
  EXPECT_EQ(fs::hard_link_count(root / "d2"), 3u);
  EXPECT_EQ(fs::hard_link_count(root / "d1"), 2u);

  EXPECT_TRUE(fs::remove(root / "d1" / "h"));
  EXPECT_EQ(fs::hard_link_count(root / "d2" / "g"), 1u);
  EXPECT_TRUE(fs::remove(root / "d1" / "s"));
  EXPECT_TRUE(fs::remove(root / "d1"));
  EXPECT_FALSE(fs::exists(root / "d1"));
  EXPECT_EQ(fs::remove_all(root / "d2"), 3u);
  EXPECT_TRUE(fs::is_empty(root));

  struct statvfs st {};
  ASSERT_EQ(::statvfs(mnt_.c_str(), &st), 0);
  EXPECT_GT(st.f_blocks, 0u);  // capacity reported by the storage servers
  auto stats = client_->StatFs();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(st.f_files - st.f_ffree, stats->inodes);  // the root, and "g" until it is reclaimed
  EXPECT_GE(stats->inodes, 1u);
  EXPECT_EQ(st.f_namemax, 255u);
}

TEST_F(FuseNamespaceTest, UnlinkOfAnOpenFileKeepsItReadable) {
  const fs::path path = fs::path(mnt_) / "open.bin";
  write_text(path, std::string(200000, 'z'));
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  EXPECT_FALSE(fs::exists(path));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // reclaim passes run every 100 ms
  std::string back(200000, '\0');
  EXPECT_EQ(::pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(back, std::string(200000, 'z'));
  ::close(fd);
  EXPECT_TRUE(eventually([&] { return count_chunks(*cluster_) == 0; })) << cluster_->logs();
}

}  // namespace
}  // namespace zcfs
