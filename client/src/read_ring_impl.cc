#include "read_ring_impl.h"

#include <atomic>
#include <mutex>
#include <string>

namespace zcfs {
namespace {

// The reads of one Submit: counts each one's pieces down and completes it with its first error.
// Thread-safe.
class SubmittedReads {
 public:
  SubmittedReads(std::shared_ptr<CompletionQueue> queue, size_t count) : queue_(std::move(queue)), reads_(count) {}

  // Read `index` will complete after `pieces` PieceDone calls, with `bytes` if they all succeed; an
  // error is prefixed with `what` (which handle, where).
  void Expect(size_t index, uint64_t user_data, size_t bytes, size_t pieces, std::string what) {
    std::lock_guard lock(mutex_);
    reads_[index] = Read{user_data, bytes, pieces, Status::Ok(), std::move(what)};
  }
  // A read that sends nothing: it fails, or it asks for no bytes (at or past the end of the file).
  void Finish(uint64_t user_data, Status status) { queue_->Complete(ReadCompletion{user_data, std::move(status), 0}); }
  void PieceDone(size_t index, const Status& status) {
    std::unique_lock lock(mutex_);
    Read& read = reads_[index];
    if (read.status.ok() && !status.ok()) read.status = Status(status).Prepend(read.what);
    if (--read.pieces_left > 0) return;
    ReadCompletion done{read.user_data, read.status, read.status.ok() ? read.bytes : 0};
    lock.unlock();
    queue_->Complete(std::move(done));
  }

 private:
  struct Read {
    uint64_t user_data = 0;
    size_t bytes = 0;
    size_t pieces_left = 0;
    Status status;
    std::string what;
  };
  std::shared_ptr<CompletionQueue> queue_;
  std::mutex mutex_;
  std::vector<Read> reads_;  // guarded by mutex_
};

Task<> read_batch(ClientImpl& client, std::shared_ptr<SubmittedReads> reads, NodeBatch batch,
                  ClientImpl::Deadline deadline) {
  std::vector<uint32_t> owners;
  for (const auto& piece : batch.pieces) owners.push_back(piece.owner);
  auto statuses = co_await client.ReadBatch(std::move(batch), deadline);
  for (size_t i = 0; i < owners.size(); ++i) reads->PieceDone(owners[i], statuses[i]);
}

// Runs on the I/O threads: grouping may refresh the routing table.
Task<> send_reads(ClientImpl& client, std::shared_ptr<SubmittedReads> reads, std::vector<PlacedPiece> pieces,
                  ClientImpl::Deadline deadline, std::shared_ptr<std::atomic<bool>> started) {
  auto plan = co_await client.PlanBatches(std::move(pieces));
  started->store(true);
  for (const auto& [owner, status] : plan.unroutable) reads->PieceDone(owner, status);
  for (auto& batch : plan.batches) {
    std::vector<uint32_t> batch_owners;
    for (const auto& piece : batch.pieces) batch_owners.push_back(piece.owner);
    // A batch that ends in an exception (not expected: the read path returns errors) still
    // completes its reads, so that no Wait or ring destructor waits for them forever.
    asio::co_spawn(client.executor(), read_batch(client, reads, std::move(batch), deadline),
                   [reads, batch_owners](std::exception_ptr error) {
                     if (!error) return;
                     for (uint32_t owner : batch_owners) {
                       reads->PieceDone(owner, Error(Code::kInternal, "read failed with an exception"));
                     }
                   });
  }
}

}  // namespace

ReadRingImpl::ReadRingImpl(ClientImpl& client, ReadRingOptions options)
    : client_(client), options_(options), completions_(std::make_shared<CompletionQueue>()) {}

ReadRingImpl::~ReadRingImpl() { completions_->Drain(); }

Status ReadRingImpl::Prepare(const ReadEntry& entry) {
  ASSIGN_OR_RETURN(auto handle, client_.handles().Get(entry.file));
  auto what = [&] { return "read of " + handle->name() + " at offset " + std::to_string(entry.offset); };
  if (!handle->readable()) return Error(Code::kBadHandle, what() + ": the handle is not open for reading");
  if (prepared_.size() + in_flight() >= options_.depth) {
    return Error(Code::kResourceExhausted, what() + ": the ring is full (depth " + std::to_string(options_.depth) +
                                               ", " + std::to_string(prepared_.size()) + " prepared, " +
                                               std::to_string(in_flight()) + " in flight); reap completions first");
  }
  auto slice = client_.buffers()->Find(entry.dst, entry.length);
  if (!slice.ok()) return Status(slice.status()).Prepend(what());
  prepared_.push_back(PreparedRead{entry, std::move(slice).value()});
  return Status::Ok();
}

Result<size_t> ReadRingImpl::Submit() {
  size_t count = prepared_.size();
  if (count == 0) return size_t{0};
  auto timeout = options_.timeout.count() > 0 ? options_.timeout : client_.options().rpc_timeout;
  auto deadline = ClientImpl::DeadlineAfter(timeout);
  completions_->Submitted(count);
  auto reads = std::make_shared<SubmittedReads>(completions_, count);
  std::vector<PlacedPiece> pieces;
  for (size_t i = 0; i < count; ++i) {
    const ReadEntry& entry = prepared_[i].entry;
    const BufferSlice& slice = prepared_[i].slice;
    auto handle = client_.handles().Get(entry.file);  // closed since Prepare: kBadHandle
    if (!handle.ok()) {
      reads->Finish(entry.user_data, handle.status());
      continue;
    }
    FileInfo file = client_.KnownForRead(**handle, entry.offset, entry.length);
    size_t length = entry.offset >= file.size ? 0 : std::min<uint64_t>(entry.length, file.size - entry.offset);
    auto chunks = plan_chunk_pieces(file.chunk_size, file.chains, entry.offset, length);
    if (!chunks.ok()) {
      reads->Finish(entry.user_data, Status(chunks.status()).Prepend("read of " + (*handle)->name()));
      continue;
    }
    if (chunks->empty()) {
      reads->Finish(entry.user_data, Status::Ok());
      continue;
    }
    // Nothing is sent before this loop ends, so no piece reports before its read expects it.
    reads->Expect(i, entry.user_data, length, chunks->size(),
                  "read of " + (*handle)->name() + " at offset " + std::to_string(entry.offset));
    for (const auto& chunk : *chunks) {
      pieces.push_back(place_piece(file.ino, chunk, slice, static_cast<uint32_t>(i)));
    }
  }
  prepared_.clear();
  if (pieces.empty()) return count;
  std::vector<uint32_t> owners;
  for (const auto& piece : pieces) owners.push_back(piece.owner);
  auto started = std::make_shared<std::atomic<bool>>(false);
  asio::co_spawn(client_.executor(), send_reads(client_, reads, std::move(pieces), deadline, started),
                 [reads, owners = std::move(owners), started](std::exception_ptr error) {
                   if (!error || started->load()) return;  // after the start, each batch answers for itself
                   for (uint32_t owner : owners) {
                     reads->PieceDone(owner, Error(Code::kInternal, "planning the reads failed with an exception"));
                   }
                 });
  return count;
}

}  // namespace zcfs
