// Integrity end to end: a byte flipped on the storage server's disk reaches the application as a
// checksum error naming the chunk, never as wrong data; the rest of the file still reads.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "support/local_cluster.h"
#include "support/process.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

// Finds `marker` in the storage servers' 64 KiB data files and flips the byte after it. Returns the
// number of places changed.
int FlipByteAfter(const std::string& cluster_dir, const std::string& marker) {
  int flipped = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cluster_dir)) {
    if (entry.path().filename().string().rfind("64KiB.", 0) != 0) continue;
    int fd = ::open(entry.path().c_str(), O_RDWR);
    if (fd < 0) continue;
    std::vector<char> data(std::filesystem::file_size(entry.path()));
    if (::pread(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size())) {
      auto at = std::string_view(data.data(), data.size()).find(marker);
      if (at != std::string_view::npos) {
        char byte = static_cast<char>(data[at + marker.size()] ^ 0x01);
        if (::pwrite(fd, &byte, 1, static_cast<off_t>(at + marker.size())) == 1) ++flipped;
      }
    }
    ::close(fd);
  }
  return flipped;
}

// A one-storage-server cluster (with `storage_flags`), a client on it, and `data` written as /`name`
// with `chunk_size`. Start() fails the test on any error.
struct OneServerFile {
  std::unique_ptr<testing::LocalCluster> cluster;
  std::unique_ptr<Client> client;
  FileInfo file;

  void Start(const std::string& name, uint32_t chunk_size, std::span<const std::byte> data,
             std::vector<std::string> storage_flags = {}) {
    testing::ClusterOptions options;
    options.storage_servers = 1;
    options.storage_flags = std::move(storage_flags);
    cluster = std::make_unique<testing::LocalCluster>(name, options);
    ASSERT_TRUE(cluster->Start().ok()) << cluster->logs();
    ClientOptions client_options;
    client_options.meta_address = cluster->meta_address();
    auto connected = Client::Connect(client_options);
    ASSERT_TRUE(connected.ok()) << connected.status().ToString();
    client = std::move(*connected);
    auto root = client->Stat("/");
    ASSERT_TRUE(root.ok());
    CreateOptions create;
    create.chunk_size = chunk_size;
    auto created = client->Create(root->ino, name, create);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    ASSERT_TRUE(client->Write(*created, 0, data).ok());
    auto written = client->ExtendLength(created->ino, data.size());
    ASSERT_TRUE(written.ok());
    file = *written;
  }

  void Stop() {
    client.reset();
    EXPECT_TRUE(cluster->Stop().ok()) << cluster->logs();
  }
};

TEST(StorageIntegrityTest, AFlippedByteOnDiskIsAChecksumErrorForTheReader) {
  const std::string marker = "zcfs-integrity-marker-7c1f";
  std::string text(20000, 'a');
  text.replace(10000, marker.size(), marker);
  OneServerFile setup;
  setup.Start("sample.bin", 64 << 10, std::as_bytes(std::span(text)));
  if (::testing::Test::HasFatalFailure()) return;
  Client& client = *setup.client;
  const FileInfo& written = setup.file;

  std::vector<std::byte> buf(text.size());
  auto n = client.Read(written, 0, buf);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(std::memcmp(buf.data(), text.data(), text.size()), 0);

  ASSERT_EQ(FlipByteAfter(setup.cluster->dir(), marker), 1);
  auto damaged = client.Read(written, 0, buf);
  EXPECT_EQ(damaged.status().code(), Code::kChecksumMismatch) << damaged.status().ToString();
  EXPECT_NE(damaged.status().message().find("checksum"), std::string::npos) << damaged.status().message();
  // The blocks before the damaged one are intact and still read.
  auto head = client.Read(written, 0, std::span(buf.data(), 8192));
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(std::memcmp(buf.data(), text.data(), 8192), 0);
  setup.Stop();
}

// The storage server's flags reach the data path: with zerocopy forced on loopback and small read
// budgets, a file spanning many chunks reads back byte for byte; bad values are refused at start.
TEST(StorageFlagsTest, ZerocopyAndReadMemoryFlagsServeReadsAndBadValuesAreRefused) {
  std::vector<std::byte> data(12 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + (i >> 16));
  OneServerFile setup;
  setup.Start(
      "big.bin", 1 << 20, data,
      {"--zerocopy-threshold=64KiB", "--zerocopy-loopback=true", "--read-memory=80MiB", "--client-read-memory=2MiB"});
  if (::testing::Test::HasFatalFailure()) return;
  std::vector<std::byte> back(data.size());
  auto n = setup.client->Read(setup.file, 0, back);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, data.size());
  EXPECT_TRUE(back == data);
  setup.Stop();
  const std::string dir = setup.cluster->dir();

  for (auto [bad, name] :
       {std::pair{"--read-memory=1MiB", "read-memory"}, std::pair{"--client-read-memory=1TiB", "client-read-memory"},
        std::pair{"--zerocopy-loopback=maybe", "zerocopy-loopback"}}) {
    auto [code, out] = testing::run_to_exit({ZCFS_STORAGE_BIN, "--meta=127.0.0.1:1", "--data-dir=" + dir + "/x", bad},
                                            dir + "/bad-flag.log", std::chrono::seconds(10));
    EXPECT_EQ(code, 2) << bad << ": " << out;
    EXPECT_NE(out.find(name), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace zcfs
