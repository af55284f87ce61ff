// MetaOperator namespace tests, run on the in-memory store and on RocksDB.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "operator_env.h"
#include "zcfs/proto/methods.h"

namespace zcfs::meta {
namespace {

using testing::Cred;
using testing::EnvNames;
using testing::OperatorEnv;
using testing::StoreEnvs;

template <typename Env>
class MetaOperatorTest : public ::testing::Test {
 protected:
  OperatorEnv<Env> env_;
  MetaOperator& op() { return env_.op(); }
  pb::InodeAttr MustMkdir(uint64_t parent, const std::string& name) {
    auto r = op().Mkdir(parent, name, 0755, Cred(0, 0));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : pb::InodeAttr();
  }
  pb::InodeAttr MustCreate(uint64_t parent, const std::string& name) {
    auto r = op().Create(parent, name, 0644, Cred(0, 0), true);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : pb::InodeAttr();
  }
  pb::InodeAttr MustGet(uint64_t ino) {
    auto r = op().GetAttr(ino);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : pb::InodeAttr();
  }
  // Lets any user create in the root (as root: a default pb::Credentials).
  void OpenRootToAll() {
    pb::SetAttrRequest chmod;
    chmod.set_ino(kRootIno);
    chmod.set_valid(setattr::kMode);
    chmod.set_mode(0777);
    auto r = op().SetAttr(chmod);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
};
TYPED_TEST_SUITE(MetaOperatorTest, StoreEnvs, EnvNames);

TYPED_TEST(MetaOperatorTest, RootDirectoryExists) {
  pb::InodeAttr root = this->MustGet(kRootIno);
  EXPECT_EQ(root.ino(), kRootIno);
  EXPECT_EQ(root.type(), pb::FILE_TYPE_DIRECTORY);
  EXPECT_EQ(root.mode(), 0755u);
  EXPECT_EQ(root.uid(), 0u);
  EXPECT_EQ(root.gid(), 0u);
  EXPECT_EQ(root.nlink(), 2u);
  EXPECT_GE(root.version(), 1u);
  EXPECT_GT(root.mtime_ns(), 0);
}

TYPED_TEST(MetaOperatorTest, MkdirLookupAndParentLinks) {
  this->OpenRootToAll();
  pb::InodeAttr root_before = this->MustGet(kRootIno);
  auto dir = this->op().Mkdir(kRootIno, "data", 040750, Cred(7, 8));
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_GT(dir->ino(), kRootIno);
  EXPECT_EQ(dir->type(), pb::FILE_TYPE_DIRECTORY);
  EXPECT_EQ(dir->mode(), 0750u);  // file type bits dropped
  EXPECT_EQ(dir->uid(), 7u);
  EXPECT_EQ(dir->gid(), 8u);
  EXPECT_EQ(dir->nlink(), 2u);
  EXPECT_EQ(dir->size(), 0u);  // a directory's size counts its entries
  EXPECT_EQ(dir->parent(), kRootIno);

  pb::InodeAttr root = this->MustGet(kRootIno);
  EXPECT_EQ(root.nlink(), 3u);
  EXPECT_EQ(root.size(), 1u);
  EXPECT_GT(root.version(), root_before.version());
  EXPECT_GT(root.mtime_ns(), root_before.mtime_ns());
  EXPECT_GT(root.ctime_ns(), root_before.ctime_ns());

  auto found = this->op().Lookup(kRootIno, "data");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->ino(), dir->ino());
  EXPECT_EQ(found->SerializeAsString(), dir->SerializeAsString());

