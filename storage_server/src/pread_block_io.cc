#include "zcfs/storage/pread_block_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace zcfs {

IoBuffer PreadBlockIo::AcquireBuffer(size_t size) {
  return IoBuffer(AlignedBuffer(size, AlignedBuffer::Init::kUninitialized));
}

Task<Result<size_t>> PreadBlockIo::Read(int fd, uint64_t offset, std::span<std::byte> dst) {
  size_t done = 0;
  while (done < dst.size()) {
    ssize_t n = ::pread(fd, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return Status::FromErrno(errno, "pread");
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
    if (done % kBlockSize != 0) break;  // O_DIRECT returns a partial block only at the end of file
  }
  co_return done;
}

Task<Result<size_t>> PreadBlockIo::Write(int fd, uint64_t offset, std::span<const std::byte> src) {
  if (int err = write_errno_.load(); err != 0) co_return Status::FromErrno(err, "pwrite (injected)");
  size_t done = 0;
  while (done < src.size()) {
    ssize_t n = ::pwrite(fd, src.data() + done, src.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) co_return Status::FromErrno(n < 0 ? errno : EIO, "pwrite");
    done += static_cast<size_t>(n);
  }
  co_return done;
}

Task<Status> PreadBlockIo::Sync(int fd) {
  if (int err = write_errno_.load(); err != 0) co_return Status::FromErrno(err, "fdatasync (injected)");
  if (::fdatasync(fd) != 0) co_return Status::FromErrno(errno, "fdatasync");
  co_return Status::Ok();
}

Status PreadBlockIo::RegisterFile(int fd) {
  if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) return Status::FromErrno(EBADF, "register fd " + std::to_string(fd));
  std::lock_guard lock(mutex_);
  registered_.insert(fd);
  return Status::Ok();
}

void PreadBlockIo::UnregisterFile(int fd) {
  std::lock_guard lock(mutex_);
  registered_.erase(fd);
}

std::set<int> PreadBlockIo::registered_files() const {
  std::lock_guard lock(mutex_);
  return registered_;
}

}  // namespace zcfs
