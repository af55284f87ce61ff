// Replicated meta servers with real processes: an etcd, three zcfs-meta with their own RocksDB on
// loopback, and clients that know all three addresses. The primary is killed with SIGKILL under a
// create load, frozen with SIGSTOP past its etcd lease, and restarted; every acknowledged mutation
// must be on the new primary (and fsck clean), a deposed primary must refuse and exit, and a
// restarted one must rejoin as a standby. A standby whose data directory is wiped is rebuilt from a
// checkpoint plus the log; a backup taken under load restores the namespace.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "support/local_cluster.h"
#include "support/namespace_check.h"
#include "support/random_data.h"
#include "support/process.h"
#include "zcfs/proto/blocking_channel.h"
#include "zcfs/proto/meta_group.h"
#include "zcfs/proto/methods.h"
#include "zcfs.pb.h"
#include "zcfs/client/client.h"
#include "zcfs/proto/etcd_client.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

// A port nobody listens on now (the kernel's pick, released): processes that must come back on the
// same address need one chosen up front.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Until `done` or `timeout`.
template <typename Fn>
bool eventually(Fn done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class MetaGroupTest : public ::testing::Test {
 protected:
  static constexpr int kMetas = 3;

  void SetUp() override {
    dir_ = testing::make_scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    const uint16_t client_port = free_port(), peer_port = free_port();
    etcd_endpoint_ = "127.0.0.1:" + std::to_string(client_port);
    const std::string client_url = "http://" + etcd_endpoint_;
    const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
    auto etcd = testing::ChildProcess::Spawn(
        {ZCFS_ETCD_BIN, "--name", "t", "--data-dir", dir_ + "/etcd", "--listen-client-urls", client_url,
         "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls",
         peer_url, "--initial-cluster", "t=" + peer_url},
        dir_ + "/etcd.log");
    ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();
    etcd_process_ = std::move(*etcd);
    etcd_ = std::make_unique<EtcdClient>(EtcdClient::Options{.endpoints = {*parse_host_port(etcd_endpoint_)}});
    ASSERT_TRUE(eventually([&] { return etcd_->Get("/probe").status().code() == Code::kNotFound; }, 20s))
        << testing::read_text_file(dir_ + "/etcd.log");
    for (int i = 0; i < kMetas; ++i) {
      addresses_.push_back("127.0.0.1:" + std::to_string(free_port()));
      metas_.emplace_back();
    }
    for (int i = 0; i < kMetas; ++i) {
      StartMeta(i);
      ASSERT_FALSE(HasFatalFailure());
      if (i == 0) {  // the first one leads
        ASSERT_TRUE(eventually([&] { return Primary() == 0; }, 20s)) << Logs();
      }
    }
    ASSERT_TRUE(eventually([&] { return InSync().size() == kMetas; }, 20s)) << Logs();
    auto client = Client::Connect(GroupClientOptions());
    ASSERT_TRUE(client.ok()) << client.status().ToString() << "\n" << Logs();
    client_ = std::move(*client);
  }

  ClientOptions GroupClientOptions() const {
    ClientOptions options;
    options.meta_address = Group();
    return options;
  }
  // Every member's address, as clients, storage servers and mounts take them: "h1:p1,h2:p2,h3:p3".
  std::string Group() const {
    std::string group;
    for (const auto& a : addresses_) group += (group.empty() ? "" : ",") + a;
    return group;
  }

  void TearDown() override {
    for (auto& m : metas_) {
      m.Signal(SIGCONT);
      m.Signal(SIGTERM);
      (void)m.Wait(10s);
    }
    etcd_process_.Signal(SIGTERM);
    (void)etcd_process_.Wait(10s);
  }

  void StartMeta(int i) {
    std::vector<std::string> argv = {ZCFS_META_BIN, "--listen=" + addresses_[i], "--data-dir=" + MetaDir(i),
                                     "--etcd=http://" + etcd_endpoint_, "--meta.cluster=test", "--meta.lease=2",
                                     "--meta.ack_timeout=1000", "--meta.sync_writes=false"};
    for (const auto& flag : ExtraMetaFlags()) argv.push_back(flag);
    auto meta = testing::ChildProcess::Spawn(argv, MetaLog(i));
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    metas_[i] = std::move(*meta);
  }
  virtual std::vector<std::string> ExtraMetaFlags() const { return {}; }
  std::string MetaDir(int i) const { return dir_ + "/meta" + std::to_string(i); }
  std::string MetaLog(int i) const { return dir_ + "/meta" + std::to_string(i) + ".log"; }

  // Stops meta `i` and runs fsck on its database.
  void ExpectCleanFsck(int i) {
    metas_[i].Signal(SIGTERM);
    auto code = metas_[i].Wait(10s);
    ASSERT_TRUE(code.ok() && *code == 0) << "meta" << i << " did not stop cleanly\n" << Logs();
    auto problems = testing::fsck_database(MetaDir(i) + "/meta.db");
    EXPECT_TRUE(problems.empty()) << "meta" << i << ":" << testing::join_lines(problems);
  }

  // The index of the member etcd names the primary, or -1.
  int Primary() {
    auto kv = etcd_->Get("/zcfs/test/primary");
    if (!kv.ok()) return -1;
    for (int i = 0; i < kMetas; ++i) {
      if (addresses_[i] == kv->value()) return i;
    }
    return -1;
  }
  std::set<std::string> InSync() {
    auto kv = etcd_->Get("/zcfs/test/in_sync");
    std::set<std::string> members;
    if (!kv.ok()) return members;
    std::string v = kv->value();
    for (size_t start = 0; start < v.size();) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      members.insert(v.substr(start, comma - start));
      start = comma + 1;
    }
    return members;
  }
  std::string Logs() {
    std::string out;
    for (int i = 0; i < kMetas; ++i) out += "--- meta" + std::to_string(i) + "\n" + testing::read_text_file(MetaLog(i));
    return out;
  }

  std::string dir_;
  std::string etcd_endpoint_;
  testing::ChildProcess etcd_process_;
  std::unique_ptr<EtcdClient> etcd_;
  std::vector<std::string> addresses_;
  std::vector<testing::ChildProcess> metas_;
  std::unique_ptr<Client> client_;
};

