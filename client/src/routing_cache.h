// The client's copy of the cluster routing table: which storage node serves each target.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs {

// Thread-safe.
class RoutingCache {
 public:
  void Update(const pb::RoutingTable& table);
  // The address of the node serving `target_id`; kStaleRouting when the table does not know it.
  Result<std::string> AddressOf(uint32_t target_id) const;
  uint64_t version() const;

 private:
  mutable std::mutex mutex_;
  uint64_t version_ = 0;
  std::map<uint32_t, std::string> target_address_;
};

}  // namespace zcfs
