// Latency percentiles for the zcfs-bench modes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace zcfs {

// The p-th percentile (p in [0, 1]) of `sorted` (ascending), nearest rank; 0 for no samples.
inline int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace zcfs
