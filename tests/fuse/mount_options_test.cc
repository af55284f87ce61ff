// zcfs-fuse's mount options on real mounts: -o ro, keep_cache, direct_io, 1 MiB read requests, the
// argv form mount.fuse3 uses for fstab lines, and the refusal of unknown options.
//
// One cluster serves every test; a writable mount (LocalCluster::Mount) writes the data, and each test
// starts its own daemon at its own mount point (MountedDaemon), unmounted whatever the test's outcome.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "support/local_cluster.h"
#include "support/process.h"

namespace zcfs::fuse_test {
namespace {

using testing::ChildProcess;
constexpr size_t kMiB = 1 << 20;

int Errno(long rc) { return rc < 0 ? errno : 0; }

std::string Pattern(size_t size) {
  std::string out(size, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (char& c : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size())) << std::strerror(errno);
  EXPECT_EQ(::close(fd), 0) << std::strerror(errno);
}

// The whole file, read in 256 KiB calls.
std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    ADD_FAILURE() << path << ": " << std::strerror(errno);
    return out;
  }
  std::string chunk(256 * 1024, '\0');
  for (ssize_t n; (n = ::read(fd, chunk.data(), chunk.size())) > 0;) out.append(chunk.data(), static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// Compares bytes without printing megabytes.
::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  auto diff = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << "; first difference at " << (diff.first - got.begin());
}

// A zcfs-fuse process of the test's own, at <cluster>/<name>; stopped with SIGTERM (a clean unmount)
// and lazily unmounted in any case when it goes out of scope.
class MountedDaemon {
 public:
  MountedDaemon(testing::LocalCluster& cluster, const std::string& name)
      : mount_point_(cluster.dir() + "/" + name), log_(cluster.dir() + "/" + name + ".log") {
    std::filesystem::create_directories(mount_point_);
  }
  ~MountedDaemon() {
    if (child_.running()) {
      child_.Signal(SIGTERM);
      (void)child_.Wait(std::chrono::seconds(10));
    }
    ::umount2(mount_point_.c_str(), MNT_DETACH);
  }

