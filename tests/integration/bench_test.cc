// zcfs-bench against real processes: the metadata and storage modes run every phase, verify what
// they read, and leave nothing behind (the meta mode's --unlink, the storage mode's chunk removal);
// the read and write modes move exactly the dataset in one pass, through every path (native, ring,
// shard layout, random order), print their numbers as a table or JSON, and measure the ceilings.
// No assertion depends on how fast anything is.
#include <gtest/gtest.h>
#include <sys/vfs.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

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
    // As the storage servers counted: the 6 chunks went down the one chain, onto both servers.
    EXPECT_NE(out.find("removed 12 chunks"), std::string::npos) << out;
  }
}

// The storage servers' addresses, as they wrote them to their ready files.
std::string storage_addresses(const testing::LocalCluster& cluster, int servers) {
  std::string list;
  for (int i = 0; i < servers; ++i) list += (list.empty() ? "" : ",") + cluster.storage_address(i);
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

// The JSON object zcfs-bench printed (the line starting with '{'), or "".
std::string json_line(const std::string& out) {
  std::string text = "\n" + out;
  size_t at = text.rfind("\n{");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

// The number of "key" in `json` (the first occurrence), if there is one.
std::optional<double> json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\":(-?[0-9.eE+-]+)"))) return std::nullopt;
  return std::stod(m[1]);
}

std::string json_string(const std::string& json, const std::string& key) {
  std::smatch m;
  return std::regex_search(json, m, std::regex("\"" + key + "\":\"([^\"]*)\"")) ? m[1].str() : "";
}

// Every field of a read/write result is there and is a number.
void expect_io_fields(const std::string& json) {
  for (const char* key : {"threads", "depth", "block", "files", "seconds", "bytes", "requests", "gb_per_s", "mib_per_s",
                          "iops", "p50_us", "p99_us", "p999_us"}) {
    EXPECT_TRUE(json_number(json, key).has_value()) << key << " missing in " << json;
  }
}

TEST_F(BenchTest, WriteAndReadOnePassMoveTheWholeDatasetAndPrintJson) {
  auto [code, out] = run_bench(cluster_, {"write", "--dir=/d", "--files=6", "--size=1MiB", "--block=256KiB",
                                          "--threads=2", "--depth=2", "--json"});
  ASSERT_EQ(code, 0) << out;
  std::string json = json_line(out);
  expect_io_fields(json);
  EXPECT_EQ(json_string(json, "mode"), "write");
  EXPECT_EQ(json_number(json, "bytes"), 6 << 20) << json;
  EXPECT_EQ(json_number(json, "requests"), 24) << json;

  std::tie(code, out) =
      run_bench(cluster_, {"read", "--dir=/d", "--block=256KiB", "--threads=3", "--verify", "--json"});
  ASSERT_EQ(code, 0) << out;
  json = json_line(out);
  expect_io_fields(json);
  EXPECT_EQ(json_string(json, "path"), "native");
  EXPECT_EQ(json_number(json, "files"), 6) << json;
  EXPECT_EQ(json_number(json, "bytes"), 6 << 20) << json;  // every block once
  EXPECT_EQ(json_number(json, "requests"), 24) << json;
  EXPECT_NE(json.find("\"verified\":true"), std::string::npos) << json;

  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/d", "--block=256KiB"});  // the table
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("GB/s"), std::string::npos) << out;
  EXPECT_NE(out.find("p99.9 us"), std::string::npos) << out;
}

