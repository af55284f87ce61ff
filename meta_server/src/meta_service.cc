#include "zcfs/meta/meta_service.h"

#include <fcntl.h>

#include "mutation_ids.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::meta {
namespace {

// Wraps an attribute result into the AttrReply body.
Result<pb::AttrReply> attr_reply(Result<pb::InodeAttr> attr) {
  if (!attr.ok()) return attr.status();
  pb::AttrReply reply;
  *reply.mutable_attr() = std::move(attr).value();
  return reply;
}

Result<pb::EmptyReply> empty_reply(Status status) {
  if (!status.ok()) return status;
  return pb::EmptyReply();
}

// The reply of a committed mutation, sent once the commit is durable; the thread serves other
// calls meanwhile. A failed mutation wrote nothing and replies at once.
template <typename Reply>
Task<RpcReply> reply_when_durable(WalSyncer& syncer, Result<Reply> result) {
  if (result.ok()) {
    Status durable = co_await syncer.Durable();
    if (!durable.ok()) co_return RpcReply::FromStatus(std::move(durable));
  }
  co_return internal::reply_of(std::move(result));
}

template <typename Request, typename Reply>
Task<RpcReply> commit_then_sync(WalSyncer& syncer, PbHandler<Request, Reply> commit, std::string body) {
  auto request = ParseRequest<Request>(body);
  if (!request.ok()) co_return RpcReply::FromStatus(request.status());
  co_return co_await reply_when_durable(syncer, commit(*request));
}

// A mutation that carries an id (mutation_ids.h) is done once: a resend whose first try committed -
// before a failover, or on this server while the resend was on its way - is answered by `replay`
// from the namespace as it is now.
template <typename Request, typename Reply>
Result<Reply> commit_once(MetaOperator& op, const PbHandler<Request, Reply>& commit,
                          const PbHandler<Request, Reply>& replay, const Request& request) {
  if (!request.has_mutation_id()) return commit(request);
  const pb::MutationId& id = request.mutation_id();
  if (id.retry()) {
    ASSIGN_OR_RETURN(bool committed, op.MutationCommitted(id));
    if (committed) return replay(request);
  }
  Result<Reply> result = [&] {
    MutationIdScope scope(id, op.WallNowNs());
    return commit(request);
  }();
  if (!result.ok() && id.retry()) {
    auto committed = op.MutationCommitted(id);
    if (committed.ok() && *committed) return replay(request);
  }
  return result;
}

// Registers a mutation that commits on the I/O thread without waiting for the disk (`commit` calls
// an ...Unsynced operation) and replies once WalSyncer has made it durable. `replay` answers a
// resend of one already committed (commit_once).
template <typename Request, typename Reply>
void RegisterMutation(RpcServer& server, uint16_t method, MetaOperator& op, WalSyncer& syncer,
                      PbHandler<Request, Reply> commit, PbHandler<Request, Reply> replay) {
  PbHandler<Request, Reply> once = [&op, commit = std::move(commit), replay = std::move(replay)](const Request& r) {
    return commit_once(op, commit, replay, r);
  };
  server.Register(method, [&syncer, once = std::move(once)](RpcRequest& raw) {
    return commit_then_sync<Request, Reply>(syncer, once, std::move(raw.body));
  });
}

// What a committed create-like mutation replies with: the attributes of the name it made.
Result<pb::AttrReply> entry_reply(MetaOperator& op, uint64_t parent, const std::string& name, const pb::Credentials& cred) {
  return attr_reply(op.Lookup(parent, name, cred));
}

template <typename Request>
Result<pb::EmptyReply> nothing_to_replay(const Request&) {
  return pb::EmptyReply();
}

// SetAttr commits like the other mutations, but a size change first waits for the storage servers
// to cut the data, so it runs (durably) on a waiting thread.
Task<RpcReply> set_attr(MetaOperator& op, WalSyncer& syncer, asio::any_io_executor waiters, std::string body) {
  auto request = ParseRequest<pb::SetAttrRequest>(body);
  if (!request.ok()) co_return RpcReply::FromStatus(request.status());
  if ((request->valid() & setattr::kSize) == 0)
    co_return co_await reply_when_durable(syncer, attr_reply(op.SetAttrUnsynced(*request)));
  PbHandler<pb::SetAttrRequest, pb::AttrReply> truncate = [&op](const pb::SetAttrRequest& r) {
    return attr_reply(op.SetAttr(r));
  };
  co_return co_await asio::co_spawn(waiters, internal::run_parsed(std::move(truncate), std::move(*request)),
                                    asio::use_awaitable);
}

}  // namespace

