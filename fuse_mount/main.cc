// zcfs-fuse: mounts a zcfs cluster at a directory.
//
//   zcfs-fuse --meta=HOST:PORT [--threads=N] [--ro] [--allow-other] [--entry-timeout=S] [--attr-timeout=S]
//             [--session-renew-ms=MS] [--ready-file=PATH] [--log-level=info] MOUNTPOINT
//
// Runs in the foreground until unmounted (fusermount3 -u / umount) or sent SIGTERM/SIGINT, which
// unmount cleanly. SIGUSR1 logs the number of inodes in the daemon's inode table.
// --session-renew-ms: how often open files' sessions are renewed; keep it well under the meta
// server's --meta.session_lease (default 20000 for the default 60 s lease).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "zcfs/common/logging.h"
#include "zcfs/proto/server_runtime.h"
#include "zcfs_fuse.h"

namespace {

const zcfs::InodeTable* g_inodes = nullptr;  // for the SIGUSR1 handler

// Async-signal-safe: formats the count by hand and writes it with write(2) to the log (stderr).
void log_inode_count(int) {
  char line[64] = "zcfs-fuse: inode table: ";
  size_t len = sizeof("zcfs-fuse: inode table: ") - 1;
  char digits[24];
  size_t n = 0;
  for (size_t v = g_inodes ? g_inodes->size() : 0; n == 0 || v > 0; v /= 10)
    digits[n++] = static_cast<char>('0' + v % 10);
  while (n > 0) line[len++] = digits[--n];
  for (const char* tail = " inodes\n"; *tail != '\0'; ++tail) line[len++] = *tail;
  ssize_t ignored = ::write(STDERR_FILENO, line, len);
  (void)ignored;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "zcfs-fuse: %s\nusage: zcfs-fuse --meta=HOST:PORT [--threads=N] [--ro] [--allow-other] "
               "[--entry-timeout=S] [--attr-timeout=S] [--session-renew-ms=MS] [--ready-file=PATH] MOUNTPOINT\n",
               why);
  return 2;
}

double seconds_flag(const zcfs::Config& config, const std::string& key, double fallback) {
  std::string text = config.GetString(key, "");
  return text.empty() ? fallback : std::stod(text);
}

// Mounts, serves until unmounted or signalled, unmounts. Returns the process exit code.
int serve(zcfs::ZcfsFuse& fs, const std::string& mountpoint, const std::vector<std::string>& fuse_argv_text,
          int threads, const std::string& ready_file) {
  std::vector<char*> fuse_argv;
  for (const auto& a : fuse_argv_text) fuse_argv.push_back(const_cast<char*>(a.c_str()));
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fuse_argv.size()), fuse_argv.data());
  fuse_session* session = fuse_session_new(&args, &zcfs::ZcfsFuse::operations(), sizeof(fuse_lowlevel_ops), &fs);
  if (session == nullptr) return 1;
  int rc = 1;
  if (fuse_set_signal_handlers(session) == 0) {
    if (fuse_session_mount(session, mountpoint.c_str()) == 0) {
      LOG_INFO << "mounted zcfs at " << mountpoint;
      if (!ready_file.empty()) zcfs::write_file_atomic(ready_file, mountpoint + "\n").IgnoreError();
      fuse_loop_config loop{};
      loop.clone_fd = 0;
      loop.max_idle_threads = static_cast<unsigned>(threads);
      // After SIGTERM/SIGINT/SIGHUP libfuse's loop returns the signal number: a requested, clean stop.
      int loop_rc = fuse_session_loop_mt(session, &loop);
      rc = (loop_rc == 0 || loop_rc == SIGTERM || loop_rc == SIGINT || loop_rc == SIGHUP) ? 0 : 1;
      if (rc != 0) LOG_ERROR << "FUSE session loop failed: " << loop_rc;
      fuse_session_unmount(session);
      LOG_INFO << "unmounted " << mountpoint;
    }
    fuse_remove_signal_handlers(session);
  }
  fuse_session_destroy(session);
  fuse_opt_free_args(&args);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  zcfs::set_log_tag("zcfs-fuse");
  zcfs::Config config;
  std::vector<std::string> positional;
  zcfs::Status parsed = config.ApplyArgs(argc, argv, &positional);
  if (!parsed.ok()) return usage(parsed.ToString().c_str());
  if (positional.size() != 1) return usage("expected exactly one MOUNTPOINT");
  zcfs::LogLevel level;
  if (!zcfs::parse_log_level(config.GetString("log-level", "info"), &level)) return usage("bad --log-level");
  zcfs::set_log_level(level);
  if (!config.Has("meta")) return usage("--meta=HOST:PORT is required");

  zcfs::MountOptions options;
  try {
    options.entry_timeout = seconds_flag(config, "entry-timeout", 1.0);
    options.attr_timeout = seconds_flag(config, "attr-timeout", 1.0);
  } catch (const std::exception&) {
    return usage("--entry-timeout and --attr-timeout take seconds");
  }
  auto read_only = config.GetBool("ro", false);
  auto allow_other = config.GetBool("allow-other", false);
  auto threads = config.GetInt("threads", 8);
  auto renew_ms = config.GetInt("session-renew-ms", 20000);
  if (!read_only.ok() || !allow_other.ok() || !threads.ok() || *threads < 1 || !renew_ms.ok() || *renew_ms < 1) {
    return usage("bad flag value");
  }
  options.read_only = *read_only;

  zcfs::ClientOptions client_options;
  client_options.meta_address = config.GetString("meta", "");
  client_options.session_renew_interval = std::chrono::milliseconds(*renew_ms);
  auto client = zcfs::Client::Connect(client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "zcfs-fuse: cannot reach the cluster at %s: %s\n", client_options.meta_address.c_str(),
                 client.status().ToString().c_str());
    return 1;
  }
  zcfs::ZcfsFuse fs(std::move(client).value(), options);
  g_inodes = &fs.inodes();
  std::signal(SIGUSR1, log_inode_count);

  std::string mount_options = "fsname=zcfs,subtype=zcfs,default_permissions";
  if (options.read_only) mount_options += ",ro";
  if (*allow_other) mount_options += ",allow_other";
  std::vector<std::string> fuse_argv = {argv[0], "-o", mount_options};
  return serve(fs, positional[0], fuse_argv, static_cast<int>(*threads), config.GetString("ready-file", ""));
}
