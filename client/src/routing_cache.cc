#include "routing_cache.h"

namespace zcfs {

void RoutingCache::Update(const pb::RoutingTable& table) {
  std::map<uint32_t, std::string> node_address;
  for (const auto& node : table.nodes()) node_address[node.node_id()] = node.address();
  std::map<uint32_t, std::string> target_address;
  for (const auto& target : table.targets()) {
    auto it = node_address.find(target.node_id());
    if (it != node_address.end()) target_address[target.target_id()] = it->second;
  }
  std::lock_guard lock(mutex_);
  version_ = table.version();
  target_address_ = std::move(target_address);
}

Result<std::string> RoutingCache::AddressOf(uint32_t target_id) const {
  std::lock_guard lock(mutex_);
  auto it = target_address_.find(target_id);
  if (it == target_address_.end()) {
    return Error(Code::kStaleRouting, "storage target " + std::to_string(target_id) + " is not in routing table v" +
                                          std::to_string(version_));
  }
  return it->second;
}

uint64_t RoutingCache::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

}  // namespace zcfs
