// zcfs: the command-line client.
//
//   zcfs [--meta=HOST:PORT] ls PATH | stat PATH | mkdir PATH | put LOCAL REMOTE | get REMOTE LOCAL
//                           | cluster status
//
// The meta server address comes from --meta, else $ZCFS_META, else 127.0.0.1:8000. `put` and `get`
// copy whole files (directories recursively). Errors name the path and the cause; exit code 1.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_cluster.h"
#include "zcfs/client/client.h"
#include "zcfs/common/aligned_buffer.h"
#include "zcfs/common/config.h"

namespace zcfs {
namespace {

constexpr size_t kCopyBlock = 8 << 20;

// "zcfs: rm: /c: no entry 'c' in directory 1 (No such file or directory)": the path and the cause.
int fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "zcfs: %s: %s (%s)\n", what.c_str(), s.message().c_str(), std::strerror(s.to_errno()));
  return 1;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

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

int cmd_ls(Client& client, const std::string& path) {
  auto dir = client.Stat(path);
  if (!dir.ok()) return fail("ls " + path, dir.status());
  if (!dir->is_dir()) {
    std::printf("%s %12llu %s %s\n", mode_text(*dir).c_str(), static_cast<unsigned long long>(dir->size),
                time_text(dir->mtime_ns).c_str(), path.c_str());
    return 0;
  }
  auto entries = client.ReadDir(dir->ino);
  if (!entries.ok()) return fail("ls " + path, entries.status());
  for (const auto& e : *entries) {
    auto info = client.GetAttr(e.ino);
    if (!info.ok()) return fail("ls " + join(path, e.name), info.status());
    std::printf("%s %12llu %s %s\n", mode_text(*info).c_str(), static_cast<unsigned long long>(info->size),
                time_text(info->mtime_ns).c_str(), e.name.c_str());
  }
  return 0;
}

int cmd_stat(Client& client, const std::string& path) {
  auto info = client.Stat(path);
  if (!info.ok()) return fail("stat " + path, info.status());
  std::printf("  path: %s\n inode: %llu\n  type: %s\n  mode: %s (%04o)\n   uid: %u\n   gid: %u\n  size: %llu\n nlink: %u\n"
              " mtime: %s\n",
              path.c_str(), static_cast<unsigned long long>(info->ino),
              info->is_dir() ? "directory" : info->is_file() ? "regular file" : "other", mode_text(*info).c_str(),
              info->mode, info->uid, info->gid, static_cast<unsigned long long>(info->size), info->nlink,
              time_text(info->mtime_ns).c_str());
  if (info->is_file()) {
    std::printf(" chunk: %u bytes\nstripe:", info->chunk_size);
    for (uint32_t t : info->targets) std::printf(" %u", t);
    std::printf("\n");
  }
  return 0;
}

int put_file(Client& client, const std::string& local, const std::string& remote) {
  int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("put " + local, Status::FromErrno(errno, "open"));
  struct stat st {};
  ::fstat(fd, &st);
  CreateOptions options;
  options.mode = st.st_mode & 07777;
  auto file = client.CreatePath(remote, options);
  if (!file.ok()) {
    ::close(fd);
    return fail("put " + remote, file.status());
  }
  AlignedBuffer buffer(kCopyBlock, AlignedBuffer::Init::kUninitialized);
  uint64_t offset = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      ::close(fd);
      return fail("put " + local, Status::FromErrno(errno, "read"));
    }
    if (n == 0) break;
    Status s = client.Write(*file, offset, std::span<const std::byte>(buffer.data(), static_cast<size_t>(n)));
    if (!s.ok()) {
      ::close(fd);
      return fail("put " + remote, s);
    }
    offset += static_cast<uint64_t>(n);
  }
  ::close(fd);
  auto done = client.ExtendLength(file->ino, offset);
  return done.ok() ? 0 : fail("put " + remote, done.status());
}

int cmd_put(Client& client, const std::string& local, const std::string& remote) {
  std::error_code ec;
  if (!std::filesystem::is_directory(local, ec)) return put_file(client, local, remote);
  auto made = client.MakeDirs(remote);
  if (!made.ok()) return fail("put " + remote, made.status());
  for (const auto& entry : std::filesystem::directory_iterator(local, ec)) {
    std::string name = entry.path().filename().string();
    if (int rc = cmd_put(client, entry.path().string(), join(remote, name)); rc != 0) return rc;
  }
  if (ec) return fail("put " + local, Status(Code::kIoError, ec.message()));
  return 0;
}

