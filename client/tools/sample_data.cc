#include "sample_data.h"

#include <vector>

namespace zcfs {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::byte sample_byte(uint64_t seed, uint64_t pos) {
  return static_cast<std::byte>(splitmix64(seed * 0x100000001B3ull ^ (pos / 8)) >> (8 * (pos % 8)));
}

}  // namespace

void fill_sample(uint64_t seed, uint64_t offset, std::span<std::byte> out) {
  size_t i = 0;
  for (; i < out.size() && (offset + i) % 8 != 0; ++i) out[i] = sample_byte(seed, offset + i);
  for (; i + 8 <= out.size(); i += 8) {
    uint64_t word = splitmix64(seed * 0x100000001B3ull ^ ((offset + i) / 8));
    for (int b = 0; b < 8; ++b) out[i + b] = static_cast<std::byte>(word >> (8 * b));
  }
  for (; i < out.size(); ++i) out[i] = sample_byte(seed, offset + i);
}

int64_t find_sample_mismatch(uint64_t seed, uint64_t offset, std::span<const std::byte> data) {
  std::vector<std::byte> expected(std::min<size_t>(data.size(), 1 << 20));
  for (size_t done = 0; done < data.size(); done += expected.size()) {
    size_t n = std::min(expected.size(), data.size() - done);
    fill_sample(seed, offset + done, std::span(expected.data(), n));
    for (size_t i = 0; i < n; ++i) {
      if (expected[i] != data[done + i]) return static_cast<int64_t>(done + i);
    }
  }
  return -1;
}

}  // namespace zcfs
