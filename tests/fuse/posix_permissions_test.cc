// Permissions through a real zcfs mount for a caller who is not root: the tests run as root and fork
// a child that becomes `nobody` (RunAs), so both the kernel's checks (default_permissions) and the
// meta server's see an unprivileged caller.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

class PosixPermissionTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as nobody";
  }
  // open(path, flags) as nobody: 0 or the errno.
  int OpenAsNobody(const std::string& path, int flags, mode_t mode = 0644) {
    return RunAs(kNobody, kNogroup, [&] {
      int fd = ::open(path.c_str(), flags, mode);
      if (fd < 0) return errno;
      ::close(fd);
      return 0;
    });
  }
};

TEST_F(PosixPermissionTest, PrivateFileOfRootIsClosedToOthers) {
  WriteFile(Path("secret"), "root only", 0600);
  EXPECT_EQ(OpenAsNobody(Path("secret"), O_RDONLY), EACCES);
  EXPECT_EQ(OpenAsNobody(Path("secret"), O_WRONLY), EACCES);
  EXPECT_EQ(OpenAsNobody(Path("secret"), O_RDWR | O_TRUNC), EACCES);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::truncate(Path("secret").c_str(), 0)); }), EACCES);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::chmod(Path("secret").c_str(), 0666)); }), EPERM);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::chown(Path("secret").c_str(), kNobody, kNogroup)); }), EPERM);
  EXPECT_EQ(ReadFile(Path("secret")), "root only");  // nothing was cut
  // Readable by others once the mode says so, but still not writable.
  ASSERT_EQ(::chmod(Path("secret").c_str(), 0644), 0);
  EXPECT_EQ(OpenAsNobody(Path("secret"), O_RDONLY), 0);
  EXPECT_EQ(OpenAsNobody(Path("secret"), O_WRONLY), EACCES);
}

TEST_F(PosixPermissionTest, CreatingAndRemovingNeedWritePermissionOnTheDirectory) {
  ASSERT_EQ(::mkdir(Path("closed").c_str(), 0755), 0);
  WriteFile(Path("closed/f"), "x", 0666);  // writable by anyone, in a directory only root may change
  EXPECT_EQ(OpenAsNobody(Path("closed/new"), O_WRONLY | O_CREAT), EACCES);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::unlink(Path("closed/f").c_str())); }), EACCES);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::mkdir(Path("closed/d").c_str(), 0755)); }), EACCES);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::rename(Path("closed/f").c_str(), Path("moved").c_str())); }),
            EACCES);
  EXPECT_EQ(OpenAsNobody(Path("closed/f"), O_WRONLY), 0);  // the file itself is writable
  // Without search permission the directory's entries are out of reach altogether.
  ASSERT_EQ(::chmod(Path("closed").c_str(), 0700), 0);
  EXPECT_EQ(OpenAsNobody(Path("closed/f"), O_RDONLY), EACCES);
  // In the test directory (0777) nobody may create, and owns what it creates.
  EXPECT_EQ(OpenAsNobody(Path("mine"), O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
  struct stat st {};
  ASSERT_EQ(::stat(Path("mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNogroup);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::unlink(Path("mine").c_str())); }), 0);
}

TEST_F(PosixPermissionTest, CreatorMayWriteWhatItCreatedReadOnly) {
  // open(O_CREAT | O_RDWR, 0444) hands the creator a writable descriptor even though the mode is not.
  EXPECT_EQ(RunAs(kNobody, kNogroup,
                  [&] {
                    int fd = ::open(Path("ro").c_str(), O_RDWR | O_CREAT | O_EXCL, 0444);
                    if (fd < 0) return errno;
                    int err = ::write(fd, "abc", 3) == 3 ? 0 : errno;
                    ::close(fd);
                    return err;
                  }),
            0);
  EXPECT_EQ(ReadFile(Path("ro")), "abc");
  EXPECT_EQ(OpenAsNobody(Path("ro"), O_WRONLY), EACCES);  // a later open follows the mode
}

TEST_F(PosixPermissionTest, StickyDirectoryProtectsOthersEntries) {
  ASSERT_EQ(::mkdir(Path("tmp").c_str(), 0777), 0);
  ASSERT_EQ(::chmod(Path("tmp").c_str(), 01777), 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(::stat(Path("tmp").c_str(), &st), 0);
  ASSERT_EQ(st.st_mode & 07777, 01777u);
  WriteFile(Path("tmp/roots"), "x", 0666);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::unlink(Path("tmp/roots").c_str())); }), EPERM);
  EXPECT_EQ(
      RunAs(kNobody, kNogroup, [&] { return Errno(::rename(Path("tmp/roots").c_str(), Path("tmp/other").c_str())); }),
      EPERM);
  EXPECT_EQ(OpenAsNobody(Path("tmp/own"), O_WRONLY | O_CREAT), 0);
  EXPECT_EQ(RunAs(kNobody, kNogroup, [&] { return Errno(::unlink(Path("tmp/own").c_str())); }), 0);
  EXPECT_EQ(::unlink(Path("tmp/roots").c_str()), 0);  // the owner (root) may
}

}  // namespace
}  // namespace zcfs::fuse_test