  pb::InodeAttr sub = this->MustMkdir(dir->ino(), "sub");
  EXPECT_EQ(this->MustGet(dir->ino()).nlink(), 3u);
  EXPECT_EQ(this->op().Lookup(dir->ino(), "sub")->ino(), sub.ino());
  EXPECT_CODE(this->op().Lookup(kRootIno, "sub"), kNotFound);  // not visible in the grandparent
}

TYPED_TEST(MetaOperatorTest, MkdirErrors) {
  pb::InodeAttr file;
  this->env_.AddNodes(1, 1);
  file = this->MustCreate(kRootIno, "file");
  this->MustMkdir(kRootIno, "d");
  EXPECT_CODE(this->op().Mkdir(kRootIno, "d", 0755, Cred(0, 0)), kAlreadyExists);
  EXPECT_CODE(this->op().Mkdir(kRootIno, "file", 0755, Cred(0, 0)), kAlreadyExists);
  EXPECT_CODE(this->op().Mkdir(999, "x", 0755, Cred(0, 0)), kNotFound);
  EXPECT_CODE(this->op().Mkdir(file.ino(), "x", 0755, Cred(0, 0)), kNotDirectory);
  EXPECT_EQ(this->MustGet(kRootIno).nlink(), 3u);  // failures changed nothing
}

TYPED_TEST(MetaOperatorTest, NameRules) {
  const std::string nul("a\0b", 3);
  for (const std::string& bad : {std::string(), std::string("."), std::string(".."), std::string("a/b"), nul}) {
    EXPECT_CODE(this->op().Mkdir(kRootIno, bad, 0755, Cred(0, 0)), kInvalidArgument);
    EXPECT_CODE(this->op().Create(kRootIno, bad, 0644, Cred(0, 0), false), kInvalidArgument);
    EXPECT_CODE(this->op().Lookup(kRootIno, bad), kInvalidArgument);
  }
  EXPECT_CODE(this->op().Mkdir(kRootIno, std::string(256, 'x'), 0755, Cred(0, 0)), kNameTooLong);
  EXPECT_CODE(this->op().Lookup(kRootIno, std::string(256, 'x')), kNameTooLong);
  this->MustMkdir(kRootIno, std::string(255, 'x'));
  this->MustMkdir(kRootIno, "...");
  this->MustMkdir(kRootIno, ".hidden");
}

TYPED_TEST(MetaOperatorTest, LookupAndGetAttrErrors) {
  this->env_.AddNodes(1, 1);
  pb::InodeAttr file = this->MustCreate(kRootIno, "f");
  EXPECT_CODE(this->op().Lookup(kRootIno, "missing"), kNotFound);
  EXPECT_CODE(this->op().Lookup(12345, "x"), kNotFound);
  EXPECT_CODE(this->op().Lookup(file.ino(), "x"), kNotDirectory);
  EXPECT_CODE(this->op().GetAttr(12345), kNotFound);
  EXPECT_CODE(this->op().GetAttr(0), kNotFound);
}

TYPED_TEST(MetaOperatorTest, CreateRegularFileWithDefaultLayout) {
  this->env_.AddNodes(2, 2);  // targets 1..4 in chains 1 (targets 1, 3) and 2 (targets 2, 4)
  this->OpenRootToAll();
  pb::InodeAttr root_before = this->MustGet(kRootIno);
  auto file = this->op().Create(kRootIno, "f", 0100644, Cred(5, 6), true);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->type(), pb::FILE_TYPE_REGULAR);
  EXPECT_EQ(file->mode(), 0644u);
  EXPECT_EQ(file->uid(), 5u);
  EXPECT_EQ(file->gid(), 6u);
  EXPECT_EQ(file->nlink(), 1u);
  EXPECT_EQ(file->size(), 0u);
  EXPECT_EQ(file->layout().chunk_size(), kDefaultChunkSize);
  std::set<uint32_t> chains(file->layout().chains().begin(), file->layout().chains().end());
  EXPECT_EQ(chains, (std::set<uint32_t>{1, 2}));
  EXPECT_EQ(file->layout().chains_size(), 2);

