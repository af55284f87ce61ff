// Small persisted ids (node id, target id, target uuid): one line in a text file, written atomically.
#pragma once

#include <cstdint>
#include <string>

#include "zcfs/common/status.h"

namespace zcfs::storage_internal {

// 0 when the file does not exist; kCorruption when it holds something else than a number.
Result<uint32_t> read_id_file(const std::string& path);
// Writes the id (temp file + rename) and syncs it.
Status write_id_file(const std::string& path, uint32_t id);
// The uuid in the file; when there is none, a new random one (128 bits, hex) written there first.
Result<std::string> read_or_create_uuid_file(const std::string& path);

}  // namespace zcfs::storage_internal
