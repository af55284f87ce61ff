// MetaOperator file sessions, orphan reclaiming through the ChunkTrimmer, and truncation, on the
// in-memory store and on RocksDB. The fake monotonic clock drives session leases and the start-up
// grace period.
#include <fcntl.h>

#include "namespace_fixture.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;
using testing::kRoot;
using testing::User;

template <typename Env>
class SessionsTest : public testing::NamespaceTest<Env> {
 protected:
  uint64_t OpenSession(uint64_t ino, uint64_t client, uint32_t flags = O_RDONLY) {
    auto r = this->op().Open(ino, flags, kRoot, client);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    EXPECT_NE(r->session_id(), 0u);
    return r->session_id();
  }
};
TYPED_TEST_SUITE(SessionsTest, testing::StoreEnvs, testing::EnvNames);

TYPED_TEST(SessionsTest, OrphanIsReclaimedOnlyAfterTheStartupLease) {
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 12345).ok());
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  uint64_t inodes = this->op().StatFs().inodes();

  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);  // within one lease of the start
  this->env_.AdvanceMonotonic(this->kLease - 1ns);
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  EXPECT_TRUE(this->trimmer_->calls().empty());
  EXPECT_TRUE(this->Exists(file.ino()));

  this->env_.AdvanceMonotonic(1ns);
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  EXPECT_CODE(this->op().GetAttr(file.ino()), kNotFound);
  EXPECT_FALSE(this->HasOrphanMarker(file.ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes - 1);
  auto calls = this->trimmer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].ino, file.ino());
  EXPECT_EQ(calls[0].length, 0u);
  EXPECT_EQ(calls[0].layout.SerializeAsString(), file.layout().SerializeAsString());
  EXPECT_GT(calls[0].layout.chains_size(), 0);
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);  // nothing left
  this->ExpectConsistent();
}

TYPED_TEST(SessionsTest, OpenFileStaysUntilClose) {
  this->PassStartupGrace();
  pb::InodeAttr file = this->Create(kRootIno, "f");
  uint64_t s1 = this->OpenSession(file.ino(), 7);
  uint64_t s2 = this->OpenSession(file.ino(), 8, O_RDWR);
  EXPECT_NE(s1, s2);
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());

  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  EXPECT_TRUE(this->trimmer_->calls().empty());
  EXPECT_EQ(this->Get(file.ino()).nlink(), 0u);
  // A writer still extends the orphan.
  auto closed = this->op().Close(8, s2, file.ino(), 4096);
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->size(), 4096u);
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);  // client 7 still holds it

  auto last = this->op().Close(7, s1, file.ino(), 0);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->nlink(), 0u);
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  EXPECT_FALSE(this->Exists(file.ino()));
  ASSERT_EQ(this->trimmer_->calls().size(), 1u);
  EXPECT_EQ(this->trimmer_->calls()[0].length, 0u);

  // Closing again (or an unknown session) is fine; the attributes are gone.
  EXPECT_CODE(this->op().Close(7, s1, file.ino(), 0), kNotFound);
  this->ExpectConsistent();
}

TYPED_TEST(SessionsTest, OrphanHeldUntilTheClientsLeaseExpires) {
  this->PassStartupGrace();
  pb::InodeAttr file = this->Create(kRootIno, "f");
  pb::InodeAttr other = this->Create(kRootIno, "other");
  this->OpenSession(file.ino(), 7);
  this->OpenSession(other.ino(), 9);
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());

  this->env_.AdvanceMonotonic(this->kLease / 2);
  EXPECT_TRUE(this->op().KeepAlive(7).ok());
  this->env_.AdvanceMonotonic(this->kLease / 2 + 1s);  // 7 renewed half a lease ago
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  EXPECT_TRUE(this->Exists(file.ino()));

  this->env_.AdvanceMonotonic(this->kLease);  // 7 silent for a whole lease
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  EXPECT_FALSE(this->Exists(file.ino()));
  EXPECT_TRUE(this->Exists(other.ino()));
}

