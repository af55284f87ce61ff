// NodeRegistrar: registers this storage node and its targets with the meta server, then repeats the
// registration as a heartbeat.
//
// Each round connects (or reuses the connection), sends RegisterNodeRequest {node id (0 the first
// time), listen address, targets with path, capacity, used bytes and id (0 = please assign)} and
// persists what comes back: the node id in `<data-dir>/node_id`, each target id through
// StorageTarget::SetId. A meta server that is down or failing is logged and retried on the next round;
// the loop never gives up.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/proto/rpc_channel.h"
#include "zcfs/storage/storage_target.h"

namespace zcfs {

// Thread-safe: Start() and Stop() from any one thread; the loop runs on the executor.
class NodeRegistrar {
 public:
  struct Options {
    HostPort meta;
    std::string data_dir;
    std::string advertise_address;  // host:port clients connect to
    std::chrono::milliseconds interval{2000};
    std::chrono::milliseconds rpc_timeout{2000};
  };

  // `on_registered` runs once, after the first successful registration (e.g. writes the ready file).
  NodeRegistrar(asio::any_io_executor executor, Options options, std::vector<StorageTarget*> targets,
                std::function<void()> on_registered);
  ~NodeRegistrar();  // Stop()

  // Reads the persisted node id and starts the loop.
  Status Start();
  // Ends the loop and waits until it has exited (the executor must still be running). Idempotent.
  void Stop();

  uint32_t node_id() const { return node_id_.load(); }
  uint64_t successful_rounds() const { return rounds_.load(); }

 private:
  Task<> Loop();
  Task<Status> RegisterOnce();
  Status Adopt(uint32_t node_id, const std::vector<uint32_t>& target_ids);

  asio::any_io_executor executor_;
  Options options_;
  std::vector<StorageTarget*> targets_;
  std::function<void()> on_registered_;
  Strand strand_;
  asio::steady_timer timer_;             // used on strand_ only
  std::shared_ptr<RpcChannel> channel_;  // used on strand_ only
  bool stopping_ = false;                // used on strand_ only
  std::atomic<uint32_t> node_id_{0};
  std::atomic<uint64_t> rounds_{0};
  bool started_ = false;
  std::promise<void> exited_;
};

}  // namespace zcfs
