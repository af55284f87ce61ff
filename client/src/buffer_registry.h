// The client's registered buffers: which memory reads may be placed into, found by address.
//
// A RegisteredBuffer (buffers.h) is one transport region plus a BufferLife. Reads into it pin the
// life for as long as they touch the memory (placing a reply, filling a hole, checking a CRC); the
// buffer's destructor retires the life first, which waits for those pins and makes every later pin
// fail - reads that had not started writing then complete with kCancelled instead of landing in freed
// memory. Then the region is deregistered and the memory freed.
//
// The registry is shared by the client and every buffer: a buffer that outlives its client finds the
// registry detached and only frees its memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>

#include "zcfs/client/buffers.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/transport.h"

namespace zcfs {

// Whether a buffer's memory may still be written, and who is writing it. Thread-safe.
class BufferLife {
 public:
  // Marks the memory in use; false once Retire has begun (the caller must not touch the memory).
  bool Pin();
  void Unpin();
  // Makes every later Pin fail, then waits until the current pins are released.
  void Retire();

 private:
  std::mutex mutex_;
  std::condition_variable unpinned_;
  size_t pins_ = 0;
  bool retired_ = false;
};

// Where a destination lies: the buffer's life, its transport region and the offset in it.
struct BufferSlice {
  std::shared_ptr<BufferLife> life;
  uint64_t region_id = 0;
  uint64_t offset = 0;
};

// Registered buffers by address. Thread-safe.
class BufferRegistry {
 public:
  explicit BufferRegistry(Transport& transport) : transport_(&transport) {}

  // Registers [data, data + size) with the transport; `owned` memory was mmapped by the client
  // (`mapped_size` bytes) and is unmapped when the buffer goes. Overlapping an already registered
  // buffer is kAlreadyExists.
  static Result<std::shared_ptr<RegisteredBuffer>> Register(const std::shared_ptr<BufferRegistry>& registry,
                                                            std::span<std::byte> memory, bool huge_pages,
                                                            size_t mapped_size);
  // The buffer holding all of [dst, dst + length); kInvalidArgument when no single buffer does.
  Result<BufferSlice> Find(const std::byte* dst, size_t length) const;
  // The client is going away: buffers still alive will only free their memory.
  void Detach();
  size_t size() const;

 private:
  friend class ClientBuffer;
  struct Entry {
    size_t size = 0;
    uint64_t region_id = 0;
    std::shared_ptr<BufferLife> life;
  };
  // Deregisters the buffer at `data` (when still attached).
  void Remove(const std::byte* data);

  mutable std::mutex mutex_;
  Transport* transport_;                       // guarded by mutex_; null once detached
  std::map<const std::byte*, Entry> buffers_;  // guarded by mutex_; by start address
};

// Reserves `size` zeroed bytes (rounded up to 4 KiB, or 2 MiB with huge pages) with mmap.
// kResourceExhausted when huge pages are asked for and none are free.
Result<std::span<std::byte>> map_buffer_memory(size_t size, bool huge_pages, size_t* mapped_size);

}  // namespace zcfs
