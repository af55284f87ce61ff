// Helpers shared by the daemon's handler files (namespace handlers in zcfs_fuse.cc, file data
// handlers in file_ops.cc). Private to fuse_mount.
#pragma once

#include <sys/stat.h>

#include "zcfs_fuse.h"

namespace zcfs::fuse_internal {

inline ZcfsFuse& fs(fuse_req_t req) { return *static_cast<ZcfsFuse*>(fuse_req_userdata(req)); }

// The calling process's credentials, supplementary groups included, for the meta server's checks.
Credentials caller(fuse_req_t req);
struct stat to_stat(const FileInfo& info);

// The one way errors leave the daemon: the errno of the zcfs Status (Status::to_errno()).
void reply_error(fuse_req_t req, const Status& status);
// Success (errno 0) or the error of `status`.
void reply_status(fuse_req_t req, const Status& status);

// An entry for the kernel, counted as one reference in the inode table (with this mount's unreported
// writes folded in). If the reply then fails to reach the kernel, the caller must Forget(ino, 1).
fuse_entry_param counted_entry(fuse_req_t req, FileInfo info);

// Sends the end of this mount's writes to `ino` to the meta server (ExtendLength, which also moves
// mtime) if anything was written since the last report.
Status report_writes(Client& client, uint64_t ino, InodeState& state);

// The data handlers: open, create, read, write, flush, fsync, release (file_ops.cc).
void add_file_operations(fuse_lowlevel_ops& ops);

}  // namespace zcfs::fuse_internal
