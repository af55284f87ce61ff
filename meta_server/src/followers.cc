#include "followers.h"

#include <algorithm>

#include "zcfs/common/logging.h"

namespace zcfs::meta {

using Clock = std::chrono::steady_clock;

Followers::Followers(Publish publish, std::chrono::milliseconds ack_timeout)
    : publish_(std::move(publish)), ack_timeout_(ack_timeout) {}

void Followers::Start(const std::vector<std::string>& in_sync) {
  std::lock_guard lock(mutex_);
  in_sync_ = {in_sync.begin(), in_sync.end()};
  for (const auto& m : in_sync) standbys_[m].heard = Clock::now();
}

Status Followers::Change(std::set<std::string> next) {
  if (deposed_) return Error(Code::kUnavailable, "this meta server is no longer the primary");
  Status published = publish_({next.begin(), next.end()});
  if (!published.ok()) {
    deposed_ = true;
    acked_.notify_all();
    LOG_ERROR << "cannot change the in-sync set in etcd, so this meta server may no longer be the primary: "
              << published.ToString();
    return Error(Code::kUnavailable, "this meta server is no longer the primary: " + published.message());
  }
  in_sync_ = std::move(next);
  return Status::Ok();
}

void Followers::Acked(const std::string& member, uint64_t acked, uint64_t last) {
  std::lock_guard lock(mutex_);
  Standby& s = standbys_[member];
  // Heard from = making progress: a standby that pulls but never gets further counts as silent.
  if (acked > s.acked || acked >= last || s.heard == Clock::time_point()) s.heard = Clock::now();
  s.acked = std::max(s.acked, acked);
  if (!in_sync_.contains(member) && acked >= last && !deposed_) {
    std::set<std::string> next = in_sync_;
    next.insert(member);
    if (Change(std::move(next)).ok()) LOG_INFO << "standby " << member << " caught up at " << acked << ": in sync";
  }
  acked_.notify_all();
}

Status Followers::WaitAcked(uint64_t seq) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (deposed_) return Error(Code::kUnavailable, "this meta server is no longer the primary");
    const auto now = Clock::now();
    std::set<std::string> silent;
    auto wake = Clock::time_point::max();  // when the first standby still behind runs out of time
    for (const auto& m : in_sync_) {
      const Standby& s = standbys_[m];
      if (s.acked >= seq) continue;
      const auto give_up = s.heard + ack_timeout_;
      if (now >= give_up) silent.insert(m);
      else wake = std::min(wake, give_up);
    }
    if (!silent.empty()) {
      std::set<std::string> next;
      std::string names;
      for (const auto& m : in_sync_) {
        if (silent.contains(m)) names += " " + m;
        else next.insert(m);
      }
      RETURN_IF_ERROR(Change(std::move(next)));
      LOG_WARN << "standby" << names << " did not acknowledge for " << ack_timeout_.count()
               << " ms: out of the in-sync set";
      continue;
    }
    if (wake == Clock::time_point::max()) return Status::Ok();  // every in-sync standby has it
    acked_.wait_until(lock, wake);
  }
}

std::vector<std::string> Followers::in_sync() const {
  std::lock_guard lock(mutex_);
  return {in_sync_.begin(), in_sync_.end()};
}

bool Followers::deposed() const {
  std::lock_guard lock(mutex_);
  return deposed_;
}

}  // namespace zcfs::meta