// Through a real mount, verified, then the same run through the native API and the ratio of the two.
TEST_F(BenchTest, MountReadComparedWithTheNativeApi) {
  auto [code, out] = run_bench(cluster_, {"write", "--dir=/m", "--files=4", "--size=3MiB"});
  ASSERT_EQ(code, 0) << out;
  auto mount = cluster_.Mount();
  ASSERT_TRUE(mount.ok()) << mount.status().ToString() << cluster_.logs();
  std::tie(code, out) = run_bench(
      cluster_, {"read", "--dir=/m", "--mount=" + *mount, "--threads=2", "--verify", "--versus-native", "--json"});
  ASSERT_EQ(code, 0) << out;
  std::string json = json_line(out);
  EXPECT_EQ(json_string(json, "path"), "fuse mount");
  EXPECT_EQ(json_number(json, "bytes"), 12 << 20) << json;
  EXPECT_NE(json.find("\"verified\":true"), std::string::npos) << json;
  auto native = json_number(json, "native_mib_per_s");
  auto ratio = json_number(json, "ratio");
  ASSERT_TRUE(native && ratio) << json;
  // The native run is a run of its own: one pass over the same bytes, counted once.
  EXPECT_EQ(json_number(json, "native_bytes"), 12 << 20) << json;
  EXPECT_GT(*native, 0) << json;
  EXPECT_GT(*ratio, 0) << json;
  EXPECT_TRUE(cluster_.Unmount().ok());
}

TEST_F(BenchTest, ShardLayoutRandomReadsThroughTheRing) {
  auto [code, out] = run_bench(
      cluster_, {"write", "--dir=/s", "--layout=shard", "--shards=2", "--shard-size=6MiB", "--pattern=rand", "--json"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(json_number(json_line(out), "bytes"), 12 << 20) << out;
  // One pass in random order: each 128 KiB block exactly once, every byte verified.
  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/s", "--layout=shard", "--pattern=rand", "--depth=8",
                                             "--threads=2", "--block=128KiB", "--verify", "--json"});
  ASSERT_EQ(code, 0) << out;
  std::string json = json_line(out);
  EXPECT_EQ(json_string(json, "path"), "ring") << json;
  EXPECT_EQ(json_string(json, "layout"), "shard") << json;
  EXPECT_EQ(json_number(json, "requests"), 96) << json;
  EXPECT_EQ(json_number(json, "bytes"), 12 << 20) << json;
  // Reaping 4 completions per refill (bigger submits) still reads each block exactly once.
  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/s", "--layout=shard", "--pattern=rand", "--depth=8",
                                             "--reap=4", "--block=128KiB", "--verify", "--json"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(json_number(json_line(out), "requests"), 96) << out;
  EXPECT_EQ(json_number(json_line(out), "reap"), 4) << out;
  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/s", "--depth=2", "--reap=3"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--reap"), std::string::npos) << out;
  // For a time: loops over the shards at random block offsets until it is up.
  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/s", "--layout=shard", "--pattern=rand", "--depth=8",
                                             "--block=128KiB", "--seconds=1", "--verify", "--json"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_GT(json_number(json_line(out), "requests").value_or(0), 0) << out;
  // The file layout has no shard-* files here: a clear error.
  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/s"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("no sample-* files with data in /s"), std::string::npos) << out;
}

TEST_F(BenchTest, CeilingMeasuresTcpAndODirectAndPrintsTheRatios) {
  ASSERT_EQ(run_bench(cluster_, {"write", "--dir=/c", "--files=4", "--size=2MiB"}).first, 0);
  // The bench creates the ceiling file (8 MiB, on the disk-backed scratch directory), then reuses it.
  std::string file = cluster_.dir() + "/ceiling.dat";
  auto [code, out] = run_bench(cluster_, {"read", "--dir=/c", "--seconds=0.5", "--ceiling", "--ceiling-file=" + file,
                                          "--ceiling-size=8MiB", "--ceiling-seconds=0.5"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(std::filesystem::file_size(file), 8u << 20);
  EXPECT_NE(out.find("loopback TCP"), std::string::npos) << out;
  EXPECT_NE(out.find("ratio: sequential reads / min(O_DIRECT sequential, loopback TCP) = "), std::string::npos) << out;
  EXPECT_NE(out.find("target >= 0.90"), std::string::npos) << out;

  std::tie(code, out) =
      run_bench(cluster_, {"read", "--dir=/c", "--pattern=rand", "--block=128KiB", "--depth=4", "--ceiling",
                           "--ceiling-file=" + file, "--ceiling-seconds=0.5", "--ceiling-tool=builtin", "--json"});
  ASSERT_EQ(code, 0) << out;
  std::string json = json_line(out);
  size_t ceiling = json.find("\"ceiling\":{");
  ASSERT_NE(ceiling, std::string::npos) << json;
  std::string c = json.substr(ceiling);
  EXPECT_EQ(json_string(c, "tool"), "io_uring") << c;
  EXPECT_GT(json_number(c, "tcp_gb_per_s").value_or(0), 0) << c;
  EXPECT_GT(json_number(c, "odirect_gb_per_s").value_or(0), 0) << c;
  EXPECT_TRUE(json_number(c, "ratio").has_value()) << c;
  EXPECT_EQ(json_number(c, "target"), 0.8) << c;
  EXPECT_NE(json_string(c, "ratio_name").find("O_DIRECT random"), std::string::npos) << c;

  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == 0x01021994 /* TMPFS_MAGIC */) {
    std::tie(code, out) =
        run_bench(cluster_, {"read", "--dir=/c", "--ceiling", "--ceiling-file=/dev/shm/zcfs-ceiling"});
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find("is on tmpfs"), std::string::npos) << out;  // refused before the bench runs
    EXPECT_FALSE(std::filesystem::exists("/dev/shm/zcfs-ceiling"));
  }
}

