// A zcfs mount when servers fail: a frozen (SIGSTOP) or stopped server fails requests with EIO after
// the mount's io_timeout instead of hanging the program; the mount keeps working after the meta server
// or a storage server restarts, open files included; SIGTERM and SIGINT unmount cleanly, also while a
// request is stuck on a frozen server.
//
// No test asserts how long anything takes: a call that should fail runs on its own thread and the
// test fails only if it has not returned after a generous watchdog (60 s, against an io_timeout of 4 s).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "file_helpers.h"
#include "support/local_cluster.h"

namespace zcfs::fuse_test {
namespace {

constexpr size_t kMiB = 1 << 20;
constexpr auto kWatchdog = std::chrono::seconds(60);

// Starts `call` (which returns an errno, 0 for success) on a thread of its own. The thread is
// detached: if the call never returns, the test fails (Within) and resuming the servers lets it finish.
std::future<int> InBackground(std::function<int()> call) {
  auto result = std::make_shared<std::promise<int>>();
  std::future<int> done = result->get_future();
  std::thread([call = std::move(call), result] { result->set_value(call()); }).detach();
  return done;
}

// The errno `call` returned, or nullopt if it has not returned within the watchdog.
std::optional<int> Within(std::future<int>& call) {
  if (call.wait_for(kWatchdog) != std::future_status::ready) return std::nullopt;
  return call.get();
}

std::optional<int> ErrnoWithinWatchdog(std::function<int()> call) {
  auto done = InBackground(std::move(call));
  return Within(done);
}

// Reads the whole file in 1 MiB calls; 0 if every call succeeded, else the errno of the failing one.
int ReadAllErrno(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  std::string buf(kMiB, '\0');
  int error = 0;
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      error = errno;
      break;
    }
  }
  ::close(fd);
  return error;
}

int StatErrno(const std::string& path) {
  struct stat st {};
  return Errno(::stat(path.c_str(), &st));
}

// The names in `dir` (readdir through the mount).
std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// Whether `path` is a mount point in this process's mount table.
bool Mounted(const std::string& path) {
  std::ifstream table("/proc/self/mountinfo");
  std::string line;
  while (std::getline(table, line)) {
    if (line.find(" " + path + " ") != std::string::npos) return true;
  }
  return false;
}

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::ClusterOptions options;
    options.storage_servers = 2;
    // 1 MiB chunks: an 8 MiB file has chunks on every target of both servers.
    options.meta_flags = {"--meta.chunk_size=1048576"};
    cluster_ = std::make_unique<testing::LocalCluster>("fuse_fault", options);
    Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster_->logs();
  }
  static void TearDownTestSuite() {
    if (!cluster_) return;
    EXPECT_TRUE(cluster_->Stop().ok()) << cluster_->logs();
    cluster_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(cluster_) << "no cluster";
    // A short io_timeout keeps the failing calls quick, yet leaves a healthy server on a loaded CI
    // machine (ctest -j) time to fsync a write. Sessions renew often, so a restarted meta server
    // learns this mount's open files again soon.
    auto mounted = cluster_->Mount({"--io-timeout=4", "--session-renew-ms=300"});
    ASSERT_TRUE(mounted.ok()) << mounted.status().ToString() << "\n" << cluster_->logs();
    mount_ = *mounted;
    dir_ = mount_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0) << dir_ << ": " << std::strerror(errno);
  }
  void TearDown() override {
    // Whatever the test left frozen runs again, so the next test and Stop() find a working cluster.
    (void)cluster_->SignalMeta(SIGCONT);
    for (size_t i = 0; i < 2; ++i) (void)cluster_->SignalStorage(i, SIGCONT);
    Status unmounted = cluster_->Unmount();
    EXPECT_TRUE(unmounted.ok()) << unmounted.ToString() << "\n" << cluster_->logs();
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::unique_ptr<testing::LocalCluster> cluster_;
  std::string mount_;
  std::string dir_;
};
std::unique_ptr<testing::LocalCluster> FaultTest::cluster_;

TEST_F(FaultTest, FrozenStorageServerFailsReadsWithEio) {
  const std::string data = Pattern(8 * kMiB, 1);
  WriteFile(Path("data"), data);
  ASSERT_TRUE(cluster_->SignalStorage(0, SIGSTOP).ok());
  // A fresh open drops the file's page cache (no keep_cache), so the reads go to the servers.
  auto read = ErrnoWithinWatchdog([path = Path("data")] { return ReadAllErrno(path); });
  ASSERT_TRUE(read.has_value()) << "read(2) hung on a frozen storage server";
  EXPECT_EQ(*read, EIO) << std::strerror(*read);

  ASSERT_TRUE(cluster_->SignalStorage(0, SIGCONT).ok());
  EXPECT_TRUE(SameBytes(ReadFile(Path("data")), data)) << "the mount works again once the server resumes";
}

TEST_F(FaultTest, FrozenMetaServerFailsNamespaceCallsWithEio) {
  WriteFile(Path("before"), "x");
  ASSERT_TRUE(cluster_->SignalMeta(SIGSTOP).ok());
  // Names the kernel has not cached: each call has to ask the meta server. All at once, as programs
  // on a node would.
  auto stat_call = InBackground([path = Path("uncached")] { return StatErrno(path); });
  auto open_call = InBackground([path = Path("uncached2")] { return Errno(::open(path.c_str(), O_RDONLY)); });
  auto mkdir_call = InBackground([path = Path("newdir")] { return Errno(::mkdir(path.c_str(), 0755)); });
  auto stat = Within(stat_call);
  auto open = Within(open_call);
  auto mkdir = Within(mkdir_call);
  ASSERT_TRUE(stat && open && mkdir) << "a call hung on a frozen meta server";
  EXPECT_EQ(*stat, EIO) << std::strerror(*stat);
  EXPECT_EQ(*open, EIO) << std::strerror(*open);
  EXPECT_EQ(*mkdir, EIO) << std::strerror(*mkdir);

  ASSERT_TRUE(cluster_->SignalMeta(SIGCONT).ok());
  // mkdir may have been done by the meta server after the mount gave up on it.
  if (StatErrno(Path("newdir")) == ENOENT) EXPECT_EQ(Errno(::mkdir(Path("newdir").c_str(), 0755)), 0);
  EXPECT_EQ(StatErrno(Path("newdir")), 0);
  EXPECT_EQ(ReadFile(Path("before")), "x");
}

