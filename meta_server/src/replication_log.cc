#include "replication_log.h"

namespace zcfs::meta {

void ReplicationLog::Reset(LogPosition position) {
  std::lock_guard lock(mutex_);
  base_ = position;
  entries_.clear();
  bytes_ = 0;
}

Status ReplicationLog::Append(pb::ReplEntry entry) {
  {
    std::lock_guard lock(mutex_);
    const uint64_t last = entries_.empty() ? base_.seq : entries_.back().seq();
    if (entry.seq() != last + 1) {
      return Error(Code::kInternal, "replication log: entry " + std::to_string(entry.seq()) + " does not follow " +
                                        std::to_string(last));
    }
    bytes_ += entry.ByteSizeLong();
    entries_.push_back(std::move(entry));
    while (bytes_ > max_bytes_ && entries_.size() > 1) {  // the oldest go; a reader behind them needs a checkpoint
      bytes_ -= entries_.front().ByteSizeLong();
      base_ = {entries_.front().seq(), entries_.front().epoch()};
      entries_.pop_front();
    }
  }
  appended_.notify_all();
  return Status::Ok();
}

LogPosition ReplicationLog::last() const {
  std::lock_guard lock(mutex_);
  if (entries_.empty()) return base_;
  return {entries_.back().seq(), entries_.back().epoch()};
}

bool ReplicationLog::Holds(LogPosition position) const {
  std::lock_guard lock(mutex_);
  return EpochAt(position.seq) == position.epoch;
}

std::optional<uint64_t> ReplicationLog::EpochAt(uint64_t seq) const {
  if (seq == base_.seq) return base_.epoch;
  if (seq < base_.seq || entries_.empty() || seq > entries_.back().seq()) return std::nullopt;
  return entries_[seq - base_.seq - 1].epoch();
}

Result<std::vector<pb::ReplEntry>> ReplicationLog::After(LogPosition after, size_t max_bytes,
                                                         std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (EpochAt(after.seq) != after.epoch) {
    return Error(Code::kOutOfRange, "position " + std::to_string(after.seq) + "@" + std::to_string(after.epoch) +
                                        " is not in this log's history (" + std::to_string(base_.seq) + "@" +
                                        std::to_string(base_.epoch) + " onwards)");
  }
  appended_.wait_for(lock, wait, [&] { return !entries_.empty() && entries_.back().seq() > after.seq; });
  // The log may have moved on while we waited, past `after` even.
  if (after.seq < base_.seq) return Error(Code::kOutOfRange, "the log moved past " + std::to_string(after.seq));
  std::vector<pb::ReplEntry> out;
  size_t bytes = 0;
  for (size_t i = after.seq - base_.seq; i < entries_.size(); ++i) {
    bytes += entries_[i].ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(entries_[i]);
  }
  return out;
}

}  // namespace zcfs::meta
