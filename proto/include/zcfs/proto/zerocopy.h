// MSG_ZEROCOPY bookkeeping for one TCP socket (Linux).
//
// A sendmsg(MSG_ZEROCOPY) that sends bytes makes the kernel send them from the caller's pages instead of
// copying them into socket buffers; the caller must keep that memory alive and unchanged until the kernel
// says it is done with it. Each such call takes the socket's next 32-bit notification id (a call that
// sends nothing takes none), and the kernel reports finished ids on the socket error queue as inclusive
// ranges [ee_info, ee_data] of a sock_extended_err with ee_origin SO_EE_ORIGIN_ZEROCOPY. It may
// coalesce ids into one range, report ranges out of order, and set SO_EE_CODE_ZEROCOPY_COPIED when it
// had to copy after all (e.g. delivery to a local socket).
//
// ZerocopyTracker turns those ranges into "this memory may be released now": it holds keepalives
// in send order and releases each once every id sent before it has completed.
#pragma once

// clang-format off
#include <time.h>  // linux/errqueue.h uses struct timespec without including it
#include <linux/errqueue.h>
// clang-format on

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace zcfs {

// One completion notification: ids lo..hi (inclusive, may wrap past 2^32) are done.
struct ZerocopyNotice {
  uint32_t lo = 0;
  uint32_t hi = 0;
  bool copied = false;  // the kernel copied the data of these sends (zerocopy did not pay)
  bool operator==(const ZerocopyNotice&) const = default;
};

// The zerocopy completion an error-queue entry carries, or nullopt for any other entry (an ICMP
// error, a timestamp, a local error with ee_errno set).
std::optional<ZerocopyNotice> decode_zerocopy_notice(const sock_extended_err& err);

// Reads every entry queued on `fd`'s error queue without blocking and returns the zerocopy
// completions among them. errno-style error (other than "queue empty") in `*error`, else 0.
std::vector<ZerocopyNotice> read_zerocopy_notices(int fd, int* error);

// Turns MSG_ZEROCOPY on for `fd` (SO_ZEROCOPY). Returns 0 or the errno (e.g. EOPNOTSUPP on old kernels).
int enable_zerocopy(int fd);

// Tracks the ids of one socket's zerocopy sends and the memory that must outlive them.
// Not thread-safe (one socket, one strand).
class ZerocopyTracker {
 public:
  // `first_id`: the id the socket's next zerocopy send takes (0 for a new socket).
  explicit ZerocopyTracker(uint32_t first_id = 0) : first_id_(first_id) {}

  // A zerocopy sendmsg sent bytes: it took the next id.
  void Sent() { ++sent_; }
  // Holds `keepalive` until every id taken so far has completed; released at once if none is pending.
  void Hold(std::shared_ptr<void> keepalive);
  // Applies one notification. A range that is not wholly among the ids sent and not yet completed is
  // ignored and returns false (the kernel never sends one; a test may).
  bool Complete(uint32_t lo, uint32_t hi);
  // Drops every hold: for when the socket is closed and the kernel keeps what it still needs itself.
  void ReleaseAll();

  uint32_t next_id() const { return first_id_ + static_cast<uint32_t>(sent_); }
  uint64_t outstanding() const;  // ids sent and not completed
  size_t held() const { return held_.size(); }

 private:
  void ReleaseCompleted();

  // Ids are counted as 64-bit sequence numbers from `first_id_` (seq s is id first_id_ + s mod 2^32),
  // so wrapping ids need no special cases.
  uint32_t first_id_;
  uint64_t sent_ = 0;                   // seqs [0, sent_) were taken
  uint64_t done_ = 0;                   // seqs [0, done_) have all completed
  std::map<uint64_t, uint64_t> early_;  // completed seq ranges [begin, end) past done_, disjoint
  std::deque<std::pair<uint64_t, std::shared_ptr<void>>> held_;  // (seqs that must complete first, memory)
};

// What a server's zerocopy sends did, summed over its connections. Thread-safe.
struct ZerocopyCounters {
  std::atomic<uint64_t> frames{0};      // frames whose payload went out with MSG_ZEROCOPY
  std::atomic<uint64_t> sends{0};       // sendmsg(MSG_ZEROCOPY) calls that sent bytes (= ids taken)
  std::atomic<uint64_t> bytes{0};       // bytes those calls sent
  std::atomic<uint64_t> notices{0};     // completion notifications read
  std::atomic<uint64_t> copied{0};      // ... of which said the kernel copied
  std::atomic<uint64_t> enobufs{0};     // zerocopy sends refused (ENOBUFS) and sent plainly instead
  std::atomic<uint64_t> turned_off{0};  // sockets that went back to plain sends because the kernel copied
};

}  // namespace zcfs
