// zcfs-bench: writes and reads a dataset of sample files and reports throughput.
//
//   zcfs-bench write --meta=HOST:PORT --dir=/dataset [--files=64] [--size=4MiB] [--threads=4]
//   zcfs-bench read  --meta=HOST:PORT --dir=/dataset [--threads=4] [--block=1MiB] [--verify]
//   zcfs-bench read  --mount=/tmp/zcfs --dir=/dataset ...   (the same read through the FUSE mount)
//   zcfs-bench meta  --meta=HOST:PORT [--threads=4] [--files=10000]  (metadata rates: bench_meta.cc)
//   zcfs-bench storage --meta=HOST:PORT [--pattern=seq|rand] [--block=1MiB]  (chunk reads: bench_storage.cc)
//   zcfs-bench storage --storage=HOST:PORT[,HOST:PORT...] ...  (the same without a meta server)
//
// File k of the dataset is named sample-<k> and holds sample content with seed k, so reads can
// verify every byte (--verify) without a reference copy.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_meta.h"
#include "bench_storage.h"
#include "sample_data.h"
#include "zcfs/client/client.h"
#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/config.h"

namespace zcfs {
namespace {

struct BenchOptions {
  std::string meta;
  std::string mount;  // non-empty: read through this mount point with POSIX calls
  std::string dir;
  uint64_t files = 64;
  uint64_t size = 4 << 20;
  uint64_t block = 1 << 20;
  int threads = 4;
  bool verify = false;
};

std::string sample_name(uint64_t k) { return "sample-" + std::to_string(k); }
uint64_t sample_seed(const std::string& name) { return std::stoull(name.substr(name.find('-') + 1)); }

void report(const char* what, uint64_t bytes, double seconds, const BenchOptions& o, const char* path) {
  double mib = static_cast<double>(bytes) / (1 << 20);
  std::printf("%s %.1f MiB in %.3f s: %.1f MiB/s (%s, %d threads, %llu KiB requests)\n", what, mib, seconds,
              mib / seconds, path, o.threads, static_cast<unsigned long long>(o.block >> 10));
}

// Runs work(thread_index) on o.threads threads; returns the first failure.
template <typename Fn>
Status run_threads(int threads, Fn work) {
  std::vector<Status> results(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { results[t] = work(t); });
  for (auto& th : pool) th.join();
  for (auto& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status check_block(const std::string& name, uint64_t offset, std::span<const std::byte> data) {
  int64_t bad = find_sample_mismatch(sample_seed(name), offset, data);
  if (bad < 0) return Status::Ok();
  return Error(Code::kCorruption, name + ": wrong byte at offset " + std::to_string(offset + bad));
}

int cmd_write(Client& client, const BenchOptions& o) {
  auto dir = client.MakeDirs(o.dir);
  if (!dir.ok()) return std::fprintf(stderr, "zcfs-bench: %s\n", dir.status().ToString().c_str()), 1;
  auto start = std::chrono::steady_clock::now();
  std::atomic<uint64_t> next{0};
  Status s = run_threads(o.threads, [&](int) -> Status {
    AlignedBuffer buf(o.block, AlignedBuffer::Init::kUninitialized);
    for (uint64_t k = next++; k < o.files; k = next++) {
      ASSIGN_OR_RETURN(FileInfo file, client.Create(dir->ino, sample_name(k)));
      for (uint64_t off = 0; off < o.size; off += o.block) {
        size_t n = static_cast<size_t>(std::min(o.block, o.size - off));
        fill_sample(k, off, std::span(buf.data(), n));
        RETURN_IF_ERROR(client.Write(file, off, std::span<const std::byte>(buf.data(), n)));
      }
      RETURN_IF_ERROR(client.ExtendLength(file.ino, o.size));
    }
    return Status::Ok();
  });
  if (!s.ok()) return std::fprintf(stderr, "zcfs-bench: write failed: %s\n", s.ToString().c_str()), 1;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report("wrote", o.files * o.size, secs, o, "native");
  return 0;
}

// One file read start to end through the native API.
Status read_native(Client& client, const FileInfo& file, const std::string& name, std::span<std::byte> buf, bool verify,
                   uint64_t* bytes) {
  for (uint64_t off = 0; off < file.size;) {
    ASSIGN_OR_RETURN(size_t n, client.Read(file, off, buf));
    if (n == 0) return Error(Code::kIoError, name + ": short read at " + std::to_string(off));
    if (verify) RETURN_IF_ERROR(check_block(name, off, buf.first(n)));
    off += n;
    *bytes += n;
  }
  return Status::Ok();
}

// One file read start to end through the mount with pread.
Status read_posix(const std::string& path, const std::string& name, std::span<std::byte> buf, bool verify,
                  uint64_t* bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  Status s;
  for (uint64_t off = 0;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      s = Status::FromErrno(errno, "read " + path);
      break;
    }
    if (n == 0) break;
    if (verify && !(s = check_block(name, off, buf.first(static_cast<size_t>(n)))).ok()) break;
    off += static_cast<uint64_t>(n);
    *bytes += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return s;
}

int cmd_read(Client& client, const BenchOptions& o) {
  auto dir = client.Stat(o.dir);
  if (!dir.ok()) return std::fprintf(stderr, "zcfs-bench: %s\n", dir.status().ToString().c_str()), 1;
  auto entries = client.ReadDir(dir->ino);
  if (!entries.ok()) return std::fprintf(stderr, "zcfs-bench: %s\n", entries.status().ToString().c_str()), 1;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> total{0};
  auto start = std::chrono::steady_clock::now();
  Status s = run_threads(o.threads, [&](int) -> Status {
    AlignedBuffer buf(o.block, AlignedBuffer::Init::kUninitialized);
    uint64_t bytes = 0;
    Status st;
    for (size_t i = next++; i < entries->size() && st.ok(); i = next++) {
      const DirEntry& e = (*entries)[i];
      if (!o.mount.empty()) {
        st = read_posix(o.mount + o.dir + "/" + e.name, e.name, buf.span(), o.verify, &bytes);
      } else {
        auto file = client.GetAttr(e.ino);
        st = file.ok() ? read_native(client, *file, e.name, buf.span(), o.verify, &bytes) : file.status();
      }
    }
    total += bytes;
    return st;
  });
  if (!s.ok()) return std::fprintf(stderr, "zcfs-bench: read failed: %s\n", s.ToString().c_str()), 1;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report(o.verify ? "read+verified" : "read", total, secs, o, o.mount.empty() ? "native" : "fuse mount");
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: zcfs-bench write --meta=HOST:PORT --dir=PATH [--files=N] [--size=BYTES] [--threads=N]\n"
               "       zcfs-bench read  --meta=HOST:PORT --dir=PATH [--threads=N] [--block=BYTES] [--verify]\n"
               "                        [--mount=MOUNTPOINT]  (read through the FUSE mount)\n"
               "       zcfs-bench meta  --meta=HOST:PORT [--dir=PATH] [--threads=N] [--files=N] [--clients=N]\n"
               "       zcfs-bench storage (--meta=HOST:PORT | --storage=HOST:PORT[,...]) [--pattern=seq|rand]\n"
               "                          [--block=BYTES] [--threads=N]\n"
               "                          [--depth=N] [--seconds=S] [--chunks=N] [--chunk-size=BYTES] [--batch=N]\n"
               "                          [--verify]\n");
  return 2;
}

int run(int argc, char** argv) {
  Config config;
  std::vector<std::string> args;
  if (!config.ApplyArgs(argc, argv, &args).ok() || args.size() != 1) return usage();
  if (args[0] == "meta") return run_meta_bench(config);
  if (args[0] == "storage") return run_storage_bench(config);
  BenchOptions o;
  o.meta = config.GetString("meta", "127.0.0.1:8000");
  o.mount = config.GetString("mount", "");
  o.dir = config.GetString("dir", "/bench");
  auto files = config.GetInt("files", 64);
  auto size = config.GetBytes("size", 4 << 20);
  auto block = config.GetBytes("block", 1 << 20);
  auto threads = config.GetInt("threads", 4);
  auto verify = config.GetBool("verify", false);
  if (!files.ok() || !size.ok() || !block.ok() || !threads.ok() || !verify.ok() || *threads < 1 || *block == 0) {
    return usage();
  }
  o.files = static_cast<uint64_t>(*files);
  o.size = *size;
  o.block = *block;
  o.threads = static_cast<int>(*threads);
  o.verify = *verify;
  ClientOptions options;
  options.meta_address = o.meta;
  auto client = Client::Connect(options);
  if (!client.ok()) return std::fprintf(stderr, "zcfs-bench: %s\n", client.status().ToString().c_str()), 1;
  if (args[0] == "write") return cmd_write(**client, o);
  if (args[0] == "read") return cmd_read(**client, o);
  return usage();
}

}  // namespace
}  // namespace zcfs

int main(int argc, char** argv) { return zcfs::run(argc, argv); }
