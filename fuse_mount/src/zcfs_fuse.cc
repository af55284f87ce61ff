#include "zcfs_fuse.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/logging.h"

namespace zcfs {
namespace {

constexpr size_t kMaxIo = 1 << 20;  // largest read/write the kernel sends (max_write, max_pages 256)

// An open file: its session and attributes from open, and how far this handle has written.
struct FileHandle {
  OpenFile open;
  FileInfo& info = open.info;
  std::atomic<uint64_t> written_end{0};
  std::atomic<uint64_t> reported_end{0};  // the size already sent to the meta server
};

// An open directory: its entries as of opendir, so offsets stay valid while the directory changes.
struct OpenDir {
  std::vector<DirEntry> entries;
};

ZcfsFuse& fs(fuse_req_t req) { return *static_cast<ZcfsFuse*>(fuse_req_userdata(req)); }
FileHandle* file_of(fuse_file_info* fi) { return reinterpret_cast<FileHandle*>(fi->fh); }

timespec to_timespec(int64_t ns) { return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)}; }

mode_t type_bits(FileType type) {
  switch (type) {
    case FileType::kDirectory: return S_IFDIR;
    case FileType::kSymlink: return S_IFLNK;
    default: return S_IFREG;
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

void reply_error(fuse_req_t req, const Status& status) {
  LOG_DEBUG << "fuse error: " << status.ToString();
  fuse_reply_err(req, status.to_errno());
}

void reply_entry(fuse_req_t req, const Result<FileInfo>& info) {
  if (!info.ok()) return reply_error(req, info.status());
  fuse_entry_param e{};
  e.ino = info->ino;
  e.generation = 1;
  e.attr = to_stat(*info);
  e.attr_timeout = fs(req).options().attr_timeout;
  e.entry_timeout = fs(req).options().entry_timeout;
  fuse_reply_entry(req, &e);
}

void reply_attr(fuse_req_t req, const Result<FileInfo>& info) {
  if (!info.ok()) return reply_error(req, info.status());
  struct stat st = to_stat(*info);
  fuse_reply_attr(req, &st, fs(req).options().attr_timeout);
}

// The calling process's credentials, supplementary groups included, for the meta server's checks.
Credentials caller(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  Credentials cred{ctx->uid, ctx->gid, {}};
  gid_t groups[64];
  int n = fuse_req_getgroups(req, 64, groups);
  for (int i = 0; i < std::min(n, 64); ++i) cred.groups.push_back(groups[i]);
  return cred;
}

void reply_status(fuse_req_t req, const Status& status) {
  if (!status.ok()) return reply_error(req, status);
  fuse_reply_err(req, 0);
}

// Sends the end of this handle's writes to the meta server if it moved since the last report.
Status report_length(Client& client, FileHandle& file) {
  uint64_t end = file.written_end.load();
  if (end <= file.reported_end.load()) return Status::Ok();
  auto info = client.ExtendLength(file.info.ino, end);
  if (!info.ok()) return info.status();
  file.reported_end.store(end);
  return Status::Ok();
}

void op_init(void* userdata, fuse_conn_info* conn) {
  conn->max_write = kMaxIo;
  conn->max_readahead = std::max<unsigned>(conn->max_readahead, kMaxIo);
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_entry(req, fs(req).client().Lookup(parent, name, caller(req)));
}

// Inode numbers are zcfs's own; there is nothing to drop.
void op_forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) { reply_attr(req, fs(req).client().GetAttr(ino)); }

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  AttrChanges changes;
  if (to_set & FUSE_SET_ATTR_MODE) changes.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) changes.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) changes.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) changes.size = static_cast<uint64_t>(attr->st_size);
  auto ns = [](const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; };
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    changes.atime_now = true;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    changes.atime_ns = ns(attr->st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    changes.mtime_now = true;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    changes.mtime_ns = ns(attr->st_mtim);
  }
  reply_attr(req, fs(req).client().SetAttr(ino, changes, caller(req)));
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
    fuse_reply_err(req, EINVAL);
    return;
  }
  uint32_t zcfs_flags = ((flags & RENAME_NOREPLACE) ? kRenameNoReplace : 0) |
                        ((flags & RENAME_EXCHANGE) ? kRenameExchange : 0);
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

