#include "zcfs/meta/meta_service.h"

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

}  // namespace

void MetaService::RegisterOn(RpcServer& server) {
  MetaOperator& op = op_;
  RegisterPb<pb::LookupRequest, pb::AttrReply>(server, method::kLookup, [&op](const pb::LookupRequest& r) {
    return attr_reply(op.Lookup(r.parent(), r.name(), r.cred()));
  });
  RegisterPb<pb::GetAttrRequest, pb::AttrReply>(
      server, method::kGetAttr, [&op](const pb::GetAttrRequest& r) { return attr_reply(op.GetAttr(r.ino())); });
  RegisterPb<pb::MkdirRequest, pb::AttrReply>(server, method::kMkdir, [&op](const pb::MkdirRequest& r) {
    return attr_reply(op.Mkdir(r.parent(), r.name(), r.mode(), r.cred()));
  });
  RegisterPb<pb::CreateRequest, pb::AttrReply>(server, method::kCreate, [&op](const pb::CreateRequest& r) {
    return attr_reply(
        op.Create(r.parent(), r.name(), r.mode(), r.cred(), r.exclusive(), r.chunk_size(), r.stripe_width()));
  });
  RegisterPb<pb::ReaddirRequest, pb::ReaddirReply>(server, method::kReaddir, [&op](const pb::ReaddirRequest& r) {
    return op.Readdir(r.ino(), r.after(), r.max_entries(), r.cred());
  });
  RegisterPb<pb::ExtendLengthRequest, pb::AttrReply>(
      server, method::kExtendLength,
      [&op](const pb::ExtendLengthRequest& r) { return attr_reply(op.ExtendLength(r.ino(), r.length())); });
  RegisterPb<pb::SetAttrRequest, pb::AttrReply>(
      server, method::kSetAttr, [&op](const pb::SetAttrRequest& r) { return attr_reply(op.SetAttr(r)); });
  RegisterPb<pb::RemoveRequest, pb::EmptyReply>(server, method::kUnlink, [&op](const pb::RemoveRequest& r) {
    return empty_reply(op.Unlink(r.parent(), r.name(), r.cred()));
  });
  RegisterPb<pb::RemoveRequest, pb::EmptyReply>(server, method::kRmdir, [&op](const pb::RemoveRequest& r) {
    return empty_reply(op.Rmdir(r.parent(), r.name(), r.cred()));
  });
  RegisterPb<pb::RenameRequest, pb::EmptyReply>(server, method::kRename, [&op](const pb::RenameRequest& r) {
    return empty_reply(op.Rename(r.parent(), r.name(), r.new_parent(), r.new_name(), r.flags(), r.cred()));
  });
  RegisterPb<pb::LinkRequest, pb::AttrReply>(server, method::kLink, [&op](const pb::LinkRequest& r) {
    return attr_reply(op.Link(r.ino(), r.new_parent(), r.new_name(), r.cred()));
  });
  RegisterPb<pb::SymlinkRequest, pb::AttrReply>(server, method::kSymlink, [&op](const pb::SymlinkRequest& r) {
    return attr_reply(op.Symlink(r.parent(), r.name(), r.target(), r.cred()));
  });
  RegisterPb<pb::OpenRequest, pb::OpenReply>(server, method::kOpen, [&op](const pb::OpenRequest& r) {
    return op.Open(r.ino(), r.flags(), r.cred(), r.client_id());
  });
  RegisterPb<pb::CloseRequest, pb::AttrReply>(server, method::kClose, [&op](const pb::CloseRequest& r) {
    return attr_reply(op.Close(r.client_id(), r.session_id(), r.ino(), r.written_end()));
  });
  RegisterPb<pb::KeepAliveRequest, pb::EmptyReply>(server, method::kKeepAlive, [&op](const pb::KeepAliveRequest& r) {
    return empty_reply(op.KeepAlive(r.client_id()));
  });
  RegisterPb<pb::StatFsRequest, pb::StatFsReply>(
      server, method::kStatFs, [&op](const pb::StatFsRequest&) -> Result<pb::StatFsReply> { return op.StatFs(); });
  RegisterPb<pb::RegisterNodeRequest, pb::RegisterNodeReply>(
      server, method::kRegisterNode, [&op](const pb::RegisterNodeRequest& r) { return op.RegisterNode(r); });
  RegisterPb<pb::GetRoutingRequest, pb::RoutingTable>(
      server, method::kGetRouting,
      [&op](const pb::GetRoutingRequest&) -> Result<pb::RoutingTable> { return op.GetRouting(); });
  RegisterPb<pb::ClusterStatusRequest, pb::ClusterStatusReply>(
      server, method::kClusterStatus,
      [&op](const pb::ClusterStatusRequest&) -> Result<pb::ClusterStatusReply> { return op.ClusterStatus(); });
}

}  // namespace zcfs::meta
