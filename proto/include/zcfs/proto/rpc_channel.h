// RpcChannel: the client side of one TCP connection. Many calls may be in flight at once; replies are
// matched by request id.
//
// Direct data placement: a call names a PayloadPlacement. When its reply header and body have
// arrived, the receive loop asks the placement where the reply payload goes and reads it from the
// socket straight into that memory (the caller's buffer). No bounce buffer, no memcpy.
//
// Every call has a timeout. A call that times out returns kTimeout; its late reply is read and
// dropped. A call whose payload is being placed is never abandoned mid-way (the memory it writes
// into belongs to the caller), so the timeout waits for that read to end. A broken connection fails
// every pending call with kUnavailable. Thread-safe: all state lives on the channel's strand.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/common/address.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/asio.h"
#include "zcfs/proto/frame.h"
#include "zcfs/proto/frame_writer.h"

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
  PayloadPlacement placement;               // required when the reply carries a payload
};

class RpcChannel : public std::enable_shared_from_this<RpcChannel> {
 public:
  static Task<Result<std::shared_ptr<RpcChannel>>> Connect(asio::any_io_executor executor, HostPort peer,
                                                           std::chrono::milliseconds timeout, FrameLimits limits = {});
  ~RpcChannel();

  // Sends a request and waits for its reply (or error, or timeout). Can be awaited from any executor.
  Task<Result<RpcResponse>> Call(uint16_t method, std::string body, CallOptions options);
  // Fails pending calls with kCancelled and closes the socket. Idempotent.
  void Close();
  bool is_open() const { return open_.load(); }
  const std::string& peer() const { return peer_; }

 private:
  struct Pending;
  RpcChannel(Strand strand, std::string peer, FrameLimits limits);
  static Task<Status> ConnectOnStrand(std::shared_ptr<RpcChannel> channel, HostPort peer,
                                      std::chrono::milliseconds timeout);
  Task<Result<RpcResponse>> CallOnStrand(uint16_t method, std::string body, CallOptions options);
  Task<> ReadLoop();
  Task<Status> ReadReply(const FrameHeader& header);
  void FailAll(const Status& status);

  Strand strand_;
  tcp::socket socket_;
  std::string peer_;
  FrameLimits limits_;
  FrameWriter writer_;
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Pending>> pending_;
  std::atomic<bool> open_{false};
};

}  // namespace zcfs
