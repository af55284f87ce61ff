// zcfs-fuse: mounts a zcfs cluster at a directory.
//
//   zcfs-fuse --meta=HOST:PORT[,HOST:PORT...] [--threads=N] [--ro] [--keep-cache] [--direct-io] [--allow-other]
//             [--entry-timeout=S] [--attr-timeout=S] [--io-timeout=S] [--session-renew-ms=MS] [--ready-file=PATH]
//             [--readahead-kb=N] [--readahead-pool-mb=N] [--splice]
//             [--transport=tcp|rdma|auto] [--rdma-device=NAME] [--rdma-gid-index=N] [--label=RACK]
//             [--log-level=info] [-o OPTS] MOUNTPOINT
//   zcfs-fuse [zcfs://]HOST:PORT MOUNTPOINT [-o OPTS] [-f]      (as mount.fuse3 runs it from fstab)
//
// OPTS: ro, rw, keep_cache, direct_io, allow_other, entry_timeout=S, attr_timeout=S, io_timeout=S, threads=N,
// readahead_kb=N, readahead_pool_mb=N, splice, transport=T, rdma_device=NAME, rdma_gid_index=N, the
// generic flags nodev/nosuid/noexec/noatime/..., and fstab-only words (_netdev, nofail...) which are
// ignored; anything else is refused (exit 2). See src/mount_args.h.
//
// With --meta it runs in the foreground until unmounted (fusermount3 -u / umount) or sent
// SIGTERM/SIGINT, which unmount cleanly; the SOURCE form detaches once mounted unless -f is given.
// SIGUSR1 logs the number of inodes in the daemon's inode table, the references readdirplus handed out
// and the largest read request so far.
// --io-timeout (default 30 s): a request a meta or storage server does not answer in time fails with
// EIO; SIGTERM/SIGINT wait at most that long for requests in progress.
// --readahead-kb (default 4096, 0 = off): how far the daemon reads ahead of a handle that reads
// sequentially; --readahead-pool-mb (default 128): the memory all handles' read-ahead may hold.
// --transport (tcp): how the daemon's client reaches the storage servers' data (rdma, auto: see
// docs/rdma.md); the meta server is always reached over TCP.
// --session-renew-ms: how often open files' sessions are renewed; keep it well under the meta
// server's --meta.session_lease (default 20000 for the default 60 s lease).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "detach.h"
#include "kernel_readahead.h"
#include "mount_args.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/server_runtime.h"
#include "zcfs_fuse.h"

