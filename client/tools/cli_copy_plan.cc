// The walks behind `zcfs put` and `zcfs get`: which files to copy where (cli_copy.h).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "cli_copy.h"

namespace zcfs {
namespace {

namespace fs = std::filesystem;

CopyError error_at(const std::string& path, Status status) { return {path, std::move(status)}; }
CopyError io_error(const std::string& path, const std::error_code& ec) {
  return {path, Status(code_from_errno(ec.value()), ec.message())};
}

CopyError walk_local(Client& client, const std::string& local, const std::string& remote, CopyPlan* plan) {
  struct stat st {};
  if (::stat(local.c_str(), &st) != 0) return error_at(local, Status::FromErrno(errno, "stat"));
  if (S_ISREG(st.st_mode)) {
    plan->files.push_back({local, remote, static_cast<uint64_t>(st.st_size), st.st_mode & 07777u, {}});
    plan->bytes += static_cast<uint64_t>(st.st_size);
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return error_at(local, Error(Code::kNotSupported, "not a regular file or directory"));
  auto made = client.MakeDirs(remote);
  if (!made.ok()) return error_at(remote, made.status());
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(local, ec)) names.push_back(entry.path().filename().string());
  if (ec) return io_error(local, ec);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (CopyError e = walk_local(client, join_path(local, name), join_path(remote, name), plan); !e.ok()) return e;
  }
  return {};
}

CopyError make_local_symlink(Client& client, const FileInfo& link, const std::string& remote,
                             const std::string& local) {
  auto target = client.ReadLink(link.ino);
  if (!target.ok()) return error_at(remote, target.status());
  std::error_code ec;
  fs::remove(local, ec);  // a symlink replaces what was there, as a copied file does
  fs::create_symlink(*target, local, ec);
  return ec ? io_error(local, ec) : CopyError{};
}

CopyError walk_remote(Client& client, const FileInfo& info, const std::string& remote, const std::string& local,
                      CopyPlan* plan) {
  if (info.is_file()) {
    plan->files.push_back({remote, local, info.size, info.mode & 07777u, info});
    plan->bytes += info.size;
    return {};
  }
  if (info.type == FileType::kSymlink) return make_local_symlink(client, info, remote, local);
  std::error_code ec;
  fs::create_directories(local, ec);
  if (ec) return io_error(local, ec);
  auto entries = client.ReadDir(info.ino);
  if (!entries.ok()) return error_at(remote, entries.status());
  for (const auto& e : *entries) {
    std::string child = join_path(remote, e.name);
    auto child_info = client.GetAttr(e.ino);
    if (!child_info.ok()) return error_at(child, child_info.status());
    if (CopyError err = walk_remote(client, *child_info, child, join_path(local, e.name), plan); !err.ok()) return err;
  }
  return {};
}

std::string base_name(const std::string& path) { return parent_and_name(path).second; }

}  // namespace

CopyError plan_put(Client& client, const std::string& local, const std::string& remote, CopyPlan* plan) {
  plan->direction = CopyDirection::kPut;
  std::error_code ec;
  std::string to = remote;
  if (!fs::is_directory(local, ec)) {  // a file put into an existing directory keeps its name
    auto existing = client.Stat(remote);
    if (existing.ok() && existing->is_dir()) to = join_path(remote, base_name(local));
  }
  return walk_local(client, local, to, plan);
}

CopyError plan_get(Client& client, const std::string& remote, const std::string& local, CopyPlan* plan) {
  plan->direction = CopyDirection::kGet;
  auto info = client.Stat(remote);
  if (!info.ok()) return error_at(remote, info.status());
  std::error_code ec;
  std::string to = local;
  if (!info->is_dir() && fs::is_directory(local, ec)) to = join_path(local, base_name(remote));
  return walk_remote(client, *info, remote, to, plan);
}

}  // namespace zcfs
