// The completion side of a ReadRing: reads submitted but not yet handed back to the application, and
// the completions that are ready. Produced by the client's I/O threads, consumed by the ring's user.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <span>

#include "zcfs/client/read_ring.h"

namespace zcfs {

class CompletionQueue {
 public:
  // `count` reads were submitted: each will Complete once.
  void Submitted(size_t count);
  void Complete(ReadCompletion completion);
  // Ready completions, at most out.size(); Wait first waits until `min_ready` are ready (capped at the
  // reads not yet returned) or the timeout passes.
  size_t Poll(std::span<ReadCompletion> out);
  size_t Wait(std::span<ReadCompletion> out, size_t min_ready, std::chrono::milliseconds timeout);
  // Submitted and not yet returned by Poll/Wait.
  size_t unreturned() const;
  // Blocks until every submitted read has completed (returned or not).
  void Drain();

 private:
  size_t TakeLocked(std::span<ReadCompletion> out);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ReadCompletion> ready_;  // guarded by mutex_
  size_t outstanding_ = 0;            // guarded by mutex_; submitted, not completed
  size_t unreturned_ = 0;             // guarded by mutex_; submitted, not returned
};

}  // namespace zcfs
