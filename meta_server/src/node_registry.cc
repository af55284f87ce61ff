#include "node_registry.h"

#include <set>

#include "keys.h"
#include "zcfs/common/address.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/layout_rules.h"

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

NodeRegistry::NodeRegistry(KvStore& store, std::chrono::nanoseconds timeout, uint32_t replication,
                           std::function<int64_t()> monotonic_ns)
    : store_(store), timeout_(timeout), monotonic_ns_(std::move(monotonic_ns)), chains_(replication) {}

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
  ASSIGN_OR_RETURN(auto chain_records, store_.Scan(Column::kSystem, keys::kChainPrefix, "", 0));
  std::vector<pb::Chain> chains;
  for (const auto& [key, value] : chain_records) {
    if (!chains.emplace_back().ParseFromString(value)) return Error(Code::kCorruption, "unparsable chain record");
  }
  chains_.Load(std::move(chains));
  return Status::Ok();
}

Status NodeRegistry::AssignIds(pb::RegisterNodeRequest& record, Counters& counters) const {
  if (record.node_id() == 0 && record.incarnation() != 0) {
    // The same process asking again because it never got the reply (a timeout, a meta failover):
    // it keeps the node it was given, instead of becoming a second node with the same disks.
    for (const auto& [id, node] : nodes_) {
      if (node.incarnation() == record.incarnation()) record.set_node_id(id);
    }
  }
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

std::vector<uint32_t> NodeRegistry::ChainChangesOf(const pb::RegisterNodeRequest& record, ChainTable& chains) const {
  auto existing = nodes_.find(record.node_id());
  const bool restarted = existing != nodes_.end() && existing->second.incarnation() != 0 &&
                         existing->second.incarnation() != record.incarnation();
  std::vector<TargetPlace> places;
  for (const auto& p : Places()) {
    if (p.node_id != record.node_id()) places.push_back(p);
  }
  for (const auto& t : record.targets()) places.push_back({t.target_id(), record.node_id(), record.label()});

  std::set<uint32_t> changed;
  for (const auto& t : record.targets()) {
    std::vector<uint32_t> now_changed;
    if (!chains.Contains(t.target_id())) {
      now_changed = chains.AddTarget({t.target_id(), record.node_id(), record.label()}, places);
    } else if (!drained_.contains(t.target_id())) {
      bool wiped = false;
      if (existing != nodes_.end()) {
        for (const auto& old : existing->second.targets()) {
          wiped |= old.target_id() == t.target_id() && !old.uuid().empty() && old.uuid() != t.uuid();
        }
      }
      if (wiped) LOG_WARN << "target " << t.target_id() << " at " << t.path() << " came back empty (new uuid)";
      if (restarted || wiped || chains.IsOffline(t.target_id())) now_changed = chains.TargetBack(t.target_id());
    }
    changed.insert(now_changed.begin(), now_changed.end());
  }
  return {changed.begin(), changed.end()};
}

Result<pb::RegisterNodeReply> NodeRegistry::Register(const pb::RegisterNodeRequest& request) {
  RETURN_IF_ERROR(validate_request(request));
  std::lock_guard writing(write_mutex_);
  std::unique_lock lock(mutex_);
  pb::RegisterNodeRequest record = request;
  Counters counters = counters_;
  RETURN_IF_ERROR(AssignIds(record, counters));

  auto existing = nodes_.find(record.node_id());
  bool is_new = existing == nodes_.end();
  bool topology_changed =
      is_new || existing->second.address() != record.address() || target_ids(existing->second) != target_ids(record);
  bool record_changed = is_new || existing->second.SerializeAsString() != record.SerializeAsString();
  ChainTable chains = chains_;
  std::vector<uint32_t> changed_chains = ChainChangesOf(record, chains);
  if (topology_changed || !changed_chains.empty()) ++counters.routing_version;

  WriteBatch batch;
  if (record_changed) batch.Put(Column::kSystem, keys::node_key(record.node_id()), record.SerializeAsString());
  if (counters.next_node_id != counters_.next_node_id) {
    batch.Put(Column::kSystem, std::string(keys::kNextNodeId), keys::be64(counters.next_node_id));
  }
  if (counters.next_target_id != counters_.next_target_id) {
    batch.Put(Column::kSystem, std::string(keys::kNextTargetId), keys::be64(counters.next_target_id));
  }
  if (counters.routing_version != counters_.routing_version) {
    batch.Put(Column::kSystem, std::string(keys::kRoutingVersion), keys::be64(counters.routing_version));
  }
  for (uint32_t id : changed_chains) {
    batch.Put(Column::kSystem, keys::chain_key(id), chains.chains().at(id).SerializeAsString());
  }
  if (!batch.empty()) RETURN_IF_ERROR(Commit(lock, batch));

  // Committed: now the in-memory view may change.
  if (!is_new) {
    for (const auto& t : existing->second.targets()) target_owner_.erase(t.target_id());
  }
  for (const auto& t : record.targets()) target_owner_[t.target_id()] = record.node_id();
  counters_ = counters;
  chains_ = std::move(chains);
  last_seen_ns_[record.node_id()] = monotonic_ns_();
  down_nodes_.erase(record.node_id());
  if (topology_changed || !changed_chains.empty()) {
    LOG_INFO << "node " << record.node_id() << " at " << record.address() << " registered with "
             << record.targets_size() << " targets (" << changed_chains.size() << " chains changed); routing version "
             << counters_.routing_version;
  }
  pb::RegisterNodeReply reply;
  reply.set_node_id(record.node_id());
  for (const auto& t : record.targets()) reply.add_target_ids(t.target_id());
  reply.set_routing_version(counters_.routing_version);
  reply.set_lease_ms(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()));
  nodes_[record.node_id()] = std::move(record);
  return reply;
}

