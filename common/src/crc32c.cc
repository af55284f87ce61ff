#include "zcfs/common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace zcfs {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = make_table();

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of one, so one dependent
// chain uses a third of it. Long inputs run as three independent lanes of kLane bytes, and the lanes
// are joined with the "advance over kLane zero bytes" map: the raw CRC register is linear in its
// start value, so crc(a, X || Y) = advance_|Y|(crc(a, X)) ^ crc(0, Y).
constexpr size_t kLane = 1360;  // three lanes cover a 4 KiB block but 16 bytes

__attribute__((target("sse4.2"))) uint64_t raw_chain(uint64_t c, const uint8_t* p, size_t len) {
  for (; len >= 8; p += 8, len -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // unaligned load, not a data-path copy
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<uint32_t>(c);
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

// advance(x) = the raw register after kLane zero bytes from x, as four byte-indexed tables.
struct LaneShift {
  std::array<std::array<uint32_t, 256>, 4> table{};
  LaneShift() {
    static const uint8_t zeros[kLane] = {};
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) table[k][b] = static_cast<uint32_t>(raw_chain(b << (8 * k), zeros, kLane));
    }
  }
  uint32_t advance(uint32_t x) const {
    return table[0][x & 0xFF] ^ table[1][(x >> 8) & 0xFF] ^ table[2][(x >> 16) & 0xFF] ^ table[3][x >> 24];
  }
};

__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p, size_t len) {
  static const LaneShift shift;
  uint64_t c = static_cast<uint32_t>(~crc);
  while (len >= 3 * kLane) {
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < kLane; i += 8) {
      uint64_t wa, wb, wd;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + kLane + i, 8);
      std::memcpy(&wd, p + 2 * kLane + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      d = _mm_crc32_u64(d, wd);
    }
    c = shift.advance(shift.advance(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(d);
    p += 3 * kLane;
    len -= 3 * kLane;
  }
  return ~static_cast<uint32_t>(raw_chain(c, p, len));
}
#endif

bool detect_hardware() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

const bool kHaveHardware = detect_hardware();

}  // namespace

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t len) {
  auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (len--) c = kTable[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

bool crc32c_hardware_available() { return kHaveHardware; }

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len) {
#if defined(__x86_64__)
  if (kHaveHardware) return extend_sse42(crc, static_cast<const uint8_t*>(data), len);
#endif
  return crc32c_extend_portable(crc, data, len);
}

}  // namespace zcfs
