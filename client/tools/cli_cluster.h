// `zcfs cluster status`: the storage nodes and targets as readable tables.
#pragma once

#include <string>

#include "zcfs/client/client.h"

namespace zcfs {

// "1.5 GiB": bytes in the largest binary unit that keeps the number >= 1.
std::string human_bytes(uint64_t bytes);
// The nodes table (id, address, state, heartbeat age), the targets table (id, node, capacity, used,
// use%) and a summary line. Pure, so that the layout is testable without a cluster.
std::string format_cluster_status(const ClusterState& state);
// Fetches the status and prints it to stdout; returns the process exit code.
int cmd_cluster_status(Client& client);

}  // namespace zcfs
