// Running in the background for mount(8): mount.fuse3 waits for the file system process to exit, so
// in the fstab form the daemon forks, and the process mount waits for exits once the mount is up
// (0) or the daemon has failed (its exit code), the way libfuse file systems behave without -f.
#pragma once

namespace zcfs {

// Forks. The original process waits for the child's ReportDetached (or its exit) and exits with that
// code; it never returns. Returns in the child (a new session leader) the fd to report on, or -1 if
// fork failed (the caller then simply runs in the foreground).
int DetachFromCaller();

// Tells the waiting parent `exit_code` and, after a success, points stdin/stdout/stderr at /dev/null:
// nobody reads the terminal or pipe of mount(8) any more. `fd` -1: nothing to do.
void ReportDetached(int fd, int exit_code);

}  // namespace zcfs
