// MetaOperator permission checks with pb::Credentials: search/read/write on directories, setattr
// rules (chmod, chown, chgrp, times, truncate) and the root bypass, on the in-memory store and RocksDB.
#include <fcntl.h>

#include "namespace_fixture.h"

namespace zcfs::meta {
namespace {

using testing::kRoot;
using testing::User;

template <typename Env>
class PermissionsTest : public testing::NamespaceTest<Env> {
 protected:
  Result<pb::InodeAttr> SetAttr(uint64_t ino, uint32_t valid, const pb::Credentials& cred,
                                std::function<void(pb::SetAttrRequest&)> fill = {}) {
    pb::SetAttrRequest req;
    req.set_ino(ino);
    req.set_valid(valid);
    *req.mutable_cred() = cred;
    if (fill) fill(req);
    return this->op().SetAttr(req);
  }
};
TYPED_TEST_SUITE(PermissionsTest, testing::StoreEnvs, testing::EnvNames);

const pb::Credentials kAlice = User(1000, 1000);
const pb::Credentials kBob = User(2000, 2000);

TYPED_TEST(PermissionsTest, LookupNeedsSearchReaddirNeedsRead) {
  pb::InodeAttr dir = this->MkdirOwned(kRootIno, "d", 0700, 1000, 1000);
  this->Create(dir.ino(), "f");
  EXPECT_TRUE(this->op().Lookup(dir.ino(), "f", kAlice).ok());
  EXPECT_TRUE(this->op().Readdir(dir.ino(), "", 0, kAlice).ok());
  EXPECT_CODE(this->op().Lookup(dir.ino(), "f", kBob), kPermissionDenied);
  EXPECT_CODE(this->op().Lookup(dir.ino(), "missing", kBob), kPermissionDenied);  // no probing
  EXPECT_CODE(this->op().Readdir(dir.ino(), "", 0, kBob), kPermissionDenied);
  EXPECT_TRUE(this->op().Lookup(dir.ino(), "f", kRoot).ok());
  EXPECT_TRUE(this->op().Readdir(dir.ino(), "", 0, kRoot).ok());

  this->Chmod(dir.ino(), 0701);  // search only
  EXPECT_TRUE(this->op().Lookup(dir.ino(), "f", kBob).ok());
  EXPECT_CODE(this->op().Readdir(dir.ino(), "", 0, kBob), kPermissionDenied);
  this->Chmod(dir.ino(), 0704);  // read only
  EXPECT_CODE(this->op().Lookup(dir.ino(), "f", kBob), kPermissionDenied);
  auto listed = this->op().Readdir(dir.ino(), "", 0, kBob);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->entries_size(), 1);
}

TYPED_TEST(PermissionsTest, ClassesAreOwnerThenGroupThenOther) {
  pb::InodeAttr dir = this->MkdirOwned(kRootIno, "d", 0070, 1000, 500);
  this->Create(dir.ino(), "f");
  EXPECT_CODE(this->op().Lookup(dir.ino(), "f", User(1000, 500)), kPermissionDenied);  // the owner class: ---
  EXPECT_TRUE(this->op().Lookup(dir.ino(), "f", User(2000, 500)).ok());                // primary group
  EXPECT_TRUE(this->op().Lookup(dir.ino(), "f", User(2000, 2000, {7, 500})).ok());     // supplementary group
  EXPECT_CODE(this->op().Lookup(dir.ino(), "f", User(2000, 2000, {7})), kPermissionDenied);
  this->Chmod(dir.ino(), 0705);
  EXPECT_CODE(this->op().Lookup(dir.ino(), "f", User(2000, 500)), kPermissionDenied);  // group class: ---
  EXPECT_TRUE(this->op().Lookup(dir.ino(), "f", User(3000, 3000)).ok());
}

TYPED_TEST(PermissionsTest, CreatingEntriesNeedsWriteAndSearch) {
  pb::InodeAttr file = this->Create(kRootIno, "file");
  for (uint32_t mode : {0755u, 0757u, 0756u, 0753u}) {  // bob: r-x, rwx, rw-, -wx
    std::string suffix = std::to_string(mode);
    pb::InodeAttr dir = this->MkdirOwned(kRootIno, "d" + suffix, mode, 1000, 1000);
    const bool allowed = (mode & 3) == 3;
    auto created = this->op().Create(dir.ino(), "f", 0644, kBob, true);
    auto made = this->op().Mkdir(dir.ino(), "m", 0755, kBob);
    auto sym = this->op().Symlink(dir.ino(), "s", "t", kBob);
    auto linked = this->op().Link(file.ino(), dir.ino(), "l", kBob);
    if (allowed) {
      EXPECT_TRUE(created.ok()) << suffix << ": " << created.status().ToString();
      EXPECT_EQ(created->uid(), 2000u);
      EXPECT_EQ(created->gid(), 2000u);
      EXPECT_TRUE(made.ok()) << suffix;
      EXPECT_TRUE(sym.ok()) << suffix;
      EXPECT_TRUE(linked.ok()) << suffix;
    } else {
      EXPECT_CODE(created, kPermissionDenied);
      EXPECT_CODE(made, kPermissionDenied);
      EXPECT_CODE(sym, kPermissionDenied);
      EXPECT_CODE(linked, kPermissionDenied);
      EXPECT_EQ(this->Get(dir.ino()).size(), 0u);
    }
  }
  pb::InodeAttr locked = this->Mkdir(kRootIno, "locked", 0);
  EXPECT_TRUE(this->op().Create(locked.ino(), "f", 0644, kRoot, true).ok());  // root bypasses
  EXPECT_TRUE(this->op().Mkdir(locked.ino(), "m", 0, kRoot).ok());
  this->ExpectConsistent();
}

// Linux looks the name up before it checks write permission: mkdir or O_CREAT|O_EXCL of an existing
// name in a read-only directory is EEXIST, and open(O_CREAT) of an existing file there succeeds.
TYPED_TEST(PermissionsTest, ExistingNameInReadOnlyDirectory) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d", 0755);
  pb::InodeAttr file = this->Create(dir.ino(), "f", 0666);
  this->Mkdir(dir.ino(), "sub");
  EXPECT_CODE(this->op().Mkdir(dir.ino(), "sub", 0755, kBob), kAlreadyExists);
  EXPECT_CODE(this->op().Create(dir.ino(), "f", 0644, kBob, /*exclusive=*/true), kAlreadyExists);
  auto existing = this->op().Create(dir.ino(), "f", 0644, kBob, /*exclusive=*/false);
  ASSERT_TRUE(existing.ok()) << existing.status().ToString();
  EXPECT_EQ(existing->ino(), file.ino());
  EXPECT_CODE(this->op().Create(dir.ino(), "new", 0644, kBob, /*exclusive=*/false), kPermissionDenied);
  this->Chmod(dir.ino(), 0750);  // no search for bob: the name cannot even be looked up
  EXPECT_CODE(this->op().Create(dir.ino(), "f", 0644, kBob, /*exclusive=*/false), kPermissionDenied);
  EXPECT_CODE(this->op().Mkdir(dir.ino(), "sub", 0755, kBob), kPermissionDenied);
}

