// Chain replication with real processes: three storage servers, every chunk on all three (one chain),
// a 2 s node lease. Storage servers are killed with SIGKILL, frozen with SIGSTOP past their lease and
// wiped, under read load through the native API and through a FUSE mount; every byte must still read
// back exactly, writes made meanwhile must succeed, and returning servers must be resynced.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "support/local_cluster.h"
#include "support/process.h"
#include "support/random_data.h"
#include "zcfs.pb.h"
#include "zcfs/client/client.h"
#include "zcfs/common/address.h"
#include "zcfs/proto/blocking_channel.h"
#include "zcfs/proto/methods.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr auto kLease = 2s;  // --meta.node_timeout below

testing::ClusterOptions ReplicatedCluster() {
  testing::ClusterOptions options;
  options.storage_servers = 3;
  options.meta_flags = {"--meta.node_timeout=2000", "--meta.chunk_size=1MiB"};
  options.storage_flags = {"--heartbeat=200"};
  return options;
}

// The files a test wrote and the bytes each must hold. Thread-safe.
class Dataset {
 public:
  void Add(const std::string& path, std::vector<std::byte> data) {
    std::lock_guard lock(mutex_);
    files_[path] = std::move(data);
  }
  std::map<std::string, std::vector<std::byte>> Snapshot() const {
    std::lock_guard lock(mutex_);
    return files_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::byte>> files_;
};

Status WriteFile(Client& client, const std::string& path, std::span<const std::byte> data) {
  ASSIGN_OR_RETURN(FileInfo file, client.CreatePath(path));
  return client.WriteAndExtend(file, 0, data).status();
}

// Reads `path` whole through the native API and compares it with `want`.
Status CheckNative(Client& client, const std::string& path, const std::vector<std::byte>& want) {
  ASSIGN_OR_RETURN(FileInfo file, client.Stat(path));
  if (file.size != want.size()) return Error(Code::kCorruption, path + ": size " + std::to_string(file.size));
  std::vector<std::byte> got(want.size());
  ASSIGN_OR_RETURN(size_t n, client.Read(file, 0, got));
  if (n != want.size() || got != want) return Error(Code::kCorruption, path + ": bytes differ");
  return Status::Ok();
}

// The same through the mount, with read(2) as any program reads.
Status CheckMounted(const std::string& mount, const std::string& path, const std::vector<std::byte>& want) {
  int fd = ::open((mount + path).c_str(), O_RDONLY);
  if (fd < 0) return Status::FromErrno(errno, "open " + mount + path);
  std::vector<std::byte> got(want.size() + 1);
  size_t done = 0;
  ssize_t n = 0;
  while (done < got.size() && (n = ::read(fd, got.data() + done, got.size() - done)) > 0) done += n;
  int err = errno;
  ::close(fd);
  if (n < 0) return Status::FromErrno(err, "read " + mount + path);
  got.resize(done);
  if (got != want) return Error(Code::kCorruption, mount + path + ": bytes differ (" + std::to_string(done) + " read)");
  return Status::Ok();
}

// Reads every file of the dataset over and over (native API, and the mount when given) until
// stopped, counting the reads and the failures.
class ReadLoad {
 public:
  ReadLoad(Client& client, const Dataset& data, std::string mount) : client_(client), data_(data), mount_(mount) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ReadLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t reads() const { return reads_.load(); }
  uint64_t failures() const { return failures_.load(); }
  std::string first_failure() {
    std::lock_guard lock(mutex_);
    return first_failure_;
  }

 private:
  void Run() {
    while (!stop_) {
      for (const auto& [path, want] : data_.Snapshot()) {
        if (stop_) return;
        Count(CheckNative(client_, path, want));
        if (!mount_.empty()) Count(CheckMounted(mount_, path, want));
      }
    }
  }
  void Count(const Status& s) {
    reads_.fetch_add(1);
    if (s.ok()) return;
    failures_.fetch_add(1);
    std::lock_guard lock(mutex_);
    if (first_failure_.empty()) first_failure_ = s.ToString();
  }

