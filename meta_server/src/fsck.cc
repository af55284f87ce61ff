#include "fsck.h"

#include <deque>
#include <map>
#include <optional>
#include <set>

#include "keys.h"
#include "zcfs.pb.h"
#include "zcfs/meta/meta_operator.h"

namespace zcfs::meta {
namespace {

struct Entry {
  uint64_t parent = 0;
  std::string name;
  keys::Dentry child;
};

// Per-inode tallies of the entries naming it (as child) and held by it (as directory).
struct Tally {
  std::vector<const Entry*> named_by;  // entries whose child is this inode
  uint64_t entries = 0;                // entries in this directory
  uint64_t subdirs = 0;                // ... of which directories
};

std::string type_name(pb::FileType type) {
  switch (type) {
    case pb::FILE_TYPE_REGULAR:
      return "regular file";
    case pb::FILE_TYPE_DIRECTORY:
      return "directory";
    case pb::FILE_TYPE_SYMLINK:
      return "symlink";
    default:
      return "type " + std::to_string(static_cast<int>(type));
  }
}

std::string where(const Entry& e) { return "entry '" + e.name + "' in directory " + std::to_string(e.parent); }

// One check run: loads the columns, then each Check* appends to problems_. Not thread-safe.
class Checker {
 public:
  explicit Checker(const KvStore& store) : store_(store) {}

  Result<std::vector<std::string>> Run() {
    RETURN_IF_ERROR(LoadInodes());
    RETURN_IF_ERROR(LoadEntries());
    RETURN_IF_ERROR(LoadSystem());
    CheckCounters();
    CheckRoot();
    CheckEntries();
    for (const auto& [ino, attr] : inodes_) CheckInode(ino, attr);
    CheckOrphanMarkers();
    CheckCycles();
    CheckReachable();
    return std::move(problems_);
  }

 private:
  void Problem(std::string text) { problems_.push_back(std::move(text)); }
  bool IsDir(uint64_t ino) const {
    auto it = inodes_.find(ino);
    return it != inodes_.end() && it->second.type() == pb::FILE_TYPE_DIRECTORY;
  }
  // An orphan waits for garbage collection: a marked non-directory with no link and no entry.
  bool IsOrphan(uint64_t ino, const pb::InodeAttr& attr) {
    return orphans_.count(ino) > 0 && attr.type() != pb::FILE_TYPE_DIRECTORY && attr.nlink() == 0 &&
           tally_[ino].named_by.empty();
  }

  Status LoadInodes() {
    ASSIGN_OR_RETURN(auto rows, store_.Scan(Column::kInodes, "", "", 0));
    for (const auto& [key, value] : rows) {
      auto ino = keys::read_be64(key);
      if (!ino || key.size() != 8) {
        Problem("inode record with a malformed key of " + std::to_string(key.size()) + " bytes");
        continue;
      }
      pb::InodeAttr attr;
      if (!attr.ParseFromString(value)) {
        Problem("inode " + std::to_string(*ino) + ": record does not parse");
        continue;
      }
      if (attr.ino() != *ino) {
        Problem("inode " + std::to_string(*ino) + ": record says it is inode " + std::to_string(attr.ino()));
      }
      inodes_[*ino] = std::move(attr);
    }
    return Status::Ok();
  }

  Status LoadEntries() {
    ASSIGN_OR_RETURN(auto rows, store_.Scan(Column::kDentries, "", "", 0));
    for (const auto& [key, value] : rows) {
      auto parent = keys::read_be64(key);
      auto dentry = keys::decode_dentry(value);
      if (!parent || key.size() <= 8) {
        Problem("directory entry with a malformed key of " + std::to_string(key.size()) + " bytes");
        continue;
      }
      std::string name = key.substr(8);
      if (!dentry) {
        Problem("entry '" + name + "' in directory " + std::to_string(*parent) + ": value does not decode");
        continue;
      }
      entries_.push_back(Entry{*parent, std::move(name), *dentry});
    }
    for (const auto& e : entries_) {
      tally_[e.child.ino].named_by.push_back(&e);
      ++tally_[e.parent].entries;
      if (e.child.type == pb::FILE_TYPE_DIRECTORY) ++tally_[e.parent].subdirs;
    }
    return Status::Ok();
  }

