// MetaOperator: file sessions (open/close), reclaiming orphans, statfs and the inode counter.
#include <fcntl.h>

#include <algorithm>
#include <set>

#include "file_sessions.h"
#include "keys.h"
#include "node_registry.h"
#include "permissions.h"
#include "zcfs/common/logging.h"
#include "zcfs/meta/meta_operator.h"
#include "zcfs/proto/methods.h"

namespace zcfs::meta {
namespace {

constexpr size_t kScanPage = 1024;

uint32_t access_mask(uint32_t flags) {
  uint32_t mask = 0;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      mask = kMayRead;
      break;
    case O_WRONLY:
      mask = kMayWrite;
      break;
    default:
      mask = kMayRead | kMayWrite;
      break;
  }
  if (flags & O_TRUNC) mask |= kMayWrite;
  return mask;
}

}  // namespace

Status MetaOperator::LoadCounters() {
  std::lock_guard lock(mutation_mutex_);
  auto stored = store_.Get(Column::kSystem, keys::kInodeCount);
  if (stored.ok()) {
    auto count = keys::read_be64(*stored);
    if (!count || stored->size() != 8) return Error(Code::kCorruption, "bad inode_count record");
    inode_count_ = *count;
    return Status::Ok();
  }
  if (stored.status().code() != Code::kNotFound) return stored.status();
  // A store from before the counter existed: count once, then keep it up to date.
  uint64_t count = 0;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto rows, store_.Scan(Column::kInodes, "", after, kScanPage));
    count += rows.size();
    if (rows.size() < kScanPage) break;
    after = rows.back().first;
  }
  inode_count_ = count;
  return store_.Put(Column::kSystem, std::string(keys::kInodeCount), keys::be64(count));
}

Result<pb::OpenReply> MetaOperator::Open(uint64_t ino, uint32_t flags, const pb::Credentials& cred,
                                         uint64_t client_id) {
  ASSIGN_OR_RETURN(pb::InodeAttr attr, LoadInode(ino));
  if (attr.type() == pb::FILE_TYPE_DIRECTORY && (flags & (O_ACCMODE | O_TRUNC)) != O_RDONLY) {
    return Error(Code::kIsDirectory, "inode " + std::to_string(ino) + " is a directory");
  }
  RETURN_IF_ERROR(check_access(attr, cred, access_mask(flags)));
  auto deleted = [ino] { return Error(Code::kNotFound, "inode " + std::to_string(ino) + " was deleted"); };
  if (attr.nlink() == 0 && attr.type() == pb::FILE_TYPE_REGULAR) {
    std::lock_guard lock(reclaim_mutex_);
    if (reclaiming_.count(ino) > 0) return deleted();  // before an O_TRUNC below cuts anything
  }
  if ((flags & O_TRUNC) && attr.type() == pb::FILE_TYPE_REGULAR && attr.size() > 0) {
    pb::SetAttrRequest truncate;
    truncate.set_ino(ino);
    truncate.set_valid(setattr::kSize);
    truncate.set_size(0);
    *truncate.mutable_cred() = cred;
    ASSIGN_OR_RETURN(attr, SetAttr(truncate));
  }
  pb::OpenReply reply;
  {
    std::lock_guard lock(reclaim_mutex_);
    // Only a reopen by inode reaches an orphan; once its reclaim started, its data may be half cut.
    if (reclaiming_.count(ino) > 0) return deleted();
    if (client_id != 0) reply.set_session_id(sessions_->Open(client_id, ino));
  }
  *reply.mutable_attr() = std::move(attr);
  return reply;
}

Result<pb::InodeAttr> MetaOperator::Close(uint64_t client_id, uint64_t session_id, uint64_t ino, uint64_t written_end) {
  sessions_->Close(client_id, session_id);
  if (written_end > 0) return ExtendLength(ino, written_end);
  return LoadInode(ino);
}

Status MetaOperator::KeepAlive(uint64_t client_id) {
  if (sessions_->Touch(client_id)) return Status::Ok();
  return Error(Code::kNotFound, "no live session of client " + std::to_string(client_id) + "; reopen them");
}