TYPED_TEST(PermissionsTest, ChmodAndChownRules) {
  pb::InodeAttr home = this->MkdirOwned(kRootIno, "home", 0777, 0, 0);
  pb::InodeAttr file = this->Create(home.ino(), "f", 0644, kAlice);
  auto mode = [](uint32_t m) { return [m](pb::SetAttrRequest& r) { r.set_mode(m); }; };
  auto owner = [](uint32_t uid, uint32_t gid) {
    return [uid, gid](pb::SetAttrRequest& r) {
      r.set_uid(uid);
      r.set_gid(gid);
    };
  };

  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kMode, kBob, mode(0777)), kNotPermitted);
  EXPECT_EQ(this->Get(file.ino()).mode(), 0644u);
  auto chmodded = this->SetAttr(file.ino(), setattr::kMode, kAlice, mode(0600));
  ASSERT_TRUE(chmodded.ok()) << chmodded.status().ToString();
  EXPECT_EQ(chmodded->mode(), 0600u);

  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kUid, kAlice, owner(2000, 0)), kNotPermitted);  // give away
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kUid, kBob, owner(2000, 0)), kNotPermitted);    // take
  EXPECT_TRUE(this->SetAttr(file.ino(), setattr::kUid, kAlice, owner(1000, 0)).ok());            // no change
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kGid, kAlice, owner(0, 500)), kNotPermitted);   // not a member
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kGid, User(2000, 2000, {500}), owner(0, 500)), kNotPermitted);
  auto chgrp = this->SetAttr(file.ino(), setattr::kGid, User(1000, 1000, {42, 500}), owner(0, 500));
  ASSERT_TRUE(chgrp.ok()) << chgrp.status().ToString();
  EXPECT_EQ(chgrp->gid(), 500u);
  EXPECT_EQ(chgrp->uid(), 1000u);

  auto chown = this->SetAttr(file.ino(), setattr::kUid | setattr::kGid, kRoot, owner(2000, 2000));
  ASSERT_TRUE(chown.ok()) << chown.status().ToString();
  EXPECT_EQ(chown->uid(), 2000u);
  EXPECT_EQ(chown->gid(), 2000u);
  // The new owner may chmod; the old one may not.
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kMode, kAlice, mode(0666)), kNotPermitted);
  EXPECT_TRUE(this->SetAttr(file.ino(), setattr::kMode, kBob, mode(0666)).ok());
}

