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

// The chunk sizes a file layout may have.
constexpr uint32_t kMinChunkSize = 64u << 10;
constexpr uint32_t kMaxChunkSize = 64u << 20;

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

Status StaleTarget(uint32_t target_id) {
  return Error(Code::kStaleRouting, "target " + std::to_string(target_id) + " is not served by this node");
}

// Parses a request addressed to one target and finds that target, or says what to reply instead.
template <typename Request>
Result<StorageTarget*> ParseForTarget(const StorageService& service, const RpcRequest& raw, Request& request,
                                      std::string_view what) {
  RETURN_IF_ERROR(ParseMessage(request, raw.body, what));
  StorageTarget* target = service.FindTarget(request.target_id());
  if (target == nullptr) return StaleTarget(request.target_id());
  return target;
}

RpcReply ReplyWith(const google::protobuf::MessageLite& body) {
  RpcReply reply;
  reply.body = body.SerializeAsString();
  return reply;
}

}  // namespace

StorageService::StorageService(asio::any_io_executor executor, std::vector<StorageTarget*> targets)
    : executor_(std::move(executor)), targets_(std::move(targets)) {}

void StorageService::RegisterWith(RpcServer& server) {
  server.Register(method::kBatchRead, [this](RpcRequest& r) { return HandleBatchRead(r); });
  server.Register(method::kWriteChunk, [this](RpcRequest& r) { return HandleWriteChunk(r); });
  server.Register(method::kTruncateChunks, [this](RpcRequest& r) { return HandleTruncateChunks(r); });
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
      batch->results[i] = StaleTarget(piece.target_id());
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
  Result<StorageTarget*> target = ParseForTarget(*this, raw, request, "WriteChunkRequest");
  if (!target.ok()) co_return RpcReply::FromStatus(target.status());
  AlignedPayload payload{&raw.payload_buffer, raw.payload_offset, raw.payload_len};
  ChunkId id{request.inode(), request.chunk_index()};
  Result<WriteResult> written = co_await (*target)->store().Write(id, request.offset(), payload, request.chunk_size());
  if (!written.ok()) {
    LOG_DEBUG << "write chunk " << id.ToString() << " failed: " << written.status().ToString();
    co_return RpcReply::FromStatus(written.status());
  }
  pb::WriteChunkReply reply_body;
  reply_body.set_chunk_length(static_cast<uint32_t>(written->chunk_length));
  reply_body.set_version(written->version);
  co_return ReplyWith(reply_body);
}

Task<RpcReply> StorageService::HandleTruncateChunks(RpcRequest& raw) {
  ActiveScope active(active_);
  pb::TruncateChunksRequest request;
  Result<StorageTarget*> target = ParseForTarget(*this, raw, request, "TruncateChunksRequest");
  if (!target.ok()) co_return RpcReply::FromStatus(target.status());
  const uint32_t chunk_size = request.chunk_size();
  if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize || (chunk_size & (chunk_size - 1)) != 0) {
    co_return RpcReply::FromStatus(Error(Code::kInvalidArgument, "chunk size " + std::to_string(chunk_size) +
                                                                     " is not a power of two in [64 KiB, 64 MiB]"));
  }
  // Off the connection's strand (as piece reads are): removing many chunks blocks on unlink, fsync and
  // synced commits, and the connection's other requests should not wait for that.
  Result<TruncateResult> done = co_await asio::co_spawn(
      executor_, (*target)->store().Truncate(request.inode(), request.length(), chunk_size), asio::use_awaitable);
  if (!done.ok()) {
    LOG_WARN << "truncate chunks of inode " << request.inode() << " on target " << request.target_id()
             << " failed: " << done.status().ToString();
    co_return RpcReply::FromStatus(done.status());
  }
  pb::TruncateChunksReply reply_body;
  reply_body.set_removed_chunks(done->removed_chunks);
  reply_body.set_truncated_chunks(done->truncated_chunks);
  co_return ReplyWith(reply_body);
}

}  // namespace zcfs
