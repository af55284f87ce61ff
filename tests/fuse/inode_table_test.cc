// The daemon's inode table follows the kernel's references: stat-ing many files grows it, and once
// the kernel drops its cached inodes (drop_caches) the forgets shrink it again, so it never grows
// without bound. The daemon reports the table's size on SIGUSR1 in its log.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

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
    DropKernelCaches();
    auto idle = WaitForInodesAtMost(kBound);
    ASSERT_TRUE(idle.has_value()) << "no inode count from the daemon";
    EXPECT_LE(*idle, kBound) << "round " << round << ": forgets did not shrink the table";
    struct stat st {};
    for (size_t i = 0; i < kFiles; ++i) ASSERT_EQ(::stat(Path("f" + std::to_string(i)).c_str(), &st), 0);
    auto busy = ReportDaemonCounters();
    ASSERT_TRUE(busy.has_value());
    EXPECT_GE(busy->inodes, kFiles) << "round " << round << ": the kernel holds every file it just looked up";
  }
}

}  // namespace
}  // namespace zcfs::fuse_test
