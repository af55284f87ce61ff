#include "zcfs/proto/frame_writer.h"

namespace zcfs {
namespace {

// The frame as the pieces of one gathered write, without its first `skip` bytes (already sent).
std::vector<asio::const_buffer> frame_pieces(const OutgoingFrame& frame, const FrameHeaderBytes& header, size_t skip) {
  std::vector<asio::const_buffer> pieces;
  pieces.reserve(2 + frame.payload.size());
  pieces.emplace_back(header.data(), header.size());
  if (!frame.body.empty()) pieces.emplace_back(frame.body.data(), frame.body.size());
  for (const auto& b : frame.payload) pieces.push_back(b);
  size_t first = 0;
  while (first < pieces.size() && skip >= pieces[first].size()) skip -= pieces[first++].size();
  pieces.erase(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(first));
  if (!pieces.empty()) pieces.front() += skip;
  return pieces;
}

}  // namespace

void FrameWriter::Send(OutgoingFrame frame, std::shared_ptr<void> owner, OnError on_error) {
  frame.header.body_len = static_cast<uint32_t>(frame.body.size());
  frame.header.payload_len = asio::buffer_size(frame.payload);
  if (!draining_) {
    // Nothing queued: write at once from this thread. Most replies go out whole, without a round
    // through the scheduler; an error or a full socket buffer leaves the rest to Drain().
    boost::system::error_code ec;
    if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
    FrameHeaderBytes header = encode_frame_header(frame.header);
    size_t frame_size = kFrameHeaderSize + frame.body.size() + frame.header.payload_len;
    size_t sent = ec ? 0 : socket_.write_some(frame_pieces(frame, header, 0), ec);
    if (!ec && sent == frame_size) return;
    frame.sent = ec ? 0 : sent;
  }
  queue_.push_back(std::move(frame));
  if (draining_) return;
  draining_ = true;
  asio::co_spawn(socket_.get_executor(), Drain(std::move(owner), std::move(on_error)), asio::detached);
}

Task<> FrameWriter::Drain(std::shared_ptr<void> owner, OnError on_error) {
  while (!queue_.empty()) {
    OutgoingFrame& frame = queue_.front();
    FrameHeaderBytes header = encode_frame_header(frame.header);
    boost::system::error_code ec;
    co_await asio::async_write(socket_, frame_pieces(frame, header, frame.sent),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      queue_.clear();
      draining_ = false;
      on_error(ec);
      co_return;
    }
    queue_.pop_front();
  }
  draining_ = false;
}

}  // namespace zcfs