TEST_F(MetaGroupTest, EtcdKeysTransactionsAndLeases) {
  ASSERT_TRUE(etcd_->Put("/t/a", "1").ok());
  ASSERT_TRUE(etcd_->Put("/t/b", "2").ok());
  auto listed = etcd_->List("/t/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].value(), "2");
  // A transaction on a revision that moved fails and changes nothing.
  auto a = etcd_->Get("/t/a");
  ASSERT_TRUE(a.ok());
  etcd::TxnRequest txn;
  *txn.add_compare() = etcd_modified_at("/t/a", a->mod_revision() - 1);
  *txn.add_success() = etcd_put("/t/a", "changed");
  auto refused = etcd_->Txn(txn);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->succeeded());
  EXPECT_EQ(etcd_->Get("/t/a")->value(), "1");
  // A key under a lease goes with it.
  auto lease = etcd_->GrantLease(5s);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  ASSERT_TRUE(etcd_->Put("/t/leased", "x", *lease).ok());
  EXPECT_GT(etcd_->KeepAlive(*lease).value(), 0);
  ASSERT_TRUE(etcd_->Revoke(*lease).ok());
  EXPECT_EQ(etcd_->Get("/t/leased").status().code(), Code::kNotFound);
  EXPECT_EQ(etcd_->KeepAlive(*lease).value(), 0) << "a revoked lease is gone";
}

