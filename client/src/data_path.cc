// Client data path: reads placed straight into the caller's buffer, writes sent from it.
#include <cstring>

#include "client_impl.h"
#include "read_batch.h"
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

Task<Result<std::map<std::string, std::vector<ChunkPiece>>>> ClientImpl::GroupByNode(
    const std::vector<ChunkPiece>& pieces) {
  for (int attempt = 0;; ++attempt) {
    std::map<std::string, std::vector<ChunkPiece>> groups;
    Status missing;
    for (const auto& piece : pieces) {
      auto address = routing_.AddressOf(piece.target_id);
      if (!address.ok()) {
        missing = address.status();
        break;
      }
      groups[*address].push_back(piece);
    }
    if (missing.ok()) co_return groups;
    if (attempt > 0) co_return missing;
    Status refreshed = co_await RefreshRouting();
    if (!refreshed.ok()) co_return refreshed;
  }
}

Task<Result<size_t>> ClientImpl::ReadAsync(FileInfo file, uint64_t offset, std::span<std::byte> dst) {
  if (file.is_dir()) co_return Error(Code::kIsDirectory, "inode " + std::to_string(file.ino) + " is a directory");
  if (offset >= file.size || dst.empty()) co_return size_t{0};
  size_t length = static_cast<size_t>(std::min<uint64_t>(dst.size(), file.size - offset));
  auto pieces = plan_chunk_pieces(file.chunk_size, file.targets, offset, length);
  if (!pieces.ok()) co_return pieces.status();
  auto groups = co_await GroupByNode(*pieces);
  if (!groups.ok()) co_return groups.status();

  auto region = transport_.RegisterMemory(dst.data(), length);
  if (!region.ok()) co_return region.status();
  RegionGuard guard(transport_, region->id);
  std::vector<Task<Status>> reads;
  for (auto& [address, node_pieces] : *groups) {
    // The server refuses batches over batch_read::kMax*; smaller ones also pipeline (read_batch.h).
    for (auto& batch : split_into_batches(std::move(node_pieces), kClientBatchBytes, batch_read::kMaxPieces)) {
      reads.push_back(ReadFromNode(address, file.ino, std::move(batch), *region));
    }
  }
  Status status = first_error(co_await gather(io_.executor(), std::move(reads)));
  if (!status.ok()) co_return status;
  co_return length;
}

