#include <gtest/gtest.h>

#include <cstdint>

#include "zcfs/common/address.h"
#include "zcfs/common/aligned_buffer.h"

namespace zcfs {
namespace {

TEST(AddressTest, ParsesHostPort) {
  auto a = parse_host_port("127.0.0.1:9000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9000);
  EXPECT_EQ(a->ToString(), "127.0.0.1:9000");
  auto v6 = parse_host_port("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad : {"", "host", ":80", "h:", "h:65536", "h:12x", "[::1:80"}) {
    EXPECT_FALSE(parse_host_port(bad).ok()) << bad;
  }
}

TEST(AlignedBufferTest, AlignedZeroedAndMovable) {
  AlignedBuffer b(10000);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kBlockSize, 0u);
  EXPECT_EQ(b.size(), 10000u);
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b.data()[i], std::byte{0});
  AlignedBuffer moved = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(moved.size(), 10000u);
  EXPECT_EQ(align_up(4097, 4096), 8192u);
  EXPECT_EQ(align_down(4097, 4096), 4096u);
}

}  // namespace
}  // namespace zcfs
