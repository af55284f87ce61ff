// The FUSE behaviour suite's shared mount and small POSIX helpers.
//
// One cluster (meta + 2 storage servers) and one zcfs-fuse mount serve every test of the binary: the
// environment starts them before the first test and unmounts and stops them after the last, also
// when tests fail (LocalCluster's destructor unmounts even if TearDown is never reached). Each test
// works in its own directory under the mount (TestDir), so tests do not see each other's files.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "file_helpers.h"
#include "support/local_cluster.h"

namespace zcfs::fuse_test {

// The mount point of the shared mount (valid while tests run).
const std::string& mount_point();
testing::LocalCluster& cluster();

// A fresh, empty directory "<mount>/<suite>.<test>" (mode 0777, so non-root callers may use it).
std::string TestDir();

// Inodes in use (statvfs) once the meta server has reclaimed the closed unlinked files of earlier
// tests: two readings three reclaim passes apart agree (at most 10 s).
uint64_t SettledInodesInUse(const std::string& path);
// Inodes in use right now.
uint64_t InodesInUse(const std::string& path);

// The shared mount's daemon, as its SIGUSR1 report in its log shows it.
struct DaemonCounters {
  size_t inodes = 0;    // entries in its inode table
  uint64_t listed = 0;  // references readdirplus has handed out so far
};
// Asks the daemon for a report (SIGUSR1) and waits for it (at most 10 s); nullopt if none came.
std::optional<DaemonCounters> ReportDaemonCounters();
// How often `text` occurs in the daemon's log.
size_t DaemonLogCount(const std::string& text);
// Makes the kernel evict unused dentries and inodes (drop_caches, root only), which sends the daemon
// their forgets.
void DropKernelCaches();
// Polls, dropping caches between looks, until the daemon's table holds at most `bound` inodes (forgets
// arrive asynchronously; at most ~15 s); returns the last count seen.
std::optional<size_t> WaitForInodesAtMost(size_t bound);
// The table's size once it stops shrinking under drop_caches (two equal readings in a row).
std::optional<size_t> SettledDaemonInodes();

// Runs `body` in a forked child whose real, effective and saved ids are `uid`/`gid` (no supplementary
// groups) and returns what `body` returned (an errno, 0 for success), or -1 if the child died.
// `body` must use only syscalls: the child of a multi-threaded process may not allocate safely.
int RunAs(uid_t uid, gid_t gid, const std::function<int()>& body);
inline constexpr uid_t kNobody = 65534;
inline constexpr gid_t kNogroup = 65534;

// Base of the suite's fixtures: each test gets its own directory under the mount.
class MountTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TestDir(); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

}  // namespace zcfs::fuse_test
