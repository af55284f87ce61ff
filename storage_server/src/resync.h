// Resyncer: brings a SYNCING target up to date from its predecessor, while writes go on.
//
// After every answered heartbeat the node looks at its chains: wherever one of its own targets is
// SERVING and its successor is SYNCING, it resyncs that successor (one job per chain and successor at a
// time). A job lists the successor's chunks (ListChunks), walks its own, and for every chunk the two
// do not hold alike (version, length and digest) sends the whole chunk as it is now, under the chunk's
// lock (ChainReplicator::CopyChunk); chunks only the successor holds are removed the same way, which
// applies the truncates and unlinks it missed. Writes arriving meanwhile reach the successor as whole
// chunks (chain_replicator.h), so once the walk ends the successor holds what the predecessor holds,
// and the job reports SyncDone to the meta server, which makes the successor SERVING. A job that fails
// (the chain moved on, a peer died) ends; the next heartbeat starts a new one if it is still needed.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "chain_replicator.h"
#include "zcfs/common/address.h"
#include "zcfs/proto/meta_group.h"

namespace zcfs::storage_internal {

class Resyncer {
 public:
  Resyncer(asio::any_io_executor executor, ChainView& view, ChainReplicator& replicator, Transport& peers,
           std::vector<StorageTarget*> targets, std::shared_ptr<MetaRotation> meta);

  // Starts the jobs the view calls for that are not running.
  void Poke();
  // Stops starting jobs and waits for the running ones (their RPCs time out if peers hang).
  void Stop();

  struct Stats {
    uint64_t jobs_done = 0;
    uint64_t chunks_copied = 0;
    uint64_t chunks_removed = 0;
    uint64_t bytes_copied = 0;
  };
  Stats stats() const;
  // The jobs running now, for the heartbeat.
  std::vector<pb::ResyncProgress> Progress() const;

 private:
  Task<Status> Run(StorageTarget* source, pb::Chain chain, uint32_t successor);
  // The successor's chunk records: id -> (version, length, digest).
  Task<Result<std::map<ChunkId, ChunkMeta>>> ListRemote(uint32_t successor);
  Task<Status> ReportDone(const pb::Chain& chain, uint32_t successor);

  asio::any_io_executor executor_;
  ChainView& view_;
  ChainReplicator& replicator_;
  Transport& peers_;
  const std::vector<StorageTarget*> targets_;
  const std::shared_ptr<MetaRotation> meta_;

  mutable std::mutex mutex_;
  bool stopped_ = false;                                                  // guarded by mutex_
  std::map<std::pair<uint32_t, uint32_t>, pb::ResyncProgress> progress_;  // by (chain, successor); mutex_
  std::set<std::pair<uint32_t, uint32_t>> running_;                       // (chain, successor); guarded by mutex_
  std::condition_variable idle_;                                          // running_ became empty
  std::atomic<uint64_t> jobs_done_{0}, chunks_copied_{0}, chunks_removed_{0}, bytes_copied_{0};
};

}  // namespace zcfs::storage_internal
