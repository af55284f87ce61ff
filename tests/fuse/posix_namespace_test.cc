// POSIX namespace behaviour through a real zcfs mount: rename in all its forms, hard links,
// symbolic links, mkdir/rmdir and large directories. Errno values are exact (as ext4).
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

using PosixNamespaceTest = MountTest;

int renameat2(const std::string& from, const std::string& to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags));
}

struct stat must_stat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Every name readdir returns (without . and ..), with how often it came.
std::map<std::string, int> list_dir(const std::string& dir) {
  std::map<std::string, int> names;
  DIR* d = ::opendir(dir.c_str());
  EXPECT_NE(d, nullptr) << dir << ": " << std::strerror(errno);
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++names[e->d_name];
  }
  ::closedir(d);
  return names;
}

TEST_F(PosixNamespaceTest, RenameOverAFileReplacesItAtomically) {
  WriteFile(Path("a"), "new contents");
  WriteFile(Path("b"), "old contents");
  int old_fd = ::open(Path("b").c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  const ino_t a_ino = must_stat(Path("a")).st_ino;
  ASSERT_EQ(::rename(Path("a").c_str(), Path("b").c_str()), 0) << std::strerror(errno);
  EXPECT_FALSE(exists(Path("a")));
  EXPECT_EQ(must_stat(Path("b")).st_ino, a_ino);
  EXPECT_EQ(ReadFile(Path("b")), "new contents");
  // The replaced file lives on for whoever had it open.
  std::string got;
  ASSERT_TRUE(PReadAll(old_fd, &got, 100, 0));
  EXPECT_EQ(got, "old contents");
  ::close(old_fd);
  // Renaming a name onto itself (or a hard link of itself) does nothing.
  ASSERT_EQ(::rename(Path("b").c_str(), Path("b").c_str()), 0);
  EXPECT_EQ(ReadFile(Path("b")), "new contents");
  EXPECT_EQ(Errno(::rename(Path("missing").c_str(), Path("c").c_str())), ENOENT);
}

TEST_F(PosixNamespaceTest, RenameOfDirectoriesFollowsTheTypeRules) {
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0755), 0);
  WriteFile(Path("d/inside"), "x");
  ASSERT_EQ(::mkdir(Path("empty").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(Path("full").c_str(), 0755), 0);
  WriteFile(Path("full/f"), "y");
  WriteFile(Path("file"), "z");
  EXPECT_EQ(Errno(::rename(Path("d").c_str(), Path("full").c_str())), ENOTEMPTY);
  EXPECT_EQ(Errno(::rename(Path("d").c_str(), Path("file").c_str())), ENOTDIR);
  EXPECT_EQ(Errno(::rename(Path("file").c_str(), Path("empty").c_str())), EISDIR);
  EXPECT_EQ(Errno(::rename(Path("d").c_str(), Path("d/sub").c_str())), EINVAL);  // into itself
  ASSERT_EQ(::mkdir(Path("d/deeper").c_str(), 0755), 0);
  EXPECT_EQ(Errno(::rename(Path("d").c_str(), Path("d/deeper/x").c_str())), EINVAL);
  // A directory over an empty one replaces it; its contents move along.
  ASSERT_EQ(::rename(Path("d").c_str(), Path("empty").c_str()), 0) << std::strerror(errno);
  EXPECT_FALSE(exists(Path("d")));
  EXPECT_EQ(ReadFile(Path("empty/inside")), "x");
  // Into another parent: the link counts of both parents follow.
  const nlink_t before = must_stat(Path("full")).st_nlink;
  ASSERT_EQ(::rename(Path("empty/deeper").c_str(), Path("full/deeper").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(must_stat(Path("full")).st_nlink, before + 1);
  EXPECT_EQ(must_stat(Path("empty")).st_nlink, 2u);
}

TEST_F(PosixNamespaceTest, RenameNoReplaceAndExchange) {
  WriteFile(Path("a"), "A");
  WriteFile(Path("b"), "B");
  ASSERT_EQ(::mkdir(Path("dir").c_str(), 0755), 0);
  EXPECT_EQ(Errno(renameat2(Path("a"), Path("b"), RENAME_NOREPLACE)), EEXIST);
  EXPECT_EQ(ReadFile(Path("b")), "B");
  ASSERT_EQ(renameat2(Path("a"), Path("c"), RENAME_NOREPLACE), 0) << std::strerror(errno);
  EXPECT_EQ(ReadFile(Path("c")), "A");
  ASSERT_EQ(renameat2(Path("b"), Path("c"), RENAME_EXCHANGE), 0) << std::strerror(errno);
  EXPECT_EQ(ReadFile(Path("b")), "A");
  EXPECT_EQ(ReadFile(Path("c")), "B");
  // A file and a directory may swap places too.
  ASSERT_EQ(renameat2(Path("c"), Path("dir"), RENAME_EXCHANGE), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISDIR(must_stat(Path("c")).st_mode));
  EXPECT_EQ(ReadFile(Path("dir")), "B");
  EXPECT_EQ(Errno(renameat2(Path("b"), Path("missing"), RENAME_EXCHANGE)), ENOENT);
  EXPECT_EQ(Errno(renameat2(Path("b"), Path("x"), RENAME_EXCHANGE | RENAME_NOREPLACE)), EINVAL);
}

TEST_F(PosixNamespaceTest, HardLinksShareDataAndCountLinks) {
  WriteFile(Path("f"), "shared");
  ASSERT_EQ(::link(Path("f").c_str(), Path("g").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(must_stat(Path("f")).st_nlink, 2u);
  EXPECT_EQ(must_stat(Path("g")).st_ino, must_stat(Path("f")).st_ino);
  // A write through one name shows through the other.
  int fd = ::open(Path("g").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(PWriteAll(fd, "SH", 0));
  ::close(fd);
  EXPECT_EQ(ReadFile(Path("f")), "SHared");
  EXPECT_EQ(Errno(::link(Path("f").c_str(), Path("g").c_str())), EEXIST);
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0755), 0);
  EXPECT_EQ(Errno(::link(Path("d").c_str(), Path("d2").c_str())), EPERM);  // no links to directories
  ASSERT_EQ(::unlink(Path("f").c_str()), 0);
  EXPECT_EQ(must_stat(Path("g")).st_nlink, 1u);
  EXPECT_EQ(ReadFile(Path("g")), "SHared");
}

TEST_F(PosixNamespaceTest, SymlinksResolveAndReadBack) {
  WriteFile(Path("target"), "via link");
  ASSERT_EQ(::symlink("target", Path("rel").c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(::symlink(Path("target").c_str(), Path("abs").c_str()), 0);
  ASSERT_EQ(::symlink("nowhere", Path("dangling").c_str()), 0);
  char buf[4096];
  ssize_t n = ::readlink(Path("rel").c_str(), buf, sizeof(buf));
  ASSERT_EQ(n, 6);
  EXPECT_EQ(std::string(buf, 6), "target");
  struct stat st = must_stat(Path("abs"));
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(static_cast<size_t>(st.st_size), Path("target").size());
  EXPECT_EQ(ReadFile(Path("rel")), "via link");
  EXPECT_EQ(ReadFile(Path("abs")), "via link");
  EXPECT_EQ(Errno(::open(Path("dangling").c_str(), O_RDONLY)), ENOENT);
  EXPECT_EQ(Errno(::readlink(Path("target").c_str(), buf, sizeof(buf))), EINVAL);
  EXPECT_EQ(Errno(::symlink("x", Path("rel").c_str())), EEXIST);
  ASSERT_EQ(::unlink(Path("rel").c_str()), 0);  // removes the link, not its target
  EXPECT_EQ(ReadFile(Path("target")), "via link");
}

TEST_F(PosixNamespaceTest, MkdirAndRmdirErrors) {
  ASSERT_EQ(::mkdir(Path("d").c_str(), 0750), 0) << std::strerror(errno);
  struct stat st = must_stat(Path("d"));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(must_stat(dir_).st_nlink, 3u);  // the new directory's ".."
  EXPECT_EQ(Errno(::mkdir(Path("d").c_str(), 0755)), EEXIST);
  WriteFile(Path("d/f"), "x");
  EXPECT_EQ(Errno(::rmdir(Path("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(Errno(::rmdir(Path("d/f").c_str())), ENOTDIR);
  EXPECT_EQ(Errno(::mkdir(Path("d/f/sub").c_str(), 0755)), ENOTDIR);
  EXPECT_EQ(Errno(::rmdir(Path("missing").c_str())), ENOENT);
  EXPECT_EQ(Errno(::unlink(Path("d").c_str())), EISDIR);
  EXPECT_EQ(Errno(::mkdir(Path(std::string(256, 'n')).c_str(), 0755)), ENAMETOOLONG);
  ASSERT_EQ(::unlink(Path("d/f").c_str()), 0);
  ASSERT_EQ(::rmdir(Path("d").c_str()), 0) << std::strerror(errno);
  EXPECT_FALSE(exists(Path("d")));
  EXPECT_EQ(must_stat(dir_).st_nlink, 2u);
}

// 5000 entries: every one listed exactly once, also while entries are being deleted.
TEST_F(PosixNamespaceTest, LargeDirectoryListsEveryEntryOnce) {
  constexpr int kEntries = 5000;
  for (int i = 0; i < kEntries; ++i) {
    int fd = ::open(Path("e" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(fd, 0) << i << ": " << std::strerror(errno);
    ::close(fd);
  }
  auto names = list_dir(dir_);
  ASSERT_EQ(names.size(), static_cast<size_t>(kEntries));
  for (const auto& [name, count] : names) EXPECT_EQ(count, 1) << name;
  // Delete the even entries while listing: the odd ones must each come exactly once; a deleted one
  // may come at most once.
  std::map<std::string, int> seen;
  DIR* d = ::opendir(dir_.c_str());
  ASSERT_NE(d, nullptr);
  int deleted = 0;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    ++seen[name];
    if (deleted < kEntries / 2) {
      // One even entry per entry listed, in order: some already listed, some not yet.
      ASSERT_EQ(::unlink(Path("e" + std::to_string(2 * deleted)).c_str()), 0) << std::strerror(errno);
      ++deleted;
    }
  }
  ::closedir(d);
  for (int i = 1; i < kEntries; i += 2) EXPECT_EQ(seen["e" + std::to_string(i)], 1) << "e" << i;
  for (const auto& [name, count] : seen) EXPECT_LE(count, 1) << name;
  EXPECT_EQ(list_dir(dir_).size(), static_cast<size_t>(kEntries / 2));
}

}  // namespace
}  // namespace zcfs::fuse_test
