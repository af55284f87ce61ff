// Namespace handlers: lookup/forget, attributes, directories, links, rename, statfs.
#include "zcfs_fuse.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "fuse_internal.h"
#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/logging.h"

namespace zcfs {
namespace fuse_internal {

timespec to_timespec(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

mode_t type_bits(FileType type) {
  switch (type) {
    case FileType::kDirectory:
      return S_IFDIR;
    case FileType::kSymlink:
      return S_IFLNK;
    default:
      return S_IFREG;
  }
}

struct stat to_stat(const FileInfo& info) {
  struct stat st {};
  st.st_ino = info.ino;
  st.st_mode = type_bits(info.type) | (info.mode & 07777);
  st.st_nlink = info.nlink;
  st.st_uid = info.uid;
  st.st_gid = info.gid;
  st.st_size = static_cast<off_t>(info.size);
  st.st_blksize = kMaxIo;
  st.st_blocks = static_cast<blkcnt_t>((info.size + 511) / 512);
  st.st_atim = to_timespec(info.atime_ns);
  st.st_mtim = to_timespec(info.mtime_ns);
  st.st_ctim = to_timespec(info.ctime_ns);
  return st;
}

Credentials caller(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Credentials cred{ctx->uid, ctx->gid, {}};
  gid_t groups[64];
  int n = fuse_req_getgroups(req, 64, groups);
  for (int i = 0; i < std::min(n, 64); ++i) cred.groups.push_back(groups[i]);
  return cred;
}

void reply_error(fuse_req_t req, const Status& status) {
  LOG_DEBUG << "fuse error: " << status.ToString();
  // A server that did not answer within the mount's io_timeout is a failed I/O to the program that
  // asked: file system calls are not documented to fail with ETIMEDOUT (kTimeout's errno, a socket
  // error), and tools treat EIO as "the device failed", as NFS soft mounts report it too.
  fuse_reply_err(req, status.code() == Code::kTimeout ? EIO : status.to_errno());
}

void reply_status(fuse_req_t req, const Status& status) {
  if (!status.ok()) return reply_error(req, status);
  fuse_reply_err(req, 0);
}

fuse_entry_param counted_entry(fuse_req_t req, FileInfo info) {
  ZcfsFuse& f = fs(req);
  f.inodes().Remember(info.ino)->Observe(info);
  fuse_entry_param e{};
  e.ino = info.ino;
  e.generation = 1;
  e.attr = to_stat(info);
  e.attr_timeout = f.options().attr_timeout;
  e.entry_timeout = f.options().entry_timeout;
  return e;
}

}  // namespace fuse_internal

namespace {
using namespace fuse_internal;

void reply_entry(fuse_req_t req, const Result<FileInfo>& info) {
  if (!info.ok()) return reply_error(req, info.status());
  InodeTable& inodes = fs(req).inodes();  // a reply frees `req`, whether it reached the kernel or not
  fuse_entry_param e = counted_entry(req, *info);
  if (fuse_reply_entry(req, &e) != 0) inodes.Forget(info->ino, 1);  // the kernel never saw it
}

void reply_attr(fuse_req_t req, Result<FileInfo> info) {
  if (!info.ok()) return reply_error(req, info.status());
  if (auto state = fs(req).inodes().Find(info->ino)) state->Observe(*info);
  struct stat st = to_stat(*info);
  fuse_reply_attr(req, &st, fs(req).options().attr_timeout);
}

void op_init(void* userdata, fuse_conn_info* conn) {
  conn->max_write = kMaxIo;  // libfuse sets max_pages from it (256 pages of 4 KiB)
  conn->max_read = kMaxIo;   // the same as the max_read mount option (fuse_mount_options)
  conn->max_readahead = std::max<unsigned>(conn->max_readahead, kMaxIo);
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  // libfuse splices a reply into /dev/fuse only when this is on (-o splice, splice_reply.h).
  if (static_cast<ZcfsFuse*>(userdata)->options().splice && (conn->capable & FUSE_CAP_SPLICE_WRITE)) {
    conn->want |= FUSE_CAP_SPLICE_WRITE;
  }
  // Adaptive readdirplus: the kernel asks for attributes with the first page of a listing and for the
  // rest only when the program looks at the entries (ls -l, a data loader opening every file), so a
  // plain `ls` of a huge directory costs one lookup per name only for its first page.
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_entry(req, fs(req).client().Lookup(parent, name, caller(req)));
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fs(req).inodes().Forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) fs(req).inodes().Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) { reply_attr(req, fs(req).client().GetAttr(ino)); }

AttrChanges attr_changes(const struct stat& attr, int to_set) {
  AttrChanges changes;
  if (to_set & FUSE_SET_ATTR_MODE) changes.mode = attr.st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) changes.uid = attr.st_uid;
  if (to_set & FUSE_SET_ATTR_GID) changes.gid = attr.st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) changes.size = static_cast<uint64_t>(attr.st_size);
  auto ns = [](const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; };
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    changes.atime_now = true;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    changes.atime_ns = ns(attr.st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    changes.mtime_now = true;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    changes.mtime_ns = ns(attr.st_mtim);
  }
  return changes;
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  AttrChanges changes = attr_changes(*attr, to_set);
  auto state = fs(req).inodes().Find(ino);
  if (changes.size && state) {
    // The meta server cuts the data past the new size only up to the size it knows: it must know
    // this mount's writes first, or their bytes would come back when the file grows again.
    Status reported = report_writes(fs(req).client(), ino, *state);
    if (!reported.ok()) return reply_error(req, reported);
  }
  auto info = fs(req).client().SetAttr(ino, changes, caller(req));
  if (info.ok() && changes.size && state) state->Resized(*changes.size);  // writes past it are gone
  reply_attr(req, std::move(info));
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  reply_entry(req, fs(req).client().Mkdir(parent, name, mode & 07777, caller(req)));
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, fs(req).client().Unlink(parent, name, caller(req)));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, fs(req).client().Rmdir(parent, name, caller(req)));
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent, const char* new_name,
               unsigned int flags) {
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) {  // RENAME_WHITEOUT: overlayfs only
    return reply_error(req, Error(Code::kInvalidArgument, "rename flags " + std::to_string(flags)));
  }
  uint32_t zcfs_flags =
      ((flags & RENAME_NOREPLACE) ? kRenameNoReplace : 0) | ((flags & RENAME_EXCHANGE) ? kRenameExchange : 0);
  reply_status(req, fs(req).client().Rename(parent, name, new_parent, new_name, zcfs_flags, caller(req)));
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  reply_entry(req, fs(req).client().Link(ino, new_parent, new_name, caller(req)));
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  reply_entry(req, fs(req).client().Symlink(parent, name, target, caller(req)));
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  auto target = fs(req).client().ReadLink(ino);
  if (!target.ok()) return reply_error(req, target.status());
  fuse_reply_readlink(req, target->c_str());
}

