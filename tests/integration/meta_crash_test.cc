// Crash test of the meta server: a real zcfs-meta and one zcfs-storage on loopback, four threads
// mutating the namespace through one zcfs::Client, and SIGKILL of the meta server in the middle of
// it, three times. After each kill:
//  (a) the server restarts on the same data directory and every mutation acknowledged before the kill
//      is visible. Each thread owns a directory and keeps a model of what it was told; the one call
//      it had in flight at the kill may or may not have happened, so either outcome is accepted (and
//      the model follows what happened);
//  (b) the namespace checker (fsck.h) finds no problem in a copy of the database as the crash left
//      it, and, at the end, in the database of the cleanly stopped server.
// Everything is bounded in operations and time; nothing asserts on speed.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "support/local_cluster.h"
#include "support/namespace_check.h"
#include "zcfs/client/client.h"
#include "zcfs/meta/rocksdb_kv_store.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr int kThreads = 4;
constexpr int kRounds = 3;
constexpr int kMaxOpsPerRound = 1500;  // per thread; the kill normally comes much earlier
constexpr int kMaxDepth = 3;           // of directories made by mkdir below a thread's directory
constexpr auto kMaxRunBeforeKill = 2s;

enum class OpKind { kMkdir, kCreate, kSymlink, kLink, kTruncate, kExtend, kUnlink, kRmdir, kRename };

// One namespace call of a worker, with everything needed to replay its effect on the model.
struct Op {
  OpKind kind = OpKind::kCreate;
  uint64_t parent = 0;  // the directory holding `name`
  std::string name;
  uint64_t ino = 0;         // link, truncate, extend: the file
  uint64_t new_parent = 0;  // link, rename
  std::string new_name;
  uint64_t size = 0;   // truncate, extend
  std::string target;  // symlink

  std::string ToString() const {
    static const char* kNames[] = {"mkdir",  "create", "symlink", "link",  "truncate",
                                   "extend", "unlink", "rmdir",   "rename"};
    return std::string(kNames[static_cast<int>(kind)]) + " " + std::to_string(parent) + "/" + name + " ino " +
           std::to_string(ino) + " -> " + std::to_string(new_parent) + "/" + new_name + " size " + std::to_string(size);
  }
  bool makes_inode() const { return kind == OpKind::kMkdir || kind == OpKind::kCreate || kind == OpKind::kSymlink; }
};

struct ModelInode {
  FileType type = FileType::kRegular;
  uint64_t size = 0;
  uint32_t nlink = 1;  // non-directories
  std::string target;  // symlinks
};

// What a worker has been told about its own directory tree. A value type.
struct Model {
  uint64_t root = 0;                                         // the worker's directory
  std::map<uint64_t, std::map<std::string, uint64_t>> dirs;  // every directory (root too): name -> inode
  std::map<uint64_t, uint64_t> dir_parent;                   // directories below root -> their parent
  std::map<uint64_t, ModelInode> inodes;                     // every inode below root

  bool is_dir(uint64_t ino) const { return dirs.count(ino) > 0; }
  // True when directory `dir` is `ancestor` or below it.
  bool within(uint64_t dir, uint64_t ancestor) const {
    for (;;) {
      if (dir == ancestor) return true;
      auto up = dir_parent.find(dir);
      if (up == dir_parent.end()) return false;
      dir = up->second;
    }
  }
  int depth(uint64_t dir) const {
    int d = 0;
    for (auto up = dir_parent.find(dir); up != dir_parent.end(); up = dir_parent.find(up->second)) ++d;
    return d;
  }
  void drop_link(uint64_t ino) {
    if (--inodes[ino].nlink == 0) inodes.erase(ino);
  }

