// What every zcfs server executable shares: flags/config, logging setup, the ready file, and a clean
// stop on SIGTERM/SIGINT.
//
// Common flags: --config=FILE, --log-level=debug|info|warn|error, --listen=HOST:PORT (port 0 picks a
// free port), --ready-file=PATH (written atomically with the bound "host:port" once the server serves).
#pragma once

#include <functional>
#include <string>

#include "zcfs/common/config.h"
#include "zcfs/common/status.h"
#include "zcfs/proto/io_threads.h"

namespace zcfs {

// Parses argv into a Config and applies --log-level. Returns (does not print) the error on bad flags.
Result<Config> load_server_config(std::string_view program, int argc, const char* const* argv);

// Writes `content` to `path` atomically (temp file + rename), so readers never see half of it.
Status write_file_atomic(const std::string& path, const std::string& content);

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards. Call it first
// thing in main(), before any thread exists, so the signals reach wait_for_stop_signal().
void block_stop_signals();
// Waits until SIGTERM or SIGINT arrives, then runs `on_stop` on the caller's thread.
void wait_for_stop_signal(const std::function<void()>& on_stop);

}  // namespace zcfs
