// Path walks of the client (Stat, CreatePath, OpenHandle, ...): a path's components looked up one by
// one from the root, starting instead from the deepest directory DirCache still knows. A walk that
// started from the cache and then meets kNotFound/kNotDirectory may have trusted a stale entry: it
// drops that entry and walks again from the root once. Thread-safe (as Client and DirCache).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dir_cache.h"
#include "paths.h"
#include "zcfs/client/client.h"

namespace zcfs {

class PathWalker {
 public:
  PathWalker(Client& client, DirCache& cache) : client_(client), cache_(cache) {}

  // The entry at `path` (the root for "/"). Errors name the path.
  Result<FileInfo> Stat(std::string_view path);
  // Runs `op` with the inode of the directory holding the last component of `path` and that
  // component's name; retried from the root once when the directory came from the cache and `op`
  // fails as a stale directory would. Errors of the walk name the path; op's are returned as is.
  template <typename T>
  Result<T> AtParent(std::string_view path, const std::function<Result<T>(uint64_t dir, const std::string& name)>& op);

 private:
  struct Dir {
    uint64_t ino = 0;
    size_t cached_depth = 0;  // components taken from the cache (0: walked from the root)
  };
  // The directory parts[0..depth); from the cache unless `fresh`.
  Result<Dir> ResolveDir(const std::vector<std::string>& parts, size_t depth, bool fresh, std::string_view path);
  bool MayBeStale(const Dir& dir, const Status& failure) const;

  Client& client_;
  DirCache& cache_;
};

template <typename T>
Result<T> PathWalker::AtParent(std::string_view path,
                               const std::function<Result<T>(uint64_t dir, const std::string& name)>& op) {
  auto parts = split_path(path);
  if (parts.empty()) return Error(Code::kInvalidArgument, std::string(path) + ": the root directory has no parent");
  for (bool fresh : {false, true}) {
    auto dir = ResolveDir(parts, parts.size() - 1, fresh, path);
    if (!dir.ok()) return dir.status();
    Result<T> result = op(dir->ino, parts.back());
    if (!fresh && !result.ok() && MayBeStale(*dir, result.status())) {
      cache_.DropPath(join_path(parts, dir->cached_depth));
      continue;
    }
    return result;
  }
  return Error(Code::kInternal, "unreachable");
}

}  // namespace zcfs