// A lease that ran out is gone: the client's next call does not bring its old sessions back.
TYPED_TEST(SessionsTest, ExpiredSessionsStayExpired) {
  this->PassStartupGrace();
  pb::InodeAttr file = this->Create(kRootIno, "f");
  pb::InodeAttr g = this->Create(kRootIno, "g");
  uint64_t session = this->OpenSession(file.ino(), 7);
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  this->env_.AdvanceMonotonic(this->kLease + 1s);
  EXPECT_CODE(this->op().KeepAlive(7), kNotFound);  // the client learns it must reopen
  this->OpenSession(g.ino(), 7);
  ASSERT_TRUE(this->op().Close(7, session + 1000, g.ino(), 0).ok());  // an unknown session
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  EXPECT_FALSE(this->Exists(file.ino()));
}

TYPED_TEST(SessionsTest, FailingTrimmerLeavesTheOrphanForTheNextPass) {
  this->PassStartupGrace();
  pb::InodeAttr a = this->Create(kRootIno, "a");
  pb::InodeAttr b = this->Create(kRootIno, "b");
  ASSERT_TRUE(this->op().Unlink(kRootIno, "a", kRoot).ok());
  ASSERT_TRUE(this->op().Unlink(kRootIno, "b", kRoot).ok());
  uint64_t inodes = this->op().StatFs().inodes();

  this->trimmer_->set_fail(true);
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  EXPECT_EQ(this->trimmer_->calls().size(), 2u);  // a failure does not stop the pass
  EXPECT_TRUE(this->Exists(a.ino()));
  EXPECT_TRUE(this->HasOrphanMarker(a.ino()));
  EXPECT_TRUE(this->HasOrphanMarker(b.ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes);
  this->ExpectConsistent();

  this->trimmer_->set_fail(false);
  EXPECT_EQ(this->op().ReclaimOrphans(), 2u);
  EXPECT_FALSE(this->Exists(a.ino()));
  EXPECT_FALSE(this->Exists(b.ino()));
  EXPECT_EQ(this->op().StatFs().inodes(), inodes - 2);
  this->ExpectConsistent();
}

// Reopening an orphan by inode (a client after a meta restart) must not succeed once its reclaim
// has begun: the client would read chunks being cut.
TYPED_TEST(SessionsTest, OrphanCannotBeOpenedOnceItsReclaimBegan) {
  this->PassStartupGrace();
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  std::vector<Code> opens_during_trim;
  this->trimmer_->set_on_trim([&](uint64_t ino, uint64_t) {
    opens_during_trim.push_back(this->op().Open(ino, O_RDONLY, kRoot, 9).status().code());
  });
  this->trimmer_->set_fail(true);  // the first pass cuts (some of) the data, then fails
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  EXPECT_TRUE(this->Exists(file.ino()));
  EXPECT_CODE(this->op().Open(file.ino(), O_RDONLY, kRoot, 9), kNotFound);  // still doomed
  EXPECT_CODE(this->op().Open(file.ino(), O_RDWR | O_TRUNC, kRoot, 9), kNotFound);
  this->trimmer_->set_fail(false);
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  this->trimmer_->set_on_trim({});
  EXPECT_EQ(opens_during_trim, (std::vector<Code>{Code::kNotFound, Code::kNotFound}));
  EXPECT_FALSE(this->Exists(file.ino()));
  EXPECT_CODE(this->op().Open(file.ino(), O_RDONLY, kRoot, 9), kNotFound);
  this->ExpectConsistent();
}

TYPED_TEST(SessionsTest, OrphanOpenedBeforeTheReclaimIsKept) {
  this->PassStartupGrace();
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  uint64_t session = this->OpenSession(file.ino(), 9);  // a reopen by inode
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  EXPECT_TRUE(this->trimmer_->calls().empty());
  ASSERT_TRUE(this->op().Close(9, session, file.ino(), 0).ok());
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
}

TYPED_TEST(SessionsTest, OrphansSurviveRestart) {
  pb::InodeAttr file = this->Create(kRootIno, "f");
  this->OpenSession(file.ino(), 7);
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  this->env_.Restart();  // sessions live in memory: they are gone now

  pb::InodeAttr orphan = this->Get(file.ino());
  EXPECT_EQ(orphan.nlink(), 0u);
  EXPECT_TRUE(this->HasOrphanMarker(file.ino()));
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);  // clients get one lease to reopen theirs
  // A client reopens its orphan by inode number within the grace period and keeps it.
  uint64_t session = this->OpenSession(file.ino(), 7);
  this->env_.AdvanceMonotonic(this->kLease / 2);
  EXPECT_TRUE(this->op().KeepAlive(7).ok());
  this->env_.AdvanceMonotonic(this->kLease / 2 + 1s);
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  ASSERT_TRUE(this->op().Close(7, session, file.ino(), 0).ok());
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  EXPECT_FALSE(this->Exists(file.ino()));
  this->env_.Restart();
  EXPECT_FALSE(this->Exists(file.ino()));
  EXPECT_FALSE(this->HasOrphanMarker(file.ino()));
  this->ExpectConsistent();
}

