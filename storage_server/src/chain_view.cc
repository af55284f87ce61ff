#include "zcfs/storage/chain_view.h"

namespace zcfs {

void ChainView::Update(pb::RoutingTable table) {
  auto fresh = std::make_shared<const pb::RoutingTable>(std::move(table));
  std::lock_guard lock(mutex_);
  if (fresh->version() >= table_->version()) table_ = std::move(fresh);
}

uint64_t ChainView::version() const {
  std::lock_guard lock(mutex_);
  return table_->version();
}

Result<std::shared_ptr<const pb::Chain>> ChainView::Chain(uint32_t chain_id) const {
  std::shared_ptr<const pb::RoutingTable> table;
  {
    std::lock_guard lock(mutex_);
    table = table_;
  }
  for (const auto& chain : table->chains()) {
    if (chain.chain_id() == chain_id) return std::shared_ptr<const pb::Chain>(table, &chain);  // keeps the table
  }
  return Error(Code::kStaleRouting, "chain " + std::to_string(chain_id) + " is not in this node's routing table v" +
                                        std::to_string(table->version()));
}

std::vector<pb::Chain> ChainView::Chains() const {
  std::lock_guard lock(mutex_);
  return {table_->chains().begin(), table_->chains().end()};
}

Result<std::string> ChainView::AddressOf(uint32_t target_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& target : table_->targets()) {
    if (target.target_id() != target_id) continue;
    for (const auto& node : table_->nodes()) {
      if (node.node_id() == target.node_id()) return node.address();
    }
  }
  return Error(Code::kStaleRouting, "target " + std::to_string(target_id) + " has no node in routing table v" +
                                        std::to_string(table_->version()));
}

void ChainView::LeaseRenewed(Clock::time_point at, std::chrono::milliseconds lease) {
  std::lock_guard lock(mutex_);
  if (!renewed_ || at > *renewed_) renewed_ = at;
  lease_ = lease;
}

Status ChainView::CheckLease() const {
  std::lock_guard lock(mutex_);
  if (!renewed_) return Error(Code::kStaleRouting, "fenced: no heartbeat answered by the meta server yet");
  auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - *renewed_);
  if (silent > lease_ / 2) {
    return Error(Code::kStaleRouting, "fenced: no heartbeat answered for " + std::to_string(silent.count()) +
                                          " ms (lease " + std::to_string(lease_.count()) + " ms)");
  }
  return Status::Ok();
}

}  // namespace zcfs
