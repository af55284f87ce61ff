// UringBlockIo on real files: O_DIRECT reads and writes, end of file, fixed vs plain buffers, and the
// buffer pool running dry (one ring on an executor); one ring per pool thread, batched submission,
// registered files, -EAGAIN retries and short-read continuation (on pipes), full rings.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "storage_server/test_util.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/storage/pread_block_io.h"
#include "zcfs/storage/uring_block_io.h"

namespace zcfs {
namespace {

using testing::random_bytes;
using testing::ScratchDir;

class UringBlockIoTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(UringBlockIo::Options{.queue_depth = 64, .buffer_count = 4, .buffer_size = 64 << 10}); }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    threads_.Stop();
  }
  void Open(UringBlockIo::Options options) {
    auto io = UringBlockIo::Create(threads_.executor(), options);
    ASSERT_TRUE(io.ok()) << io.status().ToString();
    io_ = std::move(*io);
    fd_ = ::open((dir_.path() + "/file").c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
    ASSERT_GE(fd_, 0) << strerror(errno);
  }
  template <typename T>
  T Run(Task<T> task) {
    return run_blocking(threads_.executor(), std::move(task));
  }

  ScratchDir dir_;
  IoThreads threads_{2};
  std::unique_ptr<UringBlockIo> io_;
  int fd_ = -1;
};

TEST_F(UringBlockIoTest, WriteSyncReadRoundTripWithFixedBuffers) {
  std::mt19937_64 rng(1);
  auto data = random_bytes(rng, 32 << 10);
  IoBuffer out = io_->AcquireBuffer(data.size());
  ASSERT_NE(out.pool_index(), IoBuffer::kNotRegistered);
  std::memcpy(out.data(), data.data(), data.size());
  auto written = Run(io_->Write(fd_, 8192, out.span()));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(*written, data.size());
  ASSERT_TRUE(Run(io_->Sync(fd_)).ok());

  IoBuffer in = io_->AcquireBuffer(data.size());
  auto read = Run(io_->Read(fd_, 8192, in.span()));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, data.size());
  EXPECT_EQ(0, std::memcmp(in.data(), data.data(), data.size()));
  auto stats = io_->stats();
  EXPECT_TRUE(stats.buffers_registered);
  EXPECT_EQ(stats.fixed_ops, 2u);
  EXPECT_EQ(stats.plain_ops, 0u);
}

TEST_F(UringBlockIoTest, ReadStopsAtEndOfFile) {
  // A file of 5000 bytes (unaligned): O_DIRECT returns a partial block at the end.
  int plain = ::open((dir_.path() + "/file").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(plain, 0);
  std::vector<char> bytes(5000, 'x');
  ASSERT_EQ(::pwrite(plain, bytes.data(), bytes.size(), 0), 5000);
  ::close(plain);

  IoBuffer in = io_->AcquireBuffer(16384);
  auto read = Run(io_->Read(fd_, 0, in.span()));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, 5000u);
  auto past = Run(io_->Read(fd_, 8192, in.span()));
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 0u);
}

TEST_F(UringBlockIoTest, ErrorsBecomeStatus) {
  IoBuffer buf = io_->AcquireBuffer(4096);
  auto bad_fd = Run(io_->Read(-1, 0, buf.span()));
  EXPECT_EQ(bad_fd.status().code(), Code::kBadHandle);
  // O_DIRECT with an unaligned offset is EINVAL.
  auto unaligned = Run(io_->Write(fd_, 100, buf.span()));
  EXPECT_EQ(unaligned.status().code(), Code::kInvalidArgument);
}

