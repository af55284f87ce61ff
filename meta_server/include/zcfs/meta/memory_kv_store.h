// MemoryKvStore: a KvStore held in std::maps, for unit tests. Nothing survives the object, but the
// same object can be handed to a new MetaOperator to simulate a restart. Thread-safe (one
// reader-writer lock; a batch is applied under the writer lock, hence atomically).
#pragma once

#include <array>
#include <map>
#include <shared_mutex>

#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

class MemoryKvStore final : public KvStore {
 public:
  Result<std::string> Get(Column column, std::string_view key) const override;
  Status Write(const WriteBatch& batch, Durability durability = Durability::kSynced) override;
  Status Sync() override { return Status::Ok(); }
  Result<std::vector<KeyValue>> Scan(Column column, std::string_view prefix, std::string_view after,
                                     size_t limit) const override;

  // Makes every later Write fail with kIoError (nothing applied), to test error paths.
  void FailWrites(bool fail);

 private:
  mutable std::shared_mutex mutex_;
  std::array<std::map<std::string, std::string, std::less<>>, kColumnCount> columns_;
  bool fail_writes_ = false;
};

}  // namespace zcfs::meta
