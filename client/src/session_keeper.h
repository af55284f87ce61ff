// SessionKeeper: renews a client's file sessions on the meta server while any is open, so that the
// data of files it has open survives an unlink elsewhere. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace zcfs {

class SessionKeeper {
 public:
  // Calls `renew` every `period` while sessions are open, from its own thread.
  SessionKeeper(std::function<void()> renew, std::chrono::milliseconds period);
  ~SessionKeeper();  // Stop()
  // Stops and joins the thread; a renewal in progress finishes first. Idempotent.
  void Stop();

  void Opened();
  void Closed();

 private:
  void Run();

  std::function<void()> renew_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t open_ = 0;     // guarded by mutex_
  bool stopped_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace zcfs
