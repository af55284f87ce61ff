// The meta replication log and the primary's store over it (replication_log.h, replicated_store.h):
// numbering, the history check that sends a diverged or too old standby to a checkpoint, and a
// replicated batch carrying its position into the store.
#include "replication_log.h"

#include <gtest/gtest.h>

#include "replicated_store.h"
#include "zcfs/meta/memory_kv_store.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;

pb::ReplEntry Entry(uint64_t seq, uint64_t epoch) {
  WriteBatch batch;
  batch.Put(Column::kInodes, "k" + std::to_string(seq), "v");
  return to_entry({seq, epoch}, batch);
}

TEST(ReplicationLogTest, ServesWhatFollowsAPositionOfItsHistoryOnly) {
  ReplicationLog log;
  log.Reset({10, 3});
  EXPECT_FALSE(log.Append(Entry(12, 4)).ok()) << "a gap";
  ASSERT_TRUE(log.Append(Entry(11, 4)).ok());
  ASSERT_TRUE(log.Append(Entry(12, 4)).ok());
  EXPECT_EQ(log.last(), (LogPosition{12, 4}));

  auto after = log.After({10, 3}, 1 << 20, 0ms);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].seq(), 11u);
  EXPECT_TRUE(log.After({12, 4}, 1 << 20, 0ms)->empty()) << "caught up: nothing yet";
  // Not of this history: older than the log, ahead of it, or the same seq written by another primary.
  EXPECT_EQ(log.After({9, 3}, 1 << 20, 0ms).status().code(), Code::kOutOfRange);
  EXPECT_EQ(log.After({13, 4}, 1 << 20, 0ms).status().code(), Code::kOutOfRange);
  EXPECT_EQ(log.After({11, 3}, 1 << 20, 0ms).status().code(), Code::kOutOfRange);
  // At most max_bytes, but always one entry.
  EXPECT_EQ(log.After({10, 3}, 1, 0ms)->size(), 1u);
}

TEST(ReplicationLogTest, TheOldestEntriesGoPastItsSize) {
  ReplicationLog log(2 * Entry(1, 1).ByteSizeLong());
  log.Reset({0, 0});
  for (uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(log.Append(Entry(s, 1)).ok());
  EXPECT_EQ(log.After({0, 0}, 1 << 20, 0ms).status().code(), Code::kOutOfRange);
  auto tail = log.After({3, 1}, 1 << 20, 0ms);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->size(), 2u);
}

TEST(ReplicatedStoreTest, EveryBatchIsLoggedAndCarriesItsPosition) {
  MemoryKvStore local;
  ReplicationLog log;
  log.Reset({0, 0});
  Followers followers([](const std::vector<std::string>&) { return Status::Ok(); }, 1000ms);
  ReplicatedStore store(local, log, followers, 7);
  ASSERT_TRUE(store.Put(Column::kDentries, "a", "1").ok());
  ASSERT_TRUE(store.Delete(Column::kDentries, "a").ok());
  EXPECT_EQ(log.last(), (LogPosition{2, 7}));
  EXPECT_EQ(read_position(local).value(), (LogPosition{2, 7}));
  auto entries = log.After({0, 0}, 1 << 20, 0ms);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  auto second = to_batch((*entries)[1]);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->ops().size(), 1u) << "the position is the store's, not part of the batch shipped";
  EXPECT_TRUE(second->ops()[0].is_delete);

  pb::ReplEntry bad = (*entries)[0];
  bad.mutable_ops(0)->set_column(9);
  EXPECT_EQ(to_batch(bad).status().code(), Code::kProtocolError);
}

TEST(FollowersTest, ASilentStandbyIsDroppedBeforeTheAcknowledgementAndACaughtUpOneJoins) {
  std::vector<std::vector<std::string>> published;
  bool deposed = false;
  Followers followers(
      [&](const std::vector<std::string>& set) {
        if (deposed) return Error(Code::kNotPermitted, "deposed");
        published.push_back(set);
        return Status::Ok();
      },
      100ms);
  followers.Start({"b", "c"});
  followers.Acked("b", 5, 5);
  ASSERT_TRUE(followers.WaitAcked(5).ok());  // c said nothing for 100 ms: out first
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0], std::vector<std::string>{"b"});
  followers.Acked("c", 5, 5);  // back and caught up: in again
  EXPECT_EQ(followers.in_sync(), (std::vector<std::string>{"b", "c"}));
  deposed = true;
  EXPECT_EQ(followers.WaitAcked(6).code(), Code::kUnavailable) << "dropping needs etcd to agree";
  EXPECT_TRUE(followers.deposed());
}

}  // namespace
}  // namespace zcfs::meta
