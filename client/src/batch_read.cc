// Client batched reads: pieces of any files grouped by storage node, one BatchRead per batch, the
// reply payload placed straight into registered memory (TCP: read from the socket into it when the
// reply comes; RDMA: written there by the server before the reply, into destinations named with the
// request); a piece is read from one SERVING replica of its chunk's chain, and a piece whose replica
// failed (its node died, moved, was fenced or returned a bad block) is read again from another one.
//
// Holes: a replica returns a chunk only as far as it holds it, and the file's size may reach past
// that (a sparse file: truncated longer, or written past a gap). Such a short answer reads as zeros
// only once a second SERVING replica agrees; if the second one holds bytes there, the first lost
// data: the read takes the second one's bytes, and the meta server is told, which resyncs the first.
// The price is one more request for each read of a hole, and only with replication.
#include <cstring>

#include "client_impl.h"
#include "read_batch.h"
#include "zcfs/proto/gather.h"
#include "zcfs/proto/methods.h"

namespace zcfs {
namespace {

std::chrono::milliseconds time_left(ClientImpl::Deadline deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ClientImpl::Deadline::clock::now());
}

// Failures another replica (or a fresh routing table) may cure: the node is gone from its address
// (refused, reset), silent, no longer serves the target, or holds a bad copy.
bool another_replica_may_help(const Status& status) {
  switch (status.code()) {
    case Code::kUnavailable:
    case Code::kStaleRouting:
    case Code::kTimeout:
    case Code::kChecksumMismatch:
    case Code::kIoError:
    case Code::kCorruption:
      return true;
    default:
      return false;
  }
}

// Rounds of retries on other replicas after the first read, and the pause before each (after the
// first): a replica that died is taken out of its chain only after its lease, so later rounds give
// the routing table time to move on.
constexpr int kReadRetryRounds = 4;
constexpr std::chrono::milliseconds kRetryPause{100};

// The deadline of one attempt: half of what is left of the read's, so that a replica that froze
// (its connection open, no reply) leaves time to ask another one. The last attempt gets all of it.
ClientImpl::Deadline attempt_deadline(ClientImpl::Deadline deadline, bool last) {
  if (last) return deadline;
  return ClientImpl::Deadline::clock::now() + std::max(time_left(deadline), std::chrono::milliseconds(0)) / 2;
}

// Spreads the reads of a file's chunks over their chains' replicas.
uint64_t spread_of(const PlacedPiece& piece) { return piece.ino * 0x9e3779b97f4a7c15ull + piece.chunk.chunk_index; }

std::string chunk_name(const PlacedPiece& piece) {
  return "chunk " + std::to_string(piece.ino) + "." + std::to_string(piece.chunk.chunk_index);
}

pb::BatchReadRequest batch_request(const std::vector<PlacedPiece>& pieces, bool want_crc32c) {
  pb::BatchReadRequest request;
  for (const auto& p : pieces) {
    auto* piece = request.add_pieces();
    piece->set_inode(p.ino);
    piece->set_chunk_index(p.chunk.chunk_index);
    piece->set_target_id(p.target_id);
    piece->set_chain_id(p.chunk.chain_id);
    piece->set_offset(p.chunk.chunk_offset);
    piece->set_length(p.chunk.length);
    piece->set_region_id(p.region_id);
    piece->set_region_offset(p.region_offset);
  }
  request.set_want_crc32c(want_crc32c);
  return request;
}

Status check_result_count(const pb::BatchReadReply& reply, size_t pieces) {
  if (static_cast<size_t>(reply.results_size()) == pieces) return Status::Ok();
  return Error(Code::kProtocolError, "batch read reply has the wrong number of results");
}

// A result per piece, none longer than its piece asked for.
Status check_reply(const pb::BatchReadReply& reply, const std::vector<PlacedPiece>& pieces) {
  RETURN_IF_ERROR(check_result_count(reply, pieces.size()));
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (reply.results(static_cast<int>(i)).length() > pieces[i].chunk.length)
      return Error(Code::kProtocolError, "storage returned more than asked");
  }
  return Status::Ok();
}

}  // namespace

