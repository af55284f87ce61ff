// The namespace checker: a namespace built through MetaOperator is consistent (on both stores, and
// after a restart); then each test breaks one invariant with raw KvStore writes and checks that the
// checker names the problem.
#include "fsck.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "keys.h"
#include "operator_env.h"

namespace zcfs::meta {
namespace {

using ::testing::Contains;
using testing::Cred;
using testing::EnvNames;
using ::testing::HasSubstr;
using testing::OperatorEnv;
using testing::StoreEnvs;

template <typename Env>
class FsckTest : public ::testing::Test {
 protected:
  // /a/             directory
  // /a/f            regular file, also linked as /b/link
  // /a/sub/         empty directory
  // /b/             directory
  // /b/link         second link of /a/f
  // /b/sym          symlink to "../a/f"
  // /gone           (unlinked regular file: an orphan with a marker)
  void SetUp() override {
    env_.AddNodes(1, 1);
    a_ = Must(op().Mkdir(kRootIno, "a", 0755, Cred(0, 0)));
    b_ = Must(op().Mkdir(kRootIno, "b", 0755, Cred(0, 0)));
    sub_ = Must(op().Mkdir(a_.ino(), "sub", 0755, Cred(0, 0)));
    f_ = Must(op().Create(a_.ino(), "f", 0644, Cred(0, 0), true));
    Must(op().Link(f_.ino(), b_.ino(), "link", Cred(0, 0)));
    sym_ = Must(op().Symlink(b_.ino(), "sym", "../a/f", Cred(0, 0)));
    gone_ = Must(op().Create(kRootIno, "gone", 0644, Cred(0, 0), true));
    Status unlinked = op().Unlink(kRootIno, "gone", Cred(0, 0));
    ASSERT_TRUE(unlinked.ok()) << unlinked.ToString();
  }

  MetaOperator& op() { return env_.op(); }
  KvStore& store() { return env_.env().store(); }

  template <typename T>
  T Must(Result<T> r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : T();
  }

  std::vector<std::string> Check() {
    auto problems = CheckNamespace(store());
    EXPECT_TRUE(problems.ok()) << problems.status().ToString();
    return problems.ok() ? *problems : std::vector<std::string>{"store unreadable"};
  }

  // Rewrites inode `ino` in place after `change` edits it (no other record is touched).
  template <typename Fn>
  void EditInode(uint64_t ino, Fn change) {
    auto raw = store().Get(Column::kInodes, keys::inode_key(ino));
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    pb::InodeAttr attr;
    ASSERT_TRUE(attr.ParseFromString(*raw));
    change(attr);
    ASSERT_TRUE(store().Put(Column::kInodes, keys::inode_key(ino), attr.SerializeAsString()).ok());
  }
  void PutEntry(uint64_t parent, const std::string& name, uint64_t child, pb::FileType type) {
    ASSERT_TRUE(
        store().Put(Column::kDentries, keys::dentry_key(parent, name), keys::encode_dentry({child, type})).ok());
  }
  // Adds `delta` subdirectory entries to directory `dir`'s nlink and size, as a moved entry would.
  void CountSubdirectory(uint64_t dir, int delta) {
    EditInode(dir, [delta](pb::InodeAttr& d) {
      d.set_nlink(d.nlink() + delta);
      d.set_size(d.size() + delta);
    });
  }
  void DeleteEntry(uint64_t parent, const std::string& name) {
    ASSERT_TRUE(store().Delete(Column::kDentries, keys::dentry_key(parent, name)).ok());
  }

