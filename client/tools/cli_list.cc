// `zcfs ls [-l] PATH` and `zcfs stat PATH`.
#include <cstdio>
#include <ctime>
#include <string>

#include "cli_common.h"

namespace zcfs {
namespace {

char type_char(FileType t) { return t == FileType::kDirectory ? 'd' : t == FileType::kSymlink ? 'l' : '-'; }

std::string mode_text(const FileInfo& info) {
  std::string s(1, type_char(info.type));
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (info.mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

std::string time_text(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

// One `ls` line: the name alone (directories with a trailing slash), or with -l the mode, size, mtime.
void print_entry(const FileInfo& info, const std::string& name, bool long_list) {
  if (!long_list) {
    std::printf("%s%s\n", name.c_str(), info.is_dir() ? "/" : "");
    return;
  }
  std::string shown = info.type == FileType::kSymlink ? name + " -> " + info.symlink_target : name;
  std::printf("%s %12llu %s %s\n", mode_text(info).c_str(), static_cast<unsigned long long>(info.size),
              time_text(info.mtime_ns).c_str(), shown.c_str());
}

}  // namespace

int cmd_ls(Client& client, const std::string& path, const CliOptions& options) {
  auto dir = client.Stat(path);
  if (!dir.ok()) return fail("ls " + path, dir.status());
  if (!dir->is_dir()) {
    print_entry(*dir, path, options.long_list);
    return 0;
  }
  auto entries = client.ReadDir(dir->ino);
  if (!entries.ok()) return fail("ls " + path, entries.status());
  for (const auto& e : *entries) {
    if (!options.long_list) {  // the entry's type is enough: no attribute call per name
      FileInfo info;
      info.type = e.type;
      print_entry(info, e.name, false);
      continue;
    }
    auto info = client.GetAttr(e.ino);
    if (!info.ok()) return fail("ls " + join_path(path, e.name), info.status());
    print_entry(*info, e.name, true);
  }
  return 0;
}

int cmd_stat(Client& client, const std::string& path) {
  auto info = client.Stat(path);
  if (!info.ok()) return fail("stat " + path, info.status());
  std::printf(
      "  path: %s\n inode: %llu\n  type: %s\n  mode: %s (%04o)\n   uid: %u\n   gid: %u\n  size: %llu\n nlink: %u\n"
      " mtime: %s\n",
      path.c_str(), static_cast<unsigned long long>(info->ino),
      info->is_dir()    ? "directory"
      : info->is_file() ? "regular file"
                        : "symbolic link",
      mode_text(*info).c_str(), info->mode, info->uid, info->gid, static_cast<unsigned long long>(info->size),
      info->nlink, time_text(info->mtime_ns).c_str());
  if (info->is_file()) {
    std::printf(" chunk: %u bytes\nchains:", info->chunk_size);
    for (uint32_t c : info->chains) std::printf(" %u", c);
    std::printf("\n");
  }
  return 0;
}

}  // namespace zcfs
