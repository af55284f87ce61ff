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
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs/client/buffers.h"
#include "zcfs/client/read_ring.h"
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
  uint32_t chunk_size = 0;       // regular files: bytes per chunk
  std::vector<uint32_t> chains;  // regular files: the chains storing its chunks (zcfs::chain_of_chunk)
  std::string symlink_target;    // symbolic links: what they point to

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
  bool atime_now = false;  // set atime to the server's clock (utimensat UTIME_NOW)
  bool mtime_now = false;
};

// Flags of Client::Rename, as renameat2(2).
inline constexpr uint32_t kRenameNoReplace = 1u << 0;  // fail with kAlreadyExists if the new name exists
inline constexpr uint32_t kRenameExchange = 1u << 1;   // swap the two names atomically

// An open file: its attributes at open time and the session that keeps its data alive while it is
// open, even after it is unlinked.
struct OpenFile {
  FileInfo info;
  uint64_t session_id = 0;  // this client's handle of the session
};

// Who asks: the owner of what a call creates. The FUSE mount passes the calling process's ids.
struct Credentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary groups
};

struct FsStats {
  uint64_t capacity_bytes = 0;  // usable: the online storage targets' space over the replication factor
  uint64_t used_bytes = 0;      // the same way
  uint64_t inodes = 0;          // files, directories and symlinks in use
  uint32_t online_nodes = 0;
  uint32_t offline_nodes = 0;
  uint32_t replication = 1;  // copies of each chunk
};

// What BackupNamespace wrote.
struct NamespaceBackup {
  size_t files = 0;
  uint64_t bytes = 0;
};

// One storage node as the meta server sees it (ClusterStatus).
struct NodeStatus {
  uint32_t node_id = 0;
  std::string address;  // host:port clients connect to
  bool online = false;
  int64_t since_heartbeat_ms = 0;  // since the node's last registration or heartbeat
};

// One storage target (ClusterStatus).
struct TargetStatus {
  uint32_t target_id = 0;
  uint32_t node_id = 0;  // the node serving it
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
};

// A target's part in its chain (chain_table.h on the meta server has the state machine).
enum class ReplicaState : uint8_t { kServing, kSyncing, kOffline };

struct ChainMemberStatus {
  uint32_t target_id = 0;
  ReplicaState state = ReplicaState::kOffline;
  // A SYNCING member being resynced now: how far its predecessor got (chunks of the predecessor's
  // examined of its total, bytes copied); all 0 when no resync of it runs yet.
  uint64_t resync_examined = 0;
  uint64_t resync_total = 0;
  uint64_t resync_bytes = 0;
};

// One chain (ClusterStatus): its members in write order, the head first.
struct ChainStatus {
  uint32_t chain_id = 0;
  uint64_t version = 0;
  std::vector<ChainMemberStatus> members;
};

struct ClusterState {
  uint64_t routing_version = 0;
  std::vector<NodeStatus> nodes;      // in node id order
  std::vector<TargetStatus> targets;  // in target id order
  std::vector<ChainStatus> chains;    // in chain id order
  uint32_t replication = 1;           // the factor chains are built with
};

struct CreateOptions {
  uint32_t mode = 0644;
  std::optional<Credentials> cred;  // default: the client's credentials
  bool exclusive = false;           // fail with kAlreadyExists when the name exists
  uint32_t chunk_size = 0;          // 0: the cluster default
  uint32_t stripe_width = 0;        // 0: the cluster default
};

struct ClientOptions {
  // The meta server, or every member of a replicated group, comma-separated ("h1:p1,h2:p2,h3:p3"):
  // calls go to the primary and follow it to another member when it fails over.
  std::string meta_address = "127.0.0.1:8000";
  int io_threads = 2;
  std::chrono::milliseconds rpc_timeout{10000};
  // How long a write keeps retrying while its chain fails over (a dead head is replaced once its lease,
  // 10 s by default, runs out), and a meta call while a replicated meta group elects a new primary:
  // past it the call fails.
  std::chrono::milliseconds failover_timeout{30000};
  // This client's failure domain (rack), as the storage servers' --label: reads go to replicas of the
  // same label when a chain has one. Empty: any replica.
  std::string label;
  std::chrono::milliseconds connect_timeout{3000};
  // How often open-file sessions are renewed; keep well under the meta server's session lease (60 s).
  std::chrono::milliseconds session_renew_interval{20000};
  // How long a namespace read (lookup, getattr, readdir, open, ...) looks for its reply before the
  // calling thread sleeps. Waking a sleeping caller costs the meta server more than answering a stat
  // (docs/benchmarks.md); a caller still looking needs no wake-up. 0 turns polling off.
  std::chrono::microseconds meta_poll{50};
  // End-to-end checksums on reads: the storage server sends the CRC32C of every piece's bytes and the
  // client checks what landed in the caller's buffer against it; a mismatch fails the read with
  // kChecksumMismatch naming the chunk. Costs a CRC pass over the data on both sides.
  bool verify_checksums = false;
  // TCP connections per storage server for data calls, taken in turn: a server serves each connection
  // on one of its I/O threads, so one client's batches can be served by several of them at once.
  int connections_per_server = 2;
  // How long a directory's path -> inode mapping is reused by path calls (Stat, OpenHandle, ...)
  // instead of one Lookup per path component. Changes made through this client drop what they touch;
  // changes by other clients may go unseen for this long. 0 turns the cache off.
  std::chrono::milliseconds dir_cache_ttl{1000};
  // Credentials sent with namespace changes; default: the process's uid/gid when it connected.
  std::optional<Credentials> cred;
  // How data moves between this client and the storage servers (the meta server is always reached
  // over TCP): "tcp"; "rdma", where the servers RDMA WRITE read data straight into the caller's
  // registered memory and RDMA READ written data from it (Connect fails without a usable RDMA device);
  // "auto", RDMA when a device's port is up, else TCP. RDMA needs storage servers started with
  // --transport=rdma or auto (docs/rdma.md).
  std::string transport = "tcp";
  std::string rdma_device;  // RDMA device name ("mlx5_0", "rxe0"); empty: the first one found
  int rdma_gid_index = 0;   // GID table entry the queue pairs use (RoCE v2: the IPv4-mapped one)
};

