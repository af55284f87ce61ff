// FileSessions: which files clients hold open, so that an unlinked file keeps its data until the last
// session on it ends. Sessions live in memory only and belong to a client id with a lease: a client
// that has not been heard from (Open, Close, Touch) for one lease loses all its sessions, so a crashed
// client cannot pin an orphan forever. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace zcfs::meta {

class FileSessions {
 public:
  // `now` is a monotonic clock in ns.
  FileSessions(int64_t lease_ns, std::function<int64_t()> now) : lease_ns_(lease_ns), now_(std::move(now)) {}

  // Opens a session of `client` on `ino` and renews the client's lease; returns its id (never 0).
  uint64_t Open(uint64_t client, uint64_t ino);
  // Ends a session; an unknown one (expired, or closed twice) is ignored.
  void Close(uint64_t client, uint64_t session);
  // Renews the client's lease. False when the client has no live session here (they expired, or the
  // meta server restarted): the client must reopen what it still holds.
  bool Touch(uint64_t client);
  // True when a live session holds `ino`. Drops the sessions of expired clients first.
  bool IsOpen(uint64_t ino);
  size_t session_count();

 private:
  struct ClientSessions {
    int64_t last_seen_ns = 0;
    std::map<uint64_t, uint64_t> sessions;  // session id -> ino
  };
  void ExpireLocked();
  // Renews the lease of `c`, dropping its sessions first when the lease had already run out (a
  // client's call must not revive sessions that ExpireLocked would have dropped).
  void RenewLocked(ClientSessions& c);
  void DropLocked(uint64_t ino);

  const int64_t lease_ns_;
  std::function<int64_t()> now_;
  std::mutex mutex_;
  std::map<uint64_t, ClientSessions> clients_;
  std::map<uint64_t, uint32_t> open_count_;  // ino -> live sessions
  uint64_t next_session_ = 1;
};

}  // namespace zcfs::meta
