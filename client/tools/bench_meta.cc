// zcfs-bench meta: metadata operation rates through the native API.
//
//   zcfs-bench meta --meta=HOST:PORT [--dir=/bench-meta] [--threads=4] [--files=10000] [--clients=1]
//                   [--io-threads=2] [--unlink] [--repeat=1] [--poll-us=50]
//
// Each thread owns a directory <dir>/run-<pid>-<time>/t<i> and runs, phase after phase (all threads
// start a phase together):
//   create     Client::Create of --files new files (exclusive) in its directory
//   stat       Client::GetAttr of each file by inode (the design's "stat" target is this one)
//   stat-path  Client::Stat of each file by path (one GetAttr of the root, then one Lookup per component)
//   lookup     Client::Lookup of each file by parent inode and name
//   readdir    its whole directory page by page, 5 times (rate in entries/s, latency per page)
//   unlink     (with --unlink) Client::Unlink of each file, which also leaves the namespace clean
// and prints the rate and the p50/p99/p99.9 latency per operation of each phase (--json: one JSON
// object, {"mode":"meta",...,"phases":{"create":{"rate":...,"p99_us":...},...}}). --repeat=N runs each read
// phase (stat, stat-path, lookup) N times over, so that it lasts long enough to profile. --clients=N spreads the
// threads over N client connections (the meta server handles one connection's calls in order);
// --io-threads sets each client's I/O threads (ClientOptions::io_threads), --poll-us how long a
// namespace read polls for its reply before sleeping (ClientOptions::meta_poll; 0: never).
#include "bench_meta.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_report.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

struct MetaBenchOptions {
  std::string meta;
  std::string dir;
  int threads = 4;
  uint64_t files = 10000;  // per thread
  int clients = 1;
  int io_threads = 2;  // per client
  bool unlink = false;
  int repeat = 1;  // passes of each read phase
  int poll_us = 50;
  bool json = false;  // one JSON object with every phase instead of a line per phase
};

// What one thread works on: its client, its directory and the files it created there.
struct ThreadState {
  Client* client = nullptr;
  std::string dir_path;
  uint64_t dir_ino = 0;
  std::vector<uint64_t> inos;  // of file k, filled by the create phase
  std::vector<int64_t> latencies_ns;
  uint64_t units = 0;  // operations, or entries for readdir
};

std::string file_name(uint64_t k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "file-%08llu", static_cast<unsigned long long>(k));
  return buf;
}

// Times one call into the thread's latency list.
template <typename Fn>
auto timed(ThreadState& t, Fn fn) {
  auto start = Clock::now();
  auto result = fn();
  t.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
  return result;
}

Status create_files(ThreadState& t, const MetaBenchOptions& o) {
  CreateOptions create;
  create.exclusive = true;
  for (uint64_t k = 0; k < o.files; ++k) {
    ASSIGN_OR_RETURN(FileInfo file, timed(t, [&] { return t.client->Create(t.dir_ino, file_name(k), create); }));
    t.inos.push_back(file.ino);
  }
  t.units = o.files;
  return Status::Ok();
}

Status stat_files(ThreadState& t, const MetaBenchOptions& o) {
  for (int pass = 0; pass < o.repeat; ++pass) {
    for (uint64_t ino : t.inos) RETURN_IF_ERROR(timed(t, [&] { return t.client->GetAttr(ino); }).status());
    t.units += t.inos.size();
  }
  return Status::Ok();
}

Status stat_paths(ThreadState& t, const MetaBenchOptions& o) {
  for (int pass = 0; pass < o.repeat; ++pass) {
    for (uint64_t k = 0; k < o.files; ++k) {
      std::string path = t.dir_path + "/" + file_name(k);
      RETURN_IF_ERROR(timed(t, [&] { return t.client->Stat(path); }).status());
    }
    t.units += o.files;
  }
  return Status::Ok();
}

Status lookup_files(ThreadState& t, const MetaBenchOptions& o) {
  for (int pass = 0; pass < o.repeat; ++pass) {
    for (uint64_t k = 0; k < o.files; ++k) {
      std::string name = file_name(k);
      RETURN_IF_ERROR(timed(t, [&] { return t.client->Lookup(t.dir_ino, name); }).status());
    }
    t.units += o.files;
  }
  return Status::Ok();
}

// A whole listing takes few calls; several passes make the phase long enough to time.
constexpr int kReaddirPasses = 5;

Status list_directory(ThreadState& t, const MetaBenchOptions& o) {
  for (int pass = 0; pass < kReaddirPasses; ++pass) {
    std::string after;
    uint64_t listed = 0;
    for (;;) {
      ASSIGN_OR_RETURN(DirPage page, timed(t, [&] { return t.client->ReadDirPage(t.dir_ino, after); }));
      listed += page.entries.size();
      if (page.eof || page.entries.empty()) break;
      after = page.entries.back().name;
    }
    if (listed != o.files) {
      return Error(Code::kInternal,
                   t.dir_path + " lists " + std::to_string(listed) + " entries, expected " + std::to_string(o.files));
    }
    t.units += listed;
  }
  return Status::Ok();
}

Status unlink_files(ThreadState& t, const MetaBenchOptions& o) {
  for (uint64_t k = 0; k < o.files; ++k) {
    std::string name = file_name(k);
    RETURN_IF_ERROR(timed(t, [&] { return t.client->Unlink(t.dir_ino, name); }));
  }
  t.units = o.files;
  return Status::Ok();
}

