// The daemon's inode table: which inodes the kernel holds references to (lookup counts), and for each
// the size and modification time this mount knows better than the meta server.
//
// The kernel counts every entry reply (lookup, create, mkdir, symlink, link) as one reference to the
// inode and hands the references back with forget; an inode leaves the table when it has no
// references and no open handle, so the table stays as small as the kernel's inode cache.
//
// Writes go straight to the storage servers, but the meta server learns the new end of the file only
// when a handle is flushed. Until then the mount reports the larger size and the time of the last write
// itself; otherwise the kernel, which refreshes attributes after each write, would see the file shrink.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "zcfs/client/client.h"

namespace zcfs {

// What this mount knows about one inode beyond the meta server's attributes. Thread-safe.
class InodeState {
 public:
  // Folds this mount's unreported writes into attributes fresh from the meta server (and notes the
  // server's size).
  void Observe(FileInfo& info);
  // A write of [offset, offset + length) reached the storage servers at wall time `now_ns`.
  void Wrote(uint64_t offset, uint64_t length, int64_t now_ns);
  // The file was cut (or grown) to `size` on the meta server: unreported writes past it are gone.
  void Resized(uint64_t size);
  // The size reads must respect: the server's, or further if this mount wrote past it.
  uint64_t readable_size() const;
  // Moves on with every write and size change through this mount: read-ahead drops data read at an
  // older version.
  uint64_t data_version() const { return data_version_.load(std::memory_order_acquire); }

  // The end to report to the meta server (ExtendLength, which also moves mtime), if anything was
  // written since the last report; `Reported` records that the report with `ticket` succeeded.
  struct Report {
    uint64_t end = 0;
    uint64_t ticket = 0;
  };
  std::optional<Report> PendingReport() const;
  void Reported(const Report& report, uint64_t server_size);

 private:
  mutable std::mutex mutex_;
  uint64_t server_size_ = 0;  // as of the last attributes from the meta server
  uint64_t written_end_ = 0;  // end of this mount's writes since the last report
  uint64_t writes_ = 0;       // writes so far; a report covers those before its ticket
  uint64_t reported_ = 0;     // `writes_` as of the last successful report
  int64_t write_time_ns_ = 0;
  std::atomic<uint64_t> data_version_{0};
};

class InodeTable {
 public:
  // The kernel received an entry for `ino`: one more reference. Returns the inode's state.
  std::shared_ptr<InodeState> Remember(uint64_t ino);
  // The kernel dropped `n` references (forget); the entry goes when none are left and it is not open.
  void Forget(uint64_t ino, uint64_t n);
  // A handle opens or closes on `ino` (the state outlives the kernel's references while open).
  std::shared_ptr<InodeState> Open(uint64_t ino);
  void Close(uint64_t ino);
  // The state of `ino`, or null when the kernel holds no reference and nothing has it open.
  std::shared_ptr<InodeState> Find(uint64_t ino) const;
  // Inodes in the table (what SIGUSR1 reports, and what the forget test watches). Lock-free, so a
  // signal handler may call it.
  size_t size() const { return size_.load(std::memory_order_relaxed); }
  // References handed out by readdirplus replies so far (each also went through Remember), for the
  // SIGUSR1 report: shows whether the kernel lists with attributes. Lock-free.
  void NoteListed(size_t n) { listed_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t listed() const { return listed_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t lookups = 0;
    uint64_t opens = 0;
    std::shared_ptr<InodeState> state = std::make_shared<InodeState>();
  };
  // One more reference (`counter` = &Entry::lookups) or open handle (&Entry::opens) on `ino`.
  std::shared_ptr<InodeState> Add(uint64_t ino, uint64_t Entry::*counter);
  void DropIfUnused(std::unordered_map<uint64_t, Entry>::iterator it);

  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::atomic<size_t> size_{0};  // entries_.size(), readable without the mutex
  std::atomic<uint64_t> listed_{0};
};

}  // namespace zcfs
