#include "zcfs/proto/etcd_client.h"

#include <google/protobuf/util/json_util.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "zcfs/proto/asio.h"

namespace zcfs {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = google::protobuf::util;

// The end of a prefix range: the prefix with its last byte incremented (etcd's convention).
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

Result<std::string> to_json(const google::protobuf::Message& message) {
  std::string out;
  json::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = json::MessageToJsonString(message, &out, options);
  if (!status.ok()) return Error(Code::kInvalidArgument, "etcd request to JSON: " + status.ToString());
  return out;
}

Status from_json(std::string_view text, google::protobuf::Message& message) {
  json::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // the header's ids, fields zcfs does not read
  auto status = json::JsonStringToMessage(std::string(text), &message, options);
  if (!status.ok()) return Error(Code::kProtocolError, "etcd answered unreadable JSON: " + status.ToString());
  return Status::Ok();
}

}  // namespace

Result<std::vector<HostPort>> EtcdClient::ParseEndpoints(std::string_view list) {
  std::vector<HostPort> endpoints;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.starts_with("http://")) item.remove_prefix(7);
    if (item.starts_with("https://")) return Error(Code::kInvalidArgument, "etcd over https is not supported");
    while (item.ends_with('/')) item.remove_suffix(1);
    if (item.empty()) continue;
    ASSIGN_OR_RETURN(HostPort endpoint, parse_host_port(item));
    if (endpoint.port == 0) return Error(Code::kInvalidArgument, "etcd endpoint " + std::string(item) + " has no port");
    endpoints.push_back(std::move(endpoint));
  }
  if (endpoints.empty()) return Error(Code::kInvalidArgument, "no etcd endpoint given");
  return endpoints;
}

EtcdClient::EtcdClient(Options options) : options_(std::move(options)) {}

Result<std::string> EtcdClient::Post(const HostPort& endpoint, std::string_view path, const std::string& body) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> request{http::verb::post, std::string(path), 11};
  request.set(http::field::host, endpoint.host);
  request.set(http::field::content_type, "application/json");
  request.body() = body;
  request.prepare_payload();
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  beast::error_code failure;
  // Asynchronous steps on a private context, so that the stream's deadline bounds the whole call.
  stream.expires_after(options_.timeout);
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), [&](beast::error_code ec, auto results) {
    if (ec) return void(failure = ec);
    stream.async_connect(results, [&](beast::error_code ec, const auto&) {
      if (ec) return void(failure = ec);
      http::async_write(stream, request, [&](beast::error_code ec, size_t) {
        if (ec) return void(failure = ec);
        http::async_read(stream, buffer, response, [&](beast::error_code ec, size_t) { failure = ec; });
      });
    });
  });
  io.run();
  const std::string where = "etcd " + endpoint.ToString() + std::string(path);
  if (failure) return Error(Code::kUnavailable, where + ": " + failure.message());
  if (response.result() != http::status::ok) {
    etcd::GatewayError error;
    if (!from_json(response.body(), error).ok() || error.message().empty())
      return Error(Code::kInternal, where + ": HTTP " + std::to_string(response.result_int()));
    // etcd itself refused (gRPC code 5 is "not found", say a lease that expired): asking another
    // endpoint would not help.
    return Error(error.code() == 5 ? Code::kNotFound : Code::kInternal, where + ": " + error.message());
  }
  return std::move(response.body());
}

Status EtcdClient::Call(std::string_view path, const google::protobuf::Message& request,
                        google::protobuf::Message& reply) {
  ASSIGN_OR_RETURN(std::string body, to_json(request));
  const size_t n = options_.endpoints.size();
  Status last = Error(Code::kUnavailable, "no etcd endpoint");
  const size_t first = preferred_.load();
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first + i) % n;
    auto answer = Post(options_.endpoints[index], path, body);
    if (answer.ok()) {
      preferred_.store(index);
      return from_json(*answer, reply);
    }
    last = answer.status();
    if (last.code() != Code::kUnavailable) return last;
  }
  return last;
}

Result<etcd::KeyValue> EtcdClient::Get(std::string_view key) {
  etcd::RangeRequest request;
  request.set_key(std::string(key));
  etcd::RangeResponse reply;
  RETURN_IF_ERROR(Call("/v3/kv/range", request, reply));
  if (reply.kvs_size() == 0) return Error(Code::kNotFound, "etcd has no key " + std::string(key));
  return reply.kvs(0);
}

Result<std::vector<etcd::KeyValue>> EtcdClient::List(std::string_view prefix) {
  etcd::RangeRequest request;
  request.set_key(std::string(prefix));
  request.set_range_end(prefix_end(prefix));
  etcd::RangeResponse reply;
  RETURN_IF_ERROR(Call("/v3/kv/range", request, reply));
  return std::vector<etcd::KeyValue>(reply.kvs().begin(), reply.kvs().end());
}

Status EtcdClient::Put(std::string_view key, std::string_view value, int64_t lease) {
  etcd::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease);
  etcd::PutResponse reply;
  return Call("/v3/kv/put", request, reply);
}

Result<etcd::TxnResponse> EtcdClient::Txn(const etcd::TxnRequest& request) {
  etcd::TxnResponse reply;
  RETURN_IF_ERROR(Call("/v3/kv/txn", request, reply));
  return reply;
}

Result<int64_t> EtcdClient::GrantLease(std::chrono::seconds ttl) {
  etcd::LeaseGrantRequest request;
  request.set_ttl(ttl.count());
  etcd::LeaseGrantResponse reply;
  RETURN_IF_ERROR(Call("/v3/lease/grant", request, reply));
  if (!reply.error().empty() || reply.id() == 0) return Error(Code::kUnavailable, "etcd lease grant: " + reply.error());
  return reply.id();
}

Result<int64_t> EtcdClient::KeepAlive(int64_t lease) {
  etcd::LeaseKeepAliveRequest request;
  request.set_id(lease);
  etcd::LeaseKeepAliveStreamed reply;
  RETURN_IF_ERROR(Call("/v3/lease/keepalive", request, reply));
  return reply.result().ttl();
}

Status EtcdClient::Revoke(int64_t lease) {
  etcd::LeaseRevokeRequest request;
  request.set_id(lease);
  etcd::LeaseRevokeResponse reply;
  return Call("/v3/lease/revoke", request, reply);
}

etcd::Compare etcd_key_missing(std::string_view key) { return etcd_created_at(key, 0); }

etcd::Compare etcd_created_at(std::string_view key, int64_t create_revision) {
  etcd::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(etcd::Compare::CREATE);
  compare.set_result(etcd::Compare::EQUAL);
  compare.set_create_revision(create_revision);
  return compare;
}

etcd::Compare etcd_modified_at(std::string_view key, int64_t mod_revision) {
  etcd::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(etcd::Compare::MOD);
  compare.set_result(etcd::Compare::EQUAL);
  compare.set_mod_revision(mod_revision);
  return compare;
}

etcd::RequestOp etcd_put(std::string_view key, std::string_view value, int64_t lease) {
  etcd::RequestOp op;
  auto* put = op.mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  put->set_lease(lease);
  return op;
}

etcd::RequestOp etcd_delete(std::string_view key) {
  etcd::RequestOp op;
  op.mutable_request_delete_range()->set_key(std::string(key));
  return op;
}

}  // namespace zcfs
