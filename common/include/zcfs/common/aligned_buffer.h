// Aligned memory for O_DIRECT I/O and registered transport regions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace zcfs {

inline constexpr size_t kBlockSize = 4096;  // O_DIRECT and checksum granularity

constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v - v % a; }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// An owned block-aligned allocation (move-only), zeroed unless asked otherwise (receive buffers that
// are about to be overwritten skip the extra pass over memory). Thread-compatible.
class AlignedBuffer {
 public:
  enum class Init { kZeroed, kUninitialized };
  AlignedBuffer() = default;
  // Throws std::bad_alloc when memory is exhausted (as operator new does).
  explicit AlignedBuffer(size_t size, Init init = Init::kZeroed, size_t alignment = kBlockSize);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<std::byte> span() { return {data_, size_}; }

 private:
  void release();
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace zcfs
