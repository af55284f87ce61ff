// The chunk engine's on-disk formats and slot bookkeeping: record and key codecs (round trips, and
// property tests that no malformed value decodes into an inconsistent record), the slot bitmap merge
// operands (against a model, and through RocksDB across a reopen), and SlotSpace's epochs (a retired
// slot is not reused while a read that began before may still read it).
#include "chunk_layout.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "chunk_meta_db.h"
#include "slot_bitmap.h"
#include "slot_space.h"
#include "storage_server/test_util.h"
#include "zcfs/storage/pread_block_io.h"

namespace zcfs::storage_internal {
namespace {

StoredChunk RandomChunk(std::mt19937_64& rng) {
  StoredChunk c;
  c.slot.size_class = static_cast<uint8_t>(rng() % kNumClasses);
  c.slot.file = static_cast<uint32_t>(rng() % 5);
  c.slot.slot = static_cast<uint32_t>(rng());
  c.length = rng() % (ClassSize(c.slot.size_class) + 1);
  c.version = rng();
  for (uint64_t i = 0; i < BlockCount(c.length); ++i) c.block_crcs.push_back(static_cast<uint32_t>(rng()));
  return c;
}

bool Consistent(const StoredChunk& c) {
  return c.slot.size_class < kNumClasses && c.length <= ClassSize(c.slot.size_class) &&
         c.block_crcs.size() == BlockCount(c.length);
}

TEST(ChunkLayoutTest, ClassesFitTheirChunks) {
  EXPECT_EQ(ClassFor(1), 0);
  EXPECT_EQ(ClassFor(64 << 10), 0);
  EXPECT_EQ(ClassFor((64 << 10) + 1), 1);
  EXPECT_EQ(ClassFor(4 << 20), 6);
  EXPECT_EQ(ClassFor(64 << 20), kNumClasses - 1);
  EXPECT_EQ(ClassName(0), "64KiB");
  EXPECT_EQ(ClassName(6), "4MiB");
  EXPECT_EQ(BlockBytes(5000, 0), 4096u);
  EXPECT_EQ(BlockBytes(5000, 1), 904u);
  EXPECT_EQ(BlockBytes(5000, 2), 0u);
}

TEST(ChunkLayoutTest, RecordsAndKeysRoundTrip) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 300; ++i) {
    StoredChunk c = RandomChunk(rng);
    ChunkId id{rng(), static_cast<uint32_t>(rng())};
    auto decoded = DecodeStoredChunk(id, EncodeStoredChunk(c));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->length, c.length);
    EXPECT_EQ(decoded->version, c.version);
    EXPECT_EQ(decoded->slot, c.slot);
    EXPECT_EQ(decoded->block_crcs, c.block_crcs);
    auto key = DecodeChunkKey(EncodeChunkKey(id));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(*key, id);
  }
  // Keys of one inode sort by index, and before the next inode's.
  EXPECT_LT(EncodeChunkKey({7, 2}), EncodeChunkKey({7, 10}));
  EXPECT_LT(EncodeChunkKey({7, 0xFFFFFFFF}), EncodeChunkKey({8, 0}));
}

TEST(ChunkLayoutTest, MalformedRecordsAreCorruptionNeverInconsistentRecords) {
  std::mt19937_64 rng(2);
  ChunkId id{3, 4};
  for (int i = 0; i < 2000; ++i) {
    std::string value = EncodeStoredChunk(RandomChunk(rng));
    switch (rng() % 3) {
      case 0:  // cut short
        value.resize(rng() % value.size());
        break;
      case 1:  // flipped bytes
        for (int k = 0; k < 3; ++k) value[rng() % value.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      default:  // trailing garbage
        value.append(1 + rng() % 8, 'x');
    }
    auto decoded = DecodeStoredChunk(id, value);
    if (decoded.ok()) {
      EXPECT_TRUE(Consistent(*decoded));
    } else {
      EXPECT_EQ(decoded.status().code(), Code::kCorruption);
      EXPECT_NE(decoded.status().message().find("3/4"), std::string::npos);
    }
  }
  // The per-chunk-file format of earlier versions is named as such.
  auto old = DecodeStoredChunk(id, std::string(1, '\1') + std::string(16, '\0'));
  EXPECT_EQ(old.status().code(), Code::kCorruption);
  EXPECT_NE(old.status().message().find("older zcfs"), std::string::npos) << old.status().message();
  EXPECT_FALSE(DecodeChunkKey("short").ok());
  EXPECT_FALSE(DecodeChunkKey(std::string(kChunkKeySize, 'b')).ok());
}

TEST(SlotBitmapTest, OperandsMatchASetModel) {
  std::mt19937_64 rng(3);
  std::string group;
  std::set<uint32_t> model;
  for (int i = 0; i < 5000; ++i) {
    SlotId slot{2, 7, static_cast<uint32_t>(rng() % (3 * kSlotsPerGroup))};
    bool take = rng() % 2 == 0;
    std::string op = EncodeSlotOp(slot, take);
    std::string_view view = op;
    ASSERT_TRUE(ApplySlotOps(group, std::span<const std::string_view>(&view, 1)).ok());
    uint32_t bit = slot.slot % kSlotsPerGroup;
    if (take) {
      model.insert(bit);
    } else {
      model.erase(bit);
    }
  }
  for (uint32_t bit = 0; bit < kSlotsPerGroup; ++bit) {
    bool set = (static_cast<unsigned char>(group[bit / 8]) >> (bit % 8) & 1) != 0;
    ASSERT_EQ(set, model.count(bit) == 1) << bit;
  }
  auto key = DecodeGroupKey(EncodeGroupKey({2, 7, 3 * kSlotsPerGroup + 5}));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size_class, 2);
  EXPECT_EQ(key->file, 7u);
  EXPECT_EQ(key->group, 3u);
}

