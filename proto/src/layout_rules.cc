#include "zcfs/proto/layout_rules.h"

#include <bit>

namespace zcfs {

Status validate_chunk_size(uint64_t chunk_size) {
  if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize || !std::has_single_bit(chunk_size)) {
    return Error(Code::kInvalidArgument,
                 "chunk size " + std::to_string(chunk_size) + " is not a power of two between 64 KiB and 64 MiB");
  }
  return Status::Ok();
}

uint32_t chain_of_chunk(const std::vector<uint32_t>& chains, uint64_t chunk_index) {
  return chains[chunk_index % chains.size()];
}

bool serves_reads(pb::TargetState state) { return state == pb::TARGET_STATE_SERVING; }

bool receives_writes(pb::TargetState state) {
  return state == pb::TARGET_STATE_SERVING || state == pb::TARGET_STATE_SYNCING;
}

std::optional<uint32_t> chain_head(const pb::Chain& chain) {
  if (chain.members().empty() || !serves_reads(chain.members(0).state())) return std::nullopt;
  return chain.members(0).target_id();
}

const pb::ChainMember* chain_member(const pb::Chain& chain, uint32_t target_id) {
  for (const auto& m : chain.members()) {
    if (m.target_id() == target_id) return &m;
  }
  return nullptr;
}

std::optional<pb::ChainMember> chain_successor(const pb::Chain& chain, uint32_t target_id) {
  bool after = false;
  for (const auto& m : chain.members()) {
    if (after && receives_writes(m.state())) return m;
    if (m.target_id() == target_id) after = true;
  }
  return std::nullopt;
}

std::optional<uint32_t> chain_predecessor(const pb::Chain& chain, uint32_t target_id) {
  std::optional<uint32_t> before;
  for (const auto& m : chain.members()) {
    if (m.target_id() == target_id) return before;
    if (receives_writes(m.state())) before = m.target_id();
  }
  return std::nullopt;
}

std::vector<uint32_t> readable_members(const pb::Chain& chain) {
  std::vector<uint32_t> out;
  for (const auto& m : chain.members()) {
    if (serves_reads(m.state())) out.push_back(m.target_id());
  }
  return out;
}

}  // namespace zcfs
