// POSIX behaviour of file data through a real zcfs mount: open flags, reads and writes at any offset,
// holes, truncation and the life of an unlinked open file. Every expectation is what a local file
// system (ext4) does; errno values are exact.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

using PosixFileTest = MountTest;

off_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

TEST_F(PosixFileTest, CreateWithExclusiveFailsOnAnExistingName) {
  const std::string path = Path("f");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_TRUE(PWriteAll(fd, "kept", 0));
  ASSERT_EQ(::close(fd), 0);
  EXPECT_EQ(Errno(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644)), EEXIST);
  // Without O_EXCL an existing file is opened as it is.
  fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  EXPECT_EQ(size_of(fd), 4);
  ::close(fd);
  EXPECT_EQ(ReadFile(path), "kept");
  EXPECT_EQ(Errno(::open(Path("missing").c_str(), O_RDONLY)), ENOENT);
  EXPECT_EQ(Errno(::open(Path("f/x").c_str(), O_RDONLY | O_CREAT, 0644)), ENOTDIR);
}

// copy_file_range(2) inside the mount, as cp does it: byte for byte, looping on the counts returned
// until the end of the source, at offsets (which it advances), and EINVAL for overlapping ranges of
// one file.
TEST_F(PosixFileTest, CopyFileRangeInsideTheMount) {
  const std::string data = Pattern(3 * 1048576 + 4097, 5);
  WriteFile(Path("src"), data);
  int in = ::open(Path("src").c_str(), O_RDONLY);
  int out = ::open(Path("dst").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_TRUE(in >= 0 && out >= 0) << std::strerror(errno);
  size_t total = 0;
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, size_t{1} << 30, 0);
    ASSERT_GE(n, 0) << std::strerror(errno);
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  EXPECT_EQ(total, data.size());
  EXPECT_EQ(size_of(out), static_cast<off_t>(data.size()));
  off_t from = 1000;
  off_t to = 2 << 20;
  EXPECT_EQ(::copy_file_range(in, &from, out, &to, 5000, 0), 5000) << std::strerror(errno);
  EXPECT_EQ(from, 6000);
  EXPECT_EQ(to, (2 << 20) + 5000);
  ASSERT_EQ(::close(out), 0);
  std::string expected = data;
  expected.replace(2 << 20, 5000, data.substr(1000, 5000));
  EXPECT_TRUE(SameBytes(ReadFile(Path("dst")), expected));
  int rw = ::open(Path("src").c_str(), O_RDWR);
  ASSERT_GE(rw, 0) << std::strerror(errno);
  off_t a = 0;
  off_t b = 100;
  EXPECT_EQ(Errno(::copy_file_range(rw, &a, rw, &b, 1000, 0)), EINVAL);
  ::close(rw);
  ::close(in);
  EXPECT_TRUE(SameBytes(ReadFile(Path("src")), data)) << "the source changed";
}

TEST_F(PosixFileTest, TruncOnOpenEmptiesTheFile) {
  const std::string path = Path("f");
  WriteFile(path, Pattern(300000, 1));
  int fd = ::open(path.c_str(), O_RDWR | O_TRUNC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  EXPECT_EQ(size_of(fd), 0);
  char c;
  EXPECT_EQ(::read(fd, &c, 1), 0);
  ASSERT_TRUE(PWriteAll(fd, "new", 0));
  ::close(fd);
  EXPECT_EQ(ReadFile(path), "new");  // nothing of the old 300000 bytes is left past the new end
}

TEST_F(PosixFileTest, AppendWritesAtTheEndEveryTime) {
  const std::string path = Path("log");
  WriteFile(path, "abc");
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  EXPECT_EQ(::write(fd, "def", 3), 3);
  EXPECT_EQ(::write(fd, "ghi", 3), 3);
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 9);
  ::close(fd);
  EXPECT_EQ(ReadFile(path), "abcdefghi");
}

TEST_F(PosixFileTest, ReadsAndWritesAtAnyOffset) {
  const std::string path = Path("f");
  const std::string data = Pattern(3 * 1024 * 1024 + 17, 2);  // several chunks and an odd tail
  WriteFile(path, data);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::string got;
  for (off_t off : {off_t{0}, off_t{1}, off_t{4095}, off_t{65536}, off_t{1048575}, off_t{3 * 1048576}}) {
    ASSERT_TRUE(PReadAll(fd, &got, 70000, off));
    EXPECT_TRUE(SameBytes(got, data.substr(static_cast<size_t>(off), 70000))) << "at offset " << off;
  }
  ASSERT_TRUE(PReadAll(fd, &got, 100, static_cast<off_t>(data.size())));
  EXPECT_EQ(got.size(), 0u);  // at the end
  // Overwrite across a chunk boundary, then read the whole file through read(2).
  const std::string patch = Pattern(5000, 3);
  ASSERT_TRUE(PWriteAll(fd, patch, 1048576 - 2500));
  std::string expected = data;
  expected.replace(1048576 - 2500, patch.size(), patch);
  ASSERT_EQ(::lseek(fd, 0, SEEK_SET), 0);
  std::string all(expected.size() + 10, '\0');
  size_t done = 0;
  for (ssize_t n; (n = ::read(fd, all.data() + done, all.size() - done)) > 0;) done += static_cast<size_t>(n);
  all.resize(done);
  EXPECT_TRUE(SameBytes(all, expected));
  ::close(fd);
}

