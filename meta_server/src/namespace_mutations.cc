// MetaOperator: the namespace mutations that add or remove one entry, and attribute changes. Each
// one runs under mutation_mutex_ (so its reads and the batch it writes form one step) and commits a
// single atomic batch. Rename is in rename.cc, sessions and orphans in file_lifecycle.cc.
#include <algorithm>

#include "keys.h"
#include "permissions.h"
#include "zcfs/meta/meta_operator.h"
#include "zcfs/proto/methods.h"

namespace zcfs::meta {
namespace {

constexpr uint32_t kPermissionBits = 07777;
constexpr uint32_t kKnownSetattrBits = setattr::kMode | setattr::kUid | setattr::kGid | setattr::kSize |
                                       setattr::kAtime | setattr::kMtime | setattr::kAtimeNow | setattr::kMtimeNow;

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

constexpr uint32_t kSetUid = 04000;
constexpr uint32_t kSetGid = 02000;
constexpr uint32_t kGroupExec = 00010;

// A setgid directory gives new entries its group, and new subdirectories its setgid bit (BSD semantics).
void inherit_group(pb::InodeAttr& child, const pb::InodeAttr& parent) {
  if ((parent.mode() & kSetGid) == 0) return;
  child.set_gid(parent.gid());
  if (child.type() == pb::FILE_TYPE_DIRECTORY) child.set_mode(child.mode() | kSetGid);
}

// What chmod and chown do to the set-id bits, as Linux: a chmod by a caller outside the file's group
// drops setgid; a chown drops setuid, and setgid where it means "set group id on execution".
void clear_set_id_bits(pb::InodeAttr& attr, const pb::SetAttrRequest& request) {
  const pb::Credentials& cred = request.cred();
  if (cred.uid() == 0) return;
  if ((request.valid() & setattr::kMode) && !in_group(cred, attr.gid())) attr.set_mode(attr.mode() & ~kSetGid);
  if ((request.valid() & (setattr::kUid | setattr::kGid)) && attr.type() != pb::FILE_TYPE_DIRECTORY) {
    uint32_t cleared = kSetUid | ((attr.mode() & kGroupExec) ? kSetGid : 0);
    attr.set_mode(attr.mode() & ~cleared);
  }
}

void touch_modified(pb::InodeAttr& attr, int64_t now) {
  attr.set_mtime_ns(now);
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
}

std::string quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

}  // namespace

// Group commit: each mutation commits its batch under mutation_mutex_ without waiting for the disk
// (the next mutation already sees it), then waits for the WAL sync after releasing the mutex, so
// concurrent mutations share one sync. A mutation is acknowledged only once it is durable; anything
// it depends on was written before it and is durable too.
template <typename T>
T MetaOperator::Durable(T result) {
  if (!result.ok()) return result;
  Status synced = store_.Sync();
  if (!synced.ok()) return synced;
  return result;
}

Result<pb::InodeAttr> MetaOperator::Mkdir(uint64_t parent, std::string_view name, uint32_t mode,
                                          const pb::Credentials& cred) {
  return Durable(MkdirUnsynced(parent, name, mode, cred));
}
Result<pb::InodeAttr> MetaOperator::Create(uint64_t parent, std::string_view name, uint32_t mode,
                                           const pb::Credentials& cred, bool exclusive, uint32_t chunk_size,
                                           uint32_t stripe_width) {
  return Durable(CreateUnsynced(parent, name, mode, cred, exclusive, chunk_size, stripe_width));
}
Result<pb::InodeAttr> MetaOperator::Symlink(uint64_t parent, std::string_view name, std::string_view target,
                                            const pb::Credentials& cred) {
  return Durable(SymlinkUnsynced(parent, name, target, cred));
}
Result<pb::InodeAttr> MetaOperator::Link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                                         const pb::Credentials& cred) {
  return Durable(LinkUnsynced(ino, new_parent, new_name, cred));
}
Status MetaOperator::Unlink(uint64_t parent, std::string_view name, const pb::Credentials& cred) {
  return Durable(UnlinkUnsynced(parent, name, cred));
}
Status MetaOperator::Rmdir(uint64_t parent, std::string_view name, const pb::Credentials& cred) {
  return Durable(RmdirUnsynced(parent, name, cred));
}
Status MetaOperator::Rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
                            uint32_t flags, const pb::Credentials& cred) {
  return Durable(RenameUnsynced(parent, name, new_parent, new_name, flags, cred));
}
Result<pb::InodeAttr> MetaOperator::ExtendLength(uint64_t ino, uint64_t length) {
  return Durable(ExtendLengthUnsynced(ino, length));
}
Result<pb::InodeAttr> MetaOperator::SetAttr(const pb::SetAttrRequest& request) {
  return Durable(SetAttrUnsynced(request));
}

