// Helpers for the storage server tests: a scratch directory on a disk that supports O_DIRECT, and
// deterministic test data.
#pragma once

#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace zcfs::testing {

// A fresh directory removed at destruction. tmpfs has no O_DIRECT, so when /tmp is tmpfs the
// directory goes under the working directory (the build tree) instead. Thread-compatible.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = "/tmp";
    struct statfs st;
    if (::statfs(base.c_str(), &st) != 0 || st.f_type == TMPFS_MAGIC) base = std::filesystem::current_path();
    std::string pattern = base + "/zcfs-storage-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) std::abort();
    path_ = buf.data();
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<std::byte> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng() & 0xff);
  return out;
}

}  // namespace zcfs::testing
