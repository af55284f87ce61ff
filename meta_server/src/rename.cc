// MetaOperator::Rename: rename(2) and renameat2(2) in one atomic batch.
#include "keys.h"
#include "permissions.h"
#include "zcfs/meta/meta_operator.h"
#include "zcfs/proto/methods.h"

namespace zcfs::meta {
namespace {

constexpr uint32_t kKnownRenameFlags = rename::kNoReplace | rename::kExchange;

std::string quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

void touch_modified(pb::InodeAttr& attr, int64_t now) {
  attr.set_mtime_ns(now);
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
}

void touch_changed(pb::InodeAttr& attr, int64_t now) {
  attr.set_ctime_ns(now);
  attr.set_version(attr.version() + 1);
}

bool is_dir(const pb::InodeAttr& attr) { return attr.type() == pb::FILE_TYPE_DIRECTORY; }

// Both parent directories of a rename, loaded once even when they are the same inode.
class Parents {
 public:
  Parents(pb::InodeAttr from, std::optional<pb::InodeAttr> to) : from_(std::move(from)), to_(std::move(to)) {}
  pb::InodeAttr& from() { return from_; }
  pb::InodeAttr& to() { return to_ ? *to_ : from_; }
  bool same() const { return !to_.has_value(); }
  void Put(WriteBatch& batch) const {
    batch.Put(Column::kInodes, keys::inode_key(from_.ino()), from_.SerializeAsString());
    if (to_) batch.Put(Column::kInodes, keys::inode_key(to_->ino()), to_->SerializeAsString());
  }

 private:
  pb::InodeAttr from_;
  std::optional<pb::InodeAttr> to_;
};

// The new name's current occupant may be replaced by the source: POSIX type rules.
Status check_replace(const pb::InodeAttr& source, const pb::InodeAttr& target, std::string_view new_name) {
  if (is_dir(source) && !is_dir(target)) return Error(Code::kNotDirectory, quoted(new_name) + " is not a directory");
  if (!is_dir(source) && is_dir(target)) return Error(Code::kIsDirectory, quoted(new_name) + " is a directory");
  if (is_dir(target) && target.size() != 0) return Error(Code::kNotEmpty, quoted(new_name) + " is not empty");
  return Status::Ok();
}

// A directory moving from one parent to another changes its ".." link.
void move_dotdot(pb::InodeAttr& dir, pb::InodeAttr& old_parent, pb::InodeAttr& new_parent) {
  old_parent.set_nlink(old_parent.nlink() - 1);
  new_parent.set_nlink(new_parent.nlink() + 1);
  dir.set_parent(new_parent.ino());
}

}  // namespace

Result<bool> MetaOperator::IsWithin(uint64_t dir, uint64_t ancestor) const {
  // Walk up the ".." chain; it ends at the root, whose parent is itself. A bounded walk guards a
  // corrupted chain.
  for (int depth = 0; depth < 4096; ++depth) {
    if (dir == ancestor) return true;
    if (dir == kRootIno) return false;
    ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadDirectory(dir));
    dir = attr.parent();
    if (dir == 0) return Error(Code::kCorruption, "directory " + std::to_string(attr.ino()) + " has no parent");
  }
  return Error(Code::kCorruption, "directory chain deeper than 4096 levels");
}

