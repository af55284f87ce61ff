// The batched read ring against real servers: many reads of many files in one Submit land in
// registered buffers byte for byte with no user-space copy, short reads at the end of a file, holes,
// every refusal (bad or closed handle, unregistered memory, a full ring), and the failure paths that
// must not hang or write into freed memory (a frozen storage server, a buffer released mid-read).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support/local_cluster.h"
#include "support/random_data.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kChunk = 64 << 10;

using testing::random_data;

bool has(const Status& status, std::string_view part) { return status.message().find(part) != std::string::npos; }

// A cluster, a client on it and helpers to make files with small chunks (so that reads cross chunks
// and storage servers).
class ReadRingTest : public ::testing::Test {
 protected:
  explicit ReadRingTest(int servers = 3) : cluster_("read-ring", cluster_options(servers)) {}
  static testing::ClusterOptions cluster_options(int servers) {
    testing::ClusterOptions options;
    options.storage_servers = servers;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(cluster_.Start().ok()) << cluster_.logs();
    client_ = Connect(false);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    EXPECT_TRUE(cluster_.Stop().ok()) << cluster_.logs();
  }

  std::unique_ptr<Client> Connect(bool verify) {
    ClientOptions options;
    options.meta_address = cluster_.meta_address();
    options.verify_checksums = verify;
    auto client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // Creates /`name` with small chunks holding `data` and opens it read-only on `client`.
  FileHandle MakeFile(Client& client, const std::string& name, std::span<const std::byte> data) {
    CreateOptions create;
    create.chunk_size = kChunk;
    auto file = client_->Create(kRootInode, name, create);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return {};
    if (!data.empty()) {
      EXPECT_TRUE(client_->WriteAndExtend(*file, 0, data).ok());
    }
    auto handle = client.OpenHandle("/" + name, O_RDONLY);
    EXPECT_TRUE(handle.ok()) << handle.status().ToString();
    return handle.ok() ? *handle : FileHandle{};
  }

  testing::LocalCluster cluster_;
  std::unique_ptr<Client> client_;
};

struct PlannedRead {
  size_t file = 0;
  uint64_t offset = 0;
  size_t length = 0;
  size_t at = 0;  // offset in the buffer
};

// 96 reads of 24 files (sizes not chunk multiples) in one Submit, with and without end-to-end checksums.
TEST_F(ReadRingTest, ManyReadsOfManyFilesInOneSubmitLandByteForByteWithoutACopy) {
  for (bool verify : {false, true}) {
    SCOPED_TRACE(verify ? "verified checksums" : "plain");
    auto reader = Connect(verify);
    ASSERT_NE(reader, nullptr);
    std::vector<std::vector<std::byte>> contents;
    std::vector<FileHandle> handles;
    std::mt19937_64 rng(verify ? 2 : 1);
    for (int f = 0; f < 24; ++f) {
      contents.push_back(random_data(kChunk * (1 + rng() % 5) + rng() % 5000, rng()));
      handles.push_back(MakeFile(*reader, "f" + std::to_string(f) + (verify ? "v" : ""), contents.back()));
    }
    std::vector<PlannedRead> plan;
    size_t total = 0;
    for (int r = 0; r < 96; ++r) {
      size_t file = rng() % contents.size();
      uint64_t offset = rng() % contents[file].size();
      size_t length = 1 + rng() % (3 * kChunk);  // often across chunks, sometimes past the end
      plan.push_back(PlannedRead{file, offset, length, total});
      total += length;
    }
    auto buffer = reader->AllocateBuffer(total);
    ASSERT_TRUE(buffer.ok()) << buffer.status().ToString();
    std::memset((*buffer)->data(), 0x5a, total);
    auto ring = reader->CreateReadRing({.depth = 128});
    ASSERT_TRUE(ring.ok());
    for (size_t r = 0; r < plan.size(); ++r) {
      ReadEntry entry{handles[plan[r].file], plan[r].offset, plan[r].length, (*buffer)->data() + plan[r].at, r};
      ASSERT_TRUE((*ring)->Prepare(entry).ok());
    }
    uint64_t copied_before = reader->user_copy_bytes();
    auto submitted = (*ring)->Submit();
    ASSERT_TRUE(submitted.ok());
    EXPECT_EQ(*submitted, plan.size());
    std::vector<ReadCompletion> done(plan.size());
    size_t got = 0;
    while (got < plan.size()) {
      size_t n = (*ring)->Wait(std::span(done).subspan(got), plan.size() - got, 60s);
      ASSERT_GT(n, 0u) << "no completion within a minute";
      got += n;
    }
    EXPECT_EQ(reader->user_copy_bytes(), copied_before) << "ring reads copied bytes in user space";
    EXPECT_EQ((*ring)->in_flight(), 0u);
    for (const auto& completion : done) {
      const PlannedRead& p = plan[completion.user_data];
      const auto& data = contents[p.file];
      ASSERT_TRUE(completion.status.ok()) << completion.status.ToString();
      size_t expected = std::min<uint64_t>(p.length, data.size() - p.offset);
      ASSERT_EQ(completion.bytes, expected);
      EXPECT_EQ(std::memcmp((*buffer)->data() + p.at, data.data() + p.offset, expected), 0)
          << "read " << completion.user_data << " of file " << p.file << " at " << p.offset;
    }
  }
}

TEST_F(ReadRingTest, ShortReadsAtTheEndAndHolesAsZeros) {
  // 3.5 chunks; data only in the first and last 1000 bytes: the middle is a hole.
  const uint64_t size = 3 * kChunk + kChunk / 2;
  auto head = random_data(1000, 7);
  auto tail = random_data(1000, 8);
  CreateOptions create;
  create.chunk_size = kChunk;
  auto file = client_->Create(kRootInode, "sparse", create);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(client_->Write(*file, 0, head).ok());
  ASSERT_TRUE(client_->Write(*file, size - tail.size(), tail).ok());
  ASSERT_TRUE(client_->ExtendLength(file->ino, size).ok());
  auto handle = client_->OpenHandle("/sparse", O_RDONLY);
  ASSERT_TRUE(handle.ok());

  auto buffer = client_->AllocateBuffer(size + 3 * 4096);
  ASSERT_TRUE(buffer.ok());
  std::byte* mem = (*buffer)->data();
  std::memset(mem, 0x5a, (*buffer)->size());
  auto ring = client_->CreateReadRing();
  ASSERT_TRUE(ring.ok());
  ASSERT_TRUE((*ring)->Prepare({*handle, 0, size, mem, 1}).ok());                          // all of it
  ASSERT_TRUE((*ring)->Prepare({*handle, size - 500, 4096, mem + size, 2}).ok());          // 500 left
  ASSERT_TRUE((*ring)->Prepare({*handle, size, 4096, mem + size + 4096, 3}).ok());         // at the end
  ASSERT_TRUE((*ring)->Prepare({*handle, size + 9999, 4096, mem + size + 8192, 4}).ok());  // past it
  ASSERT_TRUE((*ring)->Submit().ok());
  ReadCompletion done[4];
  ASSERT_EQ((*ring)->Wait(done, 4, 60s), 4u);
  std::map<uint64_t, ReadCompletion> by_id;
  for (auto& c : done) {
    EXPECT_TRUE(c.status.ok()) << c.status.ToString();
    by_id[c.user_data] = c;
  }
  EXPECT_EQ(by_id[1].bytes, size);
  EXPECT_EQ(by_id[2].bytes, 500u);
  EXPECT_EQ(by_id[3].bytes, 0u);
  EXPECT_EQ(by_id[4].bytes, 0u);
  EXPECT_EQ(std::memcmp(mem, head.data(), head.size()), 0);
  for (uint64_t i = head.size(); i < size - tail.size(); ++i) ASSERT_EQ(mem[i], std::byte{0}) << "hole byte " << i;
  EXPECT_EQ(std::memcmp(mem + size - tail.size(), tail.data(), tail.size()), 0);
  EXPECT_EQ(std::memcmp(mem + size, tail.data() + tail.size() - 500, 500), 0);
  EXPECT_EQ(mem[size + 500], std::byte{0x5a}) << "a short read wrote past its bytes";
}

TEST_F(ReadRingTest, RefusalsNameTheHandleAndQueueNothing) {
  auto handle = MakeFile(*client_, "small", random_data(10000, 3));
  auto buffer = client_->AllocateBuffer(8192);
  ASSERT_TRUE(buffer.ok());
  std::byte* mem = (*buffer)->data();
  auto ring = client_->CreateReadRing({.depth = 2});
  ASSERT_TRUE(ring.ok());

  Status bad = (*ring)->Prepare({FileHandle{987654}, 0, 100, mem, 0});
  EXPECT_EQ(bad.code(), Code::kBadHandle);
  EXPECT_TRUE(has(bad, "987654")) << bad.ToString();

  std::vector<std::byte> unregistered(100);
  Status outside = (*ring)->Prepare({handle, 0, 100, unregistered.data(), 0});
  EXPECT_EQ(outside.code(), Code::kInvalidArgument);
  EXPECT_TRUE(has(outside, "not inside a registered buffer")) << outside.ToString();
  EXPECT_TRUE(has(outside, "/small")) << outside.ToString();
  Status straddling = (*ring)->Prepare({handle, 0, 200, mem + 8192 - 100, 0});
  EXPECT_EQ(straddling.code(), Code::kInvalidArgument) << straddling.ToString();
  EXPECT_EQ((*ring)->Prepare({handle, 0, 100, nullptr, 0}).code(), Code::kInvalidArgument);
  EXPECT_EQ((*ring)->prepared(), 0u);

  // Depth 2: a third read waits until a completion is reaped, not just until Submit.
  ASSERT_TRUE((*ring)->Prepare({handle, 0, 100, mem, 1}).ok());
  ASSERT_TRUE((*ring)->Prepare({handle, 100, 100, mem + 100, 2}).ok());
  Status full = (*ring)->Prepare({handle, 200, 100, mem + 200, 3});
  EXPECT_EQ(full.code(), Code::kResourceExhausted) << full.ToString();
  ASSERT_EQ(*(*ring)->Submit(), 2u);
  EXPECT_EQ((*ring)->Prepare({handle, 200, 100, mem + 200, 3}).code(), Code::kResourceExhausted);
  ReadCompletion done[2];
  ASSERT_EQ((*ring)->Wait(done, 2, 60s), 2u);
  EXPECT_TRUE((*ring)->Prepare({handle, 200, 100, mem + 200, 3}).ok());
}

TEST_F(ReadRingTest, AHandleClosedWhilePreparedCompletesWithBadHandle) {
  auto handle = MakeFile(*client_, "closing", random_data(10000, 4));
  auto buffer = client_->AllocateBuffer(4096);
  ASSERT_TRUE(buffer.ok());
  auto ring = client_->CreateReadRing();
  ASSERT_TRUE(ring.ok());
  ASSERT_TRUE((*ring)->Prepare({handle, 0, 4096, (*buffer)->data(), 42}).ok());
  ASSERT_TRUE(client_->CloseHandle(handle).ok());
  ASSERT_EQ(*(*ring)->Submit(), 1u);
  ReadCompletion done[1];
  ASSERT_EQ((*ring)->Wait(done, 1, 60s), 1u);
  EXPECT_EQ(done[0].user_data, 42u);
  EXPECT_EQ(done[0].status.code(), Code::kBadHandle) << done[0].status.ToString();
  EXPECT_EQ(done[0].bytes, 0u);
  // And a closed handle is refused at Prepare too.
  EXPECT_EQ((*ring)->Prepare({handle, 0, 4096, (*buffer)->data(), 43}).code(), Code::kBadHandle);
}

TEST_F(ReadRingTest, WaitWithNothingInFlightReturnsAtOnce) {
  auto ring = client_->CreateReadRing();
  ASSERT_TRUE(ring.ok());
  ReadCompletion done[8];
  EXPECT_EQ((*ring)->Wait(done, 8, 10min), 0u);  // nothing can come: no waiting at all
  EXPECT_EQ((*ring)->Poll(done), 0u);
  EXPECT_EQ(*(*ring)->Submit(), 0u);
  EXPECT_EQ(client_->CreateReadRing({.depth = 0}).status().code(), Code::kInvalidArgument);
}

// One storage server, so that freezing (SIGSTOP) or moving it affects every read.
class OneServerFaultTest : public ReadRingTest {
 protected:
  OneServerFaultTest() : ReadRingTest(1) {}
  void TearDown() override {
    if (frozen_) {
      EXPECT_TRUE(cluster_.SignalStorage(0, SIGCONT).ok());
    }
    ReadRingTest::TearDown();
  }
  void Freeze() {
    ASSERT_TRUE(cluster_.SignalStorage(0, SIGSTOP).ok());
    frozen_ = true;
  }
  void Thaw() {
    ASSERT_TRUE(cluster_.SignalStorage(0, SIGCONT).ok());
    frozen_ = false;
  }
  bool frozen_ = false;
};

TEST_F(OneServerFaultTest, AReadPastItsTimeoutCompletesWithTimeout) {
  auto handle = MakeFile(*client_, "slow", random_data(3 * kChunk, 5));
  auto buffer = client_->AllocateBuffer(3 * kChunk);
  ASSERT_TRUE(buffer.ok());
  auto ring = client_->CreateReadRing({.depth = 8, .timeout = 300ms});
  ASSERT_TRUE(ring.ok());
  Freeze();
  ASSERT_TRUE((*ring)->Prepare({handle, 0, 3 * kChunk, (*buffer)->data(), 1}).ok());
  ASSERT_TRUE((*ring)->Prepare({handle, 100, 100, (*buffer)->data() + 100, 2}).ok());
  ASSERT_EQ(*(*ring)->Submit(), 2u);
  ReadCompletion done[2];
  size_t got = (*ring)->Wait(done, 2, 2min);  // bounded by the ring's timeout, not by this one
  ASSERT_EQ(got, 2u) << "reads to a frozen server did not end";
  for (const auto& c : done) {
    EXPECT_TRUE(c.status.code() == Code::kTimeout || c.status.code() == Code::kUnavailable) << c.status.ToString();
    EXPECT_TRUE(has(c.status, "/slow")) << "the error does not name the file: " << c.status.ToString();
    EXPECT_EQ(c.bytes, 0u);
  }
  Thaw();
  // The server's late replies are dropped; the ring works again.
  ASSERT_TRUE((*ring)->Prepare({handle, 0, 100, (*buffer)->data(), 3}).ok());
  ASSERT_EQ(*(*ring)->Submit(), 1u);
  ASSERT_EQ((*ring)->Wait(done, 1, 60s), 1u);
  EXPECT_TRUE(done[0].status.ok()) << done[0].status.ToString();
}

TEST_F(OneServerFaultTest, ABufferReleasedWithReadsInFlightIsNeverWritten) {
  auto handle = MakeFile(*client_, "released", random_data(2 * kChunk, 6));
  // The caller's own memory, registered: after the registration goes, nothing may land in it.
  std::vector<std::byte> memory(2 * kChunk, std::byte{0x5a});
  auto buffer = client_->RegisterBuffer(memory);
  ASSERT_TRUE(buffer.ok());
  auto ring = client_->CreateReadRing({.depth = 8, .timeout = 120s});
  ASSERT_TRUE(ring.ok());
  Freeze();
  ASSERT_TRUE((*ring)->Prepare({handle, 0, 2 * kChunk, memory.data(), 1}).ok());
  ASSERT_TRUE((*ring)->Prepare({handle, 10, 1000, memory.data() + 10, 2}).ok());
  ASSERT_EQ(*(*ring)->Submit(), 2u);
  buffer->reset();  // no reply has started placing: returns at once, later replies are dropped
  Thaw();
  ReadCompletion done[2];
  ASSERT_EQ((*ring)->Wait(done, 2, 2min), 2u);
  for (const auto& c : done) {
    EXPECT_EQ(c.status.code(), Code::kCancelled) << c.status.ToString();
    EXPECT_TRUE(has(c.status, "released")) << c.status.ToString();
  }
  for (size_t i = 0; i < memory.size(); ++i) ASSERT_EQ(memory[i], std::byte{0x5a}) << "byte " << i << " was written";
}

TEST_F(OneServerFaultTest, AServerThatMovedIsFoundAgainThroughOneRoutingRefresh) {
  auto data = random_data(3 * kChunk + 123, 9);
  auto handle = MakeFile(*client_, "moved", data);
  auto buffer = client_->AllocateBuffer(data.size());
  ASSERT_TRUE(buffer.ok());
  auto ring = client_->CreateReadRing();
  ASSERT_TRUE(ring.ok());
  auto read_all = [&]() -> Status {
    std::memset((*buffer)->data(), 0x5a, data.size());
    RETURN_IF_ERROR((*ring)->Prepare({handle, 0, data.size(), (*buffer)->data(), 1}));
    RETURN_IF_ERROR((*ring)->Submit().status());
    ReadCompletion done[1];
    if ((*ring)->Wait(done, 1, 2min) != 1) return Error(Code::kTimeout, "no completion");
    RETURN_IF_ERROR(done[0].status);
    if (done[0].bytes != data.size() || std::memcmp((*buffer)->data(), data.data(), data.size()) != 0) {
      return Error(Code::kCorruption, "wrong bytes");
    }
    return Status::Ok();
  };
  ASSERT_TRUE(read_all().ok());  // the client now holds a connection and a routing table
  ASSERT_TRUE(cluster_.RestartStorage(0).ok()) << cluster_.logs();
  // The old address refuses connections: the client fetches the routing table and reads again.
  Status moved = read_all();
  EXPECT_TRUE(moved.ok()) << moved.ToString();
  std::vector<std::byte> copy(data.size());
  auto n = client_->PRead(handle, 0, copy);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_TRUE(copy == data);
}

}  // namespace
}  // namespace zcfs
