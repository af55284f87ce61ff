#include "splice_reply.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zcfs/common/logging.h"

namespace zcfs {
namespace {

// Room for a 1 MiB reply that starts mid-page (257 pages), rounded up to the pipe's power of two.
constexpr int kPipeBytes = 2 << 20;

// The calling thread's pipe, made on first use; not ok() when it could not be made or grown.
class ThreadPipe {
 public:
  ThreadPipe() { Open(); }
  ~ThreadPipe() { Close(); }
  ThreadPipe(const ThreadPipe&) = delete;
  ThreadPipe& operator=(const ThreadPipe&) = delete;

  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  // Drops whatever the pipe holds (it must not keep referring to memory the caller reuses).
  void Renew() {
    Close();
    Open();
  }

 private:
  void Open() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) {
      fds_[0] = fds_[1] = -1;
    } else if (::fcntl(fds_[1], F_SETPIPE_SZ, kPipeBytes) < kPipeBytes) {
      LOG_WARN << "splice replies: cannot grow a pipe to " << kPipeBytes << " bytes (" << std::strerror(errno)
               << "); this thread replies with writev";
      Close();
    }
  }
  void Close() {
    for (int& fd : fds_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  int fds_[2] = {-1, -1};
};

}  // namespace

void reply_read_spliced(fuse_req_t req, std::span<const iovec> iov) {
  thread_local ThreadPipe pipe;
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  if (!pipe.ok() || total == 0) {
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
    return;
  }
  ssize_t queued = ::vmsplice(pipe.write_end(), iov.data(), iov.size(), SPLICE_F_NONBLOCK);
  if (queued != static_cast<ssize_t>(total)) {
    pipe.Renew();
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
    return;
  }
  fuse_bufvec data = FUSE_BUFVEC_INIT(total);
  data.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD);
  data.buf[0].fd = pipe.read_end();
  // No FUSE_BUF_SPLICE_MOVE: the pages are the caller's buffer, which it reuses once this returns.
  if (fuse_reply_data(req, &data, static_cast<fuse_buf_copy_flags>(0)) != 0) pipe.Renew();
}

}  // namespace zcfs
