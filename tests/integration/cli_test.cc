// The `zcfs` CLI against real processes: a meta server and two storage servers on loopback, the CLI
// run as a child process. Copies are checked byte for byte, errors by their exit code and message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>

#include "support/local_cluster.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

namespace fs = std::filesystem;

class ZcfsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = cluster_.Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster_.logs();
    auto client = Client::Connect(ClientOptions{.meta_address = cluster_.meta_address()});
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
  }

  // Runs the CLI with `args`; returns its exit code and everything it printed (stdout and stderr).
  std::pair<int, std::string> Run(std::vector<std::string> args) {
    std::string log = cluster_.dir() + "/cli-" + std::to_string(runs_++) + ".out";
    args.insert(args.begin(), {ZCFS_CLI_BIN, "--meta=" + cluster_.meta_address()});
    return testing::run_to_exit(args, log, std::chrono::seconds(120));
  }

  std::string Local(const std::string& name) { return cluster_.dir() + "/" + name; }

  testing::LocalCluster cluster_{"cli", {.storage_servers = 2}};
  std::unique_ptr<Client> client_;
  int runs_ = 0;
};

void write_file(const std::string& path, size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data(size, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << data;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under `root` (relative path -> content) and every directory (relative path -> "<dir>").
std::map<std::string, std::string> tree_of(const std::string& root) {
  std::map<std::string, std::string> tree;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    tree[rel] = e.is_directory() ? "<dir>" : read_file(e.path().string());
  }
  return tree;
}

TEST_F(ZcfsCliTest, PutAndGetCopyADirectoryTreeByteForByte) {
  std::string src = Local("src");
  fs::create_directories(src + "/a/b/c");
  fs::create_directories(src + "/empty-dir");
  write_file(src + "/big.bin", (20 << 20) + 12345, 1);  // several 8 MiB pieces, copied in parallel
  write_file(src + "/a/small.txt", 100, 2);
  write_file(src + "/a/b/c/deep.bin", 3 << 20, 3);
  write_file(src + "/a/b/empty", 0, 4);
  for (int i = 0; i < 12; ++i) write_file(src + "/a/f" + std::to_string(i), 1000 * i + 1, 10 + i);

  auto [put_code, put_out] = Run({"put", "--jobs=3", "--progress", src, "/tree"});
  ASSERT_EQ(put_code, 0) << put_out;
  EXPECT_NE(put_out.find("put: 16 files"), std::string::npos) << "the summary line:\n" << put_out;
  auto big = client_->Stat("/tree/big.bin");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->size, (20u << 20) + 12345);

  std::string dst = Local("dst");
  auto [get_code, get_out] = Run({"get", "--jobs=4", "/tree", dst});
  ASSERT_EQ(get_code, 0) << get_out;
  EXPECT_EQ(get_out.find("get:"), std::string::npos) << "no progress or summary without a terminal:\n" << get_out;
  auto want = tree_of(src);
  auto got = tree_of(dst);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [path, content] : want) {
    ASSERT_TRUE(got.count(path)) << path << " was not copied";
    EXPECT_TRUE(got[path] == content) << path << " differs";
  }
}

TEST_F(ZcfsCliTest, PutReplacesALargerFileAndAFileGoesIntoAnExistingDirectory) {
  write_file(Local("long"), 3 << 20, 5);
  write_file(Local("short"), 1000, 6);
  ASSERT_EQ(Run({"put", Local("long"), "/f"}).first, 0);
  ASSERT_EQ(Run({"put", Local("short"), "/f"}).first, 0);
  ASSERT_EQ(Run({"get", "/f", Local("f.out")}).first, 0);
  EXPECT_TRUE(read_file(Local("f.out")) == read_file(Local("short")));

  ASSERT_EQ(Run({"mkdir", "/d"}).first, 0);
  ASSERT_EQ(Run({"put", Local("short"), "/d"}).first, 0);
  EXPECT_TRUE(client_->Stat("/d/short").ok());
  fs::create_directories(Local("into"));
  ASSERT_EQ(Run({"get", "/d/short", Local("into")}).first, 0);
  EXPECT_TRUE(read_file(Local("into/short")) == read_file(Local("short")));
}

