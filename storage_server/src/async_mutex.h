// AsyncMutex: a mutual-exclusion lock for coroutines. Waiting suspends the coroutine instead of
// blocking its thread, so a lock held across disk I/O never stalls an io_context thread.
#pragma once

#include <deque>
#include <mutex>

#include "zcfs/proto/any_handler.h"
#include "zcfs/proto/asio.h"

namespace zcfs::storage_internal {

// FIFO: waiters get the lock in arrival order. Thread-safe.
class AsyncMutex {
 public:
  // Releases the lock when destroyed (or on Release()). Move-only.
  class Guard {
   public:
    Guard() = default;
    explicit Guard(AsyncMutex* mutex) : mutex_(mutex) {}
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard& operator=(Guard&& other) noexcept {
      if (this != &other) {
        Release();
        mutex_ = std::exchange(other.mutex_, nullptr);
      }
      return *this;
    }
    ~Guard() { Release(); }
    void Release() {
      if (mutex_ != nullptr) std::exchange(mutex_, nullptr)->Unlock();
    }

   private:
    AsyncMutex* mutex_ = nullptr;
  };

  // Resumes (on the caller's executor) once the lock is held by the caller.
  Task<Guard> Lock() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
          std::unique_lock lock(mutex_);
          if (!locked_) {
            locked_ = true;
            lock.unlock();
            AnyHandler<>(std::move(handler)).Complete();
          } else {
            waiters_.emplace_back(std::move(handler));
          }
        },
        asio::use_awaitable);
    co_return Guard(this);
  }

 private:
  // Hands the lock straight to the next waiter (it stays locked), or unlocks when nobody waits.
  void Unlock() {
    std::unique_lock lock(mutex_);
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    AnyHandler<> next = std::move(waiters_.front());
    waiters_.pop_front();
    lock.unlock();
    next.Complete();
  }

  std::mutex mutex_;
  bool locked_ = false;
  std::deque<AnyHandler<>> waiters_;
};

}  // namespace zcfs::storage_internal
