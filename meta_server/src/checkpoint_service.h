// CheckpointService: hands out consistent copies of the meta server's database (RocksDB checkpoints)
// over RPC, for a standby too far behind for the replication log and for `zcfs meta backup`.
//
// kCheckpoint makes one under <data-dir>/checkpoints/<id> (hard links, so it costs little space until
// compactions replace the live files) and lists its files; kCheckpointRead returns a piece of one;
// kCheckpointDone removes it. A checkpoint nobody read for a minute is removed too, so a reader that
// died leaves nothing behind for long; the directory is emptied when the service starts. Work runs on
// a pool of its own: a checkpoint flushes the memtables, a read preads the disk. Thread-safe.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "zcfs.pb.h"
#include "zcfs/meta/rocksdb_kv_store.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs::meta {

class CheckpointService {
 public:
  static constexpr uint32_t kMaxReadBytes = 1u << 20;
  static constexpr std::chrono::seconds kIdleLifetime{60};

  // Checkpoints of `store` live in `dir`, which is emptied now.
  CheckpointService(const RocksKvStore& store, std::string dir, int threads = 2);
  ~CheckpointService();  // waits for running calls, removes every checkpoint

  void RegisterOn(RpcServer& server);
  Result<pb::CheckpointReply> Take();
  Result<pb::CheckpointReadReply> Read(const pb::CheckpointReadRequest& request);
  Status Done(const std::string& id);

 private:
  // The directory of checkpoint `id`, marked as used now; kNotFound for one unknown or removed.
  Result<std::string> Use(const std::string& id);
  // Removes the checkpoints idle past kIdleLifetime. Caller holds mutex_.
  void RemoveIdle();

  const RocksKvStore& store_;
  const std::string dir_;
  std::mutex mutex_;
  uint64_t next_id_ = 1;                                                 // guarded by mutex_
  std::map<std::string, std::chrono::steady_clock::time_point> used_;  // id -> last use; by mutex_
  boost::asio::thread_pool workers_;
};

}  // namespace zcfs::meta
