#include "uring_ring.h"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zcfs/common/logging.h"
#include "zcfs/storage/io_buffer.h"

namespace zcfs::uring {

namespace {

// IORING_REGISTER_CLONE_BUFFERS (Linux 6.12+); liburing 2.3 has no wrapper, so the raw syscall.
constexpr unsigned kRegisterCloneBuffers = 30;
struct CloneBuffersArg {
  uint32_t src_fd = 0;
  uint32_t flags = 0;
  uint32_t src_off = 0;  // 0, 0, 0: the whole table (6.13+; 6.12 has padding here, which must be 0)
  uint32_t dst_off = 0;
  uint32_t nr = 0;
  uint32_t pad[3] = {};
};

bool IsTransient(int err) { return err == EAGAIN || err == EBUSY || err == EINTR; }

}  // namespace

Ring::Ring(asio::any_io_executor executor, std::function<bool()> running_here, Config config)
    : executor_(std::move(executor)), running_here_(std::move(running_here)), config_(config), watcher_(executor_) {}

Result<std::shared_ptr<Ring>> Ring::Create(asio::any_io_executor executor, std::function<bool()> running_here,
                                           Config config) {
  if (config.queue_depth == 0) return Error(Code::kInvalidArgument, "io_uring queue depth must be > 0");
  std::shared_ptr<Ring> ring(new Ring(std::move(executor), std::move(running_here), config));
  RETURN_IF_ERROR(ring->Init());
  return ring;
}

Status Ring::Init() {
  io_uring_params params{};
  // The completion queue is larger than the submission queue: a burst of submissions must not
  // overflow it. COOP_TASKRUN: completion work runs when this ring's thread next enters the kernel
  // (it does so constantly: epoll, send, submit) instead of interrupting it with an IPI.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
  params.cq_entries = config_.queue_depth * 4;
  int ret = io_uring_queue_init_params(config_.queue_depth, &ring_, &params);
  if (ret == -EINVAL) {  // kernels before 5.19 have no COOP_TASKRUN
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = config_.queue_depth * 4;
    ret = io_uring_queue_init_params(config_.queue_depth, &ring_, &params);
  }
  if (ret < 0) return Status::FromErrno(-ret, "io_uring_queue_init");
  ring_ready_ = true;
  cq_entries_ = params.cq_entries;
  efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd_ < 0) return Status::FromErrno(errno, "eventfd");
  ret = io_uring_register_eventfd(&ring_, efd_);
  if (ret < 0) return Status::FromErrno(-ret, "io_uring_register_eventfd");
  // The watcher gets its own descriptor: closing it (Shutdown) must not unhook the ring's eventfd.
  int watched = ::fcntl(efd_, F_DUPFD_CLOEXEC, 0);
  if (watched < 0) return Status::FromErrno(errno, "dup eventfd");
  boost::system::error_code ec;
  watcher_.assign(watched, ec);
  if (ec) {
    ::close(watched);
    return Error(Code::kInternal, "watch eventfd: " + ec.message());
  }
  return Status::Ok();
}

Ring::~Ring() {
  DrainInFlight();
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (efd_ >= 0) ::close(efd_);
}

Status Ring::RegisterBuffers(std::span<const iovec> buffers, const Ring* share_from) {
  if (buffers.empty()) return Status::Ok();
  if (share_from != nullptr && share_from->buffers_registered_) {
    CloneBuffersArg arg;
    arg.src_fd = static_cast<uint32_t>(share_from->ring_.ring_fd);
    if (::syscall(__NR_io_uring_register, ring_.ring_fd, kRegisterCloneBuffers, &arg, 1) == 0) {
      buffers_registered_ = buffers_cloned_ = true;
      return Status::Ok();
    }
    // EINVAL before 6.12: register the same memory again (pinned and charged once more).
  }
  int ret = io_uring_register_buffers(&ring_, buffers.data(), static_cast<unsigned>(buffers.size()));
  if (ret < 0) return Status::FromErrno(-ret, "io_uring_register_buffers");
  buffers_registered_ = true;
  return Status::Ok();
}

