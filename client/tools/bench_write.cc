// zcfs-bench write: writes the dataset's blocks in --pattern order with --threads x --depth writers
// (the client's writes are synchronous: more depth is more writers), positional writes through file
// handles. The writer of a file's first block opens it (O_CREAT | O_TRUNC, so a dataset written
// before starts empty); the writer of its last block closes it, which publishes its size.
#include <fcntl.h>

#include <memory>
#include <mutex>

#include "bench_io.h"
#include "sample_data.h"
#include "zcfs/common/aligned_buffer.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

// One file being written, shared by the writers of its blocks.
struct FileWrite {
  std::once_flag opened;
  Status open_status;
  FileHandle handle;
  std::atomic<uint64_t> blocks_left{0};
};

// Writes one request's block; opens and closes the file around its first and last blocks.
Status write_block(Client& client, const IoBenchOptions& o, const DataFile& f, FileWrite& w, const Request& q,
                   std::span<std::byte> src, ThreadStats& stats, LiveCounters& live) {
  const std::string path = o.dir + "/" + f.name;
  std::call_once(w.opened, [&] {
    auto handle = client.OpenHandle(path, O_WRONLY | O_CREAT | O_TRUNC);
    w.open_status = handle.ok() ? Status::Ok() : Status(handle.status()).Prepend("open " + path);
    if (handle.ok()) w.handle = *handle;
  });
  RETURN_IF_ERROR(w.open_status);
  fill_sample(data_file_seed(f.name), q.offset, src);
  auto start = Clock::now();
  if (Status s = client.PWrite(w.handle, q.offset, src); !s.ok()) return s.Prepend(path);
  count_request(stats, live, q.length, Clock::now() - start);
  if (w.blocks_left.fetch_sub(1) == 1) return client.CloseHandle(w.handle).Prepend("close " + path);
  return Status::Ok();
}

// Empty files have no block to write: they are created here.
Status create_empty_files(Client& client, const IoBenchOptions& o, const Dataset& d) {
  for (const DataFile& f : d.files) {
    if (f.size != 0) continue;
    auto handle = client.OpenHandle(o.dir + "/" + f.name, O_WRONLY | O_CREAT | O_TRUNC);
    if (!handle.ok()) return Status(handle.status()).Prepend("open " + o.dir + "/" + f.name);
    RETURN_IF_ERROR(client.CloseHandle(*handle));
  }
  return Status::Ok();
}

}  // namespace

Status run_write_bench(Client& client, const IoBenchOptions& o, IoResult* r) {
  Dataset d = planned_dataset(o);
  auto dir = client.MakeDirs(o.dir);
  if (!dir.ok()) return Status(dir.status()).Prepend(o.dir);
  RETURN_IF_ERROR(create_empty_files(client, o, d));
  r->files = d.files.size();
  r->path = "handles";
  auto files = std::make_unique<FileWrite[]>(d.files.size());
  for (size_t i = 0; i < d.files.size(); ++i) files[i].blocks_left = (d.files[i].size + o.block - 1) / o.block;
  wait_for_start(o);
  RequestSource source(d, o.block, o.random, std::nullopt);
  BenchWork work = [&](int t, ThreadStats& stats, LiveCounters& live) -> Status {
    AlignedBuffer buffer(o.block, AlignedBuffer::Init::kUninitialized);
    RequestSource::Cursor cursor(thread_seed(t));
    for (Request q; source.Next(cursor, &q);) {
      RETURN_IF_ERROR(
          write_block(client, o, d.files[q.file], files[q.file], q, buffer.span().first(q.length), stats, live));
    }
    return Status::Ok();
  };
  Status s = run_measured(o, o.threads * o.depth, &source, work, r);
  if (!s.ok()) {  // close what a failed run left open
    for (size_t i = 0; i < d.files.size(); ++i) {
      if (files[i].handle.value != 0 && files[i].blocks_left > 0) client.CloseHandle(files[i].handle).IgnoreError();
    }
  }
  return s;
}

}  // namespace zcfs