  pb::InodeAttr root = this->MustGet(kRootIno);
  EXPECT_EQ(root.nlink(), root_before.nlink());  // files do not link back
  EXPECT_GT(root.version(), root_before.version());
  EXPECT_EQ(this->op().Lookup(kRootIno, "f")->SerializeAsString(), file->SerializeAsString());
}

TYPED_TEST(MetaOperatorTest, CreateExistingName) {
  this->env_.AddNodes(1, 2);
  pb::InodeAttr file = this->MustCreate(kRootIno, "f");
  this->MustMkdir(kRootIno, "d");
  auto again = this->op().Create(kRootIno, "f", 0600, Cred(1, 1), false);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->SerializeAsString(), file.SerializeAsString());  // returned unchanged
  EXPECT_CODE(this->op().Create(kRootIno, "f", 0600, Cred(1, 1), true), kAlreadyExists);
  EXPECT_CODE(this->op().Create(kRootIno, "d", 0600, Cred(1, 1), false), kIsDirectory);
  EXPECT_CODE(this->op().Create(kRootIno, "d", 0600, Cred(1, 1), true), kAlreadyExists);
  EXPECT_CODE(this->op().Create(file.ino(), "x", 0600, Cred(1, 1), false), kNotDirectory);
  EXPECT_CODE(this->op().Create(4242, "x", 0600, Cred(1, 1), false), kNotFound);
}

TYPED_TEST(MetaOperatorTest, CreateChunkSizeAndStripeWidth) {
  this->env_.AddNodes(2, 2);
  auto small = this->op().Create(kRootIno, "a", 0644, Cred(0, 0), true, 64 << 10, 2);
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->layout().chunk_size(), 64u << 10);
  ASSERT_EQ(small->layout().chains_size(), 2);
  EXPECT_NE(small->layout().chains(0), small->layout().chains(1));
  auto wide = this->op().Create(kRootIno, "b", 0644, Cred(0, 0), true, 64 << 20, 100);  // narrowed to 2 chains
  ASSERT_TRUE(wide.ok()) << wide.status().ToString();
  EXPECT_EQ(wide->layout().chunk_size(), 64u << 20);
  EXPECT_EQ(wide->layout().chains_size(), 2);
  for (uint32_t bad : {1u, 4096u, 32u << 10, 3u << 20, 128u << 20, (4u << 20) + 1}) {
    EXPECT_CODE(this->op().Create(kRootIno, "c", 0644, Cred(0, 0), true, bad, 0), kInvalidArgument);
  }
  EXPECT_CODE(this->op().Lookup(kRootIno, "c"), kNotFound);
}

TYPED_TEST(MetaOperatorTest, CreateWithoutTargetsIsUnavailable) {
  auto r = this->op().Create(kRootIno, "f", 0644, Cred(0, 0), false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("no storage targets registered"), std::string::npos);
  EXPECT_CODE(this->op().Lookup(kRootIno, "f"), kNotFound);
  this->MustMkdir(kRootIno, "d");  // directories need no targets
}

TYPED_TEST(MetaOperatorTest, InodeNumbersAreUniqueAndIncreasing) {
  this->env_.AddNodes(1, 1);
  uint64_t last = kRootIno;
  for (int i = 0; i < 20; ++i) {
    pb::InodeAttr a = i % 2 ? this->MustMkdir(kRootIno, "d" + std::to_string(i))
                            : this->MustCreate(kRootIno, "f" + std::to_string(i));
    EXPECT_GT(a.ino(), last);
    last = a.ino();
  }
}

TYPED_TEST(MetaOperatorTest, ReaddirPagesInNameOrder) {
  std::vector<std::string> names;
  for (int i = 0; i < 25; ++i) names.push_back("n" + std::to_string(i * 7 % 25));
  for (const auto& n : names) this->MustMkdir(kRootIno, n);
  pb::InodeAttr other = this->MustMkdir(kRootIno, "zz-other");
  this->MustMkdir(other.ino(), "inner");  // must not show up in the root listing
  names.push_back("zz-other");
  std::sort(names.begin(), names.end());

  std::vector<std::string> seen;
  std::string cookie;
  int pages = 0;
  for (bool eof = false; !eof; ++pages) {
    auto page = this->op().Readdir(kRootIno, cookie, 10);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_LE(page->entries_size(), 10);
    for (const auto& e : page->entries()) {
      seen.push_back(e.name());
      EXPECT_EQ(e.type(), pb::FILE_TYPE_DIRECTORY);
      EXPECT_EQ(this->op().Lookup(kRootIno, e.name())->ino(), e.ino());
    }
    eof = page->eof();
    if (!eof) {
      ASSERT_GT(page->entries_size(), 0);
      cookie = page->entries().rbegin()->name();
    }
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, names);

  auto after_missing = this->op().Readdir(kRootIno, "n15x", 2);  // a cookie need not exist
  ASSERT_TRUE(after_missing.ok());
  ASSERT_EQ(after_missing->entries_size(), 2);
  EXPECT_EQ(after_missing->entries(0).name(), "n16");
  EXPECT_FALSE(after_missing->eof());

  auto exact = this->op().Readdir(kRootIno, "", 26);  // exactly all entries: eof without another call
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->entries_size(), 26);
  EXPECT_TRUE(exact->eof());
  auto all = this->op().Readdir(kRootIno, "", 0);  // default page size
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->entries_size(), 26);
  EXPECT_TRUE(all->eof());
}