Task<ClientImpl::BatchPlan> ClientImpl::PlanBatches(std::vector<PlacedPiece> pieces) {
  BatchPlan plan;
  std::map<std::string, std::vector<PlacedPiece>> groups;
  bool refreshed = false;
  for (auto& p : pieces) {
    if (p.short_answer) {  // a second opinion, from another replica or nobody
      auto other = routing_.ReadReplica(p.chunk.chain_id, spread_of(p), p.tried, RoutingCache::WhenAllAvoided::kFail);
      if (!other.ok()) continue;  // the zeros in place stand
      p.target_id = other->target_id;
      p.chain_version = other->chain_version;
      groups[other->address].push_back(std::move(p));
      continue;
    }
    auto replica = routing_.ReadReplica(p.chunk.chain_id, spread_of(p), p.tried);
    if (!replica.ok() && !refreshed) {  // a chain the table does not know yet: once per plan
      refreshed = true;
      if ((co_await RefreshRouting()).ok()) replica = routing_.ReadReplica(p.chunk.chain_id, spread_of(p), p.tried);
    }
    if (!replica.ok()) {
      plan.unroutable.emplace_back(p.owner, Status(replica.status()).Prepend(chunk_name(p)));
      continue;
    }
    p.target_id = replica->target_id;
    p.chain_version = replica->chain_version;
    groups[replica->address].push_back(std::move(p));
  }
  for (auto& [address, node_pieces] : groups) {
    // The server refuses batches over batch_read::kMax*; smaller ones also pipeline (read_batch.h).
    for (auto& batch : split_into_batches(std::move(node_pieces), kClientBatchBytes, batch_read::kMaxPieces)) {
      plan.batches.push_back(NodeBatch{address, std::move(batch)});
    }
  }
  co_return plan;
}

Task<std::vector<Status>> ClientImpl::ReadBatch(NodeBatch batch, Deadline deadline) {
  std::vector<Status> statuses(batch.pieces.size());
  std::vector<PlacedPiece> again;  // owner: index in this batch
  std::vector<PieceRead> first =
      co_await ReadFromNode(batch.address, batch.pieces, attempt_deadline(deadline, kReadRetryRounds == 0));
  for (size_t i = 0; i < first.size(); ++i) {
    batch.pieces[i].owner = static_cast<uint32_t>(i);
    co_await SettlePiece(std::move(batch.pieces[i]), std::move(first[i]), deadline, statuses, again);
  }
  for (int round = 0; round < kReadRetryRounds && !again.empty() && time_left(deadline).count() > 0; ++round) {
    if (round > 0) {
      asio::steady_timer pause(co_await asio::this_coro::executor, std::min(kRetryPause * round, time_left(deadline)));
      co_await pause.async_wait(asio::use_awaitable);
    }
    // A failed refresh still leaves the other replicas of the table held.
    (void)co_await RefreshRouting();
    BatchPlan plan = co_await PlanBatches(std::move(again));
    again.clear();
    for (auto& [index, status] : plan.unroutable) statuses[index] = std::move(status);
    std::vector<Task<std::vector<PieceRead>>> reads;
    const ClientImpl::Deadline this_round = attempt_deadline(deadline, round + 1 == kReadRetryRounds);
    for (const auto& b : plan.batches) reads.push_back(ReadFromNode(b.address, b.pieces, this_round));
    auto results = co_await gather(io_.executor(), std::move(reads));
    for (size_t b = 0; b < plan.batches.size(); ++b) {
      auto& pieces = plan.batches[b].pieces;
      for (size_t i = 0; i < pieces.size() && i < results[b].size(); ++i) {
        co_await SettlePiece(std::move(pieces[i]), std::move(results[b][i]), deadline, statuses, again);
      }
    }
  }
  co_return statuses;
}

