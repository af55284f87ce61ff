// Mutation ids: what makes a namespace mutation retried across a failover happen once.
//
// The client library numbers each mutation it sends (pb::MutationId: the client's random id and a
// sequence number) and sends a resend with the same id and `retry` set. The batch that commits a
// mutation also puts a marker for its id into the system column, so the marker is replicated with
// the mutation and is on the new primary exactly when the mutation is. A resend whose marker exists
// was committed already: the service answers it from the namespace as it is instead of running it
// again (meta_service.cc), so a retried mkdir finds its own directory rather than EEXIST, a retried
// unlink succeeds rather than ENOENT, and a retried rename cannot move a file someone created since.
//
// Markers are keyed by the minute of their commit, "mutation/" be32(minute) be64(client) be64(seq),
// so that the sweep removes whole old minutes from the front of the range. A resend is looked up in
// the minutes of the last kMutationIdLifetime (and one ahead, for another server's clock). Only
// resends are looked up: a first try costs one small put.
//
// How the marker gets into the batch without the operator's mutation code knowing: the service runs
// the mutation inside a MutationIdScope, and the operator's store is a MarkingStore, which adds the
// scope's marker to the first batch written on that thread (every mutation is one batch).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "zcfs.pb.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

// How long a resend is recognised: well past a client's failover timeout (30 s by default).
inline constexpr std::chrono::minutes kMutationIdLifetime{3};

// The mutation the calling thread is about to commit. Not copyable; scopes do not nest.
class MutationIdScope {
 public:
  MutationIdScope(const pb::MutationId& id, int64_t now_ns);
  ~MutationIdScope();
  MutationIdScope(const MutationIdScope&) = delete;
  MutationIdScope& operator=(const MutationIdScope&) = delete;
};

// Whether mutation `id` committed within the lifetime, as seen at `now_ns` (wall clock).
Result<bool> mutation_committed(const KvStore& store, const pb::MutationId& id, int64_t now_ns);
// Deletes the markers of the minutes past the lifetime; returns how many.
Result<size_t> sweep_mutation_ids(KvStore& store, int64_t now_ns);

// A KvStore that adds the marker of the calling thread's MutationIdScope to the first batch written
// in the scope, and is otherwise `inner`. Thread-safe as `inner` is.
class MarkingStore : public KvStore {
 public:
  explicit MarkingStore(KvStore& inner) : inner_(inner) {}
  Result<std::string> Get(Column column, std::string_view key) const override { return inner_.Get(column, key); }
  Status Write(const WriteBatch& batch, Durability durability = Durability::kSynced) override;
  Status Sync() override { return inner_.Sync(); }
  Result<std::vector<KeyValue>> Scan(Column column, std::string_view prefix, std::string_view after,
                                     size_t limit) const override {
    return inner_.Scan(column, prefix, after, limit);
  }

 private:
  KvStore& inner_;
};

}  // namespace zcfs::meta
