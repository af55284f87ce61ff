// The C API (zcfs.h) over the C++ client.
//
// Every object handed to C is kept in a registry of live objects; a call first looks its argument up
// there and holds a reference for the duration of the call. That is what turns a NULL, stale or
// foreign pointer into -EBADF instead of a crash, and makes destroying an object while another
// thread is inside a call on it safe.
#include <errno.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "paths.h"
#include "zcfs/client/client.h"
#include "zcfs/zcfs.h"

struct zcfs_client {
  std::shared_ptr<zcfs::Client> client;
};
struct zcfs_buf {
  std::shared_ptr<zcfs::RegisteredBuffer> buffer;
};
struct zcfs_ring {
  std::shared_ptr<zcfs::Client> client;  // the ring's reads need the client's connections
  std::unique_ptr<zcfs::ReadRing> ring;
};

namespace zcfs {
namespace {

thread_local std::string t_last_error;

int64_t fail(const Status& status) {
  t_last_error = status.ToString();
  return -status.to_errno();
}
int64_t fail(int err, std::string message) {
  t_last_error = std::move(message);
  return -err;
}
// For calls that return a pointer: NULL, with errno set as well.
template <typename T>
T* fail_null(const Status& status) {
  errno = static_cast<int>(-fail(status));
  return nullptr;
}

// The live objects of one kind, by the address C holds. Thread-safe.
template <typename T>
class LiveSet {
 public:
  T* Add(std::shared_ptr<T> object) {
    T* key = object.get();
    std::lock_guard lock(mu_);
    objects_.emplace(key, std::move(object));
    return key;
  }
  std::shared_ptr<T> Find(const T* key) const {
    if (key == nullptr) return nullptr;
    std::lock_guard lock(mu_);
    auto it = objects_.find(key);
    return it == objects_.end() ? nullptr : it->second;
  }
  // Takes the object out; it is destroyed when the calls still using it return.
  std::shared_ptr<T> Remove(const T* key) {
    std::lock_guard lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return nullptr;
    std::shared_ptr<T> object = std::move(it->second);
    objects_.erase(it);
    return object;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const T*, std::shared_ptr<T>> objects_;
};

// Leaked on purpose: C callers may free objects from atexit handlers or other static destructors.
LiveSet<zcfs_client>& clients() {
  static auto* set = new LiveSet<zcfs_client>;
  return *set;
}
LiveSet<zcfs_buf>& buffers() {
  static auto* set = new LiveSet<zcfs_buf>;
  return *set;
}
LiveSet<zcfs_ring>& rings() {
  static auto* set = new LiveSet<zcfs_ring>;
  return *set;
}

// The object behind a C pointer, or null with the error recorded (and errno set, for the calls that
// return a pointer).
std::shared_ptr<Client> client_of(const zcfs_client* c) {
  auto entry = clients().Find(c);
  if (entry) return entry->client;
  errno = static_cast<int>(
      -fail(Error(Code::kBadHandle, "not a connected zcfs_client (NULL, disconnected or foreign pointer)")));
  return nullptr;
}
std::shared_ptr<zcfs_ring> ring_of(const zcfs_ring* r) {
  auto entry = rings().Find(r);
  if (!entry) fail(Error(Code::kBadHandle, "not a live zcfs_ring (NULL, destroyed or foreign pointer)"));
  return entry;
}
const int64_t kBadClient = -EBADF;

Status check_path(const char* path) {
  if (path == nullptr) return Error(Code::kInvalidArgument, "path is NULL");
  return Status::Ok();
}
Status check_handle(zcfs_fd fd) {
  if (fd <= 0) return Error(Code::kBadHandle, "file handle " + std::to_string(fd) + " is not valid (handles are > 0)");
  return Status::Ok();
}
Status check_out(const void* out, const char* what) {
  if (out == nullptr) return Error(Code::kInvalidArgument, std::string(what) + " is NULL");
  return Status::Ok();
}

void fill_attr(const FileInfo& info, zcfs_attr* out) {
  *out = zcfs_attr{};
  out->ino = info.ino;
  out->type = static_cast<uint32_t>(info.type);
  out->mode = info.mode;
  out->uid = info.uid;
  out->gid = info.gid;
  out->size = info.size;
  out->nlink = info.nlink;
  out->chunk_size = info.chunk_size;
  out->atime_ns = info.atime_ns;
  out->mtime_ns = info.mtime_ns;
  out->ctime_ns = info.ctime_ns;
}

// Runs a Status-returning call on a path: 0 or a negative errno.
template <typename Fn>
int path_call(zcfs_client* c, const char* path, Fn fn) {
  auto client = client_of(c);
  if (!client) return kBadClient;
  if (Status s = check_path(path); !s.ok()) return static_cast<int>(fail(s));
  Status s = fn(*client, std::string_view(path));
  return s.ok() ? 0 : static_cast<int>(fail(s));
}

// Unlink or rmdir of the entry at `path`, so that the server checks the entry's type atomically.
Status remove_entry(Client& client, std::string_view path, bool directory) {
  ASSIGN_OR_RETURN(ParentAndName where, split_parent(path));
  ASSIGN_OR_RETURN(FileInfo parent, client.Stat(where.parent));
  Status s = directory ? client.Rmdir(parent.ino, where.name) : client.Unlink(parent.ino, where.name);
  return s.ok() ? s : s.Prepend(std::string(path));
}

int64_t bytes_or_fail(const Result<size_t>& r) {
  if (!r.ok()) return fail(r.status());
  return static_cast<int64_t>(*r);
}

// Status of a data call on a handle, after the argument checks every data call shares.
template <typename Fn>
int64_t handle_call(zcfs_client* c, zcfs_fd fd, const void* buf, size_t count, Fn fn) {
  auto client = client_of(c);
  if (!client) return kBadClient;
  if (Status s = check_handle(fd); !s.ok()) return fail(s);
  if (buf == nullptr && count > 0) return fail(EINVAL, "kInvalidArgument: buffer is NULL");
  if (count > static_cast<size_t>(std::numeric_limits<int64_t>::max())) {
    return fail(EINVAL, "kInvalidArgument: count " + std::to_string(count) + " is too large");
  }
  return fn(*client, FileHandle{static_cast<uint64_t>(fd)});
}

std::span<std::byte> writable(void* buf, size_t count) { return {static_cast<std::byte*>(buf), count}; }
std::span<const std::byte> readable(const void* buf, size_t count) {
  return {static_cast<const std::byte*>(buf), count};
}

size_t copy_completions(const std::vector<ReadCompletion>& done, size_t n, zcfs_completion* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i].user_data = done[i].user_data;
    out[i].result = done[i].status.ok() ? static_cast<int64_t>(done[i].bytes) : -done[i].status.to_errno();
    if (!done[i].status.ok()) t_last_error = done[i].status.ToString();
  }
  return n;
}

}  // namespace
}  // namespace zcfs

