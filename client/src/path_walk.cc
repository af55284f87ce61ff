#include "path_walk.h"

#include "paths.h"

namespace zcfs {

bool PathWalker::MayBeStale(const Dir& dir, const Status& failure) const {
  return dir.cached_depth > 0 && (failure.code() == Code::kNotFound || failure.code() == Code::kNotDirectory);
}

Result<PathWalker::Dir> PathWalker::ResolveDir(const std::vector<std::string>& parts, size_t depth, bool fresh,
                                               std::string_view path) {
  for (;;) {
    Dir dir{kRootInode, 0};
    if (!fresh) {
      auto hit = cache_.Longest(parts, depth);
      if (hit.depth > 0) dir = Dir{hit.ino, hit.depth};
    }
    Status failed;
    for (size_t i = dir.cached_depth; i < depth && failed.ok(); ++i) {
      auto next = client_.Lookup(dir.ino, parts[i]);
      if (!next.ok()) {
        failed = Status(next.status()).Prepend(std::string(path));
      } else if (!next->is_dir()) {
        failed = Error(Code::kNotDirectory, std::string(path) + ": '" + parts[i] + "' is not a directory");
      } else {
        cache_.Put(parts, i + 1, dir.ino, next->ino);
        dir.ino = next->ino;
      }
    }
    if (failed.ok()) return dir;
    if (!MayBeStale(dir, failed)) return failed;
    cache_.DropPath(join_path(parts, dir.cached_depth));
    fresh = true;  // once more from the root
  }
}

Result<FileInfo> PathWalker::Stat(std::string_view path) {
  if (split_path(path).empty()) return client_.GetAttr(kRootInode);
  auto parts = split_path(path);
  return AtParent<FileInfo>(path, [&](uint64_t dir, const std::string& name) -> Result<FileInfo> {
    auto found = client_.Lookup(dir, name);
    if (!found.ok()) return Status(found.status()).Prepend(std::string(path));
    if (found->is_dir()) cache_.Put(parts, parts.size(), dir, found->ino);
    return found;
  });
}

}  // namespace zcfs
