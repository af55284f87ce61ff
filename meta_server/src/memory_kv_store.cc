#include "zcfs/meta/memory_kv_store.h"

#include <mutex>

namespace zcfs::meta {

const char* column_name(Column column) {
  switch (column) {
    case Column::kInodes:
      return "inodes";
    case Column::kDentries:
      return "dentries";
    case Column::kSystem:
      return "system";
  }
  return "unknown";
}

Result<std::string> MemoryKvStore::Get(Column column, std::string_view key) const {
  std::shared_lock lock(mutex_);
  const auto& map = columns_[static_cast<size_t>(column)];
  auto it = map.find(key);
  if (it == map.end()) return Error(Code::kNotFound, "no key in " + std::string(column_name(column)));
  return it->second;
}

Status MemoryKvStore::Write(const WriteBatch& batch, Durability) {
  std::unique_lock lock(mutex_);
  if (fail_writes_) return Error(Code::kIoError, "memory store: injected write failure");
  for (const auto& op : batch.ops()) {
    auto& map = columns_[static_cast<size_t>(op.column)];
    if (op.is_delete) {
      map.erase(op.key);
    } else {
      map.insert_or_assign(op.key, op.value);
    }
  }
  return Status::Ok();
}

Result<std::vector<KeyValue>> MemoryKvStore::Scan(Column column, std::string_view prefix, std::string_view after,
                                                  size_t limit) const {
  std::shared_lock lock(mutex_);
  const auto& map = columns_[static_cast<size_t>(column)];
  auto it = after.empty() ? map.lower_bound(prefix) : map.upper_bound(after);
  std::vector<KeyValue> out;
  for (; it != map.end() && (limit == 0 || out.size() < limit); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) {
      // Keys before the prefix range (an `after` below it) are skipped; past it, the scan is done.
      if (it->first < prefix) continue;
      break;
    }
    out.emplace_back(it->first, it->second);
  }
  return out;
}

void MemoryKvStore::FailWrites(bool fail) {
  std::unique_lock lock(mutex_);
  fail_writes_ = fail;
}

}  // namespace zcfs::meta