  Client& client_;
  const Dataset& data_;
  const std::string mount_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> reads_{0}, failures_{0};
  std::mutex mutex_;
  std::string first_failure_;
  std::thread thread_;
};

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<testing::LocalCluster>("replication", ReplicatedCluster());
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->logs();
    ClientOptions options;
    options.meta_address = cluster_->meta_address();
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    ASSERT_TRUE(WaitAllServing().ok()) << cluster_->logs();
  }

  // Until the one chain has all three targets SERVING.
  Status WaitAllServing(std::chrono::seconds timeout = 60s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto state = client_->ClusterStatus();
      if (state.ok() && state->chains.size() == 1 && state->chains[0].members.size() == 3 &&
          std::all_of(state->chains[0].members.begin(), state->chains[0].members.end(),
                      [](const ChainMemberStatus& m) { return m.state == ReplicaState::kServing; })) {
        return Status::Ok();
      }
      std::this_thread::sleep_for(100ms);
    }
    return Error(Code::kTimeout, "the chain did not get all three targets serving");
  }

  // The state of the target of storage server `index` in the chain.
  Result<ReplicaState> StateOf(size_t index) {
    ASSIGN_OR_RETURN(uint32_t target, TargetOf(index));
    ASSIGN_OR_RETURN(ClusterState state, client_->ClusterStatus());
    for (const auto& chain : state.chains) {
      for (const auto& m : chain.members) {
        if (m.target_id == target) return m.state;
      }
    }
    return Error(Code::kNotFound, "target not in a chain");
  }

  Result<uint32_t> TargetOf(size_t index) {
    std::ifstream in(cluster_->storage_dir(index) + "/target0/target_id");
    uint32_t id = 0;
    if (!(in >> id)) return Error(Code::kNotFound, "no target id for storage " + std::to_string(index));
    return id;
  }

  // The storage server holding the chain's head.
  Result<size_t> HeadIndex() {
    ASSIGN_OR_RETURN(ClusterState state, client_->ClusterStatus());
    if (state.chains.empty() || state.chains[0].members.empty()) return Error(Code::kNotFound, "no chain");
    for (size_t i = 0; i < 3; ++i) {
      auto target = TargetOf(i);
      if (target.ok() && *target == state.chains[0].members[0].target_id) return i;
    }
    return Error(Code::kNotFound, "no storage server holds the head");
  }

  Status WaitState(size_t index, ReplicaState want, std::chrono::seconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto state = StateOf(index);
      if (state.ok() && *state == want) return Status::Ok();
      std::this_thread::sleep_for(50ms);
    }
    return Error(Code::kTimeout, "storage " + std::to_string(index) + " did not reach the expected state");
  }

  // `count` files of 1..5 MiB under `dir`, recorded in data_.
  void WriteFiles(const std::string& dir, int count, uint64_t seed) {
    ASSERT_TRUE(client_->MakeDirs(dir).ok());
    for (int i = 0; i < count; ++i) {
      std::string path = dir + "/f" + std::to_string(i);
      auto bytes = testing::random_data((1u << 20) + (seed * 7919 + i * 524287) % (4u << 20), seed * 1000 + i);
      Status s = WriteFile(*client_, path, bytes);
      ASSERT_TRUE(s.ok()) << path << ": " << s.ToString() << "\n" << cluster_->logs();
      data_.Add(path, std::move(bytes));
    }
  }

  void ExpectEveryFileExact() {
    for (const auto& [path, want] : data_.Snapshot()) {
      Status s = CheckNative(*client_, path, want);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }

  std::unique_ptr<testing::LocalCluster> cluster_;
  std::unique_ptr<Client> client_;
  Dataset data_;
};

