// The client's side of batched reads: how the pieces for one storage node are cut into requests, and
// the end-to-end check of a piece's bytes against the CRC32C the server computed before sending them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "chunk_plan.h"
#include "zcfs/common/status.h"

namespace zcfs {

// The size the client aims for per batched read. Smaller than the server's limit
// (batch_read::kMaxBytes): a server holds a batch's buffers until its whole reply is written, so
// several smaller batches in flight let the disk reads of one overlap the sending of another.
inline constexpr uint64_t kClientBatchBytes = 16ull << 20;

inline uint64_t piece_length(const ChunkPiece& piece) { return piece.length; }

// Cuts `pieces` (in order) into consecutive batches of at most `max_bytes` requested bytes and
// `max_pieces` pieces each; a single piece larger than max_bytes makes a batch of its own (the server
// accepts any piece up to the largest chunk size). No batch is empty. A Piece is anything with a
// piece_length() overload (ChunkPiece, PlacedPiece).
template <typename Piece>
std::vector<std::vector<Piece>> split_into_batches(std::vector<Piece> pieces, uint64_t max_bytes, size_t max_pieces) {
  std::vector<std::vector<Piece>> batches;
  uint64_t bytes = 0;
  for (Piece& piece : pieces) {
    uint64_t length = piece_length(piece);
    bool full = !batches.empty() && (batches.back().size() >= max_pieces || bytes + length > max_bytes);
    if (batches.empty() || full) {
      batches.emplace_back();
      bytes = 0;
    }
    bytes += length;
    batches.back().push_back(std::move(piece));
  }
  return batches;
}

// Checks bytes received for chunk `ino`/`chunk_index` from `server` against the CRC32C the server
// sent. A mismatch is kCorruption naming the chunk, the range and both checksums.
Status verify_piece_crc32c(std::span<const std::byte> received, uint32_t expected, std::string_view server,
                           uint64_t ino, uint32_t chunk_index, uint32_t chunk_offset);

}  // namespace zcfs
