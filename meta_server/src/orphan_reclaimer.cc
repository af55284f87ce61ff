#include "zcfs/meta/orphan_reclaimer.h"

#include "zcfs/common/logging.h"
#include "zcfs/meta/meta_operator.h"

namespace zcfs::meta {

OrphanReclaimer::OrphanReclaimer(MetaOperator& op, std::chrono::milliseconds interval)
    : op_(op), interval_(interval), thread_([this] { Run(); }) {}

OrphanReclaimer::~OrphanReclaimer() { Stop(); }

void OrphanReclaimer::Poke() {
  std::lock_guard lock(mutex_);
  poked_ = true;
  wake_.notify_one();
}

void OrphanReclaimer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void OrphanReclaimer::Run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    wake_.wait_for(lock, interval_, [this] { return stopped_ || poked_; });
    if (stopped_) break;
    poked_ = false;
    lock.unlock();
    size_t reclaimed = op_.ReclaimOrphans();
    if (reclaimed > 0) LOG_INFO << "reclaimed " << reclaimed << " unlinked file(s)";
    lock.lock();
  }
}

}  // namespace zcfs::meta
