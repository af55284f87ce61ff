// CRC32C (Castagnoli), as used by iSCSI, ext4 and RocksDB. Uses the SSE4.2 crc32 instruction when the
// CPU has it (checked once at run time), a table otherwise. Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zcfs {

// Extends `crc` (the value returned for the preceding bytes, 0 to start) over data[0, len).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len);
inline uint32_t crc32c(const void* data, size_t len) { return crc32c_extend(0, data, len); }
// The portable table path, exposed so tests can compare it with the hardware path.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t len);
bool crc32c_hardware_available();

}  // namespace zcfs
