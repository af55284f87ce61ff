// Choosing where a new file's chunks go. Thread-safe (pure function).
#pragma once

#include <cstdint>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs::meta {

// The stripe of file `ino`: `width` distinct chains drawn from `chains` by a shuffle seeded with
// `ino`, so a file's layout is reproducible and consecutive files start on different chains (chunk 0
// of small files then spreads evenly). `width` is clamped to chains.size(); 0 means all chains.
// `chains` need not be sorted (it is sorted first so the result does not depend on its order).
// Empty `chains` -> kUnavailable.
Result<pb::Layout> choose_layout(uint64_t ino, uint32_t chunk_size, uint32_t width, std::vector<uint32_t> chains);

}  // namespace zcfs::meta
