// zcfs-bench against real processes: the metadata and storage modes run every phase, verify what
// they read, and leave nothing behind (the meta mode's --unlink, the storage mode's chunk removal).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/local_cluster.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

// Runs zcfs-bench with `args` (and the cluster's --meta unless `with_meta` is false); returns its exit
// code and everything it printed.
std::pair<int, std::string> run_bench(const testing::LocalCluster& cluster, std::vector<std::string> args,
                                      bool with_meta = true) {
  static int runs = 0;
  std::string log = cluster.dir() + "/bench-" + std::to_string(runs++) + ".out";
  if (with_meta) args.insert(args.begin() + 1, "--meta=" + cluster.meta_address());
  args.insert(args.begin(), ZCFS_BENCH_BIN);
  return testing::run_to_exit(args, log, std::chrono::seconds(120));
}

class BenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = cluster_.Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster_.logs();
  }
  testing::LocalCluster cluster_{"bench", {.storage_servers = 2}};
};

TEST_F(BenchTest, MetaModeRunsEveryPhaseAndUnlinksWhatItCreated) {
  auto [code, out] = run_bench(cluster_, {"meta", "--dir=/b", "--threads=3", "--files=25", "--unlink", "--repeat=2"});
  ASSERT_EQ(code, 0) << out;
  for (const char* phase : {"create ", "stat ", "stat-path ", "lookup ", "readdir ", "unlink "}) {
    EXPECT_NE(out.find(phase), std::string::npos) << phase << " missing in:\n" << out;
  }
  EXPECT_NE(out.find("150 ops"), std::string::npos) << "stat runs 3 threads x 25 files x 2 passes:\n" << out;

  auto client = Client::Connect(ClientOptions{.meta_address = cluster_.meta_address()});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto runs = (*client)->ReadDir((*client)->Stat("/b")->ino);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 1u);
  for (int t = 0; t < 3; ++t) {
    auto dir = (*client)->Stat("/b/" + (*runs)[0].name + "/t" + std::to_string(t));
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    EXPECT_TRUE((*client)->ReadDir(dir->ino)->empty());
  }
}

TEST_F(BenchTest, StorageModeVerifiesSequentialAndRandomReadsAndRemovesItsChunks) {
  for (const char* pattern : {"--pattern=seq", "--pattern=rand"}) {
    auto [code, out] = run_bench(cluster_, {"storage", pattern, "--chunks=6", "--chunk-size=1MiB", "--block=256KiB",
                                            "--threads=2", "--depth=2", "--seconds=1", "--verify"});
    ASSERT_EQ(code, 0) << out;
    EXPECT_NE(out.find("verified"), std::string::npos) << out;
    EXPECT_NE(out.find("MiB/s"), std::string::npos) << out;
    EXPECT_EQ(out.find(" 0 requests"), std::string::npos) << out;
    EXPECT_NE(out.find("removed 6 chunks"), std::string::npos) << out;  // as the storage servers counted
  }
}

// The storage servers' addresses, as they wrote them to their ready files.
std::string storage_addresses(const testing::LocalCluster& cluster, int servers) {
  std::string list;
  for (int i = 0; i < servers; ++i) {
    std::ifstream in(cluster.dir() + "/storage" + std::to_string(i) + ".ready");
    std::string address;
    std::getline(in, address);
    list += (list.empty() ? "" : ",") + address;
  }
  return list;
}

TEST_F(BenchTest, StorageModeWithoutTheMetaServer) {
  std::string storage = "--storage=" + storage_addresses(cluster_, 2);
  ASSERT_TRUE(cluster_.KillMeta().ok());  // the targets come from the storage servers themselves
  for (const char* pattern : {"--pattern=seq", "--pattern=rand"}) {
    // Several blocks per request (all of one target): every block of every reply is verified.
    auto [code, out] = run_bench(cluster_,
                                 {"storage", storage, pattern, "--chunks=6", "--chunk-size=1MiB", "--block=256KiB",
                                  "--threads=2", "--depth=2", "--seconds=1", "--batch=3", "--verify"},
                                 /*with_meta=*/false);
    ASSERT_EQ(code, 0) << out;
    EXPECT_NE(out.find("on 2 target(s)"), std::string::npos) << out;
    EXPECT_NE(out.find("verified"), std::string::npos) << out;
    EXPECT_NE(out.find("3 per request"), std::string::npos) << out;
    EXPECT_EQ(out.find(" 0 requests"), std::string::npos) << out;
    EXPECT_NE(out.find("removed 6 chunks"), std::string::npos) << out;
  }
  ASSERT_TRUE(cluster_.RestartMeta().ok());
}

TEST_F(BenchTest, StorageModeRefusesBadArguments) {
  for (std::vector<std::string> args : {std::vector<std::string>{"storage", "--block=3000"},
                                        {"storage", "--pattern=sideways"},
                                        {"storage", "--batch=0"},
                                        {"storage", "--block=1MiB", "--batch=65"},  // over 64 MiB a request
                                        {"storage", "--chunk-size=1MiB", "--block=2MiB"},
                                        {"storage", "--storage=127.0.0.1:1"},  // and --meta: one or the other
                                        {"storage", "--storage=nonsense"}}) {
    auto [code, out] = run_bench(cluster_, args);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("usage"), std::string::npos) << out;
  }
  auto [code, out] = run_bench(cluster_, {"storage", "--storage=,"}, /*with_meta=*/false);
  EXPECT_EQ(code, 2) << out;
  // A storage server that is not there: a clear error, not a hang.
  std::tie(code, out) = run_bench(cluster_, {"storage", "--storage=127.0.0.1:1", "--seconds=1"}, false);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("storage 127.0.0.1:1"), std::string::npos) << out;
}

}  // namespace
}  // namespace zcfs
