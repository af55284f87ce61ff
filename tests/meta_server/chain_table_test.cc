// The chain table's rules as pure logic (chain_table.h), and the cluster manager driving it through
// registrations, lapsed leases, restarts, wipes, resyncs and drains (node_registry.h via MetaOperator).
#include "chain_table.h"

#include <gtest/gtest.h>

#include "operator_env.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;
using testing::MemoryEnv;
using testing::OperatorEnv;

// "1:S 3:Y 2:O": a chain's members in order with their states (Serving, sYncing, Offline).
std::string Members(const pb::Chain& chain) {
  std::string out;
  for (const auto& m : chain.members()) {
    if (!out.empty()) out += ' ';
    out += std::to_string(m.target_id()) + ':' +
           (m.state() == pb::TARGET_STATE_SERVING   ? 'S'
            : m.state() == pb::TARGET_STATE_SYNCING ? 'Y'
                                                    : 'O');
  }
  return out;
}

// Targets 1..n, target i on node i.
std::vector<TargetPlace> Places(uint32_t n, std::vector<std::string> labels = {}) {
  std::vector<TargetPlace> places;
  for (uint32_t i = 1; i <= n; ++i) places.push_back({i, i, labels.empty() ? "" : labels[i - 1]});
  return places;
}

TEST(ChainTableTest, TargetsFillShortChainsOnDistinctNodesThenStartNewOnes) {
  ChainTable table(3);
  auto places = Places(4);
  EXPECT_EQ(table.AddTarget(places[0], places), std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "1:S");
  // A chain with a serving member has data to copy: the newcomer syncs first.
  EXPECT_EQ(table.AddTarget(places[1], places), std::vector<uint32_t>{1});
  EXPECT_EQ(table.AddTarget(places[2], places), std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 2:Y 3:Y");
  EXPECT_EQ(table.chains().at(1).version(), 3u);
  // Full: the fourth target heads a chain of its own.
  EXPECT_EQ(table.AddTarget(places[3], places), std::vector<uint32_t>{2});
  EXPECT_EQ(Members(table.chains().at(2)), "4:S");

  // A second target of node 1 may not join chain 1 (node 1 is in it), but may join chain 2.
  TargetPlace second_on_node1{5, 1, ""};
  places.push_back(second_on_node1);
  EXPECT_EQ(table.AddTarget(second_on_node1, places), std::vector<uint32_t>{2});
  EXPECT_EQ(Members(table.chains().at(2)), "4:S 5:Y");
}

TEST(ChainTableTest, ATargetJoinsAChainOfOtherLabelsFirst) {
  ChainTable table(3);
  // Node 1 (rack a) has targets 1 and 2, node 2 (rack b) target 3, node 3 (rack b) target 4.
  std::vector<TargetPlace> places = {{1, 1, "a"}, {2, 1, "a"}, {3, 2, "b"}, {4, 3, "b"}};
  table.AddTarget(places[0], places);  // chain 1
  table.AddTarget(places[1], places);  // node 1 is in chain 1: chain 2
  table.AddTarget(places[2], places);  // both fit: the lowest, chain 1
  // Chain 1 has rack b already, chain 2 has not: target 4 goes there although chain 1 is lower.
  EXPECT_EQ(table.AddTarget(places[3], places), std::vector<uint32_t>{2});
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 3:Y");
  EXPECT_EQ(Members(table.chains().at(2)), "2:S 4:Y");
}

TEST(ChainTableTest, DownMovesToTheEndBackSyncsAndSyncDoneServes) {
  ChainTable table(3);
  auto places = Places(3);
  for (const auto& p : places) table.AddTarget(p, places);
  // Target 3 follows target 2, which is syncing itself: it cannot have been given a complete copy.
  EXPECT_EQ(table.SyncDone(1, 3, 3).status().code(), Code::kStaleRouting);
  ASSERT_TRUE(table.SyncDone(1, 3, 2).ok());  // version 3: created, then two targets joined
  ASSERT_TRUE(table.SyncDone(1, 4, 3).ok());
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 2:S 3:S");

  EXPECT_EQ(table.TargetDown(1), std::vector<uint32_t>{1});  // the head
  EXPECT_EQ(Members(table.chains().at(1)), "2:S 3:S 1:O");
  EXPECT_TRUE(table.IsOffline(1));
  EXPECT_TRUE(table.TargetDown(1).empty());  // already offline

  EXPECT_EQ(table.TargetBack(1), std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "2:S 3:S 1:Y");
  const uint64_t v = table.chains().at(1).version();
  EXPECT_EQ(table.SyncDone(1, v - 1, 1).status().code(), Code::kStaleRouting);  // ran under an older chain
  EXPECT_EQ(table.SyncDone(1, v, 2).status().code(), Code::kStaleRouting);      // not syncing
  ASSERT_TRUE(table.SyncDone(1, v, 1).ok());
  EXPECT_EQ(Members(table.chains().at(1)), "2:S 3:S 1:S");
  EXPECT_EQ(table.chains().at(1).version(), v + 1);

  // A serving member that restarted (or was wiped) syncs again; it goes behind the serving ones.
  EXPECT_EQ(table.TargetBack(2), std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "3:S 1:S 2:Y");
}

TEST(ChainTableTest, TheLastServingReplicaStaysServing) {
  ChainTable table(2);
  auto places = Places(2);
  for (const auto& p : places) table.AddTarget(p, places);
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 2:Y");
  // Target 2 has not been resynced: it holds nothing the chain can serve from, so 1 stays.
  EXPECT_TRUE(table.TargetDown(1).empty());
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 2:Y");
  EXPECT_TRUE(table.TargetBack(1).empty());  // and after a restart it has nobody to sync from
  EXPECT_EQ(table.TargetDown(2), std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 2:O");
}

TEST(ChainTableTest, AMemberFoundLackingDataIsResyncedOnceAndNeverTheLastServing) {
  ChainTable table(3);
  auto places = Places(3);
  for (const auto& p : places) table.AddTarget(p, places);
  ASSERT_TRUE(table.SyncDone(1, 3, 2).ok());
  ASSERT_TRUE(table.SyncDone(1, 4, 3).ok());
  const uint64_t v = table.chains().at(1).version();
  EXPECT_EQ(table.MissingData(2, v, 1).status().code(), Code::kNotFound);           // no such chain
  EXPECT_EQ(table.MissingData(1, v - 1, 1).status().code(), Code::kStaleRouting);  // read under an old chain
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 2:S 3:S");

  auto changed = table.MissingData(1, v, 1);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(*changed, std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "2:S 3:S 1:Y");
  EXPECT_EQ(table.chains().at(1).version(), v + 1);
  // Every other reader that saw the same short replica reports under the old version: refused.
  EXPECT_EQ(table.MissingData(1, v, 1).status().code(), Code::kStaleRouting);
  EXPECT_EQ(table.MissingData(1, v + 1, 1).status().code(), Code::kStaleRouting);  // syncing, not serving

  ASSERT_TRUE(table.MissingData(1, v + 1, 2).ok());
  EXPECT_EQ(Members(table.chains().at(1)), "3:S 2:Y 1:Y");
  // Target 3 holds the only complete copy left: it keeps serving whatever a reader says.
  EXPECT_EQ(table.MissingData(1, v + 2, 3).status().code(), Code::kNotPermitted);
  EXPECT_EQ(Members(table.chains().at(1)), "3:S 2:Y 1:Y");
}

TEST(ChainTableTest, AnOfflineMemberLeavesRoomForANewTarget) {
  ChainTable table(2);
  auto places = Places(3);
  table.AddTarget(places[0], places);
  table.AddTarget(places[1], places);
  ASSERT_TRUE(table.SyncDone(1, 2, 2).ok());
  table.TargetDown(2);
  // The replacement joins the chain, which keeps its two live copies; the old one may still return.
  EXPECT_EQ(table.AddTarget(places[2], places), std::vector<uint32_t>{1});
  EXPECT_EQ(Members(table.chains().at(1)), "1:S 3:Y 2:O");
}

// Through the operator: leases, restarts (a new incarnation) and wiped targets (a new uuid), with the
// chain table persisted across a meta server restart.
class ChainManagerTest : public ::testing::Test {
 protected:
  pb::RegisterNodeRequest Node(uint32_t node, uint64_t incarnation, const std::string& uuid) {
    pb::RegisterNodeRequest req;
    req.set_node_id(node);
    req.set_address("10.0.0." + std::to_string(node) + ":9000");
    req.set_incarnation(incarnation);
    auto* t = req.add_targets();
    t->set_target_id(node);  // node i serves target i
    t->set_path("/ssd");
    t->set_uuid(uuid);
    return req;
  }
  void MustRegister(const pb::RegisterNodeRequest& req) {
    auto reply = env_.op().RegisterNode(req);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->lease_ms(), 10'000u);
    EXPECT_EQ(reply->routing_version(), env_.op().GetRouting().version());
  }
  std::string Chain1() { return Members(env_.op().GetRouting().chains(0)); }
  void SyncDone(uint32_t target) {
    pb::SyncDoneRequest done;
    done.set_chain_id(1);
    done.set_chain_version(env_.op().GetRouting().chains(0).version());
    done.set_target_id(target);
    ASSERT_TRUE(env_.op().SyncDone(done).ok());
  }

  OperatorEnv<MemoryEnv> env_;
};

TEST_F(ChainManagerTest, LeasesRestartsAndWipesDriveTheChain) {
  for (uint32_t n = 1; n <= 3; ++n) MustRegister(Node(n, 100 + n, "u" + std::to_string(n)));
  SyncDone(2);
  SyncDone(3);
  EXPECT_EQ(Chain1(), "1:S 2:S 3:S");

  // Node 1 falls silent past its lease: out of the chain once the leases are checked.
  env_.AdvanceMonotonic(6s);
  MustRegister(Node(2, 102, "u2"));
  MustRegister(Node(3, 103, "u3"));
  env_.AdvanceMonotonic(5s);
  EXPECT_EQ(env_.op().CheckNodeLeases().value(), 1u);
  EXPECT_EQ(Chain1(), "2:S 3:S 1:O");
  EXPECT_EQ(env_.op().CheckNodeLeases().value(), 0u);  // once
  // New files go to chains whose head is online.
  auto file = env_.op().Create(kRootIno, "f", 0644, testing::Cred(0, 0), true);
  ASSERT_TRUE(file.ok());

  // It heartbeats again (same process: it was frozen): back as SYNCING, to be resynced.
  MustRegister(Node(1, 101, "u1"));
  EXPECT_EQ(Chain1(), "2:S 3:S 1:Y");
  SyncDone(1);

  // Node 3 restarts within its lease (a new incarnation): it may have missed writes, so it syncs.
  MustRegister(Node(3, 999, "u3"));
  EXPECT_EQ(Chain1(), "2:S 1:S 3:Y");
  SyncDone(3);
  MustRegister(Node(3, 999, "u3"));  // a plain heartbeat changes nothing
  EXPECT_EQ(Chain1(), "2:S 1:S 3:S");

  // Node 2's target directory was wiped (a new uuid, same process): it syncs.
  MustRegister(Node(2, 102, "u2-new"));
  EXPECT_EQ(Chain1(), "1:S 3:S 2:Y");

  // Drain and put back; the chain survives a meta server restart.
  pb::TargetAdminRequest drain;
  drain.set_target_id(3);
  drain.set_drain(true);
  ASSERT_TRUE(env_.op().TargetAdmin(drain).ok());
  EXPECT_EQ(Chain1(), "1:S 2:Y 3:O");
  MustRegister(Node(3, 999, "u3"));  // a drained target stays out while it heartbeats
  EXPECT_EQ(Chain1(), "1:S 2:Y 3:O");
  drain.set_target_id(1);
  EXPECT_EQ(env_.op().TargetAdmin(drain).code(), Code::kNotPermitted);  // the last serving one
  env_.Restart();
  EXPECT_EQ(Chain1(), "1:S 2:Y 3:O");
  drain.set_target_id(3);
  drain.set_drain(false);
  ASSERT_TRUE(env_.op().TargetAdmin(drain).ok());
  EXPECT_EQ(Chain1(), "1:S 2:Y 3:Y");
}

// The resyncs a node reports with its heartbeat show in the cluster status while the node is online.
TEST_F(ChainManagerTest, ClusterStatusShowsTheResyncsNodesReport) {
  for (uint32_t n = 1; n <= 2; ++n) MustRegister(Node(n, 100 + n, "u" + std::to_string(n)));
  pb::RegisterNodeRequest heartbeat = Node(1, 101, "u1");
  auto* progress = heartbeat.add_resyncs();
  progress->set_target_id(2);
  progress->set_chain_id(1);
  progress->set_chunks_examined(40);
  progress->set_chunks_total(100);
  progress->set_bytes_copied(4 << 20);
  MustRegister(heartbeat);
  pb::ClusterStatusReply status = env_.op().ClusterStatus();
  ASSERT_EQ(status.resyncs_size(), 1);
  EXPECT_EQ(status.resyncs(0).SerializeAsString(), progress->SerializeAsString());
  env_.AdvanceMonotonic(11s);  // node 1 silent: what it said no longer counts
  EXPECT_EQ(env_.op().ClusterStatus().resyncs_size(), 0);
}

}  // namespace
}  // namespace zcfs::meta
