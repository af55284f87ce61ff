// MetaOperator::Rename: rename(2) and renameat2(2) semantics, link counts, the directory `parent`
// field, orphans of replaced files, and the errors, on the in-memory store and on RocksDB.
#include "namespace_fixture.h"

namespace zcfs::meta {
namespace {

using testing::kRoot;
using testing::User;

template <typename Env>
class RenameTest : public testing::NamespaceTest<Env> {
 protected:
  Status Rename(uint64_t parent, const std::string& name, uint64_t new_parent, const std::string& new_name,
                uint32_t flags = 0, const pb::Credentials& cred = kRoot) {
    return this->op().Rename(parent, name, new_parent, new_name, flags, cred);
  }
};
TYPED_TEST_SUITE(RenameTest, testing::StoreEnvs, testing::EnvNames);

TYPED_TEST(RenameTest, WithinOneDirectory) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(dir.ino(), "a");
  pb::InodeAttr dir_before = this->Get(dir.ino());
  ASSERT_TRUE(this->Rename(dir.ino(), "a", dir.ino(), "b").ok());
  EXPECT_CODE(this->op().Lookup(dir.ino(), "a"), kNotFound);
  EXPECT_EQ(this->InoOf(dir.ino(), "b"), file.ino());
  pb::InodeAttr moved = this->Get(file.ino());
  EXPECT_EQ(moved.nlink(), 1u);
  EXPECT_GT(moved.ctime_ns(), file.ctime_ns());
  pb::InodeAttr dir_after = this->Get(dir.ino());
  EXPECT_EQ(dir_after.size(), 1u);
  EXPECT_EQ(dir_after.nlink(), 2u);
  EXPECT_GT(dir_after.mtime_ns(), dir_before.mtime_ns());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, FileAcrossDirectories) {
  pb::InodeAttr from = this->Mkdir(kRootIno, "from");
  pb::InodeAttr to = this->Mkdir(kRootIno, "to");
  pb::InodeAttr file = this->Create(from.ino(), "f");
  ASSERT_TRUE(this->Rename(from.ino(), "f", to.ino(), "g").ok());
  EXPECT_EQ(this->InoOf(to.ino(), "g"), file.ino());
  EXPECT_EQ(this->Get(from.ino()).size(), 0u);
  EXPECT_EQ(this->Get(to.ino()).size(), 1u);
  EXPECT_EQ(this->Get(from.ino()).nlink(), 2u);
  EXPECT_EQ(this->Get(to.ino()).nlink(), 2u);
  EXPECT_GT(this->Get(from.ino()).mtime_ns(), from.mtime_ns());
  EXPECT_GT(this->Get(to.ino()).mtime_ns(), to.mtime_ns());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, DirectoryAcrossDirectoriesMovesItsDotDot) {
  pb::InodeAttr a = this->Mkdir(kRootIno, "a");
  pb::InodeAttr b = this->Mkdir(kRootIno, "b");
  pb::InodeAttr x = this->Mkdir(a.ino(), "x");
  this->Create(x.ino(), "inside");
  EXPECT_EQ(this->Get(a.ino()).nlink(), 3u);
  ASSERT_TRUE(this->Rename(a.ino(), "x", b.ino(), "y").ok());
  EXPECT_EQ(this->Get(a.ino()).nlink(), 2u);
  EXPECT_EQ(this->Get(b.ino()).nlink(), 3u);
  EXPECT_EQ(this->Get(a.ino()).size(), 0u);
  EXPECT_EQ(this->Get(b.ino()).size(), 1u);
  pb::InodeAttr moved = this->Get(x.ino());
  EXPECT_EQ(moved.parent(), b.ino());
  EXPECT_EQ(moved.nlink(), 2u);
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_NE(this->InoOf(x.ino(), "inside"), 0u);
  EXPECT_EQ(this->Get(kRootIno).nlink(), 4u);

  // Up to the root and back down two levels.
  ASSERT_TRUE(this->Rename(b.ino(), "y", kRootIno, "y").ok());
  EXPECT_EQ(this->Get(x.ino()).parent(), kRootIno);
  EXPECT_EQ(this->Get(kRootIno).nlink(), 5u);
  pb::InodeAttr deep = this->Mkdir(a.ino(), "deep");
  ASSERT_TRUE(this->Rename(kRootIno, "y", deep.ino(), "y").ok());
  EXPECT_EQ(this->Get(x.ino()).parent(), deep.ino());
  EXPECT_EQ(this->Get(deep.ino()).nlink(), 3u);
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, OverAnExistingFileOrphansItsLastLink) {
  pb::InodeAttr src = this->Create(kRootIno, "src");
  pb::InodeAttr victim = this->Create(kRootIno, "victim");
  uint64_t inodes = this->op().StatFs().inodes();
  ASSERT_TRUE(this->Rename(kRootIno, "src", kRootIno, "victim").ok());
  EXPECT_EQ(this->InoOf(kRootIno, "victim"), src.ino());
  EXPECT_CODE(this->op().Lookup(kRootIno, "src"), kNotFound);
  EXPECT_EQ(this->Get(victim.ino()).nlink(), 0u);
  EXPECT_TRUE(this->HasOrphanMarker(victim.ino()));
  EXPECT_EQ(this->Get(kRootIno).size(), 1u);
  EXPECT_EQ(this->op().StatFs().inodes(), inodes);
  this->ExpectConsistent();

  this->PassStartupGrace();
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  EXPECT_FALSE(this->Exists(victim.ino()));
  EXPECT_TRUE(this->Exists(src.ino()));
}

TYPED_TEST(RenameTest, OverAHardLinkedFileKeepsItsOtherLink) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr src = this->Create(kRootIno, "src");
  pb::InodeAttr victim = this->Create(kRootIno, "victim");
  ASSERT_TRUE(this->op().Link(victim.ino(), dir.ino(), "other", kRoot).ok());
  ASSERT_TRUE(this->Rename(kRootIno, "src", kRootIno, "victim").ok());
  EXPECT_EQ(this->Get(victim.ino()).nlink(), 1u);
  EXPECT_FALSE(this->HasOrphanMarker(victim.ino()));
  EXPECT_EQ(this->InoOf(dir.ino(), "other"), victim.ino());
  EXPECT_EQ(this->InoOf(kRootIno, "victim"), src.ino());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, OverASymlinkDeletesIt) {
  pb::InodeAttr src = this->Create(kRootIno, "src");
  auto sym = this->op().Symlink(kRootIno, "s", "src", kRoot);
  ASSERT_TRUE(sym.ok());
  uint64_t inodes = this->op().StatFs().inodes();
  ASSERT_TRUE(this->Rename(kRootIno, "src", kRootIno, "s").ok());
  EXPECT_FALSE(this->Exists(sym->ino()));
  EXPECT_FALSE(this->HasOrphanMarker(sym->ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes - 1);
  EXPECT_EQ(this->InoOf(kRootIno, "s"), src.ino());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, DirectoryOverAnEmptyDirectory) {
  pb::InodeAttr p = this->Mkdir(kRootIno, "p");
  pb::InodeAttr q = this->Mkdir(kRootIno, "q");
  pb::InodeAttr d = this->Mkdir(p.ino(), "d");
  this->Create(d.ino(), "f");
  pb::InodeAttr empty = this->Mkdir(q.ino(), "e");
  uint64_t inodes = this->op().StatFs().inodes();

  ASSERT_TRUE(this->Rename(p.ino(), "d", q.ino(), "e").ok());
  EXPECT_EQ(this->InoOf(q.ino(), "e"), d.ino());
  EXPECT_FALSE(this->Exists(empty.ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes - 1);
  EXPECT_EQ(this->Get(p.ino()).nlink(), 2u);
  EXPECT_EQ(this->Get(q.ino()).nlink(), 3u);  // lost "e"'s "..", gained "d"'s
  EXPECT_EQ(this->Get(p.ino()).size(), 0u);
  EXPECT_EQ(this->Get(q.ino()).size(), 1u);
  EXPECT_EQ(this->Get(d.ino()).parent(), q.ino());

  // And within one directory.
  this->Mkdir(q.ino(), "e2");
  ASSERT_TRUE(this->Rename(q.ino(), "e", q.ino(), "e2").ok());
  EXPECT_EQ(this->Get(q.ino()).nlink(), 3u);
  EXPECT_EQ(this->Get(q.ino()).size(), 1u);
  EXPECT_EQ(this->InoOf(q.ino(), "e2"), d.ino());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, TypeAndEmptinessErrors) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "dir");
  pb::InodeAttr full = this->Mkdir(kRootIno, "full");
  this->Create(full.ino(), "x");
  pb::InodeAttr file = this->Create(kRootIno, "file");
  pb::InodeAttr empty = this->Mkdir(kRootIno, "empty");

  EXPECT_CODE(this->Rename(kRootIno, "dir", kRootIno, "full"), kNotEmpty);
  EXPECT_CODE(this->Rename(kRootIno, "dir", kRootIno, "file"), kNotDirectory);
  EXPECT_CODE(this->Rename(kRootIno, "file", kRootIno, "empty"), kIsDirectory);
  EXPECT_CODE(this->Rename(kRootIno, "missing", kRootIno, "new"), kNotFound);
  EXPECT_CODE(this->Rename(kRootIno, "file", 999999, "new"), kNotFound);
  EXPECT_CODE(this->Rename(file.ino(), "x", kRootIno, "new"), kNotDirectory);
  EXPECT_CODE(this->Rename(kRootIno, "file", file.ino(), "x"), kNotDirectory);
  EXPECT_CODE(this->Rename(kRootIno, "file", kRootIno, ".."), kInvalidArgument);
  EXPECT_CODE(this->Rename(kRootIno, "", kRootIno, "new"), kInvalidArgument);
  EXPECT_CODE(this->Rename(kRootIno, "file", kRootIno, std::string(256, 'n')), kNameTooLong);

  // Nothing moved.
  EXPECT_EQ(this->InoOf(kRootIno, "dir"), dir.ino());
  EXPECT_EQ(this->InoOf(kRootIno, "full"), full.ino());
  EXPECT_EQ(this->InoOf(kRootIno, "file"), file.ino());
  EXPECT_EQ(this->InoOf(kRootIno, "empty"), empty.ino());
  EXPECT_EQ(this->Get(kRootIno).nlink(), 5u);
  EXPECT_EQ(this->Get(kRootIno).size(), 4u);
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, DirectoryIntoItsOwnSubtree) {
  pb::InodeAttr a = this->Mkdir(kRootIno, "a");
  pb::InodeAttr b = this->Mkdir(a.ino(), "b");
  pb::InodeAttr c = this->Mkdir(b.ino(), "c");
  EXPECT_CODE(this->Rename(kRootIno, "a", c.ino(), "a"), kInvalidArgument);
  EXPECT_CODE(this->Rename(kRootIno, "a", a.ino(), "self"), kInvalidArgument);
  EXPECT_CODE(this->Rename(a.ino(), "b", c.ino(), "b"), kInvalidArgument);
  // Exchanging a directory with one of its descendants moves one of them into the other.
  EXPECT_CODE(this->Rename(kRootIno, "a", b.ino(), "c", rename::kExchange), kInvalidArgument);
  EXPECT_CODE(this->Rename(b.ino(), "c", kRootIno, "a", rename::kExchange), kInvalidArgument);
  // Moving down into a sibling's subtree is fine.
  pb::InodeAttr s = this->Mkdir(kRootIno, "s");
  EXPECT_TRUE(this->Rename(kRootIno, "s", c.ino(), "s").ok());
  EXPECT_EQ(this->Get(s.ino()).parent(), c.ino());
  EXPECT_EQ(this->InoOf(b.ino(), "c"), c.ino());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, NoReplace) {
  pb::InodeAttr a = this->Create(kRootIno, "a");
  pb::InodeAttr b = this->Create(kRootIno, "b");
  EXPECT_CODE(this->Rename(kRootIno, "a", kRootIno, "b", rename::kNoReplace), kAlreadyExists);
  EXPECT_EQ(this->InoOf(kRootIno, "a"), a.ino());
  EXPECT_EQ(this->InoOf(kRootIno, "b"), b.ino());
  EXPECT_EQ(this->Get(b.ino()).nlink(), 1u);
  EXPECT_TRUE(this->Rename(kRootIno, "a", kRootIno, "c", rename::kNoReplace).ok());
  EXPECT_EQ(this->InoOf(kRootIno, "c"), a.ino());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, ExchangeFileAndDirectoryInDifferentParents) {
  pb::InodeAttr p = this->Mkdir(kRootIno, "p");
  pb::InodeAttr q = this->Mkdir(kRootIno, "q");
  pb::InodeAttr file = this->Create(p.ino(), "f");
  pb::InodeAttr dir = this->Mkdir(q.ino(), "d");
  this->Create(dir.ino(), "inside");  // a non-empty directory can be exchanged

  ASSERT_TRUE(this->Rename(p.ino(), "f", q.ino(), "d", rename::kExchange).ok());
  EXPECT_EQ(this->InoOf(p.ino(), "f"), dir.ino());
  EXPECT_EQ(this->InoOf(q.ino(), "d"), file.ino());
  EXPECT_EQ(this->op().Lookup(p.ino(), "f")->type(), pb::FILE_TYPE_DIRECTORY);
  EXPECT_EQ(this->Get(p.ino()).nlink(), 3u);
  EXPECT_EQ(this->Get(q.ino()).nlink(), 2u);
  EXPECT_EQ(this->Get(p.ino()).size(), 1u);
  EXPECT_EQ(this->Get(q.ino()).size(), 1u);
  EXPECT_EQ(this->Get(dir.ino()).parent(), p.ino());
  EXPECT_EQ(this->Get(file.ino()).nlink(), 1u);
  EXPECT_EQ(this->Get(dir.ino()).nlink(), 2u);
  EXPECT_GT(this->Get(file.ino()).ctime_ns(), file.ctime_ns());
  this->ExpectConsistent();

  // Two directories in different parents: both ".." move, the link counts balance.
  pb::InodeAttr other = this->Mkdir(q.ino(), "e");
  ASSERT_TRUE(this->Rename(p.ino(), "f", q.ino(), "e", rename::kExchange).ok());
  EXPECT_EQ(this->Get(dir.ino()).parent(), q.ino());
  EXPECT_EQ(this->Get(other.ino()).parent(), p.ino());
  EXPECT_EQ(this->Get(p.ino()).nlink(), 3u);
  EXPECT_EQ(this->Get(q.ino()).nlink(), 3u);
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, ExchangeErrors) {
  this->Create(kRootIno, "a");
  EXPECT_CODE(this->Rename(kRootIno, "a", kRootIno, "missing", rename::kExchange), kNotFound);
  EXPECT_CODE(this->Rename(kRootIno, "missing", kRootIno, "a", rename::kExchange), kNotFound);
  EXPECT_CODE(this->Rename(kRootIno, "a", kRootIno, "b", rename::kExchange | rename::kNoReplace), kInvalidArgument);
  EXPECT_CODE(this->op().Lookup(kRootIno, "missing"), kNotFound);
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, UnknownFlags) {
  this->Create(kRootIno, "a");
  EXPECT_CODE(this->Rename(kRootIno, "a", kRootIno, "b", 1u << 2), kInvalidArgument);
  EXPECT_CODE(this->Rename(kRootIno, "a", kRootIno, "b", 0x80000000u), kInvalidArgument);
  EXPECT_NE(this->InoOf(kRootIno, "a"), 0u);
  EXPECT_EQ(this->InoOf(kRootIno, "b"), 0u);
}

