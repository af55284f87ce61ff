#include "zcfs/storage/uring_block_io.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "uring_ring.h"
#include "zcfs/common/logging.h"

namespace zcfs {

namespace {

// fds at or above this are never registered: the fd -> slot map is a flat array read without a lock.
// Data files are opened at startup and get small numbers.
constexpr int kMaxRegisteredFd = 1 << 16;

// The execution context behind an executor (a strand's is the context it runs on).
const asio::execution_context* ContextOf(const asio::any_io_executor& executor) {
  return &asio::query(executor, asio::execution::context_as<asio::execution_context&>);
}

}  // namespace

// The rings, the shared buffer pool and the registered-file map. Thread-safe.
class UringBlockIo::Impl {
 public:
  explicit Impl(Options options)
      : options_(options),
        pool_(std::make_shared<BufferPool>(options.buffer_count, options.buffer_size)),
        slot_of_fd_(new std::atomic<int32_t>[kMaxRegisteredFd]) {
    for (int fd = 0; fd < kMaxRegisteredFd; ++fd) slot_of_fd_[fd].store(-1, std::memory_order_relaxed);
  }

  ~Impl() {
    for (auto& ring : rings_) ring->Shutdown();
  }

  // Adds a ring on `executor`, which runs one handler at a time; `context` is where the waiters that
  // belong to this ring run.
  Status AddRing(asio::any_io_executor executor, std::function<bool()> running_here,
                 const asio::execution_context* context) {
    uring::Ring::Config config{.queue_depth = options_.queue_depth, .max_retries = options_.max_retries};
    ASSIGN_OR_RETURN(auto ring, uring::Ring::Create(std::move(executor), std::move(running_here), config));
    rings_.push_back(std::move(ring));
    contexts_.push_back(context);
    return Status::Ok();
  }

  // Registers the buffers and the file tables, then starts the completion watchers.
  void Finish() {
    RegisterBuffers();
    RegisterFileTables();
    for (auto& ring : rings_) ring->StartWatching();
  }

  template <typename Handler>
  void Start(uring::Op::Kind kind, int fd, uint64_t offset, std::byte* buf, size_t len, Handler handler) {
    if (kind != uring::Op::Kind::kSync && len == 0) {
      AnyHandler<Result<size_t>>(std::move(handler)).Complete(size_t{0});
      return;
    }
    auto* op = new uring::Op;
    op->kind = kind;
    op->fd = fd;
    op->file_slot = SlotOf(fd);
    op->offset = offset;
    op->buf = buf;
    op->len = len;
    op->fixed_index = FindFixed(buf, len);
    const size_t home = RingOfContext(ContextOf(asio::get_associated_executor(handler)));
    op->handler = AnyHandler<Result<size_t>>(std::move(handler));
    if (home < rings_.size()) {
      uring::Ring& ring = *rings_[home];
      if (ring.RunningHere()) return ring.Start(op);  // the common case: no lock, no hop
      return ring.Post(op);
    }
    op->foreign = true;
    rings_[next_ring_.fetch_add(1, std::memory_order_relaxed) % rings_.size()]->Post(op);
  }

  Status RegisterFile(int fd) {
    if (fd < 0) return Error(Code::kInvalidArgument, "cannot register fd " + std::to_string(fd));
    if (fd >= kMaxRegisteredFd) {
      return Error(Code::kResourceExhausted, "fd " + std::to_string(fd) + " is beyond the registered-file map");
    }
    std::lock_guard lock(files_mutex_);
    if (!files_ready_) return Error(Code::kNotSupported, "this kernel has no sparse io_uring file tables");
    if (slot_of_fd_[fd].load(std::memory_order_relaxed) >= 0) return Status::Ok();
    if (free_slots_.empty()) {
      return Error(Code::kResourceExhausted, "all " + std::to_string(file_slots_) +
                                                 " registered-file slots are in use (fd " + std::to_string(fd) + ")");
    }
    const unsigned slot = free_slots_.back();
    for (size_t i = 0; i < rings_.size(); ++i) {
      Status s = rings_[i]->UpdateFileSlot(slot, fd);
      if (s.ok()) continue;
      for (size_t j = 0; j < i; ++j) (void)rings_[j]->UpdateFileSlot(slot, -1);
      return s;
    }
    free_slots_.pop_back();
    // Published last: an operation that sees the slot finds the file in every ring.
    slot_of_fd_[fd].store(static_cast<int32_t>(slot), std::memory_order_release);
    return Status::Ok();
  }

