#include "bench_options.h"

#include <set>

#include "progress.h"
#include "zcfs/client/transport_flags.h"

namespace zcfs {
namespace {

Status bad(const std::string& flag, const std::string& why) {
  return Error(Code::kInvalidArgument, "--" + flag + ": " + why);
}

// Reads an integer flag within [lo, hi] into *out.
Status read_int(const Config& c, const std::string& flag, int64_t lo, int64_t hi, auto* out) {
  auto v = c.GetInt(flag, static_cast<int64_t>(*out));
  if (!v.ok()) return bad(flag, v.status().message());
  if (*v < lo || *v > hi) return bad(flag, "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
  *out = static_cast<std::remove_pointer_t<decltype(out)>>(*v);
  return Status::Ok();
}

Status read_bytes(const Config& c, const std::string& flag, uint64_t lo, uint64_t hi, uint64_t* out) {
  auto v = c.GetBytes(flag, *out);
  if (!v.ok()) return bad(flag, v.status().message());
  if (*v < lo || *v > hi) return bad(flag, "out of range");
  *out = *v;
  return Status::Ok();
}

Status read_bool(const Config& c, const std::string& flag, bool* out) {
  auto v = c.GetBool(flag, *out);
  if (!v.ok()) return bad(flag, v.status().message());
  *out = *v;
  return Status::Ok();
}

Status read_seconds(const Config& c, const std::string& flag, double lo, double hi, std::optional<double>* out) {
  if (!c.Has(flag)) return Status::Ok();
  std::string text = c.GetString(flag, "");
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(v >= lo && v <= hi))
    return bad(flag, "'" + text + "' is not a number in range");
  *out = v;
  return Status::Ok();
}

Status check_known(const Config& c) {
  static const std::set<std::string> kKnown = {
      "meta",         "mount",           "dir",          "layout",       "files",    "size",       "shards",
      "shard-size",   "block",           "threads",      "depth",        "reap",     "io-threads", "pattern",
      "seconds",      "verify",          "json",         "progress",     "start-at", "ceiling",    "ceiling-file",
      "ceiling-size", "ceiling-seconds", "ceiling-tool", "versus-native"};
  for (const auto& [key, value] : c.values()) {
    if (!kKnown.count(key) && !is_transport_flag(key)) return Error(Code::kInvalidArgument, "unknown flag --" + key);
  }
  return Status::Ok();
}

Status read_choices(const Config& c, IoBenchOptions* o) {
  std::string layout = c.GetString("layout", "files");
  std::string pattern = c.GetString("pattern", "seq");
  if (layout != "files" && layout != "shard") return bad("layout", "files or shard");
  if (pattern != "seq" && pattern != "rand") return bad("pattern", "seq or rand");
  o->shards = layout == "shard";
  o->random = pattern == "rand";
  o->ceiling_tool = c.GetString("ceiling-tool", "auto");
  if (o->ceiling_tool != "auto" && o->ceiling_tool != "fio" && o->ceiling_tool != "builtin") {
    return bad("ceiling-tool", "auto, fio or builtin");
  }
  return Status::Ok();
}

}  // namespace

Result<IoBenchOptions> parse_io_options(const std::string& mode, const Config& c) {
  IoBenchOptions o;
  o.mode = mode;
  RETURN_IF_ERROR(check_known(c));
  o.meta = c.GetString("meta", o.meta);
  o.mount = c.GetString("mount", "");
  o.dir = c.GetString("dir", o.dir);
  o.ceiling_file = c.GetString("ceiling-file", "");
  RETURN_IF_ERROR(read_choices(c, &o));
  RETURN_IF_ERROR(apply_transport_flags(c, o.transport));
  RETURN_IF_ERROR(read_int(c, "files", 1, 100'000'000, &o.files));
  RETURN_IF_ERROR(read_bytes(c, "size", 0, uint64_t{1} << 44, &o.size));
  RETURN_IF_ERROR(read_int(c, "shards", 1, 1'000'000, &o.shard_count));
  RETURN_IF_ERROR(read_bytes(c, "shard-size", 1, uint64_t{1} << 44, &o.shard_size));
  RETURN_IF_ERROR(read_bytes(c, "block", 512, 64 << 20, &o.block));
  RETURN_IF_ERROR(read_int(c, "threads", 1, 1024, &o.threads));
  RETURN_IF_ERROR(read_int(c, "depth", 1, 1024, &o.depth));
  RETURN_IF_ERROR(read_int(c, "reap", 1, 1024, &o.reap));
  if (o.reap > o.depth) return bad("reap", "cannot wait for more completions than --depth reads in flight");
  RETURN_IF_ERROR(read_int(c, "io-threads", 1, 64, &o.io_threads));
  RETURN_IF_ERROR(read_seconds(c, "seconds", 0.1, 86400, &o.seconds));
  RETURN_IF_ERROR(read_seconds(c, "start-at", 0, 1e11, &o.start_at));
  RETURN_IF_ERROR(read_bool(c, "verify", &o.verify));
  RETURN_IF_ERROR(read_bool(c, "json", &o.json));
  RETURN_IF_ERROR(read_bool(c, "progress", &o.progress));
  o.progress = progress_wanted(o.progress);
  RETURN_IF_ERROR(read_bool(c, "ceiling", &o.ceiling));
  RETURN_IF_ERROR(read_bytes(c, "ceiling-size", 1 << 20, uint64_t{1} << 40, &o.ceiling_size));
  std::optional<double> ceiling_seconds = o.ceiling_seconds;
  RETURN_IF_ERROR(read_seconds(c, "ceiling-seconds", 0.2, 600, &ceiling_seconds));
  o.ceiling_seconds = *ceiling_seconds;
  if (mode == "write" && (o.seconds || o.ceiling || !o.mount.empty())) {
    return Error(Code::kInvalidArgument,
                 "write writes the dataset once: --seconds, --ceiling and --mount are for read");
  }
  RETURN_IF_ERROR(read_bool(c, "versus-native", &o.versus_native));
  if (o.versus_native && o.mount.empty()) return bad("versus-native", "compares a --mount run with the native API");
  if (!o.mount.empty() && o.depth > 1) return bad("depth", "reads through --mount are one pread per thread at a time");
  return o;
}

}  // namespace zcfs
