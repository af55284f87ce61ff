// Typed RPCs: protobuf messages in and out of frames, on both sides.
#pragma once

#include <google/protobuf/message_lite.h>

#include <functional>
#include <string>

#include "zcfs/proto/rpc_channel.h"
#include "zcfs/proto/rpc_server.h"

namespace zcfs {

// Parses `body` into `message`; a body that does not parse is kProtocolError naming `what`.
Status ParseMessage(google::protobuf::MessageLite& message, std::string_view body, std::string_view what);

// Sends `request` and parses the reply body into Reply.
template <typename Reply, typename Request>
Task<Result<Reply>> CallPb(RpcChannel& channel, uint16_t method, const Request& request, CallOptions options = {}) {
  auto response = co_await channel.Call(method, request.SerializeAsString(), std::move(options));
  if (!response.ok()) co_return response.status();
  Reply reply;
  Status parsed = ParseMessage(reply, response->body, "reply");
  if (!parsed.ok()) co_return parsed;
  co_return reply;
}

template <typename Request, typename Reply>
using PbHandler = std::function<Result<Reply>(const Request&)>;

namespace internal {
// A coroutine function rather than a capturing coroutine lambda: its frame owns the handler copy.
template <typename Request, typename Reply>
Task<RpcReply> run_pb_handler(PbHandler<Request, Reply> handler, std::string body) {
  Request request;
  Status parsed = ParseMessage(request, body, "request");
  if (!parsed.ok()) co_return RpcReply::FromStatus(std::move(parsed));
  Result<Reply> result = handler(request);
  if (!result.ok()) co_return RpcReply::FromStatus(result.status());
  RpcReply reply;
  reply.body = result->SerializeAsString();
  co_return reply;
}
}  // namespace internal

// Registers a synchronous handler: it runs on the connection's strand and must not block for long.
template <typename Request, typename Reply>
void RegisterPb(RpcServer& server, uint16_t method, PbHandler<Request, Reply> handler) {
  server.Register(method, [handler = std::move(handler)](RpcRequest& raw) {
    return internal::run_pb_handler<Request, Reply>(handler, std::move(raw.body));
  });
}

}  // namespace zcfs