TYPED_TEST(PermissionsTest, TimesRules) {
  pb::InodeAttr home = this->MkdirOwned(kRootIno, "home", 0777, 0, 0);
  pb::InodeAttr file = this->Create(home.ino(), "f", 0644, kAlice);
  auto times = [](pb::SetAttrRequest& r) {
    r.set_atime_ns(5);
    r.set_mtime_ns(6);
  };
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kAtime | setattr::kMtime, kBob, times), kNotPermitted);
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kMtimeNow, kBob), kPermissionDenied);  // no write
  auto set = this->SetAttr(file.ino(), setattr::kAtime | setattr::kMtime, kAlice, times);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->mtime_ns(), 6);
  this->Chmod(file.ino(), 0666);
  auto now = this->SetAttr(file.ino(), setattr::kAtimeNow | setattr::kMtimeNow, kBob);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_GT(now->mtime_ns(), 6);
  EXPECT_CODE(this->SetAttr(file.ino(), setattr::kMtime, kBob, times), kNotPermitted);  // explicit: owner only
}

TYPED_TEST(PermissionsTest, TruncateNeedsWrite) {
  pb::InodeAttr home = this->MkdirOwned(kRootIno, "home", 0777, 0, 0);
  pb::InodeAttr file = this->Create(home.ino(), "f", 0644, kAlice);
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 1000).ok());
  EXPECT_CODE(this->Truncate(file.ino(), 10, kBob), kPermissionDenied);
  EXPECT_CODE(this->Truncate(file.ino(), 5000, kBob), kPermissionDenied);
  EXPECT_EQ(this->Get(file.ino()).size(), 1000u);
  EXPECT_TRUE(this->trimmer_->calls().empty());  // refused before any data was cut

  EXPECT_TRUE(this->Truncate(file.ino(), 500, kAlice).ok());
  this->Chmod(file.ino(), 0444);
  EXPECT_CODE(this->Truncate(file.ino(), 10, kAlice), kPermissionDenied);  // the owner needs w too
  this->Chmod(file.ino(), 0);
  auto by_root = this->Truncate(file.ino(), 10, kRoot);
  ASSERT_TRUE(by_root.ok()) << by_root.status().ToString();
  EXPECT_EQ(by_root->size(), 10u);
}

