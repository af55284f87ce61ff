// FrameWriter: writes the outgoing frames of one socket in order, each as gathered writes of header,
// body and payload (the payload straight from its owner's memory). A frame is written at once when
// nothing is queued; what the socket does not take is queued and written by a coroutine.
//
// Zerocopy: a payload of at least FrameWriterOptions::zerocopy_threshold bytes is sent with
// sendmsg(MSG_ZEROCOPY) (header and body before it with a plain send): the kernel then transmits from
// the payload's own pages rather than copying them into socket buffers. Those pages must stay alive and
// unchanged until the kernel reports it is done, so the frame's keepalive is held until the completion
// notifications for all of its sends arrive on the socket's error queue (read whenever some are
// outstanding). A refused zerocopy send (ENOBUFS) goes out plainly. A socket whose completions keep
// saying the kernel copied anyway (a local peer) goes back to plain sends.
//
// Closing: once zerocopy is on, the socket lingers 0 on close, so closing it drops (resets) whatever
// the kernel has not sent yet instead of sending it later from memory that was released at close.
// Held keepalives are released when the socket is found closed, or with the writer.
//
// Not thread-safe: use it only from the socket's strand.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zcfs/proto/asio.h"
#include "zcfs/proto/frame.h"
#include "zcfs/proto/zerocopy.h"

namespace zcfs {

struct OutgoingFrame {
  FrameHeader header;
  std::string body;
  std::vector<asio::const_buffer> payload;
  std::shared_ptr<void> keepalive;  // owns the payload memory until the write (and the kernel) is done with it
  size_t sent = 0;                  // bytes of the frame already written (set by FrameWriter)
  bool zerocopy = false;            // the payload goes out with MSG_ZEROCOPY (set by FrameWriter)
  uint32_t zerocopy_sends = 0;      // zerocopy sendmsg calls that carried some of it
};

struct FrameWriterOptions {
  // Payloads of at least this many bytes are sent with MSG_ZEROCOPY; 0 = never. Below some tens of KiB,
  // pinning pages and reading notifications costs more than the copy it saves.
  size_t zerocopy_threshold = 0;
  // Also to peers on a loopback address. The kernel copies zerocopy data bound for a local socket anyway
  // (and reports it), so there zerocopy is pure overhead; tests turn it on to run the path.
  bool zerocopy_loopback = false;
  // After this many completions in a row report that the kernel copied, the socket goes back to plain
  // sends (e.g. a local peer on a non-loopback address). 0 = never.
  uint32_t zerocopy_copied_limit = 8;
  // Where the counts go (a server shares one among its connections); may be null.
  std::shared_ptr<ZerocopyCounters> counters;
};

class FrameWriter {
 public:
  explicit FrameWriter(tcp::socket& socket, FrameWriterOptions options = {});
  // Closes the socket first if the kernel may still read memory held for it.
  ~FrameWriter();
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;

  using OnError = std::function<void(const boost::system::error_code&)>;

  // Queues a frame; fills in body_len and payload_len. `owner` (the object holding this writer and the
  // socket) is kept alive while frames are being written or zerocopy completions are awaited;
  // `on_error` runs on the strand if a write fails (and should close the socket).
  void Send(OutgoingFrame frame, std::shared_ptr<void> owner, OnError on_error);
  size_t queued() const { return queue_.size(); }
  // Keepalives of sent frames waiting for the kernel's zerocopy completions.
  size_t zerocopy_held() const { return tracker_.held(); }
  bool zerocopy_enabled() const { return zerocopy_ == Zerocopy::kOn; }

 private:
  enum class Zerocopy { kUndecided, kOn, kOff };
  enum class Progress { kDone, kBlocked, kFailed };

  bool WantsZerocopy(uint64_t payload_len);
  Progress WriteQueued(boost::system::error_code& ec);
  size_t WriteSome(OutgoingFrame& frame, size_t& offered, boost::system::error_code& ec);
  void Fail(const boost::system::error_code& ec, const OnError& on_error);
  Task<> Drain(std::shared_ptr<void> owner, OnError on_error);
  void WatchCompletions(std::shared_ptr<void> owner);
  size_t ReapCompletions();
  ZerocopyCounters* counters() { return options_.counters.get(); }

  tcp::socket& socket_;
  FrameWriterOptions options_;
  std::deque<OutgoingFrame> queue_;
  bool draining_ = false;
  Zerocopy zerocopy_ = Zerocopy::kUndecided;
  ZerocopyTracker tracker_;
  bool watching_ = false;       // an error-queue wait is pending
  uint32_t copied_in_row_ = 0;  // completions in a row that said the kernel copied
  std::optional<asio::steady_timer> retry_;
};

}  // namespace zcfs
