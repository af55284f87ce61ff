#include "permissions.h"

#include <algorithm>
#include <string>

#include "zcfs/proto/methods.h"

namespace zcfs::meta {
namespace {

constexpr uint32_t kStickyBit = 01000;

bool is_owner(const pb::InodeAttr& attr, const pb::Credentials& cred) { return cred.uid() == attr.uid(); }

Status not_permitted(const char* what, const pb::InodeAttr& attr) {
  return Error(Code::kNotPermitted, std::string(what) + " of inode " + std::to_string(attr.ino()) +
                                        " needs its owner or root");
}

}  // namespace

bool is_root(const pb::Credentials& cred) { return cred.uid() == 0; }

bool in_group(const pb::Credentials& cred, uint32_t gid) {
  return cred.gid() == gid || std::find(cred.groups().begin(), cred.groups().end(), gid) != cred.groups().end();
}

Status check_access(const pb::InodeAttr& attr, const pb::Credentials& cred, uint32_t mask) {
  if (is_root(cred)) return Status::Ok();
  uint32_t granted;
  if (is_owner(attr, cred)) {
    granted = (attr.mode() >> 6) & 7;
  } else if (in_group(cred, attr.gid())) {
    granted = (attr.mode() >> 3) & 7;
  } else {
    granted = attr.mode() & 7;
  }
  if ((granted & mask) == mask) return Status::Ok();
  return Error(Code::kPermissionDenied, "permission denied on inode " + std::to_string(attr.ino()));
}

Status check_remove_entry(const pb::InodeAttr& dir, const pb::InodeAttr& victim, const pb::Credentials& cred) {
  RETURN_IF_ERROR(check_access(dir, cred, kMayWrite | kMayExec));
  if ((dir.mode() & kStickyBit) == 0 || is_root(cred) || is_owner(dir, cred) || is_owner(victim, cred)) {
    return Status::Ok();
  }
  return Error(Code::kNotPermitted, "sticky directory " + std::to_string(dir.ino()) +
                                        ": only the owner of the entry or the directory may remove it");
}

// - mode: the owner or root.
// - uid: root only (setting it to its current value is allowed to the owner).
// - gid: root, or the owner setting a group it belongs to.
// - explicit times: the owner or root; "now": also anyone with write permission (utimensat(2)).
// - size: write permission.
Status check_setattr(const pb::InodeAttr& attr, const pb::SetAttrRequest& request) {
  const pb::Credentials& cred = request.cred();
  const uint32_t valid = request.valid();
  if (is_root(cred)) return Status::Ok();
  const bool owner = is_owner(attr, cred);
  if ((valid & setattr::kMode) && !owner) return not_permitted("chmod", attr);
  if ((valid & setattr::kUid) && !(owner && request.uid() == attr.uid())) return not_permitted("chown", attr);
  if ((valid & setattr::kGid) && !(owner && in_group(cred, request.gid()))) return not_permitted("chgrp", attr);
  if ((valid & (setattr::kAtime | setattr::kMtime)) && !owner) return not_permitted("setting the times", attr);
  if ((valid & (setattr::kAtimeNow | setattr::kMtimeNow)) && !owner) {
    RETURN_IF_ERROR(check_access(attr, cred, kMayWrite));
  }
  if (valid & setattr::kSize) RETURN_IF_ERROR(check_access(attr, cred, kMayWrite));
  return Status::Ok();
}

}  // namespace zcfs::meta