namespace {

zcfs::ZcfsFuse* g_fs = nullptr;  // for the SIGUSR1 handler

// Appends the decimal digits of `v` to line[*len] (async-signal-safe).
void append_number(char* line, size_t* len, uint64_t v) {
  char digits[24];
  size_t n = 0;
  for (; n == 0 || v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  while (n > 0) line[(*len)++] = digits[--n];
}

void append_text(char* line, size_t* len, const char* text) {
  while (*text != '\0') line[(*len)++] = *text++;
}

// Async-signal-safe: formats the report by hand and writes it with write(2) to the log (stderr).
void log_counters(int) {
  char line[200];
  size_t len = 0;
  append_text(line, &len, "zcfs-fuse: inode table: ");
  append_number(line, &len, g_fs ? g_fs->inodes().size() : 0);
  append_text(line, &len, " inodes\nzcfs-fuse: readdirplus entries: ");
  append_number(line, &len, g_fs ? g_fs->inodes().listed() : 0);
  append_text(line, &len, "\nzcfs-fuse: largest read request: ");
  append_number(line, &len, g_fs ? g_fs->largest_read() : 0);
  append_text(line, &len, " bytes\n");
  ssize_t ignored = ::write(STDERR_FILENO, line, len);
  (void)ignored;
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "zcfs-fuse: %s\nusage: zcfs-fuse --meta=HOST:PORT [--threads=N] [--ro] [--keep-cache] [--direct-io] "
               "[--allow-other] [--entry-timeout=S] [--attr-timeout=S] [--io-timeout=S] [--session-renew-ms=MS] "
               "[--ready-file=PATH] [--readahead-kb=N] [--readahead-pool-mb=N] [--splice] "
               "[--transport=tcp|rdma|auto] [--rdma-device=NAME] [--rdma-gid-index=N] [--label=RACK] "
               "[-o OPTS] MOUNTPOINT\n       zcfs-fuse [zcfs://]HOST:PORT MOUNTPOINT [-o OPTS] [-f]\n"
               "OPTS: ro,rw,keep_cache,direct_io,allow_other,entry_timeout=S,attr_timeout=S,io_timeout=S,threads=N,"
               "readahead_kb=N,readahead_pool_mb=N,splice,transport=T,rdma_device=NAME,rdma_gid_index=N,"
               "nodev,nosuid,noexec,noatime,...\n",
               why.c_str());
  return 2;
}

// Mounts, calls `mounted` (with the exit code so far: 0 once mounted, 1 if mounting failed), serves
// until unmounted or signalled, unmounts. Returns the process exit code.
int serve(zcfs::ZcfsFuse& fs, const zcfs::MountArgs& mount, const std::function<void(int)>& mounted) {
  std::vector<std::string> fuse_argv_text = {"zcfs-fuse", "-o", zcfs::fuse_mount_options(mount)};
  std::vector<char*> fuse_argv;
  for (const auto& a : fuse_argv_text) fuse_argv.push_back(const_cast<char*>(a.c_str()));
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fuse_argv.size()), fuse_argv.data());
  fuse_session* session = fuse_session_new(&args, &zcfs::ZcfsFuse::operations(), sizeof(fuse_lowlevel_ops), &fs);
  if (session == nullptr) return mounted(1), 1;
  int rc = 1;
  if (fuse_set_signal_handlers(session) == 0) {
    if (fuse_session_mount(session, mount.mountpoint.c_str()) == 0) {
      LOG_INFO << "mounted zcfs at " << mount.mountpoint << " (" << fuse_argv_text[2] << ")";
      if (auto raised = zcfs::raise_kernel_readahead(mount.mountpoint, zcfs::kMaxIo); !raised.ok()) {
        LOG_INFO << "buffered reads stay in the kernel's default read-ahead requests: " << raised.ToString();
      }
      if (!mount.ready_file.empty()) zcfs::write_file_atomic(mount.ready_file, mount.mountpoint + "\n").IgnoreError();
      mounted(0);
      fuse_loop_config loop{};
      loop.clone_fd = 0;
      loop.max_idle_threads = static_cast<unsigned>(mount.threads);
      // After SIGTERM/SIGINT/SIGHUP libfuse's loop returns the signal number: a requested, clean stop.
      int loop_rc = fuse_session_loop_mt(session, &loop);
      rc = (loop_rc == 0 || loop_rc == SIGTERM || loop_rc == SIGINT || loop_rc == SIGHUP) ? 0 : 1;
      if (rc != 0) LOG_ERROR << "FUSE session loop failed: " << loop_rc;
      fuse_session_unmount(session);
      LOG_INFO << "unmounted " << mount.mountpoint;
    } else {
      mounted(1);
    }
    fuse_remove_signal_handlers(session);
  } else {
    mounted(1);
  }
  fuse_session_destroy(session);
  fuse_opt_free_args(&args);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  zcfs::set_log_tag("zcfs-fuse");
  auto mount = zcfs::parse_mount_args(argc, argv);
  if (!mount.ok()) return usage(mount.status().message());
  zcfs::set_log_level(mount->log_level);
  // Fork before connecting: the client's threads would not survive a later fork.
  int report_fd = mount->foreground ? -1 : zcfs::DetachFromCaller();

  zcfs::ClientOptions client_options = mount->transport;
  client_options.meta_address = mount->meta_address;
  client_options.session_renew_interval = std::chrono::milliseconds(mount->session_renew_ms);
  // Every call of the client to a server is bounded by the mount's io_timeout, so a dead or frozen
  // server fails requests with EIO instead of leaving programs hung in the file system.
  auto io_timeout = std::chrono::milliseconds(static_cast<int64_t>(mount->io_timeout * 1000));
  client_options.rpc_timeout = io_timeout;
  client_options.connect_timeout = std::min(client_options.connect_timeout, io_timeout);
  auto client = zcfs::Client::Connect(client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "zcfs-fuse: cannot reach the cluster at %s: %s\n", client_options.meta_address.c_str(),
                 client.status().ToString().c_str());
    zcfs::ReportDetached(report_fd, 1);
    return 1;
  }
  zcfs::ZcfsFuse fs(std::move(client).value(), mount->options);
  g_fs = &fs;
  std::signal(SIGUSR1, log_counters);
  return serve(fs, *mount, [report_fd](int code) { zcfs::ReportDetached(report_fd, code); });
}
