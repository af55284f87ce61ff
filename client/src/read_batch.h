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

// Cuts `pieces` (in order) into consecutive batches of at most `max_bytes` requested bytes and
// `max_pieces` pieces each; a single piece larger than max_bytes makes a batch of its own (the server
// accepts any piece up to the largest chunk size). No batch is empty.
std::vector<std::vector<ChunkPiece>> split_into_batches(std::vector<ChunkPiece> pieces, uint64_t max_bytes,
                                                        size_t max_pieces);

// Checks bytes received for chunk `ino`/`chunk_index` from `server` against the CRC32C the server
// sent. A mismatch is kCorruption naming the chunk, the range and both checksums.
Status verify_piece_crc32c(std::span<const std::byte> received, uint32_t expected, std::string_view server,
                           uint64_t ino, uint32_t chunk_index, uint32_t chunk_offset);

}  // namespace zcfs
