// The unit of the client's batched reads: a chunk range of some file and the registered memory its
// bytes land in. Client::Read and the ReadRing both plan their reads as PlacedPieces, which are
// grouped by storage node (pieces of different files share a batch: each carries its inode) and sent
// as one BatchRead per batch (ClientImpl::ReadBatch, batch_read.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "buffer_registry.h"
#include "chunk_plan.h"

namespace zcfs {

// A replica that returned a chunk shorter than the file's size says it is: its bytes ended at the
// start of the piece that carries this.
struct ShortAnswer {
  uint32_t target_id = 0;
  uint64_t chain_version = 0;  // of the chain it was read under
};

struct PlacedPiece {
  uint64_t ino = 0;
  ChunkPiece chunk;  // chunk.buffer_offset is not used: the destination is the region range below
  uint64_t region_id = 0;
  uint64_t region_offset = 0;
  // Set when the memory belongs to a RegisteredBuffer, which may be destroyed while the read is in
  // flight: the read pins it before writing (PinSet). Null: the caller keeps the memory for the read.
  std::shared_ptr<BufferLife> life;
  uint32_t owner = 0;           // the caller's index: which of its reads the piece belongs to
  uint32_t target_id = 0;       // the replica of the chunk's chain it is read from (PlanBatches picks it)
  uint64_t chain_version = 0;   // of that chain, in the routing table the replica was picked from
  std::vector<uint32_t> tried;  // replicas that failed it (a retry asks another one) or answered short
  // Set when the piece asks a second replica about the part of a chunk a first one returned nothing
  // for (which reads as zeros meanwhile): a hole, or data the first replica lost.
  std::optional<ShortAnswer> short_answer;
};

// The piece of `chunk` landing in `slice` at the chunk piece's buffer offset, for the caller's read `owner`.
inline PlacedPiece place_piece(uint64_t ino, const ChunkPiece& chunk, const BufferSlice& slice, uint32_t owner) {
  PlacedPiece piece;
  piece.ino = ino;
  piece.chunk = chunk;
  piece.region_id = slice.region_id;
  piece.region_offset = slice.offset + chunk.buffer_offset;
  piece.life = slice.life;
  piece.owner = owner;
  return piece;
}

inline uint64_t piece_length(const PlacedPiece& piece) { return piece.chunk.length; }

// One request's worth of pieces, all served by the node at `address`, within the server's limits.
struct NodeBatch {
  std::string address;
  std::vector<PlacedPiece> pieces;
};

// The buffers one batched read writes into: each pinned on first use and released when the PinSet
// goes, so a buffer's destructor waits for the writes of a read that started and cancels the rest.
// Used by one call at a time (its placement, then its result handling). Not thread-safe.
class PinSet {
 public:
  PinSet() = default;
  PinSet(const PinSet&) = delete;
  PinSet& operator=(const PinSet&) = delete;
  ~PinSet() {
    for (auto& [life, pinned] : pins_) {
      if (pinned) life->Unpin();
    }
  }
  // Whether the piece's memory may be written now (always for caller-held memory).
  bool Hold(BufferLife* life) {
    if (life == nullptr) return true;
    auto [it, inserted] = pins_.try_emplace(life, false);
    if (inserted) it->second = life->Pin();
    return it->second;
  }

 private:
  std::unordered_map<BufferLife*, bool> pins_;  // false: the buffer was already released
};

}  // namespace zcfs
