// BlockIo: asynchronous positional I/O on file descriptors, as coroutines. The storage server's only
// path to the disk; UringBlockIo is the real one (io_uring), PreadBlockIo a plain pread/pwrite fake
// for logic tests.
#pragma once

#include <cstdint>
#include <span>

#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/storage/io_buffer.h"

namespace zcfs {

// For O_DIRECT descriptors the caller passes block-aligned offsets, lengths and memory. Implementations
// are thread-safe: any number of operations may be in flight from any threads; each resumes its
// awaiting coroutine on that coroutine's executor.
class BlockIo {
 public:
  virtual ~BlockIo() = default;

  // Memory for one I/O of `size` bytes: from the registered pool when one is free and large enough,
  // else freshly allocated. Never blocks.
  virtual IoBuffer AcquireBuffer(size_t size) = 0;

  // Reads into `dst` from `offset`. Returns the bytes read: all of `dst` unless the file ends first.
  virtual Task<Result<size_t>> Read(int fd, uint64_t offset, std::span<std::byte> dst) = 0;
  // Writes all of `src` at `offset` (short writes are continued). Returns src.size() on success.
  virtual Task<Result<size_t>> Write(int fd, uint64_t offset, std::span<const std::byte> src) = 0;
  // fdatasync(fd): the data written so far, and the metadata needed to read it, are durable.
  virtual Task<Status> Sync(int fd) = 0;

  // Registered files: a hint that `fd` is long-lived and will see many operations (a target's large
  // data files), so an implementation may pre-register it with the kernel (io_uring fixed files) and
  // skip the per-operation file lookup. Call RegisterFile right after opening the file and
  // UnregisterFile before closing it. Operations on an fd work whether or not it is registered, and a
  // failed registration only loses the speed-up (callers may ignore the error).
  // Contract: UnregisterFile(fd) is called only when no operation on `fd` is in flight on any thread
  // (and, like close(), no new one is started on it afterwards until it is registered again).
  // Registering an fd that is already registered is a no-op; unregistering one that is not is too.
  // Defaults: nothing to do.
  virtual Status RegisterFile(int fd) {
    (void)fd;
    return Status::Ok();
  }
  virtual void UnregisterFile(int fd) { (void)fd; }
};

}  // namespace zcfs
