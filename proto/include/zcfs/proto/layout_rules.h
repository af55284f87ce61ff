// The rules every component applies to a file's layout and to chains: the one home of each, so the
// meta server, the storage servers and the clients cannot disagree. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs {

// The chunk sizes a layout may have: a power of two in [kMinChunkSize, kMaxChunkSize].
inline constexpr uint32_t kMinChunkSize = 64u << 10;
inline constexpr uint32_t kMaxChunkSize = 64u << 20;
Status validate_chunk_size(uint64_t chunk_size);

// The chain storing chunk `chunk_index` of a file whose layout names `chains` (non-empty).
uint32_t chain_of_chunk(const std::vector<uint32_t>& chains, uint64_t chunk_index);

// Members that serve reads: SERVING ones.
bool serves_reads(pb::TargetState state);
// Members that receive writes: SERVING and SYNCING ones.
bool receives_writes(pb::TargetState state);

// The chain's head (its first member, when that member serves), or nullopt when no member serves.
std::optional<uint32_t> chain_head(const pb::Chain& chain);
// The member after `target_id` that receives writes (the next hop of a write), or nullopt at the end.
std::optional<pb::ChainMember> chain_successor(const pb::Chain& chain, uint32_t target_id);
// The member before `target_id` that receives writes (its resync source), or nullopt at the head.
std::optional<uint32_t> chain_predecessor(const pb::Chain& chain, uint32_t target_id);
// `target_id`'s entry in the chain, or nullptr.
const pb::ChainMember* chain_member(const pb::Chain& chain, uint32_t target_id);
// The members that serve reads, in chain order.
std::vector<uint32_t> readable_members(const pb::Chain& chain);

}  // namespace zcfs
