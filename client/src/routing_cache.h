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
  void Update(const pb::RoutingTable& table);
  uint64_t version() const;

  // A replica serving reads of `chain_id`, not one of `avoid` (replicas that just failed) unless no
  // other serves. `spread` (say, a hash of the chunk) picks among the serving ones, so the reads of a
  // file spread over all its replicas. kStaleRouting when the table does not know the chain or it has
  // no serving replica with a node.
  Result<Replica> ReadReplica(uint32_t chain_id, uint64_t spread, const std::vector<uint32_t>& avoid) const;
  // The chain's head and version, or kStaleRouting.
  Result<Replica> Head(uint32_t chain_id) const;

 private:
  Result<std::string> AddressOf(uint32_t target_id) const;   // caller holds mutex_
  Result<const pb::Chain*> FindChain(uint32_t chain_id) const;  // caller holds mutex_

  mutable std::mutex mutex_;
  uint64_t version_ = 0;
  std::map<uint32_t, std::string> target_address_;
  std::map<uint32_t, pb::Chain> chains_;
};

}  // namespace zcfs
