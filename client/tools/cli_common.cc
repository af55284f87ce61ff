#include "cli_common.h"

#include <cctype>
#include <cstdio>
#include <cstring>

namespace zcfs {

int fail(const std::string& what, const Status& status) {
  std::string cause = std::strerror(status.to_errno());
  if (!cause.empty()) cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  std::string detail = status.message().empty() ? "" : " (" + status.message() + ")";
  std::fprintf(stderr, "zcfs: %s: %s%s\n", what.c_str(), cause.c_str(), detail.c_str());
  return 1;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::pair<std::string, std::string> parent_and_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {"/", p};
  std::string parent = slash == 0 ? "/" : p.substr(0, slash);
  return {parent, p.substr(slash + 1)};
}

}  // namespace zcfs
