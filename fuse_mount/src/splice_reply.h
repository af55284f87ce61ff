// Read replies through a pipe instead of writev: the reply's memory is vmspliced into a per-thread
// pipe (the pipe refers to the pages, nothing is copied) and libfuse splices the pipe into /dev/fuse,
// where the kernel copies the bytes into the reader's pages - the one copy a plain reply makes too.
// What differs is the pinning: writev to /dev/fuse pins the daemon's memory one page per call (each
// call toggles interrupts, which costs a hypercall in some VMs), vmsplice pins it in batches.
//
// A measured choice (docs/benchmarks.md): `-o splice` turns it on. Thread-safe (the pipe is per thread).
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>
#include <sys/uio.h>

#include <span>

namespace zcfs {

// Replies to a read with the bytes of `iov` through the thread's pipe; falls back to fuse_reply_iov
// when the pipe cannot take them (pipe size limits, vmsplice refused).
void reply_read_spliced(fuse_req_t req, std::span<const iovec> iov);

}  // namespace zcfs
