// PreadBlockIo: BlockIo with plain synchronous pread/pwrite/fdatasync, for logic tests. Operations run
// inline on the calling thread; errors can be injected. File registration only keeps a set of the
// registered fds, so tests can check that registrations and unregistrations pair up.
#pragma once

#include <atomic>
#include <mutex>
#include <set>

#include "zcfs/storage/block_io.h"

namespace zcfs {

// Thread-safe.
class PreadBlockIo : public BlockIo {
 public:
  IoBuffer AcquireBuffer(size_t size) override;
  Task<Result<size_t>> Read(int fd, uint64_t offset, std::span<std::byte> dst) override;
  Task<Result<size_t>> Write(int fd, uint64_t offset, std::span<const std::byte> src) override;
  Task<Status> Sync(int fd) override;
  // Fails with kBadHandle for an fd that is not open.
  Status RegisterFile(int fd) override;
  void UnregisterFile(int fd) override;

  // The fds registered now.
  std::set<int> registered_files() const;

  // Makes every later Write (and Sync) fail with this errno (0 turns injection off).
  void FailWritesWith(int err) { write_errno_ = err; }

 private:
  std::atomic<int> write_errno_{0};
  mutable std::mutex mutex_;
  std::set<int> registered_;
};

}  // namespace zcfs
