// UringBlockIo: BlockIo on io_uring, one ring per I/O thread.
//
// Rings: created on an IoContextPool, it gives each context (each I/O thread) a ring of its own,
// driven only by that thread: an operation started on a pool thread goes to that thread's ring
// without a lock, and its completion is reaped and resumed on that same thread, with no wake-up of
// another thread. An operation started elsewhere (a test's thread, startup code, another io_context)
// is posted to a ring chosen round-robin and its waiter is woken on its own executor.
// Created on a plain executor instead (tests, tools), it has a single ring on a strand of it.
//
// Submission is batched: an operation fills an SQE, and one flush posted to the ring's thread submits
// every SQE queued until it runs (see src/uring_ring.h). Completion: each ring signals an eventfd
// that an asio descriptor on its thread watches. Errors: negative res becomes a Status;
// -EAGAIN/-EINTR are resubmitted; short transfers are continued for the remainder, except a read
// that ends off a block boundary or returns 0 (the end of the file).
//
// Fixed buffers: ONE pool of aligned buffers for all rings, registered in every ring with the same
// index table (cloned from the first ring where the kernel can, so the memory is pinned and charged
// once). One pool rather than one per ring because a buffer is not tied to a thread: a write's
// payload buffer or a read buffer acquired outside a pool thread may be used by any ring, and a
// pool per ring would multiply the memory by the thread count while leaving some rings' pools idle.
// I/O whose memory lies inside a pool buffer uses READ_FIXED/WRITE_FIXED, any other memory plain
// READ/WRITE. When the pool is empty AcquireBuffer() allocates, so callers never wait for a buffer.
//
// Fixed files: RegisterFile(fd) puts the fd in the same slot of every ring's sparse file table;
// operations on it then use IOSQE_FIXED_FILE (no per-operation file lookup and reference). The
// fd -> slot map is read without a lock. Unregistered fds use the plain path.
#pragma once

#include <memory>

#include "zcfs/proto/io_threads.h"
#include "zcfs/storage/block_io.h"

namespace zcfs {

class UringBlockIo : public BlockIo {
 public:
  struct Options {
    unsigned queue_depth = 256;  // SQ entries per ring (the CQ has 4x)
    size_t buffer_count = 32;
    size_t buffer_size = (4u << 20) + (8u << 10);  // a 4 MiB chunk widened by a block at each end
    unsigned registered_files = 256;               // slots in each ring's file table (capped by RLIMIT_NOFILE)
    int max_retries = 10000;                       // -EAGAIN/-EINTR retries of one request before it fails
  };

  // One ring per context of `pool`, each driven by its thread. The pool must outlive this object
  // and keep running while operations are in flight. If the kernel refuses the buffer registration
  // (e.g. RLIMIT_MEMLOCK), the pool is used unregistered; if it has no sparse file tables,
  // RegisterFile() fails (and operations use the plain path).
  static Result<std::unique_ptr<UringBlockIo>> Create(IoContextPool& pool, Options options);
  // One ring, on a strand of `executor` (which may be multi-threaded).
  static Result<std::unique_ptr<UringBlockIo>> Create(asio::any_io_executor executor, Options options);
  // Requires that no operation is in flight (operations still in flight are waited for and failed).
  ~UringBlockIo() override;

  IoBuffer AcquireBuffer(size_t size) override;
  Task<Result<size_t>> Read(int fd, uint64_t offset, std::span<std::byte> dst) override;
  Task<Result<size_t>> Write(int fd, uint64_t offset, std::span<const std::byte> src) override;
  Task<Status> Sync(int fd) override;
  // Thread-safe. Fails for an invalid fd, an fd >= 65536, a full table (kResourceExhausted) or a
  // kernel without sparse file tables (kNotSupported); the fd then keeps using the plain path.
  Status RegisterFile(int fd) override;
  void UnregisterFile(int fd) override;

  struct Stats {
    uint64_t sqes = 0;                 // SQEs handed to the kernel (operations, resubmissions included)
    uint64_t submits = 0;              // io_uring_submit calls: fewer than sqes when submissions are batched
    uint64_t fixed_ops = 0;            // READ_FIXED / WRITE_FIXED SQEs
    uint64_t plain_ops = 0;            // READ / WRITE SQEs (memory outside the registered pool)
    uint64_t fixed_file_ops = 0;       // SQEs on a registered file
    uint64_t resubmits = 0;            // -EAGAIN retries and short-transfer continuations
    uint64_t foreign_completions = 0;  // operations whose waiter ran on another executor than the ring
    uint64_t backlogged = 0;           // operations that waited for room in a full ring
    uint64_t pool_fallbacks = 0;
    size_t registered_files = 0;
    bool buffers_registered = false;  // in every ring
    bool buffers_cloned = false;      // every ring after the first shares the first's registration
  };
  // Totals over all rings.
  Stats stats() const;
  // One ring's counters (the pool-wide fields are filled as in stats()).
  Stats ring_stats(size_t ring) const;
  size_t ring_count() const;
  const BufferPool& pool() const;

  // Test hook: in every ring, the next `completions` successful completions are taken as -EAGAIN
  // (the kernel rarely returns it to order), to exercise the resubmission path.
  void InjectEagainForTesting(int completions);

  class Impl;

 private:
  explicit UringBlockIo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zcfs
