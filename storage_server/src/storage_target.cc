#include "zcfs/storage/storage_target.h"

#include <sys/statvfs.h>

#include <filesystem>

#include "id_file.h"

namespace zcfs {

Result<std::unique_ptr<StorageTarget>> StorageTarget::Open(ChunkStore::Options options, BlockIo& io) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Error(code_from_errno(ec.value()), "create target " + options.dir + ": " + ec.message());
  ASSIGN_OR_RETURN(uint32_t id, storage_internal::read_id_file(options.dir + "/target_id"));
  // Written before the chunk store exists: an empty directory is a new target, whatever its path.
  ASSIGN_OR_RETURN(std::string uuid, storage_internal::read_or_create_uuid_file(options.dir + "/target_uuid"));
  ASSIGN_OR_RETURN(auto store, ChunkStore::Open(std::move(options), io));
  return std::unique_ptr<StorageTarget>(new StorageTarget(std::move(store), id, std::move(uuid)));
}

Status StorageTarget::SetId(uint32_t id) {
  if (id == id_.load()) return Status::Ok();
  RETURN_IF_ERROR(storage_internal::write_id_file(path() + "/target_id", id));
  id_.store(id);
  return Status::Ok();
}

Result<StorageTarget::Space> StorageTarget::QuerySpace() const {
  struct statvfs st;
  if (::statvfs(path().c_str(), &st) != 0) return Status::FromErrno(errno, "statvfs " + path());
  Space space;
  space.capacity_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  space.used_bytes = static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
  return space;
}

}  // namespace zcfs
