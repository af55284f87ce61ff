// Cluster manager and layout tests: node registration, routing version rules, liveness, and how new
// files spread over the targets.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "operator_env.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;
using testing::Cred;
using testing::EnvNames;
using testing::MemoryEnv;
using testing::OperatorEnv;
using testing::RocksEnv;
using testing::StoreEnvs;

pb::RegisterNodeRequest NodeRequest(uint32_t node_id, const std::string& address,
                                    std::vector<std::pair<uint32_t, std::string>> targets) {
  pb::RegisterNodeRequest req;
  req.set_node_id(node_id);
  req.set_address(address);
  for (auto& [id, path] : targets) {
    auto* t = req.add_targets();
    t->set_target_id(id);
    t->set_path(path);
    t->set_capacity_bytes(1 << 30);
    t->set_used_bytes(1 << 20);
  }
  return req;
}

template <typename Env>
class ClusterTest : public ::testing::Test {
 protected:
  OperatorEnv<Env> env_;
  MetaOperator& op() { return env_.op(); }
  pb::RegisterNodeReply MustRegister(const pb::RegisterNodeRequest& req) {
    auto r = op().RegisterNode(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : pb::RegisterNodeReply();
  }
  uint64_t Version() { return op().GetRouting().version(); }
};
TYPED_TEST_SUITE(ClusterTest, StoreEnvs, EnvNames);

TYPED_TEST(ClusterTest, RegisterAssignsIdsAndBuildsRouting) {
  uint64_t v0 = this->Version();
  auto a = this->MustRegister(NodeRequest(0, "10.0.0.1:9000", {{0, "/a"}, {0, "/b"}}));
  EXPECT_EQ(a.node_id(), 1u);
  EXPECT_EQ(std::vector<uint32_t>(a.target_ids().begin(), a.target_ids().end()), (std::vector<uint32_t>{1, 2}));
  auto b = this->MustRegister(NodeRequest(0, "10.0.0.2:9000", {{0, "/a"}}));
  EXPECT_EQ(b.node_id(), 2u);
  EXPECT_EQ(b.target_ids(0), 3u);
  EXPECT_EQ(this->Version(), v0 + 2);

  pb::RoutingTable table = this->op().GetRouting();
  ASSERT_EQ(table.nodes_size(), 2);
  EXPECT_EQ(table.nodes(0).node_id(), 1u);
  EXPECT_EQ(table.nodes(0).address(), "10.0.0.1:9000");
  EXPECT_TRUE(table.nodes(0).online());
  ASSERT_EQ(table.targets_size(), 3);
  EXPECT_EQ(table.targets(2).target_id(), 3u);
  EXPECT_EQ(table.targets(2).node_id(), 2u);
  EXPECT_EQ(table.targets(2).capacity_bytes(), 1u << 30);
  EXPECT_EQ(table.targets(2).used_bytes(), 1u << 20);
}

// A storage process whose first registration reply was lost asks again with node id 0 and the same
// incarnation: it gets the node and targets it was given, not a second node. Another process (a new
// incarnation) on a wiped node is a new node.
TYPED_TEST(ClusterTest, ARegistrationAskedAgainByTheSameProcessKeepsItsNode) {
  pb::RegisterNodeRequest request = NodeRequest(0, "10.0.0.1:9000", {{0, "/a"}});
  request.set_incarnation(77);
  auto first = this->MustRegister(request);
  auto again = this->MustRegister(request);
  EXPECT_EQ(again.node_id(), first.node_id());
  EXPECT_EQ(again.target_ids(0), first.target_ids(0));
  EXPECT_EQ(this->op().GetRouting().nodes_size(), 1);
  request.set_incarnation(78);
  EXPECT_NE(this->MustRegister(request).node_id(), first.node_id());
}

TYPED_TEST(ClusterTest, RoutingVersionBumpRules) {
  this->MustRegister(NodeRequest(0, "10.0.0.1:9000", {{0, "/a"}}));
  uint64_t v = this->Version();

  // Heartbeat with the same content: no bump.
  this->MustRegister(NodeRequest(1, "10.0.0.1:9000", {{1, "/a"}}));
  EXPECT_EQ(this->Version(), v);
  // Usage changes: recorded, no bump.
  auto usage = NodeRequest(1, "10.0.0.1:9000", {{1, "/a"}});
  usage.mutable_targets(0)->set_used_bytes(5 << 20);
  this->MustRegister(usage);
  EXPECT_EQ(this->Version(), v);
  EXPECT_EQ(this->op().GetRouting().targets(0).used_bytes(), 5u << 20);
  // A node that forgot its target ids re-registers by path: same ids, no bump.
  auto forgot = this->MustRegister(NodeRequest(1, "10.0.0.1:9000", {{0, "/a"}}));
  EXPECT_EQ(forgot.target_ids(0), 1u);
  EXPECT_EQ(this->Version(), v);
  // Address change: bump.
  this->MustRegister(NodeRequest(1, "10.0.0.1:9001", {{1, "/a"}}));
  EXPECT_EQ(this->Version(), v + 1);
  // A target added: bump; removed again: bump.
  auto grown = this->MustRegister(NodeRequest(1, "10.0.0.1:9001", {{1, "/a"}, {0, "/b"}}));
  EXPECT_EQ(grown.target_ids(1), 2u);
  EXPECT_EQ(this->Version(), v + 2);
  this->MustRegister(NodeRequest(1, "10.0.0.1:9001", {{1, "/a"}}));
  EXPECT_EQ(this->Version(), v + 3);
  EXPECT_EQ(this->op().GetRouting().targets_size(), 1);
  // A new node: bump.
  this->MustRegister(NodeRequest(0, "10.0.0.2:9000", {{0, "/a"}}));
  EXPECT_EQ(this->Version(), v + 4);
}

TYPED_TEST(ClusterTest, RegisterErrors) {
  this->MustRegister(NodeRequest(0, "10.0.0.1:9000", {{0, "/a"}}));
  uint64_t v = this->Version();
  EXPECT_CODE(this->op().RegisterNode(NodeRequest(0, "no-port", {})), kInvalidArgument);
  EXPECT_CODE(this->op().RegisterNode(NodeRequest(0, "10.0.0.9:0", {})), kInvalidArgument);
  // Target 1 belongs to node 1.
  EXPECT_CODE(this->op().RegisterNode(NodeRequest(0, "10.0.0.2:9000", {{1, "/x"}})), kInvalidArgument);
  EXPECT_CODE(this->op().RegisterNode(NodeRequest(1, "10.0.0.1:9000", {{1, "/a"}, {1, "/b"}})), kInvalidArgument);
  EXPECT_EQ(this->Version(), v);
  // The failed attempts consumed no ids.
  auto next = this->MustRegister(NodeRequest(0, "10.0.0.2:9000", {{0, "/a"}}));
  EXPECT_EQ(next.node_id(), 2u);
  EXPECT_EQ(next.target_ids(0), 2u);
}

TYPED_TEST(ClusterTest, KnownIdsFromBeforeAreKept) {
  // A storage node that kept ids across a meta reset re-registers with them; fresh ids go past them.
  auto old = this->MustRegister(NodeRequest(7, "10.0.0.7:9000", {{20, "/a"}}));
  EXPECT_EQ(old.node_id(), 7u);
  EXPECT_EQ(old.target_ids(0), 20u);
  auto fresh = this->MustRegister(NodeRequest(0, "10.0.0.8:9000", {{0, "/a"}}));
  EXPECT_EQ(fresh.node_id(), 8u);
  EXPECT_EQ(fresh.target_ids(0), 21u);
}

TYPED_TEST(ClusterTest, NodesGoOfflineWithoutHeartbeats) {
  this->MustRegister(NodeRequest(0, "10.0.0.1:9000", {{0, "/a"}}));
  this->MustRegister(NodeRequest(0, "10.0.0.2:9000", {{0, "/a"}}));
  uint64_t v = this->Version();
  this->env_.AdvanceMonotonic(6s);
  this->MustRegister(NodeRequest(1, "10.0.0.1:9000", {{1, "/a"}}));  // node 1 heartbeats
  this->env_.AdvanceMonotonic(5s);                                   // node 2 silent for 11 s
  pb::RoutingTable t = this->op().GetRouting();
  EXPECT_TRUE(t.nodes(0).online());
  EXPECT_FALSE(t.nodes(1).online());
  EXPECT_EQ(t.version(), v);  // liveness does not change the version

  // New files avoid the offline node's target.
  for (int i = 0; i < 5; ++i) {
    auto f = this->op().Create(kRootIno, "f" + std::to_string(i), 0644, Cred(0, 0), true);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(std::vector<uint32_t>(f->layout().chains().begin(), f->layout().chains().end()),
              std::vector<uint32_t>{1});  // the chain [1, 2] (target 2 joined it): its head is online
  }
  this->env_.AdvanceMonotonic(20s);
  auto none = this->op().Create(kRootIno, "g", 0644, Cred(0, 0), true);
  EXPECT_CODE(none, kUnavailable);

  this->MustRegister(NodeRequest(2, "10.0.0.2:9000", {{2, "/a"}}));
  EXPECT_TRUE(this->op().GetRouting().nodes(1).online());
  EXPECT_FALSE(this->op().GetRouting().nodes(0).online());
}

TYPED_TEST(ClusterTest, AfterRestartNodesStayOnlineUntilTheirTimeout) {
  this->MustRegister(NodeRequest(0, "10.0.0.1:9000", {{0, "/a"}}));
  this->env_.AdvanceMonotonic(9s);
  this->env_.Restart();
  EXPECT_TRUE(this->op().GetRouting().nodes(0).online());
  this->env_.AdvanceMonotonic(9s);
  EXPECT_TRUE(this->op().GetRouting().nodes(0).online());
  this->env_.AdvanceMonotonic(2s);
  EXPECT_FALSE(this->op().GetRouting().nodes(0).online());
}

// Unreplicated chains (replication 1), one per target: the layout tests see targets as chains.
MetaOptions Unreplicated() {
  MetaOptions options;
  options.replication = 1;
  return options;
}

// 300 files over 6 chains (3 nodes x 2 targets): every chain carries a fair share of the stripes, and
// of the first chunks (which all small files have); stripe entries within a file are distinct.
TEST(LayoutSpreadTest, FilesSpreadEvenlyOverChains) {
  OperatorEnv<MemoryEnv> env(Unreplicated());
  env.AddNodes(3, 2);
  std::map<uint32_t, int> slots, firsts;
  std::set<std::string> distinct_layouts;
  for (int i = 0; i < 300; ++i) {
    auto f = env.op().Create(kRootIno, "f" + std::to_string(i), 0644, Cred(0, 0), true, 0, 2);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_EQ(f->layout().chains_size(), 2);
    EXPECT_NE(f->layout().chains(0), f->layout().chains(1));
    for (uint32_t t : f->layout().chains()) ++slots[t];
    ++firsts[f->layout().chains(0)];
    distinct_layouts.insert(f->layout().SerializeAsString());
  }
  ASSERT_EQ(slots.size(), 6u);
  ASSERT_EQ(firsts.size(), 6u);
  for (auto [t, n] : slots) EXPECT_TRUE(n >= 70 && n <= 130) << "chain " << t << " in " << n << " stripes";
  for (auto [t, n] : firsts) EXPECT_TRUE(n >= 30 && n <= 70) << "chain " << t << " first in " << n << " files";
  EXPECT_GT(distinct_layouts.size(), 20u);  // 30 ordered pairs exist: files do not share one pattern
}

TEST(LayoutSpreadTest, DefaultWidthIsAllChainsCappedByOption) {
  MetaOptions options = Unreplicated();
  options.max_stripe_width = 4;
  OperatorEnv<MemoryEnv> capped(options);
  capped.AddNodes(3, 2);
  OperatorEnv<MemoryEnv> full(Unreplicated());
  full.AddNodes(3, 2);
  std::map<uint32_t, int> firsts;
  for (int i = 0; i < 60; ++i) {
    auto a = capped.op().Create(kRootIno, "f" + std::to_string(i), 0644, Cred(0, 0), true);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->layout().chains_size(), 4);
    auto b = capped.op().Create(kRootIno, "w" + std::to_string(i), 0644, Cred(0, 0), true, 0, 6);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->layout().chains_size(), 6);  // an explicit width is not capped by the default
    auto c = full.op().Create(kRootIno, "f" + std::to_string(i), 0644, Cred(0, 0), true);
    ASSERT_TRUE(c.ok());
    std::set<uint32_t> set(c->layout().chains().begin(), c->layout().chains().end());
    EXPECT_EQ(set.size(), 6u);  // a permutation of all chains
    ++firsts[c->layout().chains(0)];
  }
  EXPECT_EQ(firsts.size(), 6u);  // the permutation differs per file
}

TEST(LayoutSpreadTest, LayoutDependsOnlyOnInodeAndChains) {
  OperatorEnv<MemoryEnv> a, b;
  a.AddNodes(2, 3);
  b.AddNodes(2, 3);
  for (int i = 0; i < 10; ++i) {
    auto fa = a.op().Create(kRootIno, "f" + std::to_string(i), 0644, Cred(0, 0), true);
    auto fb = b.op().Create(kRootIno, "f" + std::to_string(i), 0644, Cred(0, 0), true);
    ASSERT_TRUE(fa.ok() && fb.ok());
    EXPECT_EQ(fa->layout().SerializeAsString(), fb->layout().SerializeAsString());
  }
}

}  // namespace
}  // namespace zcfs::meta
