// SlotSpace: the data files of one target and which of their slots are free.
//
// Each size class has a series of data files `<dir>/<class>.<n>` (e.g. `4MiB.0000`), opened O_DIRECT
// and grown by preallocation (fallocate) in large steps, so a chunk write never allocates file
// system blocks and never meets ENOSPC halfway: the space is reserved before any data is written.
//
// A slot is in one of three states in memory: free, in use (committed or reserved by a write in
// progress), or retiring (freed by a commit, but a read that began earlier may still be reading
// it). Retiring slots become free once every read pinned before their retirement has ended (two
// epochs, as in RCU), so a slot is never overwritten under a reader. The persistent truth is the
// committed bitmaps in RocksDB (slot_bitmap.h): at open, exactly the committed slots are in use.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chunk_layout.h"
#include "chunk_meta_db.h"
#include "zcfs/common/status.h"
#include "zcfs/storage/block_io.h"

namespace zcfs::storage_internal {

// Thread-safe. File growth (fallocate + fsync) happens inside Allocate under the lock: it is rare
// (one step covers many slots) and every allocation of the class would have to wait for it anyway.
class SlotSpace {
 public:
  struct Options {
    std::string dir;                        // the data file directory
    bool direct_io = true;                  // O_DIRECT (tests on tmpfs may turn it off)
    uint64_t grow_bytes = 64ull << 20;      // a data file grows by this much (at least one slot) at a time
    uint64_t max_file_bytes = 64ull << 30;  // then the class continues in a new file
  };

  // Opens the existing data files and marks the committed slots in use. kCorruption when a committed
  // slot lies outside its data file (a data file was lost or cut).
  static Result<std::unique_ptr<SlotSpace>> Open(Options options, BlockIo& io, const std::vector<SlotGroup>& committed);
  ~SlotSpace();

  // The data file holding `slot` (which must have been handed out or committed) and the slot's byte
  // offset in it.
  int fd(SlotId slot) const { return fds_[slot.size_class][slot.file].load(std::memory_order_acquire); }
  static uint64_t offset(SlotId slot) { return uint64_t{slot.slot} * ClassSize(slot.size_class); }

  // Reserves a free slot of the class, growing or adding a data file when none is free.
  // kNoSpace when the disk cannot hold another step.
  Result<SlotId> Allocate(int size_class);
  // Frees a reservation that was never committed.
  void Cancel(SlotId slot);
  // Frees a slot that a commit gave up, once the reads that may still see it have ended.
  void Retire(SlotId slot);

  // Held by a read from before it looks up a chunk's record until it no longer touches its slot.
  class ReadPin {
   public:
    ReadPin() = default;
    ReadPin(ReadPin&& other) noexcept : space_(std::exchange(other.space_, nullptr)), parity_(other.parity_) {}
    ReadPin& operator=(ReadPin&&) = delete;
    ~ReadPin();

   private:
    friend class SlotSpace;
    ReadPin(SlotSpace* space, int parity) : space_(space), parity_(parity) {}
    SlotSpace* space_ = nullptr;
    int parity_ = 0;
  };
  ReadPin PinForRead();

  struct ClassStats {
    uint64_t slots = 0;  // in the data files
    uint64_t used = 0;   // committed or reserved
  };
  struct Stats {
    std::array<ClassStats, kNumClasses> classes;
    size_t files = 0;
    size_t retiring = 0;
  };
  Stats stats() const;

 private:
  static constexpr uint32_t kMaxFilesPerClass = 1024;
  struct DataFile {
    uint32_t slots = 0;
    std::vector<uint64_t> used;  // bit per slot
    uint32_t used_count = 0;
    uint32_t hint = 0;  // no free slot below this word
  };

  SlotSpace(Options options, BlockIo& io);
  Status OpenFiles();
  Status MarkCommitted(const std::vector<SlotGroup>& committed);
  std::string FilePath(int size_class, uint32_t file) const;
  // Adds slots to the class: grows its last file, or starts a new one. Caller holds mutex_.
  Status Grow(int size_class);
  Status ResizeFile(int size_class, uint32_t file, uint64_t bytes);
  void MarkFree(SlotId slot);  // caller holds mutex_
  void Unpin(int parity);
  void AdvanceEpochs();  // caller holds mutex_

  Options options_;
  BlockIo& io_;
  std::array<std::unique_ptr<std::atomic<int>[]>, kNumClasses> fds_;
  mutable std::mutex mutex_;
  std::array<std::vector<DataFile>, kNumClasses> files_;
  uint64_t epoch_ = 0;
  std::array<uint64_t, 2> readers_{};
  std::array<std::vector<SlotId>, 2> retiring_;
};

}  // namespace zcfs::storage_internal
