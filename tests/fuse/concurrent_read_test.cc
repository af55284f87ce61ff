// Several threads read one large file through the mount at random offsets at once, each on its own
// descriptor, and every byte must be the one written. O_DIRECT descriptors bypass the page cache so
// the reads really reach the daemon concurrently; one buffered descriptor shares the cache. Then
// threads stream whole files, opening and closing each, as `cat` or a shard reader does: the daemon's
// read-ahead answers those requests, and a handle released right after its last reply must not take
// the daemon down.
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

// Reads every file of `paths` from start to end in 1 MiB reads, `passes` times; counts wrong files.
void stream_files(const std::vector<std::string>& paths, const std::vector<std::string>& expected, bool direct,
                  int passes, std::atomic<int>* mismatches, std::atomic<int>* errors) {
  std::string got;
  for (int pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i < paths.size(); ++i) {
      int fd = ::open(paths[i].c_str(), O_RDONLY | (direct ? O_DIRECT : 0));
      if (fd < 0) {
        ++*errors;
        continue;
      }
      std::string whole;
      for (off_t offset = 0; PReadAll(fd, &got, 1 << 20, offset) && !got.empty(); offset += 1 << 20) whole += got;
      ::close(fd);
      if (whole != expected[i]) ++*mismatches;
    }
  }
}

TEST_F(ConcurrentReadTest, ThreadsStreamingWholeFilesSeeTheWrittenBytes) {
  std::vector<std::string> paths, data;
  for (int i = 0; i < 24; ++i) {  // many short streams: a release right after each last reply
    paths.push_back(Path("stream-" + std::to_string(i)));
    data.push_back(Pattern(2 * 1024 * 1024 + 1000 * i, 20 + i));
    WriteFile(paths.back(), data.back());
  }
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back(stream_files, std::cref(paths), std::cref(data), /*direct=*/t % 2 == 0, 4, &mismatches,
                         &errors);
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  struct stat st {};
  EXPECT_EQ(::stat(Path("stream-0").c_str(), &st), 0) << "the mount is gone: " << std::strerror(errno);
}

}  // namespace
}  // namespace zcfs::fuse_test
