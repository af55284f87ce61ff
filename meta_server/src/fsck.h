// The namespace checker (fsck): reads a meta server's whole KvStore and reports every violated
// invariant of the schema in keys.h.
//
// Invariants checked:
// - every inode record parses and carries its own key's inode number, below the "next_ino" counter;
//   the "inode_count" counter (when present) equals the number of inode records;
// - the root (inode 1) exists, is a directory and has no directory entry;
// - every directory entry lives in a directory, and its child exists and has the entry's type;
// - every other directory has exactly one entry, and its `parent` field names the directory holding it;
// - a directory's nlink is 2 + its subdirectories, its size the number of its entries;
// - a non-directory's nlink is the number of entries naming it, except orphans: nlink 0, no entry and
//   an "orphan/" marker in the system column (waiting for garbage collection); a marker without an
//   inode, on a directory or on a linked inode, and an unmarked inode with nlink 0, are problems;
// - no directory cycle, and every inode but the orphans is reachable from the root.
//
// The checker loads everything into memory, so it is meant for offline checks (tests, a stopped
// server's database, a copy of it) rather than for a busy server: its column scans are not one
// snapshot, so a concurrent mutation can show up as a transient problem. Thread-safe (no state).
#pragma once

#include <string>
#include <vector>

#include "zcfs/common/status.h"
#include "zcfs/meta/kv_store.h"

namespace zcfs::meta {

// One human-readable line per problem found, empty when the namespace is consistent. An error only
// when the store cannot be read: damaged records are problems, not errors.
Result<std::vector<std::string>> CheckNamespace(const KvStore& store);

}  // namespace zcfs::meta
