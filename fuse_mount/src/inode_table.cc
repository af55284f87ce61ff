#include "inode_table.h"

#include <algorithm>

#include "zcfs/common/logging.h"

namespace zcfs {

void InodeState::Observe(FileInfo& info) {
  std::lock_guard lock(mutex_);
  server_size_ = info.size;
  if (writes_ == reported_) return;
  info.size = std::max(info.size, written_end_);
  info.mtime_ns = std::max(info.mtime_ns, write_time_ns_);
  info.ctime_ns = std::max(info.ctime_ns, write_time_ns_);
}

void InodeState::Wrote(uint64_t offset, uint64_t length, int64_t now_ns) {
  std::lock_guard lock(mutex_);
  written_end_ = std::max(written_end_, offset + length);
  write_time_ns_ = std::max(write_time_ns_, now_ns);
  ++writes_;
  data_version_.fetch_add(1, std::memory_order_release);
}

void InodeState::Resized(uint64_t size) {
  std::lock_guard lock(mutex_);
  server_size_ = size;
  written_end_ = std::min(written_end_, size);
  data_version_.fetch_add(1, std::memory_order_release);
}

uint64_t InodeState::readable_size() const {
  std::lock_guard lock(mutex_);
  return std::max(server_size_, written_end_);
}

std::optional<InodeState::Report> InodeState::PendingReport() const {
  std::lock_guard lock(mutex_);
  if (writes_ == reported_) return std::nullopt;
  return Report{written_end_, writes_};
}

void InodeState::Reported(const Report& report, uint64_t server_size) {
  std::lock_guard lock(mutex_);
  server_size_ = server_size;
  reported_ = std::max(reported_, report.ticket);
  // Writes after the report's ticket are still pending; their end stays.
  if (reported_ == writes_) written_end_ = 0;
}

std::shared_ptr<InodeState> InodeTable::Remember(uint64_t ino) { return Add(ino, &Entry::lookups); }

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(ino);
  if (it == entries_.end()) {
    // The root, which the kernel holds without a lookup; anything else is a counting bug.
    if (ino != kRootInode) LOG_WARN << "forget of inode " << ino << ", which the kernel was never given";
    return;
  }
  if (n > it->second.lookups) {
    LOG_WARN << "forget of " << n << " references to inode " << ino << ", which has " << it->second.lookups;
    n = it->second.lookups;
  }
  it->second.lookups -= n;
  DropIfUnused(it);
}

std::shared_ptr<InodeState> InodeTable::Open(uint64_t ino) { return Add(ino, &Entry::opens); }

void InodeTable::Close(uint64_t ino) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(ino);
  if (it == entries_.end() || it->second.opens == 0) return;
  --it->second.opens;
  DropIfUnused(it);
}

std::shared_ptr<InodeState> InodeTable::Find(uint64_t ino) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(ino);
  return it == entries_.end() ? nullptr : it->second.state;
}

std::shared_ptr<InodeState> InodeTable::Add(uint64_t ino, uint64_t Entry::*counter) {
  std::lock_guard lock(mutex_);
  Entry& entry = entries_[ino];
  ++(entry.*counter);
  size_.store(entries_.size(), std::memory_order_relaxed);
  return entry.state;
}

void InodeTable::DropIfUnused(std::unordered_map<uint64_t, Entry>::iterator it) {
  if (it->second.lookups == 0 && it->second.opens == 0) entries_.erase(it);
  size_.store(entries_.size(), std::memory_order_relaxed);
}

}  // namespace zcfs
