// The namespace checker (meta_server/src/fsck.h) run on a database on disk - a stopped meta server's,
// a copy, a backup - for tests. Needs zcfs_meta and meta_server/src on the include path.
#pragma once

#include <string>
#include <vector>

#include "fsck.h"
#include "zcfs/meta/rocksdb_kv_store.h"

namespace zcfs::testing {

// The checker's problems with the database at `path` (opened read-write: RocksDB replays its log),
// or one line saying why it could not be read.
inline std::vector<std::string> fsck_database(const std::string& path) {
  auto store = meta::RocksKvStore::Open(path, {.sync_writes = false, .create_if_missing = false});
  if (!store.ok()) return {"cannot open " + path + ": " + store.status().ToString()};
  auto problems = meta::CheckNamespace(**store);
  Status closed = (*store)->Close();
  if (!problems.ok()) return {"cannot read " + path + ": " + problems.status().ToString()};
  if (!closed.ok()) problems->push_back("close: " + closed.ToString());
  return *problems;
}

// The lines, each on a line of its own: for a failure message.
inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

}  // namespace zcfs::testing
