// ChunkStore on real files through both BlockIo implementations: a randomized model check of
// unaligned reads and writes, holes, reads past the end, concurrency on one chunk, persistence,
// argument checks, failed writes, and truncation (removal, cuts, idempotence, persistence).
#include "zcfs/storage/chunk_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>

#include "storage_server/test_util.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/storage/pread_block_io.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {
namespace {

using testing::random_bytes;
using testing::ScratchDir;

constexpr uint32_t kChunkSize = 1 << 20;

enum class IoKind { kUring, kPread };

class ChunkStoreTest : public ::testing::TestWithParam<IoKind> {
 protected:
  void SetUp() override {
    if (GetParam() == IoKind::kUring) {
      // Few, small registered buffers so that both fixed and fallback paths run.
      auto io =
          UringBlockIo::Create(threads_.executor(), {.queue_depth = 64, .buffer_count = 4, .buffer_size = 256 << 10});
      ASSERT_TRUE(io.ok()) << io.status().ToString();
      io_ = std::move(*io);
    } else {
      io_ = std::make_unique<PreadBlockIo>();
    }
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    threads_.Stop();
  }
  void Reopen() {
    store_.reset();
    auto store = ChunkStore::Open({.dir = dir_.path() + "/target", .max_chunk_size = 4 << 20}, *io_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  template <typename T>
  T Run(Task<T> task) {
    return run_blocking(threads_.executor(), std::move(task));
  }
  Result<WriteResult> Write(ChunkId id, uint64_t offset, const std::vector<std::byte>& data,
                            uint32_t chunk_size = kChunkSize) {
    return Run(store_->Write(id, offset, std::span<const std::byte>(data), chunk_size));
  }
  // Reads and copies out (test convenience).
  Result<std::vector<std::byte>> Read(ChunkId id, uint64_t offset, uint64_t length) {
    auto data = Run(store_->Read(id, offset, length));
    if (!data.ok()) return data.status();
    auto span = data->data();
    return std::vector<std::byte>(span.begin(), span.end());
  }

  ScratchDir dir_;
  IoThreads threads_{2};
  std::unique_ptr<BlockIo> io_;
  std::unique_ptr<ChunkStore> store_;
};

// The expected content of a chunk: its bytes (holes are zeros) and its length.
struct ChunkModel {
  std::vector<std::byte> bytes;
  void Write(uint64_t offset, const std::vector<std::byte>& data) {
    if (bytes.size() < offset + data.size()) bytes.resize(offset + data.size());
    std::copy(data.begin(), data.end(), bytes.begin() + offset);
  }
  std::vector<std::byte> Read(uint64_t offset, uint64_t length) const {
    if (offset >= bytes.size()) return {};
    uint64_t end = std::min<uint64_t>(bytes.size(), offset + length);
    return {bytes.begin() + offset, bytes.begin() + end};
  }
};

// Offsets and lengths that stress block edges: aligned, one off either side, small, large.
uint64_t PickEdgy(std::mt19937_64& rng, uint64_t limit) {
  uint64_t base = align_down(rng() % limit, kBlockSize);
  switch (rng() % 4) {
    case 0:
      return base;
    case 1:
      return std::min(limit - 1, base + 1);
    case 2:
      return base == 0 ? 0 : base - 1;
    default:
      return rng() % limit;
  }
}

TEST_P(ChunkStoreTest, RandomizedReadsAndWritesMatchModel) {
  std::mt19937_64 rng(20240601);
  std::map<uint32_t, ChunkModel> models;  // chunk index -> model (inode 7)
  for (int step = 0; step < 300; ++step) {
    uint32_t index = rng() % 3;
    ChunkId id{7, index};
    ChunkModel& model = models[index];
    if (rng() % 2 == 0) {
      uint64_t offset = PickEdgy(rng, 300000);
      uint64_t length = 1 + PickEdgy(rng, rng() % 4 == 0 ? 200000 : 9000);
      auto data = random_bytes(rng, length);
      auto written = Write(id, offset, data);
      ASSERT_TRUE(written.ok()) << written.status().ToString();
      model.Write(offset, data);
      ASSERT_EQ(written->chunk_length, model.bytes.size()) << "step " << step;
    } else {
      uint64_t offset = PickEdgy(rng, 320000);
      uint64_t length = PickEdgy(rng, 300000);
      auto got = Read(id, offset, length);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      auto want = model.Read(offset, length);
      ASSERT_EQ(got->size(), want.size()) << "step " << step << " read " << offset << "+" << length;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got->at(i), want[i]) << "step " << step << " byte " << offset + i;
      }
    }
  }
  // Full-content check at the end, and again after reopening the store.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [index, model] : models) {
      auto got = Read({7, index}, 0, kChunkSize);
      ASSERT_TRUE(got.ok());
      ASSERT_TRUE(*got == model.bytes) << "chunk " << index << " pass " << pass;
    }
    Reopen();
  }
}

