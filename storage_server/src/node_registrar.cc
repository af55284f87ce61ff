#include "zcfs/storage/node_registrar.h"

#include <random>

#include "id_file.h"
#include "zcfs.pb.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs {

NodeRegistrar::NodeRegistrar(asio::any_io_executor executor, Options options, std::vector<StorageTarget*> targets,
                             std::function<void()> on_registered)
    : executor_(executor),
      options_(std::move(options)),
      targets_(std::move(targets)),
      on_registered_(std::move(on_registered)),
      strand_(asio::make_strand(executor)),
      timer_(strand_),
      incarnation_(std::random_device()() | (uint64_t{std::random_device()()} << 32) | 1) {}

NodeRegistrar::~NodeRegistrar() { Stop(); }

Status NodeRegistrar::Start() {
  ASSIGN_OR_RETURN(uint32_t id, storage_internal::read_id_file(options_.data_dir + "/node_id"));
  node_id_.store(id);
  started_ = true;
  asio::co_spawn(strand_, Loop(), [this](std::exception_ptr) { exited_.set_value(); });
  return Status::Ok();
}

void NodeRegistrar::Stop() {
  if (!started_) return;
  started_ = false;
  asio::post(strand_, [this] {
    stopping_ = true;
    timer_.cancel();
    if (channel_) channel_->Close();  // fails a call in progress at once
  });
  exited_.get_future().wait();
}

Task<> NodeRegistrar::Loop() {
  bool registered = false;
  while (!stopping_) {
    Status s = co_await RegisterOnce();
    if (s.ok()) {
      rounds_.fetch_add(1);
      if (!registered) {
        registered = true;
        LOG_INFO << "registered with meta " << channel_server_.ToString() << " as node " << node_id_.load();
        if (on_registered_) on_registered_();
      }
    } else if (!stopping_) {
      LOG_WARN << "registration with meta " << options_.meta->ToString() << " failed (will retry): " << s.ToString();
    }
    if (stopping_) break;
    timer_.expires_after(options_.interval);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (channel_) channel_->Close();
  channel_.reset();
}

Task<Status> NodeRegistrar::RegisterOnce() {
  if (!channel_ || !channel_->is_open()) {
    channel_.reset();
    auto connected = co_await connect_to_meta(executor_, *options_.meta, options_.rpc_timeout);
    if (!connected.ok()) co_return connected.status();
    if (stopping_) co_return Error(Code::kCancelled, "stopping");
    channel_ = connected->channel;
    channel_server_ = connected->server;
  }
  pb::RegisterNodeRequest request;
  request.set_node_id(node_id_.load());
  request.set_address(options_.advertise_address);
  request.set_incarnation(incarnation_);
  request.set_label(options_.label);
  if (options_.resyncs) {
    for (auto& progress : options_.resyncs()) *request.add_resyncs() = std::move(progress);
  }
  for (StorageTarget* target : targets_) {
    pb::TargetReport* report = request.add_targets();
    report->set_target_id(target->id());
    report->set_path(target->path());
    report->set_uuid(target->uuid());
    if (auto space = target->QuerySpace(); space.ok()) {
      report->set_capacity_bytes(space->capacity_bytes);
      report->set_used_bytes(space->used_bytes);
    }
  }
  CallOptions call;
  call.timeout = options_.rpc_timeout;
  auto channel = channel_;                       // Stop() may reset channel_ while the call is in flight
  const auto sent_at = ChainView::Clock::now();  // the lease runs from before the meta server saw the request
  auto reply = co_await call_meta_on<pb::RegisterNodeReply>(*channel, *options_.meta, channel_server_,
                                                            method::kRegisterNode, request, std::move(call));
  if (!reply.ok()) {
    // A member that is gone or refusing (a deposed primary, a standby): the next round calls the next.
    if (meta_failover_may_help(reply.status())) {
      options_.meta->Failed(channel_server_);
      channel->Close();
    }
    co_return Status(reply.status()).Prepend(channel_server_.ToString());
  }
  Status adopted = Adopt(reply->node_id(), {reply->target_ids().begin(), reply->target_ids().end()});
  if (!adopted.ok() || options_.view == nullptr) co_return adopted;
  // The chains first: a renewed lease with an old table would serve under chains that moved on.
  Status followed = co_await FollowRouting(*channel, reply->routing_version());
  if (!followed.ok()) co_return followed;
  options_.view->LeaseRenewed(sent_at, std::chrono::milliseconds(reply->lease_ms()));
  if (options_.on_round) options_.on_round();
  co_return Status::Ok();
}

Task<Status> NodeRegistrar::FollowRouting(RpcChannel& channel, uint64_t version) {
  if (version == options_.view->version()) co_return Status::Ok();
  CallOptions call;
  call.timeout = options_.rpc_timeout;
  auto table = co_await call_meta_on<pb::RoutingTable>(channel, *options_.meta, channel_server_, method::kGetRouting,
                                                       pb::GetRoutingRequest(), std::move(call));
  if (!table.ok()) co_return table.status();
  options_.view->Update(std::move(table).value());
  co_return Status::Ok();
}

Status NodeRegistrar::Adopt(uint32_t node_id, const std::vector<uint32_t>& target_ids) {
  if (node_id == 0 || target_ids.size() != targets_.size()) {
    return Error(Code::kProtocolError, "meta replied node id " + std::to_string(node_id) + " with " +
                                           std::to_string(target_ids.size()) + " target ids for " +
                                           std::to_string(targets_.size()) + " targets");
  }
  if (node_id != node_id_.load()) {
    RETURN_IF_ERROR(storage_internal::write_id_file(options_.data_dir + "/node_id", node_id));
    node_id_.store(node_id);
  }
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (target_ids[i] == 0) return Error(Code::kProtocolError, "meta assigned target id 0");
    RETURN_IF_ERROR(targets_[i]->SetId(target_ids[i]));
  }
  return Status::Ok();
}

}  // namespace zcfs
