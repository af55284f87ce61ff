#include "chunk_plan.h"

#include "zcfs/proto/layout_rules.h"

namespace zcfs {

Result<std::vector<ChunkPiece>> plan_chunk_pieces(uint32_t chunk_size, const std::vector<uint32_t>& chains,
                                                  uint64_t offset, uint64_t length) {
  if (chunk_size == 0 || chains.empty()) return Error(Code::kCorruption, "file has no valid layout");
  if (length > UINT64_MAX - offset) return Error(Code::kOutOfRange, "range overflows");
  uint64_t last_chunk = length == 0 ? 0 : (offset + length - 1) / chunk_size;
  if (last_chunk > UINT32_MAX) return Error(Code::kFileTooLarge, "offset beyond the largest file");
  std::vector<ChunkPiece> pieces;
  uint64_t done = 0;
  while (done < length) {
    uint64_t pos = offset + done;
    uint64_t index = pos / chunk_size;
    uint64_t in_chunk = pos % chunk_size;
    uint64_t n = std::min<uint64_t>(chunk_size - in_chunk, length - done);
    pieces.push_back(ChunkPiece{static_cast<uint32_t>(index), chain_of_chunk(chains, index),
                                static_cast<uint32_t>(in_chunk), static_cast<uint32_t>(n), done});
    done += n;
  }
  return pieces;
}

}  // namespace zcfs
