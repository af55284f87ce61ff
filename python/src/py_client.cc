// zcfs.Client: connecting, the namespace by path, opening files, registered buffers.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <utility>

#include "py_objects.h"

namespace zcfs::python {
namespace {

// os.stat_result-like attributes, so that stat.S_ISDIR(st.st_mode) and friends work.
struct StatResult {
  FileInfo info;

  uint32_t st_mode() const {
    uint32_t type = info.is_dir() ? S_IFDIR : info.type == FileType::kSymlink ? S_IFLNK : S_IFREG;
    return type | (info.mode & 07777);
  }
  std::string type_name() const {
    switch (info.type) {
      case FileType::kRegular:
        return "file";
      case FileType::kDirectory:
        return "directory";
      case FileType::kSymlink:
        return "symlink";
      default:
        return "unknown";
    }
  }
};

// open() modes as Python's io.open spells them, binary only: r w a x, optional + and b.
int flags_of_mode(const std::string& mode, bool* append) {
  int base = -1;
  bool plus = false;
  for (char c : mode) {
    if (c == 'b') continue;
    if (c == '+' && !plus) {
      plus = true;
      continue;
    }
    if (c == 't') throw py::value_error("zcfs files are binary: text mode '" + mode + "' is not supported, use 'rb'");
    int flags = c == 'r'   ? O_RDONLY
                : c == 'w' ? O_WRONLY | O_CREAT | O_TRUNC
                : c == 'a' ? O_WRONLY | O_CREAT | O_APPEND
                : c == 'x' ? O_WRONLY | O_CREAT | O_EXCL
                           : -1;
    if (flags < 0 || base >= 0) throw py::value_error("invalid mode '" + mode + "' (expected r, w, a or x, +, b)");
    base = flags;
  }
  if (base < 0) throw py::value_error("invalid mode '" + mode + "': must have one of r, w, a, x");
  if (plus) base = (base & ~O_ACCMODE) | O_RDWR;
  *append = (base & O_APPEND) != 0;
  return base;
}

// "/a/b/c/" -> {"/a/b", "c"}; the root -> {"/", ""}.
std::pair<std::string, std::string> parent_and_name(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"/", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Runs `call` on the client with the GIL released; raises its error naming `path`.
template <typename Call>
auto blocking(const PyClient& self, const std::string& path, Call call) {
  std::shared_ptr<Client> client = self.get();
  decltype(call(*client)) result = Error(Code::kInternal, "not run");
  {
    py::gil_scoped_release release;
    result = call(*client);
  }
  if (!result.ok()) raise_status(internal::to_status(result), path);
  return result;
}

}  // namespace

PyClient::PyClient(const std::string& meta, int io_threads, const py::object& rpc_timeout,
                   const py::object& connect_timeout, bool verify_checksums, const std::string& transport,
                   const std::string& rdma_device, int rdma_gid_index)
    : meta_(meta) {
  ClientOptions options;
  options.meta_address = meta;
  if (io_threads > 0) options.io_threads = io_threads;
  options.rpc_timeout = to_millis(rpc_timeout, options.rpc_timeout, "rpc_timeout");
  options.connect_timeout = to_millis(connect_timeout, options.connect_timeout, "connect_timeout");
  options.verify_checksums = verify_checksums;
  options.transport = transport;
  options.rdma_device = rdma_device;
  options.rdma_gid_index = rdma_gid_index;
  rpc_timeout_ = options.rpc_timeout;
  Result<std::unique_ptr<Client>> client = Error(Code::kInternal, "not connected");
  {
    py::gil_scoped_release release;
    client = Client::Connect(options);
  }
  if (!client.ok()) raise_status(Status(client.status()).Prepend("connect to meta server " + meta));
  client_ = std::move(*client);
}

PyClient::~PyClient() {
  if (!owner_.in_owner()) leak(client_);
  if (!client_) return;
  py::gil_scoped_release release;  // closing waits for the client's threads
  client_.reset();
}

std::shared_ptr<Client> PyClient::get() const {
  owner_.Check("this zcfs.Client");
  if (!client_) throw py::value_error("zcfs.Client(" + meta_ + ") is closed");
  return client_;
}

void PyClient::Close() {
  if (!owner_.in_owner()) leak(client_);
  std::shared_ptr<Client> client = std::move(client_);
  py::gil_scoped_release release;
  client.reset();  // files and rings still open keep the connections until they close
}

py::object PyClient::Stat(const std::string& path) {
  auto info = blocking(*this, path, [&](Client& c) { return c.Stat(path); });
  return make_stat(std::move(*info));
}

py::object make_stat(FileInfo info) { return py::cast(StatResult{std::move(info)}); }

bool PyClient::Exists(const std::string& path) {
  std::shared_ptr<Client> client = get();
  Result<FileInfo> info = Error(Code::kInternal, "not run");
  {
    py::gil_scoped_release release;
    info = client->Stat(path);
  }
  if (info.ok()) return true;
  if (info.status().code() == Code::kNotFound) return false;
  raise_status(info.status(), path);
}

std::vector<std::string> PyClient::ListDir(const std::string& path) {
  auto entries = blocking(*this, path, [&](Client& c) -> Result<std::vector<DirEntry>> {
    ASSIGN_OR_RETURN(FileInfo dir, c.Stat(path));
    if (!dir.is_dir()) return Error(Code::kNotDirectory, path + " is not a directory");
    return c.ReadDir(dir.ino);
  });
  std::vector<std::string> names;
  names.reserve(entries->size());
  for (const DirEntry& e : *entries) names.push_back(e.name);
  return names;
}

void PyClient::Mkdir(const std::string& path, uint32_t mode) {
  (void)blocking(*this, path, [&](Client& c) -> Result<FileInfo> {
    auto [parent_path, name] = parent_and_name(path);
    if (name.empty()) return Error(Code::kAlreadyExists, "the root directory exists");
    ASSIGN_OR_RETURN(FileInfo parent, c.Stat(parent_path));
    auto made = c.Mkdir(parent.ino, name, mode);
    return made.ok() ? made : Status(made.status()).Prepend(path);
  });
}

void PyClient::MakeDirs(const std::string& path, uint32_t mode, bool exist_ok) {
  if (!exist_ok && Exists(path)) raise_status(Error(Code::kAlreadyExists, path + " exists"), path);
  (void)blocking(*this, path, [&](Client& c) { return c.MakeDirs(path, mode); });
}

void PyClient::Remove(const std::string& path) {
  (void)blocking(*this, path, [&](Client& c) { return c.Remove(path); });
}

void PyClient::Rename(const std::string& from, const std::string& to) {
  (void)blocking(*this, from, [&](Client& c) { return c.RenamePath(from, to); });
}

py::object PyClient::StatFs() {
  auto stats = blocking(*this, "", [](Client& c) { return c.StatFs(); });
  return py::module_::import("types").attr("SimpleNamespace")(
      py::arg("capacity_bytes") = stats->capacity_bytes, py::arg("used_bytes") = stats->used_bytes,
      py::arg("inodes") = stats->inodes, py::arg("online_nodes") = stats->online_nodes,
      py::arg("offline_nodes") = stats->offline_nodes);
}

std::unique_ptr<PyFile> PyClient::Open(const std::string& path, const std::string& mode, uint32_t perm) {
  bool append = false;
  int flags = flags_of_mode(mode, &append);
  auto handle = blocking(*this, path, [&](Client& c) { return c.OpenHandle(path, flags, perm); });
  return std::make_unique<PyFile>(get(), *handle, path, mode, append);
}

std::unique_ptr<PyBuffer> PyClient::Alloc(size_t size, bool huge_pages) {
  auto buffer = blocking(*this, "", [&](Client& c) { return c.AllocateBuffer(size, {.huge_pages = huge_pages}); });
  return std::make_unique<PyBuffer>(std::move(*buffer), nullptr);
}

std::unique_ptr<PyBuffer> PyClient::Register(py::object memory) {
  auto view = std::make_unique<WritableView>(memory, "register(memory)");
  std::span<std::byte> span(view->data(), view->size());
  auto buffer = blocking(*this, "", [&](Client& c) { return c.RegisterBuffer(span); });
  return std::make_unique<PyBuffer>(std::move(*buffer), std::move(view));
}

PyBuffer::PyBuffer(std::shared_ptr<RegisteredBuffer> buffer, std::unique_ptr<WritableView> memory)
    : buffer_(std::move(buffer)), memory_(std::move(memory)) {}

PyBuffer::~PyBuffer() {
  if (!owner_.in_owner()) {
    leak(buffer_);
    return;  // memory_ is released normally: it is only a Python buffer export
  }
  py::gil_scoped_release release;  // deregistering waits for reads placing data into the buffer
  buffer_.reset();
}

void bind_client(py::module_& m) {
  py::class_<StatResult>(m, "StatResult", "Attributes of a file or directory, named as in os.stat_result.")
      .def_property_readonly("st_ino", [](const StatResult& s) { return s.info.ino; })
      .def_property_readonly("st_mode", &StatResult::st_mode)
      .def_property_readonly("st_size", [](const StatResult& s) { return s.info.size; })
      .def_property_readonly("st_nlink", [](const StatResult& s) { return s.info.nlink; })
      .def_property_readonly("st_uid", [](const StatResult& s) { return s.info.uid; })
      .def_property_readonly("st_gid", [](const StatResult& s) { return s.info.gid; })
      .def_property_readonly("st_atime_ns", [](const StatResult& s) { return s.info.atime_ns; })
      .def_property_readonly("st_mtime_ns", [](const StatResult& s) { return s.info.mtime_ns; })
      .def_property_readonly("st_ctime_ns", [](const StatResult& s) { return s.info.ctime_ns; })
      .def_property_readonly("st_mtime", [](const StatResult& s) { return s.info.mtime_ns / 1e9; })
      .def_property_readonly("chunk_size", [](const StatResult& s) { return s.info.chunk_size; })
      .def_property_readonly("type", &StatResult::type_name)
      .def("is_dir", [](const StatResult& s) { return s.info.is_dir(); })
      .def("is_file", [](const StatResult& s) { return s.info.is_file(); })
      .def("__repr__", [](const StatResult& s) {
        char mode[16];
        std::snprintf(mode, sizeof(mode), "0o%o", s.st_mode());
        return "zcfs.StatResult(type=" + s.type_name() + ", st_ino=" + std::to_string(s.info.ino) +
               ", st_size=" + std::to_string(s.info.size) + ", st_mode=" + mode + ")";
      });

  py::class_<PyBuffer>(m, "Buffer", py::buffer_protocol(), R"(Memory registered with the client.

Reads into it (File.readinto, Client.read_batch, Ring) are placed there by the transport with no copy.
Exposes the buffer protocol as 1-D unsigned bytes: numpy.frombuffer(buf, dtype=numpy.uint8) and
torch.frombuffer(buf, dtype=torch.uint8) are views of the same memory, and keep the Buffer alive.)")
      .def_buffer([](PyBuffer& b) {
        return py::buffer_info(reinterpret_cast<uint8_t*>(b.data()), static_cast<py::ssize_t>(b.size()));
      })
      .def("__len__", &PyBuffer::size)
      .def_property_readonly("size", &PyBuffer::size)
      .def_property_readonly("huge_pages", &PyBuffer::huge_pages)
      .def_property_readonly("address", [](const PyBuffer& b) { return reinterpret_cast<uintptr_t>(b.data()); })
      .def("__repr__", [](const PyBuffer& b) { return "zcfs.Buffer(size=" + std::to_string(b.size()) + ")"; });

  py::class_<PyClient>(m, "Client", "A connection to a zcfs cluster (see the zcfs package docstring).")
      .def(py::init<const std::string&, int, const py::object&, const py::object&, bool, const std::string&,
                    const std::string&, int>(),
           py::arg("meta") = "127.0.0.1:8000", py::kw_only(), py::arg("io_threads") = 0,
           py::arg("rpc_timeout") = py::none(), py::arg("connect_timeout") = py::none(),
           py::arg("verify_checksums") = false, py::arg("transport") = "tcp", py::arg("rdma_device") = "",
           py::arg("rdma_gid_index") = 0)
      .def_property_readonly("meta", &PyClient::meta)
      .def_property_readonly("closed", &PyClient::closed)
      .def_property_readonly("user_copy_bytes", &PyClient::user_copy_bytes)
      .def_property_readonly("transport", [](const PyClient& c) { return std::string(c.get()->transport_name()); })
      .def("close", &PyClient::Close)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyClient& c, py::args) { c.Close(); })
      .def("__repr__",
           [](const PyClient& c) { return "zcfs.Client('" + c.meta() + "'" + (c.closed() ? ", closed)" : ")"); })
      .def("stat", &PyClient::Stat, py::arg("path"))
      .def("exists", &PyClient::Exists, py::arg("path"))
      .def("listdir", &PyClient::ListDir, py::arg("path") = "/")
      .def("mkdir", &PyClient::Mkdir, py::arg("path"), py::arg("mode") = 0755)
      .def("makedirs", &PyClient::MakeDirs, py::arg("path"), py::arg("mode") = 0755, py::arg("exist_ok") = false)
      .def("remove", &PyClient::Remove, py::arg("path"))
      .def("rename", &PyClient::Rename, py::arg("src"), py::arg("dst"))
      .def("statfs", &PyClient::StatFs)
      .def("open", &PyClient::Open, py::arg("path"), py::arg("mode") = "rb", py::arg("perm") = 0644)
      .def("alloc", &PyClient::Alloc, py::arg("size"), py::arg("huge_pages") = false)
      .def("register", &PyClient::Register, py::arg("memory"))
      .def("read_batch", &read_batch, py::arg("entries"), py::arg("timeout") = py::none());
}

}  // namespace zcfs::python
