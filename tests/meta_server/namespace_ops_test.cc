// MetaOperator: unlink, rmdir, link, symlink, directory sizes, readdir cookies under change and
// StatFs, on the in-memory store and on RocksDB. Rename, permissions and sessions have their own files.
#include "namespace_fixture.h"

namespace zcfs::meta {
namespace {

using testing::Heartbeat;
using testing::kRoot;
using testing::User;

template <typename Env>
class NamespaceOpsTest : public testing::NamespaceTest<Env> {};
TYPED_TEST_SUITE(NamespaceOpsTest, testing::StoreEnvs, testing::EnvNames);

TYPED_TEST(NamespaceOpsTest, UnlinkLastLinkOfFileMakesAnOrphan) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(dir.ino(), "f");
  pb::InodeAttr dir_before = this->Get(dir.ino());
  uint64_t inodes = this->op().StatFs().inodes();

  ASSERT_TRUE(this->op().Unlink(dir.ino(), "f", kRoot).ok());
  EXPECT_CODE(this->op().Lookup(dir.ino(), "f"), kNotFound);
  pb::InodeAttr orphan = this->Get(file.ino());
  EXPECT_EQ(orphan.nlink(), 0u);
  EXPECT_GT(orphan.version(), file.version());
  EXPECT_TRUE(this->HasOrphanMarker(file.ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes);  // the orphan still counts until reclaimed

  pb::InodeAttr dir_after = this->Get(dir.ino());
  EXPECT_EQ(dir_after.size(), 0u);
  EXPECT_EQ(dir_after.nlink(), 2u);
  EXPECT_GT(dir_after.mtime_ns(), dir_before.mtime_ns());
  EXPECT_GT(dir_after.version(), dir_before.version());
  EXPECT_TRUE(this->trimmer_->calls().empty());  // data goes only when the orphan is reclaimed
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, UnlinkSymlinkDeletesItsInode) {
  auto link = this->op().Symlink(kRootIno, "s", "target", kRoot);
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  uint64_t inodes = this->op().StatFs().inodes();
  ASSERT_TRUE(this->op().Unlink(kRootIno, "s", kRoot).ok());
  EXPECT_CODE(this->op().GetAttr(link->ino()), kNotFound);
  EXPECT_FALSE(this->HasOrphanMarker(link->ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes - 1);
  EXPECT_EQ(this->Get(kRootIno).size(), 0u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, UnlinkOneHardLinkKeepsTheOther) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().Link(file.ino(), dir.ino(), "g", kRoot).ok());
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());

  auto other = this->op().Lookup(dir.ino(), "g");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->ino(), file.ino());
  EXPECT_EQ(other->nlink(), 1u);
  EXPECT_FALSE(this->HasOrphanMarker(file.ino()));
  this->ExpectConsistent();

