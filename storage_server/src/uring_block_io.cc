#include "zcfs/storage/uring_block_io.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <mutex>
#include <vector>

#include "zcfs/proto/any_handler.h"
#include "zcfs/common/logging.h"

namespace zcfs {


namespace {

// State of one request, pointed at by its SQE's user_data until it completes.
struct UringOp {
  enum class Kind { kRead, kWrite, kSync };
  Kind kind = Kind::kRead;
  int fd = -1;
  uint64_t offset = 0;
  std::byte* buf = nullptr;
  size_t len = 0;
  size_t done = 0;
  int fixed_index = -1;  // registered buffer holding buf, or -1
  int retries = 0;
  AnyHandler<Result<size_t>> handler;
};

constexpr int kMaxRetries = 10000;  // -EAGAIN storms end as an error instead of spinning forever

}  // namespace

// Owns the ring, the eventfd watcher and the buffer pool. Thread-safe: submissions are serialized by
// sq_mutex_, completion reaping (one watcher handler at a time) by cq_mutex_.
class UringBlockIo::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, Options options)
      : options_(options),
        watcher_(executor),
        pool_(std::make_shared<BufferPool>(options.buffer_count, options.buffer_size)) {}

  ~Impl() {
    DrainInFlight();
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (efd_ >= 0) ::close(efd_);
  }

  Status Init() {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = options_.queue_depth * 4;
    int ret = io_uring_queue_init_params(options_.queue_depth, &ring_, &params);
    if (ret < 0) return Status::FromErrno(-ret, "io_uring_queue_init");
    ring_ready_ = true;
    efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd_ < 0) return Status::FromErrno(errno, "eventfd");
    ret = io_uring_register_eventfd(&ring_, efd_);
    if (ret < 0) return Status::FromErrno(-ret, "io_uring_register_eventfd");
    RegisterBuffers();
    boost::system::error_code ec;
    watcher_.assign(::dup(efd_), ec);
    if (ec) return Error(Code::kInternal, "watch eventfd: " + ec.message());
    return Status::Ok();
  }

  void StartWatching() {
    std::lock_guard lock(cq_mutex_);
    ArmWatcher();
  }

  // Stops watching. A watcher handler already running finishes (it holds a reference to this).
  void Shutdown() {
    std::lock_guard lock(cq_mutex_);
    closing_ = true;
    boost::system::error_code ec;
    watcher_.close(ec);
  }

  // Starts one operation; the handler gets the result.
  template <typename Handler>
  void Start(UringOp::Kind kind, int fd, uint64_t offset, std::byte* buf, size_t len, Handler handler) {
    auto* op = new UringOp;
    op->kind = kind;
    op->fd = fd;
    op->offset = offset;
    op->buf = buf;
    op->len = len;
    op->fixed_index = registered_ ? FindFixed(buf, len) : -1;
    op->handler = AnyHandler<Result<size_t>>(std::move(handler));
    if (kind != UringOp::Kind::kSync && len == 0) return Finish(op, size_t{0});
    in_flight_.fetch_add(1);
    Submit(op);
  }

  IoBuffer Acquire(size_t size) { return pool_->Acquire(size); }
  const BufferPool& pool() const { return *pool_; }

  Stats stats() const {
    Stats s;
    s.fixed_ops = fixed_ops_.load();
    s.plain_ops = plain_ops_.load();
    s.resubmits = resubmits_.load();
    s.pool_fallbacks = pool_->fallback_count();
    s.buffers_registered = registered_;
    return s;
  }

 private:
  void RegisterBuffers() {
    std::vector<iovec> iovecs;
    for (auto region : pool_->regions()) iovecs.push_back({region.data(), region.size()});
    if (iovecs.empty()) return;
    int ret = io_uring_register_buffers(&ring_, iovecs.data(), static_cast<unsigned>(iovecs.size()));
    if (ret < 0) {
      LOG_WARN << "io_uring_register_buffers(" << iovecs.size() << " x " << pool_->buffer_size()
               << " bytes) failed: " << Status::FromErrno(-ret, "").ToString() << "; using plain READ/WRITE";
      return;
    }
    for (size_t i = 0; i < iovecs.size(); ++i) {
      fixed_.push_back({reinterpret_cast<uintptr_t>(iovecs[i].iov_base), static_cast<int>(i)});
    }
    std::sort(fixed_.begin(), fixed_.end());
    registered_ = true;
  }

  // The registered buffer that holds [p, p+len) entirely, or -1.
  int FindFixed(const void* p, size_t len) const {
    auto addr = reinterpret_cast<uintptr_t>(p);
    auto it = std::upper_bound(fixed_.begin(), fixed_.end(), std::pair<uintptr_t, int>{addr, INT32_MAX});
    if (it == fixed_.begin()) return -1;
    --it;
    return addr + len <= it->first + pool_->buffer_size() ? it->second : -1;
  }

  void Prepare(io_uring_sqe* sqe, UringOp* op) {
    std::byte* buf = op->buf + op->done;
    auto remaining = static_cast<unsigned>(op->len - op->done);
    uint64_t offset = op->offset + op->done;
    switch (op->kind) {
      case UringOp::Kind::kRead:
        if (op->fixed_index >= 0) {
          io_uring_prep_read_fixed(sqe, op->fd, buf, remaining, offset, op->fixed_index);
        } else {
          io_uring_prep_read(sqe, op->fd, buf, remaining, offset);
        }
        break;
      case UringOp::Kind::kWrite:
        if (op->fixed_index >= 0) {
          io_uring_prep_write_fixed(sqe, op->fd, buf, remaining, offset, op->fixed_index);
        } else {
          io_uring_prep_write(sqe, op->fd, buf, remaining, offset);
        }
        break;
      case UringOp::Kind::kSync:
        io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
        break;
    }
    if (op->kind != UringOp::Kind::kSync) (op->fixed_index >= 0 ? fixed_ops_ : plain_ops_).fetch_add(1);
    io_uring_sqe_set_data(sqe, op);
  }

  // Queues the op's (remaining) request and submits. An SQE the kernel did not take now (-EBUSY while
  // the completion queue is full) stays queued; the completion handler submits it after reaping.
  void Submit(UringOp* op) {
    std::lock_guard lock(sq_mutex_);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    if (sqe == nullptr) {
      in_flight_.fetch_sub(1);
      return Finish(op, Error(Code::kResourceExhausted, "io_uring submission queue full"));
    }
    Prepare(sqe, op);
    int ret = io_uring_submit(&ring_);
    if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -EINTR) {
      LOG_ERROR << "io_uring_submit: " << Status::FromErrno(-ret, "").ToString();
    }
  }

  void ArmWatcher() {
    watcher_.async_read_some(asio::buffer(&efd_value_, sizeof efd_value_),
                             [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                               if (ec == asio::error::operation_aborted) return;
                               self->OnEventfd(ec);
                             });
  }

  void OnEventfd(const boost::system::error_code& ec) {
    std::lock_guard lock(cq_mutex_);
    if (closing_) return;
    if (ec) LOG_ERROR << "io_uring eventfd read failed: " << ec.message();
    Reap();
    {
      std::lock_guard sq_lock(sq_mutex_);
      if (io_uring_sq_ready(&ring_) > 0) io_uring_submit(&ring_);
    }
    ArmWatcher();
  }

  // Handles every completion queued now. Caller holds cq_mutex_.
  void Reap() {
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe != nullptr) {
      auto* op = static_cast<UringOp*>(io_uring_cqe_get_data(cqe));
      int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      OnCompletion(op, res);
    }
  }

  void OnCompletion(UringOp* op, int res) {
    if ((res == -EAGAIN || res == -EINTR) && ++op->retries < kMaxRetries) return Resubmit(op);
    if (res < 0) return Complete(op, Status::FromErrno(-res, OpName(op)));
    if (op->kind == UringOp::Kind::kSync) return Complete(op, size_t{0});
    op->done += static_cast<size_t>(res);
    if (op->done >= op->len) return Complete(op, op->done);
    if (op->kind == UringOp::Kind::kRead) {
      // O_DIRECT reads return a partial block only at the end of the file; 0 is the end of the file.
      if (res == 0 || op->done % kBlockSize != 0) return Complete(op, op->done);
    } else if (res == 0) {
      return Complete(op, Status::FromErrno(EIO, OpName(op) + " made no progress"));
    }
    Resubmit(op);
  }

  void Resubmit(UringOp* op) {
    resubmits_.fetch_add(1);
    Submit(op);
  }

  void Complete(UringOp* op, Result<size_t> result) {
    in_flight_.fetch_sub(1);
    Finish(op, std::move(result));
  }

  static void Finish(UringOp* op, Result<size_t> result) {
    op->handler.Complete(std::move(result));
    delete op;
  }

  static std::string OpName(const UringOp* op) {
    const char* name = op->kind == UringOp::Kind::kRead    ? "read"
                       : op->kind == UringOp::Kind::kWrite ? "write"
                                                           : "fdatasync";
    return std::string(name) + " fd " + std::to_string(op->fd) + " at " + std::to_string(op->offset + op->done);
  }

  // Waits for operations still in flight at destruction and completes them (a contract violation,
  // but it must not leave the kernel writing into freed memory).
  void DrainInFlight() {
    if (!ring_ready_) return;
    if (in_flight_.load() > 0)
      LOG_ERROR << "UringBlockIo destroyed with " << in_flight_.load() << " operations in flight";
    while (in_flight_.load() > 0) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(&ring_, &cqe) < 0 || cqe == nullptr) break;
      auto* op = static_cast<UringOp*>(io_uring_cqe_get_data(cqe));
      io_uring_cqe_seen(&ring_, cqe);
      Complete(op, Error(Code::kCancelled, "block I/O shut down"));
    }
  }

  Options options_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int efd_ = -1;
  uint64_t efd_value_ = 0;
  std::mutex sq_mutex_;
  std::mutex cq_mutex_;
  bool closing_ = false;
  asio::posix::stream_descriptor watcher_;
  std::shared_ptr<BufferPool> pool_;
  std::vector<std::pair<uintptr_t, int>> fixed_;  // (start address, buffer index), sorted
  bool registered_ = false;
  std::atomic<size_t> in_flight_{0};
  std::atomic<uint64_t> fixed_ops_{0}, plain_ops_{0}, resubmits_{0};
};

