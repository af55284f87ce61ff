#include "cli_cluster.h"

#include <algorithm>
#include <cstdio>

namespace zcfs {
namespace {

template <typename... Args>
std::string format(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

std::string percent(uint64_t used, uint64_t capacity) {
  if (capacity == 0) return "-";
  return format("%.1f%%", 100.0 * static_cast<double>(used) / static_cast<double>(capacity));
}

std::string heartbeat_age(int64_t ms) {
  if (ms < 0) return "never";
  return format("%.1f s ago", static_cast<double>(ms) / 1000.0);
}

std::string nodes_table(const ClusterState& state) {
  int addr_width = 7;  // "ADDRESS"
  for (const auto& n : state.nodes) addr_width = std::max(addr_width, static_cast<int>(n.address.size()));
  std::string out = format("%6s  %-*s  %-7s  %s\n", "NODE", addr_width, "ADDRESS", "STATE", "HEARTBEAT");
  for (const auto& n : state.nodes) {
    out += format("%6u  %-*s  %-7s  %s\n", n.node_id, addr_width, n.address.c_str(), n.online ? "online" : "OFFLINE",
                  heartbeat_age(n.since_heartbeat_ms).c_str());
  }
  return out;
}

std::string targets_table(const ClusterState& state) {
  std::string out = format("%6s  %6s  %12s  %12s  %6s\n", "TARGET", "NODE", "CAPACITY", "USED", "USE%");
  for (const auto& t : state.targets) {
    out += format("%6u  %6u  %12s  %12s  %6s\n", t.target_id, t.node_id, human_bytes(t.capacity_bytes).c_str(),
                  human_bytes(t.used_bytes).c_str(), percent(t.used_bytes, t.capacity_bytes).c_str());
  }
  return out;
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? format("%llu B", static_cast<unsigned long long>(bytes)) : format("%.1f %s", value, kUnits[unit]);
}

std::string format_cluster_status(const ClusterState& state) {
  size_t online = std::count_if(state.nodes.begin(), state.nodes.end(), [](const NodeStatus& n) { return n.online; });
  uint64_t capacity = 0, used = 0;
  for (const auto& t : state.targets) {
    capacity += t.capacity_bytes;
    used += t.used_bytes;
  }
  std::string out =
      format("routing version %llu: %zu nodes (%zu online), %zu targets, %s of %s used (%s)\n\n",
             static_cast<unsigned long long>(state.routing_version), state.nodes.size(), online, state.targets.size(),
             human_bytes(used).c_str(), human_bytes(capacity).c_str(), percent(used, capacity).c_str());
  out += nodes_table(state);
  out += "\n";
  out += targets_table(state);
  return out;
}

int cmd_cluster_status(Client& client) {
  auto state = client.ClusterStatus();
  if (!state.ok()) {
    std::fprintf(stderr, "zcfs: cluster status: %s\n", state.status().ToString().c_str());
    return 1;
  }
  std::fputs(format_cluster_status(*state).c_str(), stdout);
  return 0;
}

}  // namespace zcfs