  // Reads a BE64 counter; nullopt (with a problem when present but malformed) if unusable.
  Result<std::optional<uint64_t>> LoadCounter(std::string_view key) {
    auto value = store_.Get(Column::kSystem, key);
    if (!value.ok()) {
      if (value.status().code() == Code::kNotFound) return std::optional<uint64_t>();
      return value.status();
    }
    auto v = keys::read_be64(*value);
    if (!v || value->size() != 8) {
      Problem("system counter " + std::string(key) + " is malformed");
      return std::optional<uint64_t>();
    }
    return v;
  }

  Status LoadSystem() {
    ASSIGN_OR_RETURN(next_ino_, LoadCounter(keys::kNextIno));
    if (!next_ino_) Problem("system counter next_ino is missing");
    ASSIGN_OR_RETURN(inode_count_, LoadCounter(keys::kInodeCount));
    ASSIGN_OR_RETURN(auto rows, store_.Scan(Column::kSystem, keys::kOrphanPrefix, "", 0));
    for (const auto& [key, value] : rows) {
      std::string_view rest = std::string_view(key).substr(keys::kOrphanPrefix.size());
      auto ino = keys::read_be64(rest);
      if (!ino || rest.size() != 8) {
        Problem("orphan marker with a malformed key");
        continue;
      }
      orphans_.insert(*ino);
    }
    return Status::Ok();
  }

  void CheckCounters() {
    // inode_count counts records, orphans included; absent in namespaces written before it existed.
    if (inode_count_ && *inode_count_ != inodes_.size()) {
      Problem("system counter inode_count is " + std::to_string(*inode_count_) + " but there are " +
              std::to_string(inodes_.size()) + " inodes");
    }
    if (!next_ino_) return;
    for (const auto& [ino, attr] : inodes_) {
      if (ino >= *next_ino_) {
        Problem("inode " + std::to_string(ino) + " is not below next_ino " + std::to_string(*next_ino_));
      }
    }
  }

  void CheckRoot() {
    auto root = inodes_.find(kRootIno);
    if (root == inodes_.end()) return Problem("the root directory (inode 1) is missing");
    if (root->second.type() != pb::FILE_TYPE_DIRECTORY) {
      Problem("the root (inode 1) is a " + type_name(root->second.type()) + ", not a directory");
    }
    for (const Entry* e : tally_[kRootIno].named_by) Problem("the root (inode 1) has an " + where(*e));
  }

  void CheckEntries() {
    for (const auto& e : entries_) {
      auto parent = inodes_.find(e.parent);
      if (parent == inodes_.end()) {
        Problem(where(e) + ": the directory does not exist");
      } else if (parent->second.type() != pb::FILE_TYPE_DIRECTORY) {
        Problem(where(e) + ": inode " + std::to_string(e.parent) + " is a " + type_name(parent->second.type()) +
                ", not a directory");
      }
      Status name_ok = validate_name(e.name);
      if (!name_ok.ok()) Problem(where(e) + ": invalid name: " + name_ok.message());
      auto child = inodes_.find(e.child.ino);
      if (child == inodes_.end()) {
        Problem(where(e) + " points to missing inode " + std::to_string(e.child.ino));
      } else if (child->second.type() != e.child.type) {
        Problem(where(e) + " says " + type_name(e.child.type) + " but inode " + std::to_string(e.child.ino) + " is a " +
                type_name(child->second.type()));
      }
    }
  }

  void CheckDirectory(uint64_t ino, const pb::InodeAttr& attr) {
    const Tally& t = tally_[ino];
    const std::string dir = "directory " + std::to_string(ino);
    if (ino != kRootIno && t.named_by.size() != 1) {
      Problem(dir + " has " + std::to_string(t.named_by.size()) + " entries naming it, not exactly 1");
    }
    // The root is its own parent; any other directory's is the directory holding its entry.
    uint64_t expected_parent = ino == kRootIno ? kRootIno : t.named_by.empty() ? 0 : t.named_by[0]->parent;
    if (expected_parent != 0 && attr.parent() != expected_parent) {
      Problem(dir + " has parent field " + std::to_string(attr.parent()) + " but its entry is in directory " +
              std::to_string(expected_parent));
    }
    if (attr.nlink() != 2 + t.subdirs) {
      Problem(dir + " has nlink " + std::to_string(attr.nlink()) + ", expected " + std::to_string(2 + t.subdirs) +
              " (2 + " + std::to_string(t.subdirs) + " subdirectories)");
    }
    if (attr.size() != t.entries) {
      Problem(dir + " has size " + std::to_string(attr.size()) + " but holds " + std::to_string(t.entries) +
              " entries");
    }
    if (orphans_.count(ino) > 0) Problem(dir + " has an orphan marker");
  }

