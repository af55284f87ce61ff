// ChainReplicator: the chain-replication half of the storage service (chain writes, the readable
// check of chain reads, chunk copies for resync), over the node's ChainView.
//
// A chain write arrives at a member (the head from a client, the others from their predecessor)
// carrying the chain's version. The member checks its lease and that its chain has that version and
// takes writes from it, then, holding the chunk's lock:
//   - successor SERVING: forwards the write and writes its data at the same time, but commits only once
//     the successor acknowledged it (ChunkStore::BeforeCommit). So commits travel from the tail back to
//     the head, and a replica never shows a write that a replica after it lacks; a reader meeting a
//     pending write gets the committed version. A failed forward cancels the local write.
//   - successor SYNCING: stores it, then sends the successor the chunk's whole new content (replace),
//     so a member that missed earlier writes never applies a partial write to a stale chunk.
//   - tail: stores it.
// A reply therefore means every member after this one has the write durable.
//
// Locks are per target: a target belongs to one chain and chains order their members, so a write
// holds locks in chain order and two writes can never wait on each other across nodes.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "async_mutex.h"
#include "wait_group.h"
#include "zcfs.pb.h"
#include "zcfs/proto/transport.h"
#include "zcfs/storage/chain_view.h"
#include "zcfs/storage/storage_target.h"

namespace zcfs::storage_internal {

class ChainReplicator {
 public:
  // Fetches the routing table into the view now (the node heard of a newer chain version than its own).
  using RoutingRefresh = std::function<Task<Status>()>;

  // `peers` reaches the other storage nodes; both must outlive the replicator.
  ChainReplicator(ChainView& view, Transport& peers, RoutingRefresh refresh = nullptr)
      : view_(view), peers_(peers), refresh_(std::move(refresh)) {}

  // A write with request.chain_id() != 0 received by `target` (replace writes too).
  Task<Result<WriteResult>> Write(StorageTarget& target, const pb::WriteChunkRequest& request, AlignedPayload payload);
  // Ok when `target_id` may serve reads of `chain_id` now: its lease holds and it is SERVING there.
  Status CheckReadable(uint32_t target_id, uint32_t chain_id) const;
  // Resync: sends chunk `id` as `source` holds it now (or its removal) to `successor`, under the
  // chunk's lock, as a replace write of chain `chain` at its version. Returns the bytes sent.
  Task<Result<uint64_t>> CopyChunk(StorageTarget& source, const pb::Chain& chain, uint32_t successor, ChunkId id);

 private:
  AsyncMutex& LockFor(uint32_t target_id, ChunkId id);
  // Checks the lease, the chain version and that `target_id` takes writes; returns the chain.
  Result<pb::Chain> CheckWritable(uint32_t target_id, uint32_t chain_id, uint64_t chain_version) const;
  // CheckWritable, once more after a routing refresh when the write carries a newer chain version than
  // the view's (the chain moved on since this node's last heartbeat).
  Task<Result<pb::Chain>> CheckWritableNow(uint32_t target_id, uint32_t chain_id, uint64_t chain_version);
  Task<Status> Send(uint32_t successor, const pb::WriteChunkRequest& request, std::span<const std::byte> payload);
  // The whole chunk (or its removal) to `successor`, the caller holding the chunk's lock.
  Task<Result<uint64_t>> SendWhole(StorageTarget& source, const pb::Chain& chain, uint32_t successor, ChunkId id);
  // A forward running beside the local write: its outcome, and when it is known.
  struct Forward {
    Status status;
    WaitGroup done;
  };
  // The write with a SERVING successor: forwarded and written at once, committed after the successor's
  // acknowledgement.
  Task<Result<WriteResult>> WriteWhileForwarding(StorageTarget& target, pb::WriteChunkRequest request,
                                                 AlignedPayload payload, uint32_t successor);
  Task<> ForwardTo(Forward* forward, uint32_t successor, pb::WriteChunkRequest request,
                   std::span<const std::byte> payload);
  // Resumes once the forward ended, with its outcome (the local write's BeforeCommit).
  static Task<Status> ForwardDone(Forward* forward);

  static constexpr size_t kStripes = 1024;
  ChainView& view_;
  Transport& peers_;
  const RoutingRefresh refresh_;
  std::mutex mutex_;                                         // guards locks_
  std::map<uint32_t, std::unique_ptr<AsyncMutex[]>> locks_;  // per target: kStripes chunk stripes
};

}  // namespace zcfs::storage_internal
