// OrphanReclaimer: a background thread that calls MetaOperator::ReclaimOrphans() every `interval`,
// so the chunks of unlinked files leave the storage servers without any client's help. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace zcfs::meta {

class MetaOperator;

class OrphanReclaimer {
 public:
  // Starts the thread; `op` must outlive the reclaimer.
  OrphanReclaimer(MetaOperator& op, std::chrono::milliseconds interval);
  ~OrphanReclaimer();  // Stop()
  // Wakes the thread for a pass now (after an unlink, say).
  void Poke();
  // Stops and joins the thread; a pass in progress finishes first. Idempotent.
  void Stop();

 private:
  void Run();

  MetaOperator& op_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool poked_ = false;   // guarded by mutex_
  bool stopped_ = false; // guarded by mutex_
  std::thread thread_;
};

}  // namespace zcfs::meta