// The acceptance scenario of chain replication: kill one server under read load (native and through
// the mount): no read fails; writes go on; it returns and is resynced; then another one, the head,
// is killed: every file, those written while the first was down included, still reads back exact.
TEST_F(ReplicationTest, KillAnyServerUnderReadLoadThenResyncAndKillAnother) {
  auto mount = cluster_->Mount({"-o", "io_timeout=20"});
  ASSERT_TRUE(mount.ok()) << mount.status().ToString();
  WriteFiles("/a", 12, 1);
  ASSERT_FALSE(HasFatalFailure());

  auto head = HeadIndex();
  ASSERT_TRUE(head.ok());
  const size_t first = (*head + 1) % 3;  // a middle or tail replica first
  {
    ReadLoad load(*client_, data_, *mount);
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(cluster_->KillStorage(first).ok());
    ASSERT_TRUE(WaitState(first, ReplicaState::kOffline).ok()) << cluster_->logs();
    WriteFiles("/b", 6, 2);  // while it is down
    ASSERT_FALSE(HasFatalFailure());
    std::this_thread::sleep_for(500ms);
    load.Stop();
    EXPECT_EQ(load.failures(), 0u) << load.first_failure();
    EXPECT_GT(load.reads(), 20u);
  }

  ASSERT_TRUE(cluster_->StartStorage(first).ok());
  ASSERT_TRUE(WaitAllServing().ok()) << cluster_->logs();

  {
    ReadLoad load(*client_, data_, *mount);
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(cluster_->KillStorage(*head).ok());  // the head: writes must fail over too
    WriteFiles("/c", 6, 3);
    ASSERT_FALSE(HasFatalFailure());
    std::this_thread::sleep_for(500ms);
    load.Stop();
    EXPECT_EQ(load.failures(), 0u) << load.first_failure();
  }
  // The first server's copy alone must hold everything: take the third one out too.
  const size_t third = 3 - first - *head;
  ASSERT_TRUE(WaitState(*head, ReplicaState::kOffline).ok());
  ASSERT_TRUE(cluster_->KillStorage(third).ok());
  ASSERT_TRUE(WaitState(third, ReplicaState::kOffline).ok()) << cluster_->logs();
  ExpectEveryFileExact();
  EXPECT_EQ(data_.Snapshot().size(), 24u);
}

// A write in flight when the head dies is either acknowledged and present, or reported failed to the
// writer; never acknowledged and lost.
TEST_F(ReplicationTest, WritesAcrossAHeadKillAreAcknowledgedOnlyWhenStored) {
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, failed{0};
  ASSERT_TRUE(client_->MakeDirs("/w").ok());
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string path = "/w/f" + std::to_string(i);
      auto bytes = testing::random_data(256u << 10, 5000 + i);
      if (WriteFile(*client_, path, bytes).ok()) {
        data_.Add(path, std::move(bytes));
        acknowledged.fetch_add(1);
      } else {
        failed.fetch_add(1);
      }
    }
  });
  std::this_thread::sleep_for(1s);
  auto head = HeadIndex();
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(cluster_->KillStorage(*head).ok());
  ASSERT_TRUE(WaitState(*head, ReplicaState::kOffline).ok());
  std::this_thread::sleep_for(1s);
  stop = true;
  writer.join();
  EXPECT_GT(acknowledged.load(), 5);
  EXPECT_EQ(failed.load(), 0) << "writes fail over within ClientOptions::failover_timeout";
  ExpectEveryFileExact();
}

// A server frozen past its lease is taken out of its chain; when it resumes it is fenced (it serves
// nothing under the old chain) and comes back only through a resync that brings the writes it missed.
TEST_F(ReplicationTest, FrozenServerIsFencedAndResyncedWhenItResumes) {
  WriteFiles("/a", 4, 1);
  auto head = HeadIndex();
  ASSERT_TRUE(head.ok());
  {
    // Reads meeting the frozen server (its connections stay open, no reply comes) time out on it and
    // are read from another replica: none fails.
    ReadLoad load(*client_, data_, "");
    ASSERT_TRUE(cluster_->SignalStorage(*head, SIGSTOP).ok());
    ASSERT_TRUE(WaitState(*head, ReplicaState::kOffline).ok()) << cluster_->logs();
    WriteFiles("/b", 4, 2);  // the frozen one misses these
    ASSERT_FALSE(HasFatalFailure());
    load.Stop();
    EXPECT_EQ(load.failures(), 0u) << load.first_failure();
  }
  ASSERT_TRUE(cluster_->SignalStorage(*head, SIGCONT).ok());
  ASSERT_TRUE(WaitAllServing().ok()) << cluster_->logs();
  // Only the resumed server left: it must hold the writes it missed.
  for (size_t i = 0; i < 3; ++i) {
    if (i == *head) continue;
    ASSERT_TRUE(cluster_->KillStorage(i).ok());
    ASSERT_TRUE(WaitState(i, ReplicaState::kOffline).ok()) << cluster_->logs();
  }
  ExpectEveryFileExact();
}

