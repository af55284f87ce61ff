#include "read_batch.h"

#include <cstdio>
#include <string>

#include "zcfs/common/crc32c.h"

namespace zcfs {

Status verify_piece_crc32c(std::span<const std::byte> received, uint32_t expected, std::string_view server,
                           uint64_t ino, uint32_t chunk_index, uint32_t chunk_offset) {
  uint32_t actual = crc32c(received.data(), received.size());
  if (actual == expected) return Status::Ok();
  char sums[64];
  std::snprintf(sums, sizeof(sums), "crc32c %08x, the server sent %08x", actual, expected);
  return Error(Code::kChecksumMismatch, "storage " + std::string(server) + " chunk " + std::to_string(ino) + "." +
                                            std::to_string(chunk_index) + " bytes [" + std::to_string(chunk_offset) +
                                            ", " + std::to_string(chunk_offset + received.size()) +
                                            ") arrived damaged: " + sums);
}

}  // namespace zcfs
