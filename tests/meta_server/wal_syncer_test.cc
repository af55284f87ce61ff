// WalSyncer: waiters resume only after a sync that started after their commit, many waiters share
// a sync, sync errors reach every waiter of that sync, and a stopped syncer refuses new waiters.
#include "zcfs/meta/wal_syncer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "zcfs/proto/io_threads.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;

// A stand-in for the WAL: commits are numbered; a sync makes every commit made before it durable.
struct FakeWal {
  std::atomic<uint64_t> committed{0};
  std::atomic<uint64_t> durable{0};
  std::atomic<int> syncs{0};
  std::atomic<bool> fail{false};

  Status Sync() {
    uint64_t covered = committed.load();
    std::this_thread::sleep_for(2ms);  // the disk
    ++syncs;
    if (fail) return Error(Code::kIoError, "disk on fire");
    durable = covered;
    return Status::Ok();
  }
};

// Commits, then awaits durability; returns whether its commit was durable when it resumed.
Task<Result<bool>> commit_and_wait(FakeWal& wal, WalSyncer& syncer) {
  uint64_t mine = ++wal.committed;
  Status s = co_await syncer.Durable();
  if (!s.ok()) co_return s;
  co_return wal.durable.load() >= mine;
}

TEST(WalSyncerTest, WaitersResumeAfterASyncCoveringThemAndShareSyncs) {
  FakeWal wal;
  WalSyncer syncer([&wal] { return wal.Sync(); });
  IoThreads io(2);
  constexpr int kWaiters = 400;
  std::vector<std::future<Result<bool>>> results;
  for (int i = 0; i < kWaiters; ++i) {
    results.push_back(asio::co_spawn(io.executor(), commit_and_wait(wal, syncer), asio::use_future));
  }
  for (auto& r : results) {
    auto covered = r.get();
    ASSERT_TRUE(covered.ok()) << covered.status().ToString();
    EXPECT_TRUE(*covered);
  }
  // 400 waiters arriving within a few 2 ms syncs: they must have shared them.
  EXPECT_LT(wal.syncs.load(), kWaiters / 2);
  EXPECT_GE(wal.syncs.load(), 1);
}

TEST(WalSyncerTest, ASyncErrorReachesItsWaiters) {
  FakeWal wal;
  wal.fail = true;
  WalSyncer syncer([&wal] { return wal.Sync(); });
  IoThreads io(1);
  auto result = asio::co_spawn(io.executor(), commit_and_wait(wal, syncer), asio::use_future).get();
  EXPECT_EQ(result.status().code(), Code::kIoError);
}

TEST(WalSyncerTest, StoppedSyncerRefusesNewWaiters) {
  FakeWal wal;
  WalSyncer syncer([&wal] { return wal.Sync(); });
  IoThreads io(1);
  ASSERT_TRUE(asio::co_spawn(io.executor(), commit_and_wait(wal, syncer), asio::use_future).get().ok());
  syncer.Stop();
  syncer.Stop();  // idempotent
  auto late = asio::co_spawn(io.executor(), commit_and_wait(wal, syncer), asio::use_future).get();
  EXPECT_EQ(late.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace zcfs::meta
