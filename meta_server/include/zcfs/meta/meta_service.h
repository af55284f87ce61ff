// MetaService: the RPC face of MetaOperator. Registers every meta method of proto/methods.h
// on an RpcServer; each handler parses the request, calls the operator and returns its reply or its
// Status. No logic lives here.
//
// Reads run on the connection's I/O thread. So do mutations: each commits without waiting for the
// disk and its reply waits, without holding the thread, for the WAL sync that covers it (WalSyncer),
// so the mutations arriving during one sync share the next (group commit). Calls that must wait for
// the storage servers (a truncation cuts the file's chunks first) run on a pool of waiting threads.
// Thread-safe (as MetaOperator is). The operator must outlive Stop().
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "zcfs/meta/meta_operator.h"
#include "zcfs/meta/wal_syncer.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs::meta {

class MetaService {
 public:
  // `waiting_threads`: how many calls can wait at once (truncations for the storage servers, the
  // cluster manager's synced writes for the standbys).
  explicit MetaService(MetaOperator& op, int waiting_threads = 8)
      : op_(op), waiters_(waiting_threads), syncer_([&op] { return op.Sync(); }) {}
  ~MetaService() { Stop(); }
  // Call before server.Listen().
  void RegisterOn(RpcServer& server);
  // Waits for the calls in progress and refuses new ones. Call after the server stopped.
  void Stop() {
    waiters_.join();
    syncer_.Stop();
  }

 private:
  MetaOperator& op_;
  asio::thread_pool waiters_;
  WalSyncer syncer_;
};

}  // namespace zcfs::meta