TYPED_TEST(RenameTest, OntoAnotherLinkOfTheSameInodeDoesNothing) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().Link(file.ino(), dir.ino(), "g", kRoot).ok());
  pb::InodeAttr before = this->Get(file.ino());
  pb::InodeAttr root_before = this->Get(kRootIno);

  ASSERT_TRUE(this->Rename(kRootIno, "f", dir.ino(), "g").ok());
  EXPECT_EQ(this->InoOf(kRootIno, "f"), file.ino());  // both names stay
  EXPECT_EQ(this->InoOf(dir.ino(), "g"), file.ino());
  EXPECT_EQ(this->Get(file.ino()).SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(this->Get(kRootIno).SerializeAsString(), root_before.SerializeAsString());
  EXPECT_TRUE(this->Rename(kRootIno, "f", kRootIno, "f").ok());  // onto itself
  EXPECT_TRUE(this->Rename(kRootIno, "d", kRootIno, "d").ok());
  EXPECT_EQ(this->Get(file.ino()).SerializeAsString(), before.SerializeAsString());
  this->ExpectConsistent();
}

TYPED_TEST(RenameTest, Permissions) {
  pb::Credentials alice = User(1000, 1000), bob = User(2000, 2000);
  pb::InodeAttr mine = this->MkdirOwned(kRootIno, "mine", 0755, 1000, 1000);
  pb::InodeAttr open = this->MkdirOwned(kRootIno, "open", 0777, 0, 0);
  this->Create(mine.ino(), "f", 0644, alice);
  this->Create(open.ino(), "g", 0644, bob);
  this->Mkdir(open.ino(), "bobs", 0755, bob);

  EXPECT_CODE(this->Rename(mine.ino(), "f", open.ino(), "f", 0, bob), kPermissionDenied);  // no w on "mine"
  EXPECT_CODE(this->Rename(open.ino(), "g", mine.ino(), "g", 0, bob), kPermissionDenied);  // no w on "mine"
  EXPECT_TRUE(this->Rename(mine.ino(), "f", open.ino(), "f", 0, alice).ok());
  // Moving bob's directory to another parent rewrites its "..": alice needs write on it.
  EXPECT_CODE(this->Rename(open.ino(), "bobs", mine.ino(), "bobs", 0, alice), kPermissionDenied);
  EXPECT_TRUE(this->Rename(open.ino(), "bobs", open.ino(), "renamed", 0, alice).ok());  // same parent: fine
  EXPECT_TRUE(this->Rename(open.ino(), "renamed", mine.ino(), "bobs", 0, kRoot).ok());

  // Sticky: only the owner of the entry or the directory renames (or replaces) an entry.
  this->Chmod(open.ino(), 01777);
  EXPECT_CODE(this->Rename(open.ino(), "f", open.ino(), "f2", 0, bob), kNotPermitted);
  EXPECT_CODE(this->Rename(open.ino(), "g", open.ino(), "f", 0, bob), kNotPermitted);  // replaces alice's
  EXPECT_TRUE(this->Rename(open.ino(), "f", open.ino(), "f2", 0, alice).ok());
  this->ExpectConsistent();
}

}  // namespace
}  // namespace zcfs::meta
