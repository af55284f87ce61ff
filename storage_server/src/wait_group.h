// WaitGroup: lets one coroutine wait until a known number of spawned tasks have finished.
#pragma once

#include <mutex>

#include "zcfs/proto/any_handler.h"
#include "zcfs/proto/asio.h"

namespace zcfs::storage_internal {

// Add() before spawning, Done() from each task (any thread), Wait() once from the owner.
// Thread-safe.
class WaitGroup {
 public:
  void Add(size_t n) {
    std::lock_guard lock(mutex_);
    count_ += n;
  }

  void Done() {
    std::unique_lock lock(mutex_);
    if (--count_ > 0 || !waiter_) return;
    AnyHandler<> waiter = std::move(waiter_);
    lock.unlock();
    waiter.Complete();
  }

  // Resumes when the count is zero (at once if it already is).
  Task<> Wait() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
          std::unique_lock lock(mutex_);
          if (count_ == 0) {
            lock.unlock();
            AnyHandler<>(std::move(handler)).Complete();
          } else {
            waiter_ = AnyHandler<>(std::move(handler));
          }
        },
        asio::use_awaitable);
  }

 private:
  std::mutex mutex_;
  size_t count_ = 0;
  AnyHandler<> waiter_;
};

}  // namespace zcfs::storage_internal
