// Unit tests of the daemon's inode table (fuse_mount/src/inode_table.h): lookup counting and the
// unreported writes folded into attributes.
#include <gtest/gtest.h>

#include "inode_table.h"

namespace zcfs {
namespace {

TEST(InodeTableTest, EntriesLiveWhileReferencedOrOpen) {
  InodeTable table;
  auto state = table.Remember(7);
  table.Remember(7);
  EXPECT_EQ(table.size(), 1u);
  table.Forget(7, 1);
  EXPECT_EQ(table.Find(7), state);  // one reference left
  table.Open(7);
  table.Forget(7, 1);
  EXPECT_EQ(table.Find(7), state) << "an open handle keeps the state";
  table.Close(7);
  EXPECT_EQ(table.Find(7), nullptr);
  EXPECT_EQ(table.size(), 0u);
  table.Forget(7, 3);           // unknown: ignored (and logged)
  table.Forget(kRootInode, 1);  // the root is never in the table
  EXPECT_EQ(table.size(), 0u);
}

TEST(InodeTableTest, ForgetOfMoreThanWasGivenDropsTheEntry) {
  InodeTable table;
  table.Remember(3);
  table.Forget(3, 5);
  EXPECT_EQ(table.size(), 0u);
}

FileInfo attrs(uint64_t size, int64_t mtime_ns) {
  FileInfo info;
  info.size = size;
  info.mtime_ns = mtime_ns;
  info.ctime_ns = mtime_ns;
  return info;
}

TEST(InodeStateTest, UnreportedWritesShowInAttributesUntilReported) {
  InodeState state;
  FileInfo info = attrs(100, 1000);
  state.Observe(info);
  EXPECT_EQ(info.size, 100u);  // nothing written: the server's attributes as they are
  state.Wrote(50, 200, 5000);
  info = attrs(100, 1000);
  state.Observe(info);
  EXPECT_EQ(info.size, 250u);
  EXPECT_EQ(info.mtime_ns, 5000);
  EXPECT_EQ(info.ctime_ns, 5000);
  EXPECT_EQ(state.readable_size(), 250u);

  auto report = state.PendingReport();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->end, 250u);
  state.Wrote(0, 10, 6000);  // after the report was taken: still pending once it succeeds
  state.Reported(*report, 250);
  auto next = state.PendingReport();
  ASSERT_TRUE(next.has_value());
  state.Reported(*next, 250);
  EXPECT_FALSE(state.PendingReport().has_value());
  info = attrs(250, 7000);
  state.Observe(info);
  EXPECT_EQ(info.mtime_ns, 7000);  // the server's time once it knows
}

TEST(InodeStateTest, ResizeDropsWritesPastTheNewEnd) {
  InodeState state;
  state.Wrote(0, 5000, 1);
  state.Resized(1000);
  EXPECT_EQ(state.readable_size(), 1000u);
  auto report = state.PendingReport();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->end, 1000u);  // reporting it cannot grow the file back
  state.Resized(3000);            // truncate up
  EXPECT_EQ(state.readable_size(), 3000u);
}

}  // namespace
}  // namespace zcfs
