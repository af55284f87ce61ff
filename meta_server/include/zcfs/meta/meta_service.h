// MetaService: the RPC face of MetaOperator. Registers every meta method of proto/methods.h
// on an RpcServer; each handler parses the request, calls the operator and returns its reply or its
// Status. No logic lives here.
//
// Handlers run synchronously on the connection's strand; a mutation may wait for a synced WAL write,
// and a truncation for the storage servers to cut the file's chunks.
// Thread-safe (as MetaOperator is). The operator must outlive the server's handlers.
#pragma once

#include "zcfs/meta/meta_operator.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs::meta {

class MetaService {
 public:
  explicit MetaService(MetaOperator& op) : op_(op) {}
  // Call before server.Listen().
  void RegisterOn(RpcServer& server);

 private:
  MetaOperator& op_;
};

}  // namespace zcfs::meta