class ClientImpl;
struct ClientHooks;  // what tests may swap in (client/src/client_hooks.h): an emulated RDMA device

class Client {
 public:
  // Connects to the meta server and fetches the routing table.
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options, const ClientHooks& hooks);
  ~Client();

  // ---- namespace by inode ----
  // Namespace calls check POSIX permissions on the meta server with `cred` (default: the client's).
  Result<FileInfo> Lookup(uint64_t parent, std::string_view name, std::optional<Credentials> cred = std::nullopt);
  Result<FileInfo> GetAttr(uint64_t ino);
  Result<FileInfo> Mkdir(uint64_t parent, std::string_view name, uint32_t mode = 0755,
                         std::optional<Credentials> cred = std::nullopt);
  Result<FileInfo> Create(uint64_t parent, std::string_view name, const CreateOptions& options = {});
  // Entries after the name `after` ("" = from the start); a name stays a valid cookie after it is removed.
  Result<DirPage> ReadDirPage(uint64_t ino, std::string_view after, uint32_t max_entries = 0,
                              std::optional<Credentials> cred = std::nullopt);
  Result<std::vector<DirEntry>> ReadDir(uint64_t ino, std::optional<Credentials> cred = std::nullopt);  // every page
  // A smaller size also removes the data past it from the storage servers.
  Result<FileInfo> SetAttr(uint64_t ino, const AttrChanges& changes, std::optional<Credentials> cred = std::nullopt);
  // Removes a non-directory entry; the data goes when the last link is gone and no one has it open.
  Status Unlink(uint64_t parent, std::string_view name, std::optional<Credentials> cred = std::nullopt);
  // Removes an empty directory.
  Status Rmdir(uint64_t parent, std::string_view name, std::optional<Credentials> cred = std::nullopt);
  // rename(2); flags: kRenameNoReplace, kRenameExchange.
  Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
                uint32_t flags = 0, std::optional<Credentials> cred = std::nullopt);
  // A hard link new_parent/new_name to the non-directory `ino`.
  Result<FileInfo> Link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                        std::optional<Credentials> cred = std::nullopt);
  Result<FileInfo> Symlink(uint64_t parent, std::string_view name, std::string_view target,
                           std::optional<Credentials> cred = std::nullopt);
  Result<std::string> ReadLink(uint64_t ino);
  // open(2) access check (O_ACCMODE, O_TRUNC) and a session; the client renews its sessions in the
  // background until Close or the client's destruction.
  Result<OpenFile> Open(uint64_t ino, int flags, std::optional<Credentials> cred = std::nullopt);
  // Ends the session (a second Close of one OpenFile: kBadHandle); written_end > 0 reports the end of
  // what was written (as ExtendLength).
  Result<FileInfo> Close(const OpenFile& file, uint64_t written_end = 0);
  // Grows the file's size to at least `length` (writers call this after writing; see Write).
  Result<FileInfo> ExtendLength(uint64_t ino, uint64_t length);
  // Capacity and use of the online storage targets and the inode count (fresh from the meta server).
  Result<FsStats> StatFs();
  // Every storage node with its liveness, every target with its usage (zcfs cluster status).
  Result<ClusterState> ClusterStatus();
  // Operator commands: takes a target out of its chain (drain: OFFLINE, its data served by the other
  // replicas; refused for a chain's last serving replica), or puts it back (it is resynced first).
  Status DrainTarget(uint32_t target_id, bool drain);
  // Writes a consistent copy of the namespace - a checkpoint of the (primary) meta server's database,
  // taken while it serves - into the new directory `dir`. A meta server whose DATA/meta.db it becomes
  // serves the namespace as of that moment (docs/operations.md, "Backup and restore").
  Result<NamespaceBackup> BackupNamespace(const std::string& dir);

  // ---- namespace by path ("/a/b", relative to the root) ----
  Result<FileInfo> Stat(std::string_view path);
  // Creates missing directories along the path (like mkdir -p); returns the last one.
  Result<FileInfo> MakeDirs(std::string_view path, uint32_t mode = 0755);
  // Creates (or, unless exclusive, opens) the file at `path`; its parent must exist.
  Result<FileInfo> CreatePath(std::string_view path, const CreateOptions& options = {});
  // Unlinks a file or symlink, or removes an empty directory.
  Status Remove(std::string_view path);
  Status RenamePath(std::string_view from, std::string_view to, uint32_t flags = 0);

  // ---- data ----
  // Reads up to dst.size() bytes at `offset` straight into `dst`; returns the bytes read (fewer at the
  // end of the file, 0 at or past it). Holes read as zeros.
  Result<size_t> Read(const FileInfo& file, uint64_t offset, std::span<std::byte> dst);
  // Starts the same read and returns at once: `done` gets its result on one of the client's threads
  // and must not block. `dst` must stay valid until `done` has run, and the Client must outlive every
  // read it started (the FUSE daemon's read-ahead waits for its reads before the client goes).
  void StartRead(const FileInfo& file, uint64_t offset, std::span<std::byte> dst,
                 std::function<void(Result<size_t>)> done);
  // Writes `src` at `offset`. The size the meta server reports grows only when the writer calls
  // ExtendLength (done by WriteAndExtend, by the FUSE mount on flush and by the CLI after a put).
  Status Write(const FileInfo& file, uint64_t offset, std::span<const std::byte> src);
  Result<FileInfo> WriteAndExtend(const FileInfo& file, uint64_t offset, std::span<const std::byte> src);

  // ---- handles: what data loaders, the C API (zcfs.h) and the Python module use ----
  // Opens the file at `path`; flags as open(2): O_RDONLY/O_WRONLY/O_RDWR, O_CREAT (with `mode`), O_EXCL,
  // O_TRUNC, O_APPEND. The handle carries the layout and size fetched at open, so reads inside that
  // size never ask the meta server; a read reaching past it first checks whether the inode's version
  // moved on (another client grew or cut the file) and takes the new size (close-to-open consistency,
  // revalidated at the end of the file). Directories: kIsDirectory.
  Result<FileHandle> OpenHandle(std::string_view path, int flags, uint32_t mode = 0644);
  // Ends the handle; the size grows to cover what was written through it. Any later use of the handle,
  // including a second close: kBadHandle.
  Status CloseHandle(FileHandle file);
  // The file's attributes as the handle knows them (as of open, grown by its own writes).
  Result<FileInfo> HandleInfo(FileHandle file);
  // Positional read/write (pread/pwrite): `dst` may be any memory (it is registered for the call).
  // Reads see the handle's own writes. PWrite writes at `offset` even on an O_APPEND handle. Wrong
  // access mode for the handle: kBadHandle.
  Result<size_t> PRead(FileHandle file, uint64_t offset, std::span<std::byte> dst);
  Status PWrite(FileHandle file, uint64_t offset, std::span<const std::byte> src);
  // Sequential read/write at the handle's position, which they advance (O_APPEND: writes at the end of
  // the file as this handle knows it - appends through other handles or clients are not ordered with
  // these).
  Result<size_t> ReadNext(FileHandle file, std::span<std::byte> dst);
  Status WriteNext(FileHandle file, std::span<const std::byte> src);

  // ---- registered buffers and batched reads (buffers.h, read_ring.h) ----
  // `size` bytes aligned to 4 KiB (2 MiB with huge pages), zeroed, registered with the transport.
  Result<std::shared_ptr<RegisteredBuffer>> AllocateBuffer(size_t size, const BufferOptions& options = {});
  // Registers the caller's memory, which must outlive the returned buffer.
  Result<std::shared_ptr<RegisteredBuffer>> RegisterBuffer(std::span<std::byte> memory);
  Result<std::unique_ptr<ReadRing>> CreateReadRing(const ReadRingOptions& options = {});

  // Bytes the client's data path copied in user space since start (reads place data directly: 0).
  uint64_t user_copy_bytes() const;
  // The data transport in use: "tcp" or "rdma" (what ClientOptions::transport "auto" chose).
  std::string_view transport_name() const;

 private:
  explicit Client(std::unique_ptr<ClientImpl> impl);
  void CloseAllHandles();  // on destruction: handles left open still report what they wrote
  std::unique_ptr<ClientImpl> impl_;
};

}  // namespace zcfs
