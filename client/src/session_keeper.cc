#include "session_keeper.h"

#include <vector>

#include "zcfs/common/logging.h"

namespace zcfs {

SessionKeeper::SessionKeeper(Callbacks callbacks, std::chrono::milliseconds period)
    : callbacks_(std::move(callbacks)), period_(period), thread_([this] { Run(); }) {}

SessionKeeper::~SessionKeeper() { Stop(); }

void SessionKeeper::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t SessionKeeper::Add(uint64_t ino, uint64_t server_session) {
  std::lock_guard lock(mutex_);
  uint64_t handle = next_handle_++;
  sessions_.emplace(handle, Session{ino, server_session});
  return handle;
}

std::optional<uint64_t> SessionKeeper::Remove(uint64_t handle) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return std::nullopt;
  uint64_t server_session = it->second.server_session;
  sessions_.erase(it);
  return server_session;
}

void SessionKeeper::Run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    wake_.wait_for(lock, period_, [this] { return stopped_; });
    if (stopped_ || sessions_.empty()) continue;
    lock.unlock();
    Status renewed = callbacks_.renew();  // other failures are retried next period, well within the lease
    if (renewed.code() == Code::kNotFound) ReopenAll();
    lock.lock();
  }
}

void SessionKeeper::ReopenAll() {
  std::vector<std::pair<uint64_t, uint64_t>> wanted;  // handle, ino
  {
    std::lock_guard lock(mutex_);
    for (const auto& [handle, s] : sessions_) wanted.emplace_back(handle, s.ino);
  }
  for (const auto& [handle, ino] : wanted) {
    auto session = callbacks_.reopen(ino);
    if (!session.ok()) {
      LOG_WARN << "reopening the session on inode " << ino << ": " << session.status().ToString();
      continue;
    }
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(handle);
    if (it != sessions_.end()) it->second.server_session = *session;  // else closed meanwhile: it expires
  }
  LOG_INFO << "reopened " << wanted.size() << " file session(s) on the meta server";
}

}  // namespace zcfs