  ASSERT_TRUE(this->op().Unlink(dir.ino(), "g", kRoot).ok());
  EXPECT_EQ(this->Get(file.ino()).nlink(), 0u);
  EXPECT_TRUE(this->HasOrphanMarker(file.ino()));
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, UnlinkErrors) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(kRootIno, "f");
  EXPECT_CODE(this->op().Unlink(kRootIno, "d", kRoot), kIsDirectory);
  EXPECT_CODE(this->op().Unlink(kRootIno, "missing", kRoot), kNotFound);
  EXPECT_CODE(this->op().Unlink(file.ino(), "x", kRoot), kNotDirectory);
  EXPECT_CODE(this->op().Unlink(999999, "x", kRoot), kNotFound);
  EXPECT_CODE(this->op().Unlink(kRootIno, ".", kRoot), kInvalidArgument);
  EXPECT_CODE(this->op().Unlink(kRootIno, "a/b", kRoot), kInvalidArgument);
  EXPECT_CODE(this->op().Unlink(kRootIno, std::string(256, 'n'), kRoot), kNameTooLong);
  // Nothing changed.
  EXPECT_EQ(this->InoOf(kRootIno, "d"), dir.ino());
  EXPECT_EQ(this->InoOf(kRootIno, "f"), file.ino());
  EXPECT_EQ(this->Get(kRootIno).size(), 2u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, UnlinkInStickyDirectoryNeedsOwnership) {
  pb::Credentials alice = User(1000, 1000), bob = User(2000, 2000), carol = User(3000, 3000);
  pb::InodeAttr tmp = this->MkdirOwned(kRootIno, "tmp", 01777, 3000, 3000);  // sticky, world-writable
  this->Create(tmp.ino(), "a1", 0666, alice);
  this->Create(tmp.ino(), "a2", 0666, alice);
  this->Create(tmp.ino(), "a3", 0666, alice);
  this->Create(tmp.ino(), "b", 0666, bob);

  EXPECT_CODE(this->op().Unlink(tmp.ino(), "a1", bob), kNotPermitted);  // neither owns "a1" nor "tmp"
  EXPECT_TRUE(this->op().Unlink(tmp.ino(), "b", bob).ok());             // owner of the entry
  EXPECT_TRUE(this->op().Unlink(tmp.ino(), "a1", alice).ok());
  EXPECT_TRUE(this->op().Unlink(tmp.ino(), "a2", carol).ok());  // owner of the directory
  EXPECT_TRUE(this->op().Unlink(tmp.ino(), "a3", kRoot).ok());
  EXPECT_EQ(this->Get(tmp.ino()).size(), 0u);

  // The same rule holds for rmdir.
  this->Mkdir(tmp.ino(), "ad", 0777, alice);
  EXPECT_CODE(this->op().Rmdir(tmp.ino(), "ad", bob), kNotPermitted);
  EXPECT_TRUE(this->op().Rmdir(tmp.ino(), "ad", alice).ok());
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, UnlinkNeedsWriteAndSearchOnTheParent) {
  pb::Credentials alice = User(1000, 1000);
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d", 0777);
  this->Create(dir.ino(), "f", 0666, alice);
  ASSERT_TRUE(this->op().Mkdir(dir.ino(), "sub", 0777, alice).ok());

  for (uint32_t mode : {0555u, 0666u}) {  // no write; no search
    this->Chmod(dir.ino(), mode);
    EXPECT_CODE(this->op().Unlink(dir.ino(), "f", alice), kPermissionDenied);
    EXPECT_CODE(this->op().Rmdir(dir.ino(), "sub", alice), kPermissionDenied);
  }
  EXPECT_TRUE(this->op().Unlink(dir.ino(), "f", kRoot).ok());  // root bypasses
  EXPECT_TRUE(this->op().Rmdir(dir.ino(), "sub", kRoot).ok());
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, RmdirRestoresTheParent) {
  pb::InodeAttr parent = this->Mkdir(kRootIno, "p");
  uint64_t inodes = this->op().StatFs().inodes();
  pb::InodeAttr child = this->Mkdir(parent.ino(), "c");
  EXPECT_EQ(this->Get(parent.ino()).nlink(), 3u);
  EXPECT_EQ(this->Get(parent.ino()).size(), 1u);
  EXPECT_EQ(child.parent(), parent.ino());
  EXPECT_EQ(this->op().StatFs().inodes(), inodes + 1);

  ASSERT_TRUE(this->op().Rmdir(parent.ino(), "c", kRoot).ok());
  pb::InodeAttr after = this->Get(parent.ino());
  EXPECT_EQ(after.nlink(), 2u);
  EXPECT_EQ(after.size(), 0u);
  EXPECT_CODE(this->op().GetAttr(child.ino()), kNotFound);
  EXPECT_CODE(this->op().Lookup(parent.ino(), "c"), kNotFound);
  EXPECT_FALSE(this->HasOrphanMarker(child.ino()));  // directories never become orphans
  EXPECT_EQ(this->op().StatFs().inodes(), inodes);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, RmdirErrors) {
  pb::InodeAttr full = this->Mkdir(kRootIno, "full");
  this->Create(full.ino(), "f");
  pb::InodeAttr nested = this->Mkdir(kRootIno, "nested");
  this->Mkdir(nested.ino(), "sub");
  this->Create(kRootIno, "file");
  ASSERT_TRUE(this->op().Symlink(kRootIno, "link", "full", kRoot).ok());

  EXPECT_CODE(this->op().Rmdir(kRootIno, "full", kRoot), kNotEmpty);
  EXPECT_CODE(this->op().Rmdir(kRootIno, "nested", kRoot), kNotEmpty);
  EXPECT_CODE(this->op().Rmdir(kRootIno, "file", kRoot), kNotDirectory);
  EXPECT_CODE(this->op().Rmdir(kRootIno, "link", kRoot), kNotDirectory);
  EXPECT_CODE(this->op().Rmdir(kRootIno, "missing", kRoot), kNotFound);
  EXPECT_CODE(this->op().Rmdir(kRootIno, "..", kRoot), kInvalidArgument);
  EXPECT_EQ(this->Get(kRootIno).nlink(), 4u);
  EXPECT_EQ(this->Get(kRootIno).size(), 4u);

  ASSERT_TRUE(this->op().Unlink(full.ino(), "f", kRoot).ok());
  EXPECT_TRUE(this->op().Rmdir(kRootIno, "full", kRoot).ok());  // empty now
  EXPECT_EQ(this->Get(kRootIno).nlink(), 3u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, LinkAddsANameToTheSameInode) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(kRootIno, "f");
  auto linked = this->op().Link(file.ino(), dir.ino(), "g", kRoot);
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_EQ(linked->ino(), file.ino());
  EXPECT_EQ(linked->nlink(), 2u);
  EXPECT_GT(linked->ctime_ns(), file.ctime_ns());
  EXPECT_GT(linked->version(), file.version());
  EXPECT_EQ(this->Get(file.ino()).SerializeAsString(), linked->SerializeAsString());
  EXPECT_EQ(this->InoOf(dir.ino(), "g"), file.ino());
  EXPECT_EQ(this->Get(dir.ino()).size(), 1u);
  EXPECT_EQ(this->Get(dir.ino()).nlink(), 2u);  // a file link is no subdirectory

  // Symlinks can be hard-linked too.
  auto sym = this->op().Symlink(kRootIno, "s", "f", kRoot);
  ASSERT_TRUE(sym.ok());
  EXPECT_EQ(this->op().Link(sym->ino(), dir.ino(), "s2", kRoot)->nlink(), 2u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, LinkErrors) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr file = this->Create(kRootIno, "f");
  this->Create(dir.ino(), "taken");

  EXPECT_CODE(this->op().Link(dir.ino(), kRootIno, "d2", kRoot), kNotPermitted);
  EXPECT_CODE(this->op().Link(file.ino(), dir.ino(), "taken", kRoot), kAlreadyExists);
  EXPECT_CODE(this->op().Link(file.ino(), kRootIno, "f", kRoot), kAlreadyExists);
  EXPECT_CODE(this->op().Link(file.ino(), file.ino(), "x", kRoot), kNotDirectory);
  EXPECT_CODE(this->op().Link(999999, kRootIno, "x", kRoot), kNotFound);
  EXPECT_CODE(this->op().Link(file.ino(), 999999, "x", kRoot), kNotFound);
  EXPECT_CODE(this->op().Link(file.ino(), kRootIno, "", kRoot), kInvalidArgument);
  EXPECT_CODE(this->op().Link(file.ino(), dir.ino(), "x", User(1000, 1000)), kPermissionDenied);
  EXPECT_EQ(this->Get(file.ino()).nlink(), 1u);

  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  EXPECT_CODE(this->op().Link(file.ino(), kRootIno, "back", kRoot), kNotFound);  // an orphan stays one
  EXPECT_EQ(this->Get(dir.ino()).size(), 1u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, SymlinkStoresItsTarget) {
  auto link = this->op().Symlink(kRootIno, "s", "../some/where", User(0, 44));
  ASSERT_TRUE(link.ok()) << link.status().ToString();
  EXPECT_EQ(link->type(), pb::FILE_TYPE_SYMLINK);
  EXPECT_EQ(link->symlink_target(), "../some/where");
  EXPECT_EQ(link->size(), 13u);
  EXPECT_EQ(link->nlink(), 1u);
  EXPECT_EQ(link->mode(), 0777u);
  EXPECT_EQ(link->gid(), 44u);
  EXPECT_EQ(this->Get(link->ino()).SerializeAsString(), link->SerializeAsString());
  EXPECT_EQ(this->op().Lookup(kRootIno, "s")->symlink_target(), "../some/where");
  EXPECT_EQ(this->Get(kRootIno).size(), 1u);

  std::string longest(kMaxSymlinkLength, 'x');
  auto max = this->op().Symlink(kRootIno, "max", longest, kRoot);
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(this->Get(max->ino()).symlink_target(), longest);
  EXPECT_EQ(max->size(), kMaxSymlinkLength);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, SymlinkErrors) {
  EXPECT_CODE(this->op().Symlink(kRootIno, "s", "", kRoot), kNotFound);  // symlink(2): ENOENT
  EXPECT_CODE(this->op().Symlink(kRootIno, "s", std::string(kMaxSymlinkLength + 1, 'x'), kRoot), kNameTooLong);
  EXPECT_CODE(this->op().Symlink(kRootIno, "s", std::string("a\0b", 3), kRoot), kInvalidArgument);
  EXPECT_CODE(this->op().Symlink(kRootIno, "a/b", "t", kRoot), kInvalidArgument);
  EXPECT_CODE(this->op().Symlink(kRootIno, "s", "t", User(1000, 1000)), kPermissionDenied);
  EXPECT_CODE(this->op().Lookup(kRootIno, "s"), kNotFound);
  this->Create(kRootIno, "f");
  EXPECT_CODE(this->op().Symlink(kRootIno, "f", "t", kRoot), kAlreadyExists);
  EXPECT_EQ(this->Get(kRootIno).size(), 1u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, DirectorySizeIsTheNumberOfEntries) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  EXPECT_EQ(dir.size(), 0u);
  pb::InodeAttr file = this->Create(dir.ino(), "f");
  this->Mkdir(dir.ino(), "sub");
  ASSERT_TRUE(this->op().Symlink(dir.ino(), "s", "f", kRoot).ok());
  ASSERT_TRUE(this->op().Link(file.ino(), dir.ino(), "g", kRoot).ok());
  EXPECT_EQ(this->Get(dir.ino()).size(), 4u);
  EXPECT_EQ(this->Names(dir.ino()), (std::vector<std::string>{"f", "g", "s", "sub"}));
  ASSERT_TRUE(this->op().Unlink(dir.ino(), "g", kRoot).ok());
  ASSERT_TRUE(this->op().Rmdir(dir.ino(), "sub", kRoot).ok());
  EXPECT_EQ(this->Get(dir.ino()).size(), 2u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, ReaddirCookieSurvivesRemovalAndInsertion) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  for (std::string name : {"a", "b", "c", "d", "e", "f", "g"}) this->Create(dir.ino(), name);

  auto first = this->op().Readdir(dir.ino(), "", 3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->entries_size(), 3);
  EXPECT_EQ(first->entries(2).name(), "c");
  EXPECT_FALSE(first->eof());

  // The cookie's own entry goes away, one entry is added behind the cookie and one before it.
  ASSERT_TRUE(this->op().Unlink(dir.ino(), "c", kRoot).ok());
  this->Create(dir.ino(), "cc");
  this->Create(dir.ino(), "b2");

  auto second = this->op().Readdir(dir.ino(), "c", 3);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  std::vector<std::string> names;
  for (const auto& e : second->entries()) names.push_back(e.name());
  EXPECT_EQ(names, (std::vector<std::string>{"cc", "d", "e"}));
  EXPECT_FALSE(second->eof());

  // A removed name past every entry is still a valid cookie, as is a name that never existed.
  ASSERT_TRUE(this->op().Unlink(dir.ino(), "g", kRoot).ok());
  auto tail = this->op().Readdir(dir.ino(), "e", 3);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->entries_size(), 1);
  EXPECT_EQ(tail->entries(0).name(), "f");
  EXPECT_TRUE(tail->eof());
  auto past = this->op().Readdir(dir.ino(), "g", 3);
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->entries_size(), 0);
  EXPECT_TRUE(past->eof());
  EXPECT_EQ(this->op().Readdir(dir.ino(), "bz", 1)->entries(0).name(), "cc");
}

