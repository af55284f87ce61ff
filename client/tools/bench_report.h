// What zcfs-bench prints: latency percentiles, the results table, JSON objects and the design.md
// ratios against the ceilings measured in the same run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zcfs {

// p50/p99/p99.9 of a set of latencies, in microseconds.
struct LatencySummary {
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
};
// Sorts `latencies_ns` in place and takes its percentiles.
LatencySummary summarize_latencies(std::vector<int64_t>& latencies_ns);

// A flat JSON object built field by field, in the order added (numbers, strings, nested objects).
class JsonObject {
 public:
  JsonObject& Add(const std::string& key, double value);
  JsonObject& Add(const std::string& key, uint64_t value);
  JsonObject& Add(const std::string& key, int value) { return Add(key, static_cast<uint64_t>(value)); }
  JsonObject& Add(const std::string& key, const std::string& value);
  JsonObject& Add(const std::string& key, const char* value) { return Add(key, std::string(value)); }
  JsonObject& Add(const std::string& key, bool value);
  JsonObject& Add(const std::string& key, const JsonObject& value);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void Key(const std::string& key);
  std::string body_;
};

// The ceilings of a read run (bench_ceiling.h) and how the run compares with them.
struct CeilingResult {
  double tcp_bytes_per_s = 0;      // loopback TCP, one stream
  double odirect_bytes_per_s = 0;  // local O_DIRECT reads with the run's pattern, block and queue depth
  std::string tool;                // "fio" or "io_uring" (the built-in)
  std::string file;                // the local file read
  // design.md: sequential reads vs min(O_DIRECT seq, loopback TCP) >= 0.90; random vs O_DIRECT >= 0.80.
  double ratio = 0;
  double target = 0;
  std::string ratio_name;  // what the ratio compares, in words
};

// A --mount run against the same run through the native API (--versus-native).
struct VersusNative {
  uint64_t native_bytes = 0;  // read by the native run
  double native_bytes_per_s = 0;
  double ratio = 0;                        // mount / native
  static constexpr double kTarget = 0.75;  // design.md: FUSE sequential reads >= 75 % of the native API
};

// One read or write run.
struct IoResult {
  std::string mode;       // "read" or "write"
  std::string pattern;    // "seq" or "rand"
  std::string layout;     // "files" or "shard"
  std::string path;       // "native", "ring" or "fuse mount"
  std::string transport;  // the native client's data transport, "tcp" or "rdma"; empty for a mount
  int threads = 0;
  int depth = 0;
  int reap = 1;  // ring path: completions waited for per refill
  uint64_t block = 0;
  uint64_t files = 0;  // in the dataset
  double seconds = 0;
  uint64_t bytes = 0;
  uint64_t requests = 0;
  bool verified = false;
  LatencySummary latency;
  bool has_ceiling = false;
  CeilingResult ceiling;
  bool has_versus_native = false;
  VersusNative versus_native;
};

// The human table (a header line, the column names, the numbers; then the ceiling lines).
std::string format_io_table(const IoResult& r);
// The same numbers as one JSON object (one line).
std::string format_io_json(const IoResult& r);

}  // namespace zcfs
