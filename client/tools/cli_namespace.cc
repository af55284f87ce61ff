// `zcfs mkdir [-p]`, `zcfs rm [-r]` and `zcfs mv`: namespace changes.
#include <string>

#include "cli_common.h"

namespace zcfs {
namespace {

// Removes the directory `path` and everything below it, depth first; an error names the path it hit.
Status remove_tree(Client& client, const std::string& path, const FileInfo& dir) {
  auto entries = client.ReadDir(dir.ino);
  if (!entries.ok()) return Status(entries.status()).Prepend(path);
  for (const auto& e : *entries) {
    std::string child = join_path(path, e.name);
    if (e.type == FileType::kDirectory) {
      auto info = client.GetAttr(e.ino);
      if (!info.ok()) return Status(info.status()).Prepend(child);
      RETURN_IF_ERROR(remove_tree(client, child, *info));
      continue;
    }
    if (Status s = client.Unlink(dir.ino, e.name); !s.ok()) return s.Prepend(child);
  }
  return client.Remove(path).Prepend(path);
}

}  // namespace

int cmd_mkdir(Client& client, const std::string& path, const CliOptions& options) {
  if (options.parents) {
    auto made = client.MakeDirs(path);
    return made.ok() ? 0 : fail("mkdir " + path, made.status());
  }
  auto [parent_path, name] = parent_and_name(path);
  auto parent = client.Stat(parent_path);
  if (!parent.ok())
    return fail("mkdir " + path, parent.status().code() == Code::kNotFound
                                     ? Error(Code::kNotFound, parent_path + " does not exist (-p creates it)")
                                     : parent.status());
  auto made = client.Mkdir(parent->ino, name);
  return made.ok() ? 0 : fail("mkdir " + path, made.status());
}

int cmd_rm(Client& client, const std::string& path, const CliOptions& options) {
  auto info = client.Stat(path);
  if (!info.ok()) return fail("rm " + path, info.status());
  if (!info->is_dir()) {
    Status removed = client.Remove(path);
    return removed.ok() ? 0 : fail("rm " + path, removed);
  }
  if (!options.recursive) {
    return fail("rm " + path, Error(Code::kIsDirectory, "use rm -r to remove a directory and everything in it"));
  }
  Status removed = remove_tree(client, path, *info);
  return removed.ok() ? 0 : fail("rm -r " + path, removed);
}

int cmd_mv(Client& client, const std::string& from, const std::string& to) {
  Status moved = client.RenamePath(from, to);
  return moved.ok() ? 0 : fail("mv " + from + " " + to, moved);
}

}  // namespace zcfs
