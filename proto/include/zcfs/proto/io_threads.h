// IoThreads: an io_context run by a fixed number of threads until Stop(). Thread-safe.
#pragma once

#include <optional>
#include <thread>
#include <vector>

#include "zcfs/proto/asio.h"

namespace zcfs {

class IoThreads {
 public:
  explicit IoThreads(int threads);
  ~IoThreads();  // Stop() and join
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  asio::io_context& context() { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }
  // Stops the loop at once (pending handlers do not run) and joins the threads. Idempotent.
  void Stop();

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::vector<std::thread> threads_;
};

// Runs `task` on `executor` and blocks the calling thread until it finishes. Must not be called from
// a thread of that executor (it would wait for itself).
template <typename T>
T run_blocking(asio::any_io_executor executor, Task<T> task) {
  return asio::co_spawn(executor, std::move(task), asio::use_future).get();
}

}  // namespace zcfs