// kill -9 of the primary under a mkdir/rename/rmdir load: a standby takes over, the load goes on
// against it, and every acknowledged mutation is there.
TEST_F(MetaGroupTest, AcknowledgedMutationsSurviveKillingThePrimary) {
  ASSERT_TRUE(client_->MakeDirs("/load").ok());
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::set<std::string> present, gone;  // acknowledged
  std::atomic<int> failures{0};
  std::thread load([&] {
    for (int i = 0; !stop; ++i) {
      const std::string path = "/load/d" + std::to_string(i);  // directories: no storage server here
      if (!client_->MakeDirs(path).ok()) {
        ++failures;
        continue;
      }
      std::lock_guard lock(mutex);
      present.insert(path);
      if (i % 3 == 0) continue;
      // A rename or rmdir that failed may still have happened (committed, its reply lost): its
      // outcome is unknown and checked neither way.
      present.erase(path);
      if (i % 3 == 1 ? client_->RenamePath(path, path + ".moved").ok() : client_->Remove(path).ok()) {
        gone.insert(path);
        if (i % 3 == 1) present.insert(path + ".moved");
      } else {
        ++failures;
      }
    }
  });
  std::this_thread::sleep_for(1s);
  const int old = Primary();
  ASSERT_GE(old, 0);
  metas_[old].Signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { int p = Primary(); return p >= 0 && p != old; }, 20s)) << Logs();
  size_t before;
  {
    std::lock_guard lock(mutex);
    before = present.size();
  }
  std::this_thread::sleep_for(2s);
  stop = true;
  load.join();
  std::lock_guard lock(mutex);
  EXPECT_GT(present.size(), before) << "the load went on against the new primary";
  for (const auto& path : present) EXPECT_TRUE(client_->Stat(path).ok()) << path << " was acknowledged";
  for (const auto& path : gone) EXPECT_EQ(client_->Stat(path).status().code(), Code::kNotFound) << path;
  // A mutation caught by the kill is resent to the new primary, which does it once (mutation ids).
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kMetas; ++i) {
    if (i != old) ExpectCleanFsck(i);
  }
}

// The case mutation ids exist for, made deterministic: a create committed by the primary whose reply
// is lost (here: ignored), then the primary killed; the resend reaches the new primary, which answers
// with the file the first try made instead of EEXIST, and runs it no second time.
TEST_F(MetaGroupTest, AMutationResentToTheNewPrimaryIsDoneOnce) {
  const int old = Primary();
  ASSERT_GE(old, 0);
  std::vector<uint64_t> epochs;  // stamped into the replies
  auto call = [&](int member, const pb::MkdirRequest& request) -> Result<pb::AttrReply> {
    ASSIGN_OR_RETURN(auto channel, BlockingChannel::Connect(*parse_host_port(addresses_[member]), 5s));
    ASSIGN_OR_RETURN(std::string body, channel->Call(method::kMkdir, request.SerializeAsString(), 5s));
    epochs.push_back(reply_epoch(body));
    pb::AttrReply reply;
    if (!reply.ParseFromString(body)) return Error(Code::kProtocolError, "reply");
    return reply;
  };
  pb::MkdirRequest mkdir;
  mkdir.set_parent(1);
  mkdir.set_name("once");
  mkdir.set_mode(0755);
  mkdir.mutable_mutation_id()->set_client(4242);
  mkdir.mutable_mutation_id()->set_seq(1);
  auto first = call(old, mkdir);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  metas_[old].Signal(SIGKILL);
  int now = -1;
  ASSERT_TRUE(eventually([&] { now = Primary(); return now >= 0 && now != old; }, 20s)) << Logs();
  mkdir.mutable_mutation_id()->set_retry(true);
  Result<pb::AttrReply> resent = Error(Code::kUnavailable, "not sent");
  ASSERT_TRUE(eventually([&] { return (resent = call(now, mkdir)).status().code() != Code::kUnavailable; }, 10s));
  ASSERT_TRUE(resent.ok()) << resent.status().ToString();
  EXPECT_EQ(resent->attr().ino(), first->attr().ino());
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_GT(epochs[0], 0u) << "a replicated primary stamps its epoch into every reply";
  EXPECT_GT(epochs[1], epochs[0]) << "the new primary's epoch is newer";
  mkdir.mutable_mutation_id()->set_seq(2);  // another mutation on the name: a conflict, as ever
  mkdir.mutable_mutation_id()->set_retry(false);
  EXPECT_EQ(call(now, mkdir).status().code(), Code::kAlreadyExists);
}

// A client (the CLI, a bench, a mount) started while the primary is dead and no successor is
// elected yet waits for the new primary instead of failing.
TEST_F(MetaGroupTest, AClientStartedDuringAFailoverWaitsForTheNewPrimary) {
  ASSERT_TRUE(client_->MakeDirs("/kept").ok());
  const int old = Primary();
  ASSERT_GE(old, 0);
  metas_[old].Signal(SIGKILL);
  (void)metas_[old].Wait(10s);
  auto client = Client::Connect(GroupClientOptions());
  ASSERT_TRUE(client.ok()) << client.status().ToString() << "\n" << Logs();
  EXPECT_TRUE((*client)->Stat("/kept").ok());
  EXPECT_NE(Primary(), old);
}

