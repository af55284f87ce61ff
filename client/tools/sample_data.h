// Deterministic sample content: byte `offset` of sample `seed` is the same wherever it is computed,
// so writers and readers (the benchmark, tests) agree on every byte without storing a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace zcfs {

// Fills `out` with the content of sample `seed` starting at `offset`.
void fill_sample(uint64_t seed, uint64_t offset, std::span<std::byte> out);
// Returns the offset (relative to `data`) of the first byte that differs from the sample, or -1.
int64_t find_sample_mismatch(uint64_t seed, uint64_t offset, std::span<const std::byte> data);

}  // namespace zcfs
