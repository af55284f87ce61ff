// Replicated meta servers with real processes: an etcd, three zcfs-meta with their own RocksDB on
// loopback, and clients that know all three addresses. The primary is killed with SIGKILL under a
// create load, frozen with SIGSTOP past its etcd lease, and restarted; every acknowledged mutation
// must be on the new primary, a deposed primary must refuse and exit, and a restarted one must
// rejoin as a standby.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "support/process.h"
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
      if (i == 0) ASSERT_TRUE(eventually([&] { return Primary() == 0; }, 20s)) << Logs();  // the first one leads
    }
    ASSERT_TRUE(eventually([&] { return InSync().size() == kMetas; }, 20s)) << Logs();
    ClientOptions options;
    options.meta_address.clear();
    for (const auto& a : addresses_) options.meta_address += (options.meta_address.empty() ? "" : ",") + a;
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString() << "\n" << Logs();
    client_ = std::move(*client);
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
    auto meta = testing::ChildProcess::Spawn(
        {ZCFS_META_BIN, "--listen=" + addresses_[i], "--data-dir=" + dir_ + "/meta" + std::to_string(i),
         "--etcd=http://" + etcd_endpoint_, "--meta.cluster=test", "--meta.lease=2", "--meta.ack_timeout=1000",
         "--meta.sync_writes=false"},
        dir_ + "/meta" + std::to_string(i) + ".log");
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    metas_[i] = std::move(*meta);
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
    for (int i = 0; i < kMetas; ++i) out += "--- meta" + std::to_string(i) + "\n" + testing::read_text_file(dir_ + "/meta" + std::to_string(i) + ".log");
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
  EXPECT_LE(failures.load(), 2) << "only a mutation caught by the kill may fail (retried onto its own result)";
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

}  // namespace
}  // namespace zcfs
