#include "rdma_message.h"

#include <bit>
#include <cstring>
#include <type_traits>

namespace zcfs::rdma {
namespace {

static_assert(std::endian::native == std::endian::little, "the RDMA wire format is written as little-endian");

constexpr uint32_t kMessageMagic = 0x444d445au;    // "ZDMD"
constexpr uint32_t kHandshakeMagic = 0x4853445au;  // "ZDSH"
constexpr uint32_t kHandshakeVersion = 1;
constexpr size_t kRemoteBufferSize = 16;

// A little-endian cursor over bytes; reads past the end set `ok` false and yield zeros.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  template <typename T>
  T Get() {
    T value{};
    if (in_.size() - pos_ < sizeof(T) || pos_ > in_.size()) {
      ok_ = false;
      pos_ = in_.size();
      return value;
    }
    std::memcpy(&value, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::span<const std::byte> Take(size_t n) {
    if (in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  bool ok() const { return ok_; }
  size_t left() const { return in_.size() - pos_; }

 private:
  std::span<const std::byte> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

class Writer {
 public:
  explicit Writer(std::byte* out) : out_(out) {}
  template <typename T>
  requires std::is_arithmetic_v<T>
  void Put(T value) {
    std::memcpy(out_ + pos_, &value, sizeof(T));
    pos_ += sizeof(T);
  }
  void Put(std::span<const std::byte> bytes) {
    std::memcpy(out_ + pos_, bytes.data(), bytes.size());  // control data into the send buffer
    pos_ += bytes.size();
  }

 private:
  std::byte* out_;
  size_t pos_ = 0;
};

void put_remote(Writer& w, const RemoteBuffer& r) {
  w.Put(r.addr);
  w.Put(r.rkey);
  w.Put(r.length);
}

RemoteBuffer get_remote(Reader& r) {
  RemoteBuffer b;
  b.addr = r.Get<uint64_t>();
  b.rkey = r.Get<uint32_t>();
  b.length = r.Get<uint32_t>();
  return b;
}

}  // namespace

size_t encoded_size(const Message& m) {
  return kMessageHeaderSize + kFrameHeaderSize + m.body.size() + kRemoteBufferSize * (m.reads.size() + m.writes.size());
}

void encode_message(const Message& m, std::span<std::byte> out) {
  Writer w(out.data());
  w.Put(kMessageMagic);
  w.Put(static_cast<uint16_t>(m.kind));
  w.Put(static_cast<uint16_t>(0));
  w.Put(m.credits);
  w.Put(static_cast<uint32_t>(m.reads.size()));
  w.Put(static_cast<uint32_t>(m.writes.size()));
  FrameHeader frame = m.frame;
  frame.body_len = static_cast<uint32_t>(m.body.size());
  w.Put(std::span<const std::byte>(encode_frame_header(frame)));
  w.Put(std::as_bytes(std::span(m.body)));
  for (const auto& r : m.reads) put_remote(w, r);
  for (const auto& r : m.writes) put_remote(w, r);
}

Result<Message> decode_message(std::span<const std::byte> in, const FrameLimits& limits) {
  Reader r(in);
  Message m;
  if (r.Get<uint32_t>() != kMessageMagic) return Error(Code::kProtocolError, "RDMA message with a bad magic number");
  m.kind = static_cast<MessageKind>(r.Get<uint16_t>());
  r.Get<uint16_t>();
  m.credits = r.Get<uint64_t>();
  uint32_t reads = r.Get<uint32_t>();
  uint32_t writes = r.Get<uint32_t>();
  if (!r.ok()) return Error(Code::kProtocolError, "RDMA message shorter than its header");
  if (m.kind == MessageKind::kBye) return m;
  if (m.kind != MessageKind::kFrame) return Error(Code::kProtocolError, "RDMA message of unknown kind");
  auto raw = r.Take(kFrameHeaderSize);
  if (!r.ok()) return Error(Code::kProtocolError, "RDMA message shorter than its frame header");
  ASSIGN_OR_RETURN(m.frame,
                   decode_frame_header(std::span<const std::byte, kFrameHeaderSize>(raw.data(), raw.size()), limits));
  auto body = r.Take(m.frame.body_len);
  if (!r.ok() || r.left() != kRemoteBufferSize * (uint64_t{reads} + writes)) {
    return Error(Code::kProtocolError, "RDMA message length does not match its body and buffer lists");
  }
  m.body.assign(reinterpret_cast<const char*>(body.data()), body.size());
  for (uint32_t i = 0; i < reads; ++i) m.reads.push_back(get_remote(r));
  for (uint32_t i = 0; i < writes; ++i) m.writes.push_back(get_remote(r));
  return m;
}

std::string encode_handshake(const Handshake& h) {
  std::string out(64, '\0');
  Writer w(reinterpret_cast<std::byte*>(out.data()));
  w.Put(kHandshakeMagic);
  w.Put(kHandshakeVersion);
  w.Put(h.qp.qp_num);
  w.Put(h.qp.psn);
  w.Put(h.qp.lid);
  w.Put(static_cast<uint16_t>(0));
  w.Put(std::span<const std::byte>(std::as_bytes(std::span(h.qp.gid))));
  w.Put(h.credits);
  w.Put(h.message_size);
  put_remote(w, h.credit_word);
  return out;
}

Result<Handshake> decode_handshake(std::string_view body) {
  Reader r(std::as_bytes(std::span(body.data(), body.size())));
  if (r.Get<uint32_t>() != kHandshakeMagic) return Error(Code::kProtocolError, "not an RDMA handshake");
  if (uint32_t v = r.Get<uint32_t>(); v != kHandshakeVersion) {
    return Error(Code::kProtocolError, "RDMA handshake version " + std::to_string(v) + ", this side speaks " +
                                           std::to_string(kHandshakeVersion));
  }
  Handshake h;
  h.qp.qp_num = r.Get<uint32_t>();
  h.qp.psn = r.Get<uint32_t>();
  h.qp.lid = r.Get<uint16_t>();
  r.Get<uint16_t>();
  auto gid = r.Take(h.qp.gid.size());
  if (r.ok()) std::memcpy(h.qp.gid.data(), gid.data(), gid.size());
  h.credits = r.Get<uint32_t>();
  h.message_size = r.Get<uint32_t>();
  h.credit_word = get_remote(r);
  if (!r.ok()) return Error(Code::kProtocolError, "RDMA handshake too short");
  if (h.credits == 0 || h.message_size < kMessageHeaderSize + kFrameHeaderSize) {
    return Error(Code::kProtocolError, "RDMA handshake with no credits or too small messages");
  }
  return h;
}

}  // namespace zcfs::rdma
