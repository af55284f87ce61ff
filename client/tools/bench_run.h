// Runs the threads of a zcfs-bench read or write, counts what they do and shows the live line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "bench_dataset.h"
#include "bench_options.h"
#include "bench_report.h"

namespace zcfs {

// What one thread did; the live counters are shared, read once a second by the progress line.
struct ThreadStats {
  std::vector<int64_t> latencies_ns;  // one per request
  uint64_t bytes = 0;
  uint64_t requests = 0;
};

struct LiveCounters {
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> requests{0};
};

// Counts one finished request in both.
inline void count_request(ThreadStats& stats, LiveCounters& live, uint64_t bytes,
                          std::chrono::steady_clock::duration latency) {
  stats.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count());
  stats.bytes += bytes;
  ++stats.requests;
  live.bytes.fetch_add(bytes, std::memory_order_relaxed);
  live.requests.fetch_add(1, std::memory_order_relaxed);
}

using BenchWork = std::function<Status(int thread, ThreadStats& stats, LiveCounters& live)>;

// Runs work(t, ...) on `threads` threads and fills r.seconds, bytes, requests and latency; with
// o.progress a line "read  812.3 MiB/s  812 IOPS  4 s" (and the share done of a one-pass run, from
// `source`) is printed to stderr once a second. Returns the first thread's failure.
Status run_measured(const IoBenchOptions& o, int threads, const RequestSource* source, const BenchWork& work,
                    IoResult* r);

// With o.start_at: sleeps until that UNIX time, so that several clients measure the same seconds
// (a start time already past is reported on stderr, and the run starts at once).
void wait_for_start(const IoBenchOptions& o);

// Runs fn(t) on `threads` threads; returns the first failure.
Status run_threads(int threads, const std::function<Status(int)>& fn);

}  // namespace zcfs
