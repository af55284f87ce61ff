// BlockingChannel: a TCP connection on which the calling thread itself sends a request and waits for
// its reply. For small request/reply calls without payloads (the namespace calls to the meta server):
// a call costs one sendmsg and, as a rule, one recv, with no hand-off to an I/O thread and back. On a
// two-core machine those two thread wake-ups cost more than the call itself.
//
// One call at a time per connection, so a reply can only belong to the call waiting for it. A call
// that times out, or any I/O or protocol error, breaks the connection (a late reply could not be told
// from the next one); a pool then opens a new one.
//
// BlockingChannelPool lends idle connections to one peer to calling threads, so N threads calling
// at once use N connections and the server works on their calls in parallel. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/frame.h"

namespace zcfs {

class BlockingChannel {
 public:
  static Result<std::unique_ptr<BlockingChannel>> Connect(const HostPort& peer, std::chrono::milliseconds timeout,
                                                          FrameLimits limits = {});
  ~BlockingChannel();
  BlockingChannel(const BlockingChannel&) = delete;
  BlockingChannel& operator=(const BlockingChannel&) = delete;

  // Sends a request and returns the reply body; an error reply becomes its status. A reply that
  // carries a payload is a protocol error (these calls never ask for one).
  //
  // `poll`: how long to look for the reply without sleeping (non-blocking recv, yielding the CPU
  // between looks) before waiting for it in the kernel. A sleeping caller has to be woken by the
  // server's send, and on a small or virtualized machine that wake-up costs the server more than a
  // short call itself; a caller still polling needs no wake-up. Worth it only for calls the server
  // answers from memory in microseconds, not for ones that wait for the disk.
  Result<std::string> Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                           std::chrono::microseconds poll = {});
  // False after a timeout or an I/O or protocol error: the connection cannot be used again.
  bool usable() const { return fd_ >= 0; }
  // True when the peer closed the connection (or sent something unasked) since the last call.
  // One non-blocking syscall; for a pool to check a connection before lending it.
  bool PeerClosed();
  // When the last call ended.
  std::chrono::steady_clock::time_point last_used() const { return last_used_; }

 private:
  BlockingChannel(int fd, std::string peer, FrameLimits limits);
  Status Send(const FrameHeader& header, std::string_view body);
  Result<std::string> Receive(uint64_t request_id, std::chrono::microseconds poll);
  // Reads what arrives within `poll` without sleeping; returns the byte count (0: nothing yet).
  size_t Poll(std::chrono::microseconds poll);
  Status SetTimeout(std::chrono::milliseconds timeout);
  // Closes the socket and returns `why`: every error leaves the connection unusable.
  Status Break(Status why);

  int fd_;
  std::string peer_;
  FrameLimits limits_;
  uint64_t next_request_id_ = 1;
  std::chrono::milliseconds timeout_set_{0};  // what SO_RCVTIMEO/SO_SNDTIMEO hold now
  std::vector<std::byte> buffer_;             // receive buffer: header and (usually) body in one recv
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
};

class BlockingChannelPool {
 public:
  BlockingChannelPool(HostPort peer, std::chrono::milliseconds connect_timeout, size_t max_idle = 64);

  // Makes the call on an idle connection, or on a new one when none is idle. See BlockingChannel::Call.
  Result<std::string> Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                           std::chrono::microseconds poll = {});
  // Closes the idle connections; calls in progress keep theirs and close them when they end.
  void CloseAll();

 private:
  const HostPort peer_;
  const std::chrono::milliseconds connect_timeout_;
  const size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<BlockingChannel>> idle_;  // guarded by mutex_
  bool closed_ = false;                                 // guarded by mutex_
};

}  // namespace zcfs
