// Concurrent namespace mutations against one MetaOperator on RocksDB: threads race creates, mkdirs,
// links, renames (plain, no-replace, exchange, across directories), unlinks and rmdirs in one small
// tree, with sessions and orphan reclaiming on the side. Afterwards fsck must find every invariant
// intact and the inode counter must match the inode records.
#include <fcntl.h>

#include <random>
#include <thread>

#include "namespace_fixture.h"

namespace zcfs::meta {
namespace {

using testing::kRoot;

class NamespaceRaceTest : public testing::NamespaceTest<testing::RocksEnv> {
 protected:
  static constexpr int kThreads = 4;
  static constexpr int kOpsPerThread = 600;
  static constexpr int kNames = 6;

  // The directories operations pick from: the root, two fixed ones and whatever "dN" names resolve
  // to at the moment of the pick (they move around and disappear).
  std::vector<uint64_t> PickableDirs(uint64_t fixed_a, uint64_t fixed_b) {
    std::vector<uint64_t> dirs = {kRootIno, fixed_a, fixed_b};
    for (uint64_t parent : {fixed_a, fixed_b}) {
      for (int i = 0; i < kNames; ++i) {
        auto attr = op().Lookup(parent, "d" + std::to_string(i));
        if (attr.ok() && attr->type() == pb::FILE_TYPE_DIRECTORY) dirs.push_back(attr->ino());
      }
    }
    return dirs;
  }

  void Worker(int seed, uint64_t fixed_a, uint64_t fixed_b, std::atomic<int>& succeeded) {
    std::mt19937 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    auto name = [&] { return std::string(pick(2) ? "f" : "d") + std::to_string(pick(kNames)); };
    for (int i = 0; i < kOpsPerThread; ++i) {
      std::vector<uint64_t> dirs = PickableDirs(fixed_a, fixed_b);
      uint64_t dir = dirs[pick(dirs.size())];
      uint64_t other = dirs[pick(dirs.size())];
      std::string n = name(), m = name();
      Status s;
      switch (pick(9)) {
        case 0:
          s = internal::to_status(op().Create(dir, "f" + n.substr(1), 0644, kRoot, pick(2) == 0));
          break;
        case 1:
          s = internal::to_status(op().Mkdir(dir, "d" + n.substr(1), 0755, kRoot));
          break;
        case 2:
          s = op().Unlink(dir, n, kRoot);
          break;
        case 3:
          s = op().Rmdir(dir, n, kRoot);
          break;
        case 4:
          s = op().Rename(dir, n, other, m, 0, kRoot);
          break;
        case 5:
          s = op().Rename(dir, n, other, m, pick(2) ? rename::kExchange : rename::kNoReplace, kRoot);
          break;
        case 6: {
          auto target = op().Lookup(dir, n);
          if (target.ok()) s = internal::to_status(op().Link(target->ino(), other, "f" + m.substr(1), kRoot));
          break;
        }
        case 7:
          s = internal::to_status(op().Symlink(dir, "f" + n.substr(1), "t", kRoot));
          break;
        case 8: {
          auto target = op().Lookup(dir, n);
          if (target.ok() && target->type() == pb::FILE_TYPE_REGULAR) {
            auto opened = op().Open(target->ino(), O_RDWR, kRoot, seed);
            if (opened.ok()) {
              (void)op().Close(seed, opened->session_id(), target->ino(), 1 + pick(1000));
            }
          }
          op().ReclaimOrphans();
          break;
        }
      }
      if (s.ok()) ++succeeded;
    }
  }
};

TEST_F(NamespaceRaceTest, InvariantsHoldAfterConcurrentMutations) {
  PassStartupGrace();
  pb::InodeAttr a = Mkdir(kRootIno, "A");
  pb::InodeAttr b = Mkdir(kRootIno, "B");
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { Worker(100 + t, a.ino(), b.ino(), succeeded); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_GT(succeeded.load(), kThreads * kOpsPerThread / 10);  // the races did mutate the tree

  ExpectConsistent();
  // The counter matches the records, also after the remaining orphans went and after a restart.
  auto count_inodes = [&] {
    auto rows = store().Scan(Column::kInodes, "", "", 0);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->size() : 0;
  };
  EXPECT_EQ(op().StatFs().inodes(), count_inodes());
  op().ReclaimOrphans();
  auto orphans = store().Scan(Column::kSystem, keys::kOrphanPrefix, "", 0);
  ASSERT_TRUE(orphans.ok());
  EXPECT_TRUE(orphans->empty());
  EXPECT_EQ(op().StatFs().inodes(), count_inodes());
  ExpectConsistent();
  env_.Restart();
  EXPECT_EQ(op().StatFs().inodes(), count_inodes());
  ExpectConsistent();
}

}  // namespace
}  // namespace zcfs::meta
