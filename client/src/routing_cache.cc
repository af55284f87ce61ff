#include "routing_cache.h"

#include <algorithm>

#include "zcfs/proto/layout_rules.h"

namespace zcfs {

void RoutingCache::Update(const pb::RoutingTable& table) {
  std::map<uint32_t, const pb::RoutingNode*> nodes;
  for (const auto& node : table.nodes()) nodes[node.node_id()] = &node;
  std::map<uint32_t, std::string> target_address, target_label;
  for (const auto& target : table.targets()) {
    auto it = nodes.find(target.node_id());
    if (it == nodes.end()) continue;
    target_address[target.target_id()] = it->second->address();
    target_label[target.target_id()] = it->second->label();
  }
  std::map<uint32_t, pb::Chain> chains;
  for (const auto& chain : table.chains()) chains[chain.chain_id()] = chain;
  std::lock_guard lock(mutex_);
  version_ = table.version();
  target_address_ = std::move(target_address);
  target_label_ = std::move(target_label);
  chains_ = std::move(chains);
}

uint64_t RoutingCache::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

Result<std::string> RoutingCache::AddressOf(uint32_t target_id) const {
  auto it = target_address_.find(target_id);
  if (it == target_address_.end()) {
    return Error(Code::kStaleRouting, "storage target " + std::to_string(target_id) + " is not in routing table v" +
                                          std::to_string(version_));
  }
  return it->second;
}

Result<const pb::Chain*> RoutingCache::FindChain(uint32_t chain_id) const {
  auto chain = chains_.find(chain_id);
  if (chain == chains_.end()) {
    return Error(Code::kStaleRouting,
                 "chain " + std::to_string(chain_id) + " is not in routing table v" + std::to_string(version_));
  }
  return &chain->second;
}

Result<Replica> RoutingCache::ReadReplica(uint32_t chain_id, uint64_t spread, const std::vector<uint32_t>& avoid,
                                          WhenAllAvoided when_all_avoided) const {
  std::lock_guard lock(mutex_);
  ASSIGN_OR_RETURN(const pb::Chain* chain, FindChain(chain_id));
  std::vector<uint32_t> serving = readable_members(*chain);
  std::vector<uint32_t> fresh;
  for (uint32_t t : serving) {
    if (std::find(avoid.begin(), avoid.end(), t) == avoid.end()) fresh.push_back(t);
  }
  if (fresh.empty() && !serving.empty() && when_all_avoided == WhenAllAvoided::kFail) {
    return Error(Code::kNotFound, "chain " + std::to_string(chain_id) + " has no other serving replica");
  }
  std::vector<uint32_t> pick_from = fresh.empty() ? serving : fresh;
  if (!label_.empty()) {
    std::vector<uint32_t> near;
    for (uint32_t t : pick_from) {
      auto label = target_label_.find(t);
      if (label != target_label_.end() && label->second == label_) near.push_back(t);
    }
    if (!near.empty()) pick_from = std::move(near);
  }
  if (pick_from.empty()) {
    return Error(Code::kStaleRouting, "chain " + std::to_string(chain_id) +
                                          " has no serving replica in routing table v" + std::to_string(version_));
  }
  uint32_t target = pick_from[spread % pick_from.size()];
  ASSIGN_OR_RETURN(std::string address, AddressOf(target));
  return Replica{target, std::move(address), chain->version()};
}

Result<Replica> RoutingCache::Head(uint32_t chain_id) const {
  std::lock_guard lock(mutex_);
  ASSIGN_OR_RETURN(const pb::Chain* chain, FindChain(chain_id));
  std::optional<uint32_t> head = chain_head(*chain);
  if (!head) {
    return Error(Code::kStaleRouting, "chain " + std::to_string(chain_id) + " has no serving head in routing table v" +
                                          std::to_string(version_));
  }
  ASSIGN_OR_RETURN(std::string address, AddressOf(*head));
  return Replica{*head, std::move(address), chain->version()};
}

}  // namespace zcfs