// A wiped target directory comes back as a new, empty target (a new uuid) and is resynced before it
// serves: nothing reads as zeros, even once it is the only replica left.
TEST_F(ReplicationTest, WipedTargetIsResyncedNotReadAsHoles) {
  WriteFiles("/a", 6, 1);
  const size_t wiped = 2;
  ASSERT_TRUE(cluster_->KillStorage(wiped).ok());
  auto target_before = TargetOf(wiped);
  ASSERT_TRUE(target_before.ok());
  std::filesystem::remove_all(cluster_->storage_dir(wiped) + "/target0");
  ASSERT_TRUE(cluster_->StartStorage(wiped).ok());
  ASSERT_TRUE(WaitAllServing().ok()) << cluster_->logs();
  EXPECT_EQ(TargetOf(wiped).value(), *target_before) << "the node keeps its target id by path";
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(cluster_->KillStorage(i).ok());
    ASSERT_TRUE(WaitState(i, ReplicaState::kOffline).ok()) << cluster_->logs();
  }
  ExpectEveryFileExact();
}

// Removes every chunk of `ino` from target `target` of storage server `index` behind the chain's
// back, as a failing disk or a bug would lose them: the storage server is asked directly, as only
// the meta server's trimmer does. Returns how many chunks went.
Result<uint32_t> LoseChunks(const testing::LocalCluster& cluster, size_t index, uint32_t target, uint64_t ino) {
  ASSIGN_OR_RETURN(HostPort peer, parse_host_port(cluster.storage_address(index)));
  ASSIGN_OR_RETURN(auto channel, BlockingChannel::Connect(peer, 5s));
  pb::TruncateChunksRequest request;
  request.set_inode(ino);
  request.set_target_id(target);
  request.set_length(0);
  request.set_chunk_size(1 << 20);
  ASSIGN_OR_RETURN(std::string body, channel->Call(method::kTruncateChunks, request.SerializeAsString(), 5s));
  pb::TruncateChunksReply reply;
  if (!reply.ParseFromString(body)) return Error(Code::kProtocolError, "bad truncate reply");
  return reply.removed_chunks();
}

// A SERVING replica that lost chunks is found out by the first read that comes up short on it: the
// read returns the bytes from another replica (never zeros), and the replica is resynced, after which
// it alone serves them again. A real hole (a sparse file) reads as zeros and resyncs nothing.
TEST_F(ReplicationTest, AReplicaThatLostChunksIsReadAroundAndResynced) {
  const auto dense = testing::random_data(6 << 20, 7);  // six 1 MiB chunks, one on each replica in turn
  ASSERT_TRUE(WriteFile(*client_, "/dense", dense).ok());
  data_.Add("/dense", dense);
  std::vector<std::byte> sparse((9 << 19) + 100);  // 4.5 MiB + 100: chunks 1-3 never written
  const auto head = testing::random_data(100, 8), tail = testing::random_data(100, 9);
  std::copy(head.begin(), head.end(), sparse.begin());
  std::copy(tail.begin(), tail.end(), sparse.end() - 100);
  auto file = client_->CreatePath("/sparse");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(client_->WriteAndExtend(*file, 0, head).ok());
  ASSERT_TRUE(client_->WriteAndExtend(*file, sparse.size() - 100, tail).ok());
  data_.Add("/sparse", sparse);

  auto chain_version = [&]() -> uint64_t {
    auto state = client_->ClusterStatus();
    return state.ok() && !state->chains.empty() ? state->chains[0].version : 0;
  };
  const uint64_t version = chain_version();
  for (int i = 0; i < 3; ++i) ExpectEveryFileExact();
  EXPECT_EQ(chain_version(), version) << "holes are no lost data:\n" << cluster_->logs();

  const size_t lossy = 1;
  auto target = TargetOf(lossy);
  auto dense_file = client_->Stat("/dense");
  ASSERT_TRUE(target.ok() && dense_file.ok());
  auto lost = LoseChunks(*cluster_, lossy, *target, dense_file->ino);
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  ASSERT_EQ(*lost, 6u);

  ExpectEveryFileExact();
  ASSERT_FALSE(HasFailure()) << cluster_->logs();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (chain_version() < version + 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  ASSERT_GE(chain_version(), version + 2) << "the short replica was not sent to resync\n" << cluster_->logs();
  ASSERT_TRUE(WaitAllServing().ok()) << cluster_->logs();

  for (size_t i = 0; i < 3; ++i) {  // the resynced replica alone
    if (i == lossy) continue;
    ASSERT_TRUE(cluster_->KillStorage(i).ok());
    ASSERT_TRUE(WaitState(i, ReplicaState::kOffline).ok()) << cluster_->logs();
  }
  ExpectEveryFileExact();
}

}  // namespace
}  // namespace zcfs
