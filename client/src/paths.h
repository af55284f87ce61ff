// Path helpers of the client. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "zcfs/common/status.h"

namespace zcfs {

// Splits "/a//b/c/" into {"a", "b", "c"}.
inline std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

struct ParentAndName {
  std::string parent;  // "/a/b"
  std::string name;    // "c"
};

// "/a/b/c" -> {"/a/b", "c"}; the root has no parent (kInvalidArgument).
inline Result<ParentAndName> split_parent(std::string_view path) {
  auto parts = split_path(path);
  if (parts.empty()) return Error(Code::kInvalidArgument, "the root directory has no parent");
  ParentAndName out;
  out.name = parts.back();
  for (size_t i = 0; i + 1 < parts.size(); ++i) out.parent += "/" + parts[i];
  return out;
}

}  // namespace zcfs
