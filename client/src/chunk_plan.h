// Splitting a byte range of a file into per-chunk pieces.
#pragma once

#include <cstdint>
#include <vector>

#include "zcfs/client/client.h"

namespace zcfs {

struct ChunkPiece {
  uint32_t chunk_index = 0;
  uint32_t chain_id = 0;      // the chain storing the chunk (layout_rules.h)
  uint32_t chunk_offset = 0;  // offset inside the chunk
  uint32_t length = 0;
  uint64_t buffer_offset = 0;  // offset inside the caller's buffer
};

// Pieces covering [offset, offset + length) of a file with `chunk_size` and `chains`, in file order.
// Requires chunk_size > 0 and non-empty chains; chunk indexes must fit in 32 bits (kFileTooLarge).
Result<std::vector<ChunkPiece>> plan_chunk_pieces(uint32_t chunk_size, const std::vector<uint32_t>& chains,
                                                  uint64_t offset, uint64_t length);

}  // namespace zcfs