  OperatorEnv<Env> env_;
  pb::InodeAttr a_, b_, sub_, f_, sym_, gone_;
};
TYPED_TEST_SUITE(FsckTest, StoreEnvs, EnvNames);

#define EXPECT_PROBLEM(text) EXPECT_THAT(this->Check(), Contains(HasSubstr(text)))

TYPED_TEST(FsckTest, ConsistentNamespaceHasNoProblem) {
  EXPECT_THAT(this->Check(), ::testing::IsEmpty());
  // The orphan is really there: nlink 0 with a marker.
  EXPECT_EQ(this->Must(this->op().GetAttr(this->gone_.ino())).nlink(), 0u);
  EXPECT_TRUE(this->store().Get(Column::kSystem, keys::orphan_key(this->gone_.ino())).ok());
  this->env_.Restart();
  EXPECT_THAT(this->Check(), ::testing::IsEmpty());
}

TYPED_TEST(FsckTest, FreshNamespaceHasNoProblem) {
  OperatorEnv<TypeParam> fresh;
  auto problems = CheckNamespace(fresh.env().store());
  ASSERT_TRUE(problems.ok());
  EXPECT_THAT(*problems, ::testing::IsEmpty());
}

TYPED_TEST(FsckTest, EntryToMissingInode) {
  ASSERT_TRUE(this->store().Delete(Column::kInodes, keys::inode_key(this->sym_.ino())).ok());
  EXPECT_PROBLEM("entry 'sym' in directory " + std::to_string(this->b_.ino()) + " points to missing inode " +
                 std::to_string(this->sym_.ino()));
}

TYPED_TEST(FsckTest, EntryTypeDiffersFromInode) {
  this->PutEntry(this->b_.ino(), "sym", this->sym_.ino(), pb::FILE_TYPE_REGULAR);
  EXPECT_PROBLEM("entry 'sym' in directory " + std::to_string(this->b_.ino()) + " says regular file but inode " +
                 std::to_string(this->sym_.ino()) + " is a symlink");
}

TYPED_TEST(FsckTest, EntryInNonDirectory) {
  this->PutEntry(this->f_.ino(), "x", this->sym_.ino(), pb::FILE_TYPE_SYMLINK);
  EXPECT_PROBLEM("entry 'x' in directory " + std::to_string(this->f_.ino()) + ": inode " +
                 std::to_string(this->f_.ino()) + " is a regular file, not a directory");
}

TYPED_TEST(FsckTest, RootMissing) {
  ASSERT_TRUE(this->store().Delete(Column::kInodes, keys::inode_key(kRootIno)).ok());
  EXPECT_PROBLEM("the root directory (inode 1) is missing");
}

TYPED_TEST(FsckTest, RootNotADirectory) {
  this->EditInode(kRootIno, [](pb::InodeAttr& a) { a.set_type(pb::FILE_TYPE_REGULAR); });
  EXPECT_PROBLEM("the root (inode 1) is a regular file, not a directory");
}

TYPED_TEST(FsckTest, RootWithAnEntry) {
  this->PutEntry(this->sub_.ino(), "up", kRootIno, pb::FILE_TYPE_DIRECTORY);
  EXPECT_PROBLEM("the root (inode 1) has an entry 'up' in directory " + std::to_string(this->sub_.ino()));
}

TYPED_TEST(FsckTest, DirectoryWithTwoEntries) {
  this->PutEntry(this->b_.ino(), "sub-again", this->sub_.ino(), pb::FILE_TYPE_DIRECTORY);
  EXPECT_PROBLEM("directory " + std::to_string(this->sub_.ino()) + " has 2 entries naming it, not exactly 1");
}

TYPED_TEST(FsckTest, DirectoryWithoutEntry) {
  this->DeleteEntry(this->a_.ino(), "sub");
  auto problems = this->Check();
  const std::string sub = std::to_string(this->sub_.ino());
  EXPECT_THAT(problems, Contains(HasSubstr("directory " + sub + " has 0 entries naming it, not exactly 1")));
  EXPECT_THAT(problems, Contains(HasSubstr("directory " + sub + " is not reachable from the root")));
}

TYPED_TEST(FsckTest, DirectoryParentFieldWrong) {
  this->EditInode(this->sub_.ino(), [&](pb::InodeAttr& a) { a.set_parent(this->b_.ino()); });
  EXPECT_PROBLEM("directory " + std::to_string(this->sub_.ino()) + " has parent field " +
                 std::to_string(this->b_.ino()) + " but its entry is in directory " + std::to_string(this->a_.ino()));
}

TYPED_TEST(FsckTest, DirectoryNlinkWrong) {
  this->EditInode(this->a_.ino(), [](pb::InodeAttr& a) { a.set_nlink(a.nlink() + 1); });
  EXPECT_PROBLEM("directory " + std::to_string(this->a_.ino()) + " has nlink 4, expected 3 (2 + 1 subdirectories)");
}

TYPED_TEST(FsckTest, DirectorySizeWrong) {
  this->EditInode(this->b_.ino(), [](pb::InodeAttr& a) { a.set_size(4096); });
  EXPECT_PROBLEM("directory " + std::to_string(this->b_.ino()) + " has size 4096 but holds 2 entries");
}

TYPED_TEST(FsckTest, FileNlinkWrong) {
  this->EditInode(this->f_.ino(), [](pb::InodeAttr& a) { a.set_nlink(3); });
  EXPECT_PROBLEM("regular file " + std::to_string(this->f_.ino()) + " has nlink 3 but 2 entries name it");
}

TYPED_TEST(FsckTest, OrphanMarkerWithoutInode) {
  ASSERT_TRUE(this->store().Put(Column::kSystem, keys::orphan_key(9999), "").ok());
  EXPECT_PROBLEM("orphan marker for missing inode 9999");
}

TYPED_TEST(FsckTest, UnlinkedInodeWithoutMarker) {
  ASSERT_TRUE(this->store().Delete(Column::kSystem, keys::orphan_key(this->gone_.ino())).ok());
  auto problems = this->Check();
  const std::string gone = std::to_string(this->gone_.ino());
  EXPECT_THAT(problems, Contains(HasSubstr("regular file " + gone + " has nlink 0 but no orphan marker")));
  EXPECT_THAT(problems, Contains(HasSubstr("regular file " + gone + " is not reachable from the root")));
}

TYPED_TEST(FsckTest, MarkerOnLinkedFile) {
  ASSERT_TRUE(this->store().Put(Column::kSystem, keys::orphan_key(this->f_.ino()), "").ok());
  EXPECT_PROBLEM("regular file " + std::to_string(this->f_.ino()) + " has an orphan marker but nlink 2");
}

TYPED_TEST(FsckTest, InodeAtOrAboveNextIno) {
  ASSERT_TRUE(this->store().Put(Column::kSystem, std::string(keys::kNextIno), keys::be64(this->gone_.ino())).ok());
  EXPECT_PROBLEM("inode " + std::to_string(this->gone_.ino()) + " is not below next_ino " +
                 std::to_string(this->gone_.ino()));
}

TYPED_TEST(FsckTest, InodeCountWrong) {
  ASSERT_TRUE(this->store().Put(Column::kSystem, std::string(keys::kInodeCount), keys::be64(3)).ok());
  EXPECT_PROBLEM("system counter inode_count is 3 but there are 7 inodes");
}

// /a/sub is moved, by raw writes that keep every count right, to an entry "loop" inside itself:
// a cycle that hangs off nothing, so only the cycle and the lost reachability are wrong.
TYPED_TEST(FsckTest, DirectoryCycle) {
  const uint64_t a = this->a_.ino(), sub = this->sub_.ino();
  this->DeleteEntry(a, "sub");
  this->CountSubdirectory(a, -1);
  this->PutEntry(sub, "loop", sub, pb::FILE_TYPE_DIRECTORY);
  this->CountSubdirectory(sub, +1);
  this->EditInode(sub, [&](pb::InodeAttr& d) { d.set_parent(sub); });
  auto problems = this->Check();
  EXPECT_THAT(problems, Contains(HasSubstr("directory cycle: " + std::to_string(sub) + " -> " + std::to_string(sub))));
  EXPECT_THAT(problems, Contains(HasSubstr("directory " + std::to_string(sub) + " is not reachable from the root")));
  EXPECT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
}

// Two directories holding each other, cut off from the root: a longer cycle.
TYPED_TEST(FsckTest, TwoDirectoryCycle) {
  const uint64_t a = this->a_.ino(), sub = this->sub_.ino();
  this->DeleteEntry(kRootIno, "a");
  this->CountSubdirectory(kRootIno, -1);
  this->PutEntry(sub, "back", a, pb::FILE_TYPE_DIRECTORY);
  this->CountSubdirectory(sub, +1);
  this->EditInode(a, [&](pb::InodeAttr& d) { d.set_parent(sub); });
  auto problems = this->Check();
  EXPECT_THAT(problems, Contains(HasSubstr("directory cycle: " + std::to_string(a) + " -> " + std::to_string(sub) +
                                           " -> " + std::to_string(a))));
  EXPECT_THAT(problems, Contains(HasSubstr("directory " + std::to_string(sub) + " is not reachable from the root")));
  // /a/f stays reachable through its second link /b/link.
  EXPECT_THAT(problems, ::testing::Not(Contains(HasSubstr("file " + std::to_string(this->f_.ino())))));
}

TYPED_TEST(FsckTest, DamagedRecords) {
  ASSERT_TRUE(this->store().Put(Column::kInodes, keys::inode_key(this->sym_.ino()), "\xff\xff\xff").ok());
  ASSERT_TRUE(this->store().Put(Column::kDentries, keys::dentry_key(this->b_.ino(), "junk"), "short").ok());
  auto problems = this->Check();
  EXPECT_THAT(problems, Contains(HasSubstr("inode " + std::to_string(this->sym_.ino()) + ": record does not parse")));
  EXPECT_THAT(problems, Contains(HasSubstr("entry 'junk' in directory " + std::to_string(this->b_.ino()) +
                                           ": value does not decode")));
}

TYPED_TEST(FsckTest, RecordUnderTheWrongKey) {
  this->EditInode(this->sym_.ino(), [](pb::InodeAttr& a) { a.set_ino(a.ino() + 100); });
  EXPECT_PROBLEM("inode " + std::to_string(this->sym_.ino()) + ": record says it is inode " +
                 std::to_string(this->sym_.ino() + 100));
}

}  // namespace
}  // namespace zcfs::meta