  void CheckInode(uint64_t ino, const pb::InodeAttr& attr) {
    if (attr.type() == pb::FILE_TYPE_DIRECTORY) return CheckDirectory(ino, attr);
    const std::string what = type_name(attr.type()) + " " + std::to_string(ino);
    const size_t links = tally_[ino].named_by.size();
    const bool marked = orphans_.count(ino) > 0;
    if (attr.nlink() == 0 && !marked) Problem(what + " has nlink 0 but no orphan marker");
    if (marked && attr.nlink() != 0) {
      Problem(what + " has an orphan marker but nlink " + std::to_string(attr.nlink()));
    }
    if (attr.nlink() != links) {
      Problem(what + " has nlink " + std::to_string(attr.nlink()) + " but " + std::to_string(links) +
              " entries name it");
    }
  }

  void CheckOrphanMarkers() {
    for (uint64_t ino : orphans_) {
      if (inodes_.count(ino) == 0) Problem("orphan marker for missing inode " + std::to_string(ino));
    }
  }

  // Depth-first search over the directory graph (entry edges between directories) from every
  // directory: an edge back to a directory on the current path closes a cycle. A cycle hanging off
  // nothing is also unreachable from the root; one reachable from it gives some directory two entries.
  void CheckCycles() {
    std::map<uint64_t, std::vector<uint64_t>> subdirs;
    for (const auto& e : entries_) {
      if (IsDir(e.parent) && IsDir(e.child.ino)) subdirs[e.parent].push_back(e.child.ino);
    }
    std::map<uint64_t, int> color;  // absent: unvisited, 1: on the current path, 2: finished
    for (const auto& [start, attr] : inodes_) {
      if (attr.type() != pb::FILE_TYPE_DIRECTORY || color.count(start) > 0) continue;
      std::vector<std::pair<uint64_t, size_t>> path{{start, 0}};  // directory, next child to visit
      color[start] = 1;
      while (!path.empty()) {
        auto& [dir, next] = path.back();
        const auto& kids = subdirs[dir];
        if (next == kids.size()) {
          color[dir] = 2;
          path.pop_back();
          continue;
        }
        uint64_t child = kids[next++];
        auto c = color.find(child);
        if (c == color.end()) {
          color[child] = 1;
          path.push_back({child, 0});
        } else if (c->second == 1) {
          std::string cycle;
          bool in_cycle = false;
          for (const auto& [d, ignored] : path) {
            in_cycle = in_cycle || d == child;
            if (in_cycle) cycle += std::to_string(d) + " -> ";
          }
          Problem("directory cycle: " + cycle + std::to_string(child));
        }
      }
    }
  }

  void CheckReachable() {
    std::map<uint64_t, std::vector<uint64_t>> children;
    for (const auto& e : entries_) children[e.parent].push_back(e.child.ino);
    std::set<uint64_t> reached{kRootIno};
    std::deque<uint64_t> queue{kRootIno};
    while (!queue.empty()) {
      uint64_t dir = queue.front();
      queue.pop_front();
      if (!IsDir(dir)) continue;
      for (uint64_t child : children[dir]) {
        if (reached.insert(child).second) queue.push_back(child);
      }
    }
    for (const auto& [ino, attr] : inodes_) {
      if (reached.count(ino) == 0 && !IsOrphan(ino, attr)) {
        Problem(type_name(attr.type()) + " " + std::to_string(ino) + " is not reachable from the root");
      }
    }
  }

  const KvStore& store_;
  std::vector<std::string> problems_;
  std::map<uint64_t, pb::InodeAttr> inodes_;
  std::deque<Entry> entries_;  // stable addresses: Tally points into it
  std::map<uint64_t, Tally> tally_;
  std::set<uint64_t> orphans_;
  std::optional<uint64_t> next_ino_;
  std::optional<uint64_t> inode_count_;
};

}  // namespace

Result<std::vector<std::string>> CheckNamespace(const KvStore& store) { return Checker(store).Run(); }

}  // namespace zcfs::meta
