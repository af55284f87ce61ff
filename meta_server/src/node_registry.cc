#include "node_registry.h"

#include <set>

#include "keys.h"
#include "zcfs/common/address.h"
#include "zcfs/common/logging.h"

namespace zcfs::meta {
namespace {

// Reads a BE64 counter from `system`; absent -> `fallback`.
Result<uint64_t> load_counter(const KvStore& store, std::string_view key, uint64_t fallback) {
  auto value = store.Get(Column::kSystem, key);
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) return fallback;
    return value.status();
  }
  auto v = keys::read_be64(*value);
  if (!v || value->size() != 8) return Error(Code::kCorruption, "bad counter " + std::string(key));
  return *v;
}

std::vector<uint32_t> target_ids(const pb::RegisterNodeRequest& node) {
  std::vector<uint32_t> ids;
  for (const auto& t : node.targets()) ids.push_back(t.target_id());
  return ids;
}

Status validate_request(const pb::RegisterNodeRequest& request) {
  auto address = parse_host_port(request.address());
  if (!address.ok()) return Error(Code::kInvalidArgument, "node address: " + address.status().message());
  if (address->host.empty() || address->port == 0) {
    return Error(Code::kInvalidArgument, "node address '" + request.address() + "' needs a host and a nonzero port");
  }
  return Status::Ok();
}

}  // namespace

NodeRegistry::NodeRegistry(KvStore& store, std::chrono::nanoseconds timeout, std::function<int64_t()> monotonic_ns)
    : store_(store), timeout_(timeout), monotonic_ns_(std::move(monotonic_ns)) {}

Status NodeRegistry::Load() {
  std::lock_guard lock(mutex_);
  ASSIGN_OR_RETURN(counters_.next_node_id, load_counter(store_, keys::kNextNodeId, 1));
  ASSIGN_OR_RETURN(counters_.next_target_id, load_counter(store_, keys::kNextTargetId, 1));
  ASSIGN_OR_RETURN(counters_.routing_version, load_counter(store_, keys::kRoutingVersion, 1));
  ASSIGN_OR_RETURN(auto records, store_.Scan(Column::kSystem, keys::kNodePrefix, "", 0));
  int64_t now = monotonic_ns_();
  for (const auto& [key, value] : records) {
    pb::RegisterNodeRequest node;
    if (!node.ParseFromString(value)) return Error(Code::kCorruption, "unparsable node record");
    nodes_[node.node_id()] = node;
    last_seen_ns_[node.node_id()] = now;
    for (const auto& t : node.targets()) target_owner_[t.target_id()] = node.node_id();
  }
  return Status::Ok();
}

Status NodeRegistry::AssignIds(pb::RegisterNodeRequest& record, Counters& counters) const {
  if (record.node_id() == 0) {
    record.set_node_id(static_cast<uint32_t>(counters.next_node_id++));
  } else if (record.node_id() >= counters.next_node_id) {
    counters.next_node_id = uint64_t{record.node_id()} + 1;  // a node known before a meta reset
  }
  auto existing = nodes_.find(record.node_id());
  std::set<uint32_t> seen;
  for (auto& target : *record.mutable_targets()) {
    if (target.target_id() == 0 && existing != nodes_.end()) {
      // A node that forgot its target ids re-registers by path: keep the ids it had.
      for (const auto& old : existing->second.targets()) {
        if (old.path() == target.path()) target.set_target_id(old.target_id());
      }
    }
    if (target.target_id() == 0) {
      target.set_target_id(static_cast<uint32_t>(counters.next_target_id++));
    } else if (target.target_id() >= counters.next_target_id) {
      counters.next_target_id = uint64_t{target.target_id()} + 1;
    }
    auto owner = target_owner_.find(target.target_id());
    if (owner != target_owner_.end() && owner->second != record.node_id()) {
      return Error(Code::kInvalidArgument, "target " + std::to_string(target.target_id()) + " belongs to node " +
                                               std::to_string(owner->second));
    }
    if (!seen.insert(target.target_id()).second) {
      return Error(Code::kInvalidArgument, "target " + std::to_string(target.target_id()) + " listed twice");
    }
  }
  return Status::Ok();
}