  void UnregisterFile(int fd) {
    if (fd < 0 || fd >= kMaxRegisteredFd) return;
    std::lock_guard lock(files_mutex_);
    const int32_t slot = slot_of_fd_[fd].load(std::memory_order_relaxed);
    if (slot < 0) return;
    // Unpublished first. The caller guarantees no operation on fd is in flight or starting, so no
    // SQE names the slot any more; the kernel keeps its own reference for requests it still holds.
    slot_of_fd_[fd].store(-1, std::memory_order_release);
    for (auto& ring : rings_) {
      Status s = ring->UpdateFileSlot(static_cast<unsigned>(slot), -1);
      if (!s.ok()) LOG_WARN << "unregister fd " << fd << ": " << s.ToString();
    }
    free_slots_.push_back(static_cast<unsigned>(slot));
  }

  void InjectEagain(int completions) {
    for (auto& ring : rings_) ring->InjectEagain(completions);
  }

  IoBuffer Acquire(size_t size) { return pool_->Acquire(size); }
  const BufferPool& pool() const { return *pool_; }
  size_t ring_count() const { return rings_.size(); }

  Stats StatsOf(size_t first, size_t last) const {
    Stats s;
    for (size_t i = first; i < last; ++i) {
      uring::RingCounters c = rings_[i]->counters();
      s.sqes += c.sqes;
      s.submits += c.submits;
      s.fixed_ops += c.fixed_ops;
      s.plain_ops += c.plain_ops;
      s.fixed_file_ops += c.fixed_file_ops;
      s.resubmits += c.resubmits;
      s.foreign_completions += c.foreign_completions;
      s.backlogged += c.backlogged;
    }
    s.pool_fallbacks = pool_->fallback_count();
    s.buffers_registered = !fixed_.empty();
    s.buffers_cloned = rings_.size() > 1 &&
                       std::all_of(rings_.begin() + 1, rings_.end(), [](const auto& r) { return r->buffers_cloned(); });
    std::lock_guard lock(files_mutex_);
    s.registered_files = file_slots_ - free_slots_.size();
    return s;
  }

 private:
  // Every ring gets the same table; rings after the first clone it from the first when they can.
  // Fixed buffers are used only when every ring has them, so any buffer works on any ring.
  void RegisterBuffers() {
    std::vector<iovec> iovecs;
    for (auto region : pool_->regions()) iovecs.push_back({region.data(), region.size()});
    if (iovecs.empty()) return;
    for (auto& ring : rings_) {
      Status s = ring->RegisterBuffers(iovecs, rings_.front().get() == ring.get() ? nullptr : rings_.front().get());
      if (!s.ok()) {
        LOG_WARN << s.ToString() << " (" << iovecs.size() << " x " << pool_->buffer_size()
                 << " bytes); using plain READ/WRITE";
        return;
      }
    }
    for (size_t i = 0; i < iovecs.size(); ++i) {
      fixed_.push_back({reinterpret_cast<uintptr_t>(iovecs[i].iov_base), static_cast<int>(i)});
    }
    std::sort(fixed_.begin(), fixed_.end());
  }

  void RegisterFileTables() {
    rlimit nofile{};
    unsigned slots = options_.registered_files;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < slots) slots = unsigned(nofile.rlim_cur);
    if (slots == 0) return;
    for (auto& ring : rings_) {
      Status s = ring->RegisterFileTable(slots);
      if (!s.ok()) {
        LOG_WARN << s.ToString() << "; data files are not registered";
        return;
      }
    }
    std::lock_guard lock(files_mutex_);
    files_ready_ = true;
    file_slots_ = slots;
    for (unsigned slot = slots; slot > 0; --slot) free_slots_.push_back(slot - 1);
  }

  // The registered buffer that holds [p, p+len) entirely, or -1.
  int FindFixed(const void* p, size_t len) const {
    if (fixed_.empty()) return -1;
    auto addr = reinterpret_cast<uintptr_t>(p);
    auto it = std::upper_bound(fixed_.begin(), fixed_.end(), std::pair<uintptr_t, int>{addr, INT32_MAX});
    if (it == fixed_.begin()) return -1;
    --it;
    return addr + len <= it->first + pool_->buffer_size() ? it->second : -1;
  }

