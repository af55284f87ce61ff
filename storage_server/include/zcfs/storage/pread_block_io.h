// PreadBlockIo: BlockIo with plain synchronous pread/pwrite/fdatasync, for logic tests. Operations run
// inline on the calling thread; errors can be injected.
#pragma once

#include <atomic>

#include "zcfs/storage/block_io.h"

namespace zcfs {

// Thread-safe.
class PreadBlockIo : public BlockIo {
 public:
  IoBuffer AcquireBuffer(size_t size) override;
  Task<Result<size_t>> Read(int fd, uint64_t offset, std::span<std::byte> dst) override;
  Task<Result<size_t>> Write(int fd, uint64_t offset, std::span<const std::byte> src) override;
  Task<Status> Sync(int fd) override;

  // Makes every later Write (and Sync) fail with this errno (0 turns injection off).
  void FailWritesWith(int err) { write_errno_ = err; }

 private:
  std::atomic<int> write_errno_{0};
};

}  // namespace zcfs