TYPED_TEST(NamespaceOpsTest, StatFsCountsInodesAcrossRestart) {
  EXPECT_EQ(this->op().StatFs().inodes(), 1u);  // the root
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  pb::InodeAttr f1 = this->Create(dir.ino(), "f1");
  this->Create(dir.ino(), "f2");
  ASSERT_TRUE(this->op().Symlink(kRootIno, "s", "d", kRoot).ok());
  ASSERT_TRUE(this->op().Link(f1.ino(), kRootIno, "f1-link", kRoot).ok());  // no new inode
  EXPECT_EQ(this->op().StatFs().inodes(), 5u);

  ASSERT_TRUE(this->op().Unlink(kRootIno, "s", kRoot).ok());
  ASSERT_TRUE(this->op().Unlink(dir.ino(), "f1", kRoot).ok());      // one link left
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f1-link", kRoot).ok());  // an orphan: still counted
  ASSERT_TRUE(this->op().Unlink(dir.ino(), "f2", kRoot).ok());      // another orphan
  EXPECT_EQ(this->op().StatFs().inodes(), 4u);

  this->env_.Restart();
  EXPECT_EQ(this->op().StatFs().inodes(), 4u);
  this->PassStartupGrace();
  EXPECT_EQ(this->op().ReclaimOrphans(), 2u);
  EXPECT_EQ(this->op().StatFs().inodes(), 2u);
  ASSERT_TRUE(this->op().Rmdir(kRootIno, "d", kRoot).ok());
  EXPECT_EQ(this->op().StatFs().inodes(), 1u);
  this->env_.Restart();
  EXPECT_EQ(this->op().StatFs().inodes(), 1u);
  this->ExpectConsistent();
}

