// The ChunkTrimmer that asks the storage servers over RPC (method::kTruncateChunks).
#include <map>
#include <set>

#include "zcfs/meta/chunk_trimmer.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/layout_rules.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/tcp_transport.h"

namespace zcfs::meta {
namespace {

// Where each online target is served: target id -> node address.
std::map<uint32_t, std::string> target_addresses(const pb::RoutingTable& routing) {
  std::map<uint32_t, std::string> online_nodes;
  for (const auto& node : routing.nodes()) {
    if (node.online()) online_nodes.emplace(node.node_id(), node.address());
  }
  std::map<uint32_t, std::string> targets;
  for (const auto& target : routing.targets()) {
    auto node = online_nodes.find(target.node_id());
    if (node != online_nodes.end()) targets.emplace(target.target_id(), node->second);
  }
  return targets;
}

// The targets holding the layout's chunks that can be trimmed now: the members of its chains that
// receive writes. An OFFLINE member misses the trim; its resync, which removes and cuts what its
// predecessor does not hold, applies it when it returns.
std::set<uint32_t> trimmed_targets(const pb::RoutingTable& routing, const pb::Layout& layout) {
  std::set<uint32_t> chains(layout.chains().begin(), layout.chains().end());
  std::set<uint32_t> targets;
  for (const auto& chain : routing.chains()) {
    if (!chains.contains(chain.chain_id())) continue;
    for (const auto& m : chain.members()) {
      if (receives_writes(m.state())) targets.insert(m.target_id());
    }
  }
  return targets;
}

Task<Status> trim_targets(TcpTransport* transport, pb::RoutingTable routing, uint64_t ino, pb::Layout layout,
                          uint64_t length) {
  const std::map<uint32_t, std::string> addresses = target_addresses(routing);
  for (uint32_t target : trimmed_targets(routing, layout)) {
    auto address = addresses.find(target);
    if (address == addresses.end()) {
      co_return Error(Code::kUnavailable, "storage target " + std::to_string(target) + " is offline");
    }
    auto channel = co_await transport->Channel(address->second);
    if (!channel.ok()) co_return Status(channel.status()).Prepend("storage server " + address->second);
    pb::TruncateChunksRequest request;
    request.set_inode(ino);
    request.set_target_id(target);
    request.set_length(length);
    request.set_chunk_size(layout.chunk_size());
    auto reply = co_await CallPb<pb::TruncateChunksReply>(**channel, method::kTruncateChunks, request);
    if (!reply.ok()) {
      co_return Status(reply.status())
          .Prepend("truncating inode " + std::to_string(ino) + " on target " + std::to_string(target));
    }
  }
  co_return Status::Ok();
}

// Thread-safe: calls run on the trimmer's own I/O thread; the transport caches one channel per server.
class StorageChunkTrimmer final : public ChunkTrimmer {
 public:
  explicit StorageChunkTrimmer(std::function<pb::RoutingTable()> routing)
      : routing_(std::move(routing)), io_(1), transport_(io_.executor()) {}
  ~StorageChunkTrimmer() override {
    transport_.CloseAll();
    io_.Stop();
  }

  Status Trim(uint64_t ino, const pb::Layout& layout, uint64_t length) override {
    if (layout.chains().empty()) return Status::Ok();
    return run_blocking(io_.executor(), trim_targets(&transport_, routing_(), ino, layout, length));
  }

 private:
  std::function<pb::RoutingTable()> routing_;
  IoThreads io_;
  TcpTransport transport_;
};

}  // namespace

std::unique_ptr<ChunkTrimmer> MakeStorageChunkTrimmer(std::function<pb::RoutingTable()> routing) {
  return std::make_unique<StorageChunkTrimmer>(std::move(routing));
}

}  // namespace zcfs::meta
