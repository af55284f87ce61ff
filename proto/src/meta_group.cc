#include "zcfs/proto/meta_group.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace zcfs {

Result<std::vector<HostPort>> parse_meta_servers(std::string_view list) {
  std::vector<HostPort> servers;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    ASSIGN_OR_RETURN(HostPort server, parse_host_port(item));
    servers.push_back(std::move(server));
  }
  if (servers.empty()) return Error(Code::kInvalidArgument, "no meta server address given");
  return servers;
}

bool meta_failover_may_help(const Status& status) {
  return status.code() == Code::kUnavailable || status.code() == Code::kTimeout;
}

std::string epoch_trailer(uint64_t epoch) {
  using google::protobuf::internal::WireFormatLite;
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    WireFormatLite::WriteUInt64(kEpochField, epoch, &coded);
  }
  return out;
}

uint64_t reply_epoch(std::string_view body) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(body.data()), static_cast<int>(body.size()));
  uint64_t epoch = 0;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == kEpochField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&epoch)) return 0;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return 0;
    }
  }
  return epoch;
}

Status MetaRotation::AcceptReply(const HostPort& server, std::string_view body) {
  const uint64_t epoch = reply_epoch(body);
  uint64_t newest = newest_epoch_.load();
  while (epoch > newest && !newest_epoch_.compare_exchange_weak(newest, epoch)) {
  }
  if (epoch >= newest) return Status::Ok();
  Failed(server);
  return Error(Code::kUnavailable, "meta server " + server.ToString() + " answered for epoch " + std::to_string(epoch) +
                                       ", older than " + std::to_string(newest) + ": it was deposed");
}

void MetaRotation::Failed(const HostPort& server) {
  size_t at = current_.load();
  if (servers_[at % servers_.size()].ToString() == server.ToString()) current_.compare_exchange_strong(at, at + 1);
}

std::string MetaRotation::ToString() const {
  std::string out;
  for (const auto& s : servers_) out += (out.empty() ? "" : ",") + s.ToString();
  return out;
}

Task<Result<MetaConnection>> connect_to_meta(asio::any_io_executor executor, MetaRotation& rotation,
                                             std::chrono::milliseconds timeout) {
  Status last;
  for (size_t i = 0; i < rotation.size(); ++i) {
    const HostPort server = rotation.current();
    auto channel = co_await RpcChannel::Connect(executor, server, timeout);
    if (channel.ok()) co_return MetaConnection{std::move(channel).value(), server};
    last = channel.status();
    rotation.Failed(server);
  }
  if (rotation.size() > 1) last.Prepend("no meta server of " + rotation.ToString() + " could be reached");
  co_return last;
}

Task<Result<RpcResponse>> call_meta(asio::any_io_executor executor, MetaRotation& rotation, uint16_t method,
                                    std::string body, std::chrono::milliseconds timeout) {
  Result<RpcResponse> reply = Error(Code::kUnavailable, "no meta server");
  for (size_t i = 0; i < rotation.size(); ++i) {
    auto connection = co_await connect_to_meta(executor, rotation, timeout);
    if (!connection.ok()) co_return connection.status();  // it tried every member
    CallOptions call;
    call.timeout = timeout;
    reply = co_await connection->channel->Call(method, body, std::move(call));
    connection->channel->Close();
    if (reply.ok()) {
      Status fresh = rotation.AcceptReply(connection->server, reply->body);
      if (fresh.ok()) break;
      reply = fresh;
      continue;  // AcceptReply moved on to the next member
    }
    if (!meta_failover_may_help(reply.status())) break;
    rotation.Failed(connection->server);
  }
  co_return reply;
}

}  // namespace zcfs