Status Ring::RegisterFileTable(unsigned slots) {
  int ret = io_uring_register_files_sparse(&ring_, slots);
  if (ret < 0) return Status::FromErrno(-ret, "io_uring_register_files_sparse(" + std::to_string(slots) + ")");
  return Status::Ok();
}

Status Ring::UpdateFileSlot(unsigned slot, int fd) {
  int fds[1] = {fd};
  int ret = io_uring_register_files_update(&ring_, slot, fds, 1);
  if (ret < 0) {
    return Status::FromErrno(
        -ret, "io_uring_register_files_update(slot " + std::to_string(slot) + ", fd " + std::to_string(fd) + ")");
  }
  return Status::Ok();
}

void Ring::StartWatching() {
  std::lock_guard lock(watcher_mutex_);
  ArmWatcher();
}

void Ring::Shutdown() {
  std::lock_guard lock(watcher_mutex_);
  closing_ = true;
  boost::system::error_code ec;
  watcher_.close(ec);
}

void Ring::Post(Op* op) {
  asio::post(executor_, [self = shared_from_this(), op] { self->Start(op); });
}

void Ring::Start(Op* op) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  // Behind a backlog an op waits its turn, so operations enter the kernel in the order they came.
  if (!backlog_.empty() || !TryQueue(op)) {
    backlog_.push_back(op);
    Bump(backlogged_);
  }
}

// Fills an SQE for `op` and makes sure a flush will submit it. False when there is no room: the
// kernel already holds cq_entries_ operations, or the SQ is full and a submit did not drain it.
bool Ring::TryQueue(Op* op) {
  if (in_kernel_ >= cq_entries_) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    SubmitNow();
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return false;
  }
  Prepare(sqe, op);
  ++in_kernel_;
  ScheduleFlush();
  return true;
}

void Ring::Prepare(io_uring_sqe* sqe, Op* op) {
  std::byte* buf = op->buf + op->done;
  auto remaining = static_cast<unsigned>(op->len - op->done);
  uint64_t offset = op->offset + op->done;
  const bool fixed_file = op->file_slot >= 0;
  const int fd = fixed_file ? op->file_slot : op->fd;
  const bool fixed_buffer = op->fixed_index >= 0 && buffers_registered_;
  switch (op->kind) {
    case Op::Kind::kRead:
      if (fixed_buffer) {
        io_uring_prep_read_fixed(sqe, fd, buf, remaining, offset, op->fixed_index);
      } else {
        io_uring_prep_read(sqe, fd, buf, remaining, offset);
      }
      break;
    case Op::Kind::kWrite:
      if (fixed_buffer) {
        io_uring_prep_write_fixed(sqe, fd, buf, remaining, offset, op->fixed_index);
      } else {
        io_uring_prep_write(sqe, fd, buf, remaining, offset);
      }
      break;
    case Op::Kind::kSync:
      io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      break;
  }
  if (fixed_file) {
    sqe->flags |= IOSQE_FIXED_FILE;  // after prep, which clears the flags
    Bump(fixed_file_ops_);
  }
  if (op->kind != Op::Kind::kSync) Bump(fixed_buffer ? fixed_ops_ : plain_ops_);
  Bump(sqes_);
  io_uring_sqe_set_data(sqe, op);
}

void Ring::ScheduleFlush() {
  if (flush_pending_) return;
  flush_pending_ = true;
  asio::post(executor_, [self = shared_from_this()] { self->Flush(); });
}

void Ring::Flush() {
  flush_pending_ = false;
  SubmitNow();
}

void Ring::SubmitNow() {
  if (io_uring_sq_ready(&ring_) == 0) return;
  int ret = io_uring_submit(&ring_);
  Bump(submits_);
  if (ret >= 0) return;
  if (IsTransient(-ret)) {
    // The SQEs stay queued. Try again after the other handlers ran (completions may free the kernel).
    ScheduleFlush();
    return;
  }
  LOG_ERROR << "io_uring_submit: " << Status::FromErrno(-ret, "").ToString();
}

void Ring::ArmWatcher() {
  watcher_.async_read_some(asio::buffer(&efd_value_, sizeof efd_value_),
                           [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                             if (ec == asio::error::operation_aborted) return;
                             self->OnEventfd(ec);
                           });
}

