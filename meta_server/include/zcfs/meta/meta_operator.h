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
//   A directory's size is reported as kDirectorySize. Times are ns of the realtime clock.
// - Permissions are not checked yet (credentials only set the owner of new inodes).
//
// Thread-safe: namespace mutations are serialized by one mutex, node registrations by another; reads
// take no lock and see each batch entirely or not at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "zcfs.pb.h"
#include "zcfs/common/status.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

class NodeRegistry;

inline constexpr uint64_t kRootIno = 1;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr uint64_t kDirectorySize = 4096;
inline constexpr uint32_t kMinChunkSize = 64u << 10;
inline constexpr uint32_t kMaxChunkSize = 64u << 20;
inline constexpr uint32_t kDefaultChunkSize = 4u << 20;
inline constexpr uint32_t kDefaultReaddirEntries = 1024;
inline constexpr uint32_t kMaxReaddirEntries = 8192;

struct MetaOptions {
  uint32_t chunk_size = kDefaultChunkSize;  // default chunk size of new files (config meta.chunk_size)
  uint32_t max_stripe_width = 0;            // caps the default stripe width; 0 = every target (meta.stripe_width)
  std::chrono::nanoseconds node_timeout = std::chrono::seconds(10);  // silence after which a node is offline
  // Clocks, replaceable in tests. Wall time (ns since the epoch) stamps inodes; monotonic time (ns)
  // measures node liveness. Unset = the system clocks.
  std::function<int64_t()> wall_clock_ns;
  std::function<int64_t()> monotonic_clock_ns;
};

// kInvalidArgument unless `chunk_size` is a power of two in [kMinChunkSize, kMaxChunkSize].
Status validate_chunk_size(uint64_t chunk_size);
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
  Result<pb::InodeAttr> Lookup(uint64_t parent, std::string_view name) const;
  Result<pb::InodeAttr> GetAttr(uint64_t ino) const;
  // Entries of directory `ino` with names strictly after `after` ("" = from the start), in bytewise
  // name order, at most `max_entries` (0 = kDefaultReaddirEntries; capped at kMaxReaddirEntries).
  // eof is set when no entry follows the last one returned. "." and ".." are not listed.
  Result<pb::ReaddirReply> Readdir(uint64_t ino, std::string_view after, uint32_t max_entries) const;

  // ---- namespace mutations ----
  // Name taken -> kAlreadyExists.
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
  // (regular files only) also sets mtime unless the request sets it. Unknown bits -> kInvalidArgument;
  // valid == 0 returns the attributes unchanged.
  Result<pb::InodeAttr> SetAttr(const pb::SetAttrRequest& request);

  // ---- cluster manager ----
  // Registers a storage node or, called again with its id, records a heartbeat. See node_registry.h.
  Result<pb::RegisterNodeReply> RegisterNode(const pb::RegisterNodeRequest& request);
  pb::RoutingTable GetRouting() const;

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
  int64_t Now() const { return options_.wall_clock_ns(); }

  KvStore& store_;
  MetaOptions options_;
  std::unique_ptr<NodeRegistry> registry_;
  std::mutex mutation_mutex_;  // serializes namespace read-modify-write sequences
  uint64_t next_ino_ = 0;      // guarded by mutation_mutex_
};

}  // namespace zcfs::meta
