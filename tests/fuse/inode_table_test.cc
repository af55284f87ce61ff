// The daemon's inode table follows the kernel's references: stat-ing many files grows it, and once
// the kernel drops its cached inodes (drop_caches) the forgets shrink it again, so it never grows
// without bound. The daemon reports the table's size on SIGUSR1 in its log.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "mount_env.h"
#include "support/process.h"

namespace zcfs::fuse_test {
namespace {

// The zcfs-fuse process serving the shared mount (its command line names the binary and the mount).
pid_t daemon_pid() {
  for (const auto& proc : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(proc.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.rfind(std::string(ZCFS_FUSE_BIN) + '\0', 0) == 0 &&
        cmdline.find('\0' + mount_point() + '\0') != std::string::npos) {
      return static_cast<pid_t>(std::stol(proc.path().filename()));
    }
  }
  return -1;
}

// The last "inode table: N inodes" line of the daemon's log, if any, and how many there are.
std::pair<std::optional<size_t>, size_t> last_report(const std::string& log) {
  static const std::string kMarker = "inode table: ";
  std::optional<size_t> last;
  size_t count = 0;
  for (size_t at = log.find(kMarker); at != std::string::npos; at = log.find(kMarker, at + 1)) {
    last = std::stoul(log.substr(at + kMarker.size()));
    ++count;
  }
  return {last, count};
}

// Asks the daemon for its inode count (SIGUSR1) and waits for the answer in its log.
std::optional<size_t> daemon_inode_count() {
  const std::string log_path = cluster().dir() + "/fuse.log";
  const size_t reports_before = last_report(testing::read_text_file(log_path)).second;
  pid_t pid = daemon_pid();
  if (pid <= 0 || ::kill(pid, SIGUSR1) != 0) return std::nullopt;
  for (int i = 0; i < 200; ++i) {  // at most 10 s
    auto [count, reports] = last_report(testing::read_text_file(log_path));
    if (reports > reports_before) return count;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

// Makes the kernel evict unused dentries and inodes, which sends the daemon their forgets.
void drop_kernel_caches() {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "2\n";
}

// Polls until the daemon's table holds at most `bound` inodes (forgets arrive asynchronously).
std::optional<size_t> wait_for_at_most(size_t bound) {
  std::optional<size_t> count;
  for (int i = 0; i < 50; ++i) {
    count = daemon_inode_count();
    if (!count || *count <= bound) break;
    drop_kernel_caches();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return count;
}

using InodeTableTest = MountTest;

TEST_F(InodeTableTest, ForgetsShrinkTheTableAfterTheKernelDropsItsInodes) {
  if (::geteuid() != 0) GTEST_SKIP() << "drop_caches needs root";
  constexpr size_t kFiles = 1500;
  constexpr size_t kBound = 200;  // what other tests' open directories and the kernel may still hold
  for (size_t i = 0; i < kFiles; ++i) {
    int fd = ::open(Path("f" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ::close(fd);
  }
  for (int round = 0; round < 2; ++round) {
    drop_kernel_caches();
    auto idle = wait_for_at_most(kBound);
    ASSERT_TRUE(idle.has_value()) << "no inode count from the daemon";
    EXPECT_LE(*idle, kBound) << "round " << round << ": forgets did not shrink the table";
    struct stat st {};
    for (size_t i = 0; i < kFiles; ++i) ASSERT_EQ(::stat(Path("f" + std::to_string(i)).c_str(), &st), 0);
    auto busy = daemon_inode_count();
    ASSERT_TRUE(busy.has_value());
    EXPECT_GE(*busy, kFiles) << "round " << round << ": the kernel holds every file it just looked up";
  }
}

}  // namespace
}  // namespace zcfs::fuse_test