// Opens a session for the handle (it keeps the data of an unlinked file); O_TRUNC truncates.
Result<std::unique_ptr<FileHandle>> open_handle(fuse_req_t req, fuse_ino_t ino, int flags, const Credentials& cred) {
  ASSIGN_OR_RETURN(OpenFile open, fs(req).client().Open(ino, flags, cred));
  auto file = std::make_unique<FileHandle>();
  file->open = std::move(open);
  return file;
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto file = open_handle(req, ino, fi->flags, caller(req));
  if (!file.ok()) return reply_error(req, file.status());
  if ((*file)->info.is_dir()) return reply_error(req, Error(Code::kIsDirectory, "open of a directory"));
  fi->fh = reinterpret_cast<uint64_t>(file->get());
  if (fuse_reply_open(req, fi) == 0) {
    file->release();  // else the kernel never saw the handle
  } else {
    (void)fs(req).client().Close((*file)->open);
  }
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  CreateOptions options;
  options.mode = mode & 07777;
  options.exclusive = (fi->flags & O_EXCL) != 0;
  options.cred = caller(req);
  auto info = fs(req).client().Create(parent, name, options);
  if (!info.ok()) return reply_error(req, info.status());
  // open(2) with O_CREAT lets the creator write what it created whatever the new mode says, so the
  // session of a plain create is opened with root's rights; O_TRUNC of a file that already existed
  // is checked with the caller's.
  auto file = (fi->flags & O_TRUNC) ? open_handle(req, info->ino, O_WRONLY | O_TRUNC, caller(req))
                                    : open_handle(req, info->ino, O_RDONLY, Credentials{});
  if (!file.ok()) return reply_error(req, file.status());
  fi->fh = reinterpret_cast<uint64_t>(file->get());
  fuse_entry_param e{};
  e.ino = info->ino;
  e.generation = 1;
  e.attr = to_stat((*file)->info);
  e.attr_timeout = fs(req).options().attr_timeout;
  e.entry_timeout = fs(req).options().entry_timeout;
  if (fuse_reply_create(req, &e, fi) == 0) {
    file->release();
  } else {
    (void)fs(req).client().Close((*file)->open);
  }
}

// Each worker thread reads into its own block-aligned buffer, reused across requests.
std::span<std::byte> thread_read_buffer(size_t size) {
  thread_local AlignedBuffer buffer;
  if (buffer.size() < size) buffer = AlignedBuffer(std::max(size, kMaxIo), AlignedBuffer::Init::kUninitialized);
  return {buffer.data(), size};
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  FileHandle* file = file_of(fi);
  FileInfo view = file->info;
  view.size = std::max(view.size, file->written_end.load());  // see this handle's own writes
  auto dst = thread_read_buffer(size);
  auto n = fs(req).client().Read(view, static_cast<uint64_t>(off), dst);
  if (!n.ok()) return reply_error(req, n.status());
  fuse_reply_buf(req, reinterpret_cast<const char*>(dst.data()), *n);
}

void op_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  FileHandle* file = file_of(fi);
  Status s = fs(req).client().Write(file->info, static_cast<uint64_t>(off),
                                    std::span(reinterpret_cast<const std::byte*>(buf), size));
  if (!s.ok()) return reply_error(req, s);
  uint64_t end = static_cast<uint64_t>(off) + size;
  uint64_t seen = file->written_end.load();
  while (end > seen && !file->written_end.compare_exchange_weak(seen, end)) {
  }
  fuse_reply_write(req, size);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Status s = report_length(fs(req).client(), *file_of(fi));
  fuse_reply_err(req, s.ok() ? 0 : s.to_errno());
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  // Storage servers make each write durable before replying; what is left is the size.
  Status s = report_length(fs(req).client(), *file_of(fi));
  fuse_reply_err(req, s.ok() ? 0 : s.to_errno());
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> file(file_of(fi));
  uint64_t end = file->written_end.load();
  auto closed = fs(req).client().Close(file->open, end > file->reported_end.load() ? end : 0);
  if (!closed.ok()) LOG_WARN << "release of inode " << file->info.ino << ": " << closed.status().ToString();
  fuse_reply_err(req, closed.ok() ? 0 : closed.status().to_errno());
}

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
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<OpenDir*>(fi->fh);
  fuse_reply_err(req, 0);
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
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.symlink = op_symlink;
  ops.readlink = op_readlink;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.release = op_release;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;
  return ops;
}

}  // namespace

ZcfsFuse::ZcfsFuse(std::unique_ptr<Client> client, MountOptions options)
    : client_(std::move(client)), options_(options) {}

const fuse_lowlevel_ops& ZcfsFuse::operations() {
  static const fuse_lowlevel_ops ops = make_operations();
  return ops;
}

}  // namespace zcfs
