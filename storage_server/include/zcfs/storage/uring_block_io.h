// UringBlockIo: BlockIo on one io_uring.
//
// Submission: one ring shared by all threads, its submission side guarded by a mutex (future work:
// one ring per io thread, which removes the lock and keeps completions on the submitting thread).
// Completion: the ring signals an eventfd (io_uring_register_eventfd) that an
// asio::posix::stream_descriptor watches; its handler reaps every CQE and completes the awaiting
// coroutines on their own executors. Each SQE's user_data points at its request's state.
// Errors: negative res becomes a Status; -EAGAIN/-EINTR are resubmitted; short transfers are
// continued for the remainder, except a read that ends off a block boundary or returns 0 (the end of
// the file).
// Fixed buffers: a pool of aligned buffers is registered with io_uring_register_buffers; I/O whose
// memory lies inside one of them uses READ_FIXED/WRITE_FIXED, any other memory plain READ/WRITE. When
// the pool is empty AcquireBuffer() allocates, so callers never wait for a buffer.
#pragma once

#include <memory>

#include "zcfs/storage/block_io.h"

namespace zcfs {

class UringBlockIo : public BlockIo {
 public:
  struct Options {
    unsigned queue_depth = 256;
    size_t buffer_count = 32;
    size_t buffer_size = (4u << 20) + (8u << 10);  // a 4 MiB chunk widened by a block at each end
  };

  // Sets up the ring, registers the buffers and starts watching completions on `executor`. If the
  // kernel refuses the buffer registration (e.g. RLIMIT_MEMLOCK), the pool is used unregistered.
  static Result<std::unique_ptr<UringBlockIo>> Create(asio::any_io_executor executor, Options options);
  // Requires that no operation is in flight (operations still in flight are waited for and failed).
  ~UringBlockIo() override;

  IoBuffer AcquireBuffer(size_t size) override;
  Task<Result<size_t>> Read(int fd, uint64_t offset, std::span<std::byte> dst) override;
  Task<Result<size_t>> Write(int fd, uint64_t offset, std::span<const std::byte> src) override;
  Task<Status> Sync(int fd) override;

  struct Stats {
    uint64_t fixed_ops = 0;  // READ_FIXED / WRITE_FIXED submissions
    uint64_t plain_ops = 0;  // READ / WRITE submissions (memory outside the registered pool)
    uint64_t resubmits = 0;  // -EAGAIN retries and short-transfer continuations
    uint64_t pool_fallbacks = 0;
    bool buffers_registered = false;
  };
  Stats stats() const;
  const BufferPool& pool() const;

  class Impl;

 private:
  explicit UringBlockIo(std::shared_ptr<Impl> impl);
  // Shared with the completion watcher, which may still be running when this object is destroyed.
  std::shared_ptr<Impl> impl_;
};

}  // namespace zcfs
