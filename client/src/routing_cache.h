// The client's copy of the cluster routing table: the chains, and which storage node serves each
// target. Reads pick a SERVING replica of a chunk's chain, writes go to the chain's head.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs {

// Where one request for a chain goes.
struct Replica {
  uint32_t target_id = 0;
  std::string address;         // of the node serving the target
  uint64_t chain_version = 0;  // what a write carries
};

// Thread-safe.
class RoutingCache {
 public:
  // `label`: this client's failure domain; reads prefer replicas on nodes of the same label.
  explicit RoutingCache(std::string label = "") : label_(std::move(label)) {}

  void Update(const pb::RoutingTable& table);
  uint64_t version() const;

  // What ReadReplica does when every serving replica is one to avoid.
  enum class WhenAllAvoided {
    kPickAnyway,  // a retry: a replica that failed a moment ago may answer now
    kFail,        // a second opinion: only another replica will do (kNotFound)
  };
  // A replica serving reads of `chain_id`, not one of `avoid` (replicas that just failed, or already
  // answered); among those, the ones on nodes of this client's label when there are any. `spread`
  // (say, a hash of the chunk) picks among them, so the reads of a file spread over its replicas.
  // kStaleRouting when the table does not know the chain or it has no serving replica with a node.
  Result<Replica> ReadReplica(uint32_t chain_id, uint64_t spread, const std::vector<uint32_t>& avoid,
                              WhenAllAvoided when_all_avoided = WhenAllAvoided::kPickAnyway) const;
  // The chain's head and version, or kStaleRouting.
  Result<Replica> Head(uint32_t chain_id) const;

 private:
  Result<std::string> AddressOf(uint32_t target_id) const;      // caller holds mutex_
  Result<const pb::Chain*> FindChain(uint32_t chain_id) const;  // caller holds mutex_

  const std::string label_;
  mutable std::mutex mutex_;
  uint64_t version_ = 0;
  std::map<uint32_t, std::string> target_address_;
  std::map<uint32_t, std::string> target_label_;
  std::map<uint32_t, pb::Chain> chains_;
};

}  // namespace zcfs