TEST_P(ChunkStoreTest, HolesAndReadsPastTheEnd) {
  ChunkId id{1, 0};
  auto unknown = Read(id, 0, 4096);
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());

  std::vector<std::byte> data(100, std::byte{0xAB});
  auto w = Write(id, 10000, data);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->chunk_length, 10100u);
  EXPECT_EQ(w->version, 1u);

  auto head = Read(id, 0, 10000);  // never written: zeros
  ASSERT_TRUE(head.ok());
  ASSERT_EQ(head->size(), 10000u);
  EXPECT_TRUE(std::all_of(head->begin(), head->end(), [](std::byte b) { return b == std::byte{0}; }));
  auto clipped = Read(id, 10050, 4096);  // clipped at the length
  ASSERT_TRUE(clipped.ok());
  EXPECT_EQ(clipped->size(), 50u);
  auto at_end = Read(id, 10100, 10);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());
  auto zero_length = Read(id, 0, 0);
  ASSERT_TRUE(zero_length.ok());
  EXPECT_TRUE(zero_length->empty());
}

TEST_P(ChunkStoreTest, ExtendingPastTheEndReadsZerosInTheGap) {
  // The last block of a short chunk holds padding past its length; a later write further out must
  // not expose it.
  ChunkId id{2, 0};
  ASSERT_TRUE(Write(id, 0, std::vector<std::byte>(10, std::byte{1})).ok());
  ASSERT_TRUE(Write(id, 5000, std::vector<std::byte>(10, std::byte{2})).ok());
  auto got = Read(id, 0, 6000);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 5010u);
  for (size_t i = 0; i < got->size(); ++i) {
    std::byte want = i < 10 ? std::byte{1} : i >= 5000 ? std::byte{2} : std::byte{0};
    ASSERT_EQ(got->at(i), want) << i;
  }
}

TEST_P(ChunkStoreTest, InvalidArguments) {
  ChunkId id{3, 0};
  std::vector<std::byte> data(4096);
  EXPECT_EQ(Write(id, kChunkSize - 100, data).status().code(), Code::kInvalidArgument);  // past chunk_size
  EXPECT_EQ(Write(id, 0, data, 0).status().code(), Code::kInvalidArgument);              // no chunk size
  EXPECT_EQ(Write(id, 0, data, 8u << 20).status().code(), Code::kInvalidArgument);       // above the limit
  EXPECT_EQ(Read(id, 0, 1ull << 40).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Read(id, (4 << 20) - 10, 100).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Read(id, ~0ull, 2).status().code(), Code::kInvalidArgument);
  auto meta = store_->GetMeta(id);
  ASSERT_TRUE(meta.ok());
  EXPECT_FALSE(meta->has_value());  // nothing was written
}

TEST_P(ChunkStoreTest, ConcurrentUnalignedWritesToOneChunkLoseNothing) {
  // 64 writers each own a distinct, unaligned 1000-byte range; many share blocks with neighbours, so
  // unserialized read-modify-write would lose bytes.
  ChunkId id{4, 1};
  constexpr int kWriters = 64;
  std::vector<std::vector<std::byte>> datas;
  std::vector<std::future<Result<WriteResult>>> futures;
  for (int i = 0; i < kWriters; ++i) {
    datas.emplace_back(1000, static_cast<std::byte>(i + 1));
  }
  for (int i = 0; i < kWriters; ++i) {
    futures.push_back(asio::co_spawn(
        threads_.executor(),
        store_->Write(id, uint64_t(i) * 1000 + 7, std::span<const std::byte>(datas[i]), kChunkSize), asio::use_future));
  }
  uint64_t max_version = 0;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    max_version = std::max(max_version, r->version);
  }
  EXPECT_EQ(max_version, uint64_t(kWriters));
  auto got = Read(id, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), kWriters * 1000u + 7);
  for (size_t i = 7; i < got->size(); ++i) {
    ASSERT_EQ(got->at(i), static_cast<std::byte>((i - 7) / 1000 + 1)) << "byte " << i;
  }
}

