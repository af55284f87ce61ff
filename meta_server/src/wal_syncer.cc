#include "zcfs/meta/wal_syncer.h"

namespace zcfs::meta {

WalSyncer::WalSyncer(std::function<Status()> sync) : sync_(std::move(sync)), thread_([this] { Run(); }) {}

WalSyncer::~WalSyncer() { Stop(); }

Task<Status> WalSyncer::Durable() {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [this](auto handler) {
        AnyHandler<Status> waiter(std::move(handler));
        std::lock_guard lock(mutex_);
        if (stopped_) {
          waiter.Complete(Error(Code::kUnavailable, "the meta server is stopping"));
          return;
        }
        waiting_.push_back(std::move(waiter));
        wake_.notify_one();
      },
      asio::use_awaitable);
}

void WalSyncer::Run() {
  for (;;) {
    std::vector<AnyHandler<Status>> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopped_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopped, and nobody waits
      batch.swap(waiting_);
    }
    // Every waiter committed before it queued, so before this sync starts: it covers them all.
    Status synced = sync_();
    for (auto& waiter : batch) waiter.Complete(synced);
  }
}

void WalSyncer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

}  // namespace zcfs::meta