TEST_F(FaultTest, StoppedMetaServerFailsWithEioAndARestartedOneServesTheMountAgain) {
  const std::string data = Pattern(3 * kMiB + 17, 2);
  WriteFile(Path("old"), data);
  int held = ::open(Path("old").c_str(), O_RDWR);  // open across the restart
  ASSERT_GE(held, 0) << std::strerror(errno);

  ASSERT_TRUE(cluster_->KillMeta().ok());
  auto stat = ErrnoWithinWatchdog([path = Path("uncached")] { return StatErrno(path); });
  ASSERT_TRUE(stat.has_value()) << "stat hung with the meta server gone";
  EXPECT_EQ(*stat, EIO) << std::strerror(*stat);
  ASSERT_TRUE(cluster_->RestartMeta().ok()) << cluster_->logs();

  // Without remounting: existing files read, new ones are created and listed.
  EXPECT_TRUE(SameBytes(ReadFile(Path("old")), data));
  WriteFile(Path("new"), data.substr(0, kMiB));
  EXPECT_TRUE(SameBytes(ReadFile(Path("new")), data.substr(0, kMiB)));
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"new", "old"}));
  // The handle opened before the restart still reads and writes; its size reaches the new meta server.
  std::string head;
  EXPECT_TRUE(PReadAll(held, &head, 4096, 0)) << std::strerror(errno);
  EXPECT_TRUE(SameBytes(head, data.substr(0, 4096)));
  EXPECT_TRUE(PWriteAll(held, "tail", static_cast<off_t>(data.size()))) << std::strerror(errno);
  EXPECT_EQ(::close(held), 0) << std::strerror(errno);
  EXPECT_TRUE(SameBytes(ReadFile(Path("old")), data + "tail"));
}

TEST_F(FaultTest, RestartedStorageServersAreFoundAtTheirNewAddresses) {
  const std::string data = Pattern(8 * kMiB, 3);
  WriteFile(Path("old"), data);
  int held = ::open(Path("old").c_str(), O_RDONLY);
  ASSERT_GE(held, 0) << std::strerror(errno);
  for (size_t i = 0; i < 2; ++i) ASSERT_TRUE(cluster_->RestartStorage(i).ok()) << cluster_->logs();

  // Writes first: nothing has read since the restart, so the mount's routing table is stale.
  WriteFile(Path("new"), data);
  EXPECT_TRUE(SameBytes(ReadFile(Path("new")), data));
  EXPECT_TRUE(SameBytes(ReadFile(Path("old")), data));
  std::string all;
  EXPECT_TRUE(PReadAll(held, &all, data.size(), 0)) << std::strerror(errno);
  EXPECT_TRUE(SameBytes(all, data)) << "a handle opened before the restart";
  ::close(held);
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"new", "old"}));
}

TEST_F(FaultTest, SigtermWhileAReadIsStuckUnmountsCleanly) {
  WriteFile(Path("data"), Pattern(8 * kMiB, 4));
  ASSERT_TRUE(cluster_->SignalStorage(0, SIGSTOP).ok());
  auto read = InBackground([path = Path("data")] { return ReadAllErrno(path); });
  // Let the read reach the daemon (if it has not yet, the unmount fails it just the same).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  ASSERT_TRUE(cluster_->SignalFuse(SIGTERM).ok());
  auto code = cluster_->WaitFuse(kWatchdog);
  ASSERT_TRUE(code.ok()) << "zcfs-fuse did not exit on SIGTERM with a request stuck";
  EXPECT_EQ(*code, 0) << cluster_->logs();
  auto error = Within(read);
  ASSERT_TRUE(error.has_value()) << "the stuck read never returned";
  // The read fails, not hangs: with EIO if the daemon answered it before unmounting, else the kernel
  // ends it with the connection (ECONNABORTED when the unmount aborts it, ENOTCONN after).
  EXPECT_TRUE(*error == EIO || *error == ECONNABORTED || *error == ENOTCONN) << std::strerror(*error);
  EXPECT_FALSE(Mounted(mount_)) << mount_ << " is still mounted";
  EXPECT_EQ(StatErrno(mount_), 0) << "the mount point must be a plain directory again";
}

TEST_F(FaultTest, SigintUnmountsCleanly) {
  WriteFile(Path("data"), "x");
  ASSERT_TRUE(cluster_->SignalFuse(SIGINT).ok());
  auto code = cluster_->WaitFuse(kWatchdog);
  ASSERT_TRUE(code.ok()) << "zcfs-fuse did not exit on SIGINT";
  EXPECT_EQ(*code, 0) << cluster_->logs();
  EXPECT_FALSE(Mounted(mount_)) << mount_ << " is still mounted";
  EXPECT_EQ(StatErrno(mount_), 0) << "the mount point must be a plain directory again, not ENOTCONN";
  EXPECT_EQ(StatErrno(Path("data")), ENOENT) << "the file lives in the cluster, not in the mount point";
}

}  // namespace
}  // namespace zcfs::fuse_test
