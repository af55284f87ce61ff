#include "zcfs/common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace zcfs {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) test vectors.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32cTest, HardwareMatchesPortableAndExtendIsIncremental) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(20000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  // Around the three-lane stride of the hardware path (3 x 1360 bytes) and its multiples.
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 4079u, 4080u, 4081u, 4096u, 8160u, 8167u, 10000u, 20000u}) {
    uint32_t whole = crc32c(data.data(), len);
    EXPECT_EQ(whole, crc32c_extend_portable(0, data.data(), len)) << len;
    size_t split = len / 3;
    EXPECT_EQ(crc32c_extend(crc32c(data.data(), split), data.data() + split, len - split), whole) << len;
  }
  for (int i = 0; i < 200; ++i) {  // random offsets (unaligned loads) and lengths
    size_t offset = rng() % 64, len = rng() % (data.size() - offset);
    ASSERT_EQ(crc32c(data.data() + offset, len), crc32c_extend_portable(0, data.data() + offset, len)) << len;
  }
}

}  // namespace
}  // namespace zcfs
