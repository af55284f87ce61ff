#include "mount_env.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "support/process.h"

namespace zcfs::fuse_test {
namespace {

std::unique_ptr<testing::LocalCluster> g_cluster;
std::string g_mount_point;

class MountEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    testing::ClusterOptions options;
    options.storage_servers = 2;
    // Unlinked files are reclaimed quickly (a short lease lets reclaims start soon after the meta
    // server does), so a test can see a closed file go.
    options.meta_flags = {"--meta.reclaim_interval=100", "--meta.session_lease=3000"};
    g_cluster = std::make_unique<testing::LocalCluster>("fuse_posix", options);
    Status started = g_cluster->Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << g_cluster->logs();
    // allow_other: the permission tests run as `nobody`, whom FUSE turns away from a mount without it.
    auto mounted = g_cluster->Mount({"--allow-other", "--session-renew-ms=500"});
    ASSERT_TRUE(mounted.ok()) << mounted.status().ToString() << "\n" << g_cluster->logs();
    g_mount_point = *mounted;
  }

  void TearDown() override {
    if (!g_cluster) return;
    Status unmounted = g_cluster->Unmount();
    EXPECT_TRUE(unmounted.ok()) << unmounted.ToString() << "\n" << g_cluster->logs();
    Status stopped = g_cluster->Stop();
    EXPECT_TRUE(stopped.ok()) << stopped.ToString();
    g_cluster.reset();
  }
};

}  // namespace

const std::string& mount_point() { return g_mount_point; }
testing::LocalCluster& cluster() { return *g_cluster; }

std::string TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = g_mount_point + "/" + info->test_suite_name() + "." + info->name();
  if (::mkdir(dir.c_str(), 0777) != 0) ADD_FAILURE() << "mkdir " << dir << ": " << std::strerror(errno);
  if (::chmod(dir.c_str(), 0777) != 0) ADD_FAILURE() << "chmod " << dir << ": " << std::strerror(errno);  // umask
  return dir;
}

uint64_t InodesInUse(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) ADD_FAILURE() << "statvfs " << path << ": " << std::strerror(errno);
  return st.f_files - st.f_ffree;
}

uint64_t SettledInodesInUse(const std::string& path) {
  uint64_t last = InodesInUse(path);
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the cluster reclaims every 100 ms
    uint64_t now = InodesInUse(path);
    if (now == last) break;
    last = now;
  }
  return last;
}

namespace {

std::string daemon_log() { return testing::read_text_file(g_cluster->dir() + "/fuse.log"); }

// The number after the last `marker` in `log`, and how many times `marker` occurs.
std::pair<std::optional<uint64_t>, size_t> last_number_after(const std::string& log, const std::string& marker) {
  std::optional<uint64_t> last;
  size_t count = 0;
  for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    last = std::stoull(log.substr(at + marker.size()));
    ++count;
  }
  return {last, count};
}

}  // namespace

std::optional<DaemonCounters> ReportDaemonCounters() {
  static const std::string kInodes = "inode table: ";
  static const std::string kListed = "readdirplus entries: ";
  const size_t reports_before = last_number_after(daemon_log(), kListed).second;
  pid_t pid = g_cluster->fuse_pid();
  if (pid <= 0 || ::kill(pid, SIGUSR1) != 0) return std::nullopt;
  for (int i = 0; i < 200; ++i) {  // at most 10 s
    std::string log = daemon_log();
    auto [listed, reports] = last_number_after(log, kListed);
    if (reports > reports_before) return DaemonCounters{*last_number_after(log, kInodes).first, *listed};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

size_t DaemonLogCount(const std::string& text) {
  std::string log = daemon_log();
  size_t count = 0;
  for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++count;
  return count;
}

void DropKernelCaches() {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "2\n";
}

std::optional<size_t> WaitForInodesAtMost(size_t bound) {
  std::optional<size_t> count;
  for (int i = 0; i < 50; ++i) {
    auto report = ReportDaemonCounters();
    if (!report) return std::nullopt;
    count = report->inodes;
    if (*count <= bound) break;
    DropKernelCaches();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return count;
}

std::optional<size_t> SettledDaemonInodes() {
  std::optional<size_t> last;
  for (int i = 0; i < 30; ++i) {
    DropKernelCaches();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto report = ReportDaemonCounters();
    if (!report) return std::nullopt;
    if (last == report->inodes) break;
    last = report->inodes;
  }
  return last;
}

int RunAs(uid_t uid, gid_t gid, const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0) {
      ::_exit(255);
    }
    ::_exit(body() & 0xff);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) != 255 ? WEXITSTATUS(status) : -1;
}

}  // namespace zcfs::fuse_test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new zcfs::fuse_test::MountEnvironment);
  return RUN_ALL_TESTS();
}
