// Pieces every class of the zcfs Python extension shares: raising Status errors as Python
// exceptions, the fork guard, and writable views of Python buffers.
#pragma once

#include <pybind11/pybind11.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "zcfs/client/client.h"

namespace zcfs::python {

namespace py = pybind11;

// Raises OSError(errno, message, filename): Python turns the errno into the matching subclass
// (FileNotFoundError, IsADirectoryError, PermissionError, TimeoutError, FileExistsError, ...).
// `filename` may be empty. Needs the GIL.
[[noreturn]] void raise_status(const Status& status, const std::string& filename = "");
// Builds that exception without raising it (for completions that report errors as values).
py::object status_exception(const Status& status, const std::string& filename = "");

// Thrown when an object made in one process is used in another (after fork); Python sees
// zcfs.ForkError, a RuntimeError.
struct ForkError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The process an object was made in. Objects of the extension hold threads, sockets and locks of
// that process: a forked child must not use them (the threads are gone, a lock may be held forever)
// nor destroy them (the destructor would join threads that do not exist). Each wrapper checks its
// owner before every call and, in a foreign process, leaks its C++ objects instead of destroying them.
class ProcessOwner {
 public:
  ProcessOwner();
  bool in_owner() const;
  // ForkError naming `what` unless called in the owner process.
  void Check(const char* what) const;

 private:
  pid_t pid_;
};

// Keeps a C++ object alive forever: what a forked child does with its parent's client objects.
template <typename T>
void leak(std::shared_ptr<T>& p) {
  if (p) new std::shared_ptr<T>(std::move(p));  // NOLINT: intentional leak, see ProcessOwner
}
template <typename T>
void leak(std::unique_ptr<T>& p) {
  (void)p.release();  // intentional leak, see ProcessOwner
}

// A writable, contiguous view of any object with the buffer protocol (a zcfs Buffer, a numpy array,
// a bytearray, a memoryview slice). Holding the view keeps the object alive and unresizable.
// Needs the GIL to make and to destroy.
class WritableView {
 public:
  // BufferError / TypeError for read-only, non-contiguous or non-buffer objects, naming `what`.
  WritableView(py::handle object, const char* what);
  ~WritableView();
  WritableView(const WritableView&) = delete;
  WritableView& operator=(const WritableView&) = delete;

  std::byte* data() const { return static_cast<std::byte*>(view_.buf); }
  size_t size() const { return static_cast<size_t>(view_.len); }
  // [offset, offset + length) of the view; ValueError (naming `what`) when it does not fit.
  std::span<std::byte> Slice(size_t offset, size_t length, const std::string& what) const;

 private:
  Py_buffer view_{};
};

// A read-only contiguous view (the data of a write).
class ReadableView {
 public:
  explicit ReadableView(py::handle object);
  ~ReadableView();
  ReadableView(const ReadableView&) = delete;
  ReadableView& operator=(const ReadableView&) = delete;
  std::span<const std::byte> span() const { return {static_cast<const std::byte*>(view_.buf), size_t(view_.len)}; }

 private:
  Py_buffer view_{};
};

// A new bytes object of `size` bytes filled by `fill(span)` with the GIL released, then trimmed to
// what fill returns. The bytes object is the read's destination: no extra copy.
template <typename Fill>
py::bytes read_into_new_bytes(size_t size, Fill fill, const std::string& filename) {
  PyObject* raw = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (raw == nullptr) throw py::error_already_set();
  auto bytes = py::reinterpret_steal<py::object>(raw);
  std::span<std::byte> dst(reinterpret_cast<std::byte*>(PyBytes_AS_STRING(raw)), size);
  Result<size_t> got = Error(Code::kInternal, "not read");
  {
    py::gil_scoped_release release;
    got = fill(dst);
  }
  if (!got.ok()) raise_status(got.status(), filename);
  if (*got < size) {
    raw = bytes.release().ptr();
    if (_PyBytes_Resize(&raw, static_cast<Py_ssize_t>(*got)) != 0) throw py::error_already_set();
    bytes = py::reinterpret_steal<py::object>(raw);
  }
  return py::reinterpret_borrow<py::bytes>(bytes);
}

// Seconds (float, None = default) as milliseconds; ValueError for negative values.
std::chrono::milliseconds to_millis(const py::object& seconds, std::chrono::milliseconds fallback, const char* what);

}  // namespace zcfs::python
