// The C++ side of zcfs.Client, zcfs.File, zcfs.Buffer and zcfs.Ring.
//
// Thread-safety: every method is called with the GIL held and releases it around blocking calls into
// the client. State a method reads or writes while holding the GIL (a file's position, a ring's
// pending reads) therefore needs no further lock. The client itself is thread-safe.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "py_common.h"
#include "zcfs/client/client.h"

namespace zcfs::python {

class PyBuffer;
class PyFile;
class PyRing;

class PyClient {
 public:
  PyClient(const std::string& meta, int io_threads, const py::object& rpc_timeout, const py::object& connect_timeout,
           bool verify_checksums, const std::string& transport, const std::string& rdma_device, int rdma_gid_index);
  ~PyClient();

  // The connected client; ForkError in a child process, ValueError once closed.
  std::shared_ptr<Client> get() const;
  const std::string& meta() const { return meta_; }
  std::chrono::milliseconds rpc_timeout() const { return rpc_timeout_; }
  void Close();
  bool closed() const { return client_ == nullptr; }

  py::object Stat(const std::string& path);
  bool Exists(const std::string& path);
  std::vector<std::string> ListDir(const std::string& path);
  void Mkdir(const std::string& path, uint32_t mode);
  void MakeDirs(const std::string& path, uint32_t mode, bool exist_ok);
  void Remove(const std::string& path);
  void Rename(const std::string& from, const std::string& to);
  py::object StatFs();
  std::unique_ptr<PyFile> Open(const std::string& path, const std::string& mode, uint32_t perm);
  std::unique_ptr<PyBuffer> Alloc(size_t size, bool huge_pages);
  std::unique_ptr<PyBuffer> Register(py::object memory);
  uint64_t user_copy_bytes() const { return get()->user_copy_bytes(); }

 private:
  ProcessOwner owner_;
  std::string meta_;
  std::chrono::milliseconds rpc_timeout_;
  std::shared_ptr<Client> client_;
};

// A registered buffer, exported through the buffer protocol as 1-D unsigned bytes.
class PyBuffer {
 public:
  // `memory` (optional) is the caller's object whose memory `buffer` registered; it is kept exported
  // (alive, unresizable) until this buffer goes.
  PyBuffer(std::shared_ptr<RegisteredBuffer> buffer, std::unique_ptr<WritableView> memory);
  ~PyBuffer();

  std::byte* data() const { return buffer_->data(); }
  size_t size() const { return buffer_->size(); }
  bool huge_pages() const { return buffer_->huge_pages(); }

 private:
  ProcessOwner owner_;
  std::shared_ptr<RegisteredBuffer> buffer_;
  std::unique_ptr<WritableView> memory_;
};

// An open file with a position (read/write/seek), plus positional pread/pwrite.
class PyFile {
 public:
  PyFile(std::shared_ptr<Client> client, FileHandle handle, std::string path, std::string mode, bool append);
  ~PyFile();

  // The handle; ValueError once closed, ForkError in a child process.
  FileHandle handle(const char* what) const;
  const std::string& path() const { return path_; }
  const std::string& mode() const { return mode_; }
  bool closed() const { return handle_.value == 0; }
  std::shared_ptr<Client> client() const { return client_; }

  py::bytes Read(int64_t size);
  py::bytes PRead(size_t size, uint64_t offset);
  size_t ReadInto(py::object buffer, const py::object& offset);
  size_t Write(py::object data);
  size_t PWrite(py::object data, uint64_t offset);
  uint64_t Seek(int64_t offset, int whence);
  uint64_t tell() const { return position_; }
  py::object Stat();
  uint64_t Size();
  void Close();

 private:
  ProcessOwner owner_;
  std::shared_ptr<Client> client_;
  FileHandle handle_;  // 0 once closed
  std::string path_;
  std::string mode_;
  bool append_;
  uint64_t position_ = 0;
};

// One finished read of a Ring: the caller's user_data, the bytes read and the error (None when ok).
struct PyCompletion {
  py::object user_data;
  size_t nbytes = 0;
  py::object error;
  Status status;     // the error as the client reported it
  std::string path;  // the read's file and offset, for messages
  uint64_t offset = 0;
};

// Batched asynchronous reads (zcfs::ReadRing). Keeps each pending read's destination exported (and
// so alive) until its completion has been returned.
class PyRing {
 public:
  PyRing(std::shared_ptr<Client> client, uint32_t depth, std::chrono::milliseconds timeout);
  ~PyRing();

  // `context` starts the messages of errors ("read_batch entry 3").
  void PrepRead(const PyFile& file, uint64_t offset, size_t length, py::object buffer, size_t buffer_offset,
                py::object user_data, const std::string& context = "prep_read");
  size_t Submit();
  std::vector<PyCompletion> Poll(size_t max);
  // Waits (GIL released, Ctrl-C honoured) until `min` completions are ready or `timeout` passes (no
  // value: no limit), then returns at most `max` (0: every pending read's).
  std::vector<PyCompletion> Wait(size_t min, std::optional<std::chrono::milliseconds> timeout, size_t max);
  size_t prepared() const { return ring()->prepared(); }
  size_t in_flight() const { return ring()->in_flight(); }
  void Close();

 private:
  struct Pending {
    py::object user_data;
    std::string path;
    uint64_t offset = 0;
    std::unique_ptr<WritableView> destination;
  };
  ReadRing* ring() const;
  std::vector<PyCompletion> Finish(std::span<const ReadCompletion> done);

  ProcessOwner owner_;
  std::shared_ptr<Client> client_;
  std::unique_ptr<ReadRing> ring_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;  // by the id given to the C++ ring as its user_data
};

// Client.read_batch: reads every (file, offset, length, buffer, buffer_offset) entry through one ring
// (one submit), waits for all, returns the byte counts; raises the first failed entry's error.
std::vector<size_t> read_batch(PyClient& client, const py::sequence& entries, const py::object& timeout);

// zcfs.StatResult of `info`.
py::object make_stat(FileInfo info);

void bind_client(py::module_& m);
void bind_file(py::module_& m);
void bind_ring(py::module_& m);

}  // namespace zcfs::python
