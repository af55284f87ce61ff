// Attributes through a real zcfs mount: stat fields, timestamps, chmod/chown/utimensat, statfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

using PosixAttrTest = MountTest;

struct stat must_stat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

int64_t ns(const timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

// Timestamps have nanosecond resolution; a short pause makes "later" distinguishable from "same".
void tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

TEST_F(PosixAttrTest, StatOfANewFile) {
  const mode_t old_umask = ::umask(022);
  int fd = ::open(Path("f").c_str(), O_RDWR | O_CREAT | O_EXCL, 0666);
  ::umask(old_umask);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_TRUE(PWriteAll(fd, Pattern(12345, 1), 0));
  ::close(fd);
  struct stat st = must_stat(Path("f"));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);  // the umask applies
  EXPECT_EQ(st.st_size, 12345);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(st.st_gid, ::getgid());
  EXPECT_GE(st.st_blocks * 512, 12345);
  EXPECT_GT(st.st_ino, 1u);
  struct stat lst {};
  ASSERT_EQ(::lstat(Path("f").c_str(), &lst), 0);
  EXPECT_EQ(lst.st_ino, st.st_ino);
}

TEST_F(PosixAttrTest, WriteMovesMtimeAndCtime) {
  WriteFile(Path("f"), "0123456789");
  const struct stat before = must_stat(Path("f"));
  tick();
  int fd = ::open(Path("f").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(PWriteAll(fd, "ab", 3));  // inside the file: the size does not change
  struct stat during {};
  ASSERT_EQ(::fstat(fd, &during), 0);
  EXPECT_GT(ns(during.st_mtim), ns(before.st_mtim)) << "mtime before close";
  ::close(fd);
  const struct stat after = must_stat(Path("f"));
  EXPECT_GT(ns(after.st_mtim), ns(before.st_mtim));
  EXPECT_GT(ns(after.st_ctim), ns(before.st_ctim));
  EXPECT_EQ(after.st_size, 10);
}

TEST_F(PosixAttrTest, RenameAndChmodMoveCtime) {
  WriteFile(Path("f"), "x");
  const struct stat before = must_stat(Path("f"));
  const struct stat dir_before = must_stat(dir_);
  tick();
  ASSERT_EQ(::rename(Path("f").c_str(), Path("g").c_str()), 0);
  const struct stat renamed = must_stat(Path("g"));
  EXPECT_GT(ns(renamed.st_ctim), ns(before.st_ctim));
  EXPECT_EQ(ns(renamed.st_mtim), ns(before.st_mtim));  // the data did not change
  const struct stat dir_after = must_stat(dir_);
  EXPECT_GT(ns(dir_after.st_mtim), ns(dir_before.st_mtim));  // the directory's entries did
  tick();
  ASSERT_EQ(::chmod(Path("g").c_str(), 0600), 0) << std::strerror(errno);
  const struct stat chmodded = must_stat(Path("g"));
  EXPECT_EQ(chmodded.st_mode & 07777, 0600u);
  EXPECT_GT(ns(chmodded.st_ctim), ns(renamed.st_ctim));
}

TEST_F(PosixAttrTest, ChownAndUtimensat) {
  WriteFile(Path("f"), "x");
  ASSERT_EQ(::chown(Path("f").c_str(), 1234, 5678), 0) << std::strerror(errno);
  struct stat st = must_stat(Path("f"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(::chown(Path("f").c_str(), static_cast<uid_t>(-1), 42), 0);  // -1 leaves the owner alone
  st = must_stat(Path("f"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 42u);

  const timespec times[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("f").c_str(), times, 0), 0) << std::strerror(errno);
  st = must_stat(Path("f"));
  EXPECT_EQ(ns(st.st_atim), ns(times[0]));
  EXPECT_EQ(ns(st.st_mtim), ns(times[1]));
  // UTIME_OMIT keeps a time, UTIME_NOW takes the current one.
  const timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Path("f").c_str(), now_omit, 0), 0) << std::strerror(errno);
  st = must_stat(Path("f"));
  EXPECT_GT(st.st_atim.tv_sec, times[0].tv_sec);
  EXPECT_EQ(ns(st.st_mtim), ns(times[1]));
}

TEST_F(PosixAttrTest, StatfsReportsCapacityAndInodes) {
  struct statvfs before {};
  ASSERT_EQ(::statvfs(dir_.c_str(), &before), 0) << std::strerror(errno);
  EXPECT_GT(before.f_bsize, 0u);
  EXPECT_GT(before.f_blocks, 0u);
  EXPECT_LE(before.f_bfree, before.f_blocks);
  EXPECT_LE(before.f_bavail, before.f_bfree);
  EXPECT_EQ(before.f_namemax, 255u);
  EXPECT_GE(before.f_files, before.f_ffree);
  const uint64_t used = SettledInodesInUse(dir_);
  WriteFile(Path("f"), "x");
  EXPECT_EQ(InodesInUse(dir_), used + 1);
}

}  // namespace
}  // namespace zcfs::fuse_test
