// The client's choice of replicas (routing_cache.h): reads from SERVING members only, spread over them,
// away from replicas that just failed, near ones (same label) first; writes to the head.
#include "routing_cache.h"

#include <gtest/gtest.h>

#include <set>

namespace zcfs {
namespace {

// Nodes 1..3 at 10.0.0.N:9000 with labels a, b, b, each serving target N; chain 7 = [1, 2, 3] with
// the states given, at version 5.
pb::RoutingTable Table(std::vector<pb::TargetState> states) {
  pb::RoutingTable table;
  table.set_version(9);
  const char* labels[] = {"a", "b", "b"};
  auto* chain = table.add_chains();
  chain->set_chain_id(7);
  chain->set_version(5);
  for (uint32_t i = 1; i <= 3; ++i) {
    auto* node = table.add_nodes();
    node->set_node_id(i);
    node->set_address("10.0.0." + std::to_string(i) + ":9000");
    node->set_label(labels[i - 1]);
    auto* target = table.add_targets();
    target->set_target_id(i);
    target->set_node_id(i);
    auto* member = chain->add_members();
    member->set_target_id(i);
    member->set_state(states[i - 1]);
  }
  return table;
}

std::set<uint32_t> ReadTargets(const RoutingCache& cache, const std::vector<uint32_t>& avoid) {
  std::set<uint32_t> seen;
  for (uint64_t spread = 0; spread < 12; ++spread) {
    auto replica = cache.ReadReplica(7, spread, avoid);
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    if (replica.ok()) seen.insert(replica->target_id);
  }
  return seen;
}

TEST(RoutingCacheTest, ReadsSpreadOverServingReplicasAwayFromFailedOnes) {
  RoutingCache cache;
  cache.Update(Table({pb::TARGET_STATE_SERVING, pb::TARGET_STATE_SERVING, pb::TARGET_STATE_SYNCING}));
  EXPECT_EQ(ReadTargets(cache, {}), (std::set<uint32_t>{1, 2}));  // never the syncing one
  EXPECT_EQ(ReadTargets(cache, {1}), (std::set<uint32_t>{2}));
  EXPECT_EQ(ReadTargets(cache, {1, 2}), (std::set<uint32_t>{1, 2})) << "all failed: any serving one again";
  // A second opinion on what replica 1 said comes from replica 2 or from nobody.
  using When = RoutingCache::WhenAllAvoided;
  for (uint64_t spread = 0; spread < 4; ++spread) {
    auto other = cache.ReadReplica(7, spread, {1}, When::kFail);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    EXPECT_EQ(other->target_id, 2u);
    EXPECT_EQ(cache.ReadReplica(7, spread, {1, 2}, When::kFail).status().code(), Code::kNotFound);
  }
  auto head = cache.Head(7);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->target_id, 1u);
  EXPECT_EQ(head->address, "10.0.0.1:9000");
  EXPECT_EQ(head->chain_version, 5u);
  EXPECT_EQ(cache.ReadReplica(8, 0, {}).status().code(), Code::kStaleRouting);
  EXPECT_EQ(cache.Head(8).status().code(), Code::kStaleRouting);
}

TEST(RoutingCacheTest, ReadsPreferReplicasOfTheClientsLabel) {
  RoutingCache near_b("b");
  near_b.Update(Table({pb::TARGET_STATE_SERVING, pb::TARGET_STATE_SERVING, pb::TARGET_STATE_SERVING}));
  EXPECT_EQ(ReadTargets(near_b, {}), (std::set<uint32_t>{2, 3}));
  EXPECT_EQ(ReadTargets(near_b, {2, 3}), (std::set<uint32_t>{1})) << "the near ones failed: a far one";
  RoutingCache near_c("c");  // no replica there: all of them
  near_c.Update(Table({pb::TARGET_STATE_SERVING, pb::TARGET_STATE_SERVING, pb::TARGET_STATE_SERVING}));
  EXPECT_EQ(ReadTargets(near_c, {}), (std::set<uint32_t>{1, 2, 3}));
}

TEST(RoutingCacheTest, AChainWithoutAServingHeadTakesNoWrites) {
  RoutingCache cache;
  cache.Update(Table({pb::TARGET_STATE_OFFLINE, pb::TARGET_STATE_OFFLINE, pb::TARGET_STATE_OFFLINE}));
  EXPECT_EQ(cache.Head(7).status().code(), Code::kStaleRouting);
  EXPECT_EQ(cache.ReadReplica(7, 0, {}).status().code(), Code::kStaleRouting);
}

}  // namespace
}  // namespace zcfs
