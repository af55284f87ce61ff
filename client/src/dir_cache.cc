#include "dir_cache.h"

#include <algorithm>
#include <cstdint>

#include "paths.h"

namespace zcfs {

std::string join_path(const std::vector<std::string>& parts, size_t depth) {
  std::string path;
  for (size_t i = 0; i < depth && i < parts.size(); ++i) path += "/" + parts[i];
  return path;
}

DirCache::Hit DirCache::Longest(const std::vector<std::string>& parts, size_t max_depth) {
  if (!enabled()) return {};
  auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (size_t depth = std::min(max_depth, parts.size()); depth > 0; --depth) {
    auto it = entries_.find(join_path(parts, depth));
    if (it == entries_.end()) continue;
    if (it->second.expires <= now) {
      EraseLocked(it);
      continue;
    }
    return Hit{depth, it->second.ino};
  }
  return {};
}

void DirCache::Put(const std::vector<std::string>& parts, size_t depth, uint64_t parent, uint64_t ino) {
  if (!enabled() || depth == 0 || depth > parts.size()) return;
  std::lock_guard lock(mutex_);
  // Bounded without an LRU: a walk refills what it needs within one TTL anyway.
  if (entries_.size() >= max_entries_) {
    entries_.clear();
    by_child_.clear();
  }
  std::string key = join_path(parts, depth);
  if (auto old = entries_.find(key); old != entries_.end()) EraseLocked(old);
  by_child_[{parent, parts[depth - 1]}] = key;
  entries_[key] = Entry{ino, parent, parts[depth - 1], Clock::now() + ttl_};
}

DirCache::Entries::iterator DirCache::EraseLocked(Entries::iterator it) {
  auto child = by_child_.find({it->second.parent, it->second.name});
  if (child != by_child_.end() && child->second == it->first) by_child_.erase(child);
  return entries_.erase(it);
}

void DirCache::DropSubtreeLocked(const std::string& key) {
  if (auto it = entries_.find(key); it != entries_.end()) EraseLocked(it);
  std::string below = key + "/";
  for (auto it = entries_.lower_bound(below); it != entries_.end() && it->first.starts_with(below);) {
    it = EraseLocked(it);
  }
}

void DirCache::DropPath(std::string_view path) {
  if (!enabled()) return;
  std::string key = join_path(split_path(path), SIZE_MAX);
  std::lock_guard lock(mutex_);
  if (key.empty()) {  // the root: everything is below it
    entries_.clear();
    by_child_.clear();
    return;
  }
  DropSubtreeLocked(key);
}

void DirCache::DropChild(uint64_t parent, std::string_view name) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  auto it = by_child_.find({parent, std::string(name)});
  if (it == by_child_.end()) return;
  std::string key = it->second;
  DropSubtreeLocked(key);
}

void DirCache::Clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  by_child_.clear();
}

size_t DirCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace zcfs
