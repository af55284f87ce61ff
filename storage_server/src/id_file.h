// Small persisted ids (node id, target id): one decimal number in a text file, written atomically.
#pragma once

#include <cstdint>
#include <string>

#include "zcfs/common/status.h"

namespace zcfs::storage_internal {

// 0 when the file does not exist; kCorruption when it holds something else than a number.
Result<uint32_t> read_id_file(const std::string& path);
// Writes the id (temp file + rename) and syncs it.
Status write_id_file(const std::string& path, uint32_t id);

}  // namespace zcfs::storage_internal
