#include "bench_run.h"

#include <cstdio>
#include <memory>
#include <thread>

#include "progress.h"
#include "units.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

// The live line's text: rates over the last interval, not since the start, so that a stall shows.
class LiveLine {
 public:
  LiveLine(const std::string& mode, const LiveCounters& live, const RequestSource* source)
      : mode_(mode), live_(live), source_(source), start_(Clock::now()), last_time_(start_) {}

  std::string operator()() {
    auto now = Clock::now();
    uint64_t bytes = live_.bytes.load(), requests = live_.requests.load();
    double secs = std::chrono::duration<double>(now - last_time_).count();
    std::string line = strprintf("%s %10.1f MiB/s %9.0f IOPS %6.0f s", mode_.c_str(),
                                 static_cast<double>(bytes - last_bytes_) / (1 << 20) / secs,
                                 static_cast<double>(requests - last_requests_) / secs,
                                 std::chrono::duration<double>(now - start_).count());
    if (source_ != nullptr && source_->total_blocks() > 0) {
      line += strprintf("  %3.0f%%", 100.0 * static_cast<double>(source_->handed_out()) /
                                         static_cast<double>(source_->total_blocks()));
    }
    last_time_ = now;
    last_bytes_ = bytes;
    last_requests_ = requests;
    return line;
  }

 private:
  const std::string mode_;
  const LiveCounters& live_;
  const RequestSource* source_;
  const Clock::time_point start_;
  Clock::time_point last_time_;
  uint64_t last_bytes_ = 0;
  uint64_t last_requests_ = 0;
};

}  // namespace

void wait_for_start(const IoBenchOptions& o) {
  if (!o.start_at) return;
  auto start = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(*o.start_at)));
  auto late = std::chrono::duration<double>(std::chrono::system_clock::now() - start).count();
  if (late > 1) {
    std::fprintf(stderr, "zcfs-bench: --start-at=%.0f passed %.1f s ago; starting now\n", *o.start_at, late);
    return;
  }
  std::this_thread::sleep_until(start);
}

Status run_threads(int threads, const std::function<Status(int)>& fn) {
  std::vector<Status> results(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { results[t] = fn(t); });
  for (auto& th : pool) th.join();
  for (auto& s : results) RETURN_IF_ERROR(s);
  return Status::Ok();
}

Status run_measured(const IoBenchOptions& o, int threads, const RequestSource* source, const BenchWork& work,
                    IoResult* r) {
  LiveCounters live;
  std::vector<ThreadStats> stats(threads);
  std::unique_ptr<ProgressLine> line;
  // A one-pass run's source is done when it has handed everything out; a timed run's is not.
  const RequestSource* share_source = o.seconds ? nullptr : source;
  if (o.progress) line = std::make_unique<ProgressLine>(std::chrono::seconds(1), LiveLine(o.mode, live, share_source));
  auto start = Clock::now();
  Status s = run_threads(threads, [&](int t) { return work(t, stats[t], live); });
  r->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (line) line->Stop();
  std::vector<int64_t> latencies;
  for (auto& t : stats) {
    r->bytes += t.bytes;
    r->requests += t.requests;
    latencies.insert(latencies.end(), t.latencies_ns.begin(), t.latencies_ns.end());
  }
  r->latency = summarize_latencies(latencies);
  return s;
}

}  // namespace zcfs
