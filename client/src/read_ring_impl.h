// ReadRingImpl: the client's ReadRing (read_ring.h). Submit plans every prepared read as chunk pieces,
// groups the pieces of all of them by storage node and sends one BatchRead per batch
// (ClientImpl::PlanBatches/ReadBatch); a read completes when its last piece does.
// Used by one thread at a time; completions arrive from the I/O threads (CompletionQueue).
#pragma once

#include <memory>
#include <vector>

#include "client_impl.h"
#include "completion_queue.h"
#include "zcfs/client/read_ring.h"

namespace zcfs {

class ReadRingImpl final : public ReadRing {
 public:
  ReadRingImpl(ClientImpl& client, ReadRingOptions options);
  ~ReadRingImpl() override;

  Status Prepare(const ReadEntry& entry) override;
  Result<size_t> Submit() override;
  size_t Poll(std::span<ReadCompletion> out) override { return completions_->Poll(out); }
  size_t Wait(std::span<ReadCompletion> out, size_t min_completions, std::chrono::milliseconds timeout) override {
    return completions_->Wait(out, min_completions, timeout);
  }
  size_t prepared() const override { return prepared_.size(); }
  size_t in_flight() const override { return completions_->unreturned(); }

 private:
  struct PreparedRead {
    ReadEntry entry;
    BufferSlice slice;  // where entry.dst lies
  };

  ClientImpl& client_;
  const ReadRingOptions options_;
  std::vector<PreparedRead> prepared_;
  std::shared_ptr<CompletionQueue> completions_;
};

}  // namespace zcfs