TEST_P(ChunkStoreTest, PersistsAcrossReopen) {
  ChunkId id{5, 9};
  std::mt19937_64 rng(5);
  auto data = random_bytes(rng, 12345);
  ASSERT_TRUE(Write(id, 333, data).ok());
  ASSERT_TRUE(Write(id, 333, data).ok());
  Reopen();
  auto meta = store_->GetMeta(id);
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->length, 333u + 12345u);
  EXPECT_EQ((*meta)->version, 2u);
  auto got = Read(id, 333, 12345);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
}

TEST_P(ChunkStoreTest, PayloadAtItsInBlockOffsetIsWrittenWithoutCopy) {
  ChunkId id{6, 0};
  uint64_t offset = 4096 * 3 + 123;
  AlignedBuffer buffer(123 + 9000);
  std::memset(buffer.data() + 123, 0x5A, 9000);
  auto w = Run(store_->Write(id, offset, AlignedPayload{&buffer, 123, 9000}, kChunkSize));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(store_->payload_bytes_copied(), 0u);
  // Placed elsewhere: copied once, same result.
  AlignedBuffer other(9000);
  std::memset(other.data(), 0x5A, 9000);
  auto w2 = Run(store_->Write(id, offset, AlignedPayload{&other, 0, 9000}, kChunkSize));
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(store_->payload_bytes_copied(), 9000u);
  auto got = Read(id, offset, 9000);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(std::all_of(got->begin(), got->end(), [](std::byte b) { return b == std::byte{0x5A}; }));
}

TEST_P(ChunkStoreTest, ReadBuffersComeFromThePoolWithoutCopy) {
  ChunkId id{8, 0};
  std::vector<std::byte> data(5000, std::byte{9});
  ASSERT_TRUE(Write(id, 100, data).ok());
  auto chunk = Run(store_->Read(id, 1000, 3000));
  ASSERT_TRUE(chunk.ok());
  ASSERT_EQ(chunk->length(), 3000u);
  // The span points into the aligned read buffer, at the requested offset's in-block position.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(chunk->data().data()) % kBlockSize, 1000u);
}

// Slots holding a chunk (committed or being written): what a store's chunks occupy on disk.
uint64_t UsedSlots(const ChunkStore& store) { return store.space_stats().used_slots; }

bool AllZero(const std::vector<std::byte>& bytes, size_t from, size_t to) {
  return std::all_of(bytes.begin() + from, bytes.begin() + to, [](std::byte b) { return b == std::byte{0}; });
}

TEST_P(ChunkStoreTest, TruncateToZeroRemovesOnlyThatInodesChunks) {
  std::vector<std::byte> data(5000, std::byte{7});
  for (uint64_t inode : {19, 20, 21}) {
    for (uint32_t index : {0u, 1u, 2u, 0xFFFFFFFFu}) ASSERT_TRUE(Write({inode, index}, 100, data).ok());
  }
  auto done = Run(store_->Truncate(20, 0, kChunkSize));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->removed_chunks, 4u);
  EXPECT_EQ(done->truncated_chunks, 0u);
  EXPECT_EQ(UsedSlots(*store_), 8u);  // inode 20's four slots are free again
  for (uint32_t index : {0u, 1u, 2u, 0xFFFFFFFFu}) {
    auto meta = store_->GetMeta({20, index});
    ASSERT_TRUE(meta.ok());
    EXPECT_FALSE(meta->has_value()) << index;
    auto got = Read({20, index}, 0, 8192);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->empty());
    for (uint64_t other : {19, 21}) {  // the neighbours in key order are untouched
      auto kept = Read({other, index}, 0, 8192);
      ASSERT_TRUE(kept.ok());
      ASSERT_EQ(kept->size(), 5100u);
      EXPECT_TRUE(std::equal(data.begin(), data.end(), kept->begin() + 100));
    }
  }
}

