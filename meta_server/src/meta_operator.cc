// MetaOperator: start-up, reads, shared helpers and the cluster manager entry points. The namespace
// mutations are in namespace_mutations.cc.
#include "zcfs/meta/meta_operator.h"

#include <algorithm>
#include <bit>

#include "file_sessions.h"
#include "keys.h"
#include "layout.h"
#include "mutation_ids.h"
#include "node_registry.h"
#include "permissions.h"
#include "zcfs/common/logging.h"

namespace zcfs::meta {
namespace {

int64_t system_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status validate_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") {
    return Error(Code::kInvalidArgument, "invalid name '" + std::string(name) + "'");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Error(Code::kInvalidArgument, "name contains '/' or NUL");
  }
  if (name.size() > kMaxNameLength) {
    return Error(Code::kNameTooLong, "name of " + std::to_string(name.size()) + " bytes exceeds 255");
  }
  return Status::Ok();
}

MetaOperator::MetaOperator(KvStore& store, MetaOptions options)
    : marking_(std::make_unique<MarkingStore>(store)), store_(*marking_), options_(std::move(options)) {
  if (!options_.wall_clock_ns) options_.wall_clock_ns = system_ns;
  if (!options_.monotonic_clock_ns) options_.monotonic_clock_ns = steady_ns;
  registry_ =
      std::make_unique<NodeRegistry>(store_, options_.node_timeout, options_.replication, options_.monotonic_clock_ns);
  sessions_ = std::make_unique<FileSessions>(options_.session_lease.count(), options_.monotonic_clock_ns);
  reclaim_after_ns_ = options_.monotonic_clock_ns() + options_.session_lease.count();
}

MetaOperator::~MetaOperator() = default;

Result<std::unique_ptr<MetaOperator>> MetaOperator::Open(KvStore& store, MetaOptions options) {
  RETURN_IF_ERROR(validate_chunk_size(options.chunk_size));
  if (options.node_timeout.count() <= 0) return Error(Code::kInvalidArgument, "node timeout must be positive");
  if (options.replication < 1 || options.replication > 16) {
    return Error(Code::kInvalidArgument, "replication must be 1..16");
  }
  if (options.session_lease.count() <= 0) return Error(Code::kInvalidArgument, "session lease must be positive");
  std::unique_ptr<MetaOperator> op(new MetaOperator(store, std::move(options)));
  RETURN_IF_ERROR(op->Bootstrap());
  RETURN_IF_ERROR(op->LoadCounters());
  RETURN_IF_ERROR(op->registry_->Load());
  return op;
}

Status MetaOperator::Bootstrap() {
  std::lock_guard lock(mutation_mutex_);
  auto root = store_.Get(Column::kInodes, keys::inode_key(kRootIno));
  if (!root.ok() && root.status().code() != Code::kNotFound) return root.status();
  if (!root.ok()) {
    int64_t now = Now();
    pb::InodeAttr attr;
    attr.set_ino(kRootIno);
    attr.set_type(pb::FILE_TYPE_DIRECTORY);
    attr.set_mode(0755);
    attr.set_nlink(2);
    attr.set_parent(kRootIno);
    attr.set_atime_ns(now);
    attr.set_mtime_ns(now);
    attr.set_ctime_ns(now);
    attr.set_version(1);
    WriteBatch batch;
    batch.Put(Column::kInodes, keys::inode_key(kRootIno), attr.SerializeAsString());
    batch.Put(Column::kSystem, std::string(keys::kNextIno), keys::be64(kRootIno + 1));
    batch.Put(Column::kSystem, std::string(keys::kInodeCount), keys::be64(1));
    RETURN_IF_ERROR(store_.Write(batch));
    LOG_INFO << "created the root directory of a new namespace";
  }
  ASSIGN_OR_RETURN(std::string counter, store_.Get(Column::kSystem, keys::kNextIno));
  auto next = keys::read_be64(counter);
  if (!next || counter.size() != 8 || *next <= kRootIno) return Error(Code::kCorruption, "bad next_ino record");
  next_ino_ = *next;
  return Status::Ok();
}

Result<pb::InodeAttr> MetaOperator::LoadInode(uint64_t ino) const {
  auto value = store_.Get(Column::kInodes, keys::inode_key(ino));
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound)
      return Error(Code::kNotFound, "inode " + std::to_string(ino) + " not found");
    return value.status();
  }
  pb::InodeAttr attr;
  if (!attr.ParseFromString(*value)) return Error(Code::kCorruption, "inode " + std::to_string(ino) + " unparsable");
  return attr;
}

Result<pb::InodeAttr> MetaOperator::LoadDirectory(uint64_t ino) const {
  ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadInode(ino));
  if (attr.type() != pb::FILE_TYPE_DIRECTORY) {
    return Error(Code::kNotDirectory, "inode " + std::to_string(ino) + " is not a directory");
  }
  return attr;
}