Task<void> ClientImpl::SettlePiece(PlacedPiece piece, PieceRead read, Deadline deadline, std::vector<Status>& statuses,
                                   std::vector<PlacedPiece>& again) {
  // A second opinion never fails the read: its piece already holds the zeros the first answer meant.
  const bool second_opinion = piece.short_answer.has_value();
  if (!read.status.ok()) {
    if (!second_opinion) statuses[piece.owner] = read.status;
    if (another_replica_may_help(read.status)) {
      piece.tried.push_back(piece.target_id);
      again.push_back(std::move(piece));
    }
    co_return;
  }
  if (!second_opinion) statuses[piece.owner] = Status::Ok();
  if (second_opinion && read.length > 0) co_await ReportMissingData(piece, read.length, deadline);
  if (read.length == piece.chunk.length) co_return;
  if (second_opinion && read.length == 0) co_return;  // two replicas hold nothing there: a hole
  if (!second_opinion) {
    Status zeroed = ZeroFill(piece, read.length);
    if (!zeroed.ok()) {
      statuses[piece.owner] = std::move(zeroed);
      co_return;
    }
  }
  // Ask another replica about the rest (PlanBatches drops it if there is none).
  PlacedPiece rest = std::move(piece);
  rest.short_answer = ShortAnswer{rest.target_id, rest.chain_version};
  rest.tried.push_back(rest.target_id);
  rest.chunk.chunk_offset += read.length;
  rest.chunk.length -= read.length;
  rest.region_offset += read.length;
  again.push_back(std::move(rest));
}

Status ClientImpl::ZeroFill(const PlacedPiece& piece, uint64_t from) {
  PinSet pins;
  if (!pins.Hold(piece.life.get())) {
    return Error(Code::kCancelled, "the destination buffer was released while " + chunk_name(piece) + " was read");
  }
  ASSIGN_OR_RETURN(auto hole, transport_->Resolve(piece.region_id, piece.region_offset + from, piece.chunk.length - from));
  std::memset(hole.data(), 0, hole.size());
  return Status::Ok();
}

Task<void> ClientImpl::ReportMissingData(const PlacedPiece& piece, uint64_t found, Deadline deadline) {
  pb::MissingDataReport report;
  report.set_chain_id(piece.chunk.chain_id);
  report.set_chain_version(piece.short_answer->chain_version);
  report.set_target_id(piece.short_answer->target_id);
  report.set_inode(piece.ino);
  report.set_chunk_index(piece.chunk.chunk_index);
  report.set_held_until(static_cast<uint32_t>(piece.chunk.chunk_offset));
  report.set_found_until(static_cast<uint32_t>(piece.chunk.chunk_offset + found));
  // Best effort, inside the read's deadline: the read has its bytes either way, and a report refused
  // as stale means another reader's got there first.
  const auto timeout = std::max(time_left(deadline), std::chrono::milliseconds(1));
  (void)co_await MetaCallAsync<pb::EmptyReply>(method::kReportMissingData, report, timeout);
}

// Where the reply payload of a batch goes: each successful piece's bytes into its region, except
// pieces whose buffer was released before the reply came - those are read into `sink` and dropped.
Result<std::vector<asio::mutable_buffer>> ClientImpl::PlaceReply(const std::vector<PlacedPiece>& pieces,
                                                                 const pb::BatchReadReply& reply, PinSet& pins,
                                                                 std::vector<char>& released,
                                                                 std::vector<std::byte>& sink) {
  RETURN_IF_ERROR(check_reply(reply, pieces));
  size_t sunk = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto& result = reply.results(static_cast<int>(i));
    if (result.status() != 0 || result.length() == 0) continue;
    if (!pins.Hold(pieces[i].life.get())) {
      released[i] = 1;
      sunk += result.length();
    }
  }
  sink.resize(sunk);
  sunk = 0;
  std::vector<asio::mutable_buffer> destination;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto& result = reply.results(static_cast<int>(i));
    if (result.status() != 0 || result.length() == 0) continue;
    if (released[i]) {
      destination.emplace_back(sink.data() + sunk, result.length());
      sunk += result.length();
      continue;
    }
    ASSIGN_OR_RETURN(auto span, transport_->Resolve(pieces[i].region_id, pieces[i].region_offset, result.length()));
    destination.emplace_back(span.data(), span.size());
  }
  return destination;
}

Result<std::vector<asio::mutable_buffer>> ClientImpl::ReplySegments(const std::vector<PlacedPiece>& pieces,
                                                                    PinSet& pins, std::vector<char>& released,
                                                                    std::vector<std::byte>& sink) {
  size_t sunk = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (pins.Hold(pieces[i].life.get())) continue;
    released[i] = 1;
    sunk += pieces[i].chunk.length;
  }
  sink.resize(sunk);
  sunk = 0;
  std::vector<asio::mutable_buffer> segments;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const uint64_t length = pieces[i].chunk.length;
    if (released[i]) {
      segments.emplace_back(sink.data() + sunk, length);
      sunk += length;
      continue;
    }
    ASSIGN_OR_RETURN(auto span, transport_->Resolve(pieces[i].region_id, pieces[i].region_offset, length));
    segments.emplace_back(span.data(), span.size());
  }
  return segments;
}