TEST_F(ZcfsCliTest, RmRefusesADirectoryWithoutRAndRemovesATreeWithIt) {
  ASSERT_TRUE(client_->MakeDirs("/r/x/y").ok());
  ASSERT_TRUE(client_->CreatePath("/r/x/y/file").ok());
  ASSERT_TRUE(client_->CreatePath("/r/top").ok());

  auto [code, out] = Run({"rm", "/r"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("zcfs: rm /r: is a directory"), std::string::npos) << out;
  EXPECT_NE(out.find("rm -r"), std::string::npos) << "says how:\n" << out;
  EXPECT_TRUE(client_->Stat("/r/x/y/file").ok());

  std::tie(code, out) = Run({"rm", "-r", "/r"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(client_->Stat("/r").status().code(), Code::kNotFound);
  EXPECT_TRUE(client_->ReadDir(kRootInode)->empty());

  ASSERT_TRUE(client_->CreatePath("/plain").ok());
  EXPECT_EQ(Run({"rm", "/plain"}).first, 0);  // a file needs no -r
  EXPECT_EQ(client_->Stat("/plain").status().code(), Code::kNotFound);
}

TEST_F(ZcfsCliTest, ErrorsNameThePathAndTheCause) {
  auto [code, out] = Run({"get", "/no/such", Local("x")});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("zcfs: get /no/such: no such file or directory"), std::string::npos) << out;

  std::tie(code, out) = Run({"put", Local("missing"), "/m"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("zcfs: put " + Local("missing") + ": no such file or directory"), std::string::npos) << out;

  std::tie(code, out) = Run({"ls", "/nowhere"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("zcfs: ls /nowhere: no such file or directory"), std::string::npos) << out;

  std::tie(code, out) = Run({"mkdir", "/p/q"});  // no -p: the parent must exist
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("zcfs: mkdir /p/q: no such file or directory"), std::string::npos) << out;
  EXPECT_EQ(Run({"mkdir", "-p", "/p/q"}).first, 0);
  EXPECT_EQ(Run({"mkdir", "-p", "/p/q"}).first, 0);  // -p: an existing directory is fine
  std::tie(code, out) = Run({"mkdir", "/p/q"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("zcfs: mkdir /p/q: file exists"), std::string::npos) << out;
}

TEST_F(ZcfsCliTest, BadUsagePrintsTheUsageAndExits2) {
  for (std::vector<std::string> args : {std::vector<std::string>{"frobnicate"},
                                        {"rm"},
                                        {"ls", "-z", "/"},
                                        {"mkdir", "-r", "/a"},
                                        {"put", "--jobs=0", "a", "b"},
                                        {"get", "--colour", "a", "b"},
                                        {"mv", "/a"},
                                        {"df", "/extra"}}) {
    auto [code, out] = Run(args);
    EXPECT_EQ(code, 2) << args[0] << ":\n" << out;
    EXPECT_NE(out.find("usage: zcfs"), std::string::npos) << out;
  }
}

TEST_F(ZcfsCliTest, LsMvStatAndDf) {
  ASSERT_TRUE(client_->MakeDirs("/m/sub").ok());
  write_file(Local("five"), 5, 7);
  ASSERT_EQ(Run({"put", Local("five"), "/m/five"}).first, 0);
  auto [code, out] = Run({"ls", "/m"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "five\nsub/\n");
  std::tie(code, out) = Run({"ls", "-l", "/m"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(-rw-r--r-- +5 \S+ \S+ five\n)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(drwx\S+ +\d+ \S+ \S+ sub\n)"))) << out;

  ASSERT_EQ(Run({"mv", "/m/five", "/m/sub/5"}).first, 0);
  EXPECT_TRUE(client_->Stat("/m/sub/5").ok());
  std::tie(code, out) = Run({"stat", "/m/sub/5"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("size: 5\n"), std::string::npos) << out;

  std::tie(code, out) = Run({"df"});
  ASSERT_EQ(code, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(out, m,
                               std::regex(R"( *SIZE +USED +FREE +USE% +INODES +NODES\n)"
                                          R"( *([0-9.]+ [KMGTPE]?i?B) +([0-9.]+ [KMGTPE]?i?B) +([0-9.]+ [KMGTPE]?i?B))"
                                          R"( +([0-9.]+%) +(\d+) +2 online, 0 offline\n)"
                                          R"(\(usable space: every chunk is stored 2 times\)\n)")))
      << out;
  EXPECT_GE(std::stoull(m[5]), 4u) << "root, /m, /m/sub and the file:\n" << out;
}

// `zcfs meta backup DIR` writes a RocksDB database (restored and checked in meta_ha_test.cc) and
// refuses a directory that exists rather than mixing files into it.
TEST_F(ZcfsCliTest, MetaBackupWritesADatabaseIntoANewDirectory) {
  ASSERT_TRUE(client_->MakeDirs("/kept").ok());
  const std::string backup = Local("backup");
  auto [code, out] = Run({"meta", "backup", backup});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("namespace backed up to " + backup), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(backup + "/CURRENT")) << "a RocksDB database names its manifest in CURRENT";
  auto [again, again_out] = Run({"meta", "backup", backup});
  EXPECT_EQ(again, 1) << again_out;
  EXPECT_NE(again_out.find("File exists"), std::string::npos) << again_out;
  auto [bad, bad_out] = Run({"meta", "restore", backup});
  EXPECT_EQ(bad, 2) << "restore is not a command (docs/operations.md tells how)\n" << bad_out;
}

}  // namespace
}  // namespace zcfs
