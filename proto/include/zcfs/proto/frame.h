// The zcfs frame: a fixed 32-byte little-endian header, then `body_len` bytes of message body
// (a protobuf, or an error text in error replies), then `payload_len` bytes of bulk data.
//
//   offset size field
//        0    4 magic        "ZCFS" (0x5346435A as little-endian u32)
//        4    2 version      kProtocolVersion; a peer speaking another version is refused
//        6    2 flags        kFlagResponse on replies
//        8    2 method       see methods.h
//       10    2 status       replies: zcfs::Code number; requests: 0
//       12    4 body_len
//       16    8 request_id   chosen by the caller, echoed by the reply
//       24    8 payload_len
//
// The payload is never parsed: the receiver places it where the request named (direct data placement).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "zcfs/common/status.h"

namespace zcfs {

inline constexpr uint32_t kFrameMagic = 0x5346435Au;  // bytes 'Z' 'C' 'F' 'S'
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderSize = 32;
inline constexpr uint16_t kFlagResponse = 1u << 0;
inline constexpr uint16_t kKnownFlags = kFlagResponse;

struct FrameHeader {
  uint16_t version = kProtocolVersion;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint16_t status = 0;
  uint32_t body_len = 0;
  uint64_t request_id = 0;
  uint64_t payload_len = 0;

  bool is_response() const { return (flags & kFlagResponse) != 0; }
  bool operator==(const FrameHeader&) const = default;
};

// Largest body and payload a peer accepts; anything larger closes the connection.
struct FrameLimits {
  uint32_t max_body = 16u << 20;
  uint64_t max_payload = 256ull << 20;
};

using FrameHeaderBytes = std::array<std::byte, kFrameHeaderSize>;

FrameHeaderBytes encode_frame_header(const FrameHeader& header);
// Validates magic, version, flags and lengths. Errors are kProtocolError with the reason.
Result<FrameHeader> decode_frame_header(std::span<const std::byte, kFrameHeaderSize> bytes, const FrameLimits& limits);

}  // namespace zcfs