bool MetaOperator::ClaimForReclaim(uint64_t ino) {
  std::lock_guard lock(reclaim_mutex_);
  if (sessions_->IsOpen(ino)) return false;
  reclaiming_.insert(ino);
  return true;
}

size_t MetaOperator::ReclaimOrphans() {
  if (options_.monotonic_clock_ns() < reclaim_after_ns_) return 0;  // clients may still reopen theirs
  size_t reclaimed = 0;
  std::string after;
  for (;;) {  // every page: held or failing orphans must not hide the ones behind them
    auto rows = store_.Scan(Column::kSystem, keys::kOrphanPrefix, after, kScanPage);
    if (!rows.ok()) {
      LOG_WARN << "listing orphans: " << rows.status().ToString();
      break;
    }
    for (const auto& [key, value] : *rows) {
      auto ino = keys::read_be64(std::string_view(key).substr(keys::kOrphanPrefix.size()));
      if (!ino || !ClaimForReclaim(*ino)) continue;
      auto attr = LoadInode(*ino);
      if (!attr.ok() && attr.status().code() != Code::kNotFound) {  // unreadable: keep the marker
        LOG_WARN << "reclaiming inode " << *ino << " (will retry): " << attr.status().ToString();
        continue;
      }
      if (attr.ok() && options_.trimmer) {
        Status trimmed = options_.trimmer->Trim(*ino, attr->layout(), 0);
        if (!trimmed.ok()) {
          LOG_WARN << "reclaiming inode " << *ino << " (will retry): " << trimmed.ToString();
          continue;
        }
      }
      std::lock_guard lock(mutation_mutex_);
      // A concurrent pass may have deleted it while this one trimmed: the counter must drop once.
      // (No session can have appeared: the claim keeps Open away. A failed orphan stays claimed.)
      if (!store_.Get(Column::kSystem, key).ok()) continue;
      WriteBatch batch;
      batch.Delete(Column::kSystem, key);
      int64_t delta = 0;
      if (attr.ok()) {
        batch.Delete(Column::kInodes, keys::inode_key(*ino));
        delta = -1;
      }
      Status committed = CommitCounted(batch, delta);
      if (!committed.ok()) {
        LOG_WARN << "reclaiming inode " << *ino << ": " << committed.ToString();
        continue;
      }
      ++reclaimed;
      std::lock_guard claims(reclaim_mutex_);
      reclaiming_.erase(*ino);  // gone: Open finds no inode now
    }
    if (rows->size() < kScanPage) break;
    after = rows->back().first;
  }
  if (reclaimed > 0) {
    Status synced = store_.Sync();  // the deletions were committed deferred
    if (!synced.ok()) LOG_WARN << "syncing reclaimed orphans: " << synced.ToString();
  }
  return reclaimed;
}

pb::StatFsReply MetaOperator::StatFs() const {
  pb::RoutingTable routing = registry_->Routing();
  pb::StatFsReply reply;
  std::set<uint32_t> online;
  for (const auto& node : routing.nodes()) {
    if (node.online()) online.insert(node.node_id());
  }
  reply.set_online_nodes(static_cast<uint32_t>(online.size()));
  reply.set_offline_nodes(static_cast<uint32_t>(routing.nodes_size() - online.size()));
  for (const auto& target : routing.targets()) {
    if (!online.contains(target.node_id())) continue;
    reply.set_capacity_bytes(reply.capacity_bytes() + target.capacity_bytes());
    reply.set_used_bytes(reply.used_bytes() + target.used_bytes());
  }
  // Every chunk is stored `replication` times, or once per node in a cluster with fewer nodes (a
  // chain's members are on distinct nodes): what the targets hold, divided by that, is usable space.
  const uint32_t replication =
      std::max(1u, std::min(registry_->replication(), static_cast<uint32_t>(routing.nodes_size())));
  reply.set_capacity_bytes(reply.capacity_bytes() / replication);
  reply.set_used_bytes(reply.used_bytes() / replication);
  reply.set_replication(replication);
  reply.set_inodes(inode_count_.load());
  reply.set_chunk_size(options_.chunk_size);
  return reply;
}

}  // namespace zcfs::meta
