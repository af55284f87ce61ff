#include "layout.h"

#include <algorithm>

namespace zcfs::meta {
namespace {

// SplitMix64: a small, well-mixed generator whose output is fixed by this code, unlike the
// std:: distributions, whose algorithms vary between standard libraries. Layouts are persisted, but
// keeping them reproducible makes tests and debugging simpler.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

Result<pb::Layout> choose_layout(uint64_t ino, uint32_t chunk_size, uint32_t width, std::vector<uint32_t> chains) {
  if (chains.empty()) return Error(Code::kUnavailable, "no storage chains");
  std::sort(chains.begin(), chains.end());
  chains.erase(std::unique(chains.begin(), chains.end()), chains.end());
  size_t n = chains.size();
  size_t w = width == 0 ? n : std::min<size_t>(width, n);
  // Partial Fisher-Yates: the first w positions become a uniformly random w-permutation.
  uint64_t state = ino;
  for (size_t i = 0; i < w; ++i) {
    size_t j = i + static_cast<size_t>(splitmix64(state) % (n - i));
    std::swap(chains[i], chains[j]);
  }
  pb::Layout layout;
  layout.set_chunk_size(chunk_size);
  for (size_t i = 0; i < w; ++i) layout.add_chains(chains[i]);
  return layout;
}

}  // namespace zcfs::meta
