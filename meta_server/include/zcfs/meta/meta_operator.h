// MetaOperator: the logic of the meta server, with no RPC in it. It owns the namespace (inodes and
// directory entries, stored through a KvStore) and the cluster manager (storage nodes, targets, the
// routing table). MetaService (meta_service.h) is the thin RPC layer over it.
//
// Contracts:
// - Inode 1 is the root directory, created on first start (mode 0755, uid/gid 0).
// - Every mutation commits in one atomic KvStore write batch; in memory nothing changes unless the
//   batch committed. Every change of an inode's attributes bumps its `version`.
// - Names: empty, ".", "..", or containing '/' or NUL -> kInvalidArgument; longer than 255 bytes ->
//   kNameTooLong. Unknown inode -> kNotFound; a parent that is not a directory -> kNotDirectory.
// - Directories follow POSIX link counts: a new directory has nlink 2 and adds one to its parent.
//   A directory's size is the number of entries in it. Times are ns of the realtime clock.
// - Permissions: POSIX mode/uid/gid checks with the caller's credentials (permissions.h); uid 0
//   bypasses them. A default-constructed pb::Credentials is root.
// - File data lifecycle: a regular file whose last link goes away becomes an orphan (nlink 0, an
//   "orphan/" marker in the system column) and keeps its data while sessions (Open..Close) hold it;
//   ReclaimOrphans() then trims its chunks to nothing and deletes it. A truncation trims the chunks
//   past the new size before the size is committed.
//
// Thread-safe: namespace mutations are serialized by one mutex, node registrations by another; reads
// take no lock and see each batch entirely or not at all.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"
#include "zcfs/meta/chunk_trimmer.h"
#include "zcfs/meta/kv_store.h"
#include "zcfs/proto/layout_rules.h"

namespace zcfs::meta {

class NodeRegistry;
class FileSessions;

inline constexpr uint64_t kRootIno = 1;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxSymlinkLength = 4095;
inline constexpr uint32_t kDefaultChunkSize = 4u << 20;
inline constexpr uint32_t kDefaultReaddirEntries = 1024;
inline constexpr uint32_t kMaxReaddirEntries = 8192;

struct MetaOptions {
  uint32_t chunk_size = kDefaultChunkSize;  // default chunk size of new files (config meta.chunk_size)
  uint32_t max_stripe_width = 0;            // caps the default stripe width; 0 = every target (meta.stripe_width)
  std::chrono::nanoseconds node_timeout = std::chrono::seconds(10);  // silence after which a node is offline
  uint32_t replication = 3;  // targets per chain (meta.replication); fewer when there are fewer nodes
  // A client's file sessions die when it has not renewed them (KeepAlive or any session call) for
  // this long. After a restart, orphans are not reclaimed for one lease, so clients can reopen theirs.
  std::chrono::nanoseconds session_lease = std::chrono::seconds(60);
  // Removes chunk data on the storage servers; null: data is not removed (unit tests).
  std::shared_ptr<ChunkTrimmer> trimmer;
  // Clocks, replaceable in tests. Wall time (ns since the epoch) stamps inodes; monotonic time (ns)
  // measures node liveness. Unset = the system clocks.
  std::function<int64_t()> wall_clock_ns;
  std::function<int64_t()> monotonic_clock_ns;
};

// The name rules above.
Status validate_name(std::string_view name);

class MetaOperator {
 public:
  // Loads (or, on first start, creates) the namespace root and the node registry from `store`, which
  // must outlive the operator. Fails on invalid options or an unreadable store.
  static Result<std::unique_ptr<MetaOperator>> Open(KvStore& store, MetaOptions options = {});
  ~MetaOperator();
  MetaOperator(const MetaOperator&) = delete;
  MetaOperator& operator=(const MetaOperator&) = delete;