// Runs `phase` on every thread at once; prints its rate and latency percentiles.
// With `json`, adds the phase's numbers to it instead of printing a line.
Status run_phase(const char* name, const char* unit, std::vector<ThreadState>& threads, const MetaBenchOptions& o,
                 Status (*phase)(ThreadState&, const MetaBenchOptions&), JsonObject* json) {
  std::vector<Status> results(threads.size());
  std::vector<std::thread> pool;
  for (auto& t : threads) {
    t.latencies_ns.clear();
    t.units = 0;
  }
  auto start = Clock::now();
  for (size_t i = 0; i < threads.size(); ++i) {
    pool.emplace_back([&, i] { results[i] = phase(threads[i], o); });
  }
  for (auto& th : pool) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& s : results) RETURN_IF_ERROR(s);

  std::vector<int64_t> all;
  uint64_t units = 0;
  for (const auto& t : threads) {
    all.insert(all.end(), t.latencies_ns.begin(), t.latencies_ns.end());
    units += t.units;
  }
  LatencySummary latency = summarize_latencies(all);
  double rate = static_cast<double>(units) / secs;
  if (json != nullptr) {
    JsonObject row;
    row.Add("units", units).Add("unit", unit).Add("seconds", secs).Add("rate", rate).Add("calls", uint64_t{all.size()});
    row.Add("p50_us", latency.p50_us).Add("p99_us", latency.p99_us).Add("p999_us", latency.p999_us);
    json->Add(name, row);
    return Status::Ok();
  }
  std::printf("%-9s %9llu %-7s in %7.3f s: %9.0f %s/s   p50 %7.1f us   p99 %7.1f us   p99.9 %7.1f us  (%zu calls)\n",
              name, static_cast<unsigned long long>(units), unit, secs, rate, unit, latency.p50_us, latency.p99_us,
              latency.p999_us, all.size());
  std::fflush(stdout);
  return Status::Ok();
}

Status run_phases(const MetaBenchOptions& o) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < o.clients; ++c) {
    ClientOptions options;
    options.meta_address = o.meta;
    options.io_threads = o.io_threads;
    options.meta_poll = std::chrono::microseconds(o.poll_us);
    ASSIGN_OR_RETURN(auto client, Client::Connect(options));
    clients.push_back(std::move(client));
  }
  std::string run_dir = o.dir + "/run-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr));
  std::vector<ThreadState> threads(o.threads);
  for (int i = 0; i < o.threads; ++i) {
    ThreadState& t = threads[i];
    t.client = clients[i % clients.size()].get();
    t.dir_path = run_dir + "/t" + std::to_string(i);
    ASSIGN_OR_RETURN(FileInfo dir, t.client->MakeDirs(t.dir_path));
    t.dir_ino = dir.ino;
    t.inos.reserve(o.files);
  }
  JsonObject phases;
  JsonObject* json = o.json ? &phases : nullptr;
  if (!o.json) {
    std::printf("meta bench: %d threads x %llu files in %s, %d client connection(s)\n", o.threads,
                static_cast<unsigned long long>(o.files), run_dir.c_str(), o.clients);
    std::fflush(stdout);  // a phase can take long: show what runs
  }
  RETURN_IF_ERROR(run_phase("create", "ops", threads, o, create_files, json));
  RETURN_IF_ERROR(run_phase("stat", "ops", threads, o, stat_files, json));
  RETURN_IF_ERROR(run_phase("stat-path", "ops", threads, o, stat_paths, json));
  RETURN_IF_ERROR(run_phase("lookup", "ops", threads, o, lookup_files, json));
  RETURN_IF_ERROR(run_phase("readdir", "entries", threads, o, list_directory, json));
  if (o.unlink) RETURN_IF_ERROR(run_phase("unlink", "ops", threads, o, unlink_files, json));
  if (o.json) {
    JsonObject out;
    out.Add("mode", "meta").Add("dir", run_dir).Add("threads", o.threads).Add("files", o.files);
    out.Add("clients", o.clients).Add("phases", phases);
    std::printf("%s\n", out.str().c_str());
  }
  return Status::Ok();
}

int usage() {
  std::fprintf(
      stderr,
      "usage: zcfs-bench meta --meta=HOST:PORT [--dir=PATH] [--threads=N] [--files=N per thread]\n"
      "                       [--clients=N] [--io-threads=N] [--unlink] [--repeat=N] [--poll-us=N] [--json]\n");
  return 2;
}

}  // namespace

int run_meta_bench(const Config& config) {
  MetaBenchOptions o;
  o.meta = config.GetString("meta", "127.0.0.1:8000");
  o.dir = config.GetString("dir", "/bench-meta");
  auto threads = config.GetInt("threads", 4);
  auto files = config.GetInt("files", 10000);
  auto clients = config.GetInt("clients", 1);
  auto io_threads = config.GetInt("io-threads", 2);
  auto unlink = config.GetBool("unlink", false);
  auto repeat = config.GetInt("repeat", 1);
  auto poll_us = config.GetInt("poll-us", 50);
  auto json = config.GetBool("json", false);
  if (!threads.ok() || !files.ok() || !clients.ok() || !io_threads.ok() || !unlink.ok() || !repeat.ok() ||
      !poll_us.ok() || !json.ok() || *threads < 1 || *threads > 1024 || *files < 1 || *clients < 1 ||
      *clients > *threads || *io_threads < 1 || *io_threads > 64) {
    return usage();
  }
  o.threads = static_cast<int>(*threads);
  o.files = static_cast<uint64_t>(*files);
  o.clients = static_cast<int>(*clients);
  o.io_threads = static_cast<int>(*io_threads);
  o.unlink = *unlink;
  o.json = *json;
  if (*repeat < 1 || *repeat > 1000) return usage();
  o.repeat = static_cast<int>(*repeat);
  if (*poll_us < 0 || *poll_us > 1000000) return usage();
  o.poll_us = static_cast<int>(*poll_us);
  Status s = run_phases(o);
  if (!s.ok()) {
    std::fprintf(stderr, "zcfs-bench meta: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace zcfs
