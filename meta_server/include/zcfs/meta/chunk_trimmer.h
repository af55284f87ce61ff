// ChunkTrimmer: how the meta server removes file data from the storage servers, for truncation (cut
// before the smaller size is committed) and for reclaiming unlinked files (length 0).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs::meta {

// Implementations are thread-safe.
class ChunkTrimmer {
 public:
  virtual ~ChunkTrimmer() = default;
  // Makes every target in `layout` hold no data of inode `ino` at or past byte `length`. Blocks the
  // calling thread. Idempotent; fails (kUnavailable and the like) when a target cannot be reached, in
  // which case some targets may already be trimmed.
  virtual Status Trim(uint64_t ino, const pb::Layout& layout, uint64_t length) = 0;
};

// Trims over RPC (method::kTruncateChunks), finding each target's server in the routing table that
// `routing` returns. Owns one I/O thread and its connections.
std::unique_ptr<ChunkTrimmer> MakeStorageChunkTrimmer(std::function<pb::RoutingTable()> routing);

}  // namespace zcfs::meta
