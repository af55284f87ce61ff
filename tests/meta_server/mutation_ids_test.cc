// Mutation ids (meta_server/src/mutation_ids.h) on a MemoryKvStore: the marker rides in the first
// batch written inside a scope and in no other, is found for the lifetime and not after, and the
// sweep removes exactly the minutes past the lifetime.
#include "mutation_ids.h"

#include <gtest/gtest.h>

#include "zcfs/meta/memory_kv_store.h"

namespace zcfs::meta {
namespace {

constexpr int64_t kMinute = 60'000'000'000;

pb::MutationId id_of(uint64_t client, uint64_t seq) {
  pb::MutationId id;
  id.set_client(client);
  id.set_seq(seq);
  return id;
}

WriteBatch one_put(std::string key) {
  WriteBatch batch;
  batch.Put(Column::kInodes, std::move(key), "v");
  return batch;
}

TEST(MutationIdsTest, TheFirstBatchInAScopeCarriesTheMarker) {
  MemoryKvStore memory;
  MarkingStore store(memory);
  const int64_t now = 1000 * kMinute;
  ASSERT_TRUE(store.Write(one_put("outside")).ok());
  EXPECT_FALSE(*mutation_committed(store, id_of(1, 1), now)) << "no scope, no marker";
  {
    MutationIdScope scope(id_of(1, 1), now);
    EXPECT_FALSE(*mutation_committed(store, id_of(1, 1), now)) << "marked on commit, not before";
    ASSERT_TRUE(store.Write(one_put("a")).ok());
    ASSERT_TRUE(store.Write(one_put("b")).ok());
  }
  EXPECT_TRUE(*mutation_committed(store, id_of(1, 1), now));
  EXPECT_FALSE(*mutation_committed(store, id_of(1, 2), now)) << "another seq";
  EXPECT_FALSE(*mutation_committed(store, id_of(2, 1), now)) << "another client";
  auto markers = memory.Scan(Column::kSystem, "mutation/", "", 0);
  ASSERT_TRUE(markers.ok());
  EXPECT_EQ(markers->size(), 1u) << "one marker for the scope's first batch only";
  {
    MutationIdScope failed(id_of(1, 3), now);  // a mutation that wrote nothing (it failed)
  }
  ASSERT_TRUE(store.Write(one_put("later")).ok());
  EXPECT_FALSE(*mutation_committed(store, id_of(1, 3), now)) << "a closed scope marks nothing";
}

TEST(MutationIdsTest, FoundForTheLifetimeAndSweptAfterIt) {
  MemoryKvStore memory;
  MarkingStore store(memory);
  const int64_t start = 1000 * kMinute + 5;
  for (uint64_t minute = 0; minute < 6; ++minute) {
    MutationIdScope scope(id_of(9, minute), start + static_cast<int64_t>(minute) * kMinute);
    ASSERT_TRUE(store.Write(one_put("k" + std::to_string(minute))).ok());
  }
  const int64_t now = start + 5 * kMinute;  // the last one's minute
  const int64_t lifetime = kMutationIdLifetime.count();
  for (uint64_t minute = 0; minute < 6; ++minute) {
    const bool live = static_cast<int64_t>(minute) >= 5 - lifetime;
    EXPECT_EQ(*mutation_committed(store, id_of(9, minute), now), live) << "minute " << minute;
  }
  EXPECT_TRUE(*mutation_committed(store, id_of(9, 5), now - kMinute)) << "a server whose clock is a minute behind";
  auto swept = sweep_mutation_ids(store, now);
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(*swept, static_cast<size_t>(5 - lifetime));
  auto left = memory.Scan(Column::kSystem, "mutation/", "", 0);
  EXPECT_EQ(left->size(), static_cast<size_t>(lifetime + 1));
  EXPECT_EQ(*sweep_mutation_ids(store, now), 0u);
  for (uint64_t minute = 5 - lifetime; minute < 6; ++minute) EXPECT_TRUE(*mutation_committed(store, id_of(9, minute), now));
}

}  // namespace
}  // namespace zcfs::meta
