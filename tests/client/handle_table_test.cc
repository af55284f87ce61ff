// The client's handle table and per-handle state: handle values are never reused (a stale handle is
// kBadHandle naming it), sequential positions, appends and the size a handle reports.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "file_handles.h"

namespace zcfs {
namespace {

OpenFile file_of(uint64_t ino, uint64_t size) {
  OpenFile file;
  file.info.ino = ino;
  file.info.type = FileType::kRegular;
  file.info.size = size;
  file.session_id = ino;
  return file;
}

TEST(HandleTableTest, HandlesAreNeverReusedAndAStaleOneIsBadHandleNamingIt) {
  HandleTable table;
  auto a = table.Add("/a", file_of(10, 0), O_RDONLY);
  auto b = table.Add("/b", file_of(11, 0), O_RDONLY);
  EXPECT_NE(a->handle(), 0u);
  EXPECT_NE(a->handle(), b->handle());
  ASSERT_TRUE(table.Remove(FileHandle{a->handle()}).ok());
  auto c = table.Add("/c", file_of(12, 0), O_RDONLY);
  EXPECT_NE(c->handle(), a->handle()) << "a closed handle's value came back";

  auto stale = table.Get(FileHandle{a->handle()});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::kBadHandle);
  EXPECT_NE(stale.status().message().find("handle " + std::to_string(a->handle())), std::string::npos);
  EXPECT_NE(stale.status().message().find("closed"), std::string::npos) << stale.status().ToString();
  EXPECT_EQ(table.Remove(FileHandle{a->handle()}).status().code(), Code::kBadHandle);  // closed twice
  EXPECT_EQ(table.Get(FileHandle{0}).status().code(), Code::kBadHandle);
  EXPECT_EQ(table.Get(FileHandle{999}).status().code(), Code::kBadHandle);
  auto found = table.Get(FileHandle{b->handle()});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->path(), "/b");
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.TakeAll().size(), 2u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(HandleTableTest, ConcurrentOpensAndClosesGetDistinctHandles) {
  HandleTable table;
  std::vector<std::vector<uint64_t>> seen(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto state = table.Add("/f", file_of(1, 0), O_RDWR);
        seen[t].push_back(state->handle());
        if (i % 2 == 0) {
          EXPECT_TRUE(table.Remove(FileHandle{state->handle()}).ok());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& list : seen) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), 2000u);
  EXPECT_EQ(table.size(), 1000u);
}

TEST(OpenHandleStateTest, AccessModesFollowTheOpenFlags) {
  OpenHandleState read_only(1, "/r", file_of(1, 0), O_RDONLY);
  OpenHandleState write_only(2, "/w", file_of(1, 0), O_WRONLY | O_APPEND);
  OpenHandleState both(3, "/b", file_of(1, 0), O_RDWR);
  EXPECT_TRUE(read_only.readable());
  EXPECT_FALSE(read_only.writable());
  EXPECT_FALSE(write_only.readable());
  EXPECT_TRUE(write_only.writable());
  EXPECT_TRUE(write_only.append());
  EXPECT_TRUE(both.readable() && both.writable() && !both.append());
  EXPECT_EQ(both.name(), "handle 3 (/b)");
}

TEST(OpenHandleStateTest, PositionsAdvanceAndSettleBackOnShortOrFailedCalls) {
  OpenHandleState state(1, "/f", file_of(1, 100), O_RDWR);
  EXPECT_EQ(state.Advance(40), 0u);
  EXPECT_EQ(state.Advance(40), 40u);
  state.Settle(40, 40, 25);  // a short read at 40
  EXPECT_EQ(state.Advance(10), 65u);
  state.Settle(40, 40, 0);  // too late: the position moved since, so it stays
  EXPECT_EQ(state.Advance(0), 75u);
}

TEST(OpenHandleStateTest, WritesGrowTheKnownSizeAndAppendsGoPastEachOther) {
  OpenHandleState state(1, "/f", file_of(1, 100), O_WRONLY | O_APPEND);
  EXPECT_EQ(state.info().size, 100u);
  EXPECT_EQ(state.written_end(), 0u);
  EXPECT_EQ(state.ReserveAppend(10), 100u);
  EXPECT_EQ(state.ReserveAppend(5), 110u) << "a second append overlapped the first in flight";
  EXPECT_EQ(state.info().size, 100u) << "a reservation is not a write";
  state.Wrote(110, 5);
  EXPECT_EQ(state.info().size, 115u);
  EXPECT_EQ(state.written_end(), 115u);
  state.Wrote(0, 10);  // below the end: nothing grows
  EXPECT_EQ(state.info().size, 115u);
  EXPECT_EQ(state.ReserveAppend(1), 115u);
}

}  // namespace
}  // namespace zcfs
