// Listing through readdirplus: an `ls -l` of a large directory sees every name with its own size and
// mode; every entry readdirplus hands the kernel is one lookup reference in the daemon's inode table, so
// once the kernel drops its caches the table is back where it was (an entry counted but never sent,
// or sent twice, would stay behind; one sent but not counted shows as a warning about a forget of
// more references than were given); and a directory the caller may read but not search still lists.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

using ReaddirplusTest = MountTest;

constexpr mode_t kModes[] = {0640, 0604, 0751};

// Names of different lengths, so entries end at every place in the kernel's 4 KiB reply pages.
std::string name_of(size_t i) { return "entry-" + std::to_string(i) + "-" + std::string(i % 41, 'n'); }
off_t size_of(size_t i) { return static_cast<off_t>(i * 7); }

// What `ls -l` does: read the names and stat each one. Through getdents64 with a 4 KiB buffer, so the
// kernel asks for many small pages (glibc's readdir asks for up to 1 MiB at once, which holds all of
// this test's entries in one reply).
std::map<std::string, struct stat> list_long(const std::string& dir) {
  std::map<std::string, struct stat> listed;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    ADD_FAILURE() << "open " << dir << ": " << std::strerror(errno);
    return listed;
  }
  alignas(8) char buf[4096];
  long n;
  while ((n = ::syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
    for (long at = 0; at < n;) {
      auto* e = reinterpret_cast<const dirent64*>(buf + at);
      at += e->d_reclen;
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        ADD_FAILURE() << "stat " << name << ": " << std::strerror(errno);
      }
      if (!listed.emplace(name, st).second) ADD_FAILURE() << name << " listed twice";
    }
  }
  if (n < 0) ADD_FAILURE() << "getdents64 " << dir << ": " << std::strerror(errno);
  ::close(fd);
  return listed;
}

TEST_F(ReaddirplusTest, LongListingOfALargeDirectoryCountsEachEntryOnce) {
  constexpr size_t kFiles = 3000;
  const mode_t umask_before = ::umask(0);  // the modes as given: no chmod per file
  for (size_t i = 0; i < kFiles; ++i) {
    int fd = ::open(Path(name_of(i)).c_str(), O_WRONLY | O_CREAT | O_EXCL, kModes[i % 3]);
    ASSERT_GE(fd, 0) << name_of(i) << ": " << std::strerror(errno);
    ASSERT_EQ(::ftruncate(fd, size_of(i)), 0) << std::strerror(errno);
    ::close(fd);
  }
  ::umask(umask_before);
  const bool root = ::geteuid() == 0;
  std::optional<size_t> idle;
  if (root) {
    idle = SettledDaemonInodes();  // the kernel now holds none of the new files
    ASSERT_TRUE(idle.has_value()) << "no report from the daemon";
  }
  const size_t warnings_before = DaemonLogCount("forget of");
  auto before = ReportDaemonCounters();
  ASSERT_TRUE(before.has_value());

  auto listed = list_long(dir_);
  ASSERT_EQ(listed.size(), kFiles);
  for (size_t i = 0; i < kFiles; ++i) {
    auto it = listed.find(name_of(i));
    ASSERT_NE(it, listed.end()) << name_of(i) << " is missing";
    EXPECT_EQ(it->second.st_size, size_of(i)) << name_of(i);
    EXPECT_EQ(it->second.st_mode, S_IFREG | kModes[i % 3]) << name_of(i);
  }

  // glibc's readdir asks for up to 1 MiB at a time, more than one readdirplus reply carries.
  size_t names = 0;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) names += e->d_name[0] != '.';
    ::closedir(d);
  }
  EXPECT_EQ(names, kFiles) << "listed through readdir(3)";

  auto after = ReportDaemonCounters();
  ASSERT_TRUE(after.has_value());
  // The kernel lists with attributes from the first page on, and keeps doing so as long as the program
  // looks at what it lists (adaptive readdirplus). Half leaves room for a page that went plain because
  // a stat came after its entries' 1 s timeout on a loaded machine.
  EXPECT_GE(after->listed - before->listed, kFiles / 2) << "the listing did not go through readdirplus";
  if (root) {
    auto settled = WaitForInodesAtMost(*idle);
    ASSERT_TRUE(settled.has_value());
    EXPECT_LE(*settled, *idle) << "inodes the kernel was given by the listing stayed in the table after it forgot";
  }
  EXPECT_EQ(DaemonLogCount("forget of"), warnings_before) << "the kernel forgot references it was never counted for";
}

// Raw getdents64 (RunAs bodies may only make syscalls): the number of names other than . and ..,
// or -errno.
int count_names(int fd) {
  alignas(8) char buf[4096];
  int names = 0;
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) return -errno;
    if (n == 0) return names;
    for (long at = 0; at < n;) {
      auto* e = reinterpret_cast<const dirent64*>(buf + at);
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++names;
      at += e->d_reclen;
    }
  }
}

TEST_F(ReaddirplusTest, DirectoryReadableButNotSearchableStillLists) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  const std::string dir = Path("closed");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << std::strerror(errno);
  for (const char* name : {"a", "b", "c"}) WriteFile(dir + "/" + name, "x");
  ASSERT_EQ(::chmod(dir.c_str(), 0744), 0) << std::strerror(errno);  // others: read, no search
  DropKernelCaches();  // the names must come from the listing, not from root's lookups above

  const std::string closed = dir;
  int listed = RunAs(kNobody, kNogroup, [&closed] {
    int fd = ::open(closed.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return 100 + errno;
    int names = count_names(fd);
    ::close(fd);
    return names < 0 ? 100 - names : names;
  });
  EXPECT_EQ(listed, 3) << "3 names, or 100 + errno";
  const std::string inside = dir + "/a";
  int stat_errno = RunAs(kNobody, kNogroup, [&inside] {
    struct stat st {};
    return Errno(::stat(inside.c_str(), &st));
  });
  EXPECT_EQ(stat_errno, EACCES);
}

}  // namespace
}  // namespace zcfs::fuse_test
