#include "read_ahead.h"

#include <algorithm>

#include "zcfs/common/logging.h"

namespace zcfs {

ReadAheadPool::ReadAheadPool(Client& client, size_t buffer_size, size_t budget)
    : client_(client), buffer_size_(buffer_size), budget_(budget) {}

std::unique_ptr<ReadAheadPool::Lease> ReadAheadPool::Take() {
  std::unique_lock lock(mutex_);
  if (free_.empty()) {
    if (allocated_ + buffer_size_ > budget_) return nullptr;
    allocated_ += buffer_size_;
    lock.unlock();  // allocation maps and registers memory: not under the lock
    auto buffer = client_.AllocateBuffer(buffer_size_);
    if (!buffer.ok()) {
      LOG_WARN << "read-ahead buffer: " << buffer.status().ToString();
      std::lock_guard relock(mutex_);
      allocated_ -= buffer_size_;
      return nullptr;
    }
    return std::make_unique<Lease>(shared_from_this(), std::move(*buffer));
  }
  auto buffer = std::move(free_.back());
  free_.pop_back();
  return std::make_unique<Lease>(shared_from_this(), std::move(buffer));
}

void ReadAheadPool::Return(std::shared_ptr<RegisteredBuffer> buffer) {
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(buffer));
}

// One kMaxIo piece of the window: the read started into `lease` and, once `done`, what it gave.
struct ReadAhead::Piece {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::unique_ptr<ReadAheadPool::Lease> lease;
  bool done = false;
  bool usable = false;  // read without error and in full
};

ReadAhead::ReadAhead(Client& client, std::shared_ptr<ReadAheadPool> pool, uint64_t window)
    : client_(client), pool_(std::move(pool)), window_(window) {}

ReadAhead::~ReadAhead() {
  std::unique_lock lock(mutex_);
  landed_.wait(lock, [&] { return in_flight_ == 0; });
}

uint64_t ReadAhead::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}

void ReadAhead::Reset() {
  pieces_.clear();  // pieces still in flight live on in their read's callback until it lands
  window_start_ = window_end_ = 0;
}

void ReadAhead::Advance(const FileInfo& file, uint64_t version, uint64_t offset, size_t size) {
  std::lock_guard lock(mutex_);
  if (version != version_) {
    Reset();
    version_ = version;
  }
  // Sequential: inside the window (the kernel sends its own read-ahead requests concurrently, so they
  // may arrive a little out of order), at the end of the last request, or back at the start of the
  // file (a new epoch on the same handle: the window starts over).
  const uint64_t end = offset + size;
  const bool in_window = offset >= window_start_ && offset < window_end_;
  const bool sequential = in_window || offset == last_end_ || offset == 0;
  if (!sequential || (offset == 0 && !in_window)) Reset();
  last_end_ = in_window ? std::max(last_end_, end) : end;
  if (!sequential) return;
  // Pieces are dropped once a request used their last byte (Serve). One the reader left a window
  // behind without asking for (the kernel found those pages in its cache) goes here.
  while (!pieces_.empty() && pieces_.front()->offset + pieces_.front()->length + window_ <= offset) {
    pieces_.pop_front();
  }
  if (pieces_.empty()) {
    // Nothing read ahead yet (a file's first read, or the reader caught up): the window starts with
    // this request's own bytes, so they are the first asked of the storage server and this request
    // waits for them alone - not behind the window read for the requests after it.
    window_start_ = window_end_ = offset;
  } else {
    window_start_ = pieces_.front()->offset;
  }
  Fill(file, end);
}

void ReadAhead::Fill(const FileInfo& file, uint64_t from) {
  uint64_t limit = std::min(file.size, from + window_);
  while (window_end_ < limit) {
    auto lease = pool_->Take();
    if (!lease) return;  // the mount's read-ahead budget is in use
    auto piece = std::make_shared<Piece>();
    piece->offset = window_end_;
    piece->length = std::min<uint64_t>(pool_->buffer_size(), file.size - window_end_);
    piece->lease = std::move(lease);
    pieces_.push_back(piece);
    window_end_ += piece->length;
    ++in_flight_;
    auto dst = piece->lease->memory().first(piece->length);
    client_.StartRead(file, piece->offset, dst, [this, piece](Result<size_t> n) {
      std::lock_guard lock(mutex_);
      piece->done = true;
      piece->usable = n.ok() && *n == piece->length;
      --in_flight_;
      landed_.notify_all();
    });
  }
}

ReadAhead::Pieces ReadAhead::Covering(uint64_t offset, uint64_t end) const {
  Pieces covering;
  uint64_t next = offset;
  for (const auto& piece : pieces_) {
    if (piece->offset + piece->length <= next) continue;
    if (piece->offset > next) break;  // a hole: that part was used up or dropped
    covering.push_back(piece);
    next = piece->offset + piece->length;
    if (next >= end) return covering;
  }
  return {};
}

bool ReadAhead::Serve(const FileInfo& file, uint64_t version, uint64_t offset, size_t size,
                      const std::function<void(std::span<const iovec>)>& reply) {
  uint64_t end = std::min<uint64_t>(offset + size, file.size);
  if (offset >= end) return false;
  std::unique_lock lock(mutex_);
  if (version != version_) return false;
  Pieces pieces = Covering(offset, end);
  if (pieces.empty()) return false;
  landed_.wait(lock, [&] { return std::all_of(pieces.begin(), pieces.end(), [](auto& p) { return p->done; }); });
  if (!std::all_of(pieces.begin(), pieces.end(), [](auto& p) { return p->usable; })) {
    Reset();  // a failed or short piece: the direct read finds out why
    return false;
  }
  ++hits_;
  // Pieces whose end this request reaches are used up. Requests of the kernel's read-ahead arrive
  // out of order, so a piece before this request's start may still be waited for: only these go.
  std::erase_if(pieces_, [&](const auto& piece) {
    return piece->offset + piece->length <= end && std::find(pieces.begin(), pieces.end(), piece) != pieces.end();
  });
  window_start_ = pieces_.empty() ? window_end_ : pieces_.front()->offset;
  // Nothing of this object is touched from here on: once the reply is out, the kernel may release the
  // handle and destroy it. The pieces stay alive in `pieces` while the reply copies out of them.
  lock.unlock();
  std::vector<iovec> iov;
  for (const auto& piece : pieces) {
    uint64_t from = std::max(offset, piece->offset);
    uint64_t to = std::min(end, piece->offset + piece->length);
    iov.push_back({piece->lease->memory().data() + (from - piece->offset), static_cast<size_t>(to - from)});
  }
  reply(iov);
  return true;
}

}  // namespace zcfs