TYPED_TEST(SessionsTest, OneReclaimPassCoversEveryOrphan) {
  this->PassStartupGrace();
  constexpr int kFiles = 1100;  // more than one scan page
  std::vector<uint64_t> inos;
  for (int i = 0; i < kFiles; ++i) inos.push_back(this->Create(kRootIno, "f" + std::to_string(i)).ino());
  for (int i = 0; i < kFiles; ++i) ASSERT_TRUE(this->op().Unlink(kRootIno, "f" + std::to_string(i), kRoot).ok());
  // The oldest orphans are held open: the pass must still reach the others.
  for (int i = 0; i < 1050; ++i) this->OpenSession(inos[i], 7);
  EXPECT_EQ(this->op().ReclaimOrphans(), size_t{kFiles - 1050});
  EXPECT_FALSE(this->Exists(inos.back()));
  EXPECT_TRUE(this->Exists(inos.front()));
}

TYPED_TEST(SessionsTest, RenameOverAnOpenFileKeepsItUntilClose) {
  this->PassStartupGrace();
  pb::InodeAttr victim = this->Create(kRootIno, "victim");
  this->Create(kRootIno, "new");
  uint64_t session = this->OpenSession(victim.ino(), 7);
  ASSERT_TRUE(this->op().Rename(kRootIno, "new", kRootIno, "victim", 0, kRoot).ok());
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  ASSERT_TRUE(this->op().Close(7, session, victim.ino(), 0).ok());
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
  this->ExpectConsistent();
}

TYPED_TEST(SessionsTest, OpenWithTruncTruncates) {
  pb::InodeAttr home = this->MkdirOwned(kRootIno, "home", 0777, 0, 0);
  pb::InodeAttr file = this->Create(home.ino(), "f", 0644, User(1000, 1000));
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 10 << 20).ok());

  EXPECT_CODE(this->op().Open(file.ino(), O_WRONLY | O_TRUNC, User(2000, 2000), 1), kPermissionDenied);
  EXPECT_CODE(this->op().Open(file.ino(), O_RDONLY | O_TRUNC, User(2000, 2000), 1), kPermissionDenied);
  EXPECT_EQ(this->Get(file.ino()).size(), 10u << 20);
  EXPECT_TRUE(this->trimmer_->calls().empty());

  auto opened = this->op().Open(file.ino(), O_WRONLY | O_TRUNC, User(1000, 1000), 1);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->attr().size(), 0u);
  EXPECT_EQ(this->Get(file.ino()).size(), 0u);
  auto calls = this->trimmer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].ino, file.ino());
  EXPECT_EQ(calls[0].length, 0u);

  // Without O_TRUNC nothing is cut.
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 100).ok());
  EXPECT_EQ(this->op().Open(file.ino(), O_RDWR, User(1000, 1000), 1)->attr().size(), 100u);
  EXPECT_EQ(this->trimmer_->calls().size(), 1u);
}

TYPED_TEST(SessionsTest, OpenErrors) {
  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  auto opened = this->op().Open(dir.ino(), O_RDONLY, kRoot, 1);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->attr().ino(), dir.ino());
  EXPECT_CODE(this->op().Open(dir.ino(), O_WRONLY, kRoot, 1), kIsDirectory);
  EXPECT_CODE(this->op().Open(dir.ino(), O_RDWR, kRoot, 1), kIsDirectory);
  EXPECT_CODE(this->op().Open(dir.ino(), O_RDONLY | O_TRUNC, kRoot, 1), kIsDirectory);
  EXPECT_CODE(this->op().Open(999999, O_RDONLY, kRoot, 1), kNotFound);
  // Client id 0 opens no session (nothing to close).
  pb::InodeAttr file = this->Create(kRootIno, "f");
  auto sessionless = this->op().Open(file.ino(), O_RDONLY, kRoot, 0);
  ASSERT_TRUE(sessionless.ok());
  EXPECT_EQ(sessionless->session_id(), 0u);
}

