// The dataset zcfs-bench writes and reads, and the order it visits it in.
//
// Layout "files": --files samples named sample-<k> of --size bytes each (one file per training
// sample); layout "shard": --shards files named shard-<k> of --shard-size bytes, read at block
// offsets (a few big files, as record-format datasets are stored). Every file holds sample content
// (sample_data.h) with a seed derived from its name, so reads can verify each byte.
//
// The dataset is cut into blocks of --block bytes (a file's last block may be shorter); each request
// is one block. A RequestSource hands blocks to the threads: front to back (seq) or in random order
// (rand), once over the dataset (one pass: every block once, a random permutation for rand), or
// until a deadline (looping; rand then draws blocks independently).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench_options.h"
#include "zcfs/client/client.h"

namespace zcfs {

struct DataFile {
  std::string name;
  uint64_t size = 0;
  FileInfo info;      // native reads and writes
  FileHandle handle;  // ring reads: opened by the reader
};

struct Dataset {
  std::vector<DataFile> files;
  uint64_t bytes = 0;
};

// "sample-<k>" or "shard-<k>", and the content seed of such a name.
std::string data_file_name(bool shard, uint64_t k);
uint64_t data_file_seed(const std::string& name);

// The files `o` describes (for writing), without attributes.
Dataset planned_dataset(const IoBenchOptions& o);
// The files of o's layout found in o.dir, with their attributes; kNotFound when there are none.
Result<Dataset> load_dataset(Client& client, const IoBenchOptions& o);

// One request: a block of one file.
struct Request {
  size_t file = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Hands out the requests of a run. Sequential runs give each thread whole files, read from start to
// end (files in order, one file per thread at a time), as `cat` or a loader reading shards does;
// random runs give blocks anywhere. Thread-safe.
class RequestSource {
 public:
  // What one thread is doing: its random numbers, and the file it streams through.
  struct Cursor {
    explicit Cursor(uint64_t seed) : rng(seed) {}
    std::mt19937_64 rng;
    size_t file = SIZE_MAX;
    uint64_t offset = 0;  // of the next block in `file`
  };

  // `deadline` unset: one pass.
  RequestSource(const Dataset& dataset, uint64_t block, bool random,
                std::optional<std::chrono::steady_clock::time_point> deadline);
  // The next request for the thread with `cursor`; false when the run is over.
  bool Next(Cursor& cursor, Request* out);
  uint64_t total_blocks() const { return total_blocks_; }
  // Requests handed out so far (for a one-pass run's share done).
  uint64_t handed_out() const { return std::min(tickets_.load(), total_blocks_); }

 private:
  Request BlockAt(uint64_t block) const;
  bool NextRandom(Cursor& cursor, Request* out);
  bool NextSequential(Cursor& cursor, Request* out);
  bool Expired() const { return deadline_ && std::chrono::steady_clock::now() >= *deadline_; }

  const Dataset& dataset_;
  const uint64_t block_;
  const bool random_;
  const std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::vector<uint64_t> first_block_;  // of each file; prefix sums of the files' block counts
  uint64_t total_blocks_ = 0;
  uint64_t stride_ = 1;  // one-pass rand: block = (ticket * stride_ + offset_) mod total, a permutation
  uint64_t offset_ = 0;
  std::atomic<uint64_t> tickets_{0};       // requests handed out
  std::atomic<uint64_t> file_tickets_{0};  // sequential: files handed out
};

}  // namespace zcfs
