#include "mutation_ids.h"

#include <optional>

#include "keys.h"

namespace zcfs::meta {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000;
constexpr size_t kSweepPage = 4096;

int64_t minute_of(int64_t ns) { return ns / kMinuteNs; }

std::string marker_key(int64_t minute, const pb::MutationId& id) {
  return std::string(keys::kMutationPrefix) + keys::be32(static_cast<uint32_t>(minute)) + keys::be64(id.client()) +
         keys::be64(id.seq());
}

// The thread's open scope: the key its batch is to carry, until a batch carried it.
thread_local std::optional<std::string> pending_marker;

}  // namespace

MutationIdScope::MutationIdScope(const pb::MutationId& id, int64_t now_ns) {
  pending_marker = marker_key(minute_of(now_ns), id);
}

MutationIdScope::~MutationIdScope() { pending_marker.reset(); }

Result<bool> mutation_committed(const KvStore& store, const pb::MutationId& id, int64_t now_ns) {
  const int64_t now = minute_of(now_ns);
  const int64_t lifetime = kMutationIdLifetime.count();
  for (int64_t minute = now + 1; minute >= now - lifetime; --minute) {
    auto marker = store.Get(Column::kSystem, marker_key(minute, id));
    if (marker.ok()) return true;
    if (marker.status().code() != Code::kNotFound) return marker.status();
  }
  return false;
}

Result<size_t> sweep_mutation_ids(KvStore& store, int64_t now_ns) {
  // Keys sort by minute first: everything before the first key of the oldest live minute goes.
  const std::string live_from = std::string(keys::kMutationPrefix) +
                                keys::be32(static_cast<uint32_t>(minute_of(now_ns) - kMutationIdLifetime.count()));
  size_t removed = 0;
  for (;;) {
    ASSIGN_OR_RETURN(auto page, store.Scan(Column::kSystem, keys::kMutationPrefix, "", kSweepPage));
    WriteBatch batch;
    for (const auto& [key, value] : page) {
      if (key >= live_from) break;
      batch.Delete(Column::kSystem, key);
    }
    if (batch.empty()) return removed;
    RETURN_IF_ERROR(store.Write(batch, Durability::kDeferred));
    removed += batch.ops().size();
    if (batch.ops().size() < page.size() || page.size() < kSweepPage) return removed;
  }
}

Status MarkingStore::Write(const WriteBatch& batch, Durability durability) {
  if (!pending_marker) return inner_.Write(batch, durability);
  WriteBatch marked = batch;
  marked.Put(Column::kSystem, std::move(*pending_marker), "");
  pending_marker.reset();
  return inner_.Write(marked, durability);
}

}  // namespace zcfs::meta
