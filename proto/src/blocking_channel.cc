#include "zcfs/proto/blocking_channel.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zcfs {
namespace {

// Big enough for every namespace reply but a long directory page, which takes a second recv.
constexpr size_t kReceiveBufferSize = 16 * 1024;
// See BlockingChannelPool::Call. 50 ms was too long: a killed meta server restarted under a mount in
// less (fuse_fault_test saw an open fail with EIO on a connection to the dead server, 1 run in 5).
constexpr auto kTrustedIdle = std::chrono::milliseconds(1);

// Connects a socket to one resolved address within `timeout`; returns the fd or the error.
Result<int> connect_one(const addrinfo& ai, std::chrono::milliseconds timeout, const std::string& peer) {
  int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) return Status::FromErrno(errno, "socket for " + peer);
  int err = 0;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n;
      do {
        n = ::poll(&p, 1, static_cast<int>(timeout.count()));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        ::close(fd);
        return Error(Code::kTimeout, "connect to " + peer + " timed out");
      }
      socklen_t len = sizeof err;
      err = n < 0 ? errno : (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ? errno : err);
    }
  }
  if (err != 0) {
    ::close(fd);
    return Error(Code::kUnavailable, "connect to " + peer + ": " + std::strerror(err));
  }
  int flags = ::fcntl(fd, F_GETFL);
  int one = 1;
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    err = errno;
    ::close(fd);
    return Status::FromErrno(err, "set up connection to " + peer);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<BlockingChannel>> BlockingChannel::Connect(const HostPort& peer,
                                                                  std::chrono::milliseconds timeout,
                                                                  FrameLimits limits) {
  std::string name = peer.ToString();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(peer.port);
  if (int rc = ::getaddrinfo(peer.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Error(Code::kUnavailable, "resolve " + name + ": " + ::gai_strerror(rc));
  }
  Status last = Error(Code::kUnavailable, "resolve " + name + ": no address");
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    auto fd = connect_one(*ai, timeout, name);
    if (fd.ok()) {
      ::freeaddrinfo(found);
      return std::unique_ptr<BlockingChannel>(new BlockingChannel(*fd, name, limits));
    }
    last = fd.status();
  }
  ::freeaddrinfo(found);
  return last;
}

BlockingChannel::BlockingChannel(int fd, std::string peer, FrameLimits limits)
    : fd_(fd), peer_(std::move(peer)), limits_(limits), buffer_(kReceiveBufferSize) {}

BlockingChannel::~BlockingChannel() {
  if (fd_ >= 0) ::close(fd_);
}

Status BlockingChannel::Break(Status why) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return why;
}

bool BlockingChannel::PeerClosed() {
  std::byte probe;
  ssize_t n = ::recv(fd_, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  // Between calls nothing may arrive: bytes are as wrong as an end of stream.
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

Status BlockingChannel::SetTimeout(std::chrono::milliseconds timeout) {
  if (timeout == timeout_set_) return Status::Ok();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return Break(Status::FromErrno(errno, "set timeout on connection to " + peer_));
  }
  timeout_set_ = timeout;
  return Status::Ok();
}

Result<std::string> BlockingChannel::Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                                          std::chrono::microseconds poll) {
  if (fd_ < 0) return Error(Code::kUnavailable, "connection to " + peer_ + " is closed");
  if (timeout.count() <= 0) return Error(Code::kInvalidArgument, "call timeout must be positive");
  RETURN_IF_ERROR(SetTimeout(timeout));
  FrameHeader header;
  header.method = method;
  header.request_id = next_request_id_++;
  header.body_len = static_cast<uint32_t>(body.size());
  Status sent = Send(header, body);
  if (!sent.ok()) {
    if (sent.code() == Code::kTimeout)
      sent = Error(Code::kTimeout, "call " + std::to_string(method) + " to " + peer_ + " timed out sending after " +
                                       std::to_string(timeout.count()) + " ms");
    return Break(std::move(sent));
  }
  auto reply = Receive(header.request_id, poll);
  last_used_ = std::chrono::steady_clock::now();
  if (!reply.ok() && reply.status().code() == Code::kTimeout) {
    return Break(Error(Code::kTimeout, "call " + std::to_string(method) + " to " + peer_ + " timed out after " +
                                           std::to_string(timeout.count()) + " ms"));
  }
  return reply;
}