void Ring::OnEventfd(const boost::system::error_code& ec) {
  std::lock_guard lock(watcher_mutex_);
  if (closing_) return;
  if (ec) LOG_ERROR << "io_uring eventfd read failed: " << ec.message();
  // Resubmissions and backlogged ops queued while reaping are flushed after the waiters resumed by
  // this round (posted while reaping) have queued theirs: one submit for all of them.
  const bool was_pending = flush_pending_;
  flush_pending_ = true;
  Reap();
  DrainBacklog();
  flush_pending_ = was_pending;
  if (io_uring_sq_ready(&ring_) > 0) ScheduleFlush();
  ArmWatcher();
}

void Ring::Reap() {
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe != nullptr) {
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    --in_kernel_;
    if (res >= 0 && inject_eagain_.load(std::memory_order_relaxed) > 0) {
      inject_eagain_.fetch_sub(1, std::memory_order_relaxed);
      res = -EAGAIN;
    }
    OnCompletion(op, res);
  }
}

void Ring::DrainBacklog() {
  while (!backlog_.empty() && TryQueue(backlog_.front())) backlog_.pop_front();
}

void Ring::OnCompletion(Op* op, int res) {
  if ((res == -EAGAIN || res == -EINTR) && ++op->retries < config_.max_retries) return Resubmit(op);
  if (res < 0) return Complete(op, Status::FromErrno(-res, OpName(op)));
  if (op->kind == Op::Kind::kSync) return Complete(op, size_t{0});
  op->done += static_cast<size_t>(res);
  if (op->done >= op->len) return Complete(op, op->done);
  if (op->kind == Op::Kind::kRead) {
    // O_DIRECT reads return a partial block only at the end of the file; 0 is the end of the file.
    if (res == 0 || op->done % kBlockSize != 0) return Complete(op, op->done);
  } else if (res == 0) {
    return Complete(op, Status::FromErrno(EIO, OpName(op) + " made no progress"));
  }
  Resubmit(op);
}

void Ring::Resubmit(Op* op) {
  Bump(resubmits_);
  if (!backlog_.empty() || !TryQueue(op)) backlog_.push_back(op);
}

void Ring::Complete(Op* op, Result<size_t> result) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (op->foreign) Bump(foreign_completions_);
  op->handler.Complete(std::move(result));
  delete op;
}

std::string Ring::OpName(const Op* op) {
  const char* name = op->kind == Op::Kind::kRead ? "read" : op->kind == Op::Kind::kWrite ? "write" : "fdatasync";
  return std::string(name) + " fd " + std::to_string(op->fd) + " at " + std::to_string(op->offset + op->done);
}

RingCounters Ring::counters() const {
  RingCounters c;
  c.sqes = sqes_.load(std::memory_order_relaxed);
  c.submits = submits_.load(std::memory_order_relaxed);
  c.fixed_ops = fixed_ops_.load(std::memory_order_relaxed);
  c.plain_ops = plain_ops_.load(std::memory_order_relaxed);
  c.fixed_file_ops = fixed_file_ops_.load(std::memory_order_relaxed);
  c.resubmits = resubmits_.load(std::memory_order_relaxed);
  c.foreign_completions = foreign_completions_.load(std::memory_order_relaxed);
  c.backlogged = backlogged_.load(std::memory_order_relaxed);
  return c;
}

// Operations still in flight at destruction (a contract violation) are waited for and failed: the
// kernel must not be left writing into freed memory.
void Ring::DrainInFlight() {
  if (!ring_ready_ || in_flight_.load() == 0) return;
  LOG_ERROR << "io_uring ring destroyed with " << in_flight_.load() << " operations in flight";
  for (Op* op : backlog_) Complete(op, Error(Code::kCancelled, "block I/O shut down"));
  backlog_.clear();
  io_uring_submit(&ring_);
  while (in_flight_.load() > 0) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring_, &cqe) < 0 || cqe == nullptr) break;
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    io_uring_cqe_seen(&ring_, cqe);
    Complete(op, Error(Code::kCancelled, "block I/O shut down"));
  }
}

}  // namespace zcfs::uring
