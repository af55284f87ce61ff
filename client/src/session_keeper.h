// SessionKeeper: the client's file sessions on the meta server. It renews them in the background while
// any is open, so that the data of files this client holds survives an unlink elsewhere, and reopens
// them when the meta server no longer knows them (it restarted, or a renewal came too late).
//
// Callers see a stable local handle per open file; the server's session id behind it changes on a
// reopen. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "zcfs/common/status.h"

namespace zcfs {

class SessionKeeper {
 public:
  struct Callbacks {
    std::function<Status()> renew;                    // kNotFound: the server has none of our sessions
    std::function<Result<uint64_t>(uint64_t ino)> reopen;  // a new server session on `ino`
  };
  // Renews every `period` while sessions are open, from its own thread.
  SessionKeeper(Callbacks callbacks, std::chrono::milliseconds period);
  ~SessionKeeper();  // Stop()
  // Stops and joins the thread; a renewal in progress finishes first. Idempotent.
  void Stop();

  // Records a session opened on `ino`; returns its local handle (never 0).
  uint64_t Add(uint64_t ino, uint64_t server_session);
  // Forgets a handle; returns the server session behind it, nullopt for an unknown handle.
  std::optional<uint64_t> Remove(uint64_t handle);

 private:
  struct Session {
    uint64_t ino = 0;
    uint64_t server_session = 0;
  };
  void Run();
  void ReopenAll();

  Callbacks callbacks_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<uint64_t, Session> sessions_;  // guarded by mutex_; by local handle
  uint64_t next_handle_ = 1;              // guarded by mutex_
  bool stopped_ = false;                  // guarded by mutex_
  std::thread thread_;
};

}  // namespace zcfs
