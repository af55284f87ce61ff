// zcfs-bench read --ceiling: what this machine could do at best, measured in the same run, and the
// design.md ratios of the bench's result against it.
//
// (a) Loopback TCP: one sender and one receiver thread over 127.0.0.1 for --ceiling-seconds, 128 KiB
//     writes (like a single iperf3 stream).
// (b) Local O_DIRECT reads of --ceiling-file (default: a 1 GiB file under /var/tmp, created once and
//     kept) with the bench's pattern, block size and total queue depth (threads x depth): with fio
//     (io_uring engine, JSON output) when it is installed and --ceiling-tool is not "builtin",
//     otherwise with a built-in io_uring loop.
#pragma once

#include <string>

#include "bench_options.h"
#include "bench_report.h"

namespace zcfs {

// Checks (and creates when missing) the ceiling's local file: done before the bench, so that a bad
// --ceiling-file fails at once rather than after the run.
Status prepare_ceiling(const IoBenchOptions& o);
// Measures both ceilings for the run `r` (its pattern, block, threads x depth) and fills r->ceiling,
// including the ratio that design.md sets for that pattern.
Status measure_ceiling(const IoBenchOptions& o, IoResult* r);

// The pieces, for the tests and for each other.
Result<double> loopback_tcp_bytes_per_second(double seconds);
// Built-in: O_DIRECT reads of `path` through io_uring; bytes per second.
Result<double> odirect_read_bytes_per_second(const std::string& path, uint64_t block, int queue_depth, bool random,
                                             double seconds);
// The same through fio; kNotFound when fio is not installed.
Result<double> fio_read_bytes_per_second(const std::string& path, uint64_t block, int queue_depth, bool random,
                                         double seconds);
// Creates `path` with `size` bytes of data written O_DIRECT unless a file of at least `block` bytes
// is there; kInvalidArgument when its file system has no O_DIRECT (tmpfs).
Status prepare_ceiling_file(const std::string& path, uint64_t size, uint64_t block);

}  // namespace zcfs
