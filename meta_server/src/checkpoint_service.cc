#include "checkpoint_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "zcfs/common/logging.h"
#include "zcfs/proto/checkpoint_fetch.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::meta {
namespace {

namespace fs = std::filesystem;

}  // namespace

CheckpointService::CheckpointService(const RocksKvStore& store, std::string dir, int threads)
    : store_(store), dir_(std::move(dir)), workers_(threads) {
  std::error_code ec;
  fs::remove_all(dir_, ec);  // a previous process's: their readers are gone with it
  if (ec) LOG_WARN << "emptying " << dir_ << ": " << ec.message();
}

CheckpointService::~CheckpointService() {
  workers_.join();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void CheckpointService::RegisterOn(RpcServer& server) {
  auto pool = workers_.get_executor();
  RegisterPbOn<pb::CheckpointRequest, pb::CheckpointReply>(server, method::kCheckpoint, pool,
                                                           [this](const pb::CheckpointRequest&) { return Take(); });
  RegisterPbOn<pb::CheckpointReadRequest, pb::CheckpointReadReply>(
      server, method::kCheckpointRead, pool, [this](const pb::CheckpointReadRequest& r) { return Read(r); });
  RegisterPbOn<pb::CheckpointDoneRequest, pb::EmptyReply>(server, method::kCheckpointDone, pool,
                                                          [this](const pb::CheckpointDoneRequest& r) -> Result<pb::EmptyReply> {
                                                            RETURN_IF_ERROR(Done(r.id()));
                                                            return pb::EmptyReply();
                                                          });
}

Result<pb::CheckpointReply> CheckpointService::Take() {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    RemoveIdle();
    // The clock part keeps an id from naming a checkpoint of an earlier process, whose counter
    // started at 1 as well.
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    id = std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) + "-" +
         std::to_string(next_id_++);
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Error(Code::kIoError, "create " + dir_ + ": " + ec.message());
  const std::string path = dir_ + "/" + id;
  RETURN_IF_ERROR(store_.Checkpoint(path));
  pb::CheckpointReply reply;
  reply.set_id(id);
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (!entry.is_regular_file()) continue;
    pb::CheckpointFile* file = reply.add_files();
    file->set_name(entry.path().filename().string());
    file->set_size(entry.file_size());
  }
  if (ec) {
    fs::remove_all(path, ec);
    return Error(Code::kIoError, "list " + path + ": " + ec.message());
  }
  std::lock_guard lock(mutex_);
  used_[id] = std::chrono::steady_clock::now();
  LOG_INFO << "checkpoint " << id << " taken: " << reply.files_size() << " files";
  return reply;
}

Result<pb::CheckpointReadReply> CheckpointService::Read(const pb::CheckpointReadRequest& request) {
  if (!is_plain_file_name(request.name())) {
    return Error(Code::kInvalidArgument, "checkpoint file name '" + request.name() + "' is not a plain name");
  }
  if (request.length() > kMaxReadBytes) {
    return Error(Code::kInvalidArgument, "a checkpoint read is at most " + std::to_string(kMaxReadBytes) + " bytes");
  }
  ASSIGN_OR_RETURN(std::string dir, Use(request.id()));
  const std::string path = dir + "/" + request.name();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const Code code = errno == ENOENT ? Code::kNotFound : Code::kIoError;
    return Error(code, "open " + path + ": " + std::strerror(errno));
  }
  pb::CheckpointReadReply reply;
  std::string& data = *reply.mutable_data();
  data.resize(request.length());
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(request.offset() + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Error(Code::kIoError, "read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(got);
  return reply;
}

Status CheckpointService::Done(const std::string& id) {
  ASSIGN_OR_RETURN(std::string dir, Use(id));
  {
    std::lock_guard lock(mutex_);
    used_.erase(id);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Error(Code::kIoError, "remove " + dir + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> CheckpointService::Use(const std::string& id) {
  std::lock_guard lock(mutex_);
  RemoveIdle();
  auto it = used_.find(id);
  if (it == used_.end()) {
    return Error(Code::kNotFound, "no checkpoint '" + id + "' here (done, idle past " +
                                      std::to_string(kIdleLifetime.count()) + " s, or taken by another server)");
  }
  it->second = std::chrono::steady_clock::now();
  return dir_ + "/" + id;
}

void CheckpointService::RemoveIdle() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = used_.begin(); it != used_.end();) {
    if (now - it->second < kIdleLifetime) {
      ++it;
      continue;
    }
    std::error_code ec;
    fs::remove_all(dir_ + "/" + it->first, ec);
    LOG_INFO << "checkpoint " << it->first << " removed: unread for " << kIdleLifetime.count() << " s";
    it = used_.erase(it);
  }
}

}  // namespace zcfs::meta