Status MetaOperator::CommitCounted(WriteBatch& batch, int64_t inode_delta) {
  if (inode_delta != 0) {
    batch.Put(Column::kSystem, std::string(keys::kInodeCount), keys::be64(inode_count_ + inode_delta));
  }
  RETURN_IF_ERROR(store_.Write(batch, Durability::kDeferred));
  inode_count_ += inode_delta;
  return Status::Ok();
}

Status MetaOperator::CommitNewInode(pb::InodeAttr& parent, std::string_view name, const pb::InodeAttr& child) {
  parent.set_size(parent.size() + 1);
  WriteBatch batch;
  batch.Put(Column::kInodes, keys::inode_key(child.ino()), child.SerializeAsString());
  batch.Put(Column::kInodes, keys::inode_key(parent.ino()), parent.SerializeAsString());
  batch.Put(Column::kDentries, keys::dentry_key(parent.ino(), name), keys::encode_dentry({child.ino(), child.type()}));
  batch.Put(Column::kSystem, std::string(keys::kNextIno), keys::be64(child.ino() + 1));
  RETURN_IF_ERROR(CommitCounted(batch, 1));
  next_ino_ = child.ino() + 1;
  return Status::Ok();
}

Status MetaOperator::CommitInode(const pb::InodeAttr& attr) {
  WriteBatch batch;
  batch.Put(Column::kInodes, keys::inode_key(attr.ino()), attr.SerializeAsString());
  return store_.Write(batch, Durability::kDeferred);
}

Result<pb::InodeAttr> MetaOperator::PrepareNewEntry(uint64_t parent, std::string_view name,
                                                    const pb::Credentials& cred) const {
  RETURN_IF_ERROR(validate_name(name));
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, LoadDirectory(parent));
  // As Linux: without search permission nothing is known; an existing name is EEXIST before write
  // permission is looked at.
  RETURN_IF_ERROR(check_access(parent_attr, cred, kMayExec));
  auto existing = LoadEntry(parent, name);
  if (existing.ok()) return Error(Code::kAlreadyExists, quoted(name) + " exists");
  if (existing.status().code() != Code::kNotFound) return existing.status();
  RETURN_IF_ERROR(check_access(parent_attr, cred, kMayWrite));
  return parent_attr;
}

Result<pb::InodeAttr> MetaOperator::MkdirUnsynced(uint64_t parent, std::string_view name, uint32_t mode,
                                                  const pb::Credentials& cred) {
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, PrepareNewEntry(parent, name, cred));
  int64_t now = Now();
  pb::InodeAttr attr = new_inode(next_ino_, pb::FILE_TYPE_DIRECTORY, mode, cred, now);
  attr.set_nlink(2);  // its entry in the parent and its own "."
  attr.set_parent(parent);
  inherit_group(attr, parent_attr);
  parent_attr.set_nlink(parent_attr.nlink() + 1);  // the new directory's ".."
  touch_modified(parent_attr, now);
  RETURN_IF_ERROR(CommitNewInode(parent_attr, name, attr));
  return attr;
}