int get_file(Client& client, const FileInfo& file, const std::string& remote, const std::string& local) {
  int fd = ::open(local.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, file.mode & 07777);
  if (fd < 0) return fail("get " + local, Status::FromErrno(errno, "open"));
  AlignedBuffer buffer(kCopyBlock, AlignedBuffer::Init::kUninitialized);
  for (uint64_t offset = 0; offset < file.size;) {
    auto n = client.Read(file, offset, buffer.span());
    if (!n.ok()) {
      ::close(fd);
      return fail("get " + remote, n.status());
    }
    if (*n == 0) break;
    if (::write(fd, buffer.data(), *n) != static_cast<ssize_t>(*n)) {
      ::close(fd);
      return fail("get " + local, Status::FromErrno(errno, "write"));
    }
    offset += *n;
  }
  return ::close(fd) == 0 ? 0 : fail("get " + local, Status::FromErrno(errno, "close"));
}

int cmd_get(Client& client, const std::string& remote, const std::string& local) {
  auto info = client.Stat(remote);
  if (!info.ok()) return fail("get " + remote, info.status());
  if (!info->is_dir()) return get_file(client, *info, remote, local);
  std::error_code ec;
  std::filesystem::create_directories(local, ec);
  if (ec) return fail("get " + local, Status(Code::kIoError, ec.message()));
  auto entries = client.ReadDir(info->ino);
  if (!entries.ok()) return fail("get " + remote, entries.status());
  for (const auto& e : *entries) {
    if (int rc = cmd_get(client, join(remote, e.name), join(local, e.name)); rc != 0) return rc;
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: zcfs [--meta=HOST:PORT] COMMAND\n"
               "  ls PATH              list a directory\n"
               "  stat PATH            show a file's attributes and layout\n"
               "  mkdir PATH           create a directory and its missing parents\n"
               "  put LOCAL REMOTE     copy a local file or directory into zcfs\n"
               "  get REMOTE LOCAL     copy a file or directory out of zcfs\n"
               "  rm PATH              remove a file, a symbolic link or an empty directory\n"
               "  mv FROM TO           rename (replaces TO if it is a file or an empty directory)\n"
               "  cluster status       list the storage nodes and targets with their state and use\n"
               "The meta address defaults to $ZCFS_META, then 127.0.0.1:8000.\n");
  return 2;
}

int run(int argc, char** argv) {
  Config config;
  std::vector<std::string> args;
  if (Status s = config.ApplyArgs(argc, argv, &args); !s.ok()) return fail("arguments", s);
  if (args.empty()) return usage();
  const char* env_meta = std::getenv("ZCFS_META");
  ClientOptions options;
  options.meta_address = config.GetString("meta", env_meta != nullptr ? env_meta : "127.0.0.1:8000");
  const std::string& cmd = args[0];
  size_t want = (cmd == "put" || cmd == "get" || cmd == "mv") ? 3 : 2;
  if (args.size() != want) return usage();
  auto client = Client::Connect(options);
  if (!client.ok()) return fail("connect to " + options.meta_address, client.status());
  if (cmd == "ls") return cmd_ls(**client, args[1]);
  if (cmd == "stat") return cmd_stat(**client, args[1]);
  if (cmd == "mkdir") {
    auto made = (*client)->MakeDirs(args[1]);
    return made.ok() ? 0 : fail("mkdir " + args[1], made.status());
  }
  if (cmd == "put") return cmd_put(**client, args[1], args[2]);
  if (cmd == "get") return cmd_get(**client, args[1], args[2]);
  if (cmd == "rm") {
    Status removed = (*client)->Remove(args[1]);
    return removed.ok() ? 0 : fail("rm", removed);
  }
  if (cmd == "mv") {
    Status moved = (*client)->RenamePath(args[1], args[2]);
    return moved.ok() ? 0 : fail("mv", moved);
  }
  if (cmd == "cluster" && args[1] == "status") return cmd_cluster_status(**client);
  return usage();
}

}  // namespace
}  // namespace zcfs

int main(int argc, char** argv) { return zcfs::run(argc, argv); }
