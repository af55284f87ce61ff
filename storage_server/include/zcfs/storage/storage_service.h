// StorageService: the storage node's RPC layer, a thin shell over the targets' ChunkStores.
//
//   kBatchRead  BatchReadRequest -> BatchReadReply + payload. Each piece is checked against the targets
//               this node owns (else that piece alone gets kStaleRouting), all pieces are read
//               concurrently, and the reply payload is the pieces' data in order, sent straight from
//               the read buffers (the reply keeps them alive). A failed piece does not fail the batch.
//   kWriteChunk WriteChunkRequest + payload -> WriteChunkReply. The payload is received at the write's
//               in-block offset inside aligned memory, so it is written without a copy.
//   kTruncateChunks TruncateChunksRequest -> TruncateChunksReply. Removes or cuts one inode's chunks on
//               one target (ChunkStore::Truncate); chunk_size must be a power of two in [64 KiB, 64 MiB].
#pragma once

#include <atomic>
#include <vector>

#include "zcfs/proto/rpc_server.h"
#include "zcfs/storage/storage_target.h"

namespace zcfs {

// Thread-safe. The targets must outlive the service; the service must outlive the server's use of it.
class StorageService {
 public:
  // Piece reads are spawned on `executor`.
  StorageService(asio::any_io_executor executor, std::vector<StorageTarget*> targets);

  // Registers the methods and the payload placement for writes. Call before server.Listen().
  void RegisterWith(RpcServer& server);

  // The target with this (non-zero) id, or nullptr.
  StorageTarget* FindTarget(uint32_t target_id) const;
  const std::vector<StorageTarget*>& targets() const { return targets_; }
  // Requests being handled now (for a clean stop: wait until it is 0).
  size_t active_requests() const { return active_.load(); }

  Task<RpcReply> HandleBatchRead(RpcRequest& request);
  Task<RpcReply> HandleWriteChunk(RpcRequest& request);
  Task<RpcReply> HandleTruncateChunks(RpcRequest& request);

 private:
  asio::any_io_executor executor_;
  std::vector<StorageTarget*> targets_;
  std::atomic<size_t> active_{0};
};

}  // namespace zcfs
