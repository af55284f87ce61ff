#include "cli_cluster.h"

#include <algorithm>
#include <cstdio>

#include "cli_common.h"

namespace zcfs {
namespace {

std::string percent(uint64_t used, uint64_t capacity) {
  if (capacity == 0) return "-";
  return strprintf("%.1f%%", 100.0 * static_cast<double>(used) / static_cast<double>(capacity));
}

std::string heartbeat_age(int64_t ms) {
  if (ms < 0) return "never";
  return strprintf("%.1f s ago", static_cast<double>(ms) / 1000.0);
}

std::string nodes_table(const ClusterState& state) {
  int addr_width = 7;  // "ADDRESS"
  for (const auto& n : state.nodes) addr_width = std::max(addr_width, static_cast<int>(n.address.size()));
  std::string out = strprintf("%6s  %-*s  %-7s  %s\n", "NODE", addr_width, "ADDRESS", "STATE", "HEARTBEAT");
  for (const auto& n : state.nodes) {
    out += strprintf("%6u  %-*s  %-7s  %s\n", n.node_id, addr_width, n.address.c_str(), n.online ? "online" : "OFFLINE",
                     heartbeat_age(n.since_heartbeat_ms).c_str());
  }
  return out;
}

std::string targets_table(const ClusterState& state) {
  std::string out = strprintf("%6s  %6s  %12s  %12s  %6s\n", "TARGET", "NODE", "CAPACITY", "USED", "USE%");
  for (const auto& t : state.targets) {
    out += strprintf("%6u  %6u  %12s  %12s  %6s\n", t.target_id, t.node_id, human_bytes(t.capacity_bytes).c_str(),
                     human_bytes(t.used_bytes).c_str(), percent(t.used_bytes, t.capacity_bytes).c_str());
  }
  return out;
}

const char* state_name(ReplicaState state) {
  switch (state) {
    case ReplicaState::kServing:
      return "serving";
    case ReplicaState::kSyncing:
      return "SYNCING";
    default:
      return "OFFLINE";
  }
}

std::string chains_table(const ClusterState& state) {
  std::string out = strprintf("%6s  %8s  %s\n", "CHAIN", "VERSION", "TARGETS (head first)");
  for (const auto& c : state.chains) {
    std::string members;
    for (const auto& m : c.members) {
      members += strprintf("%s%u:%s", members.empty() ? "" : " ", m.target_id, state_name(m.state));
      if (m.state == ReplicaState::kSyncing && m.resync_total > 0) {  // the resync's progress
        members += strprintf("(%.0f%%,%s)", 100.0 * static_cast<double>(m.resync_examined) / m.resync_total,
                             human_bytes(m.resync_bytes).c_str());
      }
    }
    if (c.members.size() < state.replication) {
      members += strprintf("  (%zu of %u replicas)", c.members.size(), state.replication);
    }
    out += strprintf("%6u  %8llu  %s\n", c.chain_id, static_cast<unsigned long long>(c.version), members.c_str());
  }
  return out;
}

// Prints format(value) of a call that succeeded, else fails naming `what`.
template <typename T>
int print_result(const std::string& what, const Result<T>& result, std::string (*format)(const T&)) {
  if (!result.ok()) return fail(what, result.status());
  std::fputs(format(*result).c_str(), stdout);
  return 0;
}

}  // namespace

std::string format_cluster_status(const ClusterState& state) {
  size_t online = std::count_if(state.nodes.begin(), state.nodes.end(), [](const NodeStatus& n) { return n.online; });
  uint64_t capacity = 0, used = 0;
  for (const auto& t : state.targets) {
    capacity += t.capacity_bytes;
    used += t.used_bytes;
  }
  std::string out = strprintf("routing version %llu: %zu nodes (%zu online), %zu targets, %s of %s used (%s)\n\n",
                              static_cast<unsigned long long>(state.routing_version), state.nodes.size(), online,
                              state.targets.size(), human_bytes(used).c_str(), human_bytes(capacity).c_str(),
                              percent(used, capacity).c_str());
  out += nodes_table(state);
  out += "\n";
  out += targets_table(state);
  out += "\n";
  out += chains_table(state);
  return out;
}

int cmd_cluster_status(Client& client) {
  return print_result("cluster status", client.ClusterStatus(), format_cluster_status);
}

std::string format_df(const FsStats& stats) {
  uint64_t free = stats.capacity_bytes > stats.used_bytes ? stats.capacity_bytes - stats.used_bytes : 0;
  // Sizes are usable space: what the targets hold divided by the replication factor.
  std::string out = strprintf("%12s  %12s  %12s  %6s  %12s  %s\n", "SIZE", "USED", "FREE", "USE%", "INODES", "NODES");
  out += strprintf("%12s  %12s  %12s  %6s  %12llu  %u online, %u offline\n", human_bytes(stats.capacity_bytes).c_str(),
                   human_bytes(stats.used_bytes).c_str(), human_bytes(free).c_str(),
                   percent(stats.used_bytes, stats.capacity_bytes).c_str(),
                   static_cast<unsigned long long>(stats.inodes), stats.online_nodes, stats.offline_nodes);
  out += strprintf("(usable space: every chunk is stored %u times)\n", stats.replication);
  return out;
}

int cmd_df(Client& client) { return print_result("df", client.StatFs(), format_df); }

int cmd_cluster_drain(Client& client, const std::string& target, bool drain) {
  const std::string what = std::string(drain ? "cluster drain " : "cluster undrain ") + target;
  uint32_t id = 0;
  if (std::sscanf(target.c_str(), "%u", &id) != 1 || id == 0) {
    std::fprintf(stderr, "zcfs: %s: expected a target id (see zcfs cluster status)\n", what.c_str());
    return 2;
  }
  Status s = client.DrainTarget(id, drain);
  if (!s.ok()) return fail(what, s);
  std::printf("target %u %s\n", id,
              drain ? "drained: its chain serves from the other replicas"
                    : "put back: it serves again once its predecessor resynced it");
  return 0;
}

int cmd_meta_backup(Client& client, const std::string& dir) {
  auto backup = client.BackupNamespace(dir);
  if (!backup.ok()) return fail("meta backup " + dir, backup.status());
  std::printf("namespace backed up to %s: %zu files, %s (restore: docs/operations.md, \"Backup and restore\")\n",
              dir.c_str(), backup->files, human_bytes(backup->bytes).c_str());
  return 0;
}

}  // namespace zcfs