// One batched request to one storage node; one status per piece. Connection failures and timeouts
// fail every piece.
Task<std::vector<ClientImpl::PieceRead>> ClientImpl::ReadFromNode(std::string address, std::vector<PlacedPiece> pieces,
                                                                  Deadline deadline) {
  auto every_piece = [&](Status status) {
    return std::vector<PieceRead>(pieces.size(), PieceRead{status.Prepend("storage " + address)});
  };
  if (time_left(deadline).count() <= 0)
    co_return every_piece(Error(Code::kTimeout, "read timed out before it was sent"));
  auto channel = co_await transport_->Channel(address, NextLane());
  if (!channel.ok()) co_return every_piece(channel.status());
  auto reply = std::make_shared<pb::BatchReadReply>();
  PinSet pins;                                // outlives the call: its placement writes while pinned
  std::vector<char> released(pieces.size());  // the piece's buffer went before its bytes came
  std::vector<std::byte> sink;
  CallOptions options;
  options.timeout = std::max(time_left(deadline), std::chrono::milliseconds(1));
  const bool peer_places = transport_->peer_places_replies();
  if (peer_places) {
    auto segments = ReplySegments(pieces, pins, released, sink);
    if (!segments.ok()) co_return every_piece(segments.status());
    options.reply_segments = std::move(segments).value();
  }
  options.placement = [&](const FrameHeader&, std::string_view body) -> Result<std::vector<asio::mutable_buffer>> {
    RETURN_IF_ERROR(ParseMessage(*reply, body, "batch read reply"));
    if (!peer_places) return PlaceReply(pieces, *reply, pins, released, sink);
    RETURN_IF_ERROR(check_reply(*reply, pieces));  // the bytes are already where ReplySegments said
    return std::vector<asio::mutable_buffer>();
  };
  auto request = batch_request(pieces, options_.verify_checksums);
  auto response = co_await (*channel)->Call(method::kBatchRead, request.SerializeAsString(), std::move(options));
  if (!response.ok()) co_return every_piece(response.status());
  if (response->payload_len == 0) {  // no placement ran: parse the reply here
    Status parsed = ParseMessage(*reply, response->body, "batch read reply");
    if (parsed.ok()) parsed = check_result_count(*reply, pieces.size());
    if (!parsed.ok()) co_return every_piece(parsed);
  }
  std::vector<PieceRead> reads;
  for (size_t i = 0; i < pieces.size(); ++i) {
    reads.push_back(FinishPiece(address, pieces[i], reply->results(static_cast<int>(i)), released[i], pins));
  }
  co_return reads;
}

// A piece's outcome once its bytes are in place: the server's verdict and the end-to-end checksum.
// What lies past the bytes returned is for SettlePiece to decide.
ClientImpl::PieceRead ClientImpl::FinishPiece(const std::string& address, const PlacedPiece& piece,
                                              const pb::PieceResult& result, bool released, PinSet& pins) {
  if (result.status() != 0) {
    return {Status(code_from_wire(static_cast<uint16_t>(result.status())),
                   "storage " + address + " " + chunk_name(piece) + ": " + result.message())};
  }
  if (released || !pins.Hold(piece.life.get())) {
    return {Error(Code::kCancelled, "the destination buffer was released while " + chunk_name(piece) + " was read")};
  }
  if (options_.verify_checksums && result.length() > 0) {
    auto received = transport_->Resolve(piece.region_id, piece.region_offset, result.length());
    if (!received.ok()) return {received.status()};
    Status verified = verify_piece_crc32c(*received, result.crc32c(), address, piece.ino, piece.chunk.chunk_index,
                                          piece.chunk.chunk_offset);
    if (!verified.ok()) return {std::move(verified)};
  }
  return {Status::Ok(), result.length()};
}

}  // namespace zcfs