Result<pb::InodeAttr> MetaOperator::CreateUnsynced(uint64_t parent, std::string_view name, uint32_t mode,
                                                   const pb::Credentials& cred, bool exclusive, uint32_t chunk_size,
                                                   uint32_t stripe_width) {
  RETURN_IF_ERROR(validate_name(name));
  if (chunk_size != 0) RETURN_IF_ERROR(validate_chunk_size(chunk_size));
  std::lock_guard lock(mutation_mutex_);
  auto prepared = PrepareNewEntry(parent, name, cred);
  if (!prepared.ok() && prepared.status().code() == Code::kAlreadyExists && !exclusive) {
    ASSIGN_OR_RETURN(pb::DirEntry existing, LoadEntry(parent, name));
    if (existing.type() == pb::FILE_TYPE_DIRECTORY) return Error(Code::kIsDirectory, quoted(name) + " is a directory");
    if (existing.type() != pb::FILE_TYPE_REGULAR) {
      return Error(Code::kAlreadyExists, quoted(name) + " exists and is not a regular file");
    }
    return LoadInode(existing.ino());
  }
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, std::move(prepared));

  ASSIGN_OR_RETURN(pb::Layout layout, NewLayout(next_ino_, chunk_size, stripe_width));
  int64_t now = Now();
  pb::InodeAttr attr = new_inode(next_ino_, pb::FILE_TYPE_REGULAR, mode, cred, now);
  attr.set_nlink(1);
  *attr.mutable_layout() = std::move(layout);
  inherit_group(attr, parent_attr);
  touch_modified(parent_attr, now);
  RETURN_IF_ERROR(CommitNewInode(parent_attr, name, attr));
  return attr;
}

Result<pb::InodeAttr> MetaOperator::SymlinkUnsynced(uint64_t parent, std::string_view name, std::string_view target,
                                                    const pb::Credentials& cred) {
  if (target.empty()) return Error(Code::kNotFound, "empty symbolic link target");
  if (target.size() > kMaxSymlinkLength) return Error(Code::kNameTooLong, "symbolic link target too long");
  if (target.find('\0') != std::string_view::npos) return Error(Code::kInvalidArgument, "NUL in link target");
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, PrepareNewEntry(parent, name, cred));
  int64_t now = Now();
  pb::InodeAttr attr = new_inode(next_ino_, pb::FILE_TYPE_SYMLINK, 0777, cred, now);
  attr.set_nlink(1);
  attr.set_size(target.size());
  attr.set_symlink_target(std::string(target));
  inherit_group(attr, parent_attr);
  touch_modified(parent_attr, now);
  RETURN_IF_ERROR(CommitNewInode(parent_attr, name, attr));
  return attr;
}

Result<pb::InodeAttr> MetaOperator::LinkUnsynced(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                                                 const pb::Credentials& cred) {
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadInode(ino));
  if (attr.type() == pb::FILE_TYPE_DIRECTORY) return Error(Code::kNotPermitted, "hard link to a directory");
  if (attr.nlink() == 0) return Error(Code::kNotFound, "inode " + std::to_string(ino) + " has been removed");
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, PrepareNewEntry(new_parent, new_name, cred));
  int64_t now = Now();
  attr.set_nlink(attr.nlink() + 1);
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
  touch_modified(parent_attr, now);
  parent_attr.set_size(parent_attr.size() + 1);
  WriteBatch batch;
  batch.Put(Column::kInodes, keys::inode_key(ino), attr.SerializeAsString());
  batch.Put(Column::kInodes, keys::inode_key(new_parent), parent_attr.SerializeAsString());
  batch.Put(Column::kDentries, keys::dentry_key(new_parent, new_name), keys::encode_dentry({ino, attr.type()}));
  RETURN_IF_ERROR(store_.Write(batch, Durability::kDeferred));
  return attr;
}

int64_t MetaOperator::DropLink(WriteBatch& batch, pb::InodeAttr& victim, int64_t now) {
  const std::string key = keys::inode_key(victim.ino());
  if (victim.type() == pb::FILE_TYPE_DIRECTORY) {  // an empty directory: nothing else refers to it
    batch.Delete(Column::kInodes, key);
    return -1;
  }
  victim.set_nlink(victim.nlink() > 0 ? victim.nlink() - 1 : 0);
  victim.set_ctime_ns(now);
  victim.set_version(victim.version() + 1);
  if (victim.nlink() > 0) {
    batch.Put(Column::kInodes, key, victim.SerializeAsString());
    return 0;
  }
  if (victim.type() == pb::FILE_TYPE_REGULAR) {  // its chunks must go first: it becomes an orphan
    batch.Put(Column::kInodes, key, victim.SerializeAsString());
    batch.Put(Column::kSystem, keys::orphan_key(victim.ino()), "");
    return 0;
  }
  batch.Delete(Column::kInodes, key);
  return -1;
}

