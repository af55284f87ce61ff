// zcfs-bench read --ceiling: fio when installed, the ratios (bench_ceiling.h).
#include "bench_ceiling.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "units.h"
#include "zcfs/common/aligned_buffer.h"

namespace zcfs {
namespace {

constexpr const char* kDefaultCeilingFile = "/var/tmp/zcfs-ceiling.dat";

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t colon = std::min(dirs.find(':', start), dirs.size());
    std::string candidate = dirs.substr(start, colon - start) + "/" + program;
    if (colon > start && ::access(candidate.c_str(), X_OK) == 0) return true;
    start = colon + 1;
  }
  return false;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The number after "key": in `json` at or after `from`; -1 when absent.
double json_number_after(const std::string& json, size_t from, const std::string& key) {
  size_t at = json.find("\"" + key + "\"", from);
  if (at == std::string::npos) return -1;
  size_t colon = json.find(':', at);
  return colon == std::string::npos ? -1 : std::strtod(json.c_str() + colon + 1, nullptr);
}

std::string ceiling_path(const IoBenchOptions& o) {
  return o.ceiling_file.empty() ? kDefaultCeilingFile : o.ceiling_file;
}

uint64_t ceiling_block(const IoBenchOptions& o) { return align_up(o.block, kBlockSize); }  // O_DIRECT: aligned

}  // namespace

Result<double> fio_read_bytes_per_second(const std::string& path, uint64_t block, int queue_depth, bool random,
                                         double seconds) {
  if (!on_path("fio")) return Error(Code::kNotFound, "fio is not installed");
  std::string command = strprintf(
      "fio --name=zcfs-ceiling --filename=%s --readonly --rw=%s --bs=%llu --iodepth=%d --ioengine=io_uring "
      "--direct=1 --time_based=1 --runtime=%.0fms --output-format=json 2>&1",
      shell_quote(path).c_str(), random ? "randread" : "read", static_cast<unsigned long long>(block), queue_depth,
      seconds * 1000);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return Status::FromErrno(errno, "run fio");
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  int rc = ::pclose(pipe);
  size_t read_section = out.find("\"read\"", out.find("\"jobs\""));
  double bw = read_section == std::string::npos ? -1 : json_number_after(out, read_section, "bw_bytes");
  if (rc != 0 || bw < 0) {
    return Error(Code::kIoError, "fio failed (exit " + std::to_string(rc) + "): " + out.substr(0, 400));
  }
  return bw;
}

Status prepare_ceiling(const IoBenchOptions& o) {
  return prepare_ceiling_file(ceiling_path(o), o.ceiling_size, ceiling_block(o));
}

Status measure_ceiling(const IoBenchOptions& o, IoResult* r) {
  CeilingResult& c = r->ceiling;
  c.file = ceiling_path(o);
  const uint64_t block = ceiling_block(o);
  const int depth = std::min(o.threads * o.depth, 1024);
  RETURN_IF_ERROR(prepare_ceiling(o));
  ASSIGN_OR_RETURN(c.tcp_bytes_per_s, loopback_tcp_bytes_per_second(o.ceiling_seconds));
  Result<double> disk = Error(Code::kNotFound, "not measured");
  if (o.ceiling_tool != "builtin") {
    disk = fio_read_bytes_per_second(c.file, block, depth, o.random, o.ceiling_seconds);
    if (!disk.ok() && o.ceiling_tool == "fio") return Status(disk.status()).Prepend("--ceiling-tool=fio");
    if (!disk.ok())
      std::fprintf(stderr, "zcfs-bench: %s; using the built-in io_uring reader\n", disk.status().message().c_str());
    c.tool = "fio";
  }
  if (!disk.ok()) {
    disk = odirect_read_bytes_per_second(c.file, block, depth, o.random, o.ceiling_seconds);
    c.tool = "io_uring";
  }
  if (!disk.ok()) return Status(disk.status()).Prepend("O_DIRECT ceiling");
  c.odirect_bytes_per_s = *disk;
  double rate = r->seconds > 0 ? static_cast<double>(r->bytes) / r->seconds : 0;
  if (o.random) {
    c.ratio_name = "random " + human_bytes(o.block) + " reads / O_DIRECT random";
    c.target = 0.80;
    c.ratio = c.odirect_bytes_per_s > 0 ? rate / c.odirect_bytes_per_s : 0;
  } else {
    c.ratio_name = "sequential reads / min(O_DIRECT sequential, loopback TCP)";
    c.target = 0.90;
    double ceiling = std::min(c.odirect_bytes_per_s, c.tcp_bytes_per_s);
    c.ratio = ceiling > 0 ? rate / ceiling : 0;
  }
  r->has_ceiling = true;
  return Status::Ok();
}

}  // namespace zcfs
