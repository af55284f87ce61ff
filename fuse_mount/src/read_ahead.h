// Read-ahead of the daemon for sequential reads through the mount.
//
// The kernel's own read-ahead keeps about one request per reader in flight to the daemon (measured:
// 3 reads in flight for 4 sequential readers), so each request waits a full round trip to a storage
// server, and with direct_io there is no kernel read-ahead at all. A handle that reads sequentially
// gets the `window` bytes after its last request read ahead, in pieces of kMaxIo, into registered
// buffers of the mount-wide ReadAheadPool; a request the window covers is answered from those
// buffers (after waiting for pieces still in flight) instead of going to the storage servers. When
// nothing is read ahead yet (the first read of a file), the window starts at the request itself, so
// its own piece is asked for first and it does not wait behind the read-ahead of later requests.
//
// Stale data: the window belongs to one data version of the inode (InodeState::data_version()); a
// write or truncate through this mount moves it and the window is dropped. Changes made by other
// clients show at the next open, as with the kernel's page cache (close-to-open consistency).
#pragma once

#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "zcfs/client/client.h"

namespace zcfs {

// The read-ahead buffers of a mount: kMaxIo bytes each, registered with the client, at most
// `budget` bytes in all, reused across handles. Thread-safe.
class ReadAheadPool : public std::enable_shared_from_this<ReadAheadPool> {
 public:
  ReadAheadPool(Client& client, size_t buffer_size, size_t budget);

  // A buffer that goes back to the pool when the lease ends.
  class Lease {
   public:
    Lease(std::shared_ptr<ReadAheadPool> pool, std::shared_ptr<RegisteredBuffer> buffer)
        : pool_(std::move(pool)), buffer_(std::move(buffer)) {}
    ~Lease() { pool_->Return(std::move(buffer_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    std::span<std::byte> memory() const { return buffer_->span(); }

   private:
    std::shared_ptr<ReadAheadPool> pool_;
    std::shared_ptr<RegisteredBuffer> buffer_;
  };

  // A free buffer, or null when the budget is spent (read-ahead then waits for buffers to come back).
  std::unique_ptr<Lease> Take();
  size_t buffer_size() const { return buffer_size_; }

 private:
  void Return(std::shared_ptr<RegisteredBuffer> buffer);

  Client& client_;
  const size_t buffer_size_;
  const size_t budget_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<RegisteredBuffer>> free_;  // guarded by mutex_
  size_t allocated_ = 0;                                 // bytes; guarded by mutex_
};

// The read-ahead window of one open handle. Thread-safe: the kernel sends concurrent reads of one
// handle (its own read-ahead) to different worker threads.
class ReadAhead {
 public:
  ReadAhead(Client& client, std::shared_ptr<ReadAheadPool> pool, uint64_t window);
  // Waits for the reads in flight: their buffers must not be written after the handle is gone.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Called for every read request of the handle, before it is served: if [offset, offset + size)
  // continues the handle's reading, starts reads for the window after it; a jump elsewhere drops the
  // window. `file.size` is where reads end; `version` the inode's data version now.
  void Advance(const FileInfo& file, uint64_t version, uint64_t offset, size_t size);
  // Answers the request from the window when it holds all of it: calls `reply` with the memory (in
  // order, read-only, valid during the call) and returns true. False: a miss, or a piece failed or came
  // back short - the caller reads directly (and reports any error itself). Once `reply` has run the
  // kernel may release the handle, so Serve touches nothing of the ReadAhead after calling it.
  bool Serve(const FileInfo& file, uint64_t version, uint64_t offset, size_t size,
             const std::function<void(std::span<const iovec>)>& reply);

  // Requests answered from the window so far (tests, the SIGUSR1 report).
  uint64_t hits() const;

 private:
  struct Piece;
  using Pieces = std::vector<std::shared_ptr<Piece>>;
  void Reset();                                          // mutex_ held
  void Fill(const FileInfo& file, uint64_t from);        // mutex_ held
  Pieces Covering(uint64_t offset, uint64_t end) const;  // mutex_ held; empty unless all is covered

  Client& client_;
  std::shared_ptr<ReadAheadPool> pool_;
  const uint64_t window_;
  mutable std::mutex mutex_;
  std::condition_variable landed_;  // a piece finished
  // By offset, within [window_start_, window_end_); used-up pieces leave holes (a request that falls
  // in one is a miss).
  std::deque<std::shared_ptr<Piece>> pieces_;
  uint64_t window_start_ = 0;
  uint64_t window_end_ = 0;
  uint64_t last_end_ = 0;  // end of the furthest request so far
  uint64_t version_ = 0;   // the data version the pieces were read at
  size_t in_flight_ = 0;   // reads started and not finished (including dropped pieces)
  uint64_t hits_ = 0;
};

}  // namespace zcfs
