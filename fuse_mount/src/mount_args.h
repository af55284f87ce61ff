// The daemon's command line: --flags, the `-o a,b=c` mount options of mount(8)/fstab, and the
// argument forms
//   zcfs-fuse --meta=HOST:PORT [flags] [-o OPTS] MOUNTPOINT          (stays in the foreground)
//   zcfs-fuse [zcfs://]HOST:PORT MOUNTPOINT [-o OPTS] [-f]           (mount.fuse3 / fstab form;
//                                                                    detaches once mounted unless -f)
// Every -o option has a flag of the same meaning (ro = --ro, entry_timeout=S = --entry-timeout=S...);
// an -o option the daemon does not know is an error, so a typo in fstab does not go unnoticed.
#pragma once

#include <string>
#include <vector>

#include "zcfs/client/client.h"
#include "zcfs/common/logging.h"
#include "zcfs/common/status.h"
#include "zcfs_fuse.h"

namespace zcfs {

struct MountArgs {
  std::string meta_address;
  std::string mountpoint;
  MountOptions options;
  bool allow_other = false;
  bool foreground = true;  // false: fork, and let the caller (mount.fuse3) return once mounted
  int threads = 8;
  int session_renew_ms = 20000;
  // The longest the daemon waits for one reply of a meta or storage server (-o io_timeout=S,
  // --io-timeout=S; connecting gives up after at most 3 s). A server that is stopped, frozen or cut
  // off fails the request with EIO after this long instead of hanging the program; an operation of
  // several requests may take a small multiple. Long enough that a slow disk under load is not failed.
  double io_timeout = 30.0;
  std::string ready_file;
  // The data transport to the storage servers: --transport, --rdma-device, --rdma-gid-index
  // (-o transport=rdma,rdma_device=mlx5_0,rdma_gid_index=3); only those fields are set.
  ClientOptions transport;
  LogLevel log_level = LogLevel::kInfo;
  std::vector<std::string> kernel_flags;  // generic mount flags passed on to the kernel (nodev, noatime...)
};

// Parses argv; the error names the offending argument or option.
Result<MountArgs> parse_mount_args(int argc, const char* const* argv);

// The `-o` string handed to libfuse's fuse_session_new for these arguments.
std::string fuse_mount_options(const MountArgs& args);

}  // namespace zcfs
