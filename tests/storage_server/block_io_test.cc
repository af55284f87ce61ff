// UringBlockIo on real files: O_DIRECT reads and writes, end of file, fixed vs plain buffers, and the
// buffer pool running dry.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

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

}  // namespace
}  // namespace zcfs
