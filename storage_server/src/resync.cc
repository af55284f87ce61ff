#include "resync.h"

#include <algorithm>
#include <chrono>

#include "zcfs/common/logging.h"
#include "zcfs/proto/layout_rules.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::storage_internal {
namespace {

constexpr size_t kListPage = 4096;  // chunk records per ListChunks call and per local scan

}  // namespace

Resyncer::Resyncer(asio::any_io_executor executor, ChainView& view, ChainReplicator& replicator, Transport& peers,
                   std::vector<StorageTarget*> targets, std::shared_ptr<MetaRotation> meta)
    : executor_(std::move(executor)),
      view_(view),
      replicator_(replicator),
      peers_(peers),
      targets_(std::move(targets)),
      meta_(std::move(meta)) {}

void Resyncer::Poke() {
  for (const pb::Chain& chain : view_.Chains()) {
    for (StorageTarget* target : targets_) {
      // Only an up-to-date member copies: a SYNCING one resyncing its own successor would hand it a
      // copy of what it has not received yet, and its SyncDone would make that copy SERVING.
      const pb::ChainMember* self = chain_member(chain, target->id());
      if (self == nullptr || self->state() != pb::TARGET_STATE_SERVING) continue;
      std::optional<pb::ChainMember> next = chain_successor(chain, target->id());
      if (!next || next->state() != pb::TARGET_STATE_SYNCING) continue;
      {
        std::lock_guard lock(mutex_);
        if (stopped_ || !running_.emplace(chain.chain_id(), next->target_id()).second) continue;
      }
      std::pair<uint32_t, uint32_t> key{chain.chain_id(), next->target_id()};
      asio::co_spawn(executor_, Run(target, chain, next->target_id()), [this, key](std::exception_ptr e, Status s) {
        if (e) s = Error(Code::kInternal, "resync threw");
        if (!s.ok()) {
          LOG_WARN << "resync of target " << key.second << " in chain " << key.first << " stopped: " << s.ToString()
                   << " (retried while it is still needed)";
        }
        std::lock_guard lock(mutex_);
        running_.erase(key);
        progress_.erase(key);
        if (running_.empty()) idle_.notify_all();
      });
    }
  }
}

void Resyncer::Stop() {
  std::unique_lock lock(mutex_);
  stopped_ = true;
  idle_.wait(lock, [this] { return running_.empty(); });
}

std::vector<pb::ResyncProgress> Resyncer::Progress() const {
  std::lock_guard lock(mutex_);
  std::vector<pb::ResyncProgress> out;
  for (const auto& [key, progress] : progress_) out.push_back(progress);
  return out;
}

Resyncer::Stats Resyncer::stats() const {
  return Stats{jobs_done_.load(), chunks_copied_.load(), chunks_removed_.load(), bytes_copied_.load()};
}

Task<Status> Resyncer::Run(StorageTarget* source, pb::Chain chain, uint32_t successor) {
  const auto started = std::chrono::steady_clock::now();
  LOG_INFO << "resync of target " << successor << " in chain " << chain.chain_id() << " v" << chain.version()
           << " from target " << source->id() << " started";
  Result<std::map<ChunkId, ChunkMeta>> remote = co_await ListRemote(successor);
  if (!remote.ok()) co_return remote.status();
  uint64_t copied = 0, removed = 0, bytes = 0, examined = 0;
  const uint64_t total = source->store().space_stats().used_slots;
  auto report = [&] {
    pb::ResyncProgress p;
    p.set_target_id(successor);
    p.set_chain_id(chain.chain_id());
    p.set_chunks_examined(examined);
    p.set_chunks_total(std::max(total, examined));
    p.set_bytes_copied(bytes);
    std::lock_guard lock(mutex_);
    progress_[{chain.chain_id(), successor}] = std::move(p);
  };
  report();
  auto copy = [&](ChunkId id) -> Task<Status> {
    Result<uint64_t> sent = co_await replicator_.CopyChunk(*source, chain, successor, id);
    if (!sent.ok()) co_return sent.status();
    bytes += *sent;
    co_return Status::Ok();
  };
  for (ChunkId from{0, 0};;) {
    auto page = source->store().List(from, kListPage);
    if (!page.ok()) co_return page.status();
    for (const auto& [id, meta] : *page) {
      if (++examined % 64 == 0) report();
      auto there = remote->find(id);
      bool alike = there != remote->end() && there->second == meta;
      if (there != remote->end()) remote->erase(there);
      if (alike) continue;
      Status s = co_await copy(id);
      if (!s.ok()) co_return s;
      ++copied;
    }
    if (page->size() < kListPage) break;
    ChunkId last = page->back().first;
    from = last.index < UINT32_MAX ? ChunkId{last.inode, last.index + 1} : ChunkId{last.inode + 1, 0};
  }
  for (const auto& [id, meta] : *remote) {  // held only by the successor: removed (CopyChunk of nothing)
    Status s = co_await copy(id);
    if (!s.ok()) co_return s;
    ++removed;
  }
  Status reported = co_await ReportDone(chain, successor);
  if (!reported.ok()) co_return reported;
  jobs_done_.fetch_add(1);
  chunks_copied_.fetch_add(copied);
  chunks_removed_.fetch_add(removed);
  bytes_copied_.fetch_add(bytes);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LOG_INFO << "resync of target " << successor << " in chain " << chain.chain_id() << " done: " << copied
           << " chunks copied (" << (bytes >> 20) << " MiB), " << removed << " removed in " << seconds << " s ("
           << (seconds > 0 ? static_cast<double>(bytes) / (1 << 20) / seconds : 0.0) << " MiB/s)";
  co_return Status::Ok();
}

Task<Result<std::map<ChunkId, ChunkMeta>>> Resyncer::ListRemote(uint32_t successor) {
  Result<std::string> address = view_.AddressOf(successor);
  if (!address.ok()) co_return address.status();
  auto channel = co_await peers_.Channel(*address);
  if (!channel.ok()) co_return channel.status();
  std::map<ChunkId, ChunkMeta> out;
  pb::ListChunksRequest request;
  request.set_target_id(successor);
  request.set_first(true);
  request.set_max_entries(kListPage);
  for (;;) {
    auto reply = co_await CallPb<pb::ListChunksReply>(**channel, method::kListChunks, request);
    if (!reply.ok()) co_return Status(reply.status()).Prepend("list the chunks of target " + std::to_string(successor));
    for (const auto& c : reply->chunks()) out[{c.inode(), c.index()}] = ChunkMeta{c.length(), c.version(), c.digest()};
    if (reply->eof() || reply->chunks().empty()) break;
    request.set_first(false);
    request.set_after_inode(reply->chunks().rbegin()->inode());
    request.set_after_index(reply->chunks().rbegin()->index());
  }
  co_return out;
}

Task<Status> Resyncer::ReportDone(const pb::Chain& chain, uint32_t successor) {
  pb::SyncDoneRequest request;
  request.set_chain_id(chain.chain_id());
  request.set_chain_version(chain.version());
  request.set_target_id(successor);
  auto reply = co_await call_meta_pb<pb::EmptyReply>(executor_, *meta_, method::kSyncDone, request, std::chrono::seconds(5));
  if (!reply.ok()) co_return Status(reply.status()).Prepend("report a finished resync to meta");
  co_return Status::Ok();
}

}  // namespace zcfs::storage_internal
