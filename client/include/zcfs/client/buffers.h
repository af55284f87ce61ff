// Registered buffers: memory the storage servers' replies are placed into directly.
//
// A read can only land in memory the transport knows (a registered region): that is what lets the
// client name "region R, offset O" in a request and have the reply's bytes read from the socket (or
// written by RDMA) straight into place. Registering costs a table insert on TCP and a memory
// registration (pinning) on RDMA, so a data loader registers its buffers once and reuses them.
//
// Get one from Client::AllocateBuffer (aligned memory the client owns, optionally huge-page backed)
// or Client::RegisterBuffer (the caller's own memory, e.g. a pinned tensor). Reads given a destination
// outside every registered buffer fail with kInvalidArgument; nothing is written anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace zcfs {

struct BufferOptions {
  // Back the memory with 2 MiB huge pages (MAP_HUGETLB); fails with kResourceExhausted when the system
  // has none reserved (/proc/sys/vm/nr_hugepages) instead of silently falling back.
  bool huge_pages = false;
};

// One registered range of memory. Deregisters on destruction (and frees it if the client allocated
// it). Reads still in flight into the buffer when it is destroyed never write into the released
// memory: over TCP those that had not started placing their bytes complete with kCancelled and the
// destructor waits for placements that already started; over RDMA, where the server may write at any
// moment between request and reply, the destructor waits for the reads in flight to end.
// A buffer may outlive its Client; it then only frees its memory.
class RegisteredBuffer {
 public:
  virtual ~RegisteredBuffer() = default;
  RegisteredBuffer(const RegisteredBuffer&) = delete;
  RegisteredBuffer& operator=(const RegisteredBuffer&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<std::byte> span() const { return {data_, size_}; }
  bool huge_pages() const { return huge_pages_; }

 protected:  // made by the client (client/src/buffer_registry.*)
  RegisteredBuffer(std::byte* data, size_t size, bool huge_pages) : data_(data), size_(size), huge_pages_(huge_pages) {}

 private:
  std::byte* const data_;
  const size_t size_;
  const bool huge_pages_;
};

}  // namespace zcfs
