#include "session_keeper.h"

namespace zcfs {

SessionKeeper::SessionKeeper(std::function<void()> renew, std::chrono::milliseconds period)
    : renew_(std::move(renew)), period_(period), thread_([this] { Run(); }) {}

SessionKeeper::~SessionKeeper() { Stop(); }

void SessionKeeper::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void SessionKeeper::Opened() {
  std::lock_guard lock(mutex_);
  ++open_;
}

void SessionKeeper::Closed() {
  std::lock_guard lock(mutex_);
  if (open_ > 0) --open_;
}

void SessionKeeper::Run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    wake_.wait_for(lock, period_, [this] { return stopped_; });
    if (stopped_ || open_ == 0) continue;
    lock.unlock();
    renew_();  // a failure is retried next period; the lease spans several periods
    lock.lock();
  }
}

}  // namespace zcfs