Result<std::unique_ptr<UringBlockIo>> UringBlockIo::Create(asio::any_io_executor executor, Options options) {
  if (options.queue_depth == 0) return Error(Code::kInvalidArgument, "io_uring queue depth must be > 0");
  auto impl = std::make_shared<Impl>(std::move(executor), options);
  RETURN_IF_ERROR(impl->Init());
  impl->StartWatching();
  return std::unique_ptr<UringBlockIo>(new UringBlockIo(std::move(impl)));
}

UringBlockIo::UringBlockIo(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

UringBlockIo::~UringBlockIo() { impl_->Shutdown(); }

IoBuffer UringBlockIo::AcquireBuffer(size_t size) { return impl_->Acquire(size); }

Task<Result<size_t>> UringBlockIo::Read(int fd, uint64_t offset, std::span<std::byte> dst) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<size_t>)>(
      [&](auto handler) { impl_->Start(UringOp::Kind::kRead, fd, offset, dst.data(), dst.size(), std::move(handler)); },
      asio::use_awaitable);
}

Task<Result<size_t>> UringBlockIo::Write(int fd, uint64_t offset, std::span<const std::byte> src) {
  auto* buf = const_cast<std::byte*>(src.data());  // the kernel only reads it
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<size_t>)>(
      [&](auto handler) { impl_->Start(UringOp::Kind::kWrite, fd, offset, buf, src.size(), std::move(handler)); },
      asio::use_awaitable);
}

Task<Status> UringBlockIo::Sync(int fd) {
  Result<size_t> r = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<size_t>)>(
      [&](auto handler) { impl_->Start(UringOp::Kind::kSync, fd, 0, nullptr, 0, std::move(handler)); },
      asio::use_awaitable);
  co_return r.status();
}

UringBlockIo::Stats UringBlockIo::stats() const { return impl_->stats(); }
const BufferPool& UringBlockIo::pool() const { return impl_->pool(); }

}  // namespace zcfs
