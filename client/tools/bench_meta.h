// `zcfs-bench meta`: metadata operation rates through the native API.
#pragma once

#include "zcfs/common/config.h"

namespace zcfs {

// Runs the metadata benchmark with the flags in `config` (see bench_meta.cc); returns the exit code.
int run_meta_bench(const Config& config);

}  // namespace zcfs