  // ---- namespace reads ----
  // Needs search permission on `parent`.
  Result<pb::InodeAttr> Lookup(uint64_t parent, std::string_view name, const pb::Credentials& cred = {}) const;
  Result<pb::InodeAttr> GetAttr(uint64_t ino) const;
  // Entries of directory `ino` with names strictly after `after` ("" = from the start), in bytewise
  // name order, at most `max_entries` (0 = kDefaultReaddirEntries; capped at kMaxReaddirEntries).
  // eof is set when no entry follows the last one returned. "." and ".." are not listed. A name is a
  // valid cookie even after its entry is removed. Needs read permission.
  Result<pb::ReaddirReply> Readdir(uint64_t ino, std::string_view after, uint32_t max_entries,
                                   const pb::Credentials& cred = {}) const;
  // Capacity of the online targets, inodes in use, nodes.
  pb::StatFsReply StatFs() const;

  // ---- namespace mutations ----
  // Creating or removing an entry needs write and search permission on its directory.
  // Name taken -> kAlreadyExists, checked before write permission (as Linux: `mkdir` of an existing
  // name in a directory the caller cannot write is EEXIST); only search permission is needed for it.
  Result<pb::InodeAttr> Mkdir(uint64_t parent, std::string_view name, uint32_t mode, const pb::Credentials& cred);
  // Creates a regular file with a new layout. If the name exists: exclusive -> kAlreadyExists;
  // otherwise an existing regular file is returned unchanged, a directory is kIsDirectory, anything
  // else kAlreadyExists. chunk_size/stripe_width 0 take the defaults; a chunk size that is not a power
  // of two in [64 KiB, 64 MiB] is kInvalidArgument; a stripe wider than the online targets is narrowed.
  // No storage target -> kUnavailable.
  Result<pb::InodeAttr> Create(uint64_t parent, std::string_view name, uint32_t mode, const pb::Credentials& cred,
                               bool exclusive, uint32_t chunk_size = 0, uint32_t stripe_width = 0);
  // A writer reports the end of what it wrote: size = max(size, length); mtime and ctime become now.
  // Regular files only (a directory -> kIsDirectory).
  Result<pb::InodeAttr> ExtendLength(uint64_t ino, uint64_t length);
  // Changes the fields named by request.valid() (zcfs::setattr bits); ctime becomes now. A size change
  // (regular files only) also sets mtime unless the request sets it; a smaller size first trims the
  // chunks past it (blocking on the storage servers). Unknown bits -> kInvalidArgument; valid == 0
  // returns the attributes unchanged. Permission rules: check_setattr in permissions.h.
  Result<pb::InodeAttr> SetAttr(const pb::SetAttrRequest& request);
  // Removes a non-directory entry (a directory -> kIsDirectory); the last link of a regular file makes
  // it an orphan. Sticky directories need ownership of the directory or the entry (kNotPermitted).
  Status Unlink(uint64_t parent, std::string_view name, const pb::Credentials& cred);
  // Removes an empty directory: not a directory -> kNotDirectory, not empty -> kNotEmpty.
  Status Rmdir(uint64_t parent, std::string_view name, const pb::Credentials& cred);
  // rename(2)/renameat2(2) with zcfs::rename flags: replaces a file, or an empty directory by a
  // directory; a directory into its own subtree -> kInvalidArgument; a non-empty target directory ->
  // kNotEmpty; directory over non-directory -> kNotDirectory, the reverse -> kIsDirectory. Renaming a
  // name onto a link of the same inode does nothing. Moving a directory to another parent also needs
  // write permission on it (its ".." changes).
  Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name, uint32_t flags,
                const pb::Credentials& cred);
  // A new name for the non-directory `ino` (a directory -> kNotPermitted).
  Result<pb::InodeAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view new_name, const pb::Credentials& cred);
  // A symbolic link holding `target` (readlink is GetAttr's symlink_target): an empty target ->
  // kNotFound (ENOENT, as symlink(2) on Linux), over kMaxSymlinkLength bytes -> kNameTooLong, a NUL
  // in it -> kInvalidArgument. Its size is the target's length.
  Result<pb::InodeAttr> Symlink(uint64_t parent, std::string_view name, std::string_view target,
                                const pb::Credentials& cred);

  // ---- file sessions ----
  // Checks access for open(2) `flags` (O_ACCMODE, O_TRUNC truncates to 0) and opens a session of
  // `client_id` on the file. Directories may be opened read-only only (else kIsDirectory).
  Result<pb::OpenReply> Open(uint64_t ino, uint32_t flags, const pb::Credentials& cred, uint64_t client_id);
  // Ends a session (unknown sessions are fine: they may have expired); written_end > 0 extends the
  // length as ExtendLength does. Returns the file's attributes.
  Result<pb::InodeAttr> Close(uint64_t client_id, uint64_t session_id, uint64_t ino, uint64_t written_end);
  // Renews every session of `client_id`.
  // kNotFound when the client has no live session (they expired, or this server restarted): the client
  // then reopens the files it holds, by inode (Open works on orphans too).
  Status KeepAlive(uint64_t client_id);
  // One pass over the orphans: each one that no live session holds is trimmed to nothing on the storage
  // servers and deleted. Returns how many were deleted; errors of single orphans are logged and retried
  // on the next pass. Call it periodically (zcfs-meta runs it on a PeriodicTask).
  size_t ReclaimOrphans();

  // ---- cluster manager ----
  // Registers a storage node or, called again with its id, records a heartbeat. See node_registry.h.
  Result<pb::RegisterNodeReply> RegisterNode(const pb::RegisterNodeRequest& request);
  pb::RoutingTable GetRouting() const;
  // Takes nodes whose lease ran out out of their chains; call it periodically (a fraction of the node
  // timeout). Returns how many nodes went offline.
  Result<size_t> CheckNodeLeases();
  // A storage node finished resyncing a target (chain_table.h).
  Status SyncDone(const pb::SyncDoneRequest& request);
  // Drains a target out of its chains, or puts it back.
  Status TargetAdmin(const pb::TargetAdminRequest& request);
  // A client found a serving replica lacking data another holds: it is resynced (chain_table.h).
  Status ReportMissingData(const pb::MissingDataReport& report);
  // What `zcfs cluster status` shows: the routing table with each node's liveness and heartbeat age.
  pb::ClusterStatusReply ClusterStatus() const;

  // The mutations above without their wait for the disk: committed (visible to every later call)
  // but durable only after the next KvStore::Sync(), which the caller must await before it
  // acknowledges them (the RPC service does, through WalSyncer). Truncating SetAttr still cuts the
  // data on the storage servers first, and so waits for them.
  Result<pb::InodeAttr> MkdirUnsynced(uint64_t parent, std::string_view name, uint32_t mode,
                                      const pb::Credentials& cred);
  Result<pb::InodeAttr> CreateUnsynced(uint64_t parent, std::string_view name, uint32_t mode,
                                       const pb::Credentials& cred, bool exclusive, uint32_t chunk_size,
                                       uint32_t stripe_width);
  Result<pb::InodeAttr> SymlinkUnsynced(uint64_t parent, std::string_view name, std::string_view target,
                                        const pb::Credentials& cred);
  Result<pb::InodeAttr> LinkUnsynced(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                                     const pb::Credentials& cred);
  Status RenameUnsynced(uint64_t parent, std::string_view name, uint64_t new_parent, std::string_view new_name,
                        uint32_t flags, const pb::Credentials& cred);
  Result<pb::InodeAttr> ExtendLengthUnsynced(uint64_t ino, uint64_t length);
  Result<pb::InodeAttr> SetAttrUnsynced(const pb::SetAttrRequest& request);
  Status UnlinkUnsynced(uint64_t parent, std::string_view name, const pb::Credentials& cred) {
    return RemoveEntry(parent, name, cred, /*directory=*/false);
  }
  Status RmdirUnsynced(uint64_t parent, std::string_view name, const pb::Credentials& cred) {
    return RemoveEntry(parent, name, cred, /*directory=*/true);
  }
  // Makes every mutation committed before the call durable (one WAL sync shared by concurrent callers).
  Status Sync() { return store_.Sync(); }

  // ---- mutation ids (meta_server/src/mutation_ids.h): a resent mutation is done once ----
  // Whether mutation `id` was committed (within the ids' lifetime).
  Result<bool> MutationCommitted(const pb::MutationId& id) const;
  // Removes the ids past their lifetime; returns how many.
  Result<size_t> SweepMutationIds();
  // The wall clock the operator stamps inodes and mutation ids with (ns since the epoch).
  int64_t WallNowNs() const { return Now(); }

 private:
  MetaOperator(KvStore& store, MetaOptions options);
  Status Bootstrap();
  Result<pb::InodeAttr> LoadInode(uint64_t ino) const;
  Result<pb::InodeAttr> LoadDirectory(uint64_t ino) const;
  // The directory entry `name` in `parent`; kNotFound when absent.
  Result<pb::DirEntry> LoadEntry(uint64_t parent, std::string_view name) const;
  // Builds a new regular file's layout for inode `ino`.
  Result<pb::Layout> NewLayout(uint64_t ino, uint32_t chunk_size, uint32_t stripe_width) const;
  // Puts a new inode, its entry in `parent` and the advanced inode counter in one batch; commits it.
  Status CommitNewInode(pb::InodeAttr& parent, std::string_view name, const pb::InodeAttr& child);
  Status CommitInode(const pb::InodeAttr& attr);
  // Adds the batch's inode-count change to the counter and commits it.
  Status CommitCounted(WriteBatch& batch, int64_t inode_delta);
  // Waits until `result`'s commit is durable (group commit; see namespace_mutations.cc).
  template <typename T>
  T Durable(T result);
  // Drops one link of `victim` (whose entry is being removed) into `batch`; returns the inode delta.
  int64_t DropLink(WriteBatch& batch, pb::InodeAttr& victim, int64_t now);
  // True when `dir` is `ancestor` or lies below it.
  Result<bool> IsWithin(uint64_t dir, uint64_t ancestor) const;
  // Loads parent directory `parent`, checks the caller may add or remove entries in it, and that
  // `name` is free there (kAlreadyExists otherwise).
  Result<pb::InodeAttr> PrepareNewEntry(uint64_t parent, std::string_view name, const pb::Credentials& cred) const;
  // The shared part of Unlink and Rmdir.
  Status RemoveEntry(uint64_t parent, std::string_view name, const pb::Credentials& cred, bool directory);
  Status LoadCounters();
  int64_t Now() const { return options_.wall_clock_ns(); }
  // Marks orphan `ino` as being reclaimed unless a session holds it; from then on Open refuses it,
  // so no client can open a file whose chunks are being cut. False when it is open.
  bool ClaimForReclaim(uint64_t ino);

  // The store every mutation commits through: marks the batch of a mutation that carries an id.
  std::unique_ptr<KvStore> marking_;
  KvStore& store_;
  MetaOptions options_;
  std::unique_ptr<NodeRegistry> registry_;
  std::unique_ptr<FileSessions> sessions_;
  std::mutex reclaim_mutex_;              // makes "not open, so claimed" and "not claimed, so opened" atomic
  std::set<uint64_t> reclaiming_;         // guarded by reclaim_mutex_: orphans whose chunks may be cut
  int64_t reclaim_after_ns_ = 0;          // monotonic time before which no orphan is reclaimed
  std::mutex mutation_mutex_;             // serializes namespace read-modify-write sequences
  uint64_t next_ino_ = 0;                 // guarded by mutation_mutex_
  std::atomic<uint64_t> inode_count_{0};  // written under mutation_mutex_
};

}  // namespace zcfs::meta
