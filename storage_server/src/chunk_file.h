// Operations on an open chunk file shared by writes and truncations.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "zcfs/common/status.h"

namespace zcfs::storage_internal {

// Cuts the file to `length` if it is longer, so that its bytes past `length` read as zeros whenever
// the file grows again. Leaves a shorter file alone.
inline Status TruncateFileBeyond(int fd, uint64_t length) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat chunk");
  if (static_cast<uint64_t>(st.st_size) <= length) return Status::Ok();
  if (::ftruncate(fd, static_cast<off_t>(length)) != 0) return Status::FromErrno(errno, "truncate chunk");
  return Status::Ok();
}

}  // namespace zcfs::storage_internal