void MetaService::RegisterOn(RpcServer& server) {
  MetaOperator& op = op_;
  WalSyncer& syncer = syncer_;
  asio::any_io_executor waiters = waiters_.get_executor();
  RegisterPb<pb::LookupRequest, pb::AttrReply>(server, method::kLookup, [&op](const pb::LookupRequest& r) {
    return attr_reply(op.Lookup(r.parent(), r.name(), r.cred()));
  });
  RegisterPb<pb::GetAttrRequest, pb::AttrReply>(
      server, method::kGetAttr, [&op](const pb::GetAttrRequest& r) { return attr_reply(op.GetAttr(r.ino())); });
  RegisterMutation<pb::MkdirRequest, pb::AttrReply>(
      server, method::kMkdir, op, syncer,
      [&op](const pb::MkdirRequest& r) { return attr_reply(op.MkdirUnsynced(r.parent(), r.name(), r.mode(), r.cred())); },
      [&op](const pb::MkdirRequest& r) { return entry_reply(op, r.parent(), r.name(), r.cred()); });
  RegisterMutation<pb::CreateRequest, pb::AttrReply>(
      server, method::kCreate, op, syncer,
      [&op](const pb::CreateRequest& r) {
        return attr_reply(op.CreateUnsynced(r.parent(), r.name(), r.mode(), r.cred(), r.exclusive(), r.chunk_size(),
                                            r.stripe_width()));
      },
      [&op](const pb::CreateRequest& r) { return entry_reply(op, r.parent(), r.name(), r.cred()); });
  RegisterPb<pb::ReaddirRequest, pb::ReaddirReply>(server, method::kReaddir, [&op](const pb::ReaddirRequest& r) {
    return op.Readdir(r.ino(), r.after(), r.max_entries(), r.cred());
  });
  // ExtendLength and SetAttr are idempotent: a resend sets what the first try set.
  server.Register(method::kExtendLength, [&op, &syncer](RpcRequest& raw) {
    PbHandler<pb::ExtendLengthRequest, pb::AttrReply> extend = [&op](const pb::ExtendLengthRequest& r) {
      return attr_reply(op.ExtendLengthUnsynced(r.ino(), r.length()));
    };
    return commit_then_sync<pb::ExtendLengthRequest, pb::AttrReply>(syncer, std::move(extend), std::move(raw.body));
  });
  server.Register(method::kSetAttr, [&op, &syncer, waiters](RpcRequest& raw) {
    return set_attr(op, syncer, waiters, std::move(raw.body));
  });
  RegisterMutation<pb::RemoveRequest, pb::EmptyReply>(
      server, method::kUnlink, op, syncer,
      [&op](const pb::RemoveRequest& r) { return empty_reply(op.UnlinkUnsynced(r.parent(), r.name(), r.cred())); },
      nothing_to_replay<pb::RemoveRequest>);
  RegisterMutation<pb::RemoveRequest, pb::EmptyReply>(
      server, method::kRmdir, op, syncer,
      [&op](const pb::RemoveRequest& r) { return empty_reply(op.RmdirUnsynced(r.parent(), r.name(), r.cred())); },
      nothing_to_replay<pb::RemoveRequest>);
  RegisterMutation<pb::RenameRequest, pb::EmptyReply>(
      server, method::kRename, op, syncer,
      [&op](const pb::RenameRequest& r) {
        return empty_reply(op.RenameUnsynced(r.parent(), r.name(), r.new_parent(), r.new_name(), r.flags(), r.cred()));
      },
      nothing_to_replay<pb::RenameRequest>);
  RegisterMutation<pb::LinkRequest, pb::AttrReply>(
      server, method::kLink, op, syncer,
      [&op](const pb::LinkRequest& r) { return attr_reply(op.LinkUnsynced(r.ino(), r.new_parent(), r.new_name(), r.cred())); },
      [&op](const pb::LinkRequest& r) { return entry_reply(op, r.new_parent(), r.new_name(), r.cred()); });
  RegisterMutation<pb::SymlinkRequest, pb::AttrReply>(
      server, method::kSymlink, op, syncer,
      [&op](const pb::SymlinkRequest& r) { return attr_reply(op.SymlinkUnsynced(r.parent(), r.name(), r.target(), r.cred())); },
      [&op](const pb::SymlinkRequest& r) { return entry_reply(op, r.parent(), r.name(), r.cred()); });
  // An open only waits when it truncates.
  RegisterPbOn<pb::OpenRequest, pb::OpenReply>(
      server, method::kOpen, waiters,
      [&op](const pb::OpenRequest& r) { return op.Open(r.ino(), r.flags(), r.cred(), r.client_id()); },
      [](const pb::OpenRequest& r) { return (r.flags() & O_TRUNC) != 0; });
  // A close only waits when it reports written data.
  RegisterPbOn<pb::CloseRequest, pb::AttrReply>(
      server, method::kClose, waiters,
      [&op](const pb::CloseRequest& r) {
        return attr_reply(op.Close(r.client_id(), r.session_id(), r.ino(), r.written_end()));
      },
      [](const pb::CloseRequest& r) { return r.written_end() > 0; });
  RegisterPb<pb::KeepAliveRequest, pb::EmptyReply>(server, method::kKeepAlive, [&op](const pb::KeepAliveRequest& r) {
    return empty_reply(op.KeepAlive(r.client_id()));
  });
  RegisterPb<pb::StatFsRequest, pb::StatFsReply>(
      server, method::kStatFs, [&op](const pb::StatFsRequest&) -> Result<pb::StatFsReply> { return op.StatFs(); });
  // The cluster manager's calls write the node registry and chains synchronously: with replication
  // that waits for the standbys, whose pulls this server's I/O threads must go on answering meanwhile.
  RegisterPbOn<pb::RegisterNodeRequest, pb::RegisterNodeReply>(
      server, method::kRegisterNode, waiters, [&op](const pb::RegisterNodeRequest& r) { return op.RegisterNode(r); });
  RegisterPb<pb::GetRoutingRequest, pb::RoutingTable>(
      server, method::kGetRouting,
      [&op](const pb::GetRoutingRequest&) -> Result<pb::RoutingTable> { return op.GetRouting(); });
  RegisterPb<pb::ClusterStatusRequest, pb::ClusterStatusReply>(
      server, method::kClusterStatus,
      [&op](const pb::ClusterStatusRequest&) -> Result<pb::ClusterStatusReply> { return op.ClusterStatus(); });
  RegisterPbOn<pb::SyncDoneRequest, pb::EmptyReply>(
      server, method::kSyncDone, waiters, [&op](const pb::SyncDoneRequest& r) { return empty_reply(op.SyncDone(r)); });
  RegisterPbOn<pb::TargetAdminRequest, pb::EmptyReply>(server, method::kTargetAdmin, waiters,
                                                       [&op](const pb::TargetAdminRequest& r) { return empty_reply(op.TargetAdmin(r)); });
  RegisterPbOn<pb::MissingDataReport, pb::EmptyReply>(
      server, method::kReportMissingData, waiters,
      [&op](const pb::MissingDataReport& r) { return empty_reply(op.ReportMissingData(r)); });
}

}  // namespace zcfs::meta