Result<pb::RegisterNodeReply> NodeRegistry::Register(const pb::RegisterNodeRequest& request) {
  RETURN_IF_ERROR(validate_request(request));
  std::lock_guard lock(mutex_);
  pb::RegisterNodeRequest record = request;
  Counters counters = counters_;
  RETURN_IF_ERROR(AssignIds(record, counters));

  auto existing = nodes_.find(record.node_id());
  bool is_new = existing == nodes_.end();
  bool topology_changed =
      is_new || existing->second.address() != record.address() || target_ids(existing->second) != target_ids(record);
  bool record_changed = is_new || existing->second.SerializeAsString() != record.SerializeAsString();
  if (topology_changed) ++counters.routing_version;

  WriteBatch batch;
  if (record_changed) batch.Put(Column::kSystem, keys::node_key(record.node_id()), record.SerializeAsString());
  if (counters.next_node_id != counters_.next_node_id) {
    batch.Put(Column::kSystem, std::string(keys::kNextNodeId), keys::be64(counters.next_node_id));
  }
  if (counters.next_target_id != counters_.next_target_id) {
    batch.Put(Column::kSystem, std::string(keys::kNextTargetId), keys::be64(counters.next_target_id));
  }
  if (topology_changed) {
    batch.Put(Column::kSystem, std::string(keys::kRoutingVersion), keys::be64(counters.routing_version));
  }
  if (!batch.empty()) RETURN_IF_ERROR(store_.Write(batch));

  // Committed: now the in-memory view may change.
  if (!is_new) {
    for (const auto& t : existing->second.targets()) target_owner_.erase(t.target_id());
  }
  for (const auto& t : record.targets()) target_owner_[t.target_id()] = record.node_id();
  counters_ = counters;
  last_seen_ns_[record.node_id()] = monotonic_ns_();
  if (topology_changed) {
    LOG_INFO << "node " << record.node_id() << " at " << record.address() << " registered with "
             << record.targets_size() << " targets; routing version " << counters_.routing_version;
  }
  pb::RegisterNodeReply reply;
  reply.set_node_id(record.node_id());
  for (const auto& t : record.targets()) reply.add_target_ids(t.target_id());
  nodes_[record.node_id()] = std::move(record);
  return reply;
}

bool NodeRegistry::Online(uint32_t node_id, int64_t now) const {
  auto it = last_seen_ns_.find(node_id);
  return it != last_seen_ns_.end() && now - it->second <= timeout_.count();
}

pb::RoutingTable NodeRegistry::Routing() const {
  std::lock_guard lock(mutex_);
  int64_t now = monotonic_ns_();
  pb::RoutingTable table;
  table.set_version(counters_.routing_version);
  for (const auto& [id, node] : nodes_) {
    auto* n = table.add_nodes();
    n->set_node_id(id);
    n->set_address(node.address());
    n->set_online(Online(id, now));
  }
  AddTargets(table.mutable_targets());
  return table;
}

void NodeRegistry::AddTargets(google::protobuf::RepeatedPtrField<pb::RoutingTarget>* out) const {
  for (const auto& [target_id, node_id] : target_owner_) {
    for (const auto& t : nodes_.at(node_id).targets()) {
      if (t.target_id() != target_id) continue;
      auto* rt = out->Add();
      rt->set_target_id(target_id);
      rt->set_node_id(node_id);
      rt->set_capacity_bytes(t.capacity_bytes());
      rt->set_used_bytes(t.used_bytes());
    }
  }
}

pb::ClusterStatusReply NodeRegistry::ClusterStatus() const {
  std::lock_guard lock(mutex_);
  int64_t now = monotonic_ns_();
  pb::ClusterStatusReply reply;
  reply.set_routing_version(counters_.routing_version);
  for (const auto& [id, node] : nodes_) {
    auto* n = reply.add_nodes();
    n->set_node_id(id);
    n->set_address(node.address());
    n->set_online(Online(id, now));
    auto seen = last_seen_ns_.find(id);
    // Every known node has a last-seen time (loading counts as seen); -1 would mean "never".
    n->set_since_heartbeat_ms(seen == last_seen_ns_.end() ? -1 : (now - seen->second) / 1'000'000);
  }
  AddTargets(reply.mutable_targets());
  return reply;
}

std::vector<uint32_t> NodeRegistry::OnlineTargets(bool* any_registered) const {
  std::lock_guard lock(mutex_);
  int64_t now = monotonic_ns_();
  std::vector<uint32_t> out;
  for (const auto& [target_id, node_id] : target_owner_) {
    if (Online(node_id, now)) out.push_back(target_id);
  }
  *any_registered = !target_owner_.empty();
  return out;
}

}  // namespace zcfs::meta
