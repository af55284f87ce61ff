// LocalCluster: one zcfs-meta and N zcfs-storage processes on 127.0.0.1 with ports chosen by the
// kernel, state in a scratch directory, and optionally a zcfs-fuse mount. Or the storage servers and
// the mount alone, for a meta group the test runs itself (ClusterOptions::meta_group). Stop() sends SIGTERM and
// checks that every process exits cleanly. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace zcfs::testing {

struct ClusterOptions {
  int storage_servers = 3;
  std::vector<std::string> meta_flags;     // extra flags for zcfs-meta
  std::vector<std::string> storage_flags;  // extra flags for every zcfs-storage
  std::string meta_group;                  // "h1:p1,h2:p2,...": no zcfs-meta of its own, these instead
};

class LocalCluster {
 public:
  explicit LocalCluster(std::string name, ClusterOptions options = {});
  ~LocalCluster();

  Status Start();
  // Mounts the cluster with zcfs-fuse at <dir>/mnt and returns the mount point.
  Result<std::string> Mount(const std::vector<std::string>& extra_flags = {});
  Status Unmount();
  // SIGTERM to everything; error if a process does not exit with 0 in time.
  Status Stop();
  // Crash tests: SIGKILL the meta server (no clean shutdown) and wait until it is gone; then start it
  // again on the same address and data directory (the storage servers keep sending it heartbeats).
  Status KillMeta();
  Status RestartMeta();
  // Fault tests: sends `sig` to storage server `index` (SIGSTOP freezes it - its connections stay up
  // and calls to it time out; SIGCONT resumes it before Stop).
  Status SignalStorage(size_t index, int sig);
  // Stops storage server `index` cleanly and starts it again on the same data directory but a new
  // port: its targets move to a new address (clients holding the old routing table must refresh it).
  Status RestartStorage(size_t index);
  // Fault tests: SIGKILL storage server `index` and wait until it is gone; StartStorage starts a killed
  // one again on its data directory (a new port), returning once it registered with the meta server.
  Status KillStorage(size_t index);
  Status StartStorage(size_t index);
  // The host:port storage server `index` serves on, as it wrote it to its ready file ("" before it
  // was started).
  std::string storage_address(size_t index) const;
  // The data directory of storage server `index` (its target: `<dir>/target0`).
  std::string storage_dir(size_t index) const { return dir_ + "/storage" + std::to_string(index); }
  // Fault tests: sends `sig` to the meta server (SIGSTOP: returns once it is frozen, as SignalStorage).
  Status SignalMeta(int sig);
  // The zcfs-fuse daemon of Mount(): its process id (-1 when not mounted), a signal to it (SIGTERM and
  // SIGINT ask for a clean unmount), and its exit code once it has ended (kTimeout if it has not).
  pid_t fuse_pid() const { return mount_point_.empty() ? -1 : fuse_.pid(); }
  Status SignalFuse(int sig);
  Result<int> WaitFuse(std::chrono::milliseconds timeout);

  const std::string& meta_address() const { return meta_address_; }
  const std::string& dir() const { return dir_; }
  // The meta server's RocksDB directory.
  std::string meta_db_path() const { return dir_ + "/meta/meta.db"; }
  // Everything the processes logged, for test failure messages.
  std::string logs() const;

 private:
  Result<ChildProcess> StartProcess(const std::string& name, std::vector<std::string> argv, std::string* ready);
  std::vector<std::string> MetaArgv(const std::string& listen) const;
  std::vector<std::string> StorageArgv(size_t index) const;

  std::string name_;
  ClusterOptions options_;
  std::string dir_;
  std::string meta_address_;
  std::string mount_point_;
  ChildProcess meta_;
  std::vector<ChildProcess> storage_;
  ChildProcess fuse_;
  std::vector<std::string> log_files_;
};

}  // namespace zcfs::testing
