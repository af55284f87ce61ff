#include "file_handles.h"

#include <algorithm>

namespace zcfs {
namespace {

Status bad_handle(FileHandle handle, std::string_view why) {
  return Error(Code::kBadHandle, "handle " + std::to_string(handle.value) + " " + std::string(why));
}

}  // namespace

std::string OpenHandleState::name() const { return "handle " + std::to_string(handle_) + " (" + path_ + ")"; }

FileInfo OpenHandleState::info() const {
  FileInfo info = file_.info;
  std::lock_guard lock(mutex_);
  info.size = std::max(size_, written_end_);
  info.version = version_;
  return info;
}

void OpenHandleState::Revalidate(const FileInfo& fresh) {
  std::lock_guard lock(mutex_);
  if (fresh.ino != file_.info.ino || fresh.version <= version_) return;  // versions only grow
  size_ = fresh.size;
  version_ = fresh.version;
}

uint64_t OpenHandleState::written_end() const {
  std::lock_guard lock(mutex_);
  return written_end_;
}

void OpenHandleState::Wrote(uint64_t offset, uint64_t length) {
  std::lock_guard lock(mutex_);
  written_end_ = std::max(written_end_, offset + length);
}

uint64_t OpenHandleState::Advance(uint64_t length) {
  std::lock_guard lock(mutex_);
  uint64_t at = position_;
  position_ += length;
  return at;
}

uint64_t OpenHandleState::ReserveAppend(uint64_t length) {
  std::lock_guard lock(mutex_);
  // Past earlier reservations too, so that a second append lands after the first even while that one
  // is still in flight. Only a successful write (Wrote) grows the size Close reports.
  uint64_t at = std::max({file_.info.size, written_end_, append_end_});
  append_end_ = at + length;
  position_ = at + length;
  return at;
}

void OpenHandleState::Settle(uint64_t from, uint64_t reserved, uint64_t used) {
  std::lock_guard lock(mutex_);
  if (position_ == from + reserved) position_ = from + used;
}

std::shared_ptr<OpenHandleState> HandleTable::Add(std::string path, OpenFile file, int flags) {
  std::lock_guard lock(mutex_);
  uint64_t handle = next_++;
  auto state = std::make_shared<OpenHandleState>(handle, std::move(path), std::move(file), flags);
  open_[handle] = state;
  return state;
}

Result<std::shared_ptr<OpenHandleState>> HandleTable::Get(FileHandle handle) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(handle.value);
  if (it != open_.end()) return it->second;
  return bad_handle(handle, handle.value != 0 && handle.value < next_ ? "was closed" : "is not an open handle");
}

Result<std::shared_ptr<OpenHandleState>> HandleTable::Remove(FileHandle handle) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(handle.value);
  if (it == open_.end()) {
    return bad_handle(handle,
                      handle.value != 0 && handle.value < next_ ? "was already closed" : "is not an open handle");
  }
  auto state = std::move(it->second);
  open_.erase(it);
  return state;
}

std::map<uint64_t, std::shared_ptr<OpenHandleState>> HandleTable::TakeAll() {
  std::lock_guard lock(mutex_);
  return std::exchange(open_, {});
}

size_t HandleTable::size() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

}  // namespace zcfs
