// The built-in ceiling measurements (bench_ceiling.h): loopback TCP and io_uring O_DIRECT reads.
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "bench_ceiling.h"
#include "zcfs/common/aligned_buffer.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

// Closes a descriptor at scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

Result<int> listen_loopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status s = Status::FromErrno(errno, "listen on 127.0.0.1");
    ::close(fd);
    return s;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// Sends 128 KiB writes (iperf3's default) to 127.0.0.1:port until the deadline.
Status send_until(uint16_t port, Clock::time_point deadline) {
  Fd sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (sock.fd < 0 || ::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::FromErrno(errno, "connect to 127.0.0.1:" + std::to_string(port));
  }
  std::vector<char> data(128 << 10, 'z');
  while (Clock::now() < deadline) {
    if (::send(sock.fd, data.data(), data.size(), MSG_NOSIGNAL) < 0) return Status::FromErrno(errno, "send");
  }
  ::shutdown(sock.fd, SHUT_WR);
  return Status::Ok();
}

// The offset of the n-th read: block n in order (wrapping at the end), or a random block.
uint64_t block_offset(bool random, uint64_t n, uint64_t blocks, uint64_t block, std::mt19937_64& rng) {
  return (random ? rng() % blocks : n % blocks) * block;
}

}  // namespace

Result<double> loopback_tcp_bytes_per_second(double seconds) {
  uint16_t port = 0;
  ASSIGN_OR_RETURN(int listen_fd, listen_loopback(&port));
  Fd listener{listen_fd};
  uint64_t received = 0;
  Clock::time_point first, last;
  Status receive_status;
  std::thread receiver([&] {
    Fd conn{::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC)};
    if (conn.fd < 0) {
      receive_status = Status::FromErrno(errno, "accept");
      return;
    }
    std::vector<char> buf(256 << 10);
    first = Clock::now();
    for (ssize_t n; (n = ::recv(conn.fd, buf.data(), buf.size(), 0)) != 0;) {
      if (n < 0) {
        receive_status = Status::FromErrno(errno, "recv");
        return;
      }
      received += static_cast<uint64_t>(n);
    }
    last = Clock::now();
  });
  Status sent = send_until(port, after(seconds));
  if (!sent.ok()) ::shutdown(listener.fd, SHUT_RDWR);  // unblocks accept
  receiver.join();
  RETURN_IF_ERROR(sent);
  RETURN_IF_ERROR(receive_status);
  double secs = std::chrono::duration<double>(last - first).count();
  return secs > 0 ? static_cast<double>(received) / secs : 0.0;
}

Result<double> odirect_read_bytes_per_second(const std::string& path, uint64_t block, int queue_depth, bool random,
                                             double seconds) {
  Fd file{::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC)};
  if (file.fd < 0) return Status::FromErrno(errno, "open O_DIRECT " + path);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return Status::FromErrno(errno, "stat " + path);
  const uint64_t blocks = static_cast<uint64_t>(st.st_size) / block;
  if (blocks == 0) return Error(Code::kInvalidArgument, path + " is smaller than one block");
  const auto depth = static_cast<unsigned>(queue_depth);
  io_uring ring{};
  if (int err = io_uring_queue_init(depth, &ring, 0); err < 0) return Status::FromErrno(-err, "io_uring_queue_init");
  AlignedBuffer buffer(depth * block, AlignedBuffer::Init::kZeroed);
  std::mt19937_64 rng(42);
  uint64_t issued = 0, bytes = 0;
  auto submit_read = [&](unsigned slot) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, file.fd, buffer.data() + slot * block, static_cast<unsigned>(block),
                       block_offset(random, issued++, blocks, block, rng));
    io_uring_sqe_set_data64(sqe, slot);
  };
  const auto start = Clock::now();
  const auto deadline = after(seconds);
  for (unsigned slot = 0; slot < depth; ++slot) submit_read(slot);
  Status status;
  for (unsigned in_flight = depth; in_flight > 0;) {
    io_uring_submit(&ring);
    io_uring_cqe* cqe = nullptr;
    if (int err = io_uring_wait_cqe(&ring, &cqe); err < 0) {
      if (err == -EINTR) continue;
      status = Status::FromErrno(-err, "io_uring_wait_cqe");
      break;
    }
    int res = cqe->res;
    auto slot = static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
    io_uring_cqe_seen(&ring, cqe);
    --in_flight;
    if (res < 0 && status.ok()) status = Status::FromErrno(-res, "O_DIRECT read of " + path);
    if (res > 0) bytes += static_cast<uint64_t>(res);
    if (status.ok() && Clock::now() < deadline) {
      submit_read(slot);
      ++in_flight;
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  io_uring_queue_exit(&ring);
  RETURN_IF_ERROR(status);
  return static_cast<double>(bytes) / secs;
}

Status prepare_ceiling_file(const std::string& path, uint64_t size, uint64_t block) {
  // Newer kernels accept O_DIRECT on tmpfs, where it measures memory, not a disk: refuse it.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
    return Error(Code::kInvalidArgument, path + " is on tmpfs: an O_DIRECT ceiling there measures memory, not a disk");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= block) {
    Fd probe{::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC)};
    if (probe.fd >= 0) return Status::Ok();
    if (errno == EINVAL) return Error(Code::kInvalidArgument, path + ": its file system has no O_DIRECT (tmpfs?)");
    return Status::FromErrno(errno, "open " + path);
  }
  Fd file{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644)};
  if (file.fd < 0) {
    if (errno == EINVAL) return Error(Code::kInvalidArgument, path + ": its file system has no O_DIRECT (tmpfs?)");
    return Status::FromErrno(errno, "create " + path);
  }
  constexpr uint64_t kStep = 1 << 20;
  AlignedBuffer data(kStep, AlignedBuffer::Init::kUninitialized);
  for (uint64_t i = 0; i < kStep; ++i) data.data()[i] = static_cast<std::byte>(i * 131 + 7);  // not a sparse file
  for (uint64_t off = 0; off < std::max(size, block); off += kStep) {
    if (::pwrite(file.fd, data.data(), kStep, static_cast<off_t>(off)) != static_cast<ssize_t>(kStep)) {
      Status s = Status::FromErrno(errno, "write " + path);
      ::unlink(path.c_str());
      return s;
    }
  }
  if (::fsync(file.fd) != 0) return Status::FromErrno(errno, "fsync " + path);
  return Status::Ok();
}

}  // namespace zcfs