Status NodeRegistry::Commit(std::unique_lock<std::mutex>& lock, const WriteBatch& batch) {
  lock.unlock();  // readers see the state before the batch until it is installed
  Status written = store_.Write(batch);
  lock.lock();
  return written;
}

Status NodeRegistry::CommitChains(std::unique_lock<std::mutex>& lock, ChainTable chains,
                                  const std::vector<uint32_t>& changed, std::string_view why) {
  if (changed.empty()) return Status::Ok();
  uint64_t version = counters_.routing_version + 1;
  WriteBatch batch;
  batch.Put(Column::kSystem, std::string(keys::kRoutingVersion), keys::be64(version));
  for (uint32_t id : changed)
    batch.Put(Column::kSystem, keys::chain_key(id), chains.chains().at(id).SerializeAsString());
  RETURN_IF_ERROR(Commit(lock, batch));
  counters_.routing_version = version;
  chains_ = std::move(chains);
  LOG_INFO << why << ": " << changed.size() << " chains changed; routing version " << version;
  return Status::Ok();
}

Result<size_t> NodeRegistry::CheckLeases() {
  std::lock_guard writing(write_mutex_);
  std::unique_lock lock(mutex_);
  int64_t now = monotonic_ns_();
  ChainTable chains = chains_;
  std::set<uint32_t> changed;
  std::vector<uint32_t> lapsed;
  for (const auto& [id, node] : nodes_) {
    if (Online(id, now) || down_nodes_.contains(id)) continue;
    lapsed.push_back(id);
    for (const auto& t : node.targets()) {
      for (uint32_t c : chains.TargetDown(t.target_id())) changed.insert(c);
    }
  }
  if (lapsed.empty()) return size_t{0};
  std::string why = "node";
  for (uint32_t id : lapsed) why += " " + std::to_string(id);
  RETURN_IF_ERROR(CommitChains(lock, std::move(chains), {changed.begin(), changed.end()}, why + " missed its lease"));
  down_nodes_.insert(lapsed.begin(), lapsed.end());
  return lapsed.size();
}