Status BlockingChannel::Send(const FrameHeader& header, std::string_view body) {
  FrameHeaderBytes bytes = encode_frame_header(header);
  iovec iov[2] = {{bytes.data(), bytes.size()}, {const_cast<char*>(body.data()), body.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = body.empty() ? 1 : 2;
  while (msg.msg_iovlen > 0) {
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Error(Code::kTimeout, "send timed out");
      return Status::FromErrno(errno, "send to " + peer_);
    }
    // Skip what went out; a short send leaves the rest of the current piece and those after it.
    auto sent = static_cast<size_t>(n);
    while (msg.msg_iovlen > 0 && sent >= msg.msg_iov[0].iov_len) {
      sent -= msg.msg_iov[0].iov_len;
      ++msg.msg_iov;
      --msg.msg_iovlen;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + sent;
      msg.msg_iov[0].iov_len -= sent;
    }
  }
  return Status::Ok();
}

size_t BlockingChannel::Poll(std::chrono::microseconds poll) {
  if (poll.count() <= 0) return 0;
  const auto deadline = std::chrono::steady_clock::now() + poll;
  for (;;) {
    ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n > 0) return static_cast<size_t>(n);
    // An end of stream or an error: the blocking receive that follows reports it.
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return 0;
    if (std::chrono::steady_clock::now() >= deadline) return 0;
    ::sched_yield();  // other threads of this process may have work for this CPU
  }
}

Result<std::string> BlockingChannel::Receive(uint64_t request_id, std::chrono::microseconds poll) {
  // Read what has arrived, at least a header. Nothing else is in flight on this connection, so
  // whatever arrives belongs to this reply.
  size_t have = Poll(poll);
  auto receive_into = [&](void* dst, size_t len, int flags) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::recv(fd_, dst, len, flags);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return Error(Code::kUnavailable, "connection to " + peer_ + " closed by the peer");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Error(Code::kTimeout, "receive timed out");
      return Status::FromErrno(errno, "receive from " + peer_);
    }
  };
  while (have < kFrameHeaderSize) {
    auto n = receive_into(buffer_.data() + have, buffer_.size() - have, 0);
    if (!n.ok()) return Break(n.status());
    have += *n;
  }
  auto header =
      decode_frame_header(std::span<const std::byte, kFrameHeaderSize>(buffer_.data(), kFrameHeaderSize), limits_);
  if (!header.ok()) return Break(header.status());
  if (!header->is_response() || header->request_id != request_id || header->payload_len != 0) {
    return Break(Error(Code::kProtocolError, "unexpected frame from " + peer_ + " (method " +
                                                 std::to_string(header->method) + ", request " +
                                                 std::to_string(header->request_id) + ", payload " +
                                                 std::to_string(header->payload_len) + " bytes)"));
  }
  size_t frame_size = kFrameHeaderSize + header->body_len;
  if (have > frame_size) return Break(Error(Code::kProtocolError, "bytes after the reply from " + peer_));

  std::string body(header->body_len, '\0');
  size_t in_buffer = have - kFrameHeaderSize;
  std::memcpy(body.data(), buffer_.data() + kFrameHeaderSize, in_buffer);
  for (size_t got = in_buffer; got < body.size();) {
    auto n = receive_into(body.data() + got, body.size() - got, MSG_WAITALL);
    if (!n.ok()) return Break(n.status());
    got += *n;
  }
  if (header->status != 0) return Status(code_from_wire(header->status), std::move(body));
  return body;
}

BlockingChannelPool::BlockingChannelPool(HostPort peer, std::chrono::milliseconds connect_timeout, size_t max_idle)
    : peer_(std::move(peer)), connect_timeout_(connect_timeout), max_idle_(max_idle) {}

Result<std::string> BlockingChannelPool::Call(uint16_t method, std::string_view body, std::chrono::milliseconds timeout,
                                              std::chrono::microseconds poll) {
  std::unique_ptr<BlockingChannel> channel;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Error(Code::kCancelled, "connections to " + peer_.ToString() + " are closed");
    // Newest first: the oldest idle connections are the ones to let go when fewer threads call.
    while (!idle_.empty() && !channel) {
      channel = std::move(idle_.back());
      idle_.pop_back();
      // The server may have gone away (a restart) while the connection sat idle; a call on it would
      // fail although a new connection would work. No server process stops and starts again (exec,
      // RocksDB open, listen) within kTrustedIdle, so a connection used that recently - a busy caller's -
      // is lent without the check's syscall.
      if (std::chrono::steady_clock::now() - channel->last_used() > kTrustedIdle && channel->PeerClosed()) {
        channel.reset();
      }
    }
  }
  if (!channel) {
    ASSIGN_OR_RETURN(channel, BlockingChannel::Connect(peer_, connect_timeout_));
  }
  auto reply = channel->Call(method, body, timeout, poll);
  if (channel->usable()) {
    std::lock_guard lock(mutex_);
    if (!closed_ && idle_.size() < max_idle_) idle_.push_back(std::move(channel));
  }
  return reply;
}

void BlockingChannelPool::CloseAll() {
  std::vector<std::unique_ptr<BlockingChannel>> idle;
  std::lock_guard lock(mutex_);
  closed_ = true;
  idle.swap(idle_);
}

}  // namespace zcfs