// A primary frozen past its etcd lease is replaced; when it resumes it refuses calls and exits.
// Restarted, it rejoins as a standby and catches up.
TEST_F(MetaGroupTest, AFrozenPrimaryIsFencedAndRejoinsAsAStandby) {
  ASSERT_TRUE(client_->MakeDirs("/before").ok());
  const int old = Primary();
  ASSERT_GE(old, 0);
  metas_[old].Signal(SIGSTOP);
  ASSERT_TRUE(eventually([&] { int p = Primary(); return p >= 0 && p != old; }, 20s)) << Logs();
  ASSERT_TRUE(client_->MakeDirs("/during").ok()) << Logs();
  metas_[old].Signal(SIGCONT);
  auto code = metas_[old].Wait(15s);
  ASSERT_TRUE(code.ok()) << "the deposed primary did not exit\n" << Logs();
  EXPECT_EQ(*code, 3) << Logs();

  StartMeta(old);
  ASSERT_TRUE(client_->MakeDirs("/after").ok());
  EXPECT_TRUE(eventually([&] { return InSync().contains(addresses_[old]); }, 20s)) << Logs();
  // It has everything: made primary alone, it serves all three directories.
  for (int i = 0; i < kMetas; ++i) {
    if (i != old) metas_[i].Signal(SIGKILL);
  }
  ASSERT_TRUE(eventually([&] { return Primary() == old; }, 20s)) << Logs();
  for (const char* path : {"/before", "/during", "/after"}) EXPECT_TRUE(client_->Stat(path).ok()) << path;
}

// Creates directories /<dir>/d0, d1, ... on a thread of its own until stopped, keeping the
// acknowledged ones.
class MkdirLoad {
 public:
  MkdirLoad(Client& client, std::string dir) : client_(client), dir_(std::move(dir)) {
    EXPECT_TRUE(client_.MakeDirs(dir_).ok());
    thread_ = std::thread([this] {
      for (int i = 0; !stop_; ++i) {
        const std::string path = dir_ + "/d" + std::to_string(i);
        if (!client_.MakeDirs(path).ok()) continue;
        std::lock_guard lock(mutex_);
        acknowledged_.push_back(path);
      }
    });
  }
  ~MkdirLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> acknowledged() {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }

 private:
  Client& client_;
  const std::string dir_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> acknowledged_;
  std::thread thread_;
};

// A primary whose log keeps only 64 KiB of batches: a standby that missed more starts over from a
// checkpoint.
class MetaGroupSmallLogTest : public MetaGroupTest {
 protected:
  std::vector<std::string> ExtraMetaFlags() const override { return {"--meta.repl_log=64KiB"}; }
};

// A standby's data directory is wiped while it is down and the primary's log moves past where it
// was: restarted, it fetches a checkpoint of the primary's database while a load goes on, pulls the
// rest from the log, and rejoins the in-sync set with everything - enough to serve alone.
TEST_F(MetaGroupSmallLogTest, AWipedStandbyIsRebuiltFromACheckpointPlusTheLog) {
  const int primary = Primary();
  ASSERT_GE(primary, 0);
  const int wiped = (primary + 1) % kMetas;
  metas_[wiped].Signal(SIGKILL);
  (void)metas_[wiped].Wait(10s);
  std::filesystem::remove_all(MetaDir(wiped));
  std::vector<std::string> before;
  for (int i = 0; i < 1000; ++i) {  // a few hundred KiB of batches: more than the log holds
    before.push_back("/before/d" + std::to_string(i));
    ASSERT_TRUE(client_->MakeDirs(before.back()).ok()) << Logs();
  }
  {
    MkdirLoad load(*client_, "/during");
    StartMeta(wiped);
    ASSERT_TRUE(eventually([&] { return InSync().contains(addresses_[wiped]); }, 30s)) << Logs();
    std::this_thread::sleep_for(500ms);  // and a little more, pulled from the log
    load.Stop();
    const std::string log = testing::read_text_file(MetaLog(wiped));
    EXPECT_NE(log.find("starting over from a checkpoint"), std::string::npos) << log;
    EXPECT_NE(log.find("installed a checkpoint"), std::string::npos) << log;
    std::vector<std::string> during = load.acknowledged();
    ASSERT_FALSE(during.empty());
    before.insert(before.end(), during.begin(), during.end());
  }
  // The rebuilt member alone: elected, it serves every acknowledged directory.
  for (int i = 0; i < kMetas; ++i) {
    if (i != wiped) metas_[i].Signal(SIGKILL);
  }
  ASSERT_TRUE(eventually([&] { return Primary() == wiped; }, 20s)) << Logs();
  for (const auto& path : before) ASSERT_TRUE(client_->Stat(path).ok()) << path << "\n" << Logs();
  ExpectCleanFsck(wiped);
}