TEST_F(UringBlockIoTest, EmptyPoolFallsBackToAllocatedBuffers) {
  // 4 pooled buffers of 64 KiB: take them all, then two more (one too large for the pool).
  std::vector<IoBuffer> buffers;
  for (int i = 0; i < 4; ++i) buffers.push_back(io_->AcquireBuffer(64 << 10));
  EXPECT_EQ(io_->pool().available(), 0u);
  buffers.push_back(io_->AcquireBuffer(64 << 10));
  buffers.push_back(io_->AcquireBuffer(256 << 10));
  EXPECT_EQ(buffers[4].pool_index(), IoBuffer::kNotRegistered);
  EXPECT_EQ(buffers[5].pool_index(), IoBuffer::kNotRegistered);
  EXPECT_EQ(io_->stats().pool_fallbacks, 2u);

  // Write each buffer's distinct content to its own range, concurrently, then read back.
  std::mt19937_64 rng(2);
  std::vector<std::vector<std::byte>> expected;
  std::vector<uint64_t> offsets;
  uint64_t offset = 0;
  for (auto& b : buffers) {
    expected.push_back(random_bytes(rng, b.size()));
    std::memcpy(b.data(), expected.back().data(), b.size());
    offsets.push_back(offset);
    offset += b.size();
  }
  std::vector<std::future<Result<size_t>>> writes;
  for (size_t i = 0; i < buffers.size(); ++i) {
    writes.push_back(
        asio::co_spawn(threads_.executor(), io_->Write(fd_, offsets[i], buffers[i].span()), asio::use_future));
  }
  for (auto& w : writes) {
    auto result = w.get();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }
  for (size_t i = 0; i < buffers.size(); ++i) {
    std::memset(buffers[i].data(), 0, buffers[i].size());
    auto r = Run(io_->Read(fd_, offsets[i], buffers[i].span()));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(*r, buffers[i].size());
    EXPECT_EQ(0, std::memcmp(buffers[i].data(), expected[i].data(), expected[i].size())) << "buffer " << i;
  }
  auto stats = io_->stats();
  EXPECT_GT(stats.fixed_ops, 0u);
  EXPECT_GT(stats.plain_ops, 0u);

  // Returned buffers go back to the pool.
  buffers.clear();
  EXPECT_EQ(io_->pool().available(), 4u);
}

TEST_F(UringBlockIoTest, ManyConcurrentOperations) {
  // More operations in flight than the queue depth: nothing is lost or stuck.
  constexpr int kOps = 300;
  std::vector<IoBuffer> buffers;
  for (int i = 0; i < kOps; ++i) {
    buffers.push_back(io_->AcquireBuffer(4096));
    std::memset(buffers.back().data(), i & 0xff, 4096);
  }
  std::vector<std::future<Result<size_t>>> futures;
  for (int i = 0; i < kOps; ++i) {
    futures.push_back(
        asio::co_spawn(threads_.executor(), io_->Write(fd_, uint64_t(i) * 4096, buffers[i].span()), asio::use_future));
  }
  for (auto& f : futures) ASSERT_TRUE(f.get().ok());
  IoBuffer in = io_->AcquireBuffer(kOps * 4096);
  auto r = Run(io_->Read(fd_, 0, in.span()));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, size_t(kOps) * 4096);
  for (int i = 0; i < kOps; ++i) {
    ASSERT_EQ(static_cast<int>(in.data()[i * 4096]), i & 0xff) << i;
    ASSERT_EQ(static_cast<int>(in.data()[i * 4096 + 4095]), i & 0xff) << i;
  }
}

