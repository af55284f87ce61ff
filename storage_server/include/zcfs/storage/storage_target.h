// StorageTarget: one target directory served by this node: its ChunkStore, its id as assigned by the
// meta server (persisted in `<path>/target_id`; 0 until the first registration), its uuid (written in
// `<path>/target_uuid` when the directory is first opened: a wiped directory gets a new one, and the
// meta server resyncs it) and its disk space.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "zcfs/common/status.h"
#include "zcfs/storage/chunk_store.h"

namespace zcfs {

// Thread-safe: the id may change (first registration) while requests read it.
class StorageTarget {
 public:
  // Creates `options.dir` if missing, opens its chunk store and reads its persisted id.
  static Result<std::unique_ptr<StorageTarget>> Open(ChunkStore::Options options, BlockIo& io);

  const std::string& path() const { return store_->dir(); }
  uint32_t id() const { return id_.load(); }
  const std::string& uuid() const { return uuid_; }
  // Adopts the id the meta server assigned, persisting it first when it changes.
  Status SetId(uint32_t id);
  ChunkStore& store() { return *store_; }

  struct Space {
    uint64_t capacity_bytes = 0;
    uint64_t used_bytes = 0;
  };
  // From statvfs of the file system holding the target.
  Result<Space> QuerySpace() const;

 private:
  StorageTarget(std::unique_ptr<ChunkStore> store, uint32_t id, std::string uuid)
      : store_(std::move(store)), id_(id), uuid_(std::move(uuid)) {}
  std::unique_ptr<ChunkStore> store_;
  std::atomic<uint32_t> id_;
  const std::string uuid_;
};

}  // namespace zcfs
