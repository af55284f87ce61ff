#include "zcfs/meta/periodic_task.h"

namespace zcfs::meta {

PeriodicTask::PeriodicTask(std::function<void()> pass, std::chrono::milliseconds interval)
    : pass_(std::move(pass)), interval_(interval), thread_([this] { Run(); }) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Poke() {
  std::lock_guard lock(mutex_);
  poked_ = true;
  wake_.notify_one();
}

void PeriodicTask::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::Run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    wake_.wait_for(lock, interval_, [this] { return stopped_ || poked_; });
    if (stopped_) break;
    poked_ = false;
    lock.unlock();
    pass_();
    lock.lock();
  }
}

}  // namespace zcfs::meta
