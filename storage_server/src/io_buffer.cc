#include "zcfs/storage/io_buffer.h"

#include <utility>

namespace zcfs {

IoBuffer::IoBuffer(IoBuffer&& other) noexcept
    : pool_(std::move(other.pool_)),
      pool_index_(std::exchange(other.pool_index_, kNotRegistered)),
      owned_(std::move(other.owned_)),
      size_(std::exchange(other.size_, 0)) {}

IoBuffer& IoBuffer::operator=(IoBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::move(other.pool_);
    pool_index_ = std::exchange(other.pool_index_, kNotRegistered);
    owned_ = std::move(other.owned_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

IoBuffer::~IoBuffer() { Release(); }

std::byte* IoBuffer::data_ptr() { return pool_ != nullptr ? pool_->buffers_[pool_index_].data() : owned_.data(); }

void IoBuffer::Release() {
  if (pool_ != nullptr) {
    pool_->Return(pool_index_);
    pool_.reset();
  }
  pool_index_ = kNotRegistered;
  owned_ = AlignedBuffer();
  size_ = 0;
}

BufferPool::BufferPool(size_t count, size_t buffer_size) : buffer_size_(align_up(buffer_size, kBlockSize)) {
  buffers_.reserve(count);
  free_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    buffers_.emplace_back(buffer_size_, AlignedBuffer::Init::kZeroed);  // zeroed: touches (faults in) the pages
    free_.push_back(static_cast<int>(count - 1 - i));
  }
}

IoBuffer BufferPool::Acquire(size_t size) {
  if (size <= buffer_size_) {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      int index = free_.back();
      free_.pop_back();
      return IoBuffer(shared_from_this(), index, size);
    }
  }
  fallbacks_.fetch_add(1);
  return IoBuffer(AlignedBuffer(size, AlignedBuffer::Init::kUninitialized));
}

size_t BufferPool::available() const {
  std::lock_guard lock(mutex_);
  return free_.size();
}

std::vector<std::span<std::byte>> BufferPool::regions() const {
  std::vector<std::span<std::byte>> out;
  for (const auto& b : buffers_) out.emplace_back(const_cast<std::byte*>(b.data()), b.size());
  return out;
}

void BufferPool::Return(int index) {
  std::lock_guard lock(mutex_);
  free_.push_back(index);
}

}  // namespace zcfs
