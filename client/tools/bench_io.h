// zcfs-bench read and write: the dataset in bench_dataset.h, the threads in bench_run.h.
//
// Reads take one of three paths: "native" (--depth=1: Client::Read, one block at a time per thread),
// "ring" (--depth>1: each thread keeps --depth reads in flight through a ReadRing into a registered
// buffer, one Submit per refill) or "fuse mount" (--mount: pread through the mount point).
// Writes create the files, write their blocks with --threads x --depth writers (the client's writes
// are synchronous, so the depth is more writers) and publish each file's size.
#pragma once

#include "bench_dataset.h"
#include "bench_report.h"
#include "bench_run.h"

namespace zcfs {

Status run_read_bench(Client& client, const IoBenchOptions& o, IoResult* r);
// --versus-native: runs `o` again through the native API (o.mount ignored) and sets r's comparison.
Status measure_versus_native(Client& client, const IoBenchOptions& o, IoResult* r);
Status run_write_bench(Client& client, const IoBenchOptions& o, IoResult* r);

// Checks a block read at `offset` of the data file `name` against its sample content.
Status check_block(const std::string& name, uint64_t offset, std::span<const std::byte> data);
// Each thread's random generator: distinct per thread, the same in every run.
uint64_t thread_seed(int thread);

// The ring path (bench_read_ring.cc): one thread's reads with o.depth in flight.
Status read_with_ring(Client& client, const Dataset& d, const IoBenchOptions& o, RequestSource& source, int thread,
                      ThreadStats& stats, LiveCounters& live);

}  // namespace zcfs
