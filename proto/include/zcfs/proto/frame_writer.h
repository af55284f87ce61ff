// FrameWriter: writes the outgoing frames of one socket in order, each as a single gathered write of
// header, body and payload (the payload straight from its owner's memory). A frame is written at once
// when nothing is queued; what the socket does not take is queued and written by a coroutine.
// Not thread-safe: use it only from the socket's strand.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/proto/asio.h"
#include "zcfs/proto/frame.h"

namespace zcfs {

struct OutgoingFrame {
  FrameHeader header;
  std::string body;
  std::vector<asio::const_buffer> payload;
  std::shared_ptr<void> keepalive;  // owns the payload memory until the write completes
  size_t sent = 0;                  // bytes of the frame already written (set by FrameWriter)
};

class FrameWriter {
 public:
  explicit FrameWriter(tcp::socket& socket) : socket_(socket) {}

  using OnError = std::function<void(const boost::system::error_code&)>;

  // Queues a frame; fills in body_len and payload_len. `owner` (the object holding this writer and the
  // socket) is kept alive while frames are being written; `on_error` runs on the strand if a write fails.
  void Send(OutgoingFrame frame, std::shared_ptr<void> owner, OnError on_error);
  size_t queued() const { return queue_.size(); }

 private:
  Task<> Drain(std::shared_ptr<void> owner, OnError on_error);

  tcp::socket& socket_;
  std::deque<OutgoingFrame> queue_;
  bool draining_ = false;
};

}  // namespace zcfs
