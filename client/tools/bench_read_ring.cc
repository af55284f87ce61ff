// zcfs-bench read, the ring path: each thread keeps --depth reads in flight through its own ReadRing,
// into slots of one registered buffer; every refill of free slots is one Submit, so a thread's
// requests reach each storage server as batches, as a data loader's would.
#include <chrono>

#include "bench_io.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

// A read in a slot: what it asked for and when it was submitted.
struct Slot {
  Request request;
  Clock::time_point submitted;
};

// How long one Wait may take before the reader gives up (well past the client's RPC timeout).
constexpr auto kWaitLimit = std::chrono::seconds(60);

}  // namespace

Status read_with_ring(Client& client, const Dataset& d, const IoBenchOptions& o, RequestSource& source, int thread,
                      ThreadStats& stats, LiveCounters& live) {
  const auto depth = static_cast<uint32_t>(o.depth);
  ASSIGN_OR_RETURN(auto ring, client.CreateReadRing(ReadRingOptions{.depth = depth}));
  ASSIGN_OR_RETURN(auto buffer, client.AllocateBuffer(size_t{depth} * o.block));
  RequestSource::Cursor cursor(thread_seed(thread));
  std::vector<Slot> slots(depth);
  std::vector<uint32_t> free_slots;
  for (uint32_t i = depth; i > 0; --i) free_slots.push_back(i - 1);
  std::vector<ReadCompletion> done(depth);
  bool more = true;
  size_t in_flight = 0;
  std::vector<uint32_t> round;  // slots prepared since the last Submit
  for (;;) {
    round.clear();
    while (more && !free_slots.empty()) {  // refill every free slot, then one Submit
      Request q;
      if (!(more = source.Next(cursor, &q))) break;
      uint32_t slot = free_slots.back();
      std::byte* dst = buffer->data() + size_t{slot} * o.block;
      RETURN_IF_ERROR(ring->Prepare({d.files[q.file].handle, q.offset, q.length, dst, slot}));
      free_slots.pop_back();
      slots[slot].request = q;
      round.push_back(slot);
    }
    if (!round.empty()) {
      auto now = Clock::now();
      for (uint32_t slot : round) slots[slot].submitted = now;
      ASSIGN_OR_RETURN(size_t submitted, ring->Submit());
      in_flight += submitted;
    }
    if (in_flight == 0) return Status::Ok();
    size_t got = ring->Wait(done, static_cast<size_t>(o.reap),
                            std::chrono::duration_cast<std::chrono::milliseconds>(kWaitLimit));
    if (got == 0) return Error(Code::kTimeout, "no read completed in " + std::to_string(kWaitLimit.count()) + " s");
    auto now = Clock::now();
    for (size_t i = 0; i < got; ++i) {
      const ReadCompletion& c = done[i];
      auto slot = static_cast<uint32_t>(c.user_data);
      const Request& q = slots[slot].request;
      const DataFile& f = d.files[q.file];
      if (!c.status.ok()) return Status(c.status).Prepend(f.name + " at offset " + std::to_string(q.offset));
      if (c.bytes != q.length) {
        return Error(Code::kIoError, f.name + ": read " + std::to_string(c.bytes) + " of " + std::to_string(q.length) +
                                         " bytes at offset " + std::to_string(q.offset));
      }
      count_request(stats, live, q.length, now - slots[slot].submitted);
      if (o.verify) {
        RETURN_IF_ERROR(check_block(f.name, q.offset, {buffer->data() + size_t{slot} * o.block, q.length}));
      }
      free_slots.push_back(slot);
      --in_flight;
    }
  }
}

}  // namespace zcfs
