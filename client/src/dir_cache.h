// DirCache: directory path -> inode for path walks (Client::Stat, OpenHandle, ...), so that opening
// many files under one directory costs one Lookup each rather than one per path component.
//
// Only directories are cached, each for a short TTL. An entry is dropped when a walk through it
// fails with kNotFound/kNotDirectory (the walker then retries from the root), and when this client
// renames or removes it or anything above it. Changes made by other clients show within the TTL.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zcfs {

class DirCache {
 public:
  using Clock = std::chrono::steady_clock;
  // ttl 0: caches nothing.
  explicit DirCache(std::chrono::milliseconds ttl, size_t max_entries = 65536) : ttl_(ttl), max_entries_(max_entries) {}

  bool enabled() const { return ttl_.count() > 0; }
  // The longest cached, unexpired directory among the prefixes of `parts` ("/a", "/a/b", ...) of at
  // most `max_depth` components: how many components it covers and its inode (0, root if none).
  struct Hit {
    size_t depth = 0;
    uint64_t ino = 0;
  };
  Hit Longest(const std::vector<std::string>& parts, size_t max_depth);
  // Remembers that the directory at parts[0..depth) is `ino`, named `name` in directory `parent`.
  void Put(const std::vector<std::string>& parts, size_t depth, uint64_t parent, uint64_t ino);
  // Drops the directory at `path` ("/a/b", normalised by split_path) and everything below it.
  void DropPath(std::string_view path);
  // Drops the entry `name` of directory `parent` (and everything below it), wherever it is cached.
  void DropChild(uint64_t parent, std::string_view name);
  void Clear();
  size_t size() const;

 private:
  struct Entry {
    uint64_t ino = 0;
    uint64_t parent = 0;
    std::string name;
    Clock::time_point expires;
  };
  using Entries = std::map<std::string, Entry>;
  Entries::iterator EraseLocked(Entries::iterator it);
  void DropSubtreeLocked(const std::string& key);

  const std::chrono::milliseconds ttl_;
  const size_t max_entries_;
  mutable std::mutex mutex_;
  Entries entries_;                                                   // guarded by mutex_; by "/a/b"
  std::map<std::pair<uint64_t, std::string>, std::string> by_child_;  // guarded by mutex_; (parent, name) -> key
};

// "/a/b" for the first `depth` parts.
std::string join_path(const std::vector<std::string>& parts, size_t depth);

}  // namespace zcfs
