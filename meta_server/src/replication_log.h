// ReplicationLog: the meta server's recent committed write batches, numbered, in memory, for the
// standbys to pull (replication_service.h).
//
// Every batch the primary commits gets the next sequence number and the primary's epoch (the etcd
// revision at which it was elected), and its position (seq, epoch) is written into the same RocksDB
// batch (keys::kReplPosition), so a store always knows exactly which prefix of the history it holds.
// A standby appends what it applies to a log of its own, so that once promoted it can serve the
// others from where they are. Two stores whose positions name the same seq and epoch hold the same
// history (an epoch's batches come from one primary, in order); a standby whose position's epoch
// differs from the primary's entry at that seq holds batches that were never acknowledged, and must
// start over from a checkpoint, as must one older than the log reaches back.
//
// The log keeps the newest entries within `max_bytes`. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs::meta {

struct LogPosition {
  uint64_t seq = 0;
  uint64_t epoch = 0;
  bool operator==(const LogPosition&) const = default;
};

class ReplicationLog {
 public:
  explicit ReplicationLog(size_t max_bytes = 256u << 20) : max_bytes_(max_bytes) {}

  // Empties the log, which now starts after `position` (the store's).
  void Reset(LogPosition position);
  // The next entry; its seq must follow the last one.
  Status Append(pb::ReplEntry entry);
  LogPosition last() const;
  // Whether `position` is a position of this log's history (see After).
  bool Holds(LogPosition position) const;

  // The entries after `after`, at most `max_bytes` of them (but at least one), waiting up to `wait`
  // for one when there is none yet. kOutOfRange when `after` is not a position of this log's history
  // (older than it reaches back, past its end, or of another epoch): the reader needs a checkpoint.
  Result<std::vector<pb::ReplEntry>> After(LogPosition after, size_t max_bytes, std::chrono::milliseconds wait);

 private:
  // The epoch of the entry at `seq`, if the log knows it. Caller holds mutex_.
  std::optional<uint64_t> EpochAt(uint64_t seq) const;

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable appended_;
  LogPosition base_;                // the position before the first entry held
  std::deque<pb::ReplEntry> entries_;
  size_t bytes_ = 0;
};

}  // namespace zcfs::meta
