// I/O buffers for O_DIRECT: a pool of equal, block-aligned buffers (which a BlockIo may register with
// the kernel, e.g. io_uring fixed buffers) and IoBuffer, a lease on one of them or, when the pool is
// empty or the request is larger than a pool buffer, a freshly allocated aligned buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "zcfs/common/aligned_buffer.h"

namespace zcfs {

class BufferPool;

// Block-aligned memory for one I/O. Move-only; returns a pooled buffer to its pool when destroyed
// (the lease keeps the pool alive). Thread-compatible.
class IoBuffer {
 public:
  static constexpr int kNotRegistered = -1;

  IoBuffer() = default;
  // A standalone buffer, not from any pool.
  explicit IoBuffer(AlignedBuffer buffer) : owned_(std::move(buffer)), size_(owned_.size()) {}
  IoBuffer(IoBuffer&& other) noexcept;
  IoBuffer& operator=(IoBuffer&& other) noexcept;
  ~IoBuffer();

  std::byte* data() { return data_ptr(); }
  const std::byte* data() const { return const_cast<IoBuffer*>(this)->data_ptr(); }
  // The usable size: what was asked for (a pooled buffer may be larger underneath).
  size_t size() const { return size_; }
  std::span<std::byte> span() { return {data(), size_}; }
  // The pool index when the memory comes from a pool, else kNotRegistered. A BlockIo whose pool is
  // registered with the kernel uses it to pick fixed-buffer operations.
  int pool_index() const { return pool_index_; }

 private:
  friend class BufferPool;
  IoBuffer(std::shared_ptr<BufferPool> pool, int index, size_t size)
      : pool_(std::move(pool)), pool_index_(index), size_(size) {}
  std::byte* data_ptr();
  void Release();

  std::shared_ptr<BufferPool> pool_;
  int pool_index_ = kNotRegistered;
  AlignedBuffer owned_;
  size_t size_ = 0;
};

// A fixed set of `count` aligned buffers of `buffer_size` bytes each. Acquire() never blocks: when no
// pooled buffer fits it allocates (and counts a fallback). Create with std::make_shared (leases hold
// a shared_ptr to the pool). Thread-safe.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  BufferPool(size_t count, size_t buffer_size);

  IoBuffer Acquire(size_t size);

  size_t count() const { return buffers_.size(); }
  size_t buffer_size() const { return buffer_size_; }
  size_t available() const;
  // How many Acquire() calls had to allocate instead.
  uint64_t fallback_count() const { return fallbacks_.load(); }
  // The memory of every pooled buffer, in index order (for registration with the kernel or a NIC; the
  // memory is lent out writable, so the spans are too).
  std::vector<std::span<std::byte>> regions() const;

 private:
  friend class IoBuffer;
  void Return(int index);

  size_t buffer_size_;
  std::vector<AlignedBuffer> buffers_;
  mutable std::mutex mutex_;
  std::vector<int> free_;
  std::atomic<uint64_t> fallbacks_{0};
};

}  // namespace zcfs
