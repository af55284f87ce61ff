// IoThreads: an io_context run by a fixed number of threads until Stop(). Thread-safe.
#pragma once

#include <atomic>
#include <memory>
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

// IoContextPool: N io_contexts, each run by its own thread. A server puts each connection on one of
// them, so everything a connection does stays on one thread: a shared io_context hands completions
// from the thread that saw them to another, and on a two-core machine those wake-ups cost more than
// a small call. Thread-safe.
class IoContextPool {
 public:
  explicit IoContextPool(int threads);
  IoContextPool(const IoContextPool&) = delete;
  IoContextPool& operator=(const IoContextPool&) = delete;

  size_t size() const { return threads_.size(); }
  asio::io_context& context(size_t i) { return threads_.at(i)->context(); }
  // The contexts in turn, for spreading connections.
  asio::any_io_executor NextExecutor();
  // Stops every context and joins its thread. Idempotent.
  void Stop();

 private:
  std::vector<std::unique_ptr<IoThreads>> threads_;
  std::atomic<size_t> next_{0};
};

// Runs `task` on `executor` and blocks the calling thread until it finishes. Must not be called from
// a thread of that executor (it would wait for itself).
template <typename T>
T run_blocking(asio::any_io_executor executor, Task<T> task) {
  return asio::co_spawn(executor, std::move(task), asio::use_future).get();
}

}  // namespace zcfs