TEST(SlotBitmapTest, MalformedOperandsAndGroupsAreRejected) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 1000; ++i) {
    std::string op = EncodeSlotOp({0, 0, static_cast<uint32_t>(rng() % kSlotsPerGroup)}, true);
    op[rng() % op.size()] = static_cast<char>(rng());
    if (rng() % 2) op.push_back('z');
    std::string group;
    std::string_view view = op;
    Status s = ApplySlotOps(group, std::span<const std::string_view>(&view, 1));
    if (!s.ok()) {
      EXPECT_EQ(s.code(), Code::kCorruption);
    }
    EXPECT_EQ(group.size(), kGroupBytes);  // never resized by an operand
  }
  std::string wrong(kGroupBytes - 1, '\0');
  EXPECT_EQ(ApplySlotOps(wrong, {}).code(), Code::kCorruption);
  EXPECT_FALSE(DecodeGroupKey(std::string(kGroupKeySize, 'c')).ok());
}

TEST(ChunkMetaDbTest, RecordsAndSlotChangesCommitTogetherAndSurviveReopen) {
  testing::ScratchDir dir;
  const std::string path = dir.path() + "/meta.db";
  StoredChunk a{5000, 1, {1, 0, 3}, {11, 12}};
  StoredChunk b{100, 1, {0, 0, 4100}, {13}};
  {
    auto db = ChunkMetaDb::Open(path);
    ASSERT_TRUE(db.ok());
    MetaChange both;
    both.put = {{{1, 0}, a}, {{1, 1}, b}};
    both.take = {a.slot, b.slot};
    ASSERT_TRUE((*db)->Commit(both).ok());
    StoredChunk moved = a;
    moved.slot = {1, 0, 9};
    MetaChange move;
    move.put = {{{1, 0}, moved}};
    move.take = {moved.slot};
    move.free = {a.slot};
    ASSERT_TRUE((*db)->Commit(move).ok());
    MetaChange remove;
    remove.erase = {{1, 1}};
    remove.free = {b.slot};
    ASSERT_TRUE((*db)->Commit(remove).ok());
  }
  auto db = ChunkMetaDb::Open(path);
  ASSERT_TRUE(db.ok());
  auto groups = (*db)->LoadSlotGroups();
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  std::set<SlotId> taken;
  for (const SlotGroup& g : *groups) {
    for (uint32_t bit = 0; bit < kSlotsPerGroup; ++bit) {
      if (static_cast<unsigned char>(g.bits[bit / 8]) >> (bit % 8) & 1) {
        taken.insert({g.size_class, g.file, g.group * kSlotsPerGroup + bit});
      }
    }
  }
  EXPECT_EQ(taken, (std::set<SlotId>{{1, 0, 9}}));
  auto got = (*db)->Get({1, 0});
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->slot, (SlotId{1, 0, 9}));
  auto gone = (*db)->Get({1, 1});
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto scan = (*db)->Scan(1, 0, 10);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->size(), 1u);
}

class SlotSpaceTest : public ::testing::Test {
 protected:
  std::unique_ptr<SlotSpace> Open(const std::vector<SlotGroup>& committed = {}) {
    auto space =
        SlotSpace::Open({.dir = dir_.path() + "/data", .direct_io = false, .grow_bytes = 1 << 20}, io_, committed);
    EXPECT_TRUE(space.ok()) << space.status().ToString();
    return space.ok() ? std::move(*space) : nullptr;
  }
  testing::ScratchDir dir_;
  PreadBlockIo io_;
};

TEST_F(SlotSpaceTest, ARetiredSlotWaitsForReadsThatBeganBeforeIt) {
  auto space = Open();
  ASSERT_TRUE(space);
  auto a = space->Allocate(0);
  ASSERT_TRUE(a.ok());
  {
    SlotSpace::ReadPin early = space->PinForRead();
    space->Retire(*a);
    SlotSpace::ReadPin late = space->PinForRead();  // began after: cannot see the retired slot
    EXPECT_EQ(space->stats().retiring, 1u);
    auto b = space->Allocate(0);
    ASSERT_TRUE(b.ok());
    EXPECT_NE(*b, *a) << "a slot was reused while an earlier read may still read it";
    space->Cancel(*b);
  }
  EXPECT_EQ(space->stats().retiring, 0u);
  auto c = space->Allocate(0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, *a);  // free again once the early read ended
}

TEST_F(SlotSpaceTest, CommittedSlotsStayTakenAcrossReopenAndOutsideSlotsAreCorruption) {
  SlotId kept;
  {
    auto space = Open();
    ASSERT_TRUE(space);
    auto s = space->Allocate(3);
    ASSERT_TRUE(s.ok());
    kept = *s;
  }
  std::string bits(kGroupBytes, '\0');
  bits[0] = 1;  // slot 0, as allocated
  auto space = Open({{kept.size_class, 0, 0, bits}});
  ASSERT_TRUE(space);
  EXPECT_EQ(space->stats().classes[3].used, 1u);
  auto next = space->Allocate(3);
  ASSERT_TRUE(next.ok());
  EXPECT_NE(*next, kept);
  space.reset();
  auto bad = SlotSpace::Open({.dir = dir_.path() + "/data", .direct_io = false}, io_, {{5, 0, 0, bits}});
  EXPECT_EQ(bad.status().code(), Code::kCorruption) << bad.status().ToString();
}

}  // namespace
}  // namespace zcfs::storage_internal
