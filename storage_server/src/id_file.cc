#include "id_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

namespace zcfs::storage_internal {
namespace {

// The file's text without trailing blanks, or nullopt when it does not exist.
Result<std::optional<std::string>> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::FromErrno(errno, "open " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return std::optional<std::string>(std::move(s));
}

// Writes `text` and a newline (temp file + rename) and syncs it.
Status write_small_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  std::string line = text + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return Status::FromErrno(err, "write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename to " + path);
  return Status::Ok();
}

}  // namespace

Result<uint32_t> read_id_file(const std::string& path) {
  ASSIGN_OR_RETURN(std::optional<std::string> s, read_small_file(path));
  if (!s) return 0u;
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), id);
  if (ec != std::errc() || end != s->data() + s->size()) {
    return Error(Code::kCorruption, path + ": expected a number, found '" + *s + "'");
  }
  return id;
}

Status write_id_file(const std::string& path, uint32_t id) { return write_small_file(path, std::to_string(id)); }

Result<std::string> read_or_create_uuid_file(const std::string& path) {
  ASSIGN_OR_RETURN(std::optional<std::string> s, read_small_file(path));
  if (s && !s->empty()) return *s;
  std::random_device random;
  char text[33];
  for (int i = 0; i < 4; ++i) std::snprintf(text + 8 * i, 9, "%08x", static_cast<unsigned>(random()));
  RETURN_IF_ERROR(write_small_file(path, text));
  return std::string(text);
}

}  // namespace zcfs::storage_internal
