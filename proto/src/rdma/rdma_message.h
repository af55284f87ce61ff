// What the RDMA transport puts in its SENDs, and the connection handshake exchanged over TCP.
//
// A message is one SEND into one of the peer's pre-posted receive buffers (at most message_size bytes):
//
//   MessageHeader (24 bytes) | frame header (32 bytes, frame.h) | body | RemoteBuffer x (reads + writes)
//
// `credits` piggybacks flow control: the cumulative number of receives the sender has posted, i.e. how
// many messages the peer may have sent in total. Requests list the memory the server pulls the request
// payload from (RDMA READ: `reads`) and the memory it may write the reply payload into (RDMA WRITE:
// `writes`). Replies carry neither: their payload is already in place when they arrive.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zcfs/common/status.h"
#include "zcfs/proto/frame.h"
#include "zcfs/proto/rdma/verbs.h"

namespace zcfs::rdma {

// A range of the peer's registered memory.
struct RemoteBuffer {
  uint64_t addr = 0;
  uint32_t rkey = 0;
  uint32_t length = 0;
};

enum class MessageKind : uint16_t { kFrame = 1, kBye = 2 };

struct Message {
  MessageKind kind = MessageKind::kFrame;
  uint64_t credits = 0;
  FrameHeader frame;
  std::string body;
  std::vector<RemoteBuffer> reads;
  std::vector<RemoteBuffer> writes;
};

inline constexpr size_t kMessageHeaderSize = 24;

size_t encoded_size(const Message& message);
// Writes the message into `out` (at least encoded_size bytes).
void encode_message(const Message& message, std::span<std::byte> out);
// Parses a received message; kProtocolError naming what is wrong.
Result<Message> decode_message(std::span<const std::byte> in, const FrameLimits& limits);

// One side's half of the connection handshake (the body of method::kRdmaConnect and its reply).
struct Handshake {
  QpEndpoint qp;
  uint32_t credits = 0;       // receives this side keeps posted
  uint32_t message_size = 0;  // bytes per receive buffer
  RemoteBuffer credit_word;   // 8 bytes the peer RDMA WRITEs its receive count into
};

std::string encode_handshake(const Handshake& handshake);
Result<Handshake> decode_handshake(std::string_view body);

}  // namespace zcfs::rdma
