// Client data path: reads placed straight into the caller's buffer, writes sent from it.
#include <optional>

#include "client_impl.h"
#include "zcfs/proto/gather.h"
#include "zcfs/proto/methods.h"

namespace zcfs {
namespace {

// Deregisters a region when the read is over, however it ends.
class RegionGuard {
 public:
  RegionGuard(Transport& transport, uint64_t id) : transport_(transport), id_(id) {}
  ~RegionGuard() { transport_.DeregisterMemory(id_).IgnoreError(); }
  RegionGuard(const RegionGuard&) = delete;
  RegionGuard& operator=(const RegionGuard&) = delete;

 private:
  Transport& transport_;
  uint64_t id_;
};

Status first_error(const std::vector<Status>& statuses) {
  for (const auto& s : statuses) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Task<Result<size_t>> ClientImpl::ReadAsync(FileInfo file, uint64_t offset, std::span<std::byte> dst) {
  if (file.is_dir()) co_return Error(Code::kIsDirectory, "inode " + std::to_string(file.ino) + " is a directory");
  if (offset >= file.size || dst.empty()) co_return size_t{0};
  size_t length = static_cast<size_t>(std::min<uint64_t>(dst.size(), file.size - offset));
  auto chunks = plan_chunk_pieces(file.chunk_size, file.chains, offset, length);
  if (!chunks.ok()) co_return chunks.status();

  // Memory inside a registered buffer (AllocateBuffer/RegisterBuffer: the FUSE daemon's per-thread
  // buffers, its read-ahead) is read into through that buffer's region; any other memory is
  // registered for this call only, which costs a memory registration per read on RDMA.
  BufferSlice slice;
  std::optional<RegionGuard> guard;
  if (auto found = buffers_->Find(dst.data(), length); found.ok()) {
    slice = std::move(*found);
  } else {
    auto region = transport_->RegisterMemory(dst.data(), length);
    if (!region.ok()) co_return region.status();
    guard.emplace(*transport_, region->id);
    slice.region_id = region->id;  // no BufferLife: the caller holds its memory until the read ends
  }
  std::vector<PlacedPiece> pieces;
  for (const auto& chunk : *chunks) {
    pieces.push_back(place_piece(file.ino, chunk, slice, 0));
  }
  BatchPlan plan = co_await PlanBatches(std::move(pieces));
  if (!plan.unroutable.empty()) co_return plan.unroutable.front().second;
  Deadline deadline = DeadlineAfter(options_.rpc_timeout);
  std::vector<Task<std::vector<Status>>> reads;
  for (auto& batch : plan.batches) reads.push_back(ReadBatch(std::move(batch), deadline));
  for (const auto& statuses : co_await gather(io_.executor(), std::move(reads))) {
    Status status = first_error(statuses);
    if (!status.ok()) co_return status;
  }
  co_return length;
}

Task<Status> ClientImpl::WriteAsync(FileInfo file, uint64_t offset, std::span<const std::byte> src) {
  if (!file.is_file()) co_return Error(Code::kIsDirectory, "inode " + std::to_string(file.ino) + " is not a file");
  if (src.empty()) co_return Status::Ok();
  auto pieces = plan_chunk_pieces(file.chunk_size, file.chains, offset, src.size());
  if (!pieces.ok()) co_return pieces.status();
  for (const auto& piece : *pieces) {  // every chain known before anything is sent
    if (!routing_.Head(piece.chain_id).ok()) {
      Status refreshed = co_await RefreshRouting();
      if (!refreshed.ok()) co_return refreshed;
      break;
    }
  }
  std::vector<Task<Status>> writes;
  for (const auto& piece : *pieces) writes.push_back(WriteChunkPiece(file.ino, file.chunk_size, piece, src));
  co_return first_error(co_await gather(io_.executor(), std::move(writes)));
}

Task<Status> ClientImpl::WriteChunkPiece(uint64_t ino, uint32_t chunk_size, ChunkPiece piece,
                                         std::span<const std::byte> src) {
  // To the chain's head, which passes it down the chain: the reply means every replica has it.
  auto head = routing_.Head(piece.chain_id);
  if (!head.ok()) co_return head.status();
  const std::string& address = head->address;
  auto channel = co_await transport_->Channel(address, NextLane());
  if (!channel.ok()) co_return Status(channel.status()).Prepend("storage " + address);
  pb::WriteChunkRequest request;
  request.set_inode(ino);
  request.set_chunk_index(piece.chunk_index);
  request.set_target_id(head->target_id);
  request.set_offset(piece.chunk_offset);
  request.set_chunk_size(chunk_size);
  request.set_chain_id(piece.chain_id);
  request.set_chain_version(head->chain_version);
  CallOptions options;
  options.timeout = options_.rpc_timeout;
  options.payload.emplace_back(src.data() + piece.buffer_offset, piece.length);  // sent from the caller's memory
  auto response = co_await (*channel)->Call(method::kWriteChunk, request.SerializeAsString(), std::move(options));
  if (!response.ok()) co_return Status(response.status()).Prepend("storage " + address);
  co_return Status::Ok();
}

}  // namespace zcfs
