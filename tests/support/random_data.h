// Test data: bytes from a seeded generator, so a failing test reproduces. Thread-safe (a pure function).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace zcfs::testing {

inline std::vector<std::byte> random_data(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> data(size);
  for (auto& b : data) b = static_cast<std::byte>(rng());
  return data;
}

}  // namespace zcfs::testing
