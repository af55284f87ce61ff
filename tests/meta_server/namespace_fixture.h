// Shared fixture of the namespace operation tests (namespace_ops, rename, permissions, sessions, race):
// an operator over a store env with a fake ChunkTrimmer, one storage node with two targets, and
// helpers that create entries as root and check the namespace invariants with fsck.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "fsck.h"
#include "keys.h"
#include "operator_env.h"
#include "zcfs/meta/chunk_trimmer.h"
#include "zcfs/proto/methods.h"

namespace zcfs::meta::testing {

// Records every Trim call; fails them with kUnavailable while `fail` is set. `on_trim` runs inside
// Trim (before it returns), so a test can observe the namespace while the trim is in progress.
// Thread-safe.
class FakeTrimmer : public ChunkTrimmer {
 public:
  struct Call {
    uint64_t ino = 0;
    pb::Layout layout;
    uint64_t length = 0;
  };

  Status Trim(uint64_t ino, const pb::Layout& layout, uint64_t length) override {
    std::function<void(uint64_t, uint64_t)> hook;
    {
      std::lock_guard lock(mutex_);
      calls_.push_back({ino, layout, length});
      hook = on_trim_;
    }
    if (hook) hook(ino, length);
    if (fail_) return Error(Code::kUnavailable, "fake trimmer told to fail");
    return Status::Ok();
  }

  void set_fail(bool fail) { fail_ = fail; }
  void set_on_trim(std::function<void(uint64_t, uint64_t)> hook) {
    std::lock_guard lock(mutex_);
    on_trim_ = std::move(hook);
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    calls_.clear();
  }

 private:
  std::atomic<bool> fail_{false};
  std::mutex mutex_;
  std::vector<Call> calls_;
  std::function<void(uint64_t, uint64_t)> on_trim_;
};

inline pb::Credentials User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
  pb::Credentials c = Cred(uid, gid);
  for (uint32_t g : groups) c.add_groups(g);
  return c;
}

inline const pb::Credentials kRoot = Cred(0, 0);

template <typename Env>
class NamespaceTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::seconds kLease{60};
  static constexpr std::chrono::hours kNodeTimeout{1};

  NamespaceTest() : trimmer_(std::make_shared<FakeTrimmer>()), env_(Options(trimmer_)) { env_.AddNodes(1, 2); }

  static MetaOptions Options(std::shared_ptr<FakeTrimmer> trimmer) {
    MetaOptions options;
    options.trimmer = std::move(trimmer);
    options.session_lease = kLease;
    options.node_timeout = kNodeTimeout;  // the storage node stays online while leases run out
    return options;
  }

  MetaOperator& op() { return env_.op(); }
  KvStore& store() { return env_.env().store(); }

  pb::InodeAttr Mkdir(uint64_t parent, const std::string& name, uint32_t mode = 0755,
                      const pb::Credentials& cred = kRoot) {
    auto r = op().Mkdir(parent, name, mode, cred);
    EXPECT_TRUE(r.ok()) << "mkdir " << name << ": " << r.status().ToString();
    return r.ok() ? *r : pb::InodeAttr();
  }
  pb::InodeAttr Create(uint64_t parent, const std::string& name, uint32_t mode = 0644,
                       const pb::Credentials& cred = kRoot) {
    auto r = op().Create(parent, name, mode, cred, /*exclusive=*/true);
    EXPECT_TRUE(r.ok()) << "create " << name << ": " << r.status().ToString();
    return r.ok() ? *r : pb::InodeAttr();
  }
  pb::InodeAttr Get(uint64_t ino) {
    auto r = op().GetAttr(ino);
    EXPECT_TRUE(r.ok()) << "getattr " << ino << ": " << r.status().ToString();
    return r.ok() ? *r : pb::InodeAttr();
  }
  // The inode number behind `name` in `parent`, 0 when absent.
  uint64_t InoOf(uint64_t parent, const std::string& name) {
    auto r = op().Lookup(parent, name);
    return r.ok() ? r->ino() : 0;
  }
  void Chmod(uint64_t ino, uint32_t mode) {
    pb::SetAttrRequest req;
    req.set_ino(ino);
    req.set_valid(setattr::kMode);
    req.set_mode(mode);
    auto r = op().SetAttr(req);
    EXPECT_TRUE(r.ok()) << "chmod " << ino << ": " << r.status().ToString();
  }
  void Chown(uint64_t ino, uint32_t uid, uint32_t gid) {
    pb::SetAttrRequest req;
    req.set_ino(ino);
    req.set_valid(setattr::kUid | setattr::kGid);
    req.set_uid(uid);
    req.set_gid(gid);
    auto r = op().SetAttr(req);
    EXPECT_TRUE(r.ok()) << "chown " << ino << ": " << r.status().ToString();
  }
  // A directory made by root, then given to `uid`:`gid`.
  pb::InodeAttr MkdirOwned(uint64_t parent, const std::string& name, uint32_t mode, uint32_t uid, uint32_t gid) {
    pb::InodeAttr dir = Mkdir(parent, name, mode);
    Chown(dir.ino(), uid, gid);
    return Get(dir.ino());
  }
  bool Exists(uint64_t ino) { return op().GetAttr(ino).ok(); }
  bool HasOrphanMarker(uint64_t ino) { return store().Get(Column::kSystem, keys::orphan_key(ino)).ok(); }
  // All names in directory `dir`, paging 2 at a time.
  std::vector<std::string> Names(uint64_t dir) {
    std::vector<std::string> names;
    std::string after;
    for (;;) {
      auto page = op().Readdir(dir, after, 2);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return names;
      for (const auto& e : page->entries()) names.push_back(e.name());
      if (page->eof() || page->entries().empty()) return names;
      after = page->entries().rbegin()->name();
    }
  }
  Result<pb::InodeAttr> Truncate(uint64_t ino, uint64_t size, const pb::Credentials& cred = kRoot) {
    pb::SetAttrRequest req;
    req.set_ino(ino);
    req.set_valid(setattr::kSize);
    req.set_size(size);
    *req.mutable_cred() = cred;
    return op().SetAttr(req);
  }
  // Lets the start-up grace period (one session lease) pass, so that ReclaimOrphans works.
  void PassStartupGrace() { env_.AdvanceMonotonic(kLease); }
  // fsck finds nothing wrong.
  void ExpectConsistent() {
    auto problems = CheckNamespace(store());
    ASSERT_TRUE(problems.ok()) << problems.status().ToString();
    EXPECT_THAT(*problems, ::testing::IsEmpty());
  }

  std::shared_ptr<FakeTrimmer> trimmer_;
  OperatorEnv<Env> env_;
};

}  // namespace zcfs::meta::testing