// One batched request to one storage node. The reply payload is placed piece by piece into the
// caller's region; pieces the node returns short (past the chunk's end) are holes and read as zeros.
Task<Status> ClientImpl::ReadFromNode(std::string address, uint64_t ino, std::vector<ChunkPiece> pieces,
                                      RegionHandle region) {
  auto channel = co_await transport_.Channel(address);
  if (!channel.ok()) co_return Status(channel.status()).Prepend("storage " + address);
  pb::BatchReadRequest request;
  for (const auto& p : pieces) {
    auto* piece = request.add_pieces();
    piece->set_inode(ino);
    piece->set_chunk_index(p.chunk_index);
    piece->set_target_id(p.target_id);
    piece->set_offset(p.chunk_offset);
    piece->set_length(p.length);
    piece->set_region_id(region.id);
    piece->set_region_offset(p.buffer_offset);
  }
  request.set_want_crc32c(options_.verify_checksums);
  auto reply = std::make_shared<pb::BatchReadReply>();
  CallOptions options;
  options.timeout = options_.rpc_timeout;
  options.placement = [this, reply, &pieces, region](const FrameHeader&,
                                                     std::string_view body) -> Result<std::vector<asio::mutable_buffer>> {
    RETURN_IF_ERROR(ParseMessage(*reply, body, "batch read reply"));
    if (static_cast<size_t>(reply->results_size()) != pieces.size()) {
      return Error(Code::kProtocolError, "batch read reply has the wrong number of results");
    }
    std::vector<asio::mutable_buffer> destination;
    for (size_t i = 0; i < pieces.size(); ++i) {
      const auto& result = reply->results(static_cast<int>(i));
      if (result.status() != 0 || result.length() == 0) continue;
      if (result.length() > pieces[i].length) return Error(Code::kProtocolError, "storage returned more than asked");
      ASSIGN_OR_RETURN(auto span, transport_.Resolve(region.id, pieces[i].buffer_offset, result.length()));
      destination.emplace_back(span.data(), span.size());
    }
    return destination;
  };
  auto response = co_await (*channel)->Call(method::kBatchRead, request.SerializeAsString(), std::move(options));
  if (!response.ok()) co_return Status(response.status()).Prepend("storage " + address);
  if (response->payload_len == 0) {  // no placement ran: parse the reply here
    Status parsed = ParseMessage(*reply, response->body, "batch read reply");
    if (!parsed.ok()) co_return parsed;
    if (static_cast<size_t>(reply->results_size()) != pieces.size()) {
      co_return Error(Code::kProtocolError, "batch read reply has the wrong number of results");
    }
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto& result = reply->results(static_cast<int>(i));
    if (result.status() != 0) {
      co_return Status(code_from_wire(static_cast<uint16_t>(result.status())),
                       "storage " + address + " chunk " + std::to_string(ino) + "." +
                           std::to_string(pieces[i].chunk_index) + ": " + result.message());
    }
    if (options_.verify_checksums && result.length() > 0) {
      auto received = transport_.Resolve(region.id, pieces[i].buffer_offset, result.length());
      if (!received.ok()) co_return received.status();
      Status intact =
          verify_piece_crc32c(*received, result.crc32c(), address, ino, pieces[i].chunk_index, pieces[i].chunk_offset);
      if (!intact.ok()) co_return intact;
    }
    if (result.length() < pieces[i].length) {
      auto hole = transport_.Resolve(region.id, pieces[i].buffer_offset + result.length(),
                                     pieces[i].length - result.length());
      if (!hole.ok()) co_return hole.status();
      std::memset(hole->data(), 0, hole->size());  // a hole: never written, reads as zeros
    }
  }
  co_return Status::Ok();
}

Task<Status> ClientImpl::WriteAsync(FileInfo file, uint64_t offset, std::span<const std::byte> src) {
  if (!file.is_file()) co_return Error(Code::kIsDirectory, "inode " + std::to_string(file.ino) + " is not a file");
  if (src.empty()) co_return Status::Ok();
  auto pieces = plan_chunk_pieces(file.chunk_size, file.targets, offset, src.size());
  if (!pieces.ok()) co_return pieces.status();
  auto groups = co_await GroupByNode(*pieces);  // resolves every target before anything is sent
  if (!groups.ok()) co_return groups.status();
  std::vector<Task<Status>> writes;
  for (const auto& piece : *pieces) writes.push_back(WriteChunkPiece(file.ino, file.chunk_size, piece, src));
  co_return first_error(co_await gather(io_.executor(), std::move(writes)));
}

Task<Status> ClientImpl::WriteChunkPiece(uint64_t ino, uint32_t chunk_size, ChunkPiece piece,
                                         std::span<const std::byte> src) {
  auto address = routing_.AddressOf(piece.target_id);
  if (!address.ok()) co_return address.status();
  auto channel = co_await transport_.Channel(*address);
  if (!channel.ok()) co_return Status(channel.status()).Prepend("storage " + *address);
  pb::WriteChunkRequest request;
  request.set_inode(ino);
  request.set_chunk_index(piece.chunk_index);
  request.set_target_id(piece.target_id);
  request.set_offset(piece.chunk_offset);
  request.set_chunk_size(chunk_size);
  CallOptions options;
  options.timeout = options_.rpc_timeout;
  options.payload.emplace_back(src.data() + piece.buffer_offset, piece.length);  // sent from the caller's memory
  auto response = co_await (*channel)->Call(method::kWriteChunk, request.SerializeAsString(), std::move(options));
  if (!response.ok()) co_return Status(response.status()).Prepend("storage " + *address);
  co_return Status::Ok();
}

}  // namespace zcfs
