// Batched asynchronous reads, shaped like an I/O ring: prepare many reads, submit them in one call,
// then poll or wait for their completions.
//
//   auto ring = client->CreateReadRing({.depth = 64}).value();
//   for (...) ring->Prepare({.file = h, .offset = off, .length = n, .dst = buf->data() + k * n, .user_data = k});
//   ring->Submit();
//   ReadCompletion done[64];
//   size_t got = ring->Wait(done, /*min_completions=*/64, std::chrono::seconds(5));
//
// Submit groups the prepared reads by storage server and sends each server one batched request (split
// only where the server's batch limits require), so a data loader's step costs one round trip per
// server, not one per sample. Every destination must lie inside a RegisteredBuffer of the same client:
// the bytes are placed there by the transport with no user-space copy.
//
// A ring is used by one thread at a time (like io_uring's submission side); completions are produced
// by the client's I/O threads. Many rings may share one Client; a ring must be destroyed before its
// Client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "zcfs/common/status.h"

namespace zcfs {

// A file opened through Client::OpenHandle. 0 is never a valid handle.
struct FileHandle {
  uint64_t value = 0;
  friend bool operator==(FileHandle, FileHandle) = default;
};

struct ReadEntry {
  FileHandle file;
  uint64_t offset = 0;
  size_t length = 0;
  std::byte* dst = nullptr;  // inside a RegisteredBuffer of this client, with room for `length` bytes
  uint64_t user_data = 0;    // returned in the completion
};

struct ReadCompletion {
  uint64_t user_data = 0;
  Status status;     // kTimeout past the ring's timeout, kBadHandle if the file was closed, ...
  size_t bytes = 0;  // bytes read: fewer than asked at the end of the file, 0 at or past it
};

struct ReadRingOptions {
  uint32_t depth = 128;  // reads prepared or in flight at most; Prepare beyond it: kResourceExhausted
  // Per-read deadline from Submit; 0 = the client's rpc_timeout. A read past it completes with
  // kTimeout (its destination may hold part of the data). A storage server that refuses connections
  // fails its reads at once with kUnavailable (after one routing refresh and retry).
  std::chrono::milliseconds timeout{0};
};

class ReadRing {
 public:
  virtual ~ReadRing() = default;  // waits for the reads in flight (their completions are dropped)

  // Queues one read; nothing is sent until Submit. Errors (nothing queued): kBadHandle (not an open
  // handle of this client), kInvalidArgument (destination not inside one registered buffer, or null),
  // kResourceExhausted (depth reached), kIsDirectory.
  virtual Status Prepare(const ReadEntry& entry) = 0;
  // Sends every prepared read; returns how many.
  virtual Result<size_t> Submit() = 0;
  // Completions ready now, at most out.size(); never blocks.
  virtual size_t Poll(std::span<ReadCompletion> out) = 0;
  // Waits until min_completions are ready (capped at out.size() and at the reads in flight) or the
  // timeout passes, then returns what is ready (possibly fewer than asked, possibly 0).
  virtual size_t Wait(std::span<ReadCompletion> out, size_t min_completions, std::chrono::milliseconds timeout) = 0;
  // Reads prepared but not submitted, and submitted but not yet returned by Poll/Wait.
  virtual size_t prepared() const = 0;
  virtual size_t in_flight() const = 0;
};

}  // namespace zcfs
