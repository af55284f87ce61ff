#include "file_sessions.h"

namespace zcfs::meta {

uint64_t FileSessions::Open(uint64_t client, uint64_t ino) {
  std::lock_guard lock(mutex_);
  ClientSessions& c = clients_[client];
  RenewLocked(c);
  uint64_t id = next_session_++;
  c.sessions.emplace(id, ino);
  ++open_count_[ino];
  return id;
}

void FileSessions::Close(uint64_t client, uint64_t session) {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  RenewLocked(it->second);
  auto s = it->second.sessions.find(session);
  if (s == it->second.sessions.end()) return;
  DropLocked(s->second);
  it->second.sessions.erase(s);
  if (it->second.sessions.empty()) clients_.erase(it);
}

bool FileSessions::Touch(uint64_t client) {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return false;
  RenewLocked(it->second);
  if (!it->second.sessions.empty()) return true;
  clients_.erase(it);
  return false;
}

bool FileSessions::IsOpen(uint64_t ino) {
  std::lock_guard lock(mutex_);
  ExpireLocked();
  return open_count_.contains(ino);
}

size_t FileSessions::session_count() {
  std::lock_guard lock(mutex_);
  ExpireLocked();
  size_t n = 0;
  for (const auto& [id, c] : clients_) n += c.sessions.size();
  return n;
}

void FileSessions::ExpireLocked() {
  const int64_t now = now_();
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (now - it->second.last_seen_ns < lease_ns_) {
      ++it;
      continue;
    }
    for (const auto& [session, ino] : it->second.sessions) DropLocked(ino);
    it = clients_.erase(it);
  }
}

void FileSessions::RenewLocked(ClientSessions& c) {
  const int64_t now = now_();
  if (now - c.last_seen_ns >= lease_ns_) {  // expired before this call: its sessions are gone
    for (const auto& [session, ino] : c.sessions) DropLocked(ino);
    c.sessions.clear();
  }
  c.last_seen_ns = now;
}

void FileSessions::DropLocked(uint64_t ino) {
  auto it = open_count_.find(ino);
  if (it != open_count_.end() && --it->second == 0) open_count_.erase(it);
}

}  // namespace zcfs::meta
