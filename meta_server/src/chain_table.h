// ChainTable: the cluster manager's chains (chain replication, as in 3FS's CRAQ chains), as pure
// logic over an in-memory table. NodeRegistry owns it, feeds it the nodes' comings and goings and
// persists what it changes.
//
// A chain is an ordered list of targets on distinct storage nodes (and distinct labels when there
// are enough). A target belongs to one chain, as in 3FS: everything a target stores is its chain's,
// so a resync copies a target whole. A node brings as many chains as it has targets (several target
// directories per disk spread the heads). Members are kept in the order writes flow: SERVING, then
// SYNCING, then OFFLINE (layout_rules.h). Every change bumps the chain's version. A member's states:
//
//   SERVING --node misses its lease--> OFFLINE --node heartbeats again--> SYNCING --predecessor
//   copied it everything (SyncDone)--> SERVING
//   SERVING --node restarted (new incarnation), target wiped, or a reader found it lacking data
//   another member holds (MissingData)--> SYNCING
//
// The last SERVING member of a chain never leaves SERVING: nobody else holds its data, so the chain
// waits for it (reads and writes of the chain fail until it is back) instead of promoting a member
// that is behind. A target drained by an operator is OFFLINE and stays so until it is put back.
//
// Not thread-safe: NodeRegistry calls it under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs::meta {

struct TargetPlace {
  uint32_t target_id = 0;
  uint32_t node_id = 0;
  std::string label;  // failure domain; "" when the node has none
};

class ChainTable {
 public:
  explicit ChainTable(uint32_t replication) : replication_(replication) {}

  void Load(std::vector<pb::Chain> chains);
  const std::map<uint32_t, pb::Chain>& chains() const { return chains_; }
  uint32_t replication() const { return replication_; }
  bool Contains(uint32_t target_id) const;

  // A target seen for the first time. A chain short of live (not OFFLINE) members with no member on
  // its node takes it, as SYNCING when the chain has data to copy to it; else it heads a new chain of
  // its own, which the targets of the next nodes fill. `known` places the other targets (node,
  // label). Returns the changed chain.
  std::vector<uint32_t> AddTarget(const TargetPlace& target, const std::vector<TargetPlace>& known);
  // Its node missed its lease, or an operator drained it: SERVING/SYNCING -> OFFLINE (but see the
  // last-serving rule above).
  std::vector<uint32_t> TargetDown(uint32_t target_id);
  // Back after TargetDown, or restarted/wiped while SERVING: it must be resynced -> SYNCING. A member
  // that is its chain's only SERVING one stays SERVING (there is nobody to copy from).
  std::vector<uint32_t> TargetBack(uint32_t target_id);
  // The predecessor finished copying to `target_id` under `chain_version`: SYNCING -> SERVING. A chain
  // that changed since (another version) refuses: the resync ran against an old chain; so does a
  // target whose predecessor is not SERVING itself (it had no complete copy to give).
  Result<std::vector<uint32_t>> SyncDone(uint32_t chain_id, uint64_t chain_version, uint32_t target_id);
  // A reader found the SERVING member `target_id` lacking data another member holds, under
  // `chain_version`: it lost data -> SYNCING, so its predecessor copies it everything again. Refused
  // when the chain moved on since (someone reported it first, or it changed anyway), when the target
  // is not SERVING there, and for the chain's last SERVING member (kNotPermitted).
  Result<std::vector<uint32_t>> MissingData(uint32_t chain_id, uint64_t chain_version, uint32_t target_id);
  // Whether `target_id` is OFFLINE in some chain.
  bool IsOffline(uint32_t target_id) const;

 private:
  // The chain, if it is at `chain_version` (else kStaleRouting: `what` ran against an old one).
  Result<pb::Chain*> ChainAt(uint32_t chain_id, uint64_t chain_version, std::string_view what);
  // Puts members in write order (SERVING, SYNCING, OFFLINE; stable) and bumps the version.
  static void Changed(pb::Chain& chain);

  uint32_t replication_;
  std::map<uint32_t, pb::Chain> chains_;
};

}  // namespace zcfs::meta
