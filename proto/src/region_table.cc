#include "zcfs/proto/region_table.h"

namespace zcfs {

Result<RegionHandle> RegionTable::Add(void* addr, size_t length, uint32_t rkey) {
  if (addr == nullptr || length == 0) return Error(Code::kInvalidArgument, "cannot register an empty memory range");
  std::lock_guard lock(mutex_);
  RegionHandle handle{next_id_++, static_cast<std::byte*>(addr), length, rkey};
  regions_[handle.id] = handle;
  return handle;
}

Status RegionTable::Remove(uint64_t region_id) {
  std::lock_guard lock(mutex_);
  if (regions_.erase(region_id) == 0) {
    return Error(Code::kBadHandle, "memory region " + std::to_string(region_id) + " is not registered");
  }
  return Status::Ok();
}

Result<std::span<std::byte>> RegionTable::Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const {
  std::lock_guard lock(mutex_);
  auto it = regions_.find(region_id);
  if (it == regions_.end()) {
    return Error(Code::kBadHandle, "memory region " + std::to_string(region_id) + " is not registered");
  }
  const RegionHandle& r = it->second;
  if (offset > r.length || length > r.length - offset) {
    return Error(Code::kOutOfRange, "range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                                        ") is outside region " + std::to_string(region_id) + " of " +
                                        std::to_string(r.length) + " bytes");
  }
  return std::span<std::byte>(r.addr + offset, length);
}

size_t RegionTable::size() const {
  std::lock_guard lock(mutex_);
  return regions_.size();
}

}  // namespace zcfs
