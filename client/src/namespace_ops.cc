// Client: the namespace calls that remove, rename and link entries, symlinks, and open/close sessions.
#include "client_impl.h"
#include "path_walk.h"
#include "paths.h"
#include "pb_convert.h"
#include "zcfs/client/client.h"
#include "zcfs/proto/methods.h"

namespace zcfs {
namespace {

static_assert(kRenameNoReplace == rename::kNoReplace && kRenameExchange == rename::kExchange);

Status status_of(const Result<pb::EmptyReply>& reply) { return reply.ok() ? Status::Ok() : reply.status(); }

pb::RemoveRequest remove_request(ClientImpl& impl, uint64_t parent, std::string_view name,
                                 const std::optional<Credentials>& cred) {
  pb::RemoveRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  *req.mutable_cred() = impl.credentials(cred);
  return req;
}

}  // namespace

Status Client::Unlink(uint64_t parent, std::string_view name, std::optional<Credentials> cred) {
  impl_->dir_cache().DropChild(parent, name);
  return status_of(impl_->MetaCall<pb::EmptyReply>(method::kUnlink, remove_request(*impl_, parent, name, cred)));
}

Status Client::Rmdir(uint64_t parent, std::string_view name, std::optional<Credentials> cred) {
  impl_->dir_cache().DropChild(parent, name);
  return status_of(impl_->MetaCall<pb::EmptyReply>(method::kRmdir, remove_request(*impl_, parent, name, cred)));
}

Status Client::Rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
                      uint32_t flags, std::optional<Credentials> cred) {
  // Both names: the source moves away, a replaced or exchanged destination changes too.
  impl_->dir_cache().DropChild(parent, name);
  impl_->dir_cache().DropChild(new_parent, new_name);
  pb::RenameRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  req.set_new_parent(new_parent);
  req.set_new_name(std::string(new_name));
  req.set_flags(flags);
  *req.mutable_cred() = impl_->credentials(cred);
  return status_of(impl_->MetaCall<pb::EmptyReply>(method::kRename, req));
}

Result<FileInfo> Client::Link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                              std::optional<Credentials> cred) {
  pb::LinkRequest req;
  req.set_ino(ino);
  req.set_new_parent(new_parent);
  req.set_new_name(std::string(new_name));
  *req.mutable_cred() = impl_->credentials(cred);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kLink, req));
}

Result<FileInfo> Client::Symlink(uint64_t parent, std::string_view name, std::string_view target,
                                 std::optional<Credentials> cred) {
  pb::SymlinkRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  req.set_target(std::string(target));
  *req.mutable_cred() = impl_->credentials(cred);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kSymlink, req));
}

Result<std::string> Client::ReadLink(uint64_t ino) {
  ASSIGN_OR_RETURN(FileInfo info, GetAttr(ino));
  if (info.type != FileType::kSymlink) {
    return Error(Code::kInvalidArgument, "inode " + std::to_string(ino) + " is not a symbolic link");
  }
  return std::move(info.symlink_target);
}

Result<OpenFile> Client::Open(uint64_t ino, int flags, std::optional<Credentials> cred) {
  pb::OpenRequest req;
  req.set_ino(ino);
  req.set_flags(static_cast<uint32_t>(flags));
  *req.mutable_cred() = impl_->credentials(cred);
  req.set_client_id(impl_->client_id());
  ASSIGN_OR_RETURN(pb::OpenReply reply, impl_->MetaCall<pb::OpenReply>(method::kOpen, req));
  return OpenFile{from_pb(reply.attr()), impl_->sessions().Add(ino, reply.session_id())};
}

Result<FileInfo> Client::Close(const OpenFile& file, uint64_t written_end) {
  // Forgotten locally even if the call fails: the server's session then expires with the lease.
  std::optional<uint64_t> server_session = impl_->sessions().Remove(file.session_id);
  if (!server_session) return Error(Code::kBadHandle, "file is not open (closed twice?)");
  pb::CloseRequest req;
  req.set_client_id(impl_->client_id());
  req.set_session_id(*server_session);
  req.set_ino(file.info.ino);
  req.set_written_end(written_end);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kClose, req));
}

Status Client::Remove(std::string_view path) {
  auto removed = PathWalker(*this, impl_->dir_cache())
                     .AtParent<bool>(path, [&](uint64_t dir, const std::string& name) -> Result<bool> {
                       auto target = Lookup(dir, name);
                       if (!target.ok()) return Status(target.status()).Prepend(std::string(path));
                       Status done = target->is_dir() ? Rmdir(dir, name) : Unlink(dir, name);
                       if (!done.ok()) return done.Prepend(std::string(path));
                       return true;
                     });
  return removed.ok() ? Status::Ok() : removed.status();
}

Status Client::RenamePath(std::string_view from, std::string_view to, uint32_t flags) {
  ASSIGN_OR_RETURN(ParentAndName dest, split_parent(to));
  ASSIGN_OR_RETURN(FileInfo dest_parent, Stat(dest.parent));
  auto renamed = PathWalker(*this, impl_->dir_cache())
                     .AtParent<bool>(from, [&](uint64_t dir, const std::string& name) -> Result<bool> {
                       Status done = Rename(dir, name, dest_parent.ino, dest.name, flags);
                       if (!done.ok()) return done.Prepend(std::string(from) + " -> " + std::string(to));
                       return true;
                     });
  return renamed.ok() ? Status::Ok() : renamed.status();
}

}  // namespace zcfs
