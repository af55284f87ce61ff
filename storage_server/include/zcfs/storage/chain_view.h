// ChainView: what a storage node knows of the cluster: the routing table it last fetched from the
// meta server (its chains, and where every target is served) and its own lease.
//
// The lease fences a node cut off from the meta server: the meta server takes a node out of its
// chains after `lease` of silence, so a node whose last heartbeat was answered more than half a
// lease ago may already be out, and it stops serving chain reads and writes (kStaleRouting) until a
// heartbeat gets through again and brings the current chains.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs {

class ChainView {
 public:
  using Clock = std::chrono::steady_clock;

  // Adopts `table` unless it is older than the one held.
  void Update(pb::RoutingTable table);
  uint64_t version() const;
  // The chain as the held table has it (shared with that table, so no copy: every read piece asks),
  // or kStaleRouting when the table does not know it.
  Result<std::shared_ptr<const pb::Chain>> Chain(uint32_t chain_id) const;
  std::vector<pb::Chain> Chains() const;
  // Where `target_id` is served (host:port), or kStaleRouting.
  Result<std::string> AddressOf(uint32_t target_id) const;

  // A heartbeat was answered at `at`, granting `lease`.
  void LeaseRenewed(Clock::time_point at, std::chrono::milliseconds lease);
  // Ok while the last answered heartbeat is within half a lease; kStaleRouting ("fenced") otherwise.
  Status CheckLease() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const pb::RoutingTable> table_ = std::make_shared<pb::RoutingTable>();
  std::optional<Clock::time_point> renewed_;
  std::chrono::milliseconds lease_{0};
};

}  // namespace zcfs