Status MetaOperator::RemoveEntry(uint64_t parent, std::string_view name, const pb::Credentials& cred, bool directory) {
  RETURN_IF_ERROR(validate_name(name));
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr parent_attr, LoadDirectory(parent));
  RETURN_IF_ERROR(check_access(parent_attr, cred, kMayExec));
  ASSIGN_OR_RETURN(pb::DirEntry entry, LoadEntry(parent, name));
  ASSIGN_OR_RETURN(pb::InodeAttr victim, LoadInode(entry.ino()));
  RETURN_IF_ERROR(check_remove_entry(parent_attr, victim, cred));
  const bool is_dir = victim.type() == pb::FILE_TYPE_DIRECTORY;
  if (directory && !is_dir) return Error(Code::kNotDirectory, quoted(name) + " is not a directory");
  if (!directory && is_dir) return Error(Code::kIsDirectory, quoted(name) + " is a directory");
  if (is_dir && victim.size() != 0) return Error(Code::kNotEmpty, quoted(name) + " is not empty");

  int64_t now = Now();
  WriteBatch batch;
  int64_t inode_delta = DropLink(batch, victim, now);
  if (is_dir) parent_attr.set_nlink(parent_attr.nlink() - 1);
  parent_attr.set_size(parent_attr.size() - 1);
  touch_modified(parent_attr, now);
  batch.Put(Column::kInodes, keys::inode_key(parent), parent_attr.SerializeAsString());
  batch.Delete(Column::kDentries, keys::dentry_key(parent, name));
  return CommitCounted(batch, inode_delta);
}

Result<pb::InodeAttr> MetaOperator::ExtendLengthUnsynced(uint64_t ino, uint64_t length) {
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

Result<pb::InodeAttr> MetaOperator::SetAttrUnsynced(const pb::SetAttrRequest& request) {
  const uint32_t valid = request.valid();
  if ((valid & ~kKnownSetattrBits) != 0) return Error(Code::kInvalidArgument, "unknown setattr bits");
  if (valid & setattr::kSize) {
    // Cut the data first: a crash after the cut but before the commit leaves a file whose tail reads
    // as zeros, never one whose smaller size hides bytes that a later extension would bring back.
    ASSIGN_OR_RETURN(pb::InodeAttr before, LoadInode(request.ino()));
    if (before.type() == pb::FILE_TYPE_DIRECTORY)
      return Error(Code::kIsDirectory, "cannot set the size of a directory");
    if (before.type() != pb::FILE_TYPE_REGULAR) return Error(Code::kInvalidArgument, "size of a non-regular file");
    RETURN_IF_ERROR(check_setattr(before, request));
    if (request.size() < before.size() && options_.trimmer) {
      RETURN_IF_ERROR(options_.trimmer->Trim(before.ino(), before.layout(), request.size()));
    }
  }
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadInode(request.ino()));
  if (valid == 0) return attr;
  RETURN_IF_ERROR(check_setattr(attr, request));
  int64_t now = Now();
  if (valid & setattr::kSize) {
    attr.set_size(request.size());
    attr.set_mtime_ns(now);
  }
  if (valid & setattr::kMode) attr.set_mode(request.mode() & kPermissionBits);
  if (valid & setattr::kUid) attr.set_uid(request.uid());
  if (valid & setattr::kGid) attr.set_gid(request.gid());
  clear_set_id_bits(attr, request);
  if (valid & setattr::kAtime) attr.set_atime_ns(request.atime_ns());
  if (valid & setattr::kMtime) attr.set_mtime_ns(request.mtime_ns());
  if (valid & setattr::kAtimeNow) attr.set_atime_ns(now);
  if (valid & setattr::kMtimeNow) attr.set_mtime_ns(now);
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
  RETURN_IF_ERROR(CommitInode(attr));
  return attr;
}

}  // namespace zcfs::meta
