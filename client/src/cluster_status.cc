// Client::ClusterStatus: the meta server's view of the storage nodes and targets, converted to the
// public structs of client.h.
#include <algorithm>

#include "client_impl.h"
#include "zcfs/client/client.h"
#include "zcfs/proto/checkpoint_fetch.h"
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
  for (const auto& c : reply.chains()) {
    ChainStatus chain{c.chain_id(), c.version(), {}};
    for (const auto& m : c.members()) {
      ReplicaState state = m.state() == pb::TARGET_STATE_SERVING   ? ReplicaState::kServing
                           : m.state() == pb::TARGET_STATE_SYNCING ? ReplicaState::kSyncing
                                                                   : ReplicaState::kOffline;
      ChainMemberStatus member{m.target_id(), state, 0, 0, 0};
      for (const auto& r : reply.resyncs()) {
        if (r.chain_id() != c.chain_id() || r.target_id() != m.target_id()) continue;
        member.resync_examined = r.chunks_examined();
        member.resync_total = r.chunks_total();
        member.resync_bytes = r.bytes_copied();
      }
      chain.members.push_back(member);
    }
    state.chains.push_back(std::move(chain));
  }
  state.replication = std::max(1u, reply.replication());
  return state;
}

Status Client::DrainTarget(uint32_t target_id, bool drain) {
  pb::TargetAdminRequest request;
  request.set_target_id(target_id);
  request.set_drain(drain);
  return impl_->MetaCall<pb::EmptyReply>(method::kTargetAdmin, request).status();
}

Result<NamespaceBackup> Client::BackupNamespace(const std::string& dir) {
  // Taking a checkpoint flushes the server's memtables: allow it more than a namespace call.
  const auto timeout = std::max(impl_->options().rpc_timeout, std::chrono::milliseconds(60000));
  auto call = [this, timeout](uint16_t method, std::string_view body) {
    return impl_->meta_servers().Call(method, body, timeout);
  };
  ASSIGN_OR_RETURN(FetchedCheckpoint fetched, fetch_checkpoint(call, dir));
  return NamespaceBackup{fetched.files, fetched.bytes};
}

}  // namespace zcfs
