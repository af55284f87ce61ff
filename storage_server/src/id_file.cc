#include "id_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace zcfs::storage_internal {

Result<uint32_t> read_id_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno == ENOENT ? Result<uint32_t>(0u) : Result<uint32_t>(Status::FromErrno(errno, "open " + path));
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Error(Code::kCorruption, path + ": expected a number, found '" + s + "'");
  }
  return id;
}

Status write_id_file(const std::string& path, uint32_t id) {
  std::string tmp = path + ".tmp";
  std::string text = std::to_string(id) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return Status::FromErrno(err, "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename to " + path);
  return Status::Ok();
}

}  // namespace zcfs::storage_internal
