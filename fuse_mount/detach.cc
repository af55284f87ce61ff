#include "detach.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace zcfs {

int DetachFromCaller() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::setsid();  // not killed with mount(8)'s session or terminal
    return fds[1];
  }
  ::close(fds[1]);
  unsigned char code = 1;
  ssize_t n;
  while ((n = ::read(fds[0], &code, 1)) < 0 && errno == EINTR) {
  }
  if (n == 1) ::_exit(code);
  // The child died without a verdict: pass on how it ended.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
}

void ReportDetached(int fd, int exit_code) {
  if (fd < 0) return;
  auto code = static_cast<unsigned char>(exit_code);
  ssize_t ignored = ::write(fd, &code, 1);
  (void)ignored;
  ::close(fd);
  if (exit_code != 0) return;
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0) return;
  for (int std_fd = 0; std_fd <= 2; ++std_fd) ::dup2(null, std_fd);
  if (null > 2) ::close(null);
}

}  // namespace zcfs
