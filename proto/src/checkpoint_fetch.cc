#include "zcfs/proto/checkpoint_fetch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "zcfs.pb.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs {
namespace {

constexpr uint32_t kPieceBytes = 1u << 20;  // the server's largest read

Status errno_error(const std::string& what) { return Error(Code::kIoError, what + ": " + std::strerror(errno)); }

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + path);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  return rc == 0 ? Status::Ok() : errno_error("sync " + path);
}

Result<uint64_t> fetch_file(const MetaCaller& call, const std::string& id, const pb::CheckpointFile& file,
                            const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create " + path);
  Status status;
  uint64_t offset = 0;
  pb::CheckpointReadRequest request;
  request.set_id(id);
  request.set_name(file.name());
  while (status.ok() && offset < file.size()) {
    request.set_offset(offset);
    request.set_length(static_cast<uint32_t>(std::min<uint64_t>(kPieceBytes, file.size() - offset)));
    auto body = call(method::kCheckpointRead, request.SerializeAsString());
    pb::CheckpointReadReply reply;
    status = body.ok() ? ParseMessage(reply, *body, "checkpoint read reply") : body.status();
    if (!status.ok()) break;
    if (reply.data().size() != request.length()) {
      status = Error(Code::kProtocolError, "checkpoint file " + file.name() + " ended at " +
                                               std::to_string(offset + reply.data().size()) + " of " +
                                               std::to_string(file.size()) + " bytes");
      break;
    }
    status = write_all(fd, reply.data(), path);
    offset += reply.data().size();
  }
  if (status.ok() && ::fsync(fd) != 0) status = errno_error("sync " + path);
  ::close(fd);
  if (!status.ok()) return status;
  return offset;
}

}  // namespace

bool is_plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<FetchedCheckpoint> fetch_checkpoint(const MetaCaller& call, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) return errno_error("create " + dir);
  ASSIGN_OR_RETURN(std::string body, call(method::kCheckpoint, pb::CheckpointRequest().SerializeAsString()));
  pb::CheckpointReply checkpoint;
  RETURN_IF_ERROR(ParseMessage(checkpoint, body, "checkpoint reply"));
  FetchedCheckpoint fetched;
  Status status;
  for (const auto& file : checkpoint.files()) {
    if (!is_plain_file_name(file.name())) {
      status = Error(Code::kProtocolError, "checkpoint file name '" + file.name() + "' is not a plain name");
      break;
    }
    auto bytes = fetch_file(call, checkpoint.id(), file, dir + "/" + file.name());
    if (!bytes.ok()) {
      status = bytes.status();
      break;
    }
    ++fetched.files;
    fetched.bytes += *bytes;
  }
  if (status.ok()) status = sync_path(dir, O_RDONLY | O_DIRECTORY);
  pb::CheckpointDoneRequest done;
  done.set_id(checkpoint.id());
  (void)call(method::kCheckpointDone, done.SerializeAsString());  // an unremoved one goes when idle
  if (!status.ok()) return status.Prepend("checkpoint " + checkpoint.id());
  return fetched;
}

}  // namespace zcfs