TEST_F(PosixFileTest, WriteThenFstatSeesTheNewSizeBeforeClose) {
  const std::string path = Path("f");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_TRUE(PWriteAll(fd, Pattern(5000, 4), 0));
  EXPECT_EQ(size_of(fd), 5000);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 5000);
  // A second descriptor of the same file sees the first one's data.
  int fd2 = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd2, 0);
  std::string got;
  ASSERT_TRUE(PReadAll(fd2, &got, 6000, 0));
  EXPECT_TRUE(SameBytes(got, Pattern(5000, 4)));
  ::close(fd2);
  EXPECT_EQ(::fsync(fd), 0);
  ::close(fd);
}

TEST_F(PosixFileTest, HolesReadAsZeros) {
  const std::string path = Path("sparse");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const off_t far = 8 * 1048576 + 123;
  ASSERT_TRUE(PWriteAll(fd, "head", 0));
  ASSERT_TRUE(PWriteAll(fd, "tail", far));
  EXPECT_EQ(size_of(fd), far + 4);
  std::string got;
  ASSERT_TRUE(PReadAll(fd, &got, static_cast<size_t>(far) + 100, 0));
  ASSERT_EQ(got.size(), static_cast<size_t>(far) + 4);
  EXPECT_EQ(got.substr(0, 4), "head");
  EXPECT_EQ(got.substr(static_cast<size_t>(far)), "tail");
  EXPECT_EQ(got.find_first_not_of('\0', 4), static_cast<size_t>(far)) << "the hole holds non-zero bytes";
  // A write far past the end (1 GiB) leaves everything before it a hole.
  const off_t very_far = off_t{1} << 30;
  ASSERT_TRUE(PWriteAll(fd, "x", very_far));
  EXPECT_EQ(size_of(fd), very_far + 1);
  ASSERT_TRUE(PReadAll(fd, &got, 65536, very_far / 2));
  EXPECT_TRUE(SameBytes(got, std::string(65536, '\0')));
  ASSERT_TRUE(PReadAll(fd, &got, 10, very_far - 3));
  EXPECT_EQ(got, std::string(3, '\0') + "x");
  ::close(fd);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, very_far + 1);
}

TEST_F(PosixFileTest, FtruncateDownThenUpReadsZerosPastTheCut) {
  const std::string path = Path("f");
  const std::string data = Pattern(2 * 1048576 + 100, 5);
  WriteFile(path, data);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::ftruncate(fd, 1000), 0) << std::strerror(errno);
  EXPECT_EQ(size_of(fd), 1000);
  ASSERT_EQ(::ftruncate(fd, 1500000), 0) << std::strerror(errno);
  EXPECT_EQ(size_of(fd), 1500000);
  std::string got;
  ASSERT_TRUE(PReadAll(fd, &got, 2000000, 0));
  ASSERT_EQ(got.size(), 1500000u);
  EXPECT_TRUE(SameBytes(got.substr(0, 1000), data.substr(0, 1000)));
  EXPECT_EQ(got.find_first_not_of('\0', 1000), std::string::npos) << "old bytes came back after truncate up";
  EXPECT_EQ(Errno(::ftruncate(fd, -1)), EINVAL);
  ::close(fd);
  int ro = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_EQ(Errno(::ftruncate(ro, 10)), EINVAL);  // not open for writing
  ::close(ro);
}

TEST_F(PosixFileTest, TruncateByPath) {
  const std::string path = Path("f");
  WriteFile(path, Pattern(100000, 6));
  ASSERT_EQ(::truncate(path.c_str(), 10), 0) << std::strerror(errno);
  EXPECT_TRUE(SameBytes(ReadFile(path), Pattern(100000, 6).substr(0, 10)));
  ASSERT_EQ(::truncate(path.c_str(), 20), 0) << std::strerror(errno);
  EXPECT_TRUE(SameBytes(ReadFile(path), Pattern(100000, 6).substr(0, 10) + std::string(10, '\0')));
  EXPECT_EQ(Errno(::truncate(dir_.c_str(), 0)), EISDIR);
  EXPECT_EQ(Errno(::truncate(Path("missing").c_str(), 0)), ENOENT);
}

TEST_F(PosixFileTest, UnlinkedOpenFileStaysUsableUntilClosed) {
  const std::string path = Path("doomed");
  const uint64_t before = SettledInodesInUse(dir_);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_TRUE(PWriteAll(fd, Pattern(200000, 7), 0));
  ASSERT_EQ(::unlink(path.c_str()), 0) << std::strerror(errno);
  struct stat st {};
  EXPECT_EQ(Errno(::stat(path.c_str(), &st)), ENOENT);
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  // Still readable and writable through the descriptor.
  ASSERT_TRUE(PWriteAll(fd, "more", 200000));
  std::string got;
  ASSERT_TRUE(PReadAll(fd, &got, 300000, 0));
  EXPECT_TRUE(SameBytes(got, Pattern(200000, 7) + "more"));
  EXPECT_EQ(InodesInUse(dir_), before + 1);  // the inode lives on while open
  ASSERT_EQ(::close(fd), 0);
  // Closed: the meta server reclaims it (a pass every 100 ms in this cluster).
  bool freed = false;
  for (int i = 0; i < 200 && !freed; ++i) {
    freed = InodesInUse(dir_) == before;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(freed) << "inodes in use: " << InodesInUse(dir_) << ", before: " << before;
}

}  // namespace
}  // namespace zcfs::fuse_test