  // Replays `op`, acknowledged by the server; `new_ino` is the inode it made (mkdir/create/symlink).
  void Apply(const Op& op, uint64_t new_ino) {
    switch (op.kind) {
      case OpKind::kMkdir:
        dirs[op.parent][op.name] = new_ino;
        dirs[new_ino];
        dir_parent[new_ino] = op.parent;
        inodes[new_ino] = ModelInode{FileType::kDirectory};
        break;
      case OpKind::kCreate:
        dirs[op.parent][op.name] = new_ino;
        inodes[new_ino] = ModelInode{FileType::kRegular};
        break;
      case OpKind::kSymlink:
        dirs[op.parent][op.name] = new_ino;
        inodes[new_ino] = ModelInode{FileType::kSymlink, op.target.size(), 1, op.target};
        break;
      case OpKind::kLink:
        dirs[op.new_parent][op.new_name] = op.ino;
        ++inodes[op.ino].nlink;
        break;
      case OpKind::kTruncate:
        inodes[op.ino].size = op.size;
        break;
      case OpKind::kExtend:
        inodes[op.ino].size = std::max(inodes[op.ino].size, op.size);
        break;
      case OpKind::kUnlink: {
        uint64_t ino = dirs[op.parent][op.name];
        dirs[op.parent].erase(op.name);
        drop_link(ino);
        break;
      }
      case OpKind::kRmdir: {
        uint64_t ino = dirs[op.parent][op.name];
        dirs[op.parent].erase(op.name);
        dirs.erase(ino);
        dir_parent.erase(ino);
        inodes.erase(ino);
        break;
      }
      case OpKind::kRename: {
        uint64_t ino = dirs[op.parent][op.name];
        auto& to = dirs[op.new_parent];
        if (auto victim = to.find(op.new_name); victim != to.end()) drop_link(victim->second);
        dirs[op.parent].erase(op.name);
        to[op.new_name] = ino;
        if (is_dir(ino)) dir_parent[ino] = op.new_parent;
        break;
      }
    }
  }
};

// Runs `op` through the client; returns the inode it made (0 for calls that make none).
Result<uint64_t> Execute(Client& client, const Op& op) {
  switch (op.kind) {
    case OpKind::kMkdir: {
      ASSIGN_OR_RETURN(FileInfo dir, client.Mkdir(op.parent, op.name));
      return dir.ino;
    }
    case OpKind::kCreate: {
      ASSIGN_OR_RETURN(FileInfo file, client.Create(op.parent, op.name, CreateOptions{.exclusive = true}));
      return file.ino;
    }
    case OpKind::kSymlink: {
      ASSIGN_OR_RETURN(FileInfo link, client.Symlink(op.parent, op.name, op.target));
      return link.ino;
    }
    case OpKind::kLink:
      RETURN_IF_ERROR(client.Link(op.ino, op.new_parent, op.new_name).status());
      return 0;
    case OpKind::kTruncate:
      RETURN_IF_ERROR(client.SetAttr(op.ino, AttrChanges{.size = op.size}).status());
      return 0;
    case OpKind::kExtend:
      RETURN_IF_ERROR(client.ExtendLength(op.ino, op.size).status());
      return 0;
    case OpKind::kUnlink:
      RETURN_IF_ERROR(client.Unlink(op.parent, op.name));
      return 0;
    case OpKind::kRmdir:
      RETURN_IF_ERROR(client.Rmdir(op.parent, op.name));
      return 0;
    case OpKind::kRename:
      RETURN_IF_ERROR(client.Rename(op.parent, op.name, op.new_parent, op.new_name));
      return 0;
  }
  return Error(Code::kInternal, "unknown op");
}

