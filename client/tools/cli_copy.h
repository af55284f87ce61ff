// `zcfs put` and `zcfs get`: copies of files and directory trees between the local file system and
// zcfs. A plan lists the files to copy (the walk creates the destination directories as it goes);
// the copy runs it on --jobs threads, each taking the next piece (a whole small file, or one
// kCopyPiece part of a large one), so that one large file is copied in parallel too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli_common.h"

namespace zcfs {

// A large file is copied in pieces of this size, each by whichever thread is free.
inline constexpr uint64_t kCopyPiece = 8 << 20;

enum class CopyDirection { kPut, kGet };

struct CopyItem {
  std::string from;  // local path (put) or zcfs path (get)
  std::string to;
  uint64_t size = 0;
  uint32_t mode = 0644;
  FileInfo source;  // get: the zcfs file's attributes (its layout)
};

struct CopyPlan {
  CopyDirection direction = CopyDirection::kPut;
  std::vector<CopyItem> files;
  uint64_t bytes = 0;
};

// The outcome of a step, and on failure the path it concerns (for "zcfs: put <path>: <cause>").
struct CopyError {
  std::string path;
  Status status;
  bool ok() const { return status.ok(); }
};

// Walks `local` (a file or a directory tree) and creates the zcfs directories it needs. A file put
// into an existing directory keeps its name; a directory's content lands in `remote` (created).
CopyError plan_put(Client& client, const std::string& local, const std::string& remote, CopyPlan* plan);
// The same the other way round; zcfs symbolic links become local ones during the walk.
CopyError plan_get(Client& client, const std::string& remote, const std::string& local, CopyPlan* plan);
// Copies every file of the plan on options.jobs threads; stops at the first failure.
CopyError run_copy(Client& client, const CopyPlan& plan, const CliOptions& options);

}  // namespace zcfs
