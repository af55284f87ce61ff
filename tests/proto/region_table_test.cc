#include "zcfs/proto/region_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace zcfs {
namespace {

TEST(RegionTableTest, ResolvesInsideAndRefusesOutside) {
  RegionTable table;
  std::vector<std::byte> memory(4096);
  auto region = table.Add(memory.data(), memory.size());
  ASSERT_TRUE(region.ok());
  auto inside = table.Resolve(region->id, 100, 200);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside->data(), memory.data() + 100);
  EXPECT_TRUE(table.Resolve(region->id, 4096, 0).ok());
  EXPECT_EQ(table.Resolve(region->id, 4000, 97).status().code(), Code::kOutOfRange);
  EXPECT_EQ(table.Resolve(region->id, ~0ull, 2).status().code(), Code::kOutOfRange);  // no overflow
  EXPECT_EQ(table.Resolve(region->id + 1, 0, 1).status().code(), Code::kBadHandle);
  EXPECT_FALSE(table.Add(nullptr, 10).ok());
}

TEST(RegionTableTest, IdsAreNotReused) {
  RegionTable table;
  std::vector<std::byte> memory(64);
  auto a = table.Add(memory.data(), memory.size());
  ASSERT_TRUE(table.Remove(a->id).ok());
  EXPECT_EQ(table.Remove(a->id).code(), Code::kBadHandle);
  auto b = table.Add(memory.data(), memory.size());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(table.Resolve(a->id, 0, 1).status().code(), Code::kBadHandle);
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace zcfs
