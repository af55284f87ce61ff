#include "store_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "zcfs/common/logging.h"

namespace zcfs::meta {
namespace {

namespace fs = std::filesystem;

Status fs_error(const std::string& what, const std::error_code& ec) { return Error(Code::kIoError, what + ": " + ec.message()); }

// Makes the renames in `dir` durable.
Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::error_code ec(errno, std::generic_category());
    if (fd >= 0) ::close(fd);
    return fs_error("sync " + dir, ec);
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<StoreDirectory>> StoreDirectory::Open(std::string data_dir, RocksKvStoreOptions options) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return fs_error("create " + data_dir, ec);
  std::unique_ptr<StoreDirectory> dir(new StoreDirectory(std::move(data_dir), options));
  RETURN_IF_ERROR(dir->Recover());
  ASSIGN_OR_RETURN(dir->store_, RocksKvStore::Open(dir->db_path(), options));
  return dir;
}

Status StoreDirectory::Recover() {
  std::error_code ec;
  if (fs::exists(old_path(), ec)) {
    if (fs::exists(db_path(), ec)) {
      fs::remove_all(old_path(), ec);  // the replacement was complete but for this
    } else {
      LOG_WARN << "undoing an interrupted replacement of " << db_path() << " by a checkpoint";
      fs::rename(old_path(), db_path(), ec);
    }
    if (ec) return fs_error("recover " + db_path(), ec);
    RETURN_IF_ERROR(sync_dir(data_dir_));
  }
  return ClearIncoming();
}

Status StoreDirectory::ClearIncoming() {
  std::error_code ec;
  fs::remove_all(incoming_path(), ec);
  if (ec) return fs_error("remove " + incoming_path(), ec);
  return Status::Ok();
}

Status StoreDirectory::ReplaceWithIncoming() {
  RETURN_IF_ERROR(store_->Close());
  std::error_code ec;
  fs::rename(db_path(), old_path(), ec);
  if (ec) return fs_error("move " + db_path() + " aside", ec);
  fs::rename(incoming_path(), db_path(), ec);
  if (ec) return fs_error("move " + incoming_path() + " into place", ec);
  RETURN_IF_ERROR(sync_dir(data_dir_));
  fs::remove_all(old_path(), ec);
  if (ec) LOG_WARN << "removing " << old_path() << ": " << ec.message();
  ASSIGN_OR_RETURN(store_, RocksKvStore::Open(db_path(), options_));
  return Status::Ok();
}

}  // namespace zcfs::meta
