// Crash consistency of the chunk engine: a writer process (real io_uring, O_DIRECT, RocksDB) is killed
// with SIGKILL in the middle of concurrent writes and cuts, again and again; after each kill every
// chunk must read exactly as the state after some number of its operations - the number its version
// says - never a mix, and no slot may be left taken by a write that never committed.
//
// Each chunk has a deterministic history: operation i of chunk c is derived from (c, i) and the state
// before it, so the test can rebuild the expected content for any version.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <random>
#include <vector>

#include "storage_server/test_util.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/storage/chunk_store.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {
namespace {

constexpr uint32_t kChunkSize = 1 << 20;
constexpr int kChunks = 8;
constexpr uint64_t kOpsPerChunk = 400;  // the writer stops here, so a round always ends

ChunkId ChunkOf(int c) { return {uint64_t(c) + 1, 0}; }  // one inode per chunk: cuts touch one chunk

struct Op {
  bool cut = false;
  uint64_t offset = 0;  // a write's offset, or the length a cut leaves
  std::vector<std::byte> data;
};

// Operation `i` of chunk `c`, given the chunk's content before it: appends (in place while the slot
// has room), overwrites and gap writes (copy-on-write), and cuts to a shorter length.
Op NextOp(int c, uint64_t i, const std::vector<std::byte>& content) {
  std::mt19937_64 rng(uint64_t(c) * 1000003 + i);
  Op op;
  const uint64_t length = content.size();
  const int kind = static_cast<int>(rng() % 10);
  if (kind == 0 && length > 1) {
    op.cut = true;
    op.offset = 1 + rng() % (length - 1);
    return op;
  }
  uint64_t size = 1 + rng() % (kind < 5 ? 70000 : 300000);
  if (kind < 5 && length < kChunkSize) {
    op.offset = length;  // append
  } else {
    op.offset = rng() % (std::min<uint64_t>(length + 50000, kChunkSize - 1));
  }
  size = std::min<uint64_t>(size, kChunkSize - op.offset);
  op.data = testing::random_bytes(rng, size);
  return op;
}

void Apply(const Op& op, std::vector<std::byte>& content) {
  if (op.cut) {
    content.resize(op.offset);
    return;
  }
  if (content.size() < op.offset + op.data.size()) content.resize(op.offset + op.data.size());
  std::copy(op.data.begin(), op.data.end(), content.begin() + static_cast<std::ptrdiff_t>(op.offset));
}

std::vector<std::byte> ContentAfter(int c, uint64_t ops) {
  std::vector<std::byte> content;
  for (uint64_t i = 0; i < ops; ++i) Apply(NextOp(c, i, content), content);
  return content;
}

// One chunk's operations from its current version on; a byte to `acks` after each one.
Task<Status> WriteHistory(ChunkStore& store, int c, int acks) {
  Result<std::optional<ChunkMeta>> meta = store.GetMeta(ChunkOf(c));
  if (!meta.ok()) co_return meta.status();
  uint64_t version = meta->has_value() ? (*meta)->version : 0;
  std::vector<std::byte> content = ContentAfter(c, version);
  for (uint64_t i = version; i < kOpsPerChunk; ++i) {
    Op op = NextOp(c, i, content);
    Status s;
    if (op.cut) {
      s = (co_await store.Truncate(ChunkOf(c).inode, op.offset, kChunkSize)).status();
    } else {
      s = (co_await store.Write(ChunkOf(c), op.offset, std::span<const std::byte>(op.data), kChunkSize)).status();
    }
    if (!s.ok()) co_return s;
    Apply(op, content);
    char ack = 1;
    if (::write(acks, &ack, 1) != 1) co_return Error(Code::kIoError, "ack pipe");
  }
  co_return Status::Ok();
}

ChunkStore::Options StoreOptions(const std::string& dir) {
  // Small growth steps so that the killed writer also grows data files.
  return {.dir = dir, .grow_bytes = 1 << 20};
}

// The writer process: all chunks' histories concurrently until done (or killed).
[[noreturn]] void RunWriter(const std::string& dir, int acks) {
  IoThreads threads(2);
  auto io = UringBlockIo::Create(threads.executor(), {});
  if (!io.ok()) _exit(2);
  auto store = ChunkStore::Open(StoreOptions(dir), **io);
  if (!store.ok()) _exit(3);
  std::vector<std::future<Status>> done;
  for (int c = 0; c < kChunks; ++c) {
    done.push_back(asio::co_spawn(threads.executor(), WriteHistory(**store, c, acks), asio::use_future));
  }
  for (auto& f : done) {
    if (!f.get().ok()) _exit(4);
  }
  _exit(0);
}

TEST(ChunkCrashTest, EveryChunkIsItsOldOrNewContentAfterSigkill) {
  testing::ScratchDir scratch;
  const std::string dir = scratch.path() + "/target";
  std::mt19937_64 rng(99);
  for (int round = 0; round < 8; ++round) {
    int acks[2];
    ASSERT_EQ(::pipe(acks), 0);
    pid_t pid = ::fork();  // before this process starts any thread of its own
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(acks[0]);
      RunWriter(dir, acks[1]);
    }
    ::close(acks[1]);
    // Kill after a random number of completed operations: others are in flight at that moment.
    const uint64_t wait_for = 5 + rng() % 60;
    char byte;
    uint64_t seen = 0;
    while (seen < wait_for && ::read(acks[0], &byte, 1) == 1) ++seen;
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(acks[0]);
    ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        << "writer failed with exit status " << WEXITSTATUS(status) << " in round " << round;

    IoThreads threads(2);
    auto io = UringBlockIo::Create(threads.executor(), {});
    ASSERT_TRUE(io.ok());
    auto store = ChunkStore::Open(StoreOptions(dir), **io);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    uint64_t chunks_stored = 0;
    for (int c = 0; c < kChunks; ++c) {
      auto meta = (*store)->GetMeta(ChunkOf(c));
      ASSERT_TRUE(meta.ok());
      uint64_t version = meta->has_value() ? (*meta)->version : 0;
      chunks_stored += meta->has_value() ? 1 : 0;
      auto got = run_blocking(threads.executor(), (*store)->Read(ChunkOf(c), 0, kChunkSize));
      ASSERT_TRUE(got.ok()) << "round " << round << " chunk " << c << ": " << got.status().ToString();
      std::vector<std::byte> expected = ContentAfter(c, version);
      ASSERT_EQ(got->length(), expected.size()) << "round " << round << " chunk " << c << " version " << version;
      ASSERT_TRUE(std::equal(expected.begin(), expected.end(), got->data().begin()))
          << "round " << round << " chunk " << c << " is torn at version " << version;
    }
    EXPECT_EQ((*store)->space_stats().used_slots, chunks_stored) << "a killed write left its slot taken";
    store->reset();
    threads.Stop();
  }
}

}  // namespace
}  // namespace zcfs
