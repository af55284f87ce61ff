// StorageService: the storage node's RPC layer, a thin shell over the targets' ChunkStores.
//
//   kBatchRead  BatchReadRequest -> BatchReadReply + payload. Each piece is checked against the targets
//               this node owns (else that piece alone gets kStaleRouting) and the largest chunk size
//               (else kInvalidArgument for that piece); a batch over the size limits
//               (max_batch_bytes/pieces) is refused whole with kInvalidArgument. The batch then waits
//               for read memory (below), all its pieces are read concurrently, and the reply payload
//               is the pieces' data in order, sent straight from the read buffers (the reply keeps
//               them alive). A failed piece does not fail the batch. With want_crc32c each piece's
//               result carries the CRC32C of the bytes sent.
//   kWriteChunk WriteChunkRequest + payload -> WriteChunkReply. The payload is received at the write's
//               in-block offset inside aligned memory, so it is written without a copy.
//   kTruncateChunks TruncateChunksRequest -> TruncateChunksReply. Removes or cuts one inode's chunks on
//               one target (ChunkStore::Truncate); chunk_size must be a power of two in [64 KiB, 64 MiB].
//   kListTargets ListTargetsRequest -> ListTargetsReply: id, path and space of every target.
//   kListChunks ListChunksRequest -> ListChunksReply: a page of one target's chunk records (resync).
//
// Chain replication (EnableReplication): a write naming a chain goes through the ChainReplicator
// (chain_replicator.h: version check, forwarding down the chain, commit order); a read piece naming a
// chain is served only by a target SERVING in it with its lease held (else kStaleRouting: the client
// asks another replica).
//
// Read memory: a batch holds its read buffers from the disk read until its reply frame has been
// written to the socket. Batches are admitted only while the buffers held stay within a server-wide
// budget and a per-connection budget (bytes and pieces); waiting batches queue per connection and the
// connections take turns, so one greedy client cannot starve the others (storage_server/src/
// read_budget.h). Memory is given back as soon as the reply is written, or dropped with a closed
// connection. One reply frame per request (the wire format) is why batches are bounded: a batch
// bigger than the limits could not be answered within the budget, so it is refused and the client
// splits its reads (zcfs::batch_read in methods.h).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "zcfs/common/aligned_buffer.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/rpc_server.h"
#include "zcfs/proto/transport.h"
#include "zcfs/storage/chain_view.h"
#include "zcfs/storage/storage_target.h"

namespace zcfs {

namespace storage_internal {
class ReadBudget;
class ChainReplicator;
}  // namespace storage_internal

struct StorageServiceOptions {
  // Read buffers all batched reads together may hold (server-wide). Strict as long as it is at least
  // the cost of the largest batch (max_batch_bytes plus up to 8 KiB of block alignment per piece).
  uint64_t read_memory_bytes = 256ull << 20;
  // What the batched reads of one client connection may hold at once: buffer bytes, pieces. A quarter
  // of the server's bytes: replies a slow reader leaves unread keep holding their memory, and it takes
  // four such clients to stall the rest. A single batch above these is admitted when the connection
  // holds nothing.
  uint64_t client_read_bytes = 64ull << 20;
  uint32_t client_read_pieces = 2048;
  // The largest batch accepted: sum of the requested lengths, number of pieces.
  uint64_t max_batch_bytes = batch_read::kMaxBytes;
  uint32_t max_batch_pieces = batch_read::kMaxPieces;

  // Read buffer the largest accepted batch can hold: its bytes plus up to a block of widening at each
  // end of every piece. read_memory_bytes below this could leave such a batch waiting forever.
  uint64_t largest_batch_buffer_bytes() const { return max_batch_bytes + 2 * uint64_t{kBlockSize} * max_batch_pieces; }
};

// Read memory accounting (for tests and status): bytes of read buffer budget held now and at most.
struct ReadMemoryStats {
  uint64_t held_bytes = 0;
  uint64_t peak_bytes = 0;
  size_t waiting_batches = 0;  // batches queued for memory
  uint64_t granted_batches = 0;
};

// Thread-safe; handlers may run on any number of threads. The targets must outlive the service; the
// service must outlive the server's use of it.
class StorageService {
 public:
  // Piece reads are spawned on `executor`.
  StorageService(asio::any_io_executor executor, std::vector<StorageTarget*> targets,
                 StorageServiceOptions options = {});
  ~StorageService();

  // Registers the methods and the payload placement for writes. Call before server.Listen().
  void RegisterWith(RpcServer& server);
  // Serves chain reads and writes over `view`, forwarding through `peers`; without it, requests naming
  // a chain are refused (kNotSupported). Call before serving. Both must outlive the service.
  // `refresh` fetches the routing table into `view` at once (when a write names a newer chain version).
  void EnableReplication(ChainView& view, Transport& peers, std::function<Task<Status>()> refresh = nullptr);
  storage_internal::ChainReplicator* replicator() const { return replicator_.get(); }

  // The target with this (non-zero) id, or nullptr.
  StorageTarget* FindTarget(uint32_t target_id) const;
  const std::vector<StorageTarget*>& targets() const { return targets_; }
  // Requests being handled now (for a clean stop: wait until it is 0).
  size_t active_requests() const { return active_.load(); }
  ReadMemoryStats read_memory() const;
  // Batches not read because their client's connection had closed while they waited for read memory.
  uint64_t abandoned_batches() const { return abandoned_batches_.load(); }

  Task<RpcReply> HandleBatchRead(RpcRequest& request);
  Task<RpcReply> HandleWriteChunk(RpcRequest& request);
  Task<RpcReply> HandleTruncateChunks(RpcRequest& request);
  Task<RpcReply> HandleListTargets(RpcRequest& request);
  Task<RpcReply> HandleListChunks(RpcRequest& request);

 private:
  asio::any_io_executor executor_;
  std::vector<StorageTarget*> targets_;
  StorageServiceOptions options_;
  std::shared_ptr<storage_internal::ReadBudget> budget_;
  std::unique_ptr<storage_internal::ChainReplicator> replicator_;
  std::atomic<size_t> active_{0};
  std::atomic<uint64_t> abandoned_batches_{0};
};

}  // namespace zcfs
