#include "mount_args.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "zcfs/client/transport_flags.h"
#include "zcfs/common/config.h"

namespace zcfs {
namespace {

// Generic mount flags the kernel understands and libfuse passes on unchanged.
constexpr std::array<std::string_view, 11> kKernelFlags = {"suid",  "nosuid", "dev",   "nodev",   "exec",   "noexec",
                                                           "async", "sync",   "atime", "noatime", "dirsync"};
// fstab fields meant for mount(8) or systemd, not for the file system; mount.fuse3 drops most of them
// itself, but a hand-written command line may still carry them.
constexpr std::array<std::string_view, 7> kIgnored = {"defaults", "auto",  "noauto", "user",
                                                      "nouser",   "users", "nofail"};

bool contains(std::string_view list_item, const auto& list) {
  return std::find(list.begin(), list.end(), list_item) != list.end();
}

// Turns one `-o` option into the equivalent --flag (appended to `flags`) or a kernel flag.
Status translate_option(std::string_view opt, std::vector<std::string>* flags, MountArgs* args) {
  size_t eq = opt.find('=');
  std::string_view name = opt.substr(0, eq);
  std::string value = eq == std::string_view::npos ? "" : std::string(opt.substr(eq + 1));
  if (opt == "ro" || opt == "rw") {
    flags->push_back(opt == "ro" ? "--ro=true" : "--ro=false");
  } else if (opt == "keep_cache" || opt == "direct_io" || opt == "allow_other" || opt == "splice") {
    std::string flag(opt);
    std::replace(flag.begin(), flag.end(), '_', '-');
    flags->push_back("--" + flag + "=true");
  } else if (eq != std::string_view::npos &&
             (name == "entry_timeout" || name == "attr_timeout" || name == "io_timeout" || name == "threads" ||
              name == "readahead_kb" || name == "readahead_pool_mb" || name == "transport" || name == "rdma_device" ||
              name == "rdma_gid_index" || name == "label")) {
    std::string flag(name);
    std::replace(flag.begin(), flag.end(), '_', '-');
    flags->push_back("--" + flag + "=" + value);
  } else if (contains(opt, kKernelFlags)) {
    args->kernel_flags.emplace_back(opt);
  } else if (!(contains(opt, kIgnored) || opt == "_netdev" || name == "comment" || opt.starts_with("x-"))) {
    return Error(Code::kInvalidArgument, "unknown mount option '" + std::string(opt) + "'");
  }
  return Status::Ok();
}

Status translate_options(std::string_view list, std::vector<std::string>* flags, MountArgs* args) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view opt = list.substr(0, comma);
    if (!opt.empty()) RETURN_IF_ERROR(translate_option(opt, flags, args));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return Status::Ok();
}

// zcfs://HOST:PORT or HOST:PORT -> HOST:PORT.
Result<std::string> meta_from_source(std::string_view source) {
  if (source.starts_with("zcfs://")) source.remove_prefix(7);
  while (source.ends_with("/")) source.remove_suffix(1);
  if (source.empty() || source.find(':') == std::string_view::npos || source.find('/') != std::string_view::npos) {
    return Error(Code::kInvalidArgument, "source '" + std::string(source) + "' is not [zcfs://]HOST:PORT");
  }
  return std::string(source);
}

Result<double> seconds_flag(const Config& config, const std::string& key, double fallback) {
  std::string text = config.GetString(key, "");
  if (text.empty()) return fallback;
  size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || value < 0)
    return Error(Code::kInvalidArgument, key + " takes seconds, not '" + text + "'");
  return value;
}

