// ZcfsFuse: the libfuse3 low-level file system over libzcfs.
//
// Inode numbers are zcfs inode numbers (the root is 1 = FUSE_ROOT_ID). The inode table (inode_table.h)
// counts the kernel's references, as lookup and forget hand them out and back, and holds what the
// mount knows better than the meta server: the end of writes not yet reported. Every handler replies
// exactly once, and every error reaches the caller as Status::to_errno() of a zcfs Status. Open files
// carry the layout fetched at open; the size grows on the meta server at flush/fsync/release.
//
// Thread-safe: handlers run on libfuse's worker threads; the Client and the inode table are
// thread-safe and each handle's state is owned by one request at a time or guarded by its inode.
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "inode_table.h"
#include "read_ahead.h"
#include "zcfs/client/client.h"

namespace zcfs {

// The largest read and write the daemon asks the kernel for (max_read, max_write; libfuse derives
// max_pages = 256 from max_write), so a 1 MiB read(2) reaches the cluster as one request.
inline constexpr size_t kMaxIo = 1 << 20;

struct MountOptions {
  double entry_timeout = 1.0;  // seconds the kernel may cache a name
  double attr_timeout = 1.0;   // seconds the kernel may cache attributes
  bool read_only = false;      // mounted read-only: the kernel refuses changes with EROFS
  // Open files keep the kernel's page cache of the file from earlier opens instead of dropping it:
  // right for immutable data (a dataset epoch re-reads the same bytes), wrong if another machine
  // rewrites files in place.
  bool keep_cache = false;
  bool direct_io = false;  // bypass the page cache: every read(2) goes to the daemon with its own size
  // Read replies go through a pipe (vmsplice + splice, splice_reply.h) instead of writev.
  bool splice = false;
  // Bytes read ahead of a handle that reads sequentially (read_ahead.h); 0 turns read-ahead off.
  uint64_t readahead = 4 * kMaxIo;
  // Memory all handles' read-ahead may hold at once (buffers of kMaxIo, reused).
  uint64_t readahead_pool = 128 * kMaxIo;
};

class ZcfsFuse {
 public:
  ZcfsFuse(std::unique_ptr<Client> client, MountOptions options);
  // The operation table; every entry forwards to the ZcfsFuse passed as session userdata.
  static const fuse_lowlevel_ops& operations();

  Client& client() { return *client_; }
  InodeTable& inodes() { return inodes_; }
  const std::shared_ptr<ReadAheadPool>& read_ahead_pool() { return read_ahead_pool_; }
  const MountOptions& options() const { return options_; }

  // The largest read request the kernel has sent (bytes); async-signal-safe, for SIGUSR1's report.
  uint64_t largest_read() const { return largest_read_.load(std::memory_order_relaxed); }
  void NoteRead(uint64_t size);

 private:
  std::unique_ptr<Client> client_;
  InodeTable inodes_;
  MountOptions options_;
  std::shared_ptr<ReadAheadPool> read_ahead_pool_;  // may outlive the mount in buffers still leased
  std::atomic<uint64_t> largest_read_{0};
  static_assert(std::atomic<uint64_t>::is_always_lock_free, "read from a signal handler");
};

}  // namespace zcfs
