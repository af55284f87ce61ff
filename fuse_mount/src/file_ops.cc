// File data handlers: open, create, read, write, copy_file_range, flush, fsync, release.
//
// A handle is an open session on the meta server (it keeps the data of an unlinked file) plus the
// layout from open, so reads and writes go straight to the storage servers. The end of what was
// written is kept in the inode's state (shared by every handle of the inode on this mount) and sent
// to the meta server at flush, fsync and release.
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "fuse_internal.h"
#include "splice_reply.h"
#include "zcfs/common/logging.h"

namespace zcfs::fuse_internal {
namespace {

struct FileHandle {
  OpenFile open;
  std::shared_ptr<InodeState> state;
  std::unique_ptr<ReadAhead> ahead;  // handles open for reading, when the mount reads ahead
};

FileHandle* file_of(fuse_file_info* fi) { return reinterpret_cast<FileHandle*>(fi->fh); }

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Opens a session for a handle (O_TRUNC truncates on the meta server) and registers it with the inode.
Result<std::unique_ptr<FileHandle>> open_handle(fuse_req_t req, fuse_ino_t ino, int flags, const Credentials& cred) {
  ASSIGN_OR_RETURN(OpenFile open, fs(req).client().Open(ino, flags, cred));
  if (open.info.is_dir()) {
    (void)fs(req).client().Close(open);
    return Error(Code::kIsDirectory, "inode " + std::to_string(ino) + " is a directory");
  }
  auto file = std::make_unique<FileHandle>();
  file->state = fs(req).inodes().Open(ino);
  if (flags & O_TRUNC) file->state->Resized(open.info.size);
  file->state->Observe(open.info);
  file->open = std::move(open);
  const MountOptions& options = fs(req).options();
  if (options.readahead > 0 && (flags & O_ACCMODE) != O_WRONLY) {
    file->ahead = std::make_unique<ReadAhead>(fs(req).client(), fs(req).read_ahead_pool(), options.readahead);
  }
  return file;
}

// Undoes open_handle when the kernel never got the handle (the request was interrupted). Takes the
// file system, not the request: a failed reply has already freed the request.
void abandon_handle(ZcfsFuse& f, std::unique_ptr<FileHandle> file) {
  (void)f.client().Close(file->open);
  f.inodes().Close(file->open.info.ino);
}

// The page cache policy of the mount's options, for open and create replies.
void set_cache_flags(fuse_req_t req, fuse_file_info* fi) {
  fi->keep_cache = fs(req).options().keep_cache ? 1 : 0;
  fi->direct_io = fs(req).options().direct_io ? 1 : 0;
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // The kernel already refuses writable opens on a read-only mount; this keeps the rule if it did not.
  if (fs(req).options().read_only && (fi->flags & O_ACCMODE) != O_RDONLY) {
    return reply_error(req, Error(Code::kReadOnly, "inode " + std::to_string(ino) + ": the mount is read-only"));
  }
  auto file = open_handle(req, ino, fi->flags, caller(req));
  if (!file.ok()) return reply_error(req, file.status());
  fi->fh = reinterpret_cast<uint64_t>(file->get());
  set_cache_flags(req, fi);
  ZcfsFuse& f = fs(req);
  if (fuse_reply_open(req, fi) == 0) {
    file->release();
  } else {
    abandon_handle(f, std::move(*file));
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
  set_cache_flags(req, fi);
  fuse_entry_param e = counted_entry(req, (*file)->open.info);
  ZcfsFuse& f = fs(req);
  if (fuse_reply_create(req, &e, fi) == 0) {
    file->release();
  } else {
    f.inodes().Forget(info->ino, 1);
    abandon_handle(f, std::move(*file));
  }
}

// Each worker thread reads into its own registered buffer, reused across requests, so a read costs
// no memory registration (which on RDMA is a system call and a page pinning).
Result<std::span<std::byte>> thread_read_buffer(Client& client, size_t size) {
  struct ThreadBuffer {
    Client* owner = nullptr;
    std::shared_ptr<RegisteredBuffer> buffer;
  };
  thread_local ThreadBuffer local;
  if (local.owner != &client || local.buffer == nullptr || local.buffer->size() < size) {
    ASSIGN_OR_RETURN(local.buffer, client.AllocateBuffer(std::max(size, kMaxIo)));
    local.owner = &client;
  }
  return local.buffer->span().first(size);
}

// A read's reply: through the thread's pipe with -o splice, else writev (fuse_reply_iov).
void reply_read(fuse_req_t req, std::span<const iovec> iov) {
  if (fs(req).options().splice) return reply_read_spliced(req, iov);
  fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  fs(req).NoteRead(size);
  FileHandle* file = file_of(fi);
  FileInfo view = file->open.info;
  view.size = file->state->readable_size();  // this mount's writes and truncations since open count
  const uint64_t version = file->state->data_version();
  const auto offset = static_cast<uint64_t>(off);
  if (file->ahead) {
    file->ahead->Advance(view, version, offset, size);
    auto reply = [req](std::span<const iovec> iov) { reply_read(req, iov); };
    if (file->ahead->Serve(view, version, offset, size, reply)) return;
  }
  auto dst = thread_read_buffer(fs(req).client(), size);
  if (!dst.ok()) return reply_error(req, dst.status());
  auto n = fs(req).client().Read(view, offset, *dst);
  if (!n.ok()) return reply_error(req, n.status());
  iovec data{dst->data(), *n};
  reply_read(req, std::span(&data, 1));
}

void op_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  FileHandle* file = file_of(fi);
  Status s = fs(req).client().Write(file->open.info, static_cast<uint64_t>(off),
                                    std::span(reinterpret_cast<const std::byte*>(buf), size));
  if (!s.ok()) return reply_error(req, s);
  file->state->Wrote(static_cast<uint64_t>(off), size, wall_clock_ns());
  fuse_reply_write(req, size);
}

// copy_file_range(2) between files of the mount (cp uses it): the daemon reads and writes 1 MiB pieces
// itself. Without this handler the kernel falls back to a write request per few pipe pages, each one a
// synchronous storage write (cp within the mount measured 45 MiB/s). One call copies at most
// kMaxCopyPerCall; callers loop on the count returned, as they must for any copy_file_range.
constexpr uint64_t kMaxCopyPerCall = 64u << 20;

void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in, fuse_ino_t ino_out,
                        off_t off_out, fuse_file_info* fi_out, size_t len, int flags) {
  if (flags != 0) return reply_error(req, Error(Code::kInvalidArgument, "copy_file_range takes no flags"));
  const auto from_offset = static_cast<uint64_t>(off_in);
  const auto to_offset = static_cast<uint64_t>(off_out);
  const uint64_t want = std::min<uint64_t>(len, kMaxCopyPerCall);
  if (ino_in == ino_out && from_offset < to_offset + want && to_offset < from_offset + want) {
    return reply_error(req, Error(Code::kInvalidArgument, "copy_file_range ranges of one file overlap"));
  }
  FileHandle* in = file_of(fi_in);
  FileHandle* out = file_of(fi_out);
  FileInfo source = in->open.info;
  source.size = in->state->readable_size();  // this mount's own writes to it count
  Client& client = fs(req).client();
  uint64_t copied = 0;
  Status failed;
  while (copied < want) {
    auto buffer = thread_read_buffer(client, static_cast<size_t>(std::min<uint64_t>(kMaxIo, want - copied)));
    if (!buffer.ok()) {
      failed = buffer.status();
      break;
    }
    auto n = client.Read(source, from_offset + copied, *buffer);
    if (!n.ok()) {
      failed = n.status();
      break;
    }
    if (*n == 0) break;  // the end of the source
    failed = client.Write(out->open.info, to_offset + copied, buffer->first(*n));
    if (!failed.ok()) break;
    out->state->Wrote(to_offset + copied, *n, wall_clock_ns());
    copied += *n;
  }
  // What was copied counts, as with a short write; an error only when nothing was.
  if (copied == 0 && !failed.ok()) return reply_error(req, failed);
  fuse_reply_write(req, copied);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  FileHandle* file = file_of(fi);
  reply_status(req, report_writes(fs(req).client(), file->open.info.ino, *file->state));
}

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  // Storage servers make each write durable before replying; what is left is the size.
  FileHandle* file = file_of(fi);
  reply_status(req, report_writes(fs(req).client(), file->open.info.ino, *file->state));
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> file(file_of(fi));
  Status reported = report_writes(fs(req).client(), file->open.info.ino, *file->state);
  auto closed = fs(req).client().Close(file->open);
  fs(req).inodes().Close(file->open.info.ino);
  Status s = reported.ok() ? closed.status() : reported;
  if (!s.ok()) LOG_WARN << "release of inode " << file->open.info.ino << ": " << s.ToString();
  reply_status(req, s);  // the kernel ignores it: close(2) got its answer from flush
}

}  // namespace

Status report_writes(Client& client, uint64_t ino, InodeState& state) {
  auto pending = state.PendingReport();
  if (!pending) return Status::Ok();
  auto info = client.ExtendLength(ino, pending->end);
  if (!info.ok()) return info.status();
  state.Reported(*pending, info->size);
  return Status::Ok();
}

void add_file_operations(fuse_lowlevel_ops& ops) {
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.copy_file_range = op_copy_file_range;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.release = op_release;
}

}  // namespace zcfs::fuse_internal
