// `zcfs cluster status` against real processes: a meta server and two storage servers on loopback,
// the CLI run as a child process, its table checked line by line.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "support/local_cluster.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Runs the CLI with `args`; returns its exit code and everything it printed.
std::pair<int, std::string> run_cli(const testing::LocalCluster& cluster, std::vector<std::string> args) {
  static int runs = 0;
  std::string log = cluster.dir() + "/cli-" + std::to_string(runs++) + ".out";
  args.insert(args.begin(), {ZCFS_CLI_BIN, "--meta=" + cluster.meta_address()});
  return testing::run_to_exit(args, log, std::chrono::seconds(30));
}

TEST(ClusterStatusCliTest, ListsNodesAndTargets) {
  testing::LocalCluster cluster("cluster-status", {.storage_servers = 2});
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster.logs();

  // The API first: what the table is built from. The second server's target joins the first one's
  // chain as SYNCING; wait until its (empty) resync made it serve.
  auto client = Client::Connect(ClientOptions{.meta_address = cluster.meta_address()});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto state = (*client)->ClusterStatus();
  for (int i = 0; i < 300 && state.ok() &&
                  !(state->chains.size() == 1 && state->chains[0].members.size() == 2 &&
                    state->chains[0].members[1].state == ReplicaState::kServing);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = (*client)->ClusterStatus();
  }
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(state->nodes.size(), 2u);
  ASSERT_EQ(state->targets.size(), 2u);  // one target per storage server by default
  std::vector<std::string> addresses;
  for (size_t i = 0; i < 2; ++i) addresses.push_back(cluster.storage_address(i));
  for (const auto& node : state->nodes) {
    EXPECT_TRUE(node.online);
    EXPECT_GE(node.since_heartbeat_ms, 0);
    EXPECT_LT(node.since_heartbeat_ms, 60'000);
    EXPECT_NE(std::find(addresses.begin(), addresses.end(), node.address), addresses.end()) << node.address;
  }
  for (const auto& target : state->targets) {
    EXPECT_GT(target.capacity_bytes, 0u);
    EXPECT_LE(target.used_bytes, target.capacity_bytes);
  }

  auto [code, out] = run_cli(cluster, {"cluster", "status"});
  ASSERT_EQ(code, 0) << out;
  auto lines = lines_of(out);
  // Summary, blank, node header + 2 nodes, blank, target header + 2 targets, blank, chain header + the
  // one chain (both targets; replication 3 waits for a third node).
  ASSERT_EQ(lines.size(), 12u) << out;
  EXPECT_NE(lines[0].find("2 nodes (2 online), 2 targets"), std::string::npos) << out;
  EXPECT_NE(lines[2].find("NODE"), std::string::npos) << out;
  EXPECT_NE(lines[2].find("HEARTBEAT"), std::string::npos) << out;
  for (int i = 0; i < 2; ++i) {
    const NodeStatus& node = state->nodes[i];
    const std::string& line = lines[3 + i];
    EXPECT_EQ(line.find(std::to_string(node.node_id)), line.find_first_not_of(' ')) << line;
    EXPECT_NE(line.find(node.address), std::string::npos) << line;
    EXPECT_NE(line.find(" online "), std::string::npos) << line;
    EXPECT_NE(line.find(" s ago"), std::string::npos) << line;
  }
  EXPECT_NE(lines[6].find("USE%"), std::string::npos) << out;
  for (int i = 0; i < 2; ++i) {
    const std::string& line = lines[7 + i];
    EXPECT_NE(line.find("iB"), std::string::npos) << line;  // capacities in binary units
    EXPECT_EQ(line.back(), '%') << line;
  }

  EXPECT_NE(lines[10].find("CHAIN"), std::string::npos) << out;
  ASSERT_EQ(state->chains.size(), 1u);
  ASSERT_EQ(state->chains[0].members.size(), 2u);
  EXPECT_NE(lines[11].find(std::to_string(state->chains[0].members[0].target_id) + ":serving"), std::string::npos)
      << out;
  EXPECT_NE(lines[11].find("(2 of 3 replicas)"), std::string::npos) << out;

  // Drain the head: it goes OFFLINE and the other target heads the chain; undrain puts it back, and it
  // serves again once resynced.
  const uint32_t head = state->chains[0].members[0].target_id;
  auto [drain_code, drain_out] = run_cli(cluster, {"cluster", "drain", std::to_string(head)});
  EXPECT_EQ(drain_code, 0) << drain_out;
  auto drained = (*client)->ClusterStatus();
  ASSERT_TRUE(drained.ok());
  EXPECT_EQ(drained->chains[0].members[0].target_id, state->chains[0].members[1].target_id);
  EXPECT_EQ(drained->chains[0].members[1].target_id, head);
  EXPECT_EQ(drained->chains[0].members[1].state, ReplicaState::kOffline);
  auto [last_code, last_out] =
      run_cli(cluster, {"cluster", "drain", std::to_string(drained->chains[0].members[0].target_id)});
  EXPECT_EQ(last_code, 1) << "the last serving replica cannot be drained: " << last_out;
  auto [undrain_code, undrain_out] = run_cli(cluster, {"cluster", "undrain", std::to_string(head)});
  EXPECT_EQ(undrain_code, 0) << undrain_out;
  auto back = (*client)->ClusterStatus();
  ASSERT_TRUE(back.ok());
  EXPECT_NE(back->chains[0].members[1].state, ReplicaState::kOffline);

  auto [bad_code, bad_out] = run_cli(cluster, {"cluster", "frobnicate"});
  EXPECT_EQ(bad_code, 2) << bad_out;  // usage

  client->reset();
  Status stopped = cluster.Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.ToString() << "\n" << cluster.logs();
}

TEST(CliTest, MkdirMvRmAndTheirErrors) {
  testing::LocalCluster cluster("cli-namespace", {.storage_servers = 1});
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster.logs();
  EXPECT_EQ(run_cli(cluster, {"mkdir", "-p", "/a/b"}).first, 0);
  auto [mv_code, mv_out] = run_cli(cluster, {"mv", "/a/b", "/c"});
  EXPECT_EQ(mv_code, 0) << mv_out;
  auto [ls_code, ls_out] = run_cli(cluster, {"ls", "/"});
  EXPECT_EQ(ls_code, 0) << ls_out;
  EXPECT_NE(ls_out.find("c"), std::string::npos) << ls_out;
  auto [full_code, full_out] = run_cli(cluster, {"rm", "/"});
  EXPECT_NE(full_code, 0);
  auto [rm_code, rm_out] = run_cli(cluster, {"rm", "-r", "/c"});
  EXPECT_EQ(rm_code, 0) << rm_out;
  auto [missing_code, missing_out] = run_cli(cluster, {"rm", "/c"});
  EXPECT_EQ(missing_code, 1);
  EXPECT_NE(missing_out.find("/c"), std::string::npos) << missing_out;  // errors name the path ...
  EXPECT_NE(missing_out.find("no such file or directory"), std::string::npos) << missing_out;  // ... and the cause
  auto [nonempty_code, nonempty_out] = run_cli(cluster, {"rm", "-r", "/a"});
  EXPECT_EQ(nonempty_code, 0) << nonempty_out;  // a directory needs -r
  EXPECT_TRUE(cluster.Stop().ok()) << cluster.logs();
}

}  // namespace
}  // namespace zcfs
