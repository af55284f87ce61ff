// The kernel's read-ahead for a FUSE mount is its backing device's read_ahead_kb, 128 KiB by default:
// buffered reads then reach the daemon as 128 KiB requests whatever max_read allows. Raising it to the
// daemon's request size makes them 1 MiB requests, 8 times fewer round trips through the kernel.
#pragma once

#include <cstddef>
#include <string>

#include "zcfs/common/status.h"

namespace zcfs {

// The "major:minor" of the file system mounted at `mountpoint`, from /proc/self/mountinfo (reading it
// does not touch the mount, so it is safe before the daemon serves requests); kNotFound if not mounted.
Result<std::string> mount_device(const std::string& mountpoint, const std::string& mountinfo = "/proc/self/mountinfo");

// Sets /sys/class/bdi/<device>/read_ahead_kb to `bytes` / 1024 unless it is already at least that.
// Needs root; the caller logs a failure and goes on (reads work, in smaller requests).
Status raise_kernel_readahead(const std::string& mountpoint, size_t bytes);

}  // namespace zcfs
