// WalSyncer: makes committed-but-deferred writes durable for coroutines without blocking their
// threads. A handler commits its mutation (Durability::kDeferred) on its I/O thread and awaits
// Durable(); the syncer's thread runs one sync (KvStore::Sync) for every waiter gathered meanwhile and
// resumes each on its own executor. The I/O thread serves other calls while the disk works, and all
// the mutations that arrive during one sync share the next one (group commit without a thread per
// waiting call). Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "zcfs/common/status.h"
#include "zcfs/proto/any_handler.h"
#include "zcfs/proto/asio.h"

namespace zcfs::meta {

class WalSyncer {
 public:
  // `sync` makes every write committed before it started durable (MetaOperator::Sync).
  explicit WalSyncer(std::function<Status()> sync);
  ~WalSyncer();  // Stop()
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;

  // Completes once every write committed before the call is durable, with the sync's status.
  Task<Status> Durable();
  // Syncs for the waiters already queued, then ends the thread; later calls get kUnavailable.
  // The waiters' executors must still run for them to resume. Idempotent.
  void Stop();

 private:
  void Run();

  const std::function<Status()> sync_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<AnyHandler<Status>> waiting_;  // guarded by mutex_
  bool stopped_ = false;                     // guarded by mutex_
  std::thread thread_;
};

}  // namespace zcfs::meta
