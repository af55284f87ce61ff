// NodeRegistrar: registers this storage node and its targets with the meta server, then repeats the
// registration as a heartbeat.
//
// Each round connects (or reuses the connection), sends RegisterNodeRequest {node id (0 the first
// time), listen address, targets with path, capacity, used bytes and id (0 = please assign)} and
// persists what comes back: the node id in `<data-dir>/node_id`, each target id through
// StorageTarget::SetId. An answered round renews the node's lease in the ChainView; when the routing
// version in the reply differs from the view's, the round first fetches the routing table (the chains)
// into the view. Every answered round then calls `on_round`. A meta server that is down or failing is logged and
// retried on the next round; the loop never gives up. With a replicated meta group, a round that finds
// the member it calls gone or refusing moves on to the next (meta_group.h), so the heartbeats follow a
// failover to the new primary.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "zcfs.pb.h"
#include "zcfs/common/address.h"
#include "zcfs/proto/meta_group.h"
#include "zcfs/proto/rpc_channel.h"
#include "zcfs/storage/chain_view.h"
#include "zcfs/storage/storage_target.h"

namespace zcfs {

// Thread-safe: Start() and Stop() from any one thread; the loop runs on the executor.
class NodeRegistrar {
 public:
  struct Options {
    std::shared_ptr<MetaRotation> meta;  // shared with the node's other meta callers
    std::string data_dir;
    std::string advertise_address;  // host:port clients connect to
    std::string label;              // failure domain (rack)
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds rpc_timeout{2000};
    ChainView* view = nullptr;                                 // the node's chains and lease; null: not kept (tests)
    std::function<void()> on_round;                            // after each answered round (on the loop's strand)
    std::function<std::vector<pb::ResyncProgress>()> resyncs;  // reported with each round; null: none
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
  // Fetches the routing table into the view when `version` is not the view's.
  Task<Status> FollowRouting(RpcChannel& channel, uint64_t version);

  asio::any_io_executor executor_;
  Options options_;
  std::vector<StorageTarget*> targets_;
  std::function<void()> on_registered_;
  Strand strand_;
  asio::steady_timer timer_;             // used on strand_ only
  std::shared_ptr<RpcChannel> channel_;  // used on strand_ only
  HostPort channel_server_;              // the meta server channel_ reaches; on strand_ only
  bool stopping_ = false;                // used on strand_ only
  std::atomic<uint32_t> node_id_{0};
  std::atomic<uint64_t> rounds_{0};
  const uint64_t incarnation_;  // random per process: tells the meta server this node restarted
  bool started_ = false;
  std::promise<void> exited_;
};

}  // namespace zcfs