TEST_P(ChunkStoreTest, TruncateCutsTheChunkAtTheLengthAndLaterWritesSeeZeros) {
  std::mt19937_64 rng(11);
  auto data = random_bytes(rng, 200000);
  ASSERT_TRUE(Write({30, 0}, 0, data).ok());
  ASSERT_TRUE(Write({30, 1}, 0, data).ok());
  ASSERT_TRUE(Write({30, 2}, 0, data).ok());
  const uint64_t cut = 12345;  // not block-aligned
  auto done = Run(store_->Truncate(30, kChunkSize + cut, kChunkSize));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->removed_chunks, 1u);
  EXPECT_EQ(done->truncated_chunks, 1u);
  auto meta = store_->GetMeta({30, 1});
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->length, cut);
  EXPECT_EQ((*meta)->version, 2u);            // a cut is a change like a write
  auto whole = Read({30, 0}, 0, kChunkSize);  // before the cut chunk: untouched
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(*whole == data);

  // Extend the cut chunk twice: from inside the old data's last block, and past the end.
  std::vector<std::byte> a(1000, std::byte{0xA1}), b(10, std::byte{0xB2});
  ASSERT_TRUE(Write({30, 1}, cut - 345, a).ok());  // [12000, 13000)
  ASSERT_TRUE(Write({30, 1}, 100000, b).ok());
  auto got = Read({30, 1}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 100010u);
  EXPECT_TRUE(std::equal(data.begin(), data.begin() + 12000, got->begin()));
  EXPECT_TRUE(
      std::all_of(got->begin() + 12000, got->begin() + 13000, [](std::byte x) { return x == std::byte{0xA1}; }));
  EXPECT_TRUE(AllZero(*got, 13000, 100000)) << "bytes past the cut came back";
  EXPECT_TRUE(std::all_of(got->begin() + 100000, got->end(), [](std::byte x) { return x == std::byte{0xB2}; }));
}

TEST_P(ChunkStoreTest, TruncateIsIdempotent) {
  std::vector<std::byte> data(9000, std::byte{3});
  for (uint32_t index = 0; index < 4; ++index) ASSERT_TRUE(Write({40, index}, 0, data).ok());
  auto first = Run(store_->Truncate(40, 2 * uint64_t{kChunkSize} + 100, kChunkSize));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->removed_chunks, 1u);
  EXPECT_EQ(first->truncated_chunks, 1u);
  auto second = Run(store_->Truncate(40, 2 * uint64_t{kChunkSize} + 100, kChunkSize));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->removed_chunks, 0u);
  EXPECT_EQ(second->truncated_chunks, 0u);
  auto meta = store_->GetMeta({40, 2});
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->length, 100u);
  EXPECT_EQ((*meta)->version, 2u);  // the second call changed nothing
  EXPECT_EQ(UsedSlots(*store_), 3u);
}

TEST_P(ChunkStoreTest, TruncateAtAChunkBoundaryKeepsWholeChunks) {
  std::vector<std::byte> data(kChunkSize, std::byte{5});
  for (uint32_t index = 0; index < 3; ++index) ASSERT_TRUE(Write({50, index}, 0, data).ok());
  auto done = Run(store_->Truncate(50, 2 * uint64_t{kChunkSize}, kChunkSize));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->removed_chunks, 1u);
  EXPECT_EQ(done->truncated_chunks, 0u);
  for (uint32_t index = 0; index < 2; ++index) {
    auto meta = store_->GetMeta({50, index});
    ASSERT_TRUE(meta.ok() && meta->has_value());
    EXPECT_EQ((*meta)->length, kChunkSize);
  }
  // A length past every chunk, or past every possible chunk index, changes nothing.
  for (uint64_t length : {uint64_t{10} * kChunkSize, ~uint64_t{0}}) {
    auto none = Run(store_->Truncate(50, length, kChunkSize));
    ASSERT_TRUE(none.ok()) << none.status().ToString();
    EXPECT_EQ(none->removed_chunks + none->truncated_chunks, 0u);
  }
}

TEST_P(ChunkStoreTest, TruncateOfUnknownInodeIsANoOp) {
  for (uint64_t length : {uint64_t{0}, uint64_t{12345}, uint64_t{3} * kChunkSize + 1}) {
    auto done = Run(store_->Truncate(999, length, kChunkSize));
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ(done->removed_chunks, 0u);
    EXPECT_EQ(done->truncated_chunks, 0u);
  }
}