Result<pb::DirEntry> MetaOperator::LoadEntry(uint64_t parent, std::string_view name) const {
  auto value = store_.Get(Column::kDentries, keys::dentry_key(parent, name));
  if (!value.ok()) {
    if (value.status().code() == Code::kNotFound) {
      return Error(Code::kNotFound, "no entry '" + std::string(name) + "' in directory " + std::to_string(parent));
    }
    return value.status();
  }
  auto dentry = keys::decode_dentry(*value);
  if (!dentry) return Error(Code::kCorruption, "bad directory entry '" + std::string(name) + "'");
  pb::DirEntry entry;
  entry.set_name(std::string(name));
  entry.set_ino(dentry->ino);
  entry.set_type(dentry->type);
  return entry;
}

Result<pb::InodeAttr> MetaOperator::Lookup(uint64_t parent, std::string_view name, const pb::Credentials& cred) const {
  RETURN_IF_ERROR(validate_name(name));
  ASSIGN_OR_RETURN(pb::InodeAttr dir, LoadDirectory(parent));
  RETURN_IF_ERROR(check_access(dir, cred, kMayExec));
  ASSIGN_OR_RETURN(pb::DirEntry entry, LoadEntry(parent, name));
  auto attr = LoadInode(entry.ino());
  if (!attr.ok() && attr.status().code() == Code::kNotFound) {
    return Error(Code::kCorruption,
                 "entry '" + std::string(name) + "' points to missing inode " + std::to_string(entry.ino()));
  }
  return attr;
}

Result<pb::InodeAttr> MetaOperator::GetAttr(uint64_t ino) const { return LoadInode(ino); }

Result<pb::ReaddirReply> MetaOperator::Readdir(uint64_t ino, std::string_view after, uint32_t max_entries,
                                               const pb::Credentials& cred) const {
  if (max_entries == 0) max_entries = kDefaultReaddirEntries;
  max_entries = std::min(max_entries, kMaxReaddirEntries);
  ASSIGN_OR_RETURN(pb::InodeAttr dir, LoadDirectory(ino));
  RETURN_IF_ERROR(check_access(dir, cred, kMayRead));
  std::string prefix = keys::dentry_prefix(ino);
  std::string from = after.empty() ? std::string() : keys::dentry_key(ino, after);
  // One extra entry tells whether more follow.
  ASSIGN_OR_RETURN(auto rows, store_.Scan(Column::kDentries, prefix, from, size_t{max_entries} + 1));
  pb::ReaddirReply reply;
  reply.set_eof(rows.size() <= max_entries);
  if (rows.size() > max_entries) rows.resize(max_entries);
  for (const auto& [key, value] : rows) {
    auto dentry = keys::decode_dentry(value);
    if (!dentry) return Error(Code::kCorruption, "bad directory entry in directory " + std::to_string(ino));
    auto* entry = reply.add_entries();
    entry->set_name(key.substr(prefix.size()));
    entry->set_ino(dentry->ino);
    entry->set_type(dentry->type);
  }
  return reply;
}

Result<pb::Layout> MetaOperator::NewLayout(uint64_t ino, uint32_t chunk_size, uint32_t stripe_width) const {
  bool any_registered = false;
  std::vector<uint32_t> chains = registry_->WritableChains(&any_registered);
  if (!any_registered) return Error(Code::kUnavailable, "no storage targets registered");
  if (chains.empty()) return Error(Code::kUnavailable, "no storage chain has a serving target");
  uint32_t width = stripe_width;
  if (width == 0) width = options_.max_stripe_width;  // 0 still: every chain
  return choose_layout(ino, chunk_size == 0 ? options_.chunk_size : chunk_size, width, std::move(chains));
}

Result<pb::RegisterNodeReply> MetaOperator::RegisterNode(const pb::RegisterNodeRequest& request) {
  return registry_->Register(request);
}

pb::RoutingTable MetaOperator::GetRouting() const { return registry_->Routing(); }

pb::ClusterStatusReply MetaOperator::ClusterStatus() const { return registry_->ClusterStatus(); }

Result<size_t> MetaOperator::CheckNodeLeases() { return registry_->CheckLeases(); }

Status MetaOperator::SyncDone(const pb::SyncDoneRequest& request) { return registry_->SyncDone(request); }

Status MetaOperator::TargetAdmin(const pb::TargetAdminRequest& request) { return registry_->TargetAdmin(request); }

Status MetaOperator::ReportMissingData(const pb::MissingDataReport& report) {
  return registry_->ReportMissingData(report);
}

Result<bool> MetaOperator::MutationCommitted(const pb::MutationId& id) const {
  return mutation_committed(store_, id, Now());
}

Result<size_t> MetaOperator::SweepMutationIds() { return sweep_mutation_ids(store_, Now()); }

}  // namespace zcfs::meta
