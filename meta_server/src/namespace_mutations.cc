// MetaOperator: the namespace mutations. Each one runs under mutation_mutex_ (so its reads and the
// batch it writes form one step) and commits a single atomic batch.
#include <algorithm>

#include "keys.h"
#include "zcfs/meta/meta_operator.h"
#include "zcfs/proto/methods.h"

namespace zcfs::meta {
namespace {

constexpr uint32_t kPermissionBits = 07777;
constexpr uint32_t kKnownSetattrBits =
    setattr::kMode | setattr::kUid | setattr::kGid | setattr::kSize | setattr::kAtime | setattr::kMtime;

pb::InodeAttr new_inode(uint64_t ino, pb::FileType type, uint32_t mode, const pb::Credentials& cred, int64_t now) {
  pb::InodeAttr attr;
  attr.set_ino(ino);
  attr.set_type(type);
  attr.set_mode(mode & kPermissionBits);
  attr.set_uid(cred.uid());
  attr.set_gid(cred.gid());
  attr.set_atime_ns(now);
  attr.set_mtime_ns(now);
  attr.set_ctime_ns(now);
  attr.set_version(1);
  return attr;
}

void touch_modified(pb::InodeAttr& attr, int64_t now) {
  attr.set_mtime_ns(now);
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
}

}  // namespace

Status MetaOperator::CommitNewInode(pb::InodeAttr& parent, std::string_view name, const pb::InodeAttr& child) {
  WriteBatch batch;
  batch.Put(Column::kInodes, keys::inode_key(child.ino()), child.SerializeAsString());
  batch.Put(Column::kInodes, keys::inode_key(parent.ino()), parent.SerializeAsString());
  batch.Put(Column::kDentries, keys::dentry_key(parent.ino(), name), keys::encode_dentry({child.ino(), child.type()}));
  batch.Put(Column::kSystem, std::string(keys::kNextIno), keys::be64(child.ino() + 1));
  RETURN_IF_ERROR(store_.Write(batch));
  next_ino_ = child.ino() + 1;
  return Status::Ok();
}

Status MetaOperator::CommitInode(const pb::InodeAttr& attr) {
  WriteBatch batch;
  batch.Put(Column::kInodes, keys::inode_key(attr.ino()), attr.SerializeAsString());
  return store_.Write(batch);
}

Result<pb::InodeAttr> MetaOperator::Mkdir(uint64_t parent, std::string_view name, uint32_t mode,
                                          const pb::Credentials& cred) {
  RETURN_IF_ERROR(validate_name(name));
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, LoadDirectory(parent));
  auto existing = LoadEntry(parent, name);
  if (existing.ok()) return Error(Code::kAlreadyExists, "'" + std::string(name) + "' exists");
  if (existing.status().code() != Code::kNotFound) return existing.status();

  int64_t now = Now();
  pb::InodeAttr attr = new_inode(next_ino_, pb::FILE_TYPE_DIRECTORY, mode, cred, now);
  attr.set_size(kDirectorySize);
  attr.set_nlink(2);                               // its entry in the parent and its own "."
  parent_attr.set_nlink(parent_attr.nlink() + 1);  // the new directory's ".."
  touch_modified(parent_attr, now);
  RETURN_IF_ERROR(CommitNewInode(parent_attr, name, attr));
  return attr;
}

Result<pb::InodeAttr> MetaOperator::Create(uint64_t parent, std::string_view name, uint32_t mode,
                                           const pb::Credentials& cred, bool exclusive, uint32_t chunk_size,
                                           uint32_t stripe_width) {
  RETURN_IF_ERROR(validate_name(name));
  if (chunk_size != 0) RETURN_IF_ERROR(validate_chunk_size(chunk_size));
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, LoadDirectory(parent));
  auto existing = LoadEntry(parent, name);
  if (existing.ok()) {
    if (exclusive) return Error(Code::kAlreadyExists, "'" + std::string(name) + "' exists");
    if (existing->type() == pb::FILE_TYPE_DIRECTORY) {
      return Error(Code::kIsDirectory, "'" + std::string(name) + "' is a directory");
    }
    if (existing->type() != pb::FILE_TYPE_REGULAR) {
      return Error(Code::kAlreadyExists, "'" + std::string(name) + "' exists and is not a regular file");
    }
    return LoadInode(existing->ino());
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();

  ASSIGN_OR_RETURN(pb::Layout layout, NewLayout(next_ino_, chunk_size, stripe_width));
  int64_t now = Now();
  pb::InodeAttr attr = new_inode(next_ino_, pb::FILE_TYPE_REGULAR, mode, cred, now);
  attr.set_nlink(1);
  *attr.mutable_layout() = std::move(layout);
  touch_modified(parent_attr, now);
  RETURN_IF_ERROR(CommitNewInode(parent_attr, name, attr));
  return attr;
}

Result<pb::InodeAttr> MetaOperator::ExtendLength(uint64_t ino, uint64_t length) {
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadInode(ino));
  if (attr.type() == pb::FILE_TYPE_DIRECTORY)
    return Error(Code::kIsDirectory, "inode " + std::to_string(ino) + " is a directory");
  if (attr.type() != pb::FILE_TYPE_REGULAR) {
    return Error(Code::kInvalidArgument, "inode " + std::to_string(ino) + " is not a regular file");
  }
  attr.set_size(std::max(attr.size(), length));
  touch_modified(attr, Now());
  RETURN_IF_ERROR(CommitInode(attr));
  return attr;
}

Result<pb::InodeAttr> MetaOperator::SetAttr(const pb::SetAttrRequest& request) {
  const uint32_t valid = request.valid();
  if ((valid & ~kKnownSetattrBits) != 0) return Error(Code::kInvalidArgument, "unknown setattr bits");
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadInode(request.ino()));
  if (valid == 0) return attr;
  int64_t now = Now();
  if (valid & setattr::kSize) {
    if (attr.type() == pb::FILE_TYPE_DIRECTORY) return Error(Code::kIsDirectory, "cannot set the size of a directory");
    if (attr.type() != pb::FILE_TYPE_REGULAR) return Error(Code::kInvalidArgument, "size of a non-regular file");
    // Shrinking only changes the recorded size; chunk data past it is not reclaimed yet.
    attr.set_size(request.size());
    attr.set_mtime_ns(now);
  }
  if (valid & setattr::kMode) attr.set_mode(request.mode() & kPermissionBits);
  if (valid & setattr::kUid) attr.set_uid(request.uid());
  if (valid & setattr::kGid) attr.set_gid(request.gid());
  if (valid & setattr::kAtime) attr.set_atime_ns(request.atime_ns());
  if (valid & setattr::kMtime) attr.set_mtime_ns(request.mtime_ns());
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
  RETURN_IF_ERROR(CommitInode(attr));
  return attr;
}

}  // namespace zcfs::meta