TYPED_TEST(MetaOperatorTest, ReaddirEdgeCases) {
  this->env_.AddNodes(1, 1);
  pb::InodeAttr empty = this->MustMkdir(kRootIno, "empty");
  pb::InodeAttr file = this->MustCreate(kRootIno, "file");
  auto r = this->op().Readdir(empty.ino(), "", 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries_size(), 0);
  EXPECT_TRUE(r->eof());
  auto listing = this->op().Readdir(kRootIno, "", 10);
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->entries_size(), 2);
  EXPECT_EQ(listing->entries(1).name(), "file");
  EXPECT_EQ(listing->entries(1).type(), pb::FILE_TYPE_REGULAR);
  EXPECT_EQ(listing->entries(1).ino(), file.ino());
  EXPECT_CODE(this->op().Readdir(file.ino(), "", 10), kNotDirectory);
  EXPECT_CODE(this->op().Readdir(777, "", 10), kNotFound);
}

TYPED_TEST(MetaOperatorTest, ExtendLengthOnlyGrows) {
  this->env_.AddNodes(1, 1);
  pb::InodeAttr f = this->MustCreate(kRootIno, "f");
  auto grown = this->op().ExtendLength(f.ino(), 10'000);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  EXPECT_EQ(grown->size(), 10'000u);
  EXPECT_GT(grown->version(), f.version());
  EXPECT_GT(grown->mtime_ns(), f.mtime_ns());
  EXPECT_GT(grown->ctime_ns(), f.ctime_ns());
  auto same = this->op().ExtendLength(f.ino(), 5);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->size(), 10'000u);
  EXPECT_GT(same->version(), grown->version());
  EXPECT_GT(same->mtime_ns(), grown->mtime_ns());
  EXPECT_EQ(this->MustGet(f.ino()).SerializeAsString(), same->SerializeAsString());
  EXPECT_CODE(this->op().ExtendLength(kRootIno, 5), kIsDirectory);
  EXPECT_CODE(this->op().ExtendLength(999, 5), kNotFound);
}

TYPED_TEST(MetaOperatorTest, SetAttrChangesOnlyValidFields) {
  this->env_.AddNodes(1, 1);
  pb::InodeAttr f = this->MustCreate(kRootIno, "f");
  pb::SetAttrRequest req;
  req.set_ino(f.ino());
  req.set_valid(setattr::kMode | setattr::kUid);
  req.set_mode(0100600);
  req.set_uid(42);
  req.set_gid(43);  // not in valid: ignored
  auto a = this->op().SetAttr(req);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->mode(), 0600u);
  EXPECT_EQ(a->uid(), 42u);
  EXPECT_EQ(a->gid(), f.gid());
  EXPECT_EQ(a->mtime_ns(), f.mtime_ns());
  EXPECT_GT(a->ctime_ns(), f.ctime_ns());
  EXPECT_EQ(a->version(), f.version() + 1);

  req.set_valid(setattr::kGid | setattr::kAtime | setattr::kMtime);
  req.set_atime_ns(111);
  req.set_mtime_ns(222);
  a = this->op().SetAttr(req);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->gid(), 43u);
  EXPECT_EQ(a->atime_ns(), 111);
  EXPECT_EQ(a->mtime_ns(), 222);

  ASSERT_TRUE(this->op().ExtendLength(f.ino(), 1000).ok());
  req.set_valid(setattr::kSize);
  req.set_size(10);
  a = this->op().SetAttr(req);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 10u);  // truncation may shrink
  EXPECT_GT(a->mtime_ns(), 222);
  EXPECT_EQ(this->MustGet(f.ino()).SerializeAsString(), a->SerializeAsString());

  req.set_valid(0);
  auto unchanged = this->op().SetAttr(req);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->version(), a->version());
}

