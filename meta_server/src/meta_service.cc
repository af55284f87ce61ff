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

}  // namespace

void MetaService::RegisterOn(RpcServer& server) {
  MetaOperator& op = op_;
  RegisterPb<pb::LookupRequest, pb::AttrReply>(server, method::kLookup, [&op](const pb::LookupRequest& r) {
    return attr_reply(op.Lookup(r.parent(), r.name()));
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
    return op.Readdir(r.ino(), r.after(), r.max_entries());
  });
  RegisterPb<pb::ExtendLengthRequest, pb::AttrReply>(
      server, method::kExtendLength,
      [&op](const pb::ExtendLengthRequest& r) { return attr_reply(op.ExtendLength(r.ino(), r.length())); });
  RegisterPb<pb::SetAttrRequest, pb::AttrReply>(
      server, method::kSetAttr, [&op](const pb::SetAttrRequest& r) { return attr_reply(op.SetAttr(r)); });
  RegisterPb<pb::RegisterNodeRequest, pb::RegisterNodeReply>(
      server, method::kRegisterNode, [&op](const pb::RegisterNodeRequest& r) { return op.RegisterNode(r); });
  RegisterPb<pb::GetRoutingRequest, pb::RoutingTable>(
      server, method::kGetRouting,
      [&op](const pb::GetRoutingRequest&) -> Result<pb::RoutingTable> { return op.GetRouting(); });
}

}  // namespace zcfs::meta
