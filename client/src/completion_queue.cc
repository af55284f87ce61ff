#include "completion_queue.h"

#include <algorithm>

namespace zcfs {

void CompletionQueue::Submitted(size_t count) {
  std::lock_guard lock(mutex_);
  outstanding_ += count;
  unreturned_ += count;
}

void CompletionQueue::Complete(ReadCompletion completion) {
  std::lock_guard lock(mutex_);
  ready_.push_back(std::move(completion));
  --outstanding_;
  changed_.notify_all();
}

size_t CompletionQueue::TakeLocked(std::span<ReadCompletion> out) {
  size_t n = std::min(out.size(), ready_.size());
  for (size_t i = 0; i < n; ++i) {
    out[i] = std::move(ready_.front());
    ready_.pop_front();
  }
  unreturned_ -= n;
  return n;
}

size_t CompletionQueue::Poll(std::span<ReadCompletion> out) {
  std::lock_guard lock(mutex_);
  return TakeLocked(out);
}

size_t CompletionQueue::Wait(std::span<ReadCompletion> out, size_t min_ready, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  size_t want = std::min({min_ready, out.size(), unreturned_});
  changed_.wait_for(lock, timeout, [&] { return ready_.size() >= want; });
  return TakeLocked(out);
}

size_t CompletionQueue::unreturned() const {
  std::lock_guard lock(mutex_);
  return unreturned_;
}

void CompletionQueue::Drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return outstanding_ == 0; });
}

}  // namespace zcfs
