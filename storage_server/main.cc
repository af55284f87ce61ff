// zcfs-storage: the storage server.
//
//   zcfs-storage --meta=HOST:PORT[,HOST:PORT...] --data-dir=DIR [--listen=HOST:PORT] [--targets=DIR1,DIR2]
//                [--ready-file=PATH] [--threads=N] [--buffers=N] [--buffer-size=BYTES]
//                [--read-memory=BYTES] [--client-read-memory=BYTES]
//                [--zerocopy-threshold=BYTES] [--zerocopy-loopback=BOOL]
//                [--transport=tcp|rdma|auto] [--rdma-device=NAME] [--rdma-gid-index=N]
//                [--label=RACK] [--heartbeat=MS] [--config=FILE] [--log-level=LEVEL]
//
// --threads: I/O threads (default 2), each with its own io_uring and its share of the connections.
// --buffers x --buffer-size: the registered I/O buffer pool, shared by every thread's ring.
// --read-memory (256MiB), --client-read-memory (64MiB): read buffers all batched reads, and those of
//   one client connection, may hold at once (read_budget.h).
// --zerocopy-threshold (64KiB, 0 = off): replies this large are sent with MSG_ZEROCOPY, to loopback peers
//   only with --zerocopy-loopback (there the kernel copies anyway, and it measured slower).
// --transport (tcp): also serve RDMA clients (rdma: required, auto: when a device is up); TCP is always
//   served. --rdma-device (first found), --rdma-gid-index (0): see docs/rdma.md.
// --label: the node's failure domain (a rack): a chain's members prefer distinct labels.
// --heartbeat (1000): ms between heartbeats; keep it well under the meta server's --meta.node_timeout,
//   since the node fences itself half a timeout after its last answered heartbeat.
//
// Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when the server cannot start, 2 on bad flags.
#include <cstdio>
#include <set>
#include <sstream>

#include "zcfs/common/logging.h"
#include "zcfs/proto/server_runtime.h"
#include "zcfs/storage/storage_node.h"

namespace {

using zcfs::Code;
using zcfs::Config;
using zcfs::Error;
using zcfs::Result;
using zcfs::StorageNode;

const std::set<std::string>& known_flags() {
  static const std::set<std::string> flags = {"config",
                                              "log-level",
                                              "listen",
                                              "meta",
                                              "data-dir",
                                              "targets",
                                              "ready-file",
                                              "threads",
                                              "buffers",
                                              "buffer-size",
                                              "read-memory",
                                              "client-read-memory",
                                              "zerocopy-threshold",
                                              "zerocopy-loopback",
                                              "transport",
                                              "rdma-device",
                                              "rdma-gid-index",
                                              "label",
                                              "heartbeat"};
  return flags;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Result<StorageNode::Options> parse_options(const Config& config) {
  for (const auto& [key, value] : config.values()) {
    if (known_flags().count(key) == 0) return Error(Code::kInvalidArgument, "unknown flag --" + key);
  }
  StorageNode::Options options;
  if (!config.Has("meta")) return Error(Code::kInvalidArgument, "--meta=HOST:PORT is required");
  if (!config.Has("data-dir")) return Error(Code::kInvalidArgument, "--data-dir=DIR is required");
  ASSIGN_OR_RETURN(options.meta, zcfs::parse_meta_servers(config.GetString("meta", "")));
  ASSIGN_OR_RETURN(options.listen, zcfs::parse_host_port(config.GetString("listen", "127.0.0.1:0")));
  options.data_dir = config.GetString("data-dir", "");
  if (options.data_dir.empty()) return Error(Code::kInvalidArgument, "--data-dir must not be empty");
  options.target_dirs = split_list(config.GetString("targets", ""));
  options.ready_file = config.GetString("ready-file", "");
  ASSIGN_OR_RETURN(int64_t threads, config.GetInt("threads", 2));
  if (threads < 1 || threads > 256) return Error(Code::kInvalidArgument, "--threads must be in 1..256");
  options.threads = static_cast<int>(threads);
  ASSIGN_OR_RETURN(int64_t buffers, config.GetInt("buffers", 32));
  if (buffers < 0 || buffers > 1024) return Error(Code::kInvalidArgument, "--buffers must be in 0..1024");
  options.io.buffer_count = static_cast<size_t>(buffers);
  ASSIGN_OR_RETURN(uint64_t buffer_size, config.GetBytes("buffer-size", options.io.buffer_size));
  if (buffer_size < zcfs::kBlockSize || buffer_size > (1ull << 30)) {
    return Error(Code::kInvalidArgument, "--buffer-size must be in 4KiB..1GiB");
  }
  options.io.buffer_size = buffer_size;
  ASSIGN_OR_RETURN(uint64_t read_memory, config.GetBytes("read-memory", options.service.read_memory_bytes));
  ASSIGN_OR_RETURN(uint64_t client_memory, config.GetBytes("client-read-memory", options.service.client_read_bytes));
  const uint64_t min_memory = options.service.largest_batch_buffer_bytes();
  if (read_memory < min_memory || read_memory > (1ull << 40)) {
    return Error(Code::kInvalidArgument, "--read-memory must be in " + std::to_string(min_memory >> 20) + "MiB..1TiB");
  }
  if (client_memory < (1u << 20) || client_memory > read_memory) {
    return Error(Code::kInvalidArgument, "--client-read-memory must be in 1MiB..--read-memory");
  }
  options.service.read_memory_bytes = read_memory;
  options.service.client_read_bytes = client_memory;
  ASSIGN_OR_RETURN(uint64_t zerocopy, config.GetBytes("zerocopy-threshold", options.zerocopy_threshold));
  options.zerocopy_threshold = static_cast<size_t>(zerocopy);
  ASSIGN_OR_RETURN(options.zerocopy_loopback, config.GetBool("zerocopy-loopback", false));
  options.label = config.GetString("label", "");
  ASSIGN_OR_RETURN(int64_t heartbeat_ms, config.GetInt("heartbeat", options.heartbeat.count()));
  if (heartbeat_ms < 10 || heartbeat_ms > 60000) return Error(Code::kInvalidArgument, "--heartbeat must be 10..60000");
  options.heartbeat = std::chrono::milliseconds(heartbeat_ms);
  ASSIGN_OR_RETURN(int64_t gid_index, config.GetInt("rdma-gid-index", 0));
  ASSIGN_OR_RETURN(options.transport, zcfs::make_transport_choice(config.GetString("transport", "tcp"),
                                                                  config.GetString("rdma-device", ""), gid_index));
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  zcfs::block_stop_signals();
  auto config = zcfs::load_server_config("zcfs-storage", argc, argv);
  if (!config.ok()) {
    // load_server_config prints flag syntax errors itself but not a bad --log-level; say it (again).
    std::fprintf(stderr, "zcfs-storage: %s\n", config.status().ToString().c_str());
    return 2;
  }
  auto options = parse_options(*config);
  if (!options.ok()) {
    std::fprintf(stderr, "zcfs-storage: %s\n", options.status().ToString().c_str());
    return 2;
  }
  auto node = StorageNode::Start(std::move(*options));
  if (!node.ok()) {
    LOG_ERROR << "cannot start: " << node.status().ToString();
    return 1;
  }
  zcfs::wait_for_stop_signal([&] { (*node)->Stop(); });
  LOG_INFO << "stopped";
  return 0;
}
