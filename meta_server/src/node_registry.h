// NodeRegistry: the cluster manager. Knows every storage node and its targets (persisted in the
// `system` column), when each node was last heard from (in memory only), the chain table
// (chain_table.h, persisted) and the routing table version, bumped whenever a node joins, changes its
// address or its set of targets, or a chain changes.
//
// Liveness: a node is online while monotonic_now - last_seen <= timeout. Nodes loaded at start-up
// count as just seen, so after a meta restart they stay online until their timeout passes without a
// heartbeat. CheckLeases (called periodically) takes the targets of a node whose lease ran out out of
// their chains; its next heartbeat puts them back as SYNCING. A heartbeat with a new incarnation (the
// node restarted) or a target with a new uuid (its directory was wiped) does the same at once. Usage
// figures (capacity/used) are persisted when they change but do not bump the routing version: they
// change on every heartbeat and clients do not route by them.
//
// Thread-safe: one mutex serializes registrations and guards the in-memory state.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "chain_table.h"
#include "zcfs.pb.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

class NodeRegistry {
 public:
  NodeRegistry(KvStore& store, std::chrono::nanoseconds timeout, uint32_t replication,
               std::function<int64_t()> monotonic_ns);

  // Reads the persisted nodes, chains and counters; every loaded node counts as seen now. Call once,
  // first.
  Status Load();
  Result<pb::RegisterNodeReply> Register(const pb::RegisterNodeRequest& request);
  // Takes the targets of nodes whose lease ran out out of their chains. Returns how many nodes it
  // found newly offline.
  Result<size_t> CheckLeases();
  Status SyncDone(const pb::SyncDoneRequest& request);
  Status TargetAdmin(const pb::TargetAdminRequest& request);
  Status ReportMissingData(const pb::MissingDataReport& report);

  pb::RoutingTable Routing() const;
  // The routing table plus each node's liveness and the time since it was last heard from.
  pb::ClusterStatusReply ClusterStatus() const;
  // Chains that can take a new file's chunks (a serving head on an online node), and whether any
  // target is registered at all.
  std::vector<uint32_t> WritableChains(bool* any_registered) const;
  uint32_t replication() const { return chains_.replication(); }

 private:
  struct Counters {
    uint64_t next_node_id = 1;
    uint64_t next_target_id = 1;
    uint64_t routing_version = 1;
  };
  // Fills in the node id and target ids of `record` (a copy of the request), allocating from
  // `counters`. Fails when a target id belongs to another node or ids repeat.
  Status AssignIds(pb::RegisterNodeRequest& record, Counters& counters) const;
  // The chain changes a registration of `record` makes (on `chains`, a copy of chains_).
  std::vector<uint32_t> ChainChangesOf(const pb::RegisterNodeRequest& record, ChainTable& chains) const;
  // Writes `batch` (synced: with replication, acknowledged by the standbys) with mutex_ released,
  // so that readers - every create asks for the writable chains - never wait for the disk or the
  // standbys. The caller holds write_mutex_, so the state cannot change meanwhile.
  Status Commit(std::unique_lock<std::mutex>& lock, const WriteBatch& batch);
  // Commits `chains` (a modified copy of chains_, `changed` naming what changed) with a routing
  // version bump, then adopts it. Caller holds write_mutex_ and `lock` (on mutex_).
  Status CommitChains(std::unique_lock<std::mutex>& lock, ChainTable chains, const std::vector<uint32_t>& changed,
                      std::string_view why);
  bool Online(uint32_t node_id, int64_t now) const;
  // Every known target with its place (node, label). Caller holds mutex_.
  std::vector<TargetPlace> Places() const;
  // Appends every target, in target id order, with its owner and usage. Caller holds mutex_.
  void AddTargets(google::protobuf::RepeatedPtrField<pb::RoutingTarget>* out) const;
  void AddChains(google::protobuf::RepeatedPtrField<pb::Chain>* out) const;

  KvStore& store_;
  const std::chrono::nanoseconds timeout_;
  const std::function<int64_t()> monotonic_ns_;

  std::mutex write_mutex_;   // serializes changes, held across their commit (see Commit)
  mutable std::mutex mutex_;  // guards the state below; never held across a commit
  Counters counters_;
  ChainTable chains_;
  std::map<uint32_t, pb::RegisterNodeRequest> nodes_;  // by node id, ids filled in
  std::map<uint32_t, uint32_t> target_owner_;          // target id -> node id
  std::map<uint32_t, int64_t> last_seen_ns_;           // node id -> monotonic ns
  std::set<uint32_t> down_nodes_;                      // nodes CheckLeases took out of their chains
  std::set<uint32_t> drained_;                         // targets an operator took out (in memory only)
};

}  // namespace zcfs::meta
