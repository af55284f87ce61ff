#include "chain_replicator.h"

#include "zcfs/proto/layout_rules.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::storage_internal {
namespace {

std::string chain_name(uint32_t chain_id) { return "chain " + std::to_string(chain_id); }

std::span<const std::byte> Bytes(const AlignedPayload& payload) {
  if (payload.length == 0) return {};
  return {payload.buffer->data() + payload.data_offset, payload.length};
}

}  // namespace

AsyncMutex& ChainReplicator::LockFor(uint32_t target_id, ChunkId id) {
  std::lock_guard lock(mutex_);
  auto& stripes = locks_[target_id];
  if (!stripes) stripes = std::make_unique<AsyncMutex[]>(kStripes);
  return stripes[(id.inode * 0x9e3779b97f4a7c15ull + id.index) % kStripes];
}

Result<pb::Chain> ChainReplicator::CheckWritable(uint32_t target_id, uint32_t chain_id, uint64_t chain_version) const {
  RETURN_IF_ERROR(view_.CheckLease());
  ASSIGN_OR_RETURN(std::shared_ptr<const pb::Chain> known, view_.Chain(chain_id));
  const pb::Chain& chain = *known;
  if (chain.version() != chain_version) {
    return Error(Code::kStaleRouting, chain_name(chain_id) + " is at version " + std::to_string(chain.version()) +
                                          " on this node; the write carries version " + std::to_string(chain_version));
  }
  const pb::ChainMember* member = chain_member(chain, target_id);
  if (member == nullptr || !receives_writes(member->state())) {
    return Error(Code::kStaleRouting,
                 "target " + std::to_string(target_id) + " takes no writes of " + chain_name(chain_id));
  }
  return chain;
}

Task<Result<pb::Chain>> ChainReplicator::CheckWritableNow(uint32_t target_id, uint32_t chain_id,
                                                          uint64_t chain_version) {
  Result<pb::Chain> chain = CheckWritable(target_id, chain_id, chain_version);
  if (chain.ok() || !refresh_) co_return chain;
  Result<std::shared_ptr<const pb::Chain>> known = view_.Chain(chain_id);
  if (known.ok() && (*known)->version() >= chain_version) co_return chain;  // the writer is behind, not this node
  Status refreshed = co_await refresh_();
  if (!refreshed.ok()) co_return chain;
  co_return CheckWritable(target_id, chain_id, chain_version);
}

Status ChainReplicator::CheckReadable(uint32_t target_id, uint32_t chain_id) const {
  RETURN_IF_ERROR(view_.CheckLease());
  ASSIGN_OR_RETURN(std::shared_ptr<const pb::Chain> known, view_.Chain(chain_id));
  const pb::Chain& chain = *known;
  const pb::ChainMember* member = chain_member(chain, target_id);
  if (member == nullptr || !serves_reads(member->state())) {
    return Error(Code::kStaleRouting, "target " + std::to_string(target_id) + " does not serve reads of " +
                                          chain_name(chain_id) + " (v" + std::to_string(chain.version()) + ")");
  }
  return Status::Ok();
}

Task<Result<WriteResult>> ChainReplicator::Write(StorageTarget& target, const pb::WriteChunkRequest& request,
                                                 AlignedPayload payload) {
  Result<pb::Chain> chain = co_await CheckWritableNow(target.id(), request.chain_id(), request.chain_version());
  if (!chain.ok()) co_return chain.status();
  const ChunkId id{request.inode(), request.chunk_index()};
  AsyncMutex::Guard guard = co_await LockFor(target.id(), id).Lock();
  const std::optional<pb::ChainMember> next = chain_successor(*chain, target.id());
  const bool forward_first = next && next->state() == pb::TARGET_STATE_SERVING;
  Result<WriteResult> stored = Error(Code::kInternal, "not written");
  if (forward_first && !request.replace()) {
    stored = co_await WriteWhileForwarding(target, request, payload, next->target_id());
  } else {
    if (forward_first) {  // a replacement: forwarded whole, then stored
      pb::WriteChunkRequest forwarded = request;
      forwarded.set_target_id(next->target_id());
      Status sent = co_await Send(next->target_id(), forwarded, Bytes(payload));
      if (!sent.ok()) co_return sent;
    }
    if (request.replace()) {
      stored = co_await target.store().Replace(id, payload, request.version());
    } else {
      stored = co_await target.store().Write(id, request.offset(), payload, request.chunk_size());
    }
  }
  if (!stored.ok()) co_return stored.status();
  if (next && next->state() == pb::TARGET_STATE_SYNCING) {
    Result<uint64_t> sent = co_await SendWhole(target, *chain, next->target_id(), id);
    if (!sent.ok()) co_return sent.status();
  }
  co_return stored;
}

