// ReadBudget: admission control for the memory that batched reads hold, shared fairly between clients.
//
// A batched read holds its pieces' read buffers from the disk read until its reply has been written to
// the socket (the reply is sent straight from them). Before reading, a batch asks for its cost (bytes of
// buffer, pieces) and waits until it fits:
//   - server-wide: the bytes held by all batches stay <= total_bytes;
//   - per client (one connection): bytes <= client_bytes and pieces <= client_pieces, so one client
//     cannot take the whole server, and the reads in flight per client are bounded.
// Waiting requests queue per client (FIFO: a client's batches are granted in the order they asked) and
// the clients take turns (round robin): a greedy client with a hundred batches queued does not stand in
// front of a light client's one batch, which gets the next turn after the greedy client's.
//
// A request that fits its client's limit but not the free server-wide bytes stops the round: nobody
// behind it may overtake, so big batches are not starved by a stream of small ones. A request blocked
// only by its own client's limit is skipped (that client waits for its own releases). A cost larger than
// a limit on its own is admitted when that limit's holder(s) hold nothing (so it cannot wait forever);
// the service keeps costs below the limits by refusing batches larger than its maximum.
//
// Thread-safe. Waiters resume on their own executor (never inline in a releasing thread).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "zcfs/proto/any_handler.h"
#include "zcfs/proto/asio.h"

namespace zcfs::storage_internal {

class ReadBudget : public std::enable_shared_from_this<ReadBudget> {
 public:
  struct Limits {
    uint64_t total_bytes = 256ull << 20;
    uint64_t client_bytes = 64ull << 20;
    uint32_t client_pieces = 2048;
  };
  struct Cost {
    uint64_t bytes = 0;
    uint32_t pieces = 0;
  };
  struct Stats {
    uint64_t held_bytes = 0;
    uint64_t peak_bytes = 0;  // the most ever held at once
    size_t waiting = 0;       // requests queued, not yet granted
    uint64_t granted = 0;     // requests granted so far
    size_t clients = 0;       // clients holding or waiting for budget
  };

  // What a granted request holds; gives it back when destroyed (or shrunk). Move-only; keeps the
  // budget alive. Thread-compatible.
  class Grant {
   public:
    Grant() = default;
    Grant(Grant&& other) noexcept { *this = std::move(other); }
    Grant& operator=(Grant&& other) noexcept;
    ~Grant() { Release(); }

    // Returns what the request turned out not to need (cost <= the granted cost; e.g. reads that
    // ended at the chunk's end filled smaller buffers).
    void ShrinkTo(Cost cost);
    const Cost& cost() const { return cost_; }

   private:
    friend class ReadBudget;
    Grant(std::shared_ptr<ReadBudget> budget, std::string client, Cost cost)
        : budget_(std::move(budget)), client_(std::move(client)), cost_(cost) {}
    void Release();

    std::shared_ptr<ReadBudget> budget_;
    std::string client_;
    Cost cost_;
  };

  // Create with std::make_shared (grants hold a reference).
  explicit ReadBudget(Limits limits) : limits_(limits) {}

  // Waits for `cost` to fit (see above) and grants it to `client` (any key naming one client).
  Task<Grant> Acquire(std::string client, Cost cost);

  Stats stats() const;
  const Limits& limits() const { return limits_; }

 private:
  struct Waiter {
    Cost cost;
    AnyHandler<> resume;
  };
  struct Client {
    uint64_t held_bytes = 0;
    uint32_t held_pieces = 0;
    std::deque<Waiter> queue;
  };
  enum class Fit { kYes, kClientFull, kServerFull };

  Fit FitsLocked(const Client& client, const Cost& cost) const;
  void TakeLocked(Client& client, const Cost& cost);
  // Gives `cost` of `client` back and grants what now fits; returns the waiters to resume.
  std::vector<AnyHandler<>> GiveBack(const std::string& client, Cost cost);
  // Grants queued requests in turn while they fit; moves their handlers to `resume`.
  void DispatchLocked(std::vector<AnyHandler<>>& resume);
  void ForgetIfIdleLocked(std::map<std::string, Client>::iterator it);

  const Limits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Client> clients_;  // only clients that hold or wait
  std::deque<std::string> turns_;          // clients with a queue, in the order they get their turn
  uint64_t held_bytes_ = 0;
  uint64_t peak_bytes_ = 0;
  size_t waiting_ = 0;
  uint64_t granted_ = 0;
};

}  // namespace zcfs::storage_internal
