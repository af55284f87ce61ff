// The client's open file handles (Client::OpenHandle): what each one knows about its file, its
// session and its position.
//
// Handle values count up from 1 and are never reused within a client, so a handle that was closed
// stays invalid (kBadHandle) instead of silently naming a file opened later.
#pragma once

#include <fcntl.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "zcfs/client/client.h"
#include "zcfs/common/status.h"

namespace zcfs {

// One open handle. The layout and identity never change; the rest is guarded by `mutex`.
class OpenHandleState {
 public:
  OpenHandleState(uint64_t handle, std::string path, OpenFile file, int flags)
      : handle_(handle),
        path_(std::move(path)),
        file_(std::move(file)),
        flags_(flags),
        size_(file_.info.size),
        version_(file_.info.version) {}

  uint64_t handle() const { return handle_; }
  const std::string& path() const { return path_; }
  const OpenFile& file() const { return file_; }  // info as of open (size: see info())
  bool readable() const { return (flags_ & O_ACCMODE) != O_WRONLY; }
  bool writable() const { return (flags_ & O_ACCMODE) != O_RDONLY; }
  bool append() const { return (flags_ & O_APPEND) != 0; }
  // "handle 7 (/data/x)": how errors name the handle.
  std::string name() const;

  // The file as this handle knows it: the size at open (or at the last Revalidate that saw a newer
  // inode version) grown by the handle's own writes.
  FileInfo info() const;
  // Takes `fresh` (the meta server's current attributes) when its inode version is newer than the one
  // the handle knows: another client grew, cut or rewrote the file since the handle was opened.
  void Revalidate(const FileInfo& fresh);
  uint64_t written_end() const;
  // Records a write of [offset, offset + length).
  void Wrote(uint64_t offset, uint64_t length);
  // The sequential position: Advance returns the position and moves it on by `length`.
  uint64_t Advance(uint64_t length);
  // Where the next O_APPEND write goes (the known end), reserving `length` bytes there.
  uint64_t ReserveAppend(uint64_t length);
  // A sequential call that advanced from `from` by `reserved` used only `used` bytes (a short read, a
  // failure): the position moves back accordingly, unless another call has moved it since.
  void Settle(uint64_t from, uint64_t reserved, uint64_t used);

 private:
  const uint64_t handle_;
  const std::string path_;
  const OpenFile file_;
  const int flags_;
  mutable std::mutex mutex_;
  uint64_t size_;             // guarded by mutex_; the meta server's size at `version_`
  uint64_t version_;          // guarded by mutex_; the inode version the handle knows
  uint64_t position_ = 0;     // guarded by mutex_
  uint64_t written_end_ = 0;  // guarded by mutex_; end of the furthest write through this handle
  uint64_t append_end_ = 0;   // guarded by mutex_; end of the furthest O_APPEND reservation
};

// Handle value -> state. Thread-safe.
class HandleTable {
 public:
  // Records an open file; returns its handle (never 0, never one returned before).
  std::shared_ptr<OpenHandleState> Add(std::string path, OpenFile file, int flags);
  // The state of an open handle; kBadHandle (naming the handle) when it is not open.
  Result<std::shared_ptr<OpenHandleState>> Get(FileHandle handle) const;
  // Forgets an open handle and returns its state; kBadHandle when it is not open (closed twice).
  Result<std::shared_ptr<OpenHandleState>> Remove(FileHandle handle);
  // Forgets every handle (the client is closing); returns them.
  std::map<uint64_t, std::shared_ptr<OpenHandleState>> TakeAll();
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  uint64_t next_ = 1;                                          // guarded by mutex_
  std::map<uint64_t, std::shared_ptr<OpenHandleState>> open_;  // guarded by mutex_
};

}  // namespace zcfs
