// zcfs: the command-line client.
//
//   zcfs [--meta=HOST:PORT] [--jobs=N] [--progress] [--transport=tcp|rdma|auto ...] COMMAND ARGS
//   (see usage() below)
//
// The meta server address comes from --meta, else $ZCFS_META, else 127.0.0.1:8000. Errors name the
// path and the cause ("zcfs: get /a/b: no such file or directory (...)") and exit with 1; bad usage
// prints the usage and exits with 2. Each command lives in a file of its own: cli_list.cc (ls, stat),
// cli_namespace.cc (mkdir, rm, mv), cli_copy*.cc (put, get), cli_cluster.cc (df, cluster status,
// meta backup).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli_cluster.h"
#include "cli_common.h"
#include "progress.h"
#include "zcfs/client/transport_flags.h"
#include "zcfs/common/config.h"

namespace zcfs {
namespace {

int usage() {
  std::fprintf(stderr,
               "usage: zcfs [--meta=HOST:PORT] [--jobs=N] [--progress] COMMAND\n"
               "  ls [-l] [PATH]       list a directory (-l: mode, size, modification time)\n"
               "  stat PATH            show a file's attributes and layout\n"
               "  mkdir [-p] PATH      create a directory (-p: and its missing parents, no error if it exists)\n"
               "  rm [-r] PATH         remove a file or symbolic link (-r: a directory and everything in it)\n"
               "  mv FROM TO           rename (replaces TO if it is a file or an empty directory)\n"
               "  put LOCAL REMOTE     copy a local file or directory tree into zcfs (a file put into an\n"
               "                       existing directory keeps its name)\n"
               "  get REMOTE LOCAL     copy a file or directory tree out of zcfs\n"
               "  df                   capacity, use and inodes of the cluster\n"
               "  cluster status       list the storage nodes, targets and chains with their state and use\n"
               "  cluster drain T      take target T out of its chain (its replicas serve); undrain T puts it back\n"
               "  meta backup DIR      write a consistent copy of the namespace into the new directory DIR,\n"
               "                       while the cluster serves (restore: docs/operations.md)\n"
               "put and get copy --jobs files (or 8 MiB pieces of a large file) at once (default 4), with a\n"
               "progress bar on stderr when it is a terminal or with --progress.\n"
               "The meta address defaults to $ZCFS_META, then 127.0.0.1:8000.\n"
               "Data moves over --transport=tcp (default), rdma or auto, with --rdma-device=NAME and\n"
               "--rdma-gid-index=N for RDMA (docs/rdma.md).\n");
  return 2;
}

// A command line: the words, and the one-letter flags ("-r", "-lp") wherever they stand.
struct CommandLine {
  std::vector<std::string> words;
  std::string short_flags;
};

CommandLine split_args(const std::vector<std::string>& args) {
  CommandLine line;
  for (const auto& a : args) {
    if (a.size() > 1 && a[0] == '-') {
      line.short_flags += a.substr(1);
    } else {
      line.words.push_back(a);
    }
  }
  return line;
}

// Whether the command takes `flags` and `words.size()` words (the command included).
bool valid_for(const std::string& cmd, const std::string& flags, size_t words) {
  struct Shape {
    const char* cmd;
    const char* flags;
    size_t min_words, max_words;
  };
  static constexpr Shape kShapes[] = {{"ls", "l", 1, 2},   {"stat", "", 2, 2}, {"mkdir", "p", 2, 2},
                                      {"rm", "rR", 2, 2},  {"mv", "", 3, 3},   {"put", "rR", 3, 3},
                                      {"get", "rR", 3, 3}, {"df", "", 1, 1},   {"cluster", "", 2, 3},
                                      {"meta", "", 3, 3}};
  for (const Shape& s : kShapes) {
    if (cmd != s.cmd) continue;
    if (flags.find_first_not_of(s.flags) != std::string::npos) return false;
    return words >= s.min_words && words <= s.max_words;
  }
  return false;
}

// Fills `options` from the long flags; false on an unknown flag or a bad value.
bool read_flags(const Config& config, CliOptions* options) {
  for (const auto& [key, value] : config.values()) {
    if (key != "meta" && key != "jobs" && key != "progress" && !is_transport_flag(key)) return false;
  }
  auto jobs = config.GetInt("jobs", 4);
  auto progress = config.GetBool("progress", false);
  if (!jobs.ok() || !progress.ok() || *jobs < 1 || *jobs > 256) return false;
  options->jobs = static_cast<int>(*jobs);
  options->progress = progress_wanted(*progress);
  return true;
}

int dispatch(Client& client, const std::vector<std::string>& w, const CliOptions& o) {
  const std::string& cmd = w[0];
  if (cmd == "ls") return cmd_ls(client, w.size() > 1 ? w[1] : "/", o);
  if (cmd == "stat") return cmd_stat(client, w[1]);
  if (cmd == "mkdir") return cmd_mkdir(client, w[1], o);
  if (cmd == "rm") return cmd_rm(client, w[1], o);
  if (cmd == "mv") return cmd_mv(client, w[1], w[2]);
  if (cmd == "put") return cmd_put(client, w[1], w[2], o);
  if (cmd == "get") return cmd_get(client, w[1], w[2], o);
  if (cmd == "df") return cmd_df(client);
  if (cmd == "cluster" && w[1] == "status") return cmd_cluster_status(client);
  if (cmd == "cluster" && w[1] == "drain") return cmd_cluster_drain(client, w[2], true);
  if (cmd == "cluster" && w[1] == "undrain") return cmd_cluster_drain(client, w[2], false);
  if (cmd == "meta" && w[1] == "backup") return cmd_meta_backup(client, w[2]);
  return usage();
}

int run(int argc, char** argv) {
  Config config;
  std::vector<std::string> args;
  if (Status s = config.ApplyArgs(argc, argv, &args); !s.ok()) {
    std::fprintf(stderr, "zcfs: %s\n", s.message().c_str());
    return usage();
  }
  CliOptions options;
  CommandLine line = split_args(args);
  if (line.words.empty() || !read_flags(config, &options) ||
      !valid_for(line.words[0], line.short_flags, line.words.size())) {
    return usage();
  }
  if (line.words[0] == "cluster") {
    const std::string& sub = line.words[1];
    const size_t want = sub == "status" ? 2 : (sub == "drain" || sub == "undrain") ? 3 : 0;
    if (line.words.size() != want) return usage();
  }
  options.long_list = line.short_flags.find('l') != std::string::npos;
  options.parents = line.short_flags.find('p') != std::string::npos;
  options.recursive = line.short_flags.find_first_of("rR") != std::string::npos;

  const char* env_meta = std::getenv("ZCFS_META");
  ClientOptions client_options;
  client_options.meta_address = config.GetString("meta", env_meta != nullptr ? env_meta : "127.0.0.1:8000");
  if (Status s = apply_transport_flags(config, client_options); !s.ok()) {
    std::fprintf(stderr, "zcfs: %s\n", s.message().c_str());
    return usage();
  }
  auto client = Client::Connect(client_options);
  if (!client.ok()) return fail("connect to " + client_options.meta_address, client.status());
  return dispatch(**client, line.words, options);
}

}  // namespace
}  // namespace zcfs

int main(int argc, char** argv) { return zcfs::run(argc, argv); }