// A backup taken from the serving primary under a mkdir load holds everything acknowledged before it
// began, passes fsck, and a meta server started on it serves that namespace. The checkpoint calls
// refuse names that lead out of a checkpoint, oversized reads and unknown checkpoints.
TEST_F(MetaGroupTest, ABackupTakenUnderLoadRestoresTheNamespace) {
  std::vector<std::string> acknowledged_before;
  const std::string backup = dir_ + "/backup";
  {
    MkdirLoad load(*client_, "/load");
    std::this_thread::sleep_for(500ms);
    acknowledged_before = load.acknowledged();
    auto written = client_->BackupNamespace(backup);
    ASSERT_TRUE(written.ok()) << written.status().ToString() << "\n" << Logs();
    EXPECT_GT(written->files, 3u);
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(acknowledged_before.empty());
  EXPECT_EQ(client_->BackupNamespace(backup).status().code(), Code::kIoError) << "an existing directory is refused";
  auto problems = testing::fsck_database(backup);
  EXPECT_TRUE(problems.empty()) << testing::join_lines(problems);
  EXPECT_FALSE(std::filesystem::exists(MetaDir(Primary()) + "/checkpoints/") &&
               !std::filesystem::is_empty(MetaDir(Primary()) + "/checkpoints/"))
      << "the primary's copy is removed once fetched";

  // Restore: a lone meta server (no etcd) whose database is the backup.
  const std::string restored = dir_ + "/restored";
  std::filesystem::create_directories(restored);
  std::filesystem::rename(backup, restored + "/meta.db");
  auto meta = testing::ChildProcess::Spawn({ZCFS_META_BIN, "--listen=127.0.0.1:0", "--data-dir=" + restored,
                                            "--ready-file=" + restored + "/ready", "--meta.sync_writes=false"},
                                           restored + ".log");
  ASSERT_TRUE(meta.ok());
  auto address = testing::wait_for_file(restored + "/ready", 20s);
  ASSERT_TRUE(address.ok()) << testing::read_text_file(restored + ".log");
  ClientOptions restored_options;
  restored_options.meta_address = *address;
  auto client = Client::Connect(restored_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (const auto& path : acknowledged_before) EXPECT_TRUE((*client)->Stat(path).ok()) << path;
  meta->Signal(SIGTERM);
  (void)meta->Wait(10s);

  // Bad checkpoint calls, straight to the primary.
  auto channel = BlockingChannel::Connect(*parse_host_port(addresses_[Primary()]), 5s);
  ASSERT_TRUE(channel.ok());
  auto taken = (*channel)->Call(method::kCheckpoint, pb::CheckpointRequest().SerializeAsString(), 30s);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  pb::CheckpointReply checkpoint;
  ASSERT_TRUE(checkpoint.ParseFromString(*taken));
  auto read = [&](const std::string& id, const std::string& name, uint32_t length) {
    pb::CheckpointReadRequest r;
    r.set_id(id);
    r.set_name(name);
    r.set_length(length);
    return (*channel)->Call(method::kCheckpointRead, r.SerializeAsString(), 5s).status().code();
  };
  EXPECT_EQ(read(checkpoint.id(), checkpoint.files(0).name(), 100), Code::kOk);
  EXPECT_EQ(read(checkpoint.id(), "../../meta.db/CURRENT", 100), Code::kInvalidArgument);
  EXPECT_EQ(read(checkpoint.id(), "..", 100), Code::kInvalidArgument);
  EXPECT_EQ(read(checkpoint.id(), checkpoint.files(0).name(), (1u << 20) + 1), Code::kInvalidArgument);
  EXPECT_EQ(read(checkpoint.id(), "no-such-file", 100), Code::kNotFound);
  EXPECT_EQ(read("1-1", checkpoint.files(0).name(), 100), Code::kNotFound);
  pb::CheckpointDoneRequest done;
  done.set_id(checkpoint.id());
  EXPECT_TRUE((*channel)->Call(method::kCheckpointDone, done.SerializeAsString(), 5s).ok());
  EXPECT_EQ(read(checkpoint.id(), checkpoint.files(0).name(), 100), Code::kNotFound) << "done removes it";
}

// The file's bytes, or what failed (read(2)'s error: the mount's answer, not an exception).
std::string read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string("open: ") + std::strerror(errno);
  std::string data;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      data = std::string("read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

// Storage servers and a FUSE mount given the three meta addresses: while a reader lists a directory
// and reads every file in it through the mount, the primary is killed with SIGKILL. The storage
// servers' heartbeats and the mount follow the new primary; the reader sees no error and every byte
// is right, before, during and after.
TEST_F(MetaGroupTest, AMountReadingAndListingAcrossAFailoverSeesNoError) {
  testing::ClusterOptions storage_and_mount;
  storage_and_mount.storage_servers = 2;
  storage_and_mount.meta_group = Group();
  testing::LocalCluster cluster("meta-group-mount", storage_and_mount);
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster.logs();
  auto mounted = cluster.Mount();
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString() << "\n" << cluster.logs();
  const std::string data = *mounted + "/data";
  std::filesystem::create_directories(data);
  std::map<std::string, std::string> files;
  for (int i = 0; i < 16; ++i) {
    const std::string name = "f" + std::to_string(i);
    const auto bytes = testing::random_data(64 * 1024 + i * 4099, 100 + i);
    files[name].assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::ofstream(data + "/" + name, std::ios::binary) << files[name];
  }

  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::mutex mutex;
  std::vector<std::string> errors;
  std::thread reader([&] {
    while (!stop) {
      std::error_code ec;
      size_t listed = 0;
      for (auto it = std::filesystem::directory_iterator(data, ec); !ec && it != std::filesystem::directory_iterator();
           it.increment(ec)) {
        ++listed;
      }
      std::lock_guard lock(mutex);
      if (ec || listed != files.size()) errors.push_back("list: " + ec.message() + ", " + std::to_string(listed) + " entries");
      for (const auto& [name, content] : files) {
        const std::string got = read_whole(data + "/" + name);
        if (got != content) errors.push_back("read " + name + ": " + (got.size() < 100 ? got : "bytes differ"));
      }
      ++rounds;
    }
  });
  std::this_thread::sleep_for(1s);
  const int old = Primary();
  ASSERT_GE(old, 0);
  metas_[old].Signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { int p = Primary(); return p >= 0 && p != old; }, 20s)) << Logs();
  const int rounds_at_failover = rounds.load();
  std::this_thread::sleep_for(3s);
  stop = true;
  reader.join();
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, the first: " << errors.front() << "\n" << cluster.logs();
  EXPECT_GT(rounds.load(), rounds_at_failover) << "the reader went on after the failover";
  // The mount writes through the new primary, and the storage servers heartbeat to it.
  std::filesystem::create_directories(*mounted + "/after");
  EXPECT_TRUE(client_->Stat("/after").ok());
  // A node that never reached the new primary would show the 3 s and more since the failover (the
  // new primary counts the registered nodes as heard from when it took over).
  EXPECT_TRUE(eventually(
      [&] {
        auto status = client_->ClusterStatus();
        if (!status.ok() || status->nodes.size() != 2) return false;
        return std::all_of(status->nodes.begin(), status->nodes.end(),
                           [](const NodeStatus& n) { return n.online && n.since_heartbeat_ms < 1500; });
      },
      10s))
      << cluster.logs();
}

}  // namespace
}  // namespace zcfs
