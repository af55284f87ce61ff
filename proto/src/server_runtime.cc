#include "zcfs/proto/server_runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>


#include "zcfs/common/logging.h"

namespace zcfs {

Result<Config> load_server_config(std::string_view program, int argc, const char* const* argv) {
  set_log_tag(program);
  Config config;
  RETURN_IF_ERROR(config.ApplyArgs(argc, argv, nullptr));
  LogLevel level;
  std::string level_text = config.GetString("log-level", "info");
  if (!parse_log_level(level_text, &level)) {
    return Error(Code::kInvalidArgument, "--log-level: expected debug, info, warn or error, got '" + level_text + "'");
  }
  set_log_level(level);
  return config;
}

Status write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  ssize_t n = ::write(fd, content.data(), content.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(content.size())) return Status::FromErrno(n < 0 ? err : EIO, "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename to " + path);
  return Status::Ok();
}

namespace {
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void block_stop_signals() {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void wait_for_stop_signal(const std::function<void()>& on_stop) {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  LOG_INFO << "signal " << sig << " received, stopping";
  on_stop();
}

}  // namespace zcfs