TYPED_TEST(PermissionsTest, OpenChecksTheAccessMode) {
  pb::InodeAttr home = this->MkdirOwned(kRootIno, "home", 0777, 0, 0);
  pb::InodeAttr file = this->Create(home.ino(), "f", 0640, kAlice);
  EXPECT_TRUE(this->op().Open(file.ino(), O_RDWR, kAlice, 1).ok());
  EXPECT_TRUE(this->op().Open(file.ino(), O_RDONLY, User(2000, 1000), 1).ok());  // group r
  EXPECT_CODE(this->op().Open(file.ino(), O_WRONLY, User(2000, 1000), 1), kPermissionDenied);
  EXPECT_CODE(this->op().Open(file.ino(), O_RDONLY, kBob, 1), kPermissionDenied);
  this->Chmod(file.ino(), 0200);
  EXPECT_CODE(this->op().Open(file.ino(), O_RDONLY, kAlice, 1), kPermissionDenied);
  EXPECT_CODE(this->op().Open(file.ino(), O_RDWR, kAlice, 1), kPermissionDenied);
  EXPECT_TRUE(this->op().Open(file.ino(), O_WRONLY, kAlice, 1).ok());
  this->Chmod(file.ino(), 0);
  EXPECT_TRUE(this->op().Open(file.ino(), O_RDWR, kRoot, 1).ok());

  pb::InodeAttr dir = this->MkdirOwned(home.ino(), "d", 0300, 1000, 1000);
  EXPECT_CODE(this->op().Open(dir.ino(), O_RDONLY | O_DIRECTORY, kAlice, 1), kPermissionDenied);  // opendir: r
  this->Chmod(dir.ino(), 0500);
  EXPECT_TRUE(this->op().Open(dir.ino(), O_RDONLY | O_DIRECTORY, kAlice, 1).ok());
}

TYPED_TEST(PermissionsTest, SetgidDirectoryPassesItsGroupOn) {
  pb::InodeAttr shared = this->MkdirOwned(kRootIno, "shared", 02777, 0, 500);
  auto file = this->op().Create(shared.ino(), "f", 0644, kAlice, /*exclusive=*/true);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->gid(), 500u);
  EXPECT_EQ(file->mode(), 0644u);
  auto sub = this->op().Mkdir(shared.ino(), "sub", 0755, kAlice);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ(sub->gid(), 500u);
  EXPECT_EQ(sub->mode(), 02755u);  // subdirectories stay setgid
  auto link = this->op().Symlink(shared.ino(), "l", "f", kAlice);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->gid(), 500u);
  pb::InodeAttr plain = this->MkdirOwned(kRootIno, "plain", 0777, 0, 500);
  auto other = this->op().Create(plain.ino(), "f", 0644, kAlice, /*exclusive=*/true);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->gid(), 1000u);  // the creator's group
}

TYPED_TEST(PermissionsTest, ChmodAndChownClearSetIdBits) {
  pb::InodeAttr home = this->MkdirOwned(kRootIno, "home", 0777, 0, 0);
  pb::InodeAttr file = this->Create(home.ino(), "f", 0755, kAlice);
  auto mode = [](uint32_t m) { return [m](pb::SetAttrRequest& r) { r.set_mode(m); }; };
  auto set_id = this->SetAttr(file.ino(), setattr::kMode, kAlice, mode(06755));
  ASSERT_TRUE(set_id.ok()) << set_id.status().ToString();
  EXPECT_EQ(set_id->mode(), 06755u);  // alice is in the file's group 1000

  auto chgrp = this->SetAttr(file.ino(), setattr::kGid, User(1000, 1000, {42}),
                             [](pb::SetAttrRequest& r) { r.set_gid(42); });
  ASSERT_TRUE(chgrp.ok()) << chgrp.status().ToString();
  EXPECT_EQ(chgrp->mode(), 0755u);  // chown drops setuid, and setgid of a group-executable file

  auto outsider = this->SetAttr(file.ino(), setattr::kMode, kAlice, mode(02755));  // not in group 42
  ASSERT_TRUE(outsider.ok()) << outsider.status().ToString();
  EXPECT_EQ(outsider->mode(), 0755u);
  auto by_root = this->SetAttr(file.ino(), setattr::kMode, kRoot, mode(06755));
  ASSERT_TRUE(by_root.ok());
  EXPECT_EQ(by_root->mode(), 06755u);
}

}  // namespace
}  // namespace zcfs::meta
