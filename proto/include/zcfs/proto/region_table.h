// RegionTable: registered memory regions by id, with bounds-checked lookup. Ids are never reused,
// so a stale id fails cleanly instead of aliasing new memory. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <span>

#include "zcfs/proto/transport.h"

namespace zcfs {

class RegionTable {
 public:
  Result<RegionHandle> Add(void* addr, size_t length, uint32_t rkey = 0);
  Status Remove(uint64_t region_id);
  Result<std::span<std::byte>> Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, RegionHandle> regions_;
};

}  // namespace zcfs