TYPED_TEST(MetaOperatorTest, SetAttrErrors) {
  pb::SetAttrRequest req;
  req.set_ino(kRootIno);
  req.set_valid(setattr::kSize);
  EXPECT_CODE(this->op().SetAttr(req), kIsDirectory);
  req.set_valid(1u << 20);
  EXPECT_CODE(this->op().SetAttr(req), kInvalidArgument);
  req.set_ino(555);
  req.set_valid(setattr::kMode);
  EXPECT_CODE(this->op().SetAttr(req), kNotFound);
  req.set_ino(kRootIno);
  req.set_mode(0700);
  auto root = this->op().SetAttr(req);  // directories take mode changes
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->mode(), 0700u);
}

TYPED_TEST(MetaOperatorTest, EverythingSurvivesRestart) {
  auto nodes = this->env_.AddNodes(2, 1);
  pb::InodeAttr dir = this->MustMkdir(kRootIno, "dir");
  pb::InodeAttr file = this->MustCreate(dir.ino(), "file");
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 4096).ok());
  pb::RoutingTable routing = this->op().GetRouting();

  this->env_.Restart();

  EXPECT_EQ(this->op().Lookup(kRootIno, "dir")->ino(), dir.ino());
  auto reloaded = this->op().Lookup(dir.ino(), "file");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded->size(), 4096u);
  EXPECT_EQ(reloaded->layout().SerializeAsString(), file.layout().SerializeAsString());
  EXPECT_EQ(this->MustGet(kRootIno).nlink(), 3u);
  auto listing = this->op().Readdir(dir.ino(), "", 0);
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->entries_size(), 1);
  EXPECT_EQ(listing->entries(0).name(), "file");

  // Counters continue where they were: no inode, node or target number is handed out twice.
  pb::InodeAttr next = this->MustCreate(kRootIno, "next");
  EXPECT_GT(next.ino(), file.ino());
  EXPECT_EQ(this->op().GetRouting().SerializeAsString(), routing.SerializeAsString());
  auto more = this->env_.AddNodes(1, 1);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].node_id(), 3u);
  EXPECT_EQ(more[0].target_ids(0), 3u);
  EXPECT_EQ(this->op().GetRouting().version(), routing.version() + 1);
}

// Failure atomicity needs an injectable failure, which only the memory store has.
TEST(MetaOperatorFailureTest, FailedBatchChangesNothing) {
  OperatorEnv<testing::MemoryEnv> env;
  auto& store = static_cast<MemoryKvStore&>(env.env().store());
  pb::InodeAttr root = *env.op().GetAttr(kRootIno);
  store.FailWrites(true);
  EXPECT_CODE(env.op().Mkdir(kRootIno, "d", 0755, Cred(0, 0)), kIoError);
  store.FailWrites(false);
  EXPECT_EQ(env.op().GetAttr(kRootIno)->SerializeAsString(), root.SerializeAsString());
  EXPECT_CODE(env.op().Lookup(kRootIno, "d"), kNotFound);
  auto d = env.op().Mkdir(kRootIno, "d", 0755, Cred(0, 0));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ino(), kRootIno + 1);  // the failed attempt did not consume an inode number
}

TEST(MetaOperatorOptionsTest, RejectsBadChunkSize) {
  testing::MemoryEnv env;
  MetaOptions options;
  options.chunk_size = 3 << 20;
  EXPECT_CODE(MetaOperator::Open(env.store(), options), kInvalidArgument);
  EXPECT_TRUE(validate_chunk_size(64 << 10).ok());
  EXPECT_TRUE(validate_chunk_size(64 << 20).ok());
  EXPECT_FALSE(validate_chunk_size(0).ok());
}

}  // namespace
}  // namespace zcfs::meta