  // Starts `zcfs-fuse --meta=... <flags> MOUNTPOINT` and waits until it is mounted.
  ::testing::AssertionResult Start(const std::string& meta, const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {ZCFS_FUSE_BIN, "--meta=" + meta, "--ready-file=" + log_ + ".ready"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(mount_point_);
    auto child = ChildProcess::Spawn(argv, log_);
    if (!child.ok()) return ::testing::AssertionFailure() << child.status().ToString();
    child_ = std::move(child).value();
    auto ready = testing::wait_for_file(log_ + ".ready", std::chrono::seconds(30));
    if (!ready.ok()) return ::testing::AssertionFailure() << "not mounted:\n" << testing::read_text_file(log_);
    return ::testing::AssertionSuccess();
  }

  // The largest read request the daemon has seen, from its SIGUSR1 report.
  std::optional<uint64_t> LargestRead() {
    static const std::string kMarker = "largest read request: ";
    child_.Signal(SIGUSR1);
    for (int i = 0; i < 200; ++i) {  // at most 10 s
      std::string log = testing::read_text_file(log_);
      size_t at = log.rfind(kMarker);
      if (at != std::string::npos) return std::stoull(log.substr(at + kMarker.size()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  std::string Path(const std::string& rel) const { return mount_point_ + "/" + rel; }
  const std::string& mount_point() const { return mount_point_; }
  const std::string& log() const { return log_; }

 private:
  std::string mount_point_;
  std::string log_;
  ChildProcess child_;
};

class MountOptionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::ClusterOptions options;
    options.storage_servers = 2;
    cluster_ = std::make_unique<testing::LocalCluster>("fuse_mount_options", options);
    Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster_->logs();
    auto writer = cluster_->Mount();
    ASSERT_TRUE(writer.ok()) << writer.status().ToString() << "\n" << cluster_->logs();
    // 3 MiB + a bit: whole 1 MiB requests and a short tail.
    data_ = Pattern(3 * kMiB + 4321);
    WriteFile(*writer + "/data", data_);
    ASSERT_EQ(::mkdir((*writer + "/dir").c_str(), 0755), 0) << std::strerror(errno);
    WriteFile(*writer + "/dir/victim", "x");
  }
  static void TearDownTestSuite() {
    if (!cluster_) return;
    EXPECT_TRUE(cluster_->Unmount().ok());
    EXPECT_TRUE(cluster_->Stop().ok());
    cluster_.reset();
  }
  static std::string meta() { return cluster_->meta_address(); }

  static std::unique_ptr<testing::LocalCluster> cluster_;
  static std::string data_;
};
std::unique_ptr<testing::LocalCluster> MountOptionsTest::cluster_;
std::string MountOptionsTest::data_;

TEST_F(MountOptionsTest, ReadOnlyRefusesChangesWithErofsAndStillReads) {
  MountedDaemon mount(*cluster_, "ro");
  ASSERT_TRUE(mount.Start(meta(), {"-o", "ro"}));
  EXPECT_EQ(Errno(::open(mount.Path("new").c_str(), O_WRONLY | O_CREAT, 0644)), EROFS);
  EXPECT_EQ(Errno(::open(mount.Path("data").c_str(), O_WRONLY)), EROFS);
  EXPECT_EQ(Errno(::open(mount.Path("data").c_str(), O_RDWR | O_TRUNC)), EROFS);
  EXPECT_EQ(Errno(::unlink(mount.Path("dir/victim").c_str())), EROFS);
  EXPECT_EQ(Errno(::mkdir(mount.Path("newdir").c_str(), 0755)), EROFS);
  EXPECT_EQ(Errno(::rename(mount.Path("dir/victim").c_str(), mount.Path("moved").c_str())), EROFS);
  EXPECT_TRUE(SameBytes(ReadFile(mount.Path("data")), data_));
  struct stat st {};
  EXPECT_EQ(::stat(mount.Path("dir/victim").c_str(), &st), 0) << "unlink must not have happened";
}

TEST_F(MountOptionsTest, KeepCacheAndDirectIoMountsReadTheRightBytes) {
  // With the daemon's read-ahead off, with a window wider than its pool (reads fall back to direct), and
  // with replies spliced through a pipe (or, where pipes cannot grow to 2 MiB, written as usual).
  const char* options[] = {"keep_cache",
                           "direct_io",
                           "ro,keep_cache,entry_timeout=30,attr_timeout=30",
                           "readahead_kb=0",
                           "direct_io,readahead_kb=8192,readahead_pool_mb=2",
                           "splice",
                           "direct_io,splice,readahead_kb=0"};
  for (size_t i = 0; i < std::size(options); ++i) {
    const char* option = options[i];
    SCOPED_TRACE(option);
    MountedDaemon mount(*cluster_, "cache_" + std::to_string(i));
    ASSERT_TRUE(mount.Start(meta(), {"-o", option}));
    // Twice: the second open finds the first one's page cache (keep_cache) or none at all (direct_io).
    EXPECT_TRUE(SameBytes(ReadFile(mount.Path("data")), data_));
    EXPECT_TRUE(SameBytes(ReadFile(mount.Path("data")), data_));
  }
}

TEST_F(MountOptionsTest, OneMibPreadIsOneRequest) {
  MountedDaemon mount(*cluster_, "mib");
  ASSERT_TRUE(mount.Start(meta(), {"--direct-io"}));
  int fd = ::open(mount.Path("data").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  // A page-aligned buffer: an unaligned one spans 257 pages, one more than a request may carry.
  std::unique_ptr<char, decltype(&std::free)> buffer(static_cast<char*>(std::aligned_alloc(4096, kMiB)), &std::free);
  ssize_t n = ::pread(fd, buffer.get(), kMiB, static_cast<off_t>(kMiB + 512));
  ::close(fd);
  std::string got(buffer.get(), kMiB);
  ASSERT_EQ(n, static_cast<ssize_t>(kMiB)) << std::strerror(errno);
  EXPECT_TRUE(SameBytes(got, data_.substr(kMiB + 512, kMiB)));
  // Without max_pages 256 (max_write 1 MiB) and max_read 1 MiB the kernel splits it into 128 KiB pieces.
  EXPECT_EQ(mount.LargestRead(), kMiB) << testing::read_text_file(mount.log());
}

// The kernel caps a FUSE mount's read-ahead at the device's read_ahead_kb (128 KiB by default); the
// daemon raises it to 1 MiB when it mounts (kernel_readahead.h), so buffered reads reach 1 MiB too.
TEST_F(MountOptionsTest, DaemonRaisesTheKernelReadAheadSoBufferedReadsReachOneMib) {
  MountedDaemon mount(*cluster_, "buffered");
  ASSERT_TRUE(mount.Start(meta(), {}));
  struct stat st {};
  ASSERT_EQ(::stat(mount.mount_point().c_str(), &st), 0) << std::strerror(errno);
  std::string knob =
      "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  EXPECT_EQ(testing::read_text_file(knob), "1024\n") << knob;
  int fd = ::open(mount.Path("data").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::string got(kMiB, '\0');
  EXPECT_EQ(::read(fd, got.data(), kMiB), static_cast<ssize_t>(kMiB));
  ::close(fd);
  EXPECT_TRUE(SameBytes(got, data_.substr(0, kMiB)));
  EXPECT_EQ(mount.LargestRead(), kMiB) << testing::read_text_file(mount.log());
}

// The argv mount.fuse3 builds from an fstab line; mount(8) waits for it, so the daemon must return
// once the mount is up and keep serving in the background.
TEST_F(MountOptionsTest, FstabFormMountsAndDetaches) {
  MountedDaemon mount(*cluster_, "fstab");
  // mount.fuse3 runs the file system by its name (the part after "fuse.") from PATH.
  std::string path = "PATH=" + std::filesystem::path(ZCFS_FUSE_BIN).parent_path().string() + ":" + std::getenv("PATH");
  auto [code, output] = testing::run_to_exit(
      {"/usr/bin/env", path, "/usr/sbin/mount.fuse3", "zcfs://" + meta(), mount.mount_point(), "-t", "fuse.zcfs-fuse",
       "-o", "ro,keep_cache,_netdev,nodev,nosuid,entry_timeout=5,attr_timeout=5"},
      mount.log(), std::chrono::seconds(30));
  ASSERT_EQ(code, 0) << output;
  EXPECT_TRUE(SameBytes(ReadFile(mount.Path("data")), data_));
  EXPECT_EQ(Errno(::mkdir(mount.Path("newdir").c_str(), 0755)), EROFS);
  auto [unmounted, unmount_output] = testing::run_to_exit({"/usr/bin/fusermount3", "-u", mount.mount_point()},
                                                          mount.log() + ".umount", std::chrono::seconds(30));
  EXPECT_EQ(unmounted, 0) << unmount_output;
}

TEST_F(MountOptionsTest, UnknownOptionExitsWithTwoAndNamesIt) {
  std::string log = cluster_->dir() + "/unknown.log";
  auto [code, output] = testing::run_to_exit({ZCFS_FUSE_BIN, "--meta=" + meta(), "-o", "ro,kep_cache", cluster_->dir()},
                                             log, std::chrono::seconds(30));
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("unknown mount option 'kep_cache'"), std::string::npos) << output;
}

TEST_F(MountOptionsTest, ReadAheadOutOfRangeExitsWithTwo) {
  std::string log = cluster_->dir() + "/readahead.log";
  auto [code, output] = testing::run_to_exit(
      {ZCFS_FUSE_BIN, "--meta=" + meta(), "-o", "readahead_kb=-4", cluster_->dir()}, log, std::chrono::seconds(30));
  EXPECT_EQ(code, 2);
  EXPECT_NE(output.find("readahead_kb must be"), std::string::npos) << output;
}

}  // namespace
}  // namespace zcfs::fuse_test