// Reads the flags (and the -o options turned into flags) into `args`.
Status apply_config(const Config& config, MountArgs* args) {
  if (!parse_log_level(config.GetString("log-level", "info"), &args->log_level)) {
    return Error(Code::kInvalidArgument, "bad --log-level");
  }
  ASSIGN_OR_RETURN(args->options.entry_timeout, seconds_flag(config, "entry-timeout", 1.0));
  ASSIGN_OR_RETURN(args->options.attr_timeout, seconds_flag(config, "attr-timeout", 1.0));
  ASSIGN_OR_RETURN(args->io_timeout, seconds_flag(config, "io-timeout", args->io_timeout));
  // Below a millisecond no call could succeed; far above a day is a typo, not a policy.
  if (args->io_timeout < 0.001 || args->io_timeout > 86400)
    return Error(Code::kInvalidArgument, "--io-timeout/io_timeout must be between 0.001 and 86400 seconds");
  ASSIGN_OR_RETURN(args->options.read_only, config.GetBool("ro", false));
  ASSIGN_OR_RETURN(args->options.keep_cache, config.GetBool("keep-cache", false));
  ASSIGN_OR_RETURN(args->options.direct_io, config.GetBool("direct-io", false));
  ASSIGN_OR_RETURN(args->options.splice, config.GetBool("splice", false));
  ASSIGN_OR_RETURN(args->allow_other, config.GetBool("allow-other", false));
  ASSIGN_OR_RETURN(int64_t threads, config.GetInt("threads", 8));
  ASSIGN_OR_RETURN(int64_t renew_ms, config.GetInt("session-renew-ms", 20000));
  if (threads < 1 || renew_ms < 1) return Error(Code::kInvalidArgument, "threads and session-renew-ms must be >= 1");
  ASSIGN_OR_RETURN(int64_t readahead_kb, config.GetInt("readahead-kb", 4096));
  ASSIGN_OR_RETURN(int64_t readahead_pool_mb, config.GetInt("readahead-pool-mb", 128));
  // A window beyond 1 GiB per handle or a pool beyond 64 GiB is a typo, not a policy.
  if (readahead_kb < 0 || readahead_kb > (1 << 20) || readahead_pool_mb < 0 || readahead_pool_mb > (64 << 10)) {
    return Error(Code::kInvalidArgument, "readahead_kb must be 0..1048576 and readahead_pool_mb 0..65536");
  }
  args->options.readahead = static_cast<uint64_t>(readahead_kb) << 10;
  args->options.readahead_pool = static_cast<uint64_t>(readahead_pool_mb) << 20;
  args->threads = static_cast<int>(threads);
  args->session_renew_ms = static_cast<int>(renew_ms);
  args->ready_file = config.GetString("ready-file", "");
  return apply_transport_flags(config, args->transport);
}

}  // namespace

Result<MountArgs> parse_mount_args(int argc, const char* const* argv) {
  MountArgs args;
  std::vector<std::string> flags = {argc > 0 ? argv[0] : "zcfs-fuse"};
  std::vector<std::string> positional;
  bool foreground_flag = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-o") {
      if (++i == argc) return Error(Code::kInvalidArgument, "-o needs a list of options");
      RETURN_IF_ERROR(translate_options(argv[i], &flags, &args));
    } else if (arg.starts_with("-o")) {
      RETURN_IF_ERROR(translate_options(arg.substr(2), &flags, &args));
    } else if (arg == "-f") {
      foreground_flag = true;
    } else if (arg.starts_with("--")) {
      flags.emplace_back(arg);
    } else if (arg.starts_with("-")) {
      return Error(Code::kInvalidArgument, "unknown argument '" + std::string(arg) + "'");
    } else {
      positional.emplace_back(arg);
    }
  }
  std::vector<const char*> flag_argv;
  for (const auto& f : flags) flag_argv.push_back(f.c_str());
  Config config;
  RETURN_IF_ERROR(config.ApplyArgs(static_cast<int>(flag_argv.size()), flag_argv.data(), nullptr));
  RETURN_IF_ERROR(apply_config(config, &args));

  if (positional.size() == 2) {  // SOURCE MOUNTPOINT: how mount.fuse3 runs a file system
    if (config.Has("meta")) return Error(Code::kInvalidArgument, "give the cluster as --meta or as SOURCE, not both");
    ASSIGN_OR_RETURN(args.meta_address, meta_from_source(positional[0]));
    args.foreground = foreground_flag;
  } else if (positional.size() == 1) {
    if (!config.Has("meta"))
      return Error(Code::kInvalidArgument, "--meta=HOST:PORT (or a SOURCE argument) is required");
    args.meta_address = config.GetString("meta", "");
  } else {
    return Error(Code::kInvalidArgument, "expected MOUNTPOINT or SOURCE MOUNTPOINT");
  }
  args.mountpoint = positional.back();
  return args;
}

std::string fuse_mount_options(const MountArgs& args) {
  // max_read must match conn->max_read set in init (libfuse checks that the two agree).
  // fsname/subtype as an fstab line names them (SOURCE, fuse.zcfs-fuse), so mount -a sees the mount.
  // libfuse splits the options at commas unless escaped, and a meta group's list has commas.
  std::string fsname;
  for (char c : "zcfs://" + args.meta_address) {
    if (c == ',' || c == '\\') fsname += '\\';
    fsname += c;
  }
  std::string options = "fsname=" + fsname + ",subtype=zcfs-fuse,default_permissions,max_read=" + std::to_string(kMaxIo);
  if (args.options.read_only) options += ",ro";
  if (args.allow_other) options += ",allow_other";
  for (const auto& flag : args.kernel_flags) options += "," + flag;
  return options;
}

}  // namespace zcfs
