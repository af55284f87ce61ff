#include "zcfs/proto/frame.h"

#include <gtest/gtest.h>

#include <random>

namespace zcfs {
namespace {

FrameHeader sample() {
  FrameHeader h;
  h.flags = kFlagResponse;
  h.method = 201;
  h.status = 11;
  h.body_len = 77;
  h.request_id = 0x0102030405060708ull;
  h.payload_len = 1 << 20;
  return h;
}

TEST(FrameTest, RoundTripAndLayout) {
  FrameHeader h = sample();
  auto bytes = encode_frame_header(h);
  EXPECT_EQ(bytes[0], std::byte{'Z'});
  EXPECT_EQ(bytes[3], std::byte{'S'});
  EXPECT_EQ(bytes[16], std::byte{0x08});  // little-endian request id
  auto back = decode_frame_header(bytes, FrameLimits{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, h);
}

TEST(FrameTest, RejectsBadMagicVersionFlagsAndLengths) {
  FrameLimits limits{1000, 5000};
  auto with = [&](auto mutate) {
    FrameHeader h = sample();
    h.body_len = 10;
    h.payload_len = 10;
    auto bytes = encode_frame_header(h);
    mutate(h, bytes);
    return decode_frame_header(bytes, limits);
  };
  auto bad_magic = with([](FrameHeader&, FrameHeaderBytes& b) { b[0] = std::byte{'X'}; });
  EXPECT_EQ(bad_magic.status().code(), Code::kProtocolError);
  auto bad_version = with([](FrameHeader& h, FrameHeaderBytes& b) { h.version = 2; b = encode_frame_header(h); });
  EXPECT_NE(bad_version.status().message().find("version 2"), std::string::npos);
  auto bad_flags = with([](FrameHeader& h, FrameHeaderBytes& b) { h.flags = 0x80; b = encode_frame_header(h); });
  EXPECT_FALSE(bad_flags.ok());
  auto big_body = with([](FrameHeader& h, FrameHeaderBytes& b) { h.body_len = 1001; b = encode_frame_header(h); });
  EXPECT_NE(big_body.status().message().find("exceeds"), std::string::npos);
  auto big_payload =
      with([](FrameHeader& h, FrameHeaderBytes& b) { h.payload_len = ~0ull; b = encode_frame_header(h); });
  EXPECT_FALSE(big_payload.ok());
  auto request_with_status = with([](FrameHeader& h, FrameHeaderBytes& b) {
    h.flags = 0;
    h.status = 3;
    b = encode_frame_header(h);
  });
  EXPECT_FALSE(request_with_status.ok());
}

// Fuzz: random bytes and random mutations of valid headers. The decoder must never crash, must
// reject whatever breaks the rules, and whatever it accepts must re-encode to the same bytes.
TEST(FrameTest, FuzzDecoder) {
  std::mt19937_64 rng(2026);
  FrameLimits limits;
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    FrameHeaderBytes bytes;
    if (i % 2 == 0) {
      for (auto& b : bytes) b = static_cast<std::byte>(rng());
    } else {
      bytes = encode_frame_header(sample());
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
    }
    auto decoded = decode_frame_header(bytes, limits);
    if (!decoded.ok()) {
      ASSERT_EQ(decoded.status().code(), Code::kProtocolError);
      continue;
    }
    ++accepted;
    EXPECT_LE(decoded->body_len, limits.max_body);
    EXPECT_LE(decoded->payload_len, limits.max_payload);
    EXPECT_EQ(encode_frame_header(*decoded), bytes);
  }
  EXPECT_GT(accepted, 0);  // mutations of harmless fields (method, request id) must still decode
}

}  // namespace
}  // namespace zcfs