TYPED_TEST(SessionsTest, ShrinkTrimsBeforeTheSizeChanges) {
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 5 << 20).ok());
  pb::InodeAttr before = this->Get(file.ino());
  std::vector<uint64_t> size_during_trim;
  this->trimmer_->set_on_trim([&](uint64_t ino, uint64_t) { size_during_trim.push_back(this->Get(ino).size()); });

  auto shrunk = this->Truncate(file.ino(), 1 << 20);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status().ToString();
  EXPECT_EQ(shrunk->size(), 1u << 20);
  EXPECT_GT(shrunk->mtime_ns(), before.mtime_ns());
  EXPECT_GT(shrunk->version(), before.version());
  auto calls = this->trimmer_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].ino, file.ino());
  EXPECT_EQ(calls[0].length, 1u << 20);
  EXPECT_EQ(calls[0].layout.SerializeAsString(), file.layout().SerializeAsString());
  EXPECT_EQ(size_during_trim, (std::vector<uint64_t>{5u << 20}));  // the trim came first
  this->trimmer_->set_on_trim({});
}

TYPED_TEST(SessionsTest, FailingTrimLeavesTheSizeUnchanged) {
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 5 << 20).ok());
  pb::InodeAttr before = this->Get(file.ino());
  this->trimmer_->set_fail(true);
  EXPECT_CODE(this->Truncate(file.ino(), 0), kUnavailable);
  EXPECT_EQ(this->Get(file.ino()).SerializeAsString(), before.SerializeAsString());
  EXPECT_CODE(this->op().Open(file.ino(), O_WRONLY | O_TRUNC, kRoot, 1), kUnavailable);
  EXPECT_EQ(this->Get(file.ino()).size(), 5u << 20);
  this->trimmer_->set_fail(false);
  EXPECT_EQ(this->Truncate(file.ino(), 0)->size(), 0u);
}

TYPED_TEST(SessionsTest, GrowingOrKeepingTheSizeDoesNotTrim) {
  pb::InodeAttr file = this->Create(kRootIno, "f");
  ASSERT_TRUE(this->op().ExtendLength(file.ino(), 100).ok());
  EXPECT_EQ(this->Truncate(file.ino(), 1 << 30)->size(), 1u << 30);
  EXPECT_EQ(this->Truncate(file.ino(), 1 << 30)->size(), 1u << 30);
  EXPECT_TRUE(this->trimmer_->calls().empty());

  pb::InodeAttr dir = this->Mkdir(kRootIno, "d");
  EXPECT_CODE(this->Truncate(dir.ino(), 0), kIsDirectory);
  auto sym = this->op().Symlink(kRootIno, "s", "f", kRoot);
  ASSERT_TRUE(sym.ok());
  EXPECT_CODE(this->Truncate(sym->ino(), 0), kInvalidArgument);
  EXPECT_CODE(this->Truncate(999999, 0), kNotFound);
  EXPECT_TRUE(this->trimmer_->calls().empty());
}

// A restarted meta server knows no session: KeepAlive tells the client so, and the client reopens its
// files by inode (orphans included) within the start-up grace period.
TYPED_TEST(SessionsTest, KeepAliveAfterRestartAsksForAReopen) {
  this->PassStartupGrace();
  pb::InodeAttr file = this->Create(kRootIno, "f");
  EXPECT_CODE(this->op().KeepAlive(7), kNotFound);  // never opened anything
  this->OpenSession(file.ino(), 7);
  EXPECT_TRUE(this->op().KeepAlive(7).ok());
  ASSERT_TRUE(this->op().Unlink(kRootIno, "f", kRoot).ok());
  this->env_.Restart();
  EXPECT_CODE(this->op().KeepAlive(7), kNotFound);
  uint64_t reopened = this->OpenSession(file.ino(), 7);  // the orphan can be reopened by inode
  this->env_.AdvanceMonotonic(this->kLease / 2);
  EXPECT_TRUE(this->op().KeepAlive(7).ok());
  this->env_.AdvanceMonotonic(this->kLease / 2 + 1s);  // past the grace period, lease still live
  EXPECT_EQ(this->op().ReclaimOrphans(), 0u);
  ASSERT_TRUE(this->op().Close(7, reopened, file.ino(), 0).ok());
  EXPECT_EQ(this->op().ReclaimOrphans(), 1u);
}

}  // namespace
}  // namespace zcfs::meta
