// Test support: child processes and a local cluster of real zcfs servers on loopback.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "zcfs/common/status.h"

namespace zcfs::testing {

// A child process whose stdout/stderr go to a log file. Killed (SIGKILL) on destruction if still
// running. Not thread-safe.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv, const std::string& log_path);
  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int sig);
  // Waits for exit; returns the exit code, or 128+signal, or kTimeout.
  Result<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Runs `argv` to its exit (at most `timeout`), its output going to `log_path`. Returns the exit code
// (-1 when it could not start or did not end in time) and everything it printed.
std::pair<int, std::string> run_to_exit(const std::vector<std::string>& argv, const std::string& log_path,
                                        std::chrono::milliseconds timeout);

// Waits until `path` exists and is non-empty; returns its content with the trailing newline removed.
Result<std::string> wait_for_file(const std::string& path, std::chrono::milliseconds timeout);
// A fresh empty directory under the disk-backed scratch area (O_DIRECT does not work on tmpfs).
std::string make_scratch_dir(const std::string& name);
std::string read_text_file(const std::string& path);

}  // namespace zcfs::testing
