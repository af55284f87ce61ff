// EtcdClient: the calls zcfs makes to etcd (keys, transactions, leases), through etcd's v3 JSON
// gateway over HTTP/1.1 with Boost.Beast.
//
// Why the gateway and not gRPC: zcfs needs a handful of unary calls a few times a second (a lease
// renewal, an election transaction, a key read). The gateway serves exactly those over plain HTTP,
// which Boost.Beast (part of the Boost zcfs already builds with) speaks, and protobuf's JSON mapping
// encodes the messages (etcd_gateway.proto) the way the gateway wants. gRPC would add a large
// dependency and its own threads for no gain at this rate. The gateway's one streaming call that
// matters, lease keep-alive, answers a single request with a single message, so it is unary here too.
//
// Each call tries the endpoints in turn, starting with the last one that answered, within `timeout`
// per endpoint. Thread-safe (calls are independent; no connection is kept).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "etcd_gateway.pb.h"
#include "zcfs/common/address.h"
#include "zcfs/common/status.h"

namespace zcfs {

class EtcdClient {
 public:
  struct Options {
    std::vector<HostPort> endpoints;
    std::chrono::milliseconds timeout{2000};
  };
  // "http://10.0.0.1:2379,10.0.0.2:2379" (the scheme is optional; only http is spoken).
  static Result<std::vector<HostPort>> ParseEndpoints(std::string_view list);

  explicit EtcdClient(Options options);

  // The key's record; kNotFound when it does not exist.
  Result<etcd::KeyValue> Get(std::string_view key);
  // Every key starting with `prefix`, in key order.
  Result<std::vector<etcd::KeyValue>> List(std::string_view prefix);
  Status Put(std::string_view key, std::string_view value, int64_t lease = 0);
  Result<etcd::TxnResponse> Txn(const etcd::TxnRequest& request);

  // A lease of `ttl`; its id.
  Result<int64_t> GrantLease(std::chrono::seconds ttl);
  // Renews the lease; returns its remaining TTL in seconds, 0 when it is gone (expired or revoked).
  Result<int64_t> KeepAlive(int64_t lease);
  Status Revoke(int64_t lease);

  const Options& options() const { return options_; }

 private:
  // POSTs `request` as JSON to `path` and parses the answer into `reply`.
  Status Call(std::string_view path, const google::protobuf::Message& request, google::protobuf::Message& reply);
  Result<std::string> Post(const HostPort& endpoint, std::string_view path, const std::string& body);

  const Options options_;
  std::atomic<size_t> preferred_{0};  // index of the endpoint that answered last
};

// Compare clauses for EtcdClient::Txn.
etcd::Compare etcd_key_missing(std::string_view key);  // no such key (its create revision is 0)
etcd::Compare etcd_created_at(std::string_view key, int64_t create_revision);
etcd::Compare etcd_modified_at(std::string_view key, int64_t mod_revision);
etcd::RequestOp etcd_put(std::string_view key, std::string_view value, int64_t lease = 0);
etcd::RequestOp etcd_delete(std::string_view key);

}  // namespace zcfs
