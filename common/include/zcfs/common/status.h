// Status and Result: the one error vocabulary of zcfs.
//
// Every error code has a stable number (it travels on the wire in frame headers and RPC replies), a
// name, and the errno a POSIX caller sees. The table below is the only place these are defined.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zcfs {

// X(name, number, errno, description). Numbers are stable: append new codes, never renumber.
#define ZCFS_STATUS_CODES(X)                                            \
  X(kOk, 0, 0, "ok")                                                    \
  X(kInvalidArgument, 1, EINVAL, "invalid argument")                    \
  X(kNotFound, 2, ENOENT, "not found")                                  \
  X(kAlreadyExists, 3, EEXIST, "already exists")                        \
  X(kNotDirectory, 4, ENOTDIR, "not a directory")                       \
  X(kIsDirectory, 5, EISDIR, "is a directory")                          \
  X(kNotEmpty, 6, ENOTEMPTY, "directory not empty")                     \
  X(kNameTooLong, 7, ENAMETOOLONG, "name too long")                     \
  X(kPermissionDenied, 8, EACCES, "permission denied")                  \
  X(kNoSpace, 9, ENOSPC, "no space left")                               \
  X(kIoError, 10, EIO, "I/O error")                                     \
  X(kChecksumMismatch, 11, EIO, "checksum mismatch")                    \
  X(kTimeout, 12, ETIMEDOUT, "timed out")                               \
  X(kUnavailable, 13, EIO, "unavailable")                               \
  X(kProtocolError, 14, EPROTO, "protocol error")                       \
  X(kCancelled, 15, ECANCELED, "cancelled")                             \
  X(kOutOfRange, 16, EINVAL, "out of range")                            \
  X(kInternal, 17, EIO, "internal error")                               \
  X(kNotSupported, 18, EOPNOTSUPP, "not supported")                     \
  X(kBadHandle, 19, EBADF, "bad handle")                                \
  X(kStaleRouting, 20, ESTALE, "stale routing table")                   \
  X(kResourceExhausted, 21, EAGAIN, "resource exhausted")               \
  X(kNotPermitted, 22, EPERM, "operation not permitted")                \
  X(kCorruption, 23, EIO, "data corruption")                            \
  X(kReadOnly, 24, EROFS, "read-only file system")                      \
  X(kFileTooLarge, 25, EFBIG, "file too large")

enum class Code : uint16_t {
#define ZCFS_CODE_ENUM(name, number, err, text) name = number,
  ZCFS_STATUS_CODES(ZCFS_CODE_ENUM)
#undef ZCFS_CODE_ENUM
};

// Name of the code ("kNotFound"), or "kUnknown(<n>)" for numbers this build does not know.
std::string code_name(Code code);
// The errno a POSIX caller sees for this code; EIO for unknown codes, 0 for kOk.
int to_errno(Code code);
// Maps a wire number back to a code; unknown numbers become kProtocolError.
Code code_from_wire(uint16_t number);
// Maps an errno (from a syscall or io_uring completion) to the closest code.
Code code_from_errno(int err);

// Outcome of an operation: a code and, for errors, a message for humans. Cheap to copy when ok.
// Thread-compatible (a value type).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // Builds an error from an errno, prefixing the context ("open /x: No such file or directory").
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  int to_errno() const { return zcfs::to_errno(code_); }
  // "kNotFound: no entry 'a' in directory 1".
  std::string ToString() const;

  // Adds context in front of the message; a no-op on ok.
  Status& Prepend(std::string_view context);
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status Error(Code code, std::string message) { return Status(code, std::move(message)); }

// A value or an error. Holds exactly one of them. Thread-compatible.
template <typename T>
class [[nodiscard]] Result {
 public:
  // An unset Result is an error; it exists because asio's co_spawn default-constructs results.
  Result() : data_(Status(Code::kInternal, "unset Result")) {}
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(data_).ok()) data_ = Status(Code::kInternal, "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const& {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  // Of a temporary (`RETURN_IF_ERROR(f().status())`): a copy, as a reference would outlive the Result.
  Status status() && { return ok() ? Status() : std::get<Status>(std::move(data_)); }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

namespace internal {
inline Status to_status(const Status& s) { return s; }
template <typename T>
Status to_status(const Result<T>& r) { return r.status(); }
}  // namespace internal

}  // namespace zcfs

#define ZCFS_CONCAT_INNER(a, b) a##b
#define ZCFS_CONCAT(a, b) ZCFS_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or Result) from the enclosing function when it is an error.
#define RETURN_IF_ERROR(expr)                                                  \
  do {                                                                         \
    auto&& zcfs_status_or_result_ = (expr);                                    \
    if (!zcfs_status_or_result_.ok()) return ::zcfs::internal::to_status(zcfs_status_or_result_); \
  } while (0)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, rexpr) ZCFS_ASSIGN_OR_RETURN_IMPL(ZCFS_CONCAT(zcfs_result_, __LINE__), lhs, rexpr)
#define ZCFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                               \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
