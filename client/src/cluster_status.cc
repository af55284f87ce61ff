// Client::ClusterStatus: the meta server's view of the storage nodes and targets, converted to the
// public structs of client.h.
#include "client_impl.h"
#include "zcfs/client/client.h"
#include "zcfs/proto/methods.h"

namespace zcfs {

Result<ClusterState> Client::ClusterStatus() {
  ASSIGN_OR_RETURN(pb::ClusterStatusReply reply,
                   impl_->MetaCall<pb::ClusterStatusReply>(method::kClusterStatus, pb::ClusterStatusRequest()));
  ClusterState state;
  state.routing_version = reply.routing_version();
  for (const auto& n : reply.nodes()) {
    state.nodes.push_back(NodeStatus{n.node_id(), n.address(), n.online(), n.since_heartbeat_ms()});
  }
  for (const auto& t : reply.targets()) {
    state.targets.push_back(TargetStatus{t.target_id(), t.node_id(), t.capacity_bytes(), t.used_bytes()});
  }
  return state;
}

}  // namespace zcfs