Task<Result<WriteResult>> ChainReplicator::WriteWhileForwarding(StorageTarget& target, pb::WriteChunkRequest request,
                                                                AlignedPayload payload, uint32_t successor) {
  // The successor's write and this one's data write run at once; this one commits only once the
  // successor acknowledged (BeforeCommit), so the tail still commits first.
  Forward forward;
  forward.done.Add(1);
  pb::WriteChunkRequest forwarded = request;
  forwarded.set_target_id(successor);
  auto executor = co_await asio::this_coro::executor;
  asio::co_spawn(executor, ForwardTo(&forward, successor, std::move(forwarded), Bytes(payload)), asio::detached);
  Forward* state = &forward;
  Result<WriteResult> stored =
      co_await target.store().Write({request.inode(), request.chunk_index()}, request.offset(), payload,
                                    request.chunk_size(), [state] { return ForwardDone(state); });
  co_await forward.done.Wait();  // it sends from the request's memory and reports here: wait for its end
  if (!forward.status.ok()) co_return forward.status;
  co_return stored;
}

Task<> ChainReplicator::ForwardTo(Forward* forward, uint32_t successor, pb::WriteChunkRequest request,
                                  std::span<const std::byte> payload) {
  forward->status = co_await Send(successor, request, payload);
  forward->done.Done();
}

Task<Status> ChainReplicator::ForwardDone(Forward* forward) {
  co_await forward->done.Wait();
  co_return forward->status;
}

Task<Result<uint64_t>> ChainReplicator::CopyChunk(StorageTarget& source, const pb::Chain& chain, uint32_t successor,
                                                  ChunkId id) {
  AsyncMutex::Guard guard = co_await LockFor(source.id(), id).Lock();
  co_return co_await SendWhole(source, chain, successor, id);
}

Task<Result<uint64_t>> ChainReplicator::SendWhole(StorageTarget& source, const pb::Chain& chain, uint32_t successor,
                                                  ChunkId id) {
  pb::WriteChunkRequest request;
  request.set_inode(id.inode);
  request.set_chunk_index(id.index);
  request.set_target_id(successor);
  request.set_chain_id(chain.chain_id());
  request.set_chain_version(chain.version());
  request.set_replace(true);
  Result<std::optional<ChunkMeta>> meta = source.store().GetMeta(id);
  if (!meta.ok()) co_return meta.status();
  if (!meta->has_value()) {  // gone here: gone there too
    Status sent = co_await Send(successor, request, {});
    if (!sent.ok()) co_return sent;
    co_return uint64_t{0};
  }
  Result<ChunkData> data = co_await source.store().Read(id, 0, (*meta)->length);
  if (!data.ok()) co_return data.status();
  request.set_version((*meta)->version);
  Status sent = co_await Send(successor, request, data->data());
  if (!sent.ok()) co_return sent;
  co_return uint64_t{data->length()};
}

Task<Status> ChainReplicator::Send(uint32_t successor, const pb::WriteChunkRequest& request,
                                   std::span<const std::byte> payload) {
  Result<std::string> address = view_.AddressOf(successor);
  if (!address.ok()) co_return address.status();
  auto channel = co_await peers_.Channel(*address);
  if (!channel.ok()) co_return Status(channel.status()).Prepend("forward to target " + std::to_string(successor));
  CallOptions options;
  if (!payload.empty()) options.payload.emplace_back(payload.data(), payload.size());
  auto reply = co_await CallPb<pb::WriteChunkReply>(**channel, method::kWriteChunk, request, std::move(options));
  if (!reply.ok()) {
    co_return Status(reply.status()).Prepend("forward to target " + std::to_string(successor) + " at " + *address);
  }
  co_return Status::Ok();
}

}  // namespace zcfs::storage_internal