  int SlotOf(int fd) const {
    if (fd < 0 || fd >= kMaxRegisteredFd) return -1;
    return slot_of_fd_[fd].load(std::memory_order_acquire);
  }

  // The ring whose waiters run on `context`, or rings_.size().
  size_t RingOfContext(const asio::execution_context* context) const {
    return static_cast<size_t>(std::find(contexts_.begin(), contexts_.end(), context) - contexts_.begin());
  }

  Options options_;
  std::vector<std::shared_ptr<uring::Ring>> rings_;       // fixed after Create; shared with their handlers
  std::vector<const asio::execution_context*> contexts_;  // contexts_[i]: where ring i's waiters run
  std::atomic<size_t> next_ring_{0};                      // round-robin for operations from elsewhere
  std::shared_ptr<BufferPool> pool_;
  std::vector<std::pair<uintptr_t, int>> fixed_;        // (start address, buffer index), sorted; empty: none
  std::unique_ptr<std::atomic<int32_t>[]> slot_of_fd_;  // fd -> file table slot, -1: not registered
  mutable std::mutex files_mutex_;                      // registration and unregistration
  bool files_ready_ = false;
  unsigned file_slots_ = 0;
  std::vector<unsigned> free_slots_;
};

Result<std::unique_ptr<UringBlockIo>> UringBlockIo::Create(IoContextPool& pool, Options options) {
  if (pool.size() == 0) return Error(Code::kInvalidArgument, "an I/O thread pool without threads");
  auto impl = std::make_unique<Impl>(options);
  for (size_t i = 0; i < pool.size(); ++i) {
    asio::io_context& context = pool.context(i);
    auto executor = context.get_executor();
    RETURN_IF_ERROR(impl->AddRing(
        executor, [executor] { return executor.running_in_this_thread(); }, &context));
  }
  impl->Finish();
  return std::unique_ptr<UringBlockIo>(new UringBlockIo(std::move(impl)));
}

Result<std::unique_ptr<UringBlockIo>> UringBlockIo::Create(asio::any_io_executor executor, Options options) {
  auto impl = std::make_unique<Impl>(options);
  auto strand = asio::make_strand(executor);
  RETURN_IF_ERROR(impl->AddRing(
      strand, [strand] { return strand.running_in_this_thread(); }, ContextOf(executor)));
  impl->Finish();
  return std::unique_ptr<UringBlockIo>(new UringBlockIo(std::move(impl)));
}

UringBlockIo::UringBlockIo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UringBlockIo::~UringBlockIo() = default;

IoBuffer UringBlockIo::AcquireBuffer(size_t size) { return impl_->Acquire(size); }

Task<Result<size_t>> UringBlockIo::Read(int fd, uint64_t offset, std::span<std::byte> dst) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<size_t>)>(
      [&](auto handler) {
        impl_->Start(uring::Op::Kind::kRead, fd, offset, dst.data(), dst.size(), std::move(handler));
      },
      asio::use_awaitable);
}

Task<Result<size_t>> UringBlockIo::Write(int fd, uint64_t offset, std::span<const std::byte> src) {
  auto* buf = const_cast<std::byte*>(src.data());  // the kernel only reads it
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<size_t>)>(
      [&](auto handler) { impl_->Start(uring::Op::Kind::kWrite, fd, offset, buf, src.size(), std::move(handler)); },
      asio::use_awaitable);
}

Task<Status> UringBlockIo::Sync(int fd) {
  Result<size_t> r = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<size_t>)>(
      [&](auto handler) { impl_->Start(uring::Op::Kind::kSync, fd, 0, nullptr, 0, std::move(handler)); },
      asio::use_awaitable);
  co_return r.status();
}

Status UringBlockIo::RegisterFile(int fd) { return impl_->RegisterFile(fd); }
void UringBlockIo::UnregisterFile(int fd) { impl_->UnregisterFile(fd); }

UringBlockIo::Stats UringBlockIo::stats() const { return impl_->StatsOf(0, impl_->ring_count()); }
UringBlockIo::Stats UringBlockIo::ring_stats(size_t ring) const {
  if (ring >= impl_->ring_count()) return Stats{};
  return impl_->StatsOf(ring, ring + 1);
}
size_t UringBlockIo::ring_count() const { return impl_->ring_count(); }
void UringBlockIo::InjectEagainForTesting(int completions) { impl_->InjectEagain(completions); }
const BufferPool& UringBlockIo::pool() const { return impl_->pool(); }

}  // namespace zcfs
