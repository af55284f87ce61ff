#include "zcfs/common/status.h"

#include <cerrno>
#include <cstring>

namespace zcfs {

std::string code_name(Code code) {
  switch (code) {
#define ZCFS_CODE_NAME(name, number, err, text) \
  case Code::name:                              \
    return #name;
    ZCFS_STATUS_CODES(ZCFS_CODE_NAME)
#undef ZCFS_CODE_NAME
  }
  return "kUnknown(" + std::to_string(static_cast<unsigned>(code)) + ")";
}

int to_errno(Code code) {
  switch (code) {
#define ZCFS_CODE_ERRNO(name, number, err, text) \
  case Code::name:                               \
    return err;
    ZCFS_STATUS_CODES(ZCFS_CODE_ERRNO)
#undef ZCFS_CODE_ERRNO
  }
  return EIO;
}

Code code_from_wire(uint16_t number) {
  switch (number) {
#define ZCFS_CODE_WIRE(name, num, err, text) \
  case num:                                  \
    return Code::name;
    ZCFS_STATUS_CODES(ZCFS_CODE_WIRE)
#undef ZCFS_CODE_WIRE
  }
  return Code::kProtocolError;
}

Code code_from_errno(int err) {
  switch (err) {
    case 0: return Code::kOk;
    case EINVAL: return Code::kInvalidArgument;
    case ENOENT: return Code::kNotFound;
    case EEXIST: return Code::kAlreadyExists;
    case ENOTDIR: return Code::kNotDirectory;
    case EISDIR: return Code::kIsDirectory;
    case ENOTEMPTY: return Code::kNotEmpty;
    case ENAMETOOLONG: return Code::kNameTooLong;
    case EACCES: return Code::kPermissionDenied;
    case EPERM: return Code::kNotPermitted;
    case ENOSPC:
    case EDQUOT: return Code::kNoSpace;
    case ETIMEDOUT: return Code::kTimeout;
    case ECANCELED: return Code::kCancelled;
    case EOPNOTSUPP: return Code::kNotSupported;
    case EBADF: return Code::kBadHandle;
    case EAGAIN:
    case ENOMEM: return Code::kResourceExhausted;
    case EROFS: return Code::kReadOnly;
    case EFBIG: return Code::kFileTooLarge;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case EHOSTUNREACH:
    case ENETUNREACH: return Code::kUnavailable;
    default: return Code::kIoError;
  }
}

Status Status::FromErrno(int err, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += std::strerror(err);
  return Status(code_from_errno(err), std::move(message));
}

std::string Status::ToString() const {
  if (ok()) return "kOk";
  return code_name(code_) + ": " + message_;
}

Status& Status::Prepend(std::string_view context) {
  if (!ok()) message_ = std::string(context) + ": " + message_;
  return *this;
}

}  // namespace zcfs
