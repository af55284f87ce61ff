#include "zcfs/proto/frame_writer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "zcfs/common/logging.h"

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

namespace zcfs {
namespace {

using namespace std::chrono_literals;

// Pieces per sendmsg; a frame with more goes out in several calls.
constexpr size_t kMaxIov = 64;

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

size_t frame_size(const OutgoingFrame& frame) {
  return kFrameHeaderSize + frame.body.size() + frame.header.payload_len;
}

// The bytes [from, to) of a frame (header, body, payload pieces in order) as iovecs, at most kMaxIov.
struct IovList {
  std::array<iovec, kMaxIov> iov;
  size_t count = 0;
  size_t bytes = 0;

  IovList(const OutgoingFrame& frame, const FrameHeaderBytes& header, size_t from, size_t to) {
    size_t pos = 0;  // frame offset of the piece being added
    auto add = [&](const void* data, size_t size) {
      size_t begin = std::max(pos, from);
      size_t end = std::min(pos + size, to);
      if (begin < end && count < kMaxIov) {
        iov[count++] = {const_cast<char*>(static_cast<const char*>(data)) + (begin - pos), end - begin};
        bytes += end - begin;
      }
      pos += size;
    };
    add(header.data(), header.size());
    add(frame.body.data(), frame.body.size());
    for (const auto& b : frame.payload) add(b.data(), b.size());
  }
};

}  // namespace

FrameWriter::FrameWriter(tcp::socket& socket, FrameWriterOptions options)
    : socket_(socket), options_(std::move(options)) {}

FrameWriter::~FrameWriter() {
  bool kernel_may_read = tracker_.held() > 0 ||
                         std::any_of(queue_.begin(), queue_.end(), [](const auto& f) { return f.zerocopy_sends > 0; });
  if (kernel_may_read) {
    boost::system::error_code ignored;
    socket_.close(ignored);  // lingers 0: unsent data is dropped before the memory behind it goes
  }
}

bool FrameWriter::WantsZerocopy(uint64_t payload_len) {
  if (options_.zerocopy_threshold == 0 || payload_len < options_.zerocopy_threshold) return false;
  if (zerocopy_ != Zerocopy::kUndecided) return zerocopy_ == Zerocopy::kOn;
  zerocopy_ = Zerocopy::kOff;
  boost::system::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (ec || (is_loopback(peer.address()) && !options_.zerocopy_loopback)) return false;
  if (int err = enable_zerocopy(socket_.native_handle()); err != 0) {
    LOG_DEBUG << "SO_ZEROCOPY refused (" << std::strerror(err) << "): plain sends";
    return false;
  }
  // Closing must not leave the kernel sending from memory released at close: drop unsent data instead.
  socket_.set_option(asio::socket_base::linger(true, 0), ec);
  if (ec) return false;
  zerocopy_ = Zerocopy::kOn;
  return true;
}

void FrameWriter::Send(OutgoingFrame frame, std::shared_ptr<void> owner, OnError on_error) {
  frame.header.body_len = static_cast<uint32_t>(frame.body.size());
  frame.header.payload_len = asio::buffer_size(frame.payload);
  frame.zerocopy = WantsZerocopy(frame.header.payload_len);
  if (frame.zerocopy && counters()) counters()->frames.fetch_add(1, std::memory_order_relaxed);
  queue_.push_back(std::move(frame));
  if (draining_) return;
  // Nothing else queued: write at once from this thread. Most replies go out whole, without a round
  // through the scheduler; an error or a full socket buffer leaves the rest to Drain().
  boost::system::error_code ec;
  if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
  Progress progress = ec ? Progress::kFailed : WriteQueued(ec);
  WatchCompletions(owner);
  if (progress == Progress::kDone) return;
  draining_ = true;
  asio::co_spawn(socket_.get_executor(), Drain(std::move(owner), std::move(on_error)), asio::detached);
}

// One sendmsg of the front of `frame`. Header and body of a zerocopy frame go in a plain send of their
// own: the kernel copies them, so they need not outlive the call. Not with MSG_MORE: if the payload's
// send then finds the buffer full, the corked header could wait for a send that waits for it.
size_t FrameWriter::WriteSome(OutgoingFrame& frame, size_t& offered, boost::system::error_code& ec) {
  const size_t head = kFrameHeaderSize + frame.body.size();
  const size_t total = frame_size(frame);
  const bool zerocopy = frame.zerocopy && zerocopy_ == Zerocopy::kOn;
  const size_t to = zerocopy && frame.sent < head ? head : total;
  FrameHeaderBytes header = encode_frame_header(frame.header);
  IovList pieces(frame, header, frame.sent, to);
  offered = pieces.bytes;

  msghdr msg{};
  msg.msg_iov = pieces.iov.data();
  msg.msg_iovlen = pieces.count;
  bool zerocopy_send = zerocopy && frame.sent >= head;
  int flags = MSG_NOSIGNAL | (zerocopy_send ? MSG_ZEROCOPY : 0);
  for (;;) {
    ssize_t n = ::sendmsg(socket_.native_handle(), &msg, flags);
    if (n >= 0) {
      if (zerocopy_send && n > 0) {
        tracker_.Sent();  // this call took the socket's next notification id
        ++frame.zerocopy_sends;
        if (counters()) {
          counters()->sends.fetch_add(1, std::memory_order_relaxed);
          counters()->bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        }
      }
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == ENOBUFS && zerocopy_send) {
      // Out of option memory for pinning pages or notifications: this piece goes out copied.
      zerocopy_send = false;
      flags &= ~MSG_ZEROCOPY;
      if (counters()) counters()->enobufs.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    ec = boost::system::error_code(errno, asio::error::get_system_category());
    return 0;
  }
}

// Writes queued frames until the socket takes no more. A finished frame whose payload the kernel may
// still read (zerocopy) leaves its keepalive with the tracker.
FrameWriter::Progress FrameWriter::WriteQueued(boost::system::error_code& ec) {
  while (!queue_.empty()) {
    OutgoingFrame& frame = queue_.front();
    if (frame.sent < frame_size(frame)) {
      size_t offered = 0;
      size_t n = WriteSome(frame, offered, ec);
      if (ec) return ec == asio::error::would_block ? Progress::kBlocked : Progress::kFailed;
      frame.sent += n;
      if (n < offered) return Progress::kBlocked;  // the socket buffer is full
    }
    if (frame.sent == frame_size(frame)) {
      if (frame.zerocopy_sends > 0) tracker_.Hold(std::move(frame.keepalive));
      queue_.pop_front();
    }
  }
  return Progress::kDone;
}

void FrameWriter::Fail(const boost::system::error_code& ec, const OnError& on_error) {
  draining_ = false;
  auto dropped = std::move(queue_);  // released after on_error has closed the socket
  queue_.clear();
  on_error(ec);
  if (!socket_.is_open()) tracker_.ReleaseAll();
}

Task<> FrameWriter::Drain(std::shared_ptr<void> owner, OnError on_error) {
  for (;;) {
    // Send() found the socket full or failing: wait before trying again.
    boost::system::error_code ec;
    co_await socket_.async_wait(tcp::socket::wait_write, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      Fail(ec, on_error);
      co_return;
    }
    Progress progress = WriteQueued(ec);
    WatchCompletions(owner);
    if (progress == Progress::kDone) break;
    if (progress == Progress::kFailed) {
      Fail(ec, on_error);
      co_return;
    }
  }
  draining_ = false;
}

// Waits for completions while any are outstanding. asio's wait_error completes whenever the error
// queue is not empty at or after the wait starts, so a notice queued just before is not missed.
void FrameWriter::WatchCompletions(std::shared_ptr<void> owner) {
  if (watching_ || tracker_.outstanding() == 0) return;
  watching_ = true;
  socket_.async_wait(tcp::socket::wait_error, [this, owner](const boost::system::error_code& ec) {
    watching_ = false;
    if (!socket_.is_open()) {
      tracker_.ReleaseAll();  // closed: the kernel holds its own references to what it still sends
      return;
    }
    if ((!ec && ReapCompletions() > 0) || tracker_.outstanding() == 0) {
      WatchCompletions(owner);
      return;
    }
    // Woken with no notice queued: the socket has an error of its own (the peer is gone; the reader
    // will close it). Look again shortly instead of spinning on it.
    if (!retry_) retry_.emplace(socket_.get_executor());
    retry_->expires_after(1ms);
    watching_ = true;
    retry_->async_wait([this, owner](const boost::system::error_code&) {
      watching_ = false;
      if (!socket_.is_open()) {
        tracker_.ReleaseAll();
        return;
      }
      ReapCompletions();
      WatchCompletions(owner);
    });
  });
}

size_t FrameWriter::ReapCompletions() {
  int error = 0;
  std::vector<ZerocopyNotice> notices = read_zerocopy_notices(socket_.native_handle(), &error);
  for (const ZerocopyNotice& notice : notices) {
    if (!tracker_.Complete(notice.lo, notice.hi)) {
      LOG_WARN << "zerocopy completion " << notice.lo << ".." << notice.hi << " matches no send";
    }
    if (counters()) counters()->notices.fetch_add(1, std::memory_order_relaxed);
    if (!notice.copied) {
      copied_in_row_ = 0;
      continue;
    }
    if (counters()) counters()->copied.fetch_add(1, std::memory_order_relaxed);
    if (++copied_in_row_ == options_.zerocopy_copied_limit && zerocopy_ == Zerocopy::kOn) {
      zerocopy_ = Zerocopy::kOff;  // the kernel copies anyway (a local peer): pinning pages only costs
      if (counters()) counters()->turned_off.fetch_add(1, std::memory_order_relaxed);
      LOG_DEBUG << "zerocopy sends keep being copied by the kernel: plain sends from now on";
    }
  }
  return notices.size();
}

}  // namespace zcfs
