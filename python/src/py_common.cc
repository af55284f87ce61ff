#include "py_common.h"

#include <unistd.h>

#include <cmath>

namespace zcfs::python {

py::object status_exception(const Status& status, const std::string& filename) {
  py::object name = filename.empty() ? py::object(py::none()) : py::object(py::str(filename));
  // OSError(errno, ...) returns the errno's subclass (ENOENT: FileNotFoundError, ...).
  return py::reinterpret_borrow<py::object>(PyExc_OSError)(status.to_errno(), status.ToString(), name);
}

void raise_status(const Status& status, const std::string& filename) {
  py::object exc = status_exception(status, filename);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

ProcessOwner::ProcessOwner() : pid_(::getpid()) {}

bool ProcessOwner::in_owner() const { return ::getpid() == pid_; }

void ProcessOwner::Check(const char* what) const {
  if (in_owner()) return;
  throw ForkError(std::string(what) + " was made in process " + std::to_string(pid_) +
                  " and cannot be used in process " + std::to_string(::getpid()) +
                  " after fork(): its connections and threads belong to the parent. Create a new "
                  "zcfs.Client in the child (zcfs.torch datasets connect once per worker process).");
}

WritableView::WritableView(py::handle object, const char* what) {
  if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_WRITABLE | PyBUF_ANY_CONTIGUOUS) != 0) {
    PyErr_Clear();
    throw py::type_error(std::string(what) + " must be a writable, contiguous buffer (a zcfs.Buffer, a numpy " +
                         "array, a bytearray, a memoryview), not " + std::string(py::str(object.get_type())));
  }
}

WritableView::~WritableView() { PyBuffer_Release(&view_); }

std::span<std::byte> WritableView::Slice(size_t offset, size_t length, const std::string& what) const {
  if (offset > size() || length > size() - offset) {
    throw py::value_error(what + ": [" + std::to_string(offset) + ", +" + std::to_string(length) +
                          ") does not fit in a buffer of " + std::to_string(size()) + " bytes");
  }
  return {data() + offset, length};
}

ReadableView::ReadableView(py::handle object) {
  if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_ANY_CONTIGUOUS) != 0) {
    PyErr_Clear();
    throw py::type_error("data must be a contiguous bytes-like object, not " + std::string(py::str(object.get_type())));
  }
}

ReadableView::~ReadableView() { PyBuffer_Release(&view_); }

std::chrono::milliseconds to_millis(const py::object& seconds, std::chrono::milliseconds fallback, const char* what) {
  if (seconds.is_none()) return fallback;
  double s = seconds.cast<double>();
  if (!(s >= 0) || !std::isfinite(s)) throw py::value_error(std::string(what) + " must be a non-negative number");
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(s * 1000)));
}

}  // namespace zcfs::python