TEST_F(BenchTest, LiveLineAndAStartTime) {
  ASSERT_EQ(run_bench(cluster_, {"write", "--dir=/l", "--files=2", "--size=1MiB"}).first, 0);
  auto [code, out] = run_bench(cluster_, {"read", "--dir=/l", "--seconds=2.5", "--progress"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(read +[0-9.]+ MiB/s +[0-9]+ IOPS +[0-9]+ s\n)"))) << out;

  // A short run told to start 3 s from now cannot end before then.
  auto start_at = std::chrono::ceil<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()) +
                  std::chrono::seconds(3);
  std::tie(code, out) = run_bench(
      cluster_, {"read", "--dir=/l", "--seconds=0.2", "--json", "--start-at=" + std::to_string(start_at.count())});
  ASSERT_EQ(code, 0) << out;
  EXPECT_GE(std::chrono::system_clock::now().time_since_epoch(), start_at);
  // A start time in the past: said, and the run goes ahead.
  std::tie(code, out) = run_bench(cluster_, {"read", "--dir=/l", "--start-at=1000"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("--start-at=1000 passed"), std::string::npos) << out;
}

TEST_F(BenchTest, MetaModeJsonHasEveryPhaseWithItsPercentiles) {
  auto [code, out] = run_bench(cluster_, {"meta", "--dir=/mj", "--threads=2", "--files=20", "--unlink", "--json"});
  ASSERT_EQ(code, 0) << out;
  std::string json = json_line(out);
  for (const char* phase : {"create", "stat", "stat-path", "lookup", "readdir", "unlink"}) {
    size_t at = json.find("\"" + std::string(phase) + "\":{");
    ASSERT_NE(at, std::string::npos) << phase << " missing in " << json;
    std::string row = json.substr(at);
    for (const char* key : {"rate", "p50_us", "p99_us", "p999_us"}) {
      EXPECT_TRUE(json_number(row, key).has_value()) << phase << "." << key << " in " << json;
    }
  }
  EXPECT_EQ(json_number(json.substr(json.find("\"stat\":{")), "units"), 40) << json;
}

TEST_F(BenchTest, ReadAndWriteRefuseBadArguments) {
  for (std::vector<std::string> args : {std::vector<std::string>{"read", "--layout=zigzag"},
                                        {"read", "--pattern=sideways"},
                                        {"read", "--threads=0"},
                                        {"read", "--block=1KiB100"},
                                        {"read", "--seconds=soon"},
                                        {"read", "--mount=/mnt", "--depth=4"},
                                        {"read", "--versus-native"},
                                        {"read", "--colour"},
                                        {"write", "--seconds=5"},
                                        {"write", "--ceiling"}}) {
    auto [code, out] = run_bench(cluster_, args);
    EXPECT_EQ(code, 2) << args[1] << ":\n" << out;
    EXPECT_NE(out.find("usage"), std::string::npos) << out;
    EXPECT_NE(out.find(args[1].substr(0, args[1].find('='))), std::string::npos) << "names the flag:\n" << out;
  }
}

}  // namespace
}  // namespace zcfs