using namespace zcfs;  // NOLINT(google-build-using-namespace): the extern "C" functions below only

extern "C" {

const char* zcfs_last_error(void) { return t_last_error.c_str(); }

void zcfs_options_init(zcfs_options* options) {
  if (options != nullptr) *options = zcfs_options{};
}

zcfs_client* zcfs_connect(const zcfs_options* options) {
  ClientOptions opts;
  if (options != nullptr) {
    if (options->meta_address != nullptr) opts.meta_address = options->meta_address;
    if (options->connect_timeout_ms > 0) opts.connect_timeout = std::chrono::milliseconds(options->connect_timeout_ms);
    if (options->rpc_timeout_ms > 0) opts.rpc_timeout = std::chrono::milliseconds(options->rpc_timeout_ms);
    if (options->io_threads > 0) opts.io_threads = options->io_threads;
    opts.verify_checksums = options->verify_checksums != 0;
    if (options->transport != nullptr) opts.transport = options->transport;
    if (options->rdma_device != nullptr) opts.rdma_device = options->rdma_device;
    opts.rdma_gid_index = options->rdma_gid_index;
  }
  auto client = Client::Connect(opts);
  if (!client.ok()) return fail_null<zcfs_client>(Status(client.status()).Prepend("connect " + opts.meta_address));
  auto entry = std::make_shared<zcfs_client>();
  entry->client = std::move(*client);
  return clients().Add(std::move(entry));
}

void zcfs_disconnect(zcfs_client* client) { clients().Remove(client); }

int zcfs_stat(zcfs_client* c, const char* path, zcfs_attr* out) {
  return path_call(c, path, [out](Client& client, std::string_view p) -> Status {
    RETURN_IF_ERROR(check_out(out, "zcfs_attr"));
    ASSIGN_OR_RETURN(FileInfo info, client.Stat(p));
    fill_attr(info, out);
    return Status::Ok();
  });
}

int zcfs_statfs(zcfs_client* c, zcfs_fs_stats* out) {
  auto client = client_of(c);
  if (!client) return kBadClient;
  if (Status s = check_out(out, "zcfs_fs_stats"); !s.ok()) return static_cast<int>(fail(s));
  auto stats = client->StatFs();
  if (!stats.ok()) return static_cast<int>(fail(stats.status()));
  *out =
      zcfs_fs_stats{stats->capacity_bytes, stats->used_bytes, stats->inodes, stats->online_nodes, stats->offline_nodes};
  return 0;
}

int zcfs_mkdir(zcfs_client* c, const char* path, uint32_t mode) {
  return path_call(c, path, [mode](Client& client, std::string_view p) -> Status {
    ASSIGN_OR_RETURN(ParentAndName where, split_parent(p));
    ASSIGN_OR_RETURN(FileInfo parent, client.Stat(where.parent));
    auto made = client.Mkdir(parent.ino, where.name, mode);
    return made.ok() ? Status::Ok() : Status(made.status()).Prepend(std::string(p));
  });
}

int zcfs_mkdirs(zcfs_client* c, const char* path, uint32_t mode) {
  return path_call(c, path, [mode](Client& client, std::string_view p) { return client.MakeDirs(p, mode).status(); });
}

int zcfs_unlink(zcfs_client* c, const char* path) {
  return path_call(c, path, [](Client& client, std::string_view p) { return remove_entry(client, p, false); });
}

int zcfs_rmdir(zcfs_client* c, const char* path) {
  return path_call(c, path, [](Client& client, std::string_view p) { return remove_entry(client, p, true); });
}

int zcfs_remove(zcfs_client* c, const char* path) {
  return path_call(c, path, [](Client& client, std::string_view p) { return client.Remove(p); });
}

int zcfs_rename(zcfs_client* c, const char* from, const char* to) {
  if (Status s = check_path(to); !s.ok()) return static_cast<int>(fail(s));
  return path_call(c, from, [to](Client& client, std::string_view p) { return client.RenamePath(p, to); });
}

int64_t zcfs_readdir(zcfs_client* c, const char* path, zcfs_readdir_fn fn, void* arg) {
  int64_t delivered = 0;
  int rc = path_call(c, path, [&](Client& client, std::string_view p) -> Status {
    RETURN_IF_ERROR(check_out(reinterpret_cast<const void*>(fn), "readdir callback"));
    ASSIGN_OR_RETURN(FileInfo dir, client.Stat(p));
    auto entries = client.ReadDir(dir.ino);
    if (!entries.ok()) return Status(entries.status()).Prepend(std::string(p));
    for (const DirEntry& e : *entries) {
      zcfs_dirent entry{e.name.c_str(), e.ino, static_cast<uint32_t>(e.type)};
      ++delivered;
      if (fn(&entry, arg) != 0) break;
    }
    return Status::Ok();
  });
  return rc < 0 ? rc : delivered;
}

zcfs_fd zcfs_open(zcfs_client* c, const char* path, int flags, uint32_t mode) {
  zcfs_fd fd = 0;
  int rc = path_call(c, path, [&](Client& client, std::string_view p) -> Status {
    ASSIGN_OR_RETURN(FileHandle handle, client.OpenHandle(p, flags, mode));
    fd = static_cast<zcfs_fd>(handle.value);
    return Status::Ok();
  });
  return rc < 0 ? rc : fd;
}

int zcfs_close(zcfs_client* c, zcfs_fd fd) {
  return static_cast<int>(handle_call(c, fd, nullptr, 0, [](Client& client, FileHandle h) -> int64_t {
    Status s = client.CloseHandle(h);
    return s.ok() ? 0 : fail(s);
  }));
}

int zcfs_fstat(zcfs_client* c, zcfs_fd fd, zcfs_attr* out) {
  return static_cast<int>(handle_call(c, fd, nullptr, 0, [out](Client& client, FileHandle h) -> int64_t {
    if (Status s = check_out(out, "zcfs_attr"); !s.ok()) return fail(s);
    auto info = client.HandleInfo(h);
    if (!info.ok()) return fail(info.status());
    fill_attr(*info, out);
    return 0;
  }));
}

int64_t zcfs_pread(zcfs_client* c, zcfs_fd fd, void* buf, size_t count, uint64_t offset) {
  return handle_call(c, fd, buf, count, [&](Client& client, FileHandle h) {
    return bytes_or_fail(client.PRead(h, offset, writable(buf, count)));
  });
}

int64_t zcfs_pwrite(zcfs_client* c, zcfs_fd fd, const void* buf, size_t count, uint64_t offset) {
  return handle_call(c, fd, buf, count, [&](Client& client, FileHandle h) -> int64_t {
    Status s = client.PWrite(h, offset, readable(buf, count));
    return s.ok() ? static_cast<int64_t>(count) : fail(s);
  });
}

int64_t zcfs_read(zcfs_client* c, zcfs_fd fd, void* buf, size_t count) {
  return handle_call(c, fd, buf, count, [&](Client& client, FileHandle h) {
    return bytes_or_fail(client.ReadNext(h, writable(buf, count)));
  });
}

int64_t zcfs_write(zcfs_client* c, zcfs_fd fd, const void* buf, size_t count) {
  return handle_call(c, fd, buf, count, [&](Client& client, FileHandle h) -> int64_t {
    Status s = client.WriteNext(h, readable(buf, count));
    return s.ok() ? static_cast<int64_t>(count) : fail(s);
  });
}

zcfs_buf* zcfs_buf_alloc(zcfs_client* c, size_t size, uint32_t flags) {
  auto client = client_of(c);
  if (!client) return nullptr;
  if ((flags & ~ZCFS_BUF_HUGE_PAGES) != 0) {
    return fail_null<zcfs_buf>(Error(Code::kInvalidArgument, "unknown zcfs_buf_alloc flags " + std::to_string(flags)));
  }
  auto buffer = client->AllocateBuffer(size, BufferOptions{.huge_pages = (flags & ZCFS_BUF_HUGE_PAGES) != 0});
  if (!buffer.ok()) return fail_null<zcfs_buf>(buffer.status());
  return buffers().Add(std::make_shared<zcfs_buf>(zcfs_buf{std::move(*buffer)}));
}

zcfs_buf* zcfs_buf_register(zcfs_client* c, void* ptr, size_t len) {
  auto client = client_of(c);
  if (!client) return nullptr;
  if (ptr == nullptr) return fail_null<zcfs_buf>(Error(Code::kInvalidArgument, "zcfs_buf_register: memory is NULL"));
  auto buffer = client->RegisterBuffer(writable(ptr, len));
  if (!buffer.ok()) return fail_null<zcfs_buf>(buffer.status());
  return buffers().Add(std::make_shared<zcfs_buf>(zcfs_buf{std::move(*buffer)}));
}

void* zcfs_buf_data(const zcfs_buf* buf) {
  auto entry = buffers().Find(buf);
  return entry ? entry->buffer->data() : nullptr;
}

size_t zcfs_buf_size(const zcfs_buf* buf) {
  auto entry = buffers().Find(buf);
  return entry ? entry->buffer->size() : 0;
}

void zcfs_buf_free(zcfs_buf* buf) { buffers().Remove(buf); }

zcfs_ring* zcfs_ring_create(zcfs_client* c, uint32_t depth, uint32_t timeout_ms) {
  auto client = client_of(c);
  if (!client) return nullptr;
  ReadRingOptions options;
  if (depth > 0) options.depth = depth;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  auto ring = client->CreateReadRing(options);
  if (!ring.ok()) return fail_null<zcfs_ring>(ring.status());
  return rings().Add(std::make_shared<zcfs_ring>(zcfs_ring{client, std::move(*ring)}));
}

int zcfs_ring_prep_read(zcfs_ring* r, zcfs_fd fd, uint64_t offset, size_t length, void* dst, uint64_t user_data) {
  auto ring = ring_of(r);
  if (!ring) return -EBADF;
  if (Status s = check_handle(fd); !s.ok()) return static_cast<int>(fail(s));
  Status s = ring->ring->Prepare(ReadEntry{.file = FileHandle{static_cast<uint64_t>(fd)},
                                           .offset = offset,
                                           .length = length,
                                           .dst = static_cast<std::byte*>(dst),
                                           .user_data = user_data});
  return s.ok() ? 0 : static_cast<int>(fail(s));
}

int64_t zcfs_ring_submit(zcfs_ring* r) {
  auto ring = ring_of(r);
  if (!ring) return -EBADF;
  return bytes_or_fail(ring->ring->Submit());
}

int64_t zcfs_ring_wait(zcfs_ring* r, zcfs_completion* out, size_t max, size_t min, int32_t timeout_ms) {
  auto ring = ring_of(r);
  if (!ring) return -EBADF;
  if (out == nullptr && max > 0) return fail(EINVAL, "kInvalidArgument: completion array is NULL");
  std::vector<ReadCompletion> done(max);
  // A negative timeout means no limit; a day stands in for it (the ring's per-read deadlines end
  // every read long before).
  auto timeout =
      timeout_ms < 0 ? std::chrono::milliseconds(std::chrono::hours(24)) : std::chrono::milliseconds(timeout_ms);
  size_t n = min == 0 ? ring->ring->Poll(done) : ring->ring->Wait(done, min, timeout);
  return static_cast<int64_t>(copy_completions(done, n, out));
}

int64_t zcfs_ring_poll(zcfs_ring* r, zcfs_completion* out, size_t max) { return zcfs_ring_wait(r, out, max, 0, 0); }

void zcfs_ring_destroy(zcfs_ring* r) { rings().Remove(r); }

}  // extern "C"
