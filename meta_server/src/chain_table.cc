#include "chain_table.h"

#include <algorithm>

#include "zcfs/common/logging.h"
#include "zcfs/proto/layout_rules.h"

namespace zcfs::meta {
namespace {

int state_rank(pb::TargetState state) {
  switch (state) {
    case pb::TARGET_STATE_SERVING:
      return 0;
    case pb::TARGET_STATE_SYNCING:
      return 1;
    default:
      return 2;
  }
}

size_t serving_count(const pb::Chain& chain) { return readable_members(chain).size(); }

pb::ChainMember* find_member(pb::Chain& chain, uint32_t target_id) {
  for (auto& m : *chain.mutable_members()) {
    if (m.target_id() == target_id) return &m;
  }
  return nullptr;
}

}  // namespace

void ChainTable::Load(std::vector<pb::Chain> chains) {
  chains_.clear();
  for (auto& c : chains) chains_[c.chain_id()] = std::move(c);
}

bool ChainTable::Contains(uint32_t target_id) const {
  for (const auto& [id, chain] : chains_) {
    if (chain_member(chain, target_id) != nullptr) return true;
  }
  return false;
}

bool ChainTable::IsOffline(uint32_t target_id) const {
  for (const auto& [id, chain] : chains_) {
    const pb::ChainMember* m = chain_member(chain, target_id);
    if (m != nullptr && m->state() == pb::TARGET_STATE_OFFLINE) return true;
  }
  return false;
}

void ChainTable::Changed(pb::Chain& chain) {
  auto* members = chain.mutable_members();
  std::stable_sort(members->begin(), members->end(), [](const pb::ChainMember& a, const pb::ChainMember& b) {
    return state_rank(a.state()) < state_rank(b.state());
  });
  chain.set_version(chain.version() + 1);
}

std::vector<uint32_t> ChainTable::AddTarget(const TargetPlace& target, const std::vector<TargetPlace>& known) {
  std::map<uint32_t, const TargetPlace*> place_of;
  for (const auto& t : known) place_of[t.target_id] = &t;
  // A chain short of live members that has no member on the target's node takes it; among those, one
  // whose members have other labels first, then the lowest id.
  pb::Chain* best = nullptr;
  bool best_label_clash = true;
  for (auto& [id, chain] : chains_) {
    uint32_t live = 0;
    bool node_clash = false;
    bool label_clash = false;
    for (const auto& m : chain.members()) {
      if (m.state() != pb::TARGET_STATE_OFFLINE) ++live;
      auto place = place_of.find(m.target_id());
      if (place == place_of.end()) continue;
      node_clash |= place->second->node_id == target.node_id;
      label_clash |= !target.label.empty() && place->second->label == target.label;
    }
    if (live >= replication_ || node_clash) continue;
    if (best == nullptr || (best_label_clash && !label_clash)) {
      best = &chain;
      best_label_clash = label_clash;
    }
  }
  if (best != nullptr) {
    pb::ChainMember* m = best->add_members();
    m->set_target_id(target.target_id);
    // A chain with data to copy makes it SYNCING; one with no serving member cannot copy anything.
    m->set_state(serving_count(*best) > 0 ? pb::TARGET_STATE_SYNCING : pb::TARGET_STATE_SERVING);
    Changed(*best);
    return {best->chain_id()};
  }
  pb::Chain chain;
  chain.set_chain_id(chains_.empty() ? 1 : chains_.rbegin()->first + 1);
  chain.set_version(1);
  auto* head = chain.add_members();
  head->set_target_id(target.target_id);
  head->set_state(pb::TARGET_STATE_SERVING);
  if (replication_ > 1) {
    LOG_WARN << "chain " << chain.chain_id() << " starts with 1 of " << replication_ << " replicas (target "
             << target.target_id << "): it takes targets of the next nodes that join;"
             << " until then its data has fewer copies than the replication factor";
  }
  chains_[chain.chain_id()] = chain;
  return {chain.chain_id()};
}

std::vector<uint32_t> ChainTable::TargetDown(uint32_t target_id) {
  std::vector<uint32_t> changed;
  for (auto& [id, chain] : chains_) {
    pb::ChainMember* m = find_member(chain, target_id);
    if (m == nullptr || m->state() == pb::TARGET_STATE_OFFLINE) continue;
    if (m->state() == pb::TARGET_STATE_SERVING && serving_count(chain) == 1) {
      LOG_WARN << "chain " << id << ": its last serving target " << target_id
               << " is down; the chain is unavailable until it returns";
      continue;
    }
    m->set_state(pb::TARGET_STATE_OFFLINE);
    Changed(chain);
    changed.push_back(id);
  }
  return changed;
}

std::vector<uint32_t> ChainTable::TargetBack(uint32_t target_id) {
  std::vector<uint32_t> changed;
  for (auto& [id, chain] : chains_) {
    pb::ChainMember* m = find_member(chain, target_id);
    if (m == nullptr || m->state() == pb::TARGET_STATE_SYNCING) continue;
    if (m->state() == pb::TARGET_STATE_SERVING && serving_count(chain) == 1) continue;
    m->set_state(pb::TARGET_STATE_SYNCING);
    Changed(chain);
    changed.push_back(id);
  }
  return changed;
}

Result<pb::Chain*> ChainTable::ChainAt(uint32_t chain_id, uint64_t chain_version, std::string_view what) {
  auto it = chains_.find(chain_id);
  if (it == chains_.end()) return Error(Code::kNotFound, "no chain " + std::to_string(chain_id));
  if (it->second.version() != chain_version) {
    return Error(Code::kStaleRouting, "chain " + std::to_string(chain_id) + " is at version " +
                                          std::to_string(it->second.version()) + ", " + std::string(what) +
                                          " ran under " + std::to_string(chain_version));
  }
  return &it->second;
}

Result<std::vector<uint32_t>> ChainTable::SyncDone(uint32_t chain_id, uint64_t chain_version, uint32_t target_id) {
  ASSIGN_OR_RETURN(pb::Chain * found, ChainAt(chain_id, chain_version, "the resync"));
  pb::Chain& chain = *found;
  pb::ChainMember* m = find_member(chain, target_id);
  if (m == nullptr || m->state() != pb::TARGET_STATE_SYNCING) {
    return Error(Code::kStaleRouting,
                 "target " + std::to_string(target_id) + " is not syncing in chain " + std::to_string(chain_id));
  }
  // Only an up-to-date predecessor can have copied it everything.
  std::optional<uint32_t> from = chain_predecessor(chain, target_id);
  const pb::ChainMember* source = from ? chain_member(chain, *from) : nullptr;
  if (source == nullptr || source->state() != pb::TARGET_STATE_SERVING) {
    return Error(Code::kStaleRouting, "target " + std::to_string(target_id) + " in chain " + std::to_string(chain_id) +
                                          " follows a member that is not serving");
  }
  m->set_state(pb::TARGET_STATE_SERVING);
  Changed(chain);
  return std::vector<uint32_t>{chain_id};
}

Result<std::vector<uint32_t>> ChainTable::MissingData(uint32_t chain_id, uint64_t chain_version, uint32_t target_id) {
  ASSIGN_OR_RETURN(pb::Chain * chain, ChainAt(chain_id, chain_version, "the read"));
  pb::ChainMember* m = find_member(*chain, target_id);
  if (m == nullptr || m->state() != pb::TARGET_STATE_SERVING) {
    return Error(Code::kStaleRouting,
                 "target " + std::to_string(target_id) + " is not serving in chain " + std::to_string(chain_id));
  }
  if (serving_count(*chain) == 1) {
    return Error(Code::kNotPermitted, "target " + std::to_string(target_id) + " is the last serving replica of chain " +
                                          std::to_string(chain_id) + ": there is nobody to copy its data from");
  }
  m->set_state(pb::TARGET_STATE_SYNCING);
  Changed(*chain);
  return std::vector<uint32_t>{chain_id};
}

}  // namespace zcfs::meta
