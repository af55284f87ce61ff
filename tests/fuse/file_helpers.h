// Small POSIX helpers shared by the FUSE tests: deterministic data, whole-file reads and writes,
// byte comparisons that do not print megabytes, and errno of a call.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

namespace zcfs::fuse_test {

// `size` bytes of a deterministic pattern; different seeds give different bytes.
std::string Pattern(size_t size, uint32_t seed);

// Whole-file helpers over plain POSIX calls; they fail the calling test (ADD_FAILURE) on error.
// WriteFile leaves the file with exactly `mode` (no umask).
void WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644);
std::string ReadFile(const std::string& path);
// pwrite/pread of everything, retrying short transfers; return false (errno set) on error.
bool PWriteAll(int fd, const std::string& data, off_t offset);
bool PReadAll(int fd, std::string* out, size_t size, off_t offset);

// Compares file contents without printing megabytes: names the sizes and the first differing offset.
::testing::AssertionResult SameBytes(const std::string& got, const std::string& want);

// errno of a call that returns -1 on failure, 0 when it succeeded: EXPECT_EQ(Errno(::rmdir(p)), ENOTEMPTY).
inline int Errno(long rc) { return rc < 0 ? errno : 0; }

}  // namespace zcfs::fuse_test