// An open directory: its entries as of opendir, so offsets stay valid while the directory changes.
struct OpenDir {
  std::vector<DirEntry> entries;
};

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto entries = fs(req).client().ReadDir(ino, caller(req));
  if (!entries.ok()) return reply_error(req, entries.status());
  auto dir = std::make_unique<OpenDir>();
  dir->entries.push_back(DirEntry{".", ino, FileType::kDirectory});
  dir->entries.push_back(DirEntry{"..", ino, FileType::kDirectory});  // the kernel fills in the real parent
  for (auto& e : *entries) dir->entries.push_back(std::move(e));
  fi->fh = reinterpret_cast<uint64_t>(dir.get());
  if (fuse_reply_open(req, fi) == 0) dir.release();
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto* dir = reinterpret_cast<OpenDir*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < dir->entries.size(); ++i) {
    const DirEntry& e = dir->entries[i];
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = type_bits(e.type);
    size_t need =
        fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

// What readdirplus says about one name of the snapshot. The kernel counts an entry with a nonzero
// `ino` as one lookup reference, exactly as a lookup reply; ino 0 gives the name (and the type in
// attr) without attributes and is not counted: "." and "..", and names the caller may not look up
// (a directory it may read but not search). nullopt: the name is gone since opendir, leave it out.
Result<std::optional<fuse_entry_param>> listed_entry(fuse_req_t req, fuse_ino_t dir, const DirEntry& e) {
  fuse_entry_param bare{};
  bare.attr.st_ino = e.ino;
  bare.attr.st_mode = type_bits(e.type);
  if (e.name == "." || e.name == "..") return std::optional(bare);
  // A fresh lookup, not GetAttr of the snapshot's inode: the name may point elsewhere since opendir,
  // and the kernel caches what this reply binds it to.
  auto info = fs(req).client().Lookup(dir, e.name, caller(req));
  if (info.ok()) return std::optional(counted_entry(req, *info));
  if (info.status().code() == Code::kNotFound) return std::optional<fuse_entry_param>();
  if (info.status().code() == Code::kPermissionDenied) return std::optional(bare);
  return info.status();
}

// A readdirplus reply looks up at most this many names. glibc reads directories with buffers of up to
// 1 MiB, room for thousands of entries: the first page of a plain `ls` (always readdirplus) would look
// up every one of them. A shorter reply only means another getdents call, which goes on with
// attributes only if the program looked at the names it got (adaptive readdirplus).
constexpr size_t kMaxListedPerReply = 256;

// readdir with attributes: the entries after `off` that fit in `size` bytes, each counted in the inode
// table (listed_entry). Offsets are indexes into the opendir snapshot, so the kernel resumes a large
// directory where the last reply ended. An entry that does not fit is neither sent nor counted.
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  auto* dir = reinterpret_cast<OpenDir*>(fi->fh);
  InodeTable& inodes = fs(req).inodes();  // the reply frees `req`
  std::vector<char> buf(size);
  std::vector<uint64_t> counted;
  size_t used = 0;
  // Counted by entries sent, not by names tried: a reply left empty by names gone since opendir
  // would tell the kernel the directory has ended.
  size_t sent = 0;
  for (size_t i = static_cast<size_t>(off); i < dir->entries.size() && sent < kMaxListedPerReply; ++i) {
    const char* name = dir->entries[i].name.c_str();
    // The size an entry takes depends only on its name: ask before the lookup that counts it.
    if (fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0) > size - used) break;
    auto entry = listed_entry(req, ino, dir->entries[i]);
    if (!entry.ok()) {
      if (used > 0) break;  // send what is ready; the next call meets the error again
      return reply_error(req, entry.status());
    }
    if (!entry->has_value()) continue;
    used += fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &**entry, static_cast<off_t>(i + 1));
    ++sent;
    if ((*entry)->ino != 0) counted.push_back((*entry)->ino);
  }
  if (fuse_reply_buf(req, buf.data(), used) != 0) {
    for (uint64_t listed : counted) inodes.Forget(listed, 1);  // the kernel never saw them
  } else {
    inodes.NoteListed(counted.size());
  }
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<OpenDir*>(fi->fh);
  reply_status(req, Status::Ok());
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  auto stats = fs(req).client().StatFs();
  if (!stats.ok()) return reply_error(req, stats.status());
  struct statvfs st {};
  st.f_bsize = kBlockSize;
  st.f_frsize = kBlockSize;
  st.f_blocks = stats->capacity_bytes / kBlockSize;
  uint64_t free_bytes = stats->capacity_bytes > stats->used_bytes ? stats->capacity_bytes - stats->used_bytes : 0;
  st.f_bfree = free_bytes / kBlockSize;
  st.f_bavail = st.f_bfree;
  // Inodes are not a limited resource (RocksDB keys): report the count in use and plenty free.
  constexpr uint64_t kFreeInodes = uint64_t{1} << 40;
  st.f_files = stats->inodes + kFreeInodes;
  st.f_ffree = kFreeInodes;
  st.f_favail = kFreeInodes;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}

fuse_lowlevel_ops make_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.symlink = op_symlink;
  ops.readlink = op_readlink;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;
  add_file_operations(ops);
  return ops;
}

}  // namespace

ZcfsFuse::ZcfsFuse(std::unique_ptr<Client> client, MountOptions options)
    : client_(std::move(client)),
      options_(options),
      read_ahead_pool_(std::make_shared<ReadAheadPool>(*client_, kMaxIo, options.readahead_pool)) {}

void ZcfsFuse::NoteRead(uint64_t size) {
  uint64_t seen = largest_read_.load(std::memory_order_relaxed);
  while (size > seen && !largest_read_.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
}

const fuse_lowlevel_ops& ZcfsFuse::operations() {
  static const fuse_lowlevel_ops ops = make_operations();
  return ops;
}

}  // namespace zcfs