TEST_P(ChunkStoreTest, TruncateRemovesManyChunksInGroups) {
  // More chunks than one removal group, so several groups run and stripes repeat inside a group.
  std::vector<std::byte> data(100, std::byte{1});
  constexpr uint32_t kChunks = 150;
  for (uint32_t index = 0; index < kChunks; ++index) ASSERT_TRUE(Write({60, index}, 0, data).ok());
  auto done = Run(store_->Truncate(60, 10 * uint64_t{kChunkSize} + 50, kChunkSize));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->removed_chunks, kChunks - 11);
  EXPECT_EQ(done->truncated_chunks, 1u);
  EXPECT_EQ(UsedSlots(*store_), 11u);
  auto all = Run(store_->Truncate(60, 0, kChunkSize));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->removed_chunks, 11u);
  EXPECT_EQ(UsedSlots(*store_), 0u);
}

TEST_P(ChunkStoreTest, TruncatePersistsAcrossReopen) {
  std::mt19937_64 rng(12);
  auto data = random_bytes(rng, 30000);
  ASSERT_TRUE(Write({70, 0}, 0, data).ok());
  ASSERT_TRUE(Write({70, 1}, 0, data).ok());
  ASSERT_TRUE(Run(store_->Truncate(70, 20000, kChunkSize)).ok());
  Reopen();
  auto gone = store_->GetMeta({70, 1});
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  auto got = Read({70, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 20000u);
  EXPECT_TRUE(std::equal(got->begin(), got->end(), data.begin()));
  ASSERT_TRUE(Write({70, 0}, 25000, data).ok());  // the old bytes [20000, 30000) stay gone
  got = Read({70, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(AllZero(*got, 20000, 25000));
}

TEST_P(ChunkStoreTest, TruncateRejectsBadChunkSizes) {
  EXPECT_EQ(Run(store_->Truncate(1, 0, 0)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Run(store_->Truncate(1, 0, 8u << 20)).status().code(), Code::kInvalidArgument);  // above the limit
}

TEST_P(ChunkStoreTest, SmallChunksTakeSmallSlotsAndGrowingChunksMoveUp) {
  std::mt19937_64 rng(21);
  auto data = random_bytes(rng, 10000);
  ASSERT_TRUE(Write({80, 0}, 0, data).ok());
  EXPECT_EQ(store_->space_stats().used_bytes, 64u << 10);  // the smallest class
  // Appends of 50 KB up to 1 MB: in place while the slot has room, then to a larger class.
  ChunkModel model;
  model.Write(0, data);
  for (uint64_t offset = data.size(); offset + 50000 <= kChunkSize; offset += 50000) {
    auto more = random_bytes(rng, 50000);
    ASSERT_TRUE(Write({80, 0}, offset, more).ok());
    model.Write(offset, more);
  }
  auto got = Read({80, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == model.bytes);
  EXPECT_EQ(UsedSlots(*store_), 1u);  // the slots it outgrew are free
  EXPECT_EQ(store_->space_stats().used_bytes, uint64_t{kChunkSize});
}

// A chunk outgrowing its slot by an append moves to a slot four times as large (at most the chunk
// size), so sequential appends copy it about once; one written at once, or overwritten, takes the
// smallest slot that holds it.
TEST_P(ChunkStoreTest, AppendedChunksGrowFourfoldUpToTheChunkSize) {
  std::mt19937_64 rng(23);
  ChunkModel model;
  auto append = [&](uint64_t length) {
    auto more = random_bytes(rng, length);
    const uint64_t at = model.bytes.size();
    ASSERT_TRUE(Write({82, 0}, at, more).ok());
    model.Write(at, more);
  };
  ASSERT_NO_FATAL_FAILURE(append(64 << 10));
  EXPECT_EQ(store_->space_stats().used_bytes, 64u << 10);
  ASSERT_NO_FATAL_FAILURE(append(64 << 10));  // outgrows 64 KiB: 256 KiB, not 128 KiB
  EXPECT_EQ(store_->space_stats().used_bytes, 256u << 10);
  ASSERT_NO_FATAL_FAILURE(append(128 << 10));  // fills it in place
  EXPECT_EQ(store_->space_stats().used_bytes, 256u << 10);
  ASSERT_NO_FATAL_FAILURE(append(4096));  // outgrows 256 KiB: 1 MiB (4x is also the chunk size here)
  EXPECT_EQ(store_->space_stats().used_bytes, uint64_t{kChunkSize});
  auto got = Read({82, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == model.bytes);
  EXPECT_EQ(UsedSlots(*store_), 1u);

  // Written at once: the smallest slot; an overwrite that grows it too.
  ASSERT_TRUE(Write({83, 0}, 0, random_bytes(rng, 100 << 10)).ok());
  EXPECT_EQ(store_->space_stats().used_bytes, uint64_t{kChunkSize} + (128u << 10));
  ASSERT_TRUE(Write({83, 0}, 50 << 10, random_bytes(rng, 100 << 10)).ok());  // to 150 KiB: 256 KiB
  EXPECT_EQ(store_->space_stats().used_bytes, uint64_t{kChunkSize} + (256u << 10));
}

TEST_P(ChunkStoreTest, OverwritesAreCopyOnWriteAndFreeTheOldSlot) {
  std::mt19937_64 rng(22);
  auto data = random_bytes(rng, 300000);
  ASSERT_TRUE(Write({81, 0}, 0, data).ok());
  ChunkModel model;
  model.Write(0, data);
  for (int i = 0; i < 20; ++i) {
    uint64_t offset = PickEdgy(rng, 300000);
    auto patch = random_bytes(rng, 1 + rng() % 20000);
    ASSERT_TRUE(Write({81, 0}, offset, patch).ok());
    model.Write(offset, patch);
  }
  auto got = Read({81, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == model.bytes);
  EXPECT_EQ(UsedSlots(*store_), 1u);
  EXPECT_EQ(store_->space_stats().data_files, 1u) << "overwrites should reuse the slots they free";
}

TEST_P(ChunkStoreTest, SpaceOfRemovedChunksIsReused) {
  std::vector<std::byte> data(200000, std::byte{4});
  for (uint32_t index = 0; index < 40; ++index) ASSERT_TRUE(Write({82, index}, 0, data).ok());
  const ChunkStore::SpaceStats before = store_->space_stats();
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(Run(store_->Truncate(82, 0, kChunkSize)).ok());
    EXPECT_EQ(UsedSlots(*store_), 0u);
    for (uint32_t index = 0; index < 40; ++index) ASSERT_TRUE(Write({82, index}, 0, data).ok());
  }
  EXPECT_EQ(store_->space_stats().slot_bytes, before.slot_bytes) << "the data files grew instead of reusing slots";
  EXPECT_EQ(store_->space_stats().data_files, before.data_files);
}

TEST_P(ChunkStoreTest, ReusedSlotsNeverShowTheirEarlierContents) {
  std::vector<std::byte> secret(60000, std::byte{0xEE});
  ASSERT_TRUE(Write({83, 0}, 0, secret).ok());
  ASSERT_TRUE(Run(store_->Truncate(83, 0, kChunkSize)).ok());
  // The next chunk gets the freed slot; its gap and the rest of its last block must read as zeros.
  std::vector<std::byte> small(10, std::byte{1});
  ASSERT_TRUE(Write({84, 0}, 30000, small).ok());
  auto got = Read({84, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 30010u);
  EXPECT_TRUE(AllZero(*got, 0, 30000));
  ASSERT_TRUE(Write({84, 0}, 50000, small).ok());  // extends in place over the old bytes
  got = Read({84, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 50010u);
  EXPECT_TRUE(AllZero(*got, 30010, 50000));
}

TEST_P(ChunkStoreTest, AFlippedByteOnDiskIsAChecksumErrorNotWrongData) {
  std::mt19937_64 rng(23);
  auto data = random_bytes(rng, 20000);
  ASSERT_TRUE(Write({85, 0}, 0, data).ok());
  store_.reset();  // the only chunk: slot 0 of the first 64 KiB data file
  const std::string file = dir_.path() + "/target/data/64KiB.0000";
  {
    int fd = ::open(file.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char byte = 0;
    ASSERT_EQ(::pread(fd, &byte, 1, 9000), 1);
    byte = static_cast<char>(byte ^ 0x10);
    ASSERT_EQ(::pwrite(fd, &byte, 1, 9000), 1);
    ::close(fd);
  }
  Reopen();
  auto bad = Read({85, 0}, 8000, 2000);  // block 2 holds byte 9000
  EXPECT_EQ(bad.status().code(), Code::kChecksumMismatch) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("85/0"), std::string::npos) << bad.status().message();
  auto good = Read({85, 0}, 0, 8192);  // blocks 0 and 1 are intact
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(std::equal(good->begin(), good->end(), data.begin()));
  // A write that must keep the damaged block fails rather than launder it under a new checksum.
  std::vector<std::byte> patch(100, std::byte{2});
  EXPECT_EQ(Write({85, 0}, 100, patch).status().code(), Code::kChecksumMismatch);
  // One that replaces the whole chunk succeeds.
  ASSERT_TRUE(Write({85, 0}, 0, data).ok());
  auto healed = Read({85, 0}, 0, kChunkSize);
  ASSERT_TRUE(healed.ok());
  EXPECT_TRUE(*healed == data);
}

TEST_P(ChunkStoreTest, ManyDataFilesPerClassWhenFilesAreSmall) {
  store_.reset();
  auto store = ChunkStore::Open(
      {.dir = dir_.path() + "/small-files", .grow_bytes = 128 << 10, .max_file_bytes = 256 << 10}, *io_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(*store);
  std::mt19937_64 rng(24);
  std::vector<std::vector<std::byte>> datas;
  for (uint32_t index = 0; index < 10; ++index) {
    datas.push_back(random_bytes(rng, 40000 + index));
    ASSERT_TRUE(Write({86, index}, 0, datas.back()).ok());
  }
  EXPECT_EQ(store_->space_stats().data_files, 3u);  // 4 slots of 64 KiB per file
  store_.reset();
  store = ChunkStore::Open({.dir = dir_.path() + "/small-files", .grow_bytes = 128 << 10, .max_file_bytes = 256 << 10},
                           *io_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(*store);
  EXPECT_EQ(UsedSlots(*store_), 10u);
  for (uint32_t index = 0; index < 10; ++index) {
    auto got = Read({86, index}, 0, kChunkSize);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(*got == datas[index]) << index;
  }
}

// Replication's primitives (resync, forwarding to a syncing replica): a replacement holds exactly the
// given bytes at the given version whatever the chunk held, an empty one removes the chunk, List walks
// every inode's chunks in id order with digests that tell equal contents from different ones.
TEST_P(ChunkStoreTest, ReplaceRemoveAndListForResync) {
  std::mt19937_64 rng(31);
  auto big = random_bytes(rng, 700000);
  ASSERT_TRUE(Write({90, 0}, 0, big).ok());
  ASSERT_TRUE(Write({90, 1}, 5000, random_bytes(rng, 3000)).ok());
  ASSERT_TRUE(Write({91, 7}, 0, random_bytes(rng, 10)).ok());

  // Replace a longer chunk with a shorter copy: no byte of the old one may show past its end.
  AlignedBuffer copy(kBlockSize * 3, AlignedBuffer::Init::kUninitialized);
  auto wanted = random_bytes(rng, 9000);
  std::memcpy(copy.data(), wanted.data(), wanted.size());
  auto replaced = Run(store_->Replace({90, 0}, AlignedPayload{&copy, 0, wanted.size()}, 42));
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->chunk_length, 9000u);
  EXPECT_EQ(replaced->version, 42u);
  auto got = Read({90, 0}, 0, kChunkSize);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == wanted);
  // A replica that missed a chunk gets it whole.
  ASSERT_TRUE(Run(store_->Replace({92, 3}, AlignedPayload{&copy, 0, wanted.size()}, 7)).ok());

  auto listed = store_->List({0, 0}, 100);
  ASSERT_TRUE(listed.ok());
  std::vector<ChunkId> ids;
  for (const auto& [id, meta] : *listed) ids.push_back(id);
  EXPECT_EQ(ids, (std::vector<ChunkId>{{90, 0}, {90, 1}, {91, 7}, {92, 3}}));
  const ChunkMeta& replaced_meta = (*listed)[0].second;
  const ChunkMeta& copied_meta = (*listed)[3].second;
  EXPECT_EQ(replaced_meta.version, 42u);
  EXPECT_EQ(replaced_meta.length, 9000u);
  EXPECT_EQ(replaced_meta.digest, copied_meta.digest) << "same bytes, same digest";
  EXPECT_NE(replaced_meta.digest, (*listed)[1].second.digest);
  auto page = store_->List({90, 1}, 2);  // from an id on, at most a page
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].first, (ChunkId{90, 1}));
  EXPECT_EQ((*page)[1].first, (ChunkId{91, 7}));

  // Removal, an empty replacement, and both again (nothing left: not an error).
  ASSERT_TRUE(Run(store_->Remove({90, 1})).ok());
  ASSERT_TRUE(Run(store_->Replace({91, 7}, AlignedPayload{}, 1)).ok());
  ASSERT_TRUE(Run(store_->Remove({90, 1})).ok());
  EXPECT_FALSE(store_->GetMeta({90, 1})->has_value());
  EXPECT_FALSE(store_->GetMeta({91, 7})->has_value());
  Reopen();
  listed = store_->List({0, 0}, 100);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(UsedSlots(*store_), 2u);
}

INSTANTIATE_TEST_SUITE_P(BlockIo, ChunkStoreTest, ::testing::Values(IoKind::kUring, IoKind::kPread),
                         [](const auto& info) { return info.param == IoKind::kUring ? "Uring" : "Pread"; });

// A failing disk: the error surfaces, and the committed data and metadata stay as they were.
TEST(ChunkStoreFailureTest, FailedWriteLeavesDataAndMetadataIntact) {
  ScratchDir dir;
  IoThreads threads(2);
  PreadBlockIo io;
  auto store = ChunkStore::Open({.dir = dir.path() + "/t"}, io);
  ASSERT_TRUE(store.ok());
  ChunkId id{1, 1};
  std::vector<std::byte> original(6000, std::byte{1});
  ASSERT_TRUE(
      run_blocking(threads.executor(), (*store)->Write(id, 0, std::span<const std::byte>(original), kChunkSize)).ok());

  io.FailWritesWith(ENOSPC);
  std::vector<std::byte> more(8000, std::byte{2});
  auto failed =
      run_blocking(threads.executor(), (*store)->Write(id, 8192, std::span<const std::byte>(more), kChunkSize));
  EXPECT_EQ(failed.status().code(), Code::kNoSpace);
  io.FailWritesWith(0);

  auto meta = (*store)->GetMeta(id);
  ASSERT_TRUE(meta.ok() && meta->has_value());
  EXPECT_EQ((*meta)->length, 6000u);
  EXPECT_EQ((*meta)->version, 1u);
  auto got = run_blocking(threads.executor(), (*store)->Read(id, 0, kChunkSize));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->length(), 6000u);
  EXPECT_TRUE(std::equal(original.begin(), original.end(), got->data().begin()));
  store->reset();
  threads.Stop();
}

// A full disk: the write that does not fit fails with kNoSpace before touching anything, every chunk
// stored before reads back intact, and space freed by a truncation is used again.
TEST(ChunkStoreFailureTest, FullDiskIsNoSpaceAndLosesNothing) {
  ScratchDir dir;
  const std::string mount_point = dir.path() + "/small";
  std::filesystem::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=8m") != 0) {
    GTEST_SKIP() << "mounting a small tmpfs needs root: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};
  IoThreads threads(2);
  PreadBlockIo io;
  auto store = ChunkStore::Open({.dir = mount_point + "/t", .direct_io = false, .grow_bytes = 1 << 20}, io);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::mt19937_64 rng(30);
  std::vector<std::vector<std::byte>> stored;
  Status full;
  for (uint32_t index = 0; index < 100 && full.ok(); ++index) {
    auto data = random_bytes(rng, 200000);
    auto w =
        run_blocking(threads.executor(), (*store)->Write({90, index}, 0, std::span<const std::byte>(data), kChunkSize));
    if (w.ok()) stored.push_back(std::move(data));
    full = w.status();
  }
  ASSERT_EQ(full.code(), Code::kNoSpace) << full.ToString();
  EXPECT_NE(full.message().find("full"), std::string::npos) << full.message();
  ASSERT_GE(stored.size(), 4u);
  const uint32_t failed_index = static_cast<uint32_t>(stored.size());
  auto none = (*store)->GetMeta({90, failed_index});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  for (uint32_t index = 0; index < stored.size(); ++index) {
    auto got = run_blocking(threads.executor(), (*store)->Read({90, index}, 0, kChunkSize));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(std::equal(stored[index].begin(), stored[index].end(), got->data().begin())) << index;
  }
  EXPECT_EQ((*store)->space_stats().used_slots, stored.size());
  // Remove one chunk: its slot takes the next chunk without growing any file.
  ASSERT_TRUE(
      run_blocking(threads.executor(), (*store)->Truncate(90, uint64_t{kChunkSize} * (stored.size() - 1), kChunkSize))
          .ok());
  auto again = random_bytes(rng, 200000);
  auto w = run_blocking(threads.executor(), (*store)->Write({91, 0}, 0, std::span<const std::byte>(again), kChunkSize));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  store->reset();
  threads.Stop();
}

}  // namespace
}  // namespace zcfs
