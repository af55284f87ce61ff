// `zcfs-bench storage`: chunk read rates straight from the storage servers (bench_storage.cc).
#pragma once

#include "zcfs/common/config.h"

namespace zcfs {

// Runs the storage benchmark with the flags in `config`; returns the exit code.
int run_storage_bench(const Config& config);

}  // namespace zcfs
