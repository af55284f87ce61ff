// The client's directory cache: longest cached prefix, expiry, and what renames and removals drop.
#include "dir_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "paths.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

// Caches every directory of "/a/b/c" (inodes 10, 11, 12).
void fill(DirCache& cache) {
  auto parts = split_path("/a/b/c");
  cache.Put(parts, 1, 1, 10);
  cache.Put(parts, 2, 10, 11);
  cache.Put(parts, 3, 11, 12);
}

TEST(DirCacheTest, FindsTheLongestCachedPrefixWithinTheDepthAsked) {
  DirCache cache(10min);
  fill(cache);
  auto parts = split_path("/a/b/c/file");
  auto hit = cache.Longest(parts, 3);
  EXPECT_EQ(hit.depth, 3u);
  EXPECT_EQ(hit.ino, 12u);
  hit = cache.Longest(parts, 2);
  EXPECT_EQ(hit.depth, 2u);
  EXPECT_EQ(hit.ino, 11u);
  EXPECT_EQ(cache.Longest(split_path("/x/y"), 2).depth, 0u);
  EXPECT_EQ(cache.Longest(split_path("//a///b"), 2).ino, 11u) << "paths are normalised";
}

TEST(DirCacheTest, DroppingADirectoryDropsEverythingBelowIt) {
  DirCache cache(10min);
  fill(cache);
  cache.Put(split_path("/ab"), 1, 1, 20);  // shares a prefix of letters, not of components
  cache.DropPath("/a/b");
  EXPECT_EQ(cache.Longest(split_path("/a/b/c"), 3).depth, 1u);
  EXPECT_EQ(cache.Longest(split_path("/ab"), 1).ino, 20u);
  cache.DropPath("/");
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DirCacheTest, RenamesAndRemovalsByInodeDropTheEntryTheyTouch) {
  DirCache cache(10min);
  fill(cache);
  cache.DropChild(10, "x");  // not cached: nothing changes
  EXPECT_EQ(cache.size(), 3u);
  cache.DropChild(10, "b");  // /a/b by its parent and name
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Longest(split_path("/a/b/c"), 3).depth, 1u);
  cache.Put(split_path("/a/b"), 2, 10, 30);  // re-cached after the change
  EXPECT_EQ(cache.Longest(split_path("/a/b"), 2).ino, 30u);
}

TEST(DirCacheTest, EntriesExpireAndATtlOfZeroCachesNothing) {
  DirCache short_lived(1ms);
  fill(short_lived);
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(short_lived.Longest(split_path("/a/b/c"), 3).depth, 0u);
  DirCache off(0ms);
  fill(off);
  EXPECT_EQ(off.size(), 0u);
  EXPECT_EQ(off.Longest(split_path("/a"), 1).depth, 0u);
}

TEST(DirCacheTest, StaysWithinItsBound) {
  DirCache cache(10min, 4);
  for (uint64_t i = 0; i < 10; ++i) cache.Put(split_path("/d" + std::to_string(i)), 1, 1, 100 + i);
  EXPECT_LE(cache.size(), 4u);
  EXPECT_EQ(cache.Longest(split_path("/d9"), 1).ino, 109u);
}

}  // namespace
}  // namespace zcfs
