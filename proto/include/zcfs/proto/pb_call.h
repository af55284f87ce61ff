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

// A request message parsed from a frame body (kProtocolError when it does not parse).
template <typename Request>
Result<Request> ParseRequest(std::string_view body) {
  Request request;
  RETURN_IF_ERROR(ParseMessage(request, body, "request"));
  return request;
}

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
template <typename Reply>
RpcReply reply_of(Result<Reply> result) {
  if (!result.ok()) return RpcReply::FromStatus(result.status());
  RpcReply reply;
  reply.body = result->SerializeAsString();
  return reply;
}

// Coroutine functions rather than capturing coroutine lambdas: their frames own what they use.
template <typename Request, typename Reply>
Task<RpcReply> run_pb_handler(PbHandler<Request, Reply> handler, std::string body) {
  auto request = ParseRequest<Request>(body);
  if (!request.ok()) co_return RpcReply::FromStatus(request.status());
  co_return reply_of(handler(*request));
}

template <typename Request, typename Reply>
Task<RpcReply> run_parsed(PbHandler<Request, Reply> handler, Request request) {
  co_return reply_of(handler(request));
}

template <typename Request, typename Reply>
Task<RpcReply> run_pb_handler_on(asio::any_io_executor workers, std::function<bool(const Request&)> waits,
                                 PbHandler<Request, Reply> handler, std::string body) {
  auto request = ParseRequest<Request>(body);
  if (!request.ok()) co_return RpcReply::FromStatus(request.status());
  if (waits && !waits(*request)) co_return reply_of(handler(*request));
  co_return co_await asio::co_spawn(workers, run_parsed<Request, Reply>(std::move(handler), std::move(*request)),
                                    asio::use_awaitable);
}
}  // namespace internal

// Registers a synchronous handler: it runs on the connection's strand and must not block for long.
template <typename Request, typename Reply>
void RegisterPb(RpcServer& server, uint16_t method, PbHandler<Request, Reply> handler) {
  server.Register(method, [handler = std::move(handler)](RpcRequest& raw) {
    return internal::run_pb_handler<Request, Reply>(handler, std::move(raw.body));
  });
}

// Registers a synchronous handler that may wait long (for the disk, or for other servers, as a
// truncation waits for the storage servers): it runs on a thread of `workers`, so the connection's
// I/O thread goes on serving other calls meanwhile. With `waits`, only the requests it picks go to
// `workers`; the others run on the I/O thread as with RegisterPb.
template <typename Request, typename Reply>
void RegisterPbOn(RpcServer& server, uint16_t method, asio::any_io_executor workers, PbHandler<Request, Reply> handler,
                  std::function<bool(const Request&)> waits = {}) {
  server.Register(method, [workers, waits = std::move(waits), handler = std::move(handler)](RpcRequest& raw) {
    return internal::run_pb_handler_on<Request, Reply>(workers, waits, handler, std::move(raw.body));
  });
}

}  // namespace zcfs
