// The client side of an RDMA connection (see rdma_transport.h for the protocol).
#pragma once

#include <memory>
#include <string>

#include "rdma_endpoint.h"
#include "zcfs/proto/rpc_channel.h"

namespace zcfs::rdma_internal {

// Opens the TCP control connection to `peer`, exchanges the handshake and connects a QP. The
// returned channel is ready for calls.
Task<Result<std::shared_ptr<RpcChannel>>> OpenRdmaChannel(std::shared_ptr<RdmaContext> context,
                                                          asio::any_io_executor executor, std::string peer);

}  // namespace zcfs::rdma_internal
