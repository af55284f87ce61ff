#include "file_helpers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace zcfs::fuse_test {

std::string Pattern(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift: cheap, and no two offsets look alike
    out[i] = static_cast<char>(x);
  }
  return out;
}

bool PWriteAll(int fd, const std::string& data, off_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool PReadAll(int fd, std::string* out, size_t size, off_t offset) {
  out->assign(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out->data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return true;
}

void WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return;
  }
  if (::fchmod(fd, mode) != 0) ADD_FAILURE() << "chmod " << path << ": " << std::strerror(errno);  // no umask
  if (!PWriteAll(fd, data, 0)) ADD_FAILURE() << "write " << path << ": " << std::strerror(errno);
  if (::close(fd) != 0) ADD_FAILURE() << "close " << path << ": " << std::strerror(errno);
}

std::string ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return {};
  }
  struct stat st {};
  ::fstat(fd, &st);
  std::string out;
  // Ask for more than the size says, so bytes past a wrong st_size would show up too.
  if (!PReadAll(fd, &out, static_cast<size_t>(st.st_size) + 4096, 0)) ADD_FAILURE() << "read " << path;
  ::close(fd);
  return out;
}

::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  auto byte = [](const std::string& s, size_t at) { return at < s.size() ? std::to_string(uint8_t(s[at])) : "end"; };
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << "; first difference at offset " << i << ": got " << byte(got, i) << ", want "
                                       << byte(want, i);
}

}  // namespace zcfs::fuse_test