Status MetaOperator::RenameUnsynced(uint64_t parent, std::string_view name, uint64_t new_parent,
                                    std::string_view new_name, uint32_t flags, const pb::Credentials& cred) {
  if ((flags & ~kKnownRenameFlags) != 0) return Error(Code::kInvalidArgument, "unknown rename flags");
  if ((flags & rename::kNoReplace) && (flags & rename::kExchange)) {
    return Error(Code::kInvalidArgument, "RENAME_NOREPLACE and RENAME_EXCHANGE together");
  }
  RETURN_IF_ERROR(validate_name(name));
  RETURN_IF_ERROR(validate_name(new_name));
  std::lock_guard lock(mutation_mutex_);
  ASSIGN_OR_RETURN(pb::InodeAttr from_dir, LoadDirectory(parent));
  std::optional<pb::InodeAttr> to_dir;
  if (new_parent != parent) {
    ASSIGN_OR_RETURN(to_dir, LoadDirectory(new_parent));
  }
  Parents parents(std::move(from_dir), std::move(to_dir));
  RETURN_IF_ERROR(check_access(parents.from(), cred, kMayExec));
  RETURN_IF_ERROR(check_access(parents.to(), cred, kMayWrite | kMayExec));

  ASSIGN_OR_RETURN(pb::DirEntry source_entry, LoadEntry(parent, name));
  ASSIGN_OR_RETURN(pb::InodeAttr source, LoadInode(source_entry.ino()));
  RETURN_IF_ERROR(check_remove_entry(parents.from(), source, cred));
  auto target_entry = LoadEntry(new_parent, new_name);
  if (!target_entry.ok() && target_entry.status().code() != Code::kNotFound) return target_entry.status();
  std::optional<pb::InodeAttr> target;
  if (target_entry.ok()) {
    ASSIGN_OR_RETURN(target, LoadInode(target_entry->ino()));
    if (flags & rename::kNoReplace) return Error(Code::kAlreadyExists, quoted(new_name) + " exists");
    RETURN_IF_ERROR(check_remove_entry(parents.to(), *target, cred));
    if (target->ino() == source.ino()) return Status::Ok();  // two links of one inode: POSIX does nothing
  } else if (flags & rename::kExchange) {
    return Error(Code::kNotFound, quoted(new_name) + " does not exist");
  }
  const bool exchange = (flags & rename::kExchange) != 0;
  if (!parents.same()) {
    // A directory must not move into its own subtree; with an exchange, neither may the target.
    if (is_dir(source)) {
      ASSIGN_OR_RETURN(bool inside, IsWithin(new_parent, source.ino()));
      if (inside) return Error(Code::kInvalidArgument, "cannot move a directory into itself");
      RETURN_IF_ERROR(check_access(source, cred, kMayWrite));  // its ".." changes
    }
    if (exchange && is_dir(*target)) {
      ASSIGN_OR_RETURN(bool inside, IsWithin(parent, target->ino()));
      if (inside) return Error(Code::kInvalidArgument, "cannot move a directory into itself");
      RETURN_IF_ERROR(check_access(*target, cred, kMayWrite));
    }
  }
  if (target && !exchange) RETURN_IF_ERROR(check_replace(source, *target, new_name));

  int64_t now = Now();
  WriteBatch batch;
  int64_t inode_delta = 0;
  const std::string old_key = keys::dentry_key(parent, name);
  const std::string new_key = keys::dentry_key(new_parent, new_name);
  if (exchange) {
    batch.Put(Column::kDentries, old_key, keys::encode_dentry({target->ino(), target->type()}));
    if (!parents.same() && is_dir(*target)) move_dotdot(*target, parents.to(), parents.from());
    touch_changed(*target, now);
    batch.Put(Column::kInodes, keys::inode_key(target->ino()), target->SerializeAsString());
  } else {
    batch.Delete(Column::kDentries, old_key);
    parents.from().set_size(parents.from().size() - 1);
    if (target) {
      if (is_dir(*target)) parents.to().set_nlink(parents.to().nlink() - 1);
      inode_delta = DropLink(batch, *target, now);
    } else {
      parents.to().set_size(parents.to().size() + 1);
    }
  }
  if (!parents.same() && is_dir(source)) move_dotdot(source, parents.from(), parents.to());
  touch_changed(source, now);
  batch.Put(Column::kInodes, keys::inode_key(source.ino()), source.SerializeAsString());
  batch.Put(Column::kDentries, new_key, keys::encode_dentry({source.ino(), source.type()}));
  touch_modified(parents.from(), now);
  if (!parents.same()) touch_modified(parents.to(), now);
  parents.Put(batch);
  return CommitCounted(batch, inode_delta);
}

}  // namespace zcfs::meta
