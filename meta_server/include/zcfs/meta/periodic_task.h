// PeriodicTask: a background thread that runs a pass every `interval`: the meta server reclaims
// orphans (MetaOperator::ReclaimOrphans) and checks node leases (MetaOperator::CheckNodeLeases) so,
// without any client's help. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace zcfs::meta {

class PeriodicTask {
 public:
  // Starts the thread; whatever `pass` uses must outlive the task.
  PeriodicTask(std::function<void()> pass, std::chrono::milliseconds interval);
  ~PeriodicTask();  // Stop()
  // Wakes the thread for a pass now.
  void Poke();
  // Stops and joins the thread; a pass in progress finishes first. Idempotent.
  void Stop();

 private:
  void Run();

  const std::function<void()> pass_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool poked_ = false;    // guarded by mutex_
  bool stopped_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace zcfs::meta
