// zcfs.File: an open file handle with a position, and positional reads and writes.
#include <cstdint>
#include <limits>

#include "py_objects.h"

namespace zcfs::python {
namespace {

// Runs `call` with the GIL released; raises its error naming the file.
template <typename Call>
auto blocking(const PyFile& file, Call call) {
  decltype(call()) result = Error(Code::kInternal, "not run");
  {
    py::gil_scoped_release release;
    result = call();
  }
  if (!result.ok()) raise_status(internal::to_status(result), file.path());
  return result;
}

}  // namespace

PyFile::PyFile(std::shared_ptr<Client> client, FileHandle handle, std::string path, std::string mode, bool append)
    : client_(std::move(client)), handle_(handle), path_(std::move(path)), mode_(std::move(mode)), append_(append) {}

PyFile::~PyFile() {
  if (!owner_.in_owner()) {
    leak(client_);
    return;
  }
  if (closed()) return;
  py::gil_scoped_release release;
  // Errors cannot be raised from a destructor; close() reports them.
  client_->CloseHandle(handle_).IgnoreError();
}

FileHandle PyFile::handle(const char* what) const {
  owner_.Check("this zcfs.File");
  if (closed()) throw py::value_error(std::string(what) + ": I/O operation on closed file '" + path_ + "'");
  return handle_;
}

py::bytes PyFile::Read(int64_t size) {
  FileHandle h = handle("read");
  uint64_t want = static_cast<uint64_t>(size);
  if (size < 0) {  // to the end, as the handle knows it
    auto info = blocking(*this, [&] { return client_->HandleInfo(h); });
    want = info->size > position_ ? info->size - position_ : 0;
  }
  uint64_t at = position_;
  py::bytes data = read_into_new_bytes(
      want, [&](std::span<std::byte> dst) { return client_->PRead(h, at, dst); }, path_);
  position_ = at + static_cast<uint64_t>(PyBytes_GET_SIZE(data.ptr()));
  return data;
}

py::bytes PyFile::PRead(size_t size, uint64_t offset) {
  FileHandle h = handle("pread");
  return read_into_new_bytes(
      size, [&](std::span<std::byte> dst) { return client_->PRead(h, offset, dst); }, path_);
}

size_t PyFile::ReadInto(py::object buffer, const py::object& offset) {
  FileHandle h = handle("readinto");
  WritableView view(buffer, "readinto(buffer)");
  uint64_t at = offset.is_none() ? position_ : offset.cast<uint64_t>();
  std::span<std::byte> dst(view.data(), view.size());
  auto got = blocking(*this, [&] { return client_->PRead(h, at, dst); });
  if (offset.is_none()) position_ = at + *got;
  return *got;
}

size_t PyFile::Write(py::object data) {
  FileHandle h = handle("write");
  ReadableView src(data);
  if (append_) {
    // The client places O_APPEND writes at the end; the position follows them there.
    auto info = blocking(*this, [&]() -> Result<FileInfo> {
      RETURN_IF_ERROR(client_->WriteNext(h, src.span()));
      return client_->HandleInfo(h);
    });
    position_ = info->size;
  } else {
    (void)blocking(*this, [&] { return client_->PWrite(h, position_, src.span()); });
    position_ += src.span().size();
  }
  return src.span().size();
}

size_t PyFile::PWrite(py::object data, uint64_t offset) {
  FileHandle h = handle("pwrite");
  ReadableView src(data);
  (void)blocking(*this, [&] { return client_->PWrite(h, offset, src.span()); });
  return src.span().size();
}

uint64_t PyFile::Seek(int64_t offset, int whence) {
  (void)handle("seek");  // closed or foreign files cannot seek
  int64_t base = 0;
  if (whence == SEEK_CUR) {
    base = static_cast<int64_t>(position_);
  } else if (whence == SEEK_END) {
    base = static_cast<int64_t>(Size());
  } else if (whence != SEEK_SET) {
    throw py::value_error("seek: whence must be 0 (SEEK_SET), 1 (SEEK_CUR) or 2 (SEEK_END), not " +
                          std::to_string(whence));
  }
  if (offset < 0 && base < -offset) {
    throw py::value_error("seek: negative position " + std::to_string(base + offset) + " in '" + path_ + "'");
  }
  position_ = static_cast<uint64_t>(base + offset);
  return position_;
}

py::object PyFile::Stat() {
  FileHandle h = handle("stat");
  auto info = blocking(*this, [&] { return client_->HandleInfo(h); });
  return make_stat(std::move(*info));
}

uint64_t PyFile::Size() {
  FileHandle h = handle("size");
  return blocking(*this, [&] { return client_->HandleInfo(h); })->size;
}

void PyFile::Close() {
  if (closed()) return;  // closing twice is allowed, as for Python's own files
  FileHandle h = handle("close");
  handle_ = FileHandle{};
  (void)blocking(*this, [&] { return client_->CloseHandle(h); });
}

void bind_file(py::module_& m) {
  py::class_<PyFile>(m, "File", R"(A file opened with Client.open (binary only).

read/write/readinto without an offset use and advance the file's position (seek/tell); pread,
pwrite and readinto with an offset do not. Safe to share between threads for positional calls.)")
      .def_property_readonly("name", &PyFile::path)
      .def_property_readonly("mode", &PyFile::mode)
      .def_property_readonly("closed", &PyFile::closed)
      .def_property_readonly("handle", [](const PyFile& f) { return f.handle("handle").value; })
      .def_property_readonly("size", &PyFile::Size)
      .def("read", &PyFile::Read, py::arg("size") = -1, "Up to size bytes at the position (-1: to the end).")
      .def("pread", &PyFile::PRead, py::arg("size"), py::arg("offset"), "Up to size bytes at offset.")
      .def("readinto", &PyFile::ReadInto, py::arg("buffer"), py::arg("offset") = py::none(),
           "Reads len(buffer) bytes into buffer (at offset, or at the position); returns the bytes read.")
      .def("write", &PyFile::Write, py::arg("data"))
      .def("pwrite", &PyFile::PWrite, py::arg("data"), py::arg("offset"))
      .def("seek", &PyFile::Seek, py::arg("offset"), py::arg("whence") = SEEK_SET)
      .def("tell", &PyFile::tell)
      .def("stat", &PyFile::Stat)
      .def("close", &PyFile::Close)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyFile& f, py::args) { f.Close(); })
      .def("__repr__", [](const PyFile& f) {
        return "zcfs.File('" + f.path() + "', mode='" + f.mode() + "'" + (f.closed() ? ", closed)" : ")");
      });
}

}  // namespace zcfs::python
