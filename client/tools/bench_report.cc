#include "bench_report.h"

#include <algorithm>
#include <cmath>

#include "bench_percentile.h"
#include "units.h"

namespace zcfs {
namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += strprintf("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out;
}

double per_second(double value, double seconds) { return seconds > 0 ? value / seconds : 0; }

std::string ceiling_lines(const IoResult& r) {
  const CeilingResult& c = r.ceiling;
  std::string out = strprintf(
      "ceiling (same run): loopback TCP %.3f GB/s; local O_DIRECT %s reads of %s at queue "
      "depth %d: %.3f GB/s (%s, %s)\n",
      c.tcp_bytes_per_s / 1e9, r.pattern == "seq" ? "sequential" : "random", human_bytes(r.block).c_str(),
      r.threads * r.depth, c.odirect_bytes_per_s / 1e9, c.tool.c_str(), c.file.c_str());
  out += strprintf("ratio: %s = %.2f (target >= %.2f: %s)\n", c.ratio_name.c_str(), c.ratio, c.target,
                   c.ratio >= c.target ? "met" : "NOT met");
  return out;
}

}  // namespace

LatencySummary summarize_latencies(std::vector<int64_t>& latencies_ns) {
  std::sort(latencies_ns.begin(), latencies_ns.end());
  return {static_cast<double>(percentile(latencies_ns, 0.50)) / 1000.0,
          static_cast<double>(percentile(latencies_ns, 0.99)) / 1000.0,
          static_cast<double>(percentile(latencies_ns, 0.999)) / 1000.0};
}

void JsonObject::Key(const std::string& key) {
  if (!body_.empty()) body_ += ",";
  body_ += "\"" + json_escape(key) + "\":";
}

JsonObject& JsonObject::Add(const std::string& key, double value) {
  Key(key);
  body_ += std::isfinite(value) ? strprintf("%.6g", value) : "null";
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, uint64_t value) {
  Key(key);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, const std::string& value) {
  Key(key);
  body_ += "\"" + json_escape(value) + "\"";
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, const JsonObject& value) {
  Key(key);
  body_ += value.str();
  return *this;
}

std::string format_io_table(const IoResult& r) {
  double rate = per_second(static_cast<double>(r.bytes), r.seconds);
  std::string out = strprintf(
      "%s %s, layout %s (%llu files), %s, %d threads x depth %d%s, %s requests%s: %s in %llu requests, %.2f s\n",
      r.mode.c_str(), r.pattern == "seq" ? "sequential" : "random", r.layout.c_str(),
      static_cast<unsigned long long>(r.files),
      (r.transport.empty() ? r.path : r.path + " over " + r.transport).c_str(), r.threads, r.depth,
      r.reap > 1 ? (" reaping " + std::to_string(r.reap)).c_str() : "", human_bytes(r.block).c_str(),
      r.verified ? ", verified" : "", human_bytes(r.bytes).c_str(), static_cast<unsigned long long>(r.requests),
      r.seconds);
  out += strprintf("%9s %10s %10s %10s %10s %10s\n", "GB/s", "MiB/s", "IOPS", "p50 us", "p99 us", "p99.9 us");
  out += strprintf("%9.3f %10.1f %10.0f %10.1f %10.1f %10.1f\n", rate / 1e9, rate / (1 << 20),
                   per_second(static_cast<double>(r.requests), r.seconds), r.latency.p50_us, r.latency.p99_us,
                   r.latency.p999_us);
  if (r.has_ceiling) out += ceiling_lines(r);
  if (r.has_versus_native) {
    const VersusNative& v = r.versus_native;
    out += strprintf("native API (same run, same requests): %.1f MiB/s; mount / native = %.2f (target >= %.2f: %s)\n",
                     v.native_bytes_per_s / (1 << 20), v.ratio, VersusNative::kTarget,
                     v.ratio >= VersusNative::kTarget ? "met" : "NOT met");
  }
  return out;
}

std::string format_io_json(const IoResult& r) {
  double rate = per_second(static_cast<double>(r.bytes), r.seconds);
  JsonObject o;
  o.Add("mode", r.mode).Add("pattern", r.pattern).Add("layout", r.layout).Add("path", r.path);
  o.Add("transport", r.transport);
  o.Add("threads", r.threads).Add("depth", r.depth).Add("reap", r.reap).Add("block", r.block).Add("files", r.files);
  o.Add("verified", r.verified).Add("seconds", r.seconds).Add("bytes", r.bytes).Add("requests", r.requests);
  o.Add("gb_per_s", rate / 1e9).Add("mib_per_s", rate / (1 << 20));
  o.Add("iops", per_second(static_cast<double>(r.requests), r.seconds));
  o.Add("p50_us", r.latency.p50_us).Add("p99_us", r.latency.p99_us).Add("p999_us", r.latency.p999_us);
  if (r.has_ceiling) {
    const CeilingResult& c = r.ceiling;
    JsonObject ceiling;
    ceiling.Add("tcp_gb_per_s", c.tcp_bytes_per_s / 1e9).Add("odirect_gb_per_s", c.odirect_bytes_per_s / 1e9);
    ceiling.Add("tool", c.tool).Add("file", c.file).Add("ratio_name", c.ratio_name);
    ceiling.Add("ratio", c.ratio).Add("target", c.target).Add("met", c.ratio >= c.target);
    o.Add("ceiling", ceiling);
  }
  if (r.has_versus_native) {
    const VersusNative& v = r.versus_native;
    JsonObject versus;
    versus.Add("native_bytes", v.native_bytes).Add("native_mib_per_s", v.native_bytes_per_s / (1 << 20));
    versus.Add("ratio", v.ratio);
    versus.Add("target", VersusNative::kTarget).Add("met", v.ratio >= VersusNative::kTarget);
    o.Add("versus_native", versus);
  }
  return o.str() + "\n";
}

}  // namespace zcfs
