// The flags of `zcfs-bench read` and `zcfs-bench write` (bench_main.cc has the usage text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "zcfs/client/client.h"
#include "zcfs/common/config.h"
#include "zcfs/common/status.h"

namespace zcfs {

struct IoBenchOptions {
  std::string mode;  // "read" or "write"
  std::string meta = "127.0.0.1:8000";
  std::string mount;           // read: non-empty reads through this FUSE mount point with pread
  bool versus_native = false;  // read --mount: then the same run through the native API, and the ratio
  std::string dir = "/bench";
  bool shards = false;  // --layout=shard: --shards files of --shard-size; else --files of --size
  uint64_t files = 64;
  uint64_t size = 4 << 20;
  uint64_t shard_count = 4;
  uint64_t shard_size = 256 << 20;
  uint64_t block = 1 << 20;
  int threads = 4;
  int depth = 1;  // requests in flight per thread
  // Ring path: completions a thread waits for before refilling the free slots with one Submit. 1 keeps
  // the queue fullest; larger values submit bigger batches (more pieces per request to each server),
  // as a data loader reading a step's samples at once does.
  int reap = 1;
  int io_threads = 2;
  bool random = false;
  std::optional<double> seconds;  // read: loop over the dataset this long; unset: one pass
  bool verify = false;
  bool json = false;
  bool progress = false;           // already resolved: a terminal, or --progress
  std::optional<double> start_at;  // UNIX time to start the measured part at (several clients together)
  bool ceiling = false;
  std::string ceiling_file;  // empty: a file under /var/tmp
  uint64_t ceiling_size = uint64_t{1} << 30;
  double ceiling_seconds = 3;
  std::string ceiling_tool = "auto";  // auto (fio when installed), fio, builtin
  ClientOptions transport;            // --transport, --rdma-device, --rdma-gid-index
};

// Reads the flags for `mode`; kInvalidArgument names the flag that is wrong.
Result<IoBenchOptions> parse_io_options(const std::string& mode, const Config& config);

}  // namespace zcfs
