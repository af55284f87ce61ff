// NodeRegistry: the minimal cluster manager. Knows every storage node and its targets (persisted in
// the `system` column), when each node was last heard from (in memory only), and the routing table
// version, bumped whenever a node joins or changes its address or its set of targets.
//
// Liveness: a node is online while monotonic_now - last_seen <= timeout. Nodes loaded at start-up
// count as just seen, so after a meta restart they stay online until their timeout passes without a
// heartbeat. Usage figures (capacity/used) are persisted when they change but do not bump the
// routing version: they change on every heartbeat and clients do not route by them.
//
// Thread-safe: one mutex serializes registrations and guards the in-memory state.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

class NodeRegistry {
 public:
  NodeRegistry(KvStore& store, std::chrono::nanoseconds timeout, std::function<int64_t()> monotonic_ns);

  // Reads the persisted nodes and counters; every loaded node counts as seen now. Call once, first.
  Status Load();
  Result<pb::RegisterNodeReply> Register(const pb::RegisterNodeRequest& request);
  pb::RoutingTable Routing() const;
  // The routing table plus each node's liveness and the time since it was last heard from.
  pb::ClusterStatusReply ClusterStatus() const;
  // Targets of online nodes, and whether any target is registered at all (online or not).
  std::vector<uint32_t> OnlineTargets(bool* any_registered) const;

 private:
  struct Counters {
    uint64_t next_node_id = 1;
    uint64_t next_target_id = 1;
    uint64_t routing_version = 1;
  };
  // Fills in the node id and target ids of `record` (a copy of the request), allocating from
  // `counters`. Fails when a target id belongs to another node or ids repeat.
  Status AssignIds(pb::RegisterNodeRequest& record, Counters& counters) const;
  bool Online(uint32_t node_id, int64_t now) const;
  // Appends every target, in target id order, with its owner and usage. Caller holds mutex_.
  void AddTargets(google::protobuf::RepeatedPtrField<pb::RoutingTarget>* out) const;

  KvStore& store_;
  const std::chrono::nanoseconds timeout_;
  const std::function<int64_t()> monotonic_ns_;

  mutable std::mutex mutex_;
  Counters counters_;
  std::map<uint32_t, pb::RegisterNodeRequest> nodes_;  // by node id, ids filled in
  std::map<uint32_t, uint32_t> target_owner_;          // target id -> node id
  std::map<uint32_t, int64_t> last_seen_ns_;           // node id -> monotonic ns
};

}  // namespace zcfs::meta
