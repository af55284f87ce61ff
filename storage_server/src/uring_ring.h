// UringRing: one io_uring driven by one serial executor (a single-threaded io_context's, or a strand).
// UringBlockIo (uring_block_io.h) owns one per I/O thread and routes each operation to a ring; this
// file is the ring itself: queueing, batched submission, completion reaping, retries.
//
// Threading: everything that touches the submission or completion queue runs on the ring's executor,
// one handler at a time, so the ring needs no lock. The file-table and buffer registration calls are
// io_uring_register(2) syscalls that the kernel serializes against submission; they may come from
// any thread.
//
// Batching: Start() only fills an SQE. The first SQE queued after a submit posts one Flush() to the
// executor, so every SQE queued by the handlers that run before it (e.g. the piece reads of a batch,
// or the coroutines resumed by one round of completions) goes to the kernel in one io_uring_submit.
// A full SQ is submitted at once.
//
// Completions: the ring signals an eventfd that an asio stream_descriptor on the ring's executor
// watches; its handler reaps every CQE and completes the waiters (AnyHandler posts to the waiter's
// executor: for a waiter on the ring's own thread that is a local queue push, no wake-up).
// At most `cq_entries` operations are in the kernel at once, so the CQ never overflows; more wait in
// a backlog and are queued as completions free room.
#pragma once

#include <liburing.h>

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "zcfs/common/status.h"
#include "zcfs/proto/any_handler.h"
#include "zcfs/proto/asio.h"

namespace zcfs::uring {

// State of one request, pointed at by its SQE's user_data until it completes.
struct Op {
  enum class Kind { kRead, kWrite, kSync };
  Kind kind = Kind::kRead;
  int fd = -1;
  int file_slot = -1;  // index in the rings' registered file tables (IOSQE_FIXED_FILE), or -1
  uint64_t offset = 0;
  std::byte* buf = nullptr;
  size_t len = 0;
  size_t done = 0;
  int fixed_index = -1;  // registered buffer holding buf, or -1
  int retries = 0;
  bool foreign = false;  // the waiter runs on another executor than the ring's (its wake-up crosses threads)
  AnyHandler<Result<size_t>> handler;
};

// Counters of one ring. Written only on the ring's executor, read from anywhere.
struct RingCounters {
  uint64_t sqes = 0;                 // SQEs prepared (first submissions and resubmissions)
  uint64_t submits = 0;              // io_uring_submit calls that had SQEs to hand over
  uint64_t fixed_ops = 0;            // READ_FIXED / WRITE_FIXED SQEs
  uint64_t plain_ops = 0;            // READ / WRITE SQEs
  uint64_t fixed_file_ops = 0;       // SQEs on a registered file (IOSQE_FIXED_FILE)
  uint64_t resubmits = 0;            // -EAGAIN retries and short-transfer continuations
  uint64_t foreign_completions = 0;  // operations whose waiter lives on another executor
  uint64_t backlogged = 0;           // operations that waited for room in the ring
};

class Ring : public std::enable_shared_from_this<Ring> {
 public:
  struct Config {
    unsigned queue_depth = 256;
    int max_retries = 10000;  // -EAGAIN storms end as an error instead of spinning forever
  };

  // `executor` must run one handler at a time; `running_here` says whether the calling thread is
  // inside it now (the check for starting an operation directly instead of posting it).
  static Result<std::shared_ptr<Ring>> Create(asio::any_io_executor executor, std::function<bool()> running_here,
                                              Config config);
  // Requires that no operation is in flight (those still in flight are waited for and failed).
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Setup, before the first operation. Registers the pool's buffers; when `share_from` already has
  // them registered, they are cloned from it instead (IORING_REGISTER_CLONE_BUFFERS: no second
  // pinning or RLIMIT_MEMLOCK charge), falling back to a registration of their own on older kernels.
  Status RegisterBuffers(std::span<const iovec> buffers, const Ring* share_from);
  bool buffers_registered() const { return buffers_registered_; }
  bool buffers_cloned() const { return buffers_cloned_; }
  // A sparse table of `slots` registered files (all empty).
  Status RegisterFileTable(unsigned slots);
  // Puts `fd` (or -1: empties it) in table slot `slot`. Any thread.
  Status UpdateFileSlot(unsigned slot, int fd);
  // Starts reaping completions. Call once, after the registrations.
  void StartWatching();
  // Stops reaping (a reap handler already running finishes). Any thread; idempotent.
  void Shutdown();

  const asio::any_io_executor& executor() const { return executor_; }
  bool RunningHere() const { return running_here_(); }

  // Queues `op` (which the ring now owns until its handler is completed). Only on the executor.
  void Start(Op* op);
  // Start() from any thread: posts it to the executor.
  void Post(Op* op);

  RingCounters counters() const;
  // Test hook: the next `completions` successful completions are taken as -EAGAIN (the request is
  // redone: positional reads and writes are idempotent). Any thread.
  void InjectEagain(int completions) { inject_eagain_.store(completions, std::memory_order_relaxed); }

 private:
  Ring(asio::any_io_executor executor, std::function<bool()> running_here, Config config);
  Status Init();
  bool TryQueue(Op* op);
  void Prepare(io_uring_sqe* sqe, Op* op);
  void ScheduleFlush();
  void Flush();
  void SubmitNow();
  void ArmWatcher();
  void OnEventfd(const boost::system::error_code& ec);
  void Reap();
  void DrainBacklog();
  void OnCompletion(Op* op, int res);
  void Resubmit(Op* op);
  void Complete(Op* op, Result<size_t> result);
  void DrainInFlight();
  static std::string OpName(const Op* op);
  static void Bump(std::atomic<uint64_t>& counter) {  // single writer: no atomic read-modify-write
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  asio::any_io_executor executor_;
  std::function<bool()> running_here_;
  Config config_;
  io_uring ring_{};
  bool ring_ready_ = false;
  unsigned cq_entries_ = 0;
  int efd_ = -1;
  uint64_t efd_value_ = 0;
  asio::posix::stream_descriptor watcher_;
  std::mutex watcher_mutex_;  // the watcher vs Shutdown() from another thread; taken once per wake-up
  bool closing_ = false;
  bool buffers_registered_ = false;
  bool buffers_cloned_ = false;

  // Executor-only state.
  bool flush_pending_ = false;
  size_t in_kernel_ = 0;              // ops with a prepared SQE whose CQE is not reaped yet
  std::deque<Op*> backlog_;           // ops waiting for room (in_kernel_ == cq_entries_, or no free SQE)
  std::atomic<size_t> in_flight_{0};  // started and not completed (for the destructor's check)
  std::atomic<int> inject_eagain_{0};

  std::atomic<uint64_t> sqes_{0}, submits_{0}, fixed_ops_{0}, plain_ops_{0}, fixed_file_ops_{0}, resubmits_{0},
      foreign_completions_{0}, backlogged_{0};
};

}  // namespace zcfs::uring
