// POSIX permission checks of the meta server, with the credentials a client asserts for its caller
// (the meta server trusts them, as NFS trusts AUTH_SYS credentials). uid 0 bypasses every check
// except where noted. Thread-safe (pure functions).
#pragma once

#include <cstdint>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"

namespace zcfs::meta {

inline constexpr uint32_t kMayRead = 4;
inline constexpr uint32_t kMayWrite = 2;
inline constexpr uint32_t kMayExec = 1;  // search, for a directory

bool is_root(const pb::Credentials& cred);
bool in_group(const pb::Credentials& cred, uint32_t gid);

// kPermissionDenied unless `cred` has every right in `mask` (kMay* bits) on `attr`, judged by the
// owner, group or other bits, whichever class the caller falls in first.
Status check_access(const pb::InodeAttr& attr, const pb::Credentials& cred, uint32_t mask);

// Removing or renaming the entry of `victim` out of directory `dir`: needs write and search on `dir`,
// and with the sticky bit on `dir`, ownership of `dir` or `victim` (else kNotPermitted, EPERM).
Status check_remove_entry(const pb::InodeAttr& dir, const pb::InodeAttr& victim, const pb::Credentials& cred);

// chmod, chown, utimes, truncate rules of setattr: see the definition.
Status check_setattr(const pb::InodeAttr& attr, const pb::SetAttrRequest& request);

}  // namespace zcfs::meta