// Compares the server's view of the worker's tree with `m`; the first difference is the error.
Status Verify(Client& client, const Model& m) {
  for (const auto& [dir, entries] : m.dirs) {
    const std::string where = "directory " + std::to_string(dir);
    ASSIGN_OR_RETURN(std::vector<DirEntry> listed, client.ReadDir(dir));
    std::map<std::string, uint64_t> seen;
    for (const auto& e : listed) seen[e.name] = e.ino;
    if (seen != entries) {
      std::string diff;
      for (const auto& [name, ino] : entries) {
        if (seen.count(name) == 0 || seen[name] != ino) diff += " missing " + name + "=" + std::to_string(ino);
      }
      for (const auto& [name, ino] : seen) {
        if (entries.count(name) == 0 || entries.at(name) != ino) diff += " extra " + name + "=" + std::to_string(ino);
      }
      return Error(Code::kInternal, where + " lists other entries:" + diff);
    }
    ASSIGN_OR_RETURN(FileInfo attr, client.GetAttr(dir));
    uint32_t subdirs = 0;
    for (const auto& [name, ino] : entries) subdirs += m.is_dir(ino) ? 1 : 0;
    if (attr.nlink != 2 + subdirs || attr.size != entries.size()) {
      return Error(Code::kInternal, where + " has nlink " + std::to_string(attr.nlink) + ", size " +
                                        std::to_string(attr.size) + "; expected " + std::to_string(2 + subdirs) + ", " +
                                        std::to_string(entries.size()));
    }
  }
  for (const auto& [ino, want] : m.inodes) {
    if (want.type == FileType::kDirectory) continue;
    ASSIGN_OR_RETURN(FileInfo attr, client.GetAttr(ino));
    if (attr.type != want.type || attr.size != want.size || attr.nlink != want.nlink ||
        attr.symlink_target != want.target) {
      return Error(Code::kInternal, "inode " + std::to_string(ino) + " has size " + std::to_string(attr.size) +
                                        ", nlink " + std::to_string(attr.nlink) + "; expected " +
                                        std::to_string(want.size) + ", " + std::to_string(want.nlink));
    }
  }
  return Status::Ok();
}

// Picks a random call that is valid for `m`.
class OpGenerator {
 public:
  explicit OpGenerator(uint64_t seed) : rng_(seed) {}

  Op Next(const Model& m) {
    std::vector<uint64_t> dirs, files, empty_dirs;
    std::vector<std::pair<uint64_t, std::string>> entries;  // every entry below root
    for (const auto& [dir, list] : m.dirs) {
      dirs.push_back(dir);
      if (dir != m.root && list.empty()) empty_dirs.push_back(dir);
      for (const auto& [name, ino] : list) {
        entries.emplace_back(dir, name);
        if (m.inodes.at(ino).type == FileType::kRegular) files.push_back(ino);
      }
    }
    for (;;) {
      Op op;
      op.kind = static_cast<OpKind>(Pick(std::vector<int>{12, 25, 6, 8, 12, 12, 10, 5, 10}));
      op.parent = Choose(dirs);
      op.name = NewName();
      switch (op.kind) {
        case OpKind::kMkdir:
          if (m.depth(op.parent) >= kMaxDepth) continue;
          return op;
        case OpKind::kCreate:
          return op;
        case OpKind::kSymlink:
          op.target = "target-" + NewName();
          return op;
        case OpKind::kLink:
        case OpKind::kTruncate:
        case OpKind::kExtend:
          if (files.empty()) continue;
          op.ino = Choose(files);
          op.new_parent = Choose(dirs);
          op.new_name = NewName();
          op.size = op.kind == OpKind::kExtend ? m.inodes.at(op.ino).size + rng_() % (1 << 20) : rng_() % (4 << 20);
          return op;
        case OpKind::kUnlink:
        case OpKind::kRmdir:
        case OpKind::kRename:
          if (!MakeRemoval(m, op, entries, empty_dirs, dirs)) continue;
          return op;
      }
    }
  }

