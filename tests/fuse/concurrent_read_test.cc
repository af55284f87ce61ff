// Several threads read one large file through the mount at random offsets at once, each on its own
// descriptor, and every byte must be the one written. O_DIRECT descriptors bypass the page cache so
// the reads really reach the daemon concurrently; one buffered descriptor shares the cache.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

using ConcurrentReadTest = MountTest;

// Reads `rounds` random ranges of `path` into `mismatches`/`errors`; `direct` opens with O_DIRECT.
void read_randomly(const std::string& path, const std::string& expected, bool direct, uint32_t seed, int rounds,
                   std::atomic<int>* mismatches, std::atomic<int>* errors) {
  int fd = ::open(path.c_str(), O_RDONLY | (direct ? O_DIRECT : 0));
  if (fd < 0) {
    ++*errors;
    return;
  }
  std::mt19937 rng(seed);
  std::string got;
  for (int i = 0; i < rounds; ++i) {
    size_t offset = rng() % expected.size();
    size_t length = 1 + rng() % (512 * 1024);
    if (!PReadAll(fd, &got, length, static_cast<off_t>(offset))) {
      ++*errors;
      continue;
    }
    if (got != expected.substr(offset, length)) ++*mismatches;
  }
  ::close(fd);
}

TEST_F(ConcurrentReadTest, ThreadsReadingOneFileSeeTheWrittenBytes) {
  const std::string path = Path("big");
  const std::string data = Pattern(24 * 1024 * 1024 + 333, 11);
  WriteFile(path, data);
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> readers;
  for (uint32_t t = 0; t < 6; ++t) {
    readers.emplace_back(read_randomly, path, std::cref(data), /*direct=*/t != 0, t + 1, 60, &mismatches, &errors);
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace zcfs::fuse_test
