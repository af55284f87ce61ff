// zcfs-bench read: the native and mount paths, and the run around all three (bench_io.h).
#include <fcntl.h>
#include <unistd.h>

#include "bench_io.h"
#include "sample_data.h"
#include "zcfs/common/aligned_buffer.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

Status short_read(const DataFile& f, const Request& q, uint64_t got) {
  return Error(Code::kIoError, f.name + ": read " + std::to_string(got) + " of " + std::to_string(q.length) +
                                   " bytes at offset " + std::to_string(q.offset));
}

Status read_native(Client& client, const Dataset& d, const IoBenchOptions& o, RequestSource& source, int thread,
                   ThreadStats& stats, LiveCounters& live) {
  AlignedBuffer buffer(o.block, AlignedBuffer::Init::kUninitialized);
  RequestSource::Cursor cursor(thread_seed(thread));
  Request q;
  while (source.Next(cursor, &q)) {
    const DataFile& f = d.files[q.file];
    auto dst = buffer.span().first(q.length);
    auto start = Clock::now();
    auto n = client.Read(f.info, q.offset, dst);
    if (!n.ok()) return Status(n.status()).Prepend(f.name);
    if (*n != q.length) return short_read(f, q, *n);
    count_request(stats, live, q.length, Clock::now() - start);
    if (o.verify) RETURN_IF_ERROR(check_block(f.name, q.offset, dst));
  }
  return Status::Ok();
}

// Through the mount: the thread keeps the file it read last open (sequential reads stay in one
// file); another file is opened per request, as a data loader opens each sample.
Status read_mount(const Dataset& d, const IoBenchOptions& o, RequestSource& source, int thread, ThreadStats& stats,
                  LiveCounters& live) {
  AlignedBuffer buffer(o.block, AlignedBuffer::Init::kUninitialized);
  RequestSource::Cursor cursor(thread_seed(thread));
  int fd = -1;
  size_t open_file = SIZE_MAX;
  Status s;
  for (Request q; s.ok() && source.Next(cursor, &q);) {
    const DataFile& f = d.files[q.file];
    auto start = Clock::now();
    if (q.file != open_file) {
      if (fd >= 0) ::close(fd);
      std::string path = o.mount + o.dir + "/" + f.name;
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      open_file = q.file;
      if (fd < 0) return Status::FromErrno(errno, "open " + path);
    }
    ssize_t n = ::pread(fd, buffer.data(), q.length, static_cast<off_t>(q.offset));
    if (n < 0) {
      s = Status::FromErrno(errno, "read " + f.name);
    } else if (static_cast<uint64_t>(n) != q.length) {
      s = short_read(f, q, static_cast<uint64_t>(n));
    } else {
      count_request(stats, live, q.length, Clock::now() - start);
      if (o.verify) s = check_block(f.name, q.offset, buffer.span().first(q.length));
    }
  }
  if (fd >= 0) ::close(fd);
  return s;
}

// The ring reads through handles: one per file, shared by the threads.
Status open_handles(Client& client, const IoBenchOptions& o, Dataset& d) {
  for (DataFile& f : d.files) {
    auto handle = client.OpenHandle(o.dir + "/" + f.name, O_RDONLY);
    if (!handle.ok()) return Status(handle.status()).Prepend("open " + o.dir + "/" + f.name);
    f.handle = *handle;
  }
  return Status::Ok();
}

void close_handles(Client& client, Dataset& d) {
  for (DataFile& f : d.files) {
    if (f.handle.value != 0) client.CloseHandle(f.handle).IgnoreError();  // read-only: nothing to publish
    f.handle = {};
  }
}

}  // namespace

uint64_t thread_seed(int thread) { return 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(thread + 1); }

Status check_block(const std::string& name, uint64_t offset, std::span<const std::byte> data) {
  int64_t bad = find_sample_mismatch(data_file_seed(name), offset, data);
  if (bad < 0) return Status::Ok();
  return Error(Code::kCorruption, name + ": wrong byte at offset " + std::to_string(offset + bad));
}

Status run_read_bench(Client& client, const IoBenchOptions& o, IoResult* r) {
  ASSIGN_OR_RETURN(Dataset d, load_dataset(client, o));
  r->files = d.files.size();
  r->path = !o.mount.empty() ? "fuse mount" : o.depth > 1 ? "ring" : "native";
  const bool ring = o.mount.empty() && o.depth > 1;
  if (ring) RETURN_IF_ERROR(open_handles(client, o, d));
  wait_for_start(o);
  std::optional<Clock::time_point> deadline;
  if (o.seconds)
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*o.seconds));
  RequestSource source(d, o.block, o.random, deadline);
  BenchWork work = [&](int t, ThreadStats& stats, LiveCounters& live) -> Status {
    if (!o.mount.empty()) return read_mount(d, o, source, t, stats, live);
    if (ring) return read_with_ring(client, d, o, source, t, stats, live);
    return read_native(client, d, o, source, t, stats, live);
  };
  Status s = run_measured(o, o.threads, &source, work, r);
  if (ring) close_handles(client, d);
  return s;
}

Status measure_versus_native(Client& client, const IoBenchOptions& o, IoResult* r) {
  IoBenchOptions native = o;
  native.mount.clear();
  native.progress = false;
  IoResult n;  // its own counts: run_measured adds to them (a copy of *r once counted the mount's bytes too)
  RETURN_IF_ERROR(run_read_bench(client, native, &n));
  r->has_versus_native = true;
  r->versus_native.native_bytes = n.bytes;
  r->versus_native.native_bytes_per_s = n.seconds > 0 ? static_cast<double>(n.bytes) / n.seconds : 0;
  const double mount = r->seconds > 0 ? static_cast<double>(r->bytes) / r->seconds : 0;
  r->versus_native.ratio = r->versus_native.native_bytes_per_s > 0 ? mount / r->versus_native.native_bytes_per_s : 0;
  return Status::Ok();
}

}  // namespace zcfs
