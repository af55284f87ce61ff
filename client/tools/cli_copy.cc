// `zcfs put` / `zcfs get`: runs a copy plan (cli_copy.h) on --jobs threads, with a progress bar.
#include "cli_copy.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "progress.h"
#include "units.h"
#include "zcfs/common/aligned_buffer.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

// One file being copied, shared by its pieces: the first piece to run opens both ends, the last one
// to finish completes the file (put: publishes its size; both: closes the local descriptor).
struct FileCopy {
  const CopyItem* item = nullptr;
  std::once_flag opened;
  CopyError open_result;
  int fd = -1;
  FileInfo remote;  // put: the created file; get: the source
  std::atomic<uint64_t> pieces_left{0};

  ~FileCopy() {
    if (fd >= 0) ::close(fd);
  }
};

struct Piece {
  size_t file = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct CopyRun {
  Client* client = nullptr;
  CopyDirection direction = CopyDirection::kPut;
  std::vector<std::unique_ptr<FileCopy>> files;
  std::vector<Piece> pieces;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> files_done{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  CopyError error;  // guarded by mutex: the first failure
};

CopyError open_ends(CopyRun& run, FileCopy& f) {
  const CopyItem& item = *f.item;
  if (run.direction == CopyDirection::kGet) {
    f.remote = item.source;
    f.fd = ::open(item.to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, item.mode);
    if (f.fd < 0) return {item.to, Status::FromErrno(errno, "open")};
    // Pieces land in any order: give the file its size first.
    if (::ftruncate(f.fd, static_cast<off_t>(item.size)) != 0) return {item.to, Status::FromErrno(errno, "truncate")};
    return {};
  }
  f.fd = ::open(item.from.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return {item.from, Status::FromErrno(errno, "open")};
  CreateOptions create;
  create.mode = item.mode;
  auto file = run.client->CreatePath(item.to, create);
  if (!file.ok()) return {item.to, file.status()};
  if (file->size > 0) {  // replacing an existing file: drop its old content
    AttrChanges cut_to_zero;
    cut_to_zero.size = 0;
    auto cut = run.client->SetAttr(file->ino, cut_to_zero);
    if (!cut.ok()) return {item.to, cut.status()};
  }
  f.remote = *file;
  return {};
}

// Copies one piece through `buffer` (kCopyPiece bytes).
CopyError copy_piece(CopyRun& run, FileCopy& f, const Piece& p, AlignedBuffer& buffer) {
  const CopyItem& item = *f.item;
  std::span<std::byte> data = buffer.span().first(p.length);
  if (run.direction == CopyDirection::kPut) {
    for (uint64_t got = 0; got < p.length;) {
      ssize_t n = ::pread(f.fd, data.data() + got, p.length - got, static_cast<off_t>(p.offset + got));
      if (n < 0) return {item.from, Status::FromErrno(errno, "read")};
      if (n == 0) return {item.from, Error(Code::kIoError, "the file shrank while being copied")};
      got += static_cast<uint64_t>(n);
    }
    Status written = run.client->Write(f.remote, p.offset, data);
    return written.ok() ? CopyError{} : CopyError{item.to, written};
  }
  for (uint64_t got = 0; got < p.length;) {
    auto n = run.client->Read(f.remote, p.offset + got, data.subspan(got));
    if (!n.ok()) return {item.from, n.status()};
    if (*n == 0) return {item.from, Error(Code::kIoError, "the file shrank while being copied")};
    got += *n;
  }
  if (::pwrite(f.fd, data.data(), data.size(), static_cast<off_t>(p.offset)) != static_cast<ssize_t>(data.size())) {
    return {item.to, Status::FromErrno(errno, "write")};
  }
  return {};
}

CopyError finish_file(CopyRun& run, FileCopy& f) {
  const CopyItem& item = *f.item;
  int fd = std::exchange(f.fd, -1);
  if (run.direction == CopyDirection::kGet) {
    return ::close(fd) == 0 ? CopyError{} : CopyError{item.to, Status::FromErrno(errno, "close")};
  }
  ::close(fd);
  auto extended = run.client->ExtendLength(f.remote.ino, item.size);
  return extended.ok() ? CopyError{} : CopyError{item.to, extended.status()};
}

CopyError run_piece(CopyRun& run, const Piece& p, AlignedBuffer& buffer) {
  FileCopy& f = *run.files[p.file];
  std::call_once(f.opened, [&] { f.open_result = open_ends(run, f); });
  if (!f.open_result.ok()) return f.open_result;
  if (CopyError e = copy_piece(run, f, p, buffer); !e.ok()) return e;
  run.bytes_done += p.length;
  if (f.pieces_left.fetch_sub(1) != 1) return {};
  ++run.files_done;
  return finish_file(run, f);
}

void worker(CopyRun& run) {
  AlignedBuffer buffer(kCopyPiece, AlignedBuffer::Init::kUninitialized);
  for (size_t i = run.next++; i < run.pieces.size() && !run.failed; i = run.next++) {
    CopyError e = run_piece(run, run.pieces[i], buffer);
    if (e.ok()) continue;
    std::lock_guard lock(run.mutex);
    if (!run.failed.exchange(true)) run.error = std::move(e);
    return;
  }
}

// "[#####.....]  45%  123.4 MiB / 273.0 MiB  12/30 files  98.7 MiB/s  ETA 2s"
std::string progress_text(const CopyRun& run, uint64_t total, Clock::time_point start) {
  uint64_t done = run.bytes_done.load();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  constexpr int kWidth = 20;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
  double eta = rate > 0 ? static_cast<double>(total - done) / rate : -1;
  return strprintf("%s %3.0f%%  %s / %s  %llu/%zu files  %s  ETA %s", bar.c_str(), fraction * 100,
                   human_bytes(done).c_str(), human_bytes(total).c_str(),
                   static_cast<unsigned long long>(run.files_done.load()), run.files.size(), human_rate(rate).c_str(),
                   human_duration(eta).c_str());
}

void split_into_pieces(CopyRun& run, const CopyPlan& plan) {
  for (const CopyItem& item : plan.files) {
    auto f = std::make_unique<FileCopy>();
    f->item = &item;
    uint64_t count = std::max<uint64_t>(1, (item.size + kCopyPiece - 1) / kCopyPiece);  // an empty file: one
    for (uint64_t k = 0; k < count; ++k) {
      uint64_t off = k * kCopyPiece;
      run.pieces.push_back({run.files.size(), off, std::min(kCopyPiece, item.size - off)});
    }
    f->pieces_left = count;
    run.files.push_back(std::move(f));
  }
}

int copy_command(Client& client, const char* name, const std::string& from, const std::string& to,
                 const CliOptions& options) {
  CopyPlan plan;
  CopyError planned =
      std::string_view(name) == "put" ? plan_put(client, from, to, &plan) : plan_get(client, from, to, &plan);
  if (!planned.ok()) return fail(std::string(name) + " " + planned.path, planned.status);
  auto start = Clock::now();
  CopyError copied = run_copy(client, plan, options);
  if (!copied.ok()) return fail(std::string(name) + " " + copied.path, copied.status);
  if (options.progress) {
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::fprintf(stderr, "%s: %zu files, %s in %.2f s (%s)\n", name, plan.files.size(), human_bytes(plan.bytes).c_str(),
                 secs, human_rate(secs > 0 ? static_cast<double>(plan.bytes) / secs : 0).c_str());
  }
  return 0;
}

}  // namespace

CopyError run_copy(Client& client, const CopyPlan& plan, const CliOptions& options) {
  CopyRun run;
  run.client = &client;
  run.direction = plan.direction;
  split_into_pieces(run, plan);
  auto start = Clock::now();
  std::unique_ptr<ProgressLine> bar;
  if (options.progress) {
    bar = std::make_unique<ProgressLine>(std::chrono::milliseconds(200),
                                         [&] { return progress_text(run, plan.bytes, start); });
  }
  std::vector<std::thread> pool;
  size_t threads = std::min<size_t>(static_cast<size_t>(std::max(options.jobs, 1)), run.pieces.size());
  for (size_t t = 0; t < threads; ++t) pool.emplace_back([&] { worker(run); });
  for (auto& t : pool) t.join();
  if (bar) bar->Stop();
  return run.error;
}

int cmd_put(Client& client, const std::string& local, const std::string& remote, const CliOptions& options) {
  return copy_command(client, "put", local, remote, options);
}

int cmd_get(Client& client, const std::string& remote, const std::string& local, const CliOptions& options) {
  return copy_command(client, "get", remote, local, options);
}

}  // namespace zcfs
