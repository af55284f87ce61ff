// libzcfs: the native client of zcfs.
//
// A Client talks to one meta server for the namespace and straight to the storage servers for data.
// Reads land directly in the caller's memory: the caller's buffer is registered with the transport,
// each storage server is sent one batched request naming where every piece goes, and the reply
// payload is read from the socket into that memory (no user-space copy).
//
// Thread-safe: one Client may be used from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs/common/status.h"

namespace zcfs {

inline constexpr uint64_t kRootInode = 1;

enum class FileType : uint8_t { kUnknown = 0, kRegular = 1, kDirectory = 2, kSymlink = 3 };

struct FileInfo {
  uint64_t ino = 0;
  FileType type = FileType::kUnknown;
  uint32_t mode = 0;  // permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint32_t nlink = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t version = 0;
  uint32_t chunk_size = 0;        // regular files: bytes per chunk
  std::vector<uint32_t> targets;  // regular files: chunk i lives on targets[i % targets.size()]

  bool is_dir() const { return type == FileType::kDirectory; }
  bool is_file() const { return type == FileType::kRegular; }
};

struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  FileType type = FileType::kUnknown;
};

struct DirPage {
  std::vector<DirEntry> entries;
  bool eof = false;
};

// Changes for SetAttr; unset fields are left alone.
struct AttrChanges {
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<int64_t> atime_ns;
  std::optional<int64_t> mtime_ns;
};

// Who asks: the owner of what a call creates. The FUSE mount passes the calling process's ids.
struct Credentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct FsStats {
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  uint32_t online_nodes = 0;
};

struct CreateOptions {
  uint32_t mode = 0644;
  std::optional<Credentials> cred;  // default: the client's credentials
  bool exclusive = false;    // fail with kAlreadyExists when the name exists
  uint32_t chunk_size = 0;   // 0: the cluster default
  uint32_t stripe_width = 0; // 0: the cluster default
};

struct ClientOptions {
  std::string meta_address = "127.0.0.1:8000";
  int io_threads = 2;
  std::chrono::milliseconds rpc_timeout{10000};
  std::chrono::milliseconds connect_timeout{3000};
  // Credentials sent with namespace changes; default: the process's uid/gid.
  std::optional<Credentials> cred;
};

class ClientImpl;

class Client {
 public:
  // Connects to the meta server and fetches the routing table.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();

  // ---- namespace by inode ----
  Result<FileInfo> Lookup(uint64_t parent, std::string_view name);
  Result<FileInfo> GetAttr(uint64_t ino);
  Result<FileInfo> Mkdir(uint64_t parent, std::string_view name, uint32_t mode = 0755,
                         std::optional<Credentials> cred = std::nullopt);
  Result<FileInfo> Create(uint64_t parent, std::string_view name, const CreateOptions& options = {});
  Result<DirPage> ReadDirPage(uint64_t ino, std::string_view after, uint32_t max_entries = 0);
  Result<std::vector<DirEntry>> ReadDir(uint64_t ino);  // every page
  Result<FileInfo> SetAttr(uint64_t ino, const AttrChanges& changes);
  // Grows the file's size to at least `length` (writers call this after writing; see Write).
  Result<FileInfo> ExtendLength(uint64_t ino, uint64_t length);
  // Capacity and use summed over the storage targets (fresh from the meta server).
  Result<FsStats> StatFs();

  // ---- namespace by path ("/a/b", relative to the root) ----
  Result<FileInfo> Stat(std::string_view path);
  // Creates missing directories along the path (like mkdir -p); returns the last one.
  Result<FileInfo> MakeDirs(std::string_view path, uint32_t mode = 0755);
  // Creates (or, unless exclusive, opens) the file at `path`; its parent must exist.
  Result<FileInfo> CreatePath(std::string_view path, const CreateOptions& options = {});

  // ---- data ----
  // Reads up to dst.size() bytes at `offset` straight into `dst`; returns the bytes read (fewer at the
  // end of the file, 0 at or past it). Holes read as zeros.
  Result<size_t> Read(const FileInfo& file, uint64_t offset, std::span<std::byte> dst);
  // Writes `src` at `offset`. The size the meta server reports grows only when the writer calls
  // ExtendLength (done by WriteAndExtend, by the FUSE mount on flush and by the CLI after a put).
  Status Write(const FileInfo& file, uint64_t offset, std::span<const std::byte> src);
  Result<FileInfo> WriteAndExtend(const FileInfo& file, uint64_t offset, std::span<const std::byte> src);

  // Bytes the client's data path copied in user space since start (reads place data directly: 0).
  uint64_t user_copy_bytes() const;

 private:
  explicit Client(std::unique_ptr<ClientImpl> impl);
  std::unique_ptr<ClientImpl> impl_;
};

}  // namespace zcfs
