// Fetching a checkpoint of the meta server's database (the server side: meta_server's
// CheckpointService) into a local directory: the standby that must start over, and
// `zcfs meta backup`, both do it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "zcfs/common/status.h"

namespace zcfs {

// One call to the meta server: method and request body in, reply body (or the error) out.
using MetaCaller = std::function<Result<std::string>(uint16_t method, std::string_view body)>;

struct FetchedCheckpoint {
  size_t files = 0;
  uint64_t bytes = 0;
};

// A checkpoint's files are named plainly: nothing that could lead out of its directory.
bool is_plain_file_name(std::string_view name);

// Has the server take a checkpoint and copies its files into `dir`, created here (it must not exist,
// so that nothing else is mixed in), each file synced, then the directory. The server's copy is
// removed at the end, also after a failure. The result opens as a meta server database.
Result<FetchedCheckpoint> fetch_checkpoint(const MetaCaller& call, const std::string& dir);

}  // namespace zcfs