 private:
  // Fills parent/name (and new_parent/new_name for rename) of a removal; false when none is possible.
  bool MakeRemoval(const Model& m, Op& op, const std::vector<std::pair<uint64_t, std::string>>& entries,
                   const std::vector<uint64_t>& empty_dirs, const std::vector<uint64_t>& dirs) {
    if (op.kind == OpKind::kRmdir) {
      if (empty_dirs.empty()) return false;
      uint64_t dir = Choose(empty_dirs);
      op.parent = m.dir_parent.at(dir);
      for (const auto& [name, ino] : m.dirs.at(op.parent)) {
        if (ino == dir) op.name = name;
      }
      return true;
    }
    if (entries.empty()) return false;
    std::tie(op.parent, op.name) = entries[rng_() % entries.size()];
    uint64_t ino = m.dirs.at(op.parent).at(op.name);
    if (op.kind == OpKind::kUnlink) return !m.is_dir(ino);
    op.new_parent = Choose(dirs);
    if (m.is_dir(ino) && m.within(op.new_parent, ino)) return false;  // into its own subtree
    op.new_name = NewName();
    // Sometimes over an existing non-directory entry (a replacing rename) when the source is one too.
    const auto& target_dir = m.dirs.at(op.new_parent);
    if (!m.is_dir(ino) && !target_dir.empty() && rng_() % 3 == 0) {
      auto it = std::next(target_dir.begin(), static_cast<long>(rng_() % target_dir.size()));
      if (!m.is_dir(it->second) && it->second != ino) op.new_name = it->first;
    }
    return true;
  }

  template <typename T>
  T Choose(const std::vector<T>& v) {
    return v[rng_() % v.size()];
  }
  size_t Pick(const std::vector<int>& weights) {
    std::discrete_distribution<size_t> d(weights.begin(), weights.end());
    return d(rng_);
  }
  std::string NewName() { return "n" + std::to_string(counter_++); }

  std::mt19937_64 rng_;
  uint64_t counter_ = 0;
};

// One thread's state across rounds.
struct Worker {
  Model model;
  std::optional<Op> in_flight;  // the call that failed at the kill: it may or may not have happened
  Status failure;               // a call that failed while the server was up
  uint64_t acknowledged = 0;
  std::unique_ptr<OpGenerator> ops;
};

// Issues calls until one fails (the kill) or the round's budget is spent.
void RunRound(Client& client, Worker& w, const std::atomic<bool>& killing, std::atomic<uint64_t>& acknowledged) {
  for (int i = 0; i < kMaxOpsPerRound; ++i) {
    Op op = w.ops->Next(w.model);
    auto made = Execute(client, op);
    if (!made.ok()) {
      if (killing) {
        w.in_flight = op;
      } else {
        w.failure = Status(made.status()).Prepend(op.ToString());
      }
      return;
    }
    w.model.Apply(op, *made);
    ++w.acknowledged;
    ++acknowledged;
  }
}

// After a restart: decides whether the worker's in-flight call happened, checking the server against
// the model without it and with it, and keeps the model that matches. Counts the calls that happened.
Status Reconcile(Client& client, Worker& w, int* happened) {
  struct Outcome {
    Model model;
    bool happened;
  };
  std::vector<Outcome> outcomes{{w.model, false}};
  if (w.in_flight) {
    const Op& op = *w.in_flight;
    Outcome after{w.model, true};
    if (op.makes_inode()) {
      // The inode number is only known from the server, and the name is new: its entry decides.
      auto found = client.Lookup(op.parent, op.name);
      if (found.ok()) {
        after.model.Apply(op, found->ino);
        outcomes = {after};
      } else if (found.status().code() != Code::kNotFound) {
        return found.status();
      }
    } else {
      after.model.Apply(op, 0);
      outcomes.push_back(after);
    }
  }
  std::string mismatches;
  for (const Outcome& o : outcomes) {
    Status s = Verify(client, o.model);
    if (s.ok()) {
      w.model = o.model;
      w.in_flight.reset();
      *happened += o.happened ? 1 : 0;
      return Status::Ok();
    }
    mismatches += "\n  " + s.ToString();
  }
  return Error(Code::kInternal, "no outcome of " + (w.in_flight ? w.in_flight->ToString() : "nothing") +
                                    " matches the server:" + mismatches);
}

class MetaCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = cluster_.Start();
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << cluster_.logs();
    ClientOptions options;
    options.meta_address = cluster_.meta_address();
    options.rpc_timeout = 5s;
    options.connect_timeout = 1s;
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
    for (int i = 0; i < kThreads; ++i) {
      auto dir = client_->MakeDirs("/crash/t" + std::to_string(i));
      ASSERT_TRUE(dir.ok()) << dir.status().ToString();
      workers_[i].model.root = dir->ino;
      workers_[i].model.dirs[dir->ino];
      workers_[i].ops = std::make_unique<OpGenerator>(1000 + i);
    }
  }

  // Starts the workers, kills the meta server once enough calls were acknowledged (or after a bounded
  // time), and waits for the workers to notice.
  void RunAndKill(uint64_t kill_after) {
    std::atomic<bool> killing{false};
    std::atomic<uint64_t> acknowledged{0};
    std::vector<std::thread> threads;
    for (auto& w : workers_) {
      threads.emplace_back([&, wp = &w] { RunRound(*client_, *wp, killing, acknowledged); });
    }
    auto deadline = std::chrono::steady_clock::now() + kMaxRunBeforeKill;
    while (acknowledged < kill_after && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    killing = true;  // before the kill: every failure from here on may be the kill's
    Status killed = cluster_.KillMeta();
    for (auto& t : threads) t.join();
    ASSERT_TRUE(killed.ok()) << killed.ToString();
  }

  testing::LocalCluster cluster_{"meta-crash", {.storage_servers = 1, .meta_flags = {}, .storage_flags = {}}};
  std::unique_ptr<Client> client_;
  Worker workers_[kThreads];
};

TEST_F(MetaCrashTest, AcknowledgedMutationsSurviveSigkill) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(RunAndKill(200 + rng() % 1000));
    uint64_t in_flight = 0;
    for (auto& w : workers_) {
      ASSERT_TRUE(w.failure.ok()) << w.failure.ToString() << "\n" << cluster_.logs();
      in_flight += w.in_flight ? 1 : 0;
    }
    std::printf("round %d: %llu calls acknowledged in all, %llu in flight at the kill\n", round,
                static_cast<unsigned long long>(workers_[0].acknowledged + workers_[1].acknowledged +
                                                workers_[2].acknowledged + workers_[3].acknowledged),
                static_cast<unsigned long long>(in_flight));

    // (b) on the database exactly as the crash left it (a copy: the server must replay its own log).
    std::string copy = cluster_.dir() + "/crash-copy-" + std::to_string(round);
    std::filesystem::copy(cluster_.meta_db_path(), copy, std::filesystem::copy_options::recursive);
    auto problems = testing::fsck_database(copy);
    EXPECT_TRUE(problems.empty()) << "after kill " << round << ":" << testing::join_lines(problems);
    std::filesystem::remove_all(copy);

    Status restarted = cluster_.RestartMeta();
    ASSERT_TRUE(restarted.ok()) << restarted.ToString() << "\n" << cluster_.logs();
    // (a) every acknowledged call is there. The first call may meet the broken old connection.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!client_->GetAttr(kRootInode).ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    int happened = 0;
    for (int i = 0; i < kThreads; ++i) {
      Status s = Reconcile(*client_, workers_[i], &happened);
      ASSERT_TRUE(s.ok()) << "worker " << i << ": " << s.ToString();
    }
    std::printf("round %d: %d of the calls in flight had happened\n", round, happened);
  }
  client_.reset();
  Status stopped = cluster_.Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.ToString() << "\n" << cluster_.logs();
  auto problems = testing::fsck_database(cluster_.meta_db_path());
  EXPECT_TRUE(problems.empty()) << "after a clean stop:" << testing::join_lines(problems);
}

}  // namespace
}  // namespace zcfs
