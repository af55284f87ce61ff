// zcfs-bench: throughput, IOPS and latency of a zcfs cluster, up to saturation.
//
//   zcfs-bench write   writes a dataset (bench_dataset.h: --layout=files|shard) and times it
//   zcfs-bench read    reads it: --threads x --depth requests in flight, --pattern=seq (each thread
//                      streams whole files) or rand (blocks anywhere), one pass or
//                      --seconds; --ceiling measures loopback TCP and local O_DIRECT in the same run
//                      and prints the design.md ratios (bench_ceiling.h); --mount reads through a FUSE
//                      mount, and --versus-native then repeats the run through the native API
//   zcfs-bench meta    metadata operation rates (bench_meta.cc)
//   zcfs-bench storage chunk reads straight from the storage servers (bench_storage.cc)
//
// read and write print a table (GB/s, MiB/s, IOPS, p50/p99/p99.9 latency per request), or with --json
// one JSON object; a live line (MiB/s, IOPS) goes to stderr once a second on a terminal or with
// --progress. --start-at=UNIX_SECONDS lets several client machines measure the same seconds
// (docs/operations.md).
#include <cstdio>
#include <string>
#include <vector>

#include "bench_ceiling.h"
#include "bench_io.h"
#include "bench_meta.h"
#include "bench_storage.h"
#include "zcfs/client/client.h"
#include "zcfs/common/config.h"

namespace zcfs {
namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: zcfs-bench write --meta=HOST:PORT [--dir=PATH] [DATASET] [IO] [--json] [--progress] [--start-at=T]\n"
      "       zcfs-bench read  --meta=HOST:PORT [--dir=PATH] [--layout=files|shard] [IO] [--seconds=S] [--verify]\n"
      "                        [--json] [--progress] [--start-at=T] [--mount=MOUNTPOINT [--versus-native]]\n"
      "                        [--ceiling [--ceiling-file=PATH] [--ceiling-size=1GiB] [--ceiling-seconds=3]\n"
      "                                   [--ceiling-tool=auto|fio|builtin]]\n"
      "         DATASET: --layout=files [--files=64] [--size=4MiB]  |  --layout=shard [--shards=4] "
      "[--shard-size=256MiB]\n"
      "         IO:      [--threads=4] [--depth=1] [--block=1MiB] [--pattern=seq|rand] [--io-threads=2]\n"
      "                  [--transport=tcp|rdma|auto] [--rdma-device=NAME] [--rdma-gid-index=N]\n"
      "         read without --seconds reads every block once; with it, loops over the dataset until the time is up.\n"
      "         --depth>1 keeps that many reads in flight per thread through a read ring (write: more writers);\n"
      "         --reap=N waits for N completions before refilling them with one Submit (default 1).\n"
      "         --start-at=UNIX_SECONDS waits until then before measuring (several clients at once).\n"
      "       zcfs-bench meta  --meta=HOST:PORT [--dir=PATH] [--threads=N] [--files=N] [--clients=N] [--json]\n"
      "       zcfs-bench storage (--meta=HOST:PORT | --storage=HOST:PORT[,...]) [--pattern=seq|rand]\n"
      "                          [--block=BYTES] [--threads=N]\n"
      "                          [--depth=N] [--seconds=S] [--chunks=N] [--chunk-size=BYTES] [--batch=N]\n"
      "                          [--verify]\n");
  return 2;
}

int run_io_bench(const std::string& mode, const Config& config) {
  auto options = parse_io_options(mode, config);
  if (!options.ok()) {
    std::fprintf(stderr, "zcfs-bench %s: %s\n", mode.c_str(), options.status().message().c_str());
    return usage();
  }
  const IoBenchOptions& o = *options;
  if (o.ceiling) {
    if (Status s = prepare_ceiling(o); !s.ok()) {
      std::fprintf(stderr, "zcfs-bench %s: --ceiling: %s\n", mode.c_str(), s.ToString().c_str());
      return 1;
    }
  }
  ClientOptions client_options = o.transport;
  client_options.meta_address = o.meta;
  client_options.io_threads = o.io_threads;
  auto client = Client::Connect(client_options);
  if (!client.ok()) {
    std::fprintf(stderr, "zcfs-bench %s: connect to %s: %s\n", mode.c_str(), o.meta.c_str(),
                 client.status().ToString().c_str());
    return 1;
  }
  IoResult r;
  r.mode = mode;
  r.pattern = o.random ? "rand" : "seq";
  r.layout = o.shards ? "shard" : "files";
  r.threads = o.threads;
  r.depth = o.depth;
  r.reap = o.reap;
  r.block = o.block;
  r.verified = o.verify && mode == "read";
  if (o.mount.empty()) r.transport = (*client)->transport_name();
  Status s = mode == "read" ? run_read_bench(**client, o, &r) : run_write_bench(**client, o, &r);
  if (s.ok() && o.ceiling) s = measure_ceiling(o, &r).Prepend("--ceiling");
  if (s.ok() && o.versus_native) s = measure_versus_native(**client, o, &r).Prepend("--versus-native");
  if (!s.ok()) {
    std::fprintf(stderr, "zcfs-bench %s: %s\n", mode.c_str(), s.ToString().c_str());
    return 1;
  }
  std::fputs((o.json ? format_io_json(r) : format_io_table(r)).c_str(), stdout);
  return 0;
}

int run(int argc, char** argv) {
  Config config;
  std::vector<std::string> args;
  if (!config.ApplyArgs(argc, argv, &args).ok() || args.size() != 1) return usage();
  if (args[0] == "meta") return run_meta_bench(config);
  if (args[0] == "storage") return run_storage_bench(config);
  if (args[0] == "read" || args[0] == "write") return run_io_bench(args[0], config);
  return usage();
}

}  // namespace
}  // namespace zcfs

int main(int argc, char** argv) { return zcfs::run(argc, argv); }