TYPED_TEST(NamespaceOpsTest, StatFsCountsOnlineTargets) {
  // The fixture registered node 1 (10.0.0.1:9000) with two targets of 1000 bytes.
  // One node: each chunk has one copy (replication 3 waits for more nodes).
  pb::StatFsReply fs = this->op().StatFs();
  EXPECT_EQ(fs.capacity_bytes(), 2000u);
  EXPECT_EQ(fs.replication(), 1u);
  EXPECT_EQ(fs.online_nodes(), 1u);
  EXPECT_EQ(fs.offline_nodes(), 0u);
  EXPECT_EQ(fs.chunk_size(), kDefaultChunkSize);

  auto added = this->env_.AddNodes(1, 3);  // 10.0.0.2:9000
  ASSERT_EQ(added.size(), 1u);
  ASSERT_TRUE(this->op().RegisterNode(Heartbeat(added[0], "10.0.0.2:9000", 100)).ok());
  // Two nodes: two copies of each chunk, so half the raw space is usable.
  fs = this->op().StatFs();
  EXPECT_EQ(fs.replication(), 2u);
  EXPECT_EQ(fs.capacity_bytes(), 5000u / 2);
  EXPECT_EQ(fs.used_bytes(), 300u / 2);
  EXPECT_EQ(fs.online_nodes(), 2u);

  // Node 1 falls silent: only node 2's targets count.
  this->env_.AdvanceMonotonic(std::chrono::minutes(this->kNodeTimeout) * 4 / 5);
  ASSERT_TRUE(this->op().RegisterNode(Heartbeat(added[0], "10.0.0.2:9000", 100)).ok());
  this->env_.AdvanceMonotonic(std::chrono::minutes(this->kNodeTimeout) * 4 / 5);
  fs = this->op().StatFs();
  EXPECT_EQ(fs.online_nodes(), 1u);
  EXPECT_EQ(fs.offline_nodes(), 1u);
  EXPECT_EQ(fs.capacity_bytes(), 3000u / 2);
  EXPECT_EQ(fs.used_bytes(), 300u / 2);
}

}  // namespace
}  // namespace zcfs::meta
