#include "zcfs/storage/storage_service.h"

#include <memory>

#include "wait_group.h"
#include "zcfs.pb.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs {

using storage_internal::WaitGroup;

namespace {

// Counts a request as active for its lifetime.
class ActiveScope {
 public:
  explicit ActiveScope(std::atomic<size_t>& counter) : counter_(counter) { counter_.fetch_add(1); }
  ~ActiveScope() { counter_.fetch_sub(1); }

 private:
  std::atomic<size_t>& counter_;
};

// The state of one batch, shared by the piece coroutines (which may outlive nothing: the handler waits
// for all of them).
struct Batch {
  explicit Batch(size_t n) : results(n) {}
  std::vector<Result<ChunkData>> results;
  WaitGroup done;
};

pb::PieceResult ToPieceResult(const Result<ChunkData>& r) {
  pb::PieceResult out;
  if (r.ok()) {
    out.set_length(static_cast<uint32_t>(r->length()));
  } else {
    out.set_status(static_cast<uint32_t>(r.status().code()));
    out.set_message(r.status().message());
  }
  return out;
}

}  // namespace

StorageService::StorageService(asio::any_io_executor executor, std::vector<StorageTarget*> targets)
    : executor_(std::move(executor)), targets_(std::move(targets)) {}

void StorageService::RegisterWith(RpcServer& server) {
  server.Register(method::kBatchRead, [this](RpcRequest& r) { return HandleBatchRead(r); });
  server.Register(method::kWriteChunk, [this](RpcRequest& r) { return HandleWriteChunk(r); });
  server.SetPayloadOffset([](uint16_t m, std::string_view body) -> size_t {
    if (m != method::kWriteChunk) return 0;
    pb::WriteChunkRequest request;
    if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) return 0;  // the handler reports it
    return request.offset() % kBlockSize;
  });
}

StorageTarget* StorageService::FindTarget(uint32_t target_id) const {
  if (target_id == 0) return nullptr;  // unassigned ids never match
  for (StorageTarget* t : targets_) {
    if (t->id() == target_id) return t;
  }
  return nullptr;
}

Task<RpcReply> StorageService::HandleBatchRead(RpcRequest& raw) {
  ActiveScope active(active_);
  pb::BatchReadRequest request;
  if (Status s = ParseMessage(request, raw.body, "BatchReadRequest"); !s.ok()) co_return RpcReply::FromStatus(s);

  auto batch = std::make_shared<Batch>(request.pieces_size());
  for (int i = 0; i < request.pieces_size(); ++i) {
    const pb::ReadPiece& piece = request.pieces(i);
    StorageTarget* target = FindTarget(piece.target_id());
    if (target == nullptr) {
      batch->results[i] =
          Error(Code::kStaleRouting, "target " + std::to_string(piece.target_id()) + " is not served by this node");
      continue;
    }
    batch->done.Add(1);
    ChunkId id{piece.inode(), piece.chunk_index()};
    asio::co_spawn(executor_, target->store().Read(id, piece.offset(), piece.length()),
                   [batch, i](std::exception_ptr e, Result<ChunkData> result) {
                     batch->results[i] =
                         e ? Result<ChunkData>(Error(Code::kInternal, "piece read threw")) : std::move(result);
                     batch->done.Done();
                   });
  }
  co_await batch->done.Wait();

  pb::BatchReadReply reply_body;
  RpcReply reply;
  for (const auto& r : batch->results) {
    *reply_body.add_results() = ToPieceResult(r);
    if (r.ok() && r->length() > 0) reply.payload.emplace_back(r->data().data(), r->length());
  }
  reply.body = reply_body.SerializeAsString();
  reply.keepalive = batch;  // the payload points into the pieces' read buffers
  co_return reply;
}

Task<RpcReply> StorageService::HandleWriteChunk(RpcRequest& raw) {
  ActiveScope active(active_);
  pb::WriteChunkRequest request;
  if (Status s = ParseMessage(request, raw.body, "WriteChunkRequest"); !s.ok()) co_return RpcReply::FromStatus(s);
  StorageTarget* target = FindTarget(request.target_id());
  if (target == nullptr) {
    co_return RpcReply::FromStatus(
        Error(Code::kStaleRouting, "target " + std::to_string(request.target_id()) + " is not served by this node"));
  }
  AlignedPayload payload{&raw.payload_buffer, raw.payload_offset, raw.payload_len};
  ChunkId id{request.inode(), request.chunk_index()};
  Result<WriteResult> written = co_await target->store().Write(id, request.offset(), payload, request.chunk_size());
  if (!written.ok()) {
    LOG_DEBUG << "write chunk " << id.ToString() << " failed: " << written.status().ToString();
    co_return RpcReply::FromStatus(written.status());
  }
  pb::WriteChunkReply reply_body;
  reply_body.set_chunk_length(static_cast<uint32_t>(written->chunk_length));
  reply_body.set_version(written->version);
  RpcReply reply;
  reply.body = reply_body.SerializeAsString();
  co_return reply;
}

}  // namespace zcfs
