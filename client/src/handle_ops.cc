// Client: file handles (open by path, positional and sequential I/O, close), registered buffers and
// read rings.
#include <fcntl.h>

#include "client_impl.h"
#include "path_walk.h"
#include "paths.h"
#include "read_ring_impl.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

Result<std::shared_ptr<OpenHandleState>> open_for(ClientImpl& impl, FileHandle file, bool write) {
  ASSIGN_OR_RETURN(auto handle, impl.handles().Get(file));
  if (write ? !handle->writable() : !handle->readable()) {
    return Error(Code::kBadHandle, handle->name() + " is not open for " + (write ? "writing" : "reading"));
  }
  return handle;
}

}  // namespace

Result<FileHandle> Client::OpenHandle(std::string_view path, int flags, uint32_t mode) {
  if ((flags & O_ACCMODE) == O_ACCMODE) {
    return Error(Code::kInvalidArgument, std::string(path) + ": open flags name no access mode");
  }
  if (split_path(path).empty()) return Error(Code::kIsDirectory, std::string(path) + " is a directory");
  auto found = PathWalker(*this, impl_->dir_cache())
                   .AtParent<FileInfo>(path, [&](uint64_t dir, const std::string& name) -> Result<FileInfo> {
                     Result<FileInfo> entry = Error(Code::kInternal, "unset");
                     if (flags & O_CREAT) {
                       CreateOptions create;
                       create.mode = mode;
                       create.exclusive = (flags & O_EXCL) != 0;
                       entry = Create(dir, name, create);
                     } else {
                       entry = Lookup(dir, name);
                     }
                     if (!entry.ok()) return Status(entry.status()).Prepend(std::string(path));
                     return entry;
                   });
  if (!found.ok()) return found.status();
  if (found->is_dir()) return Error(Code::kIsDirectory, std::string(path) + " is a directory");
  if (!found->is_file()) {
    return Error(Code::kNotSupported, std::string(path) + " is a symbolic link (handles do not follow links)");
  }
  // The meta server checks access and truncates; the session keeps the data while the handle is open.
  auto opened = Open(found->ino, flags & (O_ACCMODE | O_TRUNC));
  if (!opened.ok()) return Status(opened.status()).Prepend(std::string(path));
  return FileHandle{impl_->handles().Add(std::string(path), std::move(opened).value(), flags)->handle()};
}

Status Client::CloseHandle(FileHandle file) {
  ASSIGN_OR_RETURN(auto handle, impl_->handles().Remove(file));
  auto closed = Close(handle->file(), handle->written_end());
  return closed.ok() ? Status::Ok() : Status(closed.status()).Prepend("close of " + handle->name());
}

Result<FileInfo> Client::HandleInfo(FileHandle file) {
  ASSIGN_OR_RETURN(auto handle, impl_->handles().Get(file));
  return handle->info();
}

Result<size_t> Client::PRead(FileHandle file, uint64_t offset, std::span<std::byte> dst) {
  ASSIGN_OR_RETURN(auto handle, open_for(*impl_, file, /*write=*/false));
  auto read = Read(impl_->KnownForRead(*handle, offset, dst.size()), offset, dst);
  if (!read.ok()) return Status(read.status()).Prepend("read of " + handle->name() + " at " + std::to_string(offset));
  return read;
}

Status Client::PWrite(FileHandle file, uint64_t offset, std::span<const std::byte> src) {
  ASSIGN_OR_RETURN(auto handle, open_for(*impl_, file, /*write=*/true));
  Status written = Write(handle->info(), offset, src);
  if (!written.ok()) return written.Prepend("write of " + handle->name() + " at " + std::to_string(offset));
  handle->Wrote(offset, src.size());
  return Status::Ok();
}

Result<size_t> Client::ReadNext(FileHandle file, std::span<std::byte> dst) {
  ASSIGN_OR_RETURN(auto handle, open_for(*impl_, file, /*write=*/false));
  uint64_t at = handle->Advance(dst.size());
  auto read = Read(impl_->KnownForRead(*handle, at, dst.size()), at, dst);
  handle->Settle(at, dst.size(), read.ok() ? *read : 0);
  if (!read.ok()) return Status(read.status()).Prepend("read of " + handle->name() + " at " + std::to_string(at));
  return read;
}

Status Client::WriteNext(FileHandle file, std::span<const std::byte> src) {
  ASSIGN_OR_RETURN(auto handle, open_for(*impl_, file, /*write=*/true));
  uint64_t at = handle->append() ? handle->ReserveAppend(src.size()) : handle->Advance(src.size());
  Status written = Write(handle->info(), at, src);
  if (!written.ok()) {
    if (!handle->append()) handle->Settle(at, src.size(), 0);
    return written.Prepend("write of " + handle->name() + " at " + std::to_string(at));
  }
  handle->Wrote(at, src.size());
  return Status::Ok();
}

void Client::CloseAllHandles() {
  for (auto& [value, handle] : impl_->handles().TakeAll()) {
    Close(handle->file(), handle->written_end()).status().IgnoreError();  // best effort: the lease ends anyway
  }
}

Result<std::shared_ptr<RegisteredBuffer>> Client::AllocateBuffer(size_t size, const BufferOptions& options) {
  size_t mapped = 0;
  ASSIGN_OR_RETURN(auto memory, map_buffer_memory(size, options.huge_pages, &mapped));
  return BufferRegistry::Register(impl_->buffers(), memory, options.huge_pages, mapped);
}

Result<std::shared_ptr<RegisteredBuffer>> Client::RegisterBuffer(std::span<std::byte> memory) {
  return BufferRegistry::Register(impl_->buffers(), memory, /*huge_pages=*/false, /*mapped_size=*/0);
}

Result<std::unique_ptr<ReadRing>> Client::CreateReadRing(const ReadRingOptions& options) {
  if (options.depth == 0) return Error(Code::kInvalidArgument, "a read ring needs a depth of at least 1");
  if (options.timeout.count() < 0) return Error(Code::kInvalidArgument, "a read ring's timeout cannot be negative");
  return std::unique_ptr<ReadRing>(new ReadRingImpl(*impl_, options));
}

}  // namespace zcfs
