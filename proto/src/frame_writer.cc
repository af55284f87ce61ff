#include "zcfs/proto/frame_writer.h"

namespace zcfs {

void FrameWriter::Send(OutgoingFrame frame, std::shared_ptr<void> owner, OnError on_error) {
  frame.header.body_len = static_cast<uint32_t>(frame.body.size());
  frame.header.payload_len = asio::buffer_size(frame.payload);
  queue_.push_back(std::move(frame));
  if (draining_) return;
  draining_ = true;
  asio::co_spawn(socket_.get_executor(), Drain(std::move(owner), std::move(on_error)), asio::detached);
}

Task<> FrameWriter::Drain(std::shared_ptr<void> owner, OnError on_error) {
  while (!queue_.empty()) {
    OutgoingFrame& frame = queue_.front();
    FrameHeaderBytes header = encode_frame_header(frame.header);
    std::vector<asio::const_buffer> pieces;
    pieces.reserve(2 + frame.payload.size());
    pieces.emplace_back(header.data(), header.size());
    if (!frame.body.empty()) pieces.emplace_back(frame.body.data(), frame.body.size());
    for (const auto& b : frame.payload) pieces.push_back(b);
    boost::system::error_code ec;
    co_await asio::async_write(socket_, pieces, asio::redirect_error(asio::use_awaitable, ec));
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