Status NodeRegistry::SyncDone(const pb::SyncDoneRequest& request) {
  std::lock_guard writing(write_mutex_);
  std::unique_lock lock(mutex_);
  ChainTable chains = chains_;
  ASSIGN_OR_RETURN(auto changed, chains.SyncDone(request.chain_id(), request.chain_version(), request.target_id()));
  return CommitChains(lock, std::move(chains), changed,
      "target " + std::to_string(request.target_id()) + " resynced in chain " + std::to_string(request.chain_id()));
}

Status NodeRegistry::ReportMissingData(const pb::MissingDataReport& report) {
  std::lock_guard writing(write_mutex_);
  std::unique_lock lock(mutex_);
  ChainTable chains = chains_;
  ASSIGN_OR_RETURN(auto changed, chains.MissingData(report.chain_id(), report.chain_version(), report.target_id()));
  const std::string chunk = std::to_string(report.inode()) + "." + std::to_string(report.chunk_index());
  LOG_WARN << "target " << report.target_id() << " lacks bytes [" << report.held_until() << ", "
           << report.found_until() << ") of chunk " << chunk << " that another replica of chain " << report.chain_id()
           << " holds: it lost data, and is resynced";
  return CommitChains(lock, std::move(chains), changed,
                      "target " + std::to_string(report.target_id()) + " found lacking chunk " + chunk);
}

Status NodeRegistry::TargetAdmin(const pb::TargetAdminRequest& request) {
  std::lock_guard writing(write_mutex_);
  std::unique_lock lock(mutex_);
  const uint32_t target = request.target_id();
  if (!target_owner_.contains(target)) return Error(Code::kNotFound, "no target " + std::to_string(target));
  ChainTable chains = chains_;
  std::vector<uint32_t> changed;
  if (request.drain()) {
    changed = chains.TargetDown(target);
    if (!changed.empty() || chains.IsOffline(target)) {
      RETURN_IF_ERROR(CommitChains(lock, std::move(chains), changed, "target " + std::to_string(target) + " drained"));
      drained_.insert(target);
      return Status::Ok();
    }
    return Error(Code::kNotPermitted,
                 "target " + std::to_string(target) + " is the last serving replica of a chain; it cannot be drained");
  }
  drained_.erase(target);
  if (chains.IsOffline(target) && Online(target_owner_.at(target), monotonic_ns_()))
    changed = chains.TargetBack(target);
  return CommitChains(lock, std::move(chains), changed, "target " + std::to_string(target) + " put back");
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
    n->set_label(node.label());
  }
  AddTargets(table.mutable_targets());
  AddChains(table.mutable_chains());
  return table;
}

void NodeRegistry::AddChains(google::protobuf::RepeatedPtrField<pb::Chain>* out) const {
  for (const auto& [id, chain] : chains_.chains()) *out->Add() = chain;
}

std::vector<TargetPlace> NodeRegistry::Places() const {
  std::vector<TargetPlace> places;
  for (const auto& [id, node] : nodes_) {
    for (const auto& t : node.targets()) places.push_back({t.target_id(), id, node.label()});
  }
  return places;
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
  AddChains(reply.mutable_chains());
  reply.set_replication(chains_.replication());
  for (const auto& [id, node] : nodes_) {
    if (!Online(id, now)) continue;
    for (const auto& progress : node.resyncs()) *reply.add_resyncs() = progress;
  }
  return reply;
}

std::vector<uint32_t> NodeRegistry::WritableChains(bool* any_registered) const {
  std::lock_guard lock(mutex_);
  const int64_t now = monotonic_ns_();
  std::vector<uint32_t> out;
  for (const auto& [id, chain] : chains_.chains()) {
    std::optional<uint32_t> head = chain_head(chain);
    auto owner = head ? target_owner_.find(*head) : target_owner_.end();
    if (owner != target_owner_.end() && Online(owner->second, now)) out.push_back(id);
  }
  *any_registered = !target_owner_.empty();
  return out;
}

}  // namespace zcfs::meta
