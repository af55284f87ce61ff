// RpcChannel: the client side of one connection to a server, over some transport. Many calls may be
// in flight at once; replies are matched by request id. RpcChannel::Connect() opens a TCP channel; the
// RDMA transport (rdma/rdma_transport.h) makes its own.
//
// Direct data placement: a call names a PayloadPlacement. When its reply header and body have
// arrived, the receive loop asks the placement where the reply payload goes and reads it from the
// socket straight into that memory (the caller's buffer). No bounce buffer, no memcpy. Over RDMA the
// server writes the payload itself, into memory the call named before it was sent
// (CallOptions::reply_segments); the placement then still runs when the reply arrives, but the memory
// it returns is not written.
//
// Every call has a timeout. A call that times out returns kTimeout; its late reply is read and
// dropped. A call whose payload is being placed returns only once nothing writes into the caller's
// memory any more: a timeout in the middle of the payload (a peer that stopped sending) closes the
// connection, which ends that read, and then returns kTimeout. A broken connection fails every
// pending call with kUnavailable. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/proto/frame.h"

namespace zcfs {

// Returns the memory the reply payload must land in, in order; the sizes must add up to the
// payload length. Gets the reply header and body.
using PayloadPlacement =
    std::function<Result<std::vector<asio::mutable_buffer>>(const FrameHeader& header, std::string_view body)>;

struct RpcResponse {
  std::string body;
  uint64_t payload_len = 0;
};

struct CallOptions {
  std::chrono::milliseconds timeout{10000};
  std::vector<asio::const_buffer> payload;  // request payload, sent from this memory without a copy
  PayloadPlacement placement;               // required when the reply carries a payload (TCP)
  // Where the reply payload may land, named before the call is sent: registered memory, one segment
  // per piece the server may reply with (RpcReply::payload_segments says which buffer goes where).
  // The RDMA transport hands these to the server, which writes the payload straight into them; TCP
  // ignores them and uses `placement`.
  std::vector<asio::mutable_buffer> reply_segments;
};

class RpcChannel {
 public:
  // A TCP channel to `peer` (the TCP implementation lives in rpc_channel.cc: all its state is on
  // its own strand).
  static Task<Result<std::shared_ptr<RpcChannel>>> Connect(asio::any_io_executor executor, HostPort peer,
                                                           std::chrono::milliseconds timeout, FrameLimits limits = {});
  virtual ~RpcChannel() = default;

  // Sends a request and waits for its reply (or error, or timeout). Can be awaited from any executor.
  virtual Task<Result<RpcResponse>> Call(uint16_t method, std::string body, CallOptions options) = 0;
  // Fails pending calls with kCancelled and closes the connection. Idempotent.
  virtual void Close() = 0;
  virtual bool is_open() const = 0;
  virtual const std::string& peer() const = 0;
};

}  // namespace zcfs
