// `zcfs cluster status` (the storage nodes and targets as readable tables), `zcfs df` and
// `zcfs meta backup`.
#pragma once

#include <string>

#include "units.h"
#include "zcfs/client/client.h"

namespace zcfs {

// The nodes table (id, address, state, heartbeat age), the targets table (id, node, capacity, used,
// use%) and a summary line. Pure, so that the layout is testable without a cluster.
std::string format_cluster_status(const ClusterState& state);
// Fetches the status and prints it to stdout; returns the process exit code.
int cmd_cluster_status(Client& client);
// `zcfs cluster drain TARGET` / `zcfs cluster undrain TARGET`.
int cmd_cluster_drain(Client& client, const std::string& target, bool drain);
// `zcfs meta backup DIR`: a consistent copy of the namespace database into the new directory DIR.
int cmd_meta_backup(Client& client, const std::string& dir);
// The `zcfs df` table: size, used, free, use%, inodes and nodes of the cluster. Pure, as above.
std::string format_df(const FsStats& stats);

}  // namespace zcfs
