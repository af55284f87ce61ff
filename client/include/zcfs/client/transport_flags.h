// The flags with which every client program (zcfs, zcfs-bench, zcfs-fuse) picks how it reaches the
// storage servers:
//   --transport=tcp|rdma|auto   ClientOptions::transport (client.h)
//   --rdma-device=NAME          ClientOptions::rdma_device
//   --rdma-gid-index=N          ClientOptions::rdma_gid_index
//   --label=RACK                ClientOptions::label: read from replicas of this failure domain first
// Thread-safe (free functions).
#pragma once

#include <string_view>

#include "zcfs/client/client.h"
#include "zcfs/common/config.h"
#include "zcfs/common/status.h"

namespace zcfs {

bool is_transport_flag(std::string_view key);

// Reads the transport flags present in `config` into `options` (absent ones keep their values). A bad
// value is kInvalidArgument naming the flag, so a typo is a usage error rather than a failed connect.
Status apply_transport_flags(const Config& config, ClientOptions& options);

}  // namespace zcfs