TEST(PreadBlockIoTest, RoundTripAndInjectedErrors) {
  ScratchDir dir;
  IoThreads threads(1);
  PreadBlockIo io;
  int fd = ::open((dir.path() + "/f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  IoBuffer buf = io.AcquireBuffer(4096);
  std::memset(buf.data(), 7, 4096);
  auto w = run_blocking(threads.executor(), io.Write(fd, 4096, buf.span()));
  ASSERT_TRUE(w.ok());
  io.FailWritesWith(ENOSPC);
  auto failed = run_blocking(threads.executor(), io.Write(fd, 0, buf.span()));
  EXPECT_EQ(failed.status().code(), Code::kNoSpace);
  io.FailWritesWith(0);
  IoBuffer in = io.AcquireBuffer(16384);
  auto r = run_blocking(threads.executor(), io.Read(fd, 0, in.span()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 8192u);
  EXPECT_EQ(static_cast<int>(in.data()[4096]), 7);
  ::close(fd);
}

// One ring per context of an IoContextPool.
class UringPoolTest : public ::testing::Test {
 protected:
  static constexpr int kThreads = 3;

  void SetUp() override { Create({.queue_depth = 64, .buffer_count = 8, .buffer_size = 64 << 10}); }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    pool_.Stop();
  }
  void Create(UringBlockIo::Options options) {
    auto io = UringBlockIo::Create(pool_, options);
    ASSERT_TRUE(io.ok()) << io.status().ToString();
    io_ = std::move(*io);
    ASSERT_EQ(io_->ring_count(), size_t{kThreads});
  }
  int OpenFile(const std::string& name, int flags = O_DIRECT) {
    int fd = ::open((dir_.path() + "/" + name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | flags, 0644);
    EXPECT_GE(fd, 0) << strerror(errno);
    fds_.push_back(fd);
    return fd;
  }
  asio::any_io_executor Executor(int i) { return pool_.context(i).get_executor(); }
  template <typename T>
  T Run(int context, Task<T> task) {
    return run_blocking(Executor(context), std::move(task));
  }
  // Writes `fill` to a block at `offset` and reads it back, from whatever executor awaits this.
  Task<bool> WriteAndReadBack(int fd, uint64_t offset, int fill) {
    IoBuffer buf = io_->AcquireBuffer(4096);
    std::memset(buf.data(), fill, 4096);
    auto w = co_await io_->Write(fd, offset, buf.span());
    std::memset(buf.data(), 0, 4096);
    auto r = co_await io_->Read(fd, offset, buf.span());
    co_return w.ok() && r.ok() && *r == 4096 &&
        static_cast<int>(buf.data()[0]) == fill&& static_cast<int>(buf.data()[4095]) == fill;
  }

  ScratchDir dir_;
  IoContextPool pool_{kThreads};
  std::unique_ptr<UringBlockIo> io_;
  std::vector<int> fds_;
};

TEST_F(UringPoolTest, OperationsUseTheirThreadsRingAndCompleteOnThatThread) {
  int fd = OpenFile("file");
  std::vector<std::thread::id> context_threads;
  for (int i = 0; i < kThreads; ++i) {
    context_threads.push_back(Run(i, []() -> Task<std::thread::id> { co_return std::this_thread::get_id(); }()));
  }
  // Context i does i+1 write/read rounds and one sync, all at once on every context; every await
  // must resume on the thread that started it.
  auto worker = [&](int i) -> Task<std::vector<std::thread::id>> {
    std::vector<std::thread::id> seen{std::this_thread::get_id()};
    for (int round = 0; round <= i; ++round) {
      uint64_t offset = (uint64_t(i) * 8 + round) * 4096;
      EXPECT_TRUE(co_await WriteAndReadBack(fd, offset, 16 * i + round + 1)) << "context " << i;
      seen.push_back(std::this_thread::get_id());
    }
    EXPECT_TRUE((co_await io_->Sync(fd)).ok());
    seen.push_back(std::this_thread::get_id());
    co_return seen;
  };
  std::vector<std::future<std::vector<std::thread::id>>> futures;
  for (int i = 0; i < kThreads; ++i) futures.push_back(asio::co_spawn(Executor(i), worker(i), asio::use_future));
  for (int i = 0; i < kThreads; ++i) {
    for (std::thread::id id : futures[i].get()) EXPECT_EQ(id, context_threads[i]) << "context " << i;
  }
  // Each ring saw exactly its own thread's operations, and no waiter was woken from another thread.
  for (int i = 0; i < kThreads; ++i) {
    auto ring = io_->ring_stats(i);
    EXPECT_EQ(ring.sqes, uint64_t(2 * (i + 1) + 1)) << "ring " << i;
    EXPECT_EQ(ring.foreign_completions, 0u) << "ring " << i;
  }
  auto total = io_->stats();
  EXPECT_TRUE(total.buffers_registered);
  EXPECT_EQ(total.fixed_ops, uint64_t(2 * (1 + 2 + 3)));  // every ring uses the shared pool's buffers
  // Rings 1 and 2 share ring 0's registration where the kernel can clone it (Linux 6.12+).
  RecordProperty("buffers_cloned", total.buffers_cloned ? "yes" : "no");
}

TEST_F(UringPoolTest, OperationFromOutsideThePoolWorks) {
  int fd = OpenFile("file");
  IoThreads outside(1);
  EXPECT_TRUE(run_blocking(outside.executor(), WriteAndReadBack(fd, 0, 0x5a)));
  auto stats = io_->stats();
  EXPECT_EQ(stats.sqes, 2u);
  EXPECT_EQ(stats.foreign_completions, 2u);  // their waiter lives on `outside`
}

TEST_F(UringPoolTest, SubmissionsOfOneHandlerAreBatched) {
  int fd = OpenFile("file");
  constexpr int kReads = 32;
  IoBuffer data = io_->AcquireBuffer(kReads * 4096);
  for (int i = 0; i < kReads; ++i) std::memset(data.data() + i * 4096, i + 1, 4096);
  ASSERT_TRUE(Run(0, io_->Write(fd, 0, data.span())).ok());
  auto before = io_->ring_stats(0);

  // One handler starts every read; the ring submits them together.
  std::vector<IoBuffer> buffers;
  for (int i = 0; i < kReads; ++i) buffers.push_back(io_->AcquireBuffer(4096));
  std::promise<std::vector<std::future<Result<size_t>>>> started;
  asio::post(Executor(0), [&] {
    std::vector<std::future<Result<size_t>>> reads;
    for (int i = 0; i < kReads; ++i) {
      reads.push_back(
          asio::co_spawn(Executor(0), io_->Read(fd, uint64_t(i) * 4096, buffers[i].span()), asio::use_future));
    }
    started.set_value(std::move(reads));
  });
  auto reads = started.get_future().get();
  for (int i = 0; i < kReads; ++i) {
    auto r = reads[i].get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(static_cast<int>(buffers[i].data()[100]), i + 1);
  }
  auto after = io_->ring_stats(0);
  EXPECT_EQ(after.sqes - before.sqes, uint64_t(kReads));
  EXPECT_LE(after.submits - before.submits, 2u);  // one per op without batching
}

TEST_F(UringPoolTest, FullRingKeepsTheRestInABacklog) {
  // 4 SQEs and 16 CQEs per ring: 64 operations started at once cannot all be in the kernel.
  io_.reset();
  Create({.queue_depth = 4, .buffer_count = 0, .buffer_size = 4096});
  int fd = OpenFile("file");
  constexpr int kOps = 64;
  std::vector<IoBuffer> buffers;
  for (int i = 0; i < kOps; ++i) {
    buffers.push_back(io_->AcquireBuffer(4096));
    std::memset(buffers.back().data(), i + 1, 4096);
  }
  std::promise<std::vector<std::future<Result<size_t>>>> started;
  asio::post(Executor(1), [&] {
    std::vector<std::future<Result<size_t>>> writes;
    for (int i = 0; i < kOps; ++i) {
      writes.push_back(
          asio::co_spawn(Executor(1), io_->Write(fd, uint64_t(i) * 4096, buffers[i].span()), asio::use_future));
    }
    started.set_value(std::move(writes));
  });
  for (auto& w : started.get_future().get()) ASSERT_TRUE(w.get().ok());
  auto ring = io_->ring_stats(1);
  EXPECT_GT(ring.backlogged, 0u);
  EXPECT_EQ(ring.sqes, uint64_t(kOps));
  for (int i = 0; i < kOps; ++i) {
    std::memset(buffers[i].data(), 0, 4096);
    ASSERT_TRUE(Run(2, io_->Read(fd, uint64_t(i) * 4096, buffers[i].span())).ok());
    ASSERT_EQ(static_cast<int>(buffers[i].data()[0]), i + 1) << i;
  }
}

TEST_F(UringPoolTest, RegisteredFileOperationsUseTheFileTable) {
  int fd = OpenFile("file");
  ASSERT_TRUE(io_->RegisterFile(fd).ok());
  ASSERT_TRUE(io_->RegisterFile(fd).ok());  // again: nothing changes
  EXPECT_EQ(io_->stats().registered_files, 1u);
  // Registered in every ring: operations from two threads both use it.
  EXPECT_TRUE(Run(0, WriteAndReadBack(fd, 0, 1)));
  EXPECT_TRUE(Run(1, WriteAndReadBack(fd, 4096, 2)));
  EXPECT_TRUE(Run(1, io_->Sync(fd)).ok());
  EXPECT_EQ(io_->ring_stats(0).fixed_file_ops, 2u);
  EXPECT_EQ(io_->ring_stats(1).fixed_file_ops, 3u);

  // Unregistered, the fd keeps working on the plain path.
  io_->UnregisterFile(fd);
  io_->UnregisterFile(fd);  // again: nothing happens
  EXPECT_EQ(io_->stats().registered_files, 0u);
  EXPECT_TRUE(Run(0, WriteAndReadBack(fd, 0, 3)));
  auto stats = io_->stats();
  EXPECT_EQ(stats.fixed_file_ops, 5u);
  EXPECT_EQ(stats.sqes, 7u);
}

TEST_F(UringPoolTest, RegisterFileRejectsBadFdsAndAFullTable) {
  io_.reset();
  Create({.queue_depth = 8, .buffer_count = 1, .buffer_size = 4096, .registered_files = 2});
  EXPECT_EQ(io_->RegisterFile(-1).code(), Code::kInvalidArgument);
  int closed = OpenFile("closed");
  ::close(closed);
  fds_.pop_back();
  EXPECT_EQ(io_->RegisterFile(closed).code(), Code::kBadHandle);
  EXPECT_EQ(io_->stats().registered_files, 0u);

  // Three files with their own content; two slots.
  int a = OpenFile("a"), b = OpenFile("b"), c = OpenFile("c");
  for (int fd : {a, b, c}) EXPECT_TRUE(Run(0, WriteAndReadBack(fd, 0, fd)));
  ASSERT_TRUE(io_->RegisterFile(a).ok());
  ASSERT_TRUE(io_->RegisterFile(b).ok());
  EXPECT_EQ(io_->RegisterFile(c).code(), Code::kResourceExhausted);
  // c takes a's slot: each fd must still reach its own file.
  io_->UnregisterFile(a);
  ASSERT_TRUE(io_->RegisterFile(c).ok());
  auto before = io_->stats().fixed_file_ops;
  for (int fd : {a, b, c}) {
    IoBuffer buf = io_->AcquireBuffer(4096);
    auto r = Run(2, io_->Read(fd, 0, buf.span()));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(static_cast<int>(buf.data()[0]), fd);
  }
  EXPECT_EQ(io_->stats().fixed_file_ops - before, 2u);  // b and c
}

TEST_F(UringPoolTest, EagainIsResubmitted) {
  int fd = OpenFile("file");
  io_->InjectEagainForTesting(3);  // the write's first three completions
  EXPECT_TRUE(Run(0, WriteAndReadBack(fd, 0, 7)));
  EXPECT_EQ(io_->ring_stats(0).resubmits, 3u);
  EXPECT_EQ(io_->ring_stats(0).sqes, 5u);
}

TEST_F(UringPoolTest, EagainIsRetriedOnlyUpToTheLimit) {
  io_.reset();
  Create({.queue_depth = 8, .buffer_count = 1, .buffer_size = 4096, .max_retries = 5});
  int fd = OpenFile("file");
  io_->InjectEagainForTesting(100);
  IoBuffer buf = io_->AcquireBuffer(4096);
  auto r = Run(1, io_->Write(fd, 0, buf.span()));
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
  EXPECT_EQ(io_->ring_stats(1).resubmits, 4u);
}

TEST_F(UringPoolTest, ShortReadIsContinuedForTheRest) {
  // A pipe holding one block: a two-block read gets one, then waits in the kernel for the second.
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  fds_.insert(fds_.end(), {pipe_fds[0], pipe_fds[1]});
  std::vector<char> first(4096, 'a'), second(4096, 'b');
  ASSERT_EQ(::write(pipe_fds[1], first.data(), first.size()), 4096);
  IoBuffer buf = io_->AcquireBuffer(8192);
  auto read = asio::co_spawn(Executor(0), io_->Read(pipe_fds[0], 0, buf.span()), asio::use_future);
  // The continuation is resubmitted once the first block has come back.
  for (int i = 0; i < 10000 && io_->ring_stats(0).resubmits == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(io_->ring_stats(0).resubmits, 1u);
  ASSERT_EQ(::write(pipe_fds[1], second.data(), second.size()), 4096);
  auto r = read.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 8192u);
  EXPECT_EQ(0, std::memcmp(buf.data(), first.data(), 4096));
  EXPECT_EQ(0, std::memcmp(buf.data() + 4096, second.data(), 4096));
}

TEST(PreadBlockIoTest, TracksRegisteredFiles) {
  ScratchDir dir;
  PreadBlockIo io;
  int fd = ::open((dir.path() + "/f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(io.RegisterFile(fd).ok());
  EXPECT_EQ(io.registered_files(), std::set<int>{fd});
  io.UnregisterFile(fd);
  EXPECT_TRUE(io.registered_files().empty());
  ::close(fd);
  EXPECT_EQ(io.RegisterFile(fd).code(), Code::kBadHandle);
}

}  // namespace
}  // namespace zcfs
