// StorageNode: a complete storage server in one object — io threads, io_uring block I/O, the targets,
// the RPC service listening on a port, and the registration/heartbeat loop with the meta server.
// zcfs-storage's main() is flag parsing around this; tests can run a node in-process.
//
// Threads: an IoContextPool of `threads` single-threaded io_contexts. Each connection lives on one of
// them, and each has its own io_uring (UringBlockIo), so a request's network and disk I/O start and
// complete on the same thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rdma/transport_choice.h"
#include "zcfs/proto/rpc_server.h"
#include "zcfs/proto/tcp_transport.h"
#include "zcfs/storage/chain_view.h"
#include "zcfs/storage/node_registrar.h"
#include "zcfs/storage/storage_service.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {

namespace storage_internal {
class Resyncer;
}

// Thread-safe: Stop() from any thread (once the node is started).
class StorageNode {
 public:
  struct Options {
    HostPort listen{"127.0.0.1", 0};
    std::vector<HostPort> meta;  // one, or the members of a replicated group (meta_group.h)
    std::string data_dir;
    std::vector<std::string> target_dirs;  // empty: `<data_dir>/target0`
    std::string ready_file;                // written with the bound address after the first registration
    int threads = 2;                       // I/O threads, one io_uring each
    UringBlockIo::Options io;
    uint32_t max_chunk_size = 64u << 20;
    std::chrono::milliseconds heartbeat{1000};
    std::string label;                                      // failure domain (rack) reported to the meta server
    StorageServiceOptions service;                          // read memory budgets, batch limits
    size_t zerocopy_threshold = kDefaultZerocopyThreshold;  // replies this large use MSG_ZEROCOPY; 0 = never
    bool zerocopy_loopback = false;                         // also to loopback peers (costs there: rpc_server.h)
    TransportChoice transport;                              // --transport: also serve RDMA (TCP is always served)
    DeviceOpener open_rdma_device = rdma::OpenIbDevice;     // tests: a device of an emulated fabric
  };

  // Opens the targets, starts serving, and starts registering with the meta server (in the background).
  static Result<std::unique_ptr<StorageNode>> Start(Options options);
  ~StorageNode();  // Stop()

  // Stops accepting, lets requests in progress finish (bounded wait), stops the heartbeat and the
  // threads. Idempotent.
  void Stop();

  tcp::endpoint endpoint() const { return endpoint_; }
  NodeRegistrar& registrar() { return *registrar_; }
  StorageService& service() { return *service_; }
  const ChainView& chains() const { return view_; }
  storage_internal::Resyncer& resyncer() { return *resyncer_; }

 private:
  explicit StorageNode(Options options);
  Status Init();
  // Asks the meta server for the routing table and puts it into view_ (off the heartbeat's schedule).
  Task<Status> FetchRouting();

  Options options_;
  std::shared_ptr<MetaRotation> meta_;  // registration, routing fetches and resync reports agree on the primary
  IoContextPool threads_;  // first member: destroyed last, after every I/O object using its contexts
  std::unique_ptr<UringBlockIo> block_io_;
  std::vector<std::unique_ptr<StorageTarget>> targets_;
  ChainView view_;
  std::unique_ptr<TcpTransport> peers_;  // forwarding and resync to the other storage nodes
  std::unique_ptr<StorageService> service_;
  std::unique_ptr<storage_internal::Resyncer> resyncer_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<RdmaServer> rdma_server_;  // null unless --transport picked an RDMA device
  std::unique_ptr<NodeRegistrar> registrar_;
  tcp::endpoint endpoint_;
  bool stopped_ = false;
};

}  // namespace zcfs
