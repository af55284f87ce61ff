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
__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p, size_t len) {
  uint64_t c = ~crc;
  while (len >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // unaligned load, not a data-path copy
    c = _mm_crc32_u64(c, word);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
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
