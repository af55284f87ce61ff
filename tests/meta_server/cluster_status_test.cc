// MetaOperator::ClusterStatus: node liveness and heartbeat ages on the fake monotonic clock, target
// usage, the state after a restart, and the RPC through MetaService.
#include <gtest/gtest.h>

#include "operator_env.h"
#include "zcfs/meta/meta_service.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;
using testing::EnvNames;
using testing::Heartbeat;
using testing::MemoryEnv;
using testing::OperatorEnv;
using testing::StoreEnvs;

template <typename Env>
class ClusterStatusTest : public ::testing::Test {
 protected:
  OperatorEnv<Env> env_;
  MetaOperator& op() { return env_.op(); }
};
TYPED_TEST_SUITE(ClusterStatusTest, StoreEnvs, EnvNames);

TYPED_TEST(ClusterStatusTest, EmptyCluster) {
  pb::ClusterStatusReply status = this->op().ClusterStatus();
  EXPECT_EQ(status.routing_version(), this->op().GetRouting().version());
  EXPECT_EQ(status.nodes_size(), 0);
  EXPECT_EQ(status.targets_size(), 0);
}

TYPED_TEST(ClusterStatusTest, NodesTargetsAndHeartbeatAges) {
  auto nodes = this->env_.AddNodes(2, 2);  // node 1 at 10.0.0.1:9000 with targets 1, 2; node 2: 3, 4
  ASSERT_EQ(nodes.size(), 2u);
  this->env_.AdvanceMonotonic(1500ms);
  ASSERT_TRUE(this->op().RegisterNode(Heartbeat(nodes[1], "10.0.0.2:9000", 250)).ok());
  this->env_.AdvanceMonotonic(2250ms);

  pb::ClusterStatusReply status = this->op().ClusterStatus();
  EXPECT_EQ(status.routing_version(), this->op().GetRouting().version());
  ASSERT_EQ(status.nodes_size(), 2);
  EXPECT_EQ(status.nodes(0).node_id(), nodes[0].node_id());
  EXPECT_EQ(status.nodes(0).address(), "10.0.0.1:9000");
  EXPECT_TRUE(status.nodes(0).online());
  EXPECT_EQ(status.nodes(0).since_heartbeat_ms(), 3750);
  EXPECT_EQ(status.nodes(1).node_id(), nodes[1].node_id());
  EXPECT_EQ(status.nodes(1).address(), "10.0.0.2:9000");
  EXPECT_EQ(status.nodes(1).since_heartbeat_ms(), 2250);

  ASSERT_EQ(status.targets_size(), 4);
  for (int i = 0; i < 4; ++i) {
    const auto& t = status.targets(i);
    EXPECT_EQ(t.target_id(), static_cast<uint32_t>(i + 1));
    EXPECT_EQ(t.node_id(), i < 2 ? nodes[0].node_id() : nodes[1].node_id());
    EXPECT_EQ(t.capacity_bytes(), 1000u);
    EXPECT_EQ(t.used_bytes(), i < 2 ? 0u : 250u);
  }
}

TYPED_TEST(ClusterStatusTest, SilentNodeGoesOfflineAndComesBack) {
  auto nodes = this->env_.AddNodes(2, 1);
  ASSERT_EQ(nodes.size(), 2u);
  this->env_.AdvanceMonotonic(8s);
  ASSERT_TRUE(this->op().RegisterNode(Heartbeat(nodes[0], "10.0.0.1:9000", 0)).ok());
  this->env_.AdvanceMonotonic(2s + 1ms);  // node 2 has been silent for just over the 10 s timeout

  pb::ClusterStatusReply status = this->op().ClusterStatus();
  ASSERT_EQ(status.nodes_size(), 2);
  EXPECT_TRUE(status.nodes(0).online());
  EXPECT_EQ(status.nodes(0).since_heartbeat_ms(), 2001);
  EXPECT_FALSE(status.nodes(1).online());
  EXPECT_EQ(status.nodes(1).since_heartbeat_ms(), 10001);
  // An offline node's targets are still listed: the status shows what exists, not what is routable.
  EXPECT_EQ(status.targets_size(), 2);

  ASSERT_TRUE(this->op().RegisterNode(Heartbeat(nodes[1], "10.0.0.2:9000", 0)).ok());
  status = this->op().ClusterStatus();
  EXPECT_TRUE(status.nodes(1).online());
  EXPECT_EQ(status.nodes(1).since_heartbeat_ms(), 0);
}

TYPED_TEST(ClusterStatusTest, RestartCountsLoadedNodesAsJustSeen) {
  auto nodes = this->env_.AddNodes(1, 3);
  ASSERT_EQ(nodes.size(), 1u);
  ASSERT_TRUE(this->op().RegisterNode(Heartbeat(nodes[0], "10.0.0.1:9000", 700)).ok());
  uint64_t version = this->op().ClusterStatus().routing_version();
  this->env_.AdvanceMonotonic(9s);
  this->env_.Restart();

  pb::ClusterStatusReply status = this->op().ClusterStatus();
  EXPECT_EQ(status.routing_version(), version);
  ASSERT_EQ(status.nodes_size(), 1);
  EXPECT_TRUE(status.nodes(0).online());
  EXPECT_EQ(status.nodes(0).since_heartbeat_ms(), 0);
  ASSERT_EQ(status.targets_size(), 3);
  EXPECT_EQ(status.targets(2).used_bytes(), 700u);  // usage is persisted with the node record
}

TEST(ClusterStatusServiceTest, ReplyTravelsOverRpc) {
  OperatorEnv<MemoryEnv> env;
  env.AddNodes(1, 2);
  env.AdvanceMonotonic(1234ms);
  MetaService service(env.op());
  IoThreads server_io(1);
  IoThreads client_io(1);
  RpcServer server(server_io.context());
  service.RegisterOn(server);
  auto bound = server.Listen(HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  auto channel = run_blocking(client_io.executor(),
                              RpcChannel::Connect(client_io.executor(), HostPort{"127.0.0.1", bound->port()}, 10s));
  ASSERT_TRUE(channel.ok()) << channel.status().ToString();
  auto reply = run_blocking(client_io.executor(), CallPb<pb::ClusterStatusReply>(**channel, method::kClusterStatus,
                                                                                 pb::ClusterStatusRequest()));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->nodes_size(), 1);
  EXPECT_EQ(reply->nodes(0).since_heartbeat_ms(), 1234);
  EXPECT_EQ(reply->targets_size(), 2);
  (*channel)->Close();
  server.Stop();
  server_io.Stop();
  client_io.Stop();
}

}  // namespace
}  // namespace zcfs::meta
