// The native client over RDMA, on the emulated fabric: a real zcfs-meta process, storage nodes in this
// process serving RDMA on emulated devices (the fabric is in-process, so they cannot be processes of
// their own), and a Client with ClientOptions::transport = "rdma" on a device of the same fabric.
// Reads are RDMA WRITTEN by the servers straight into the caller's memory - plain memory registered
// for the call, a registered buffer, a read ring - with no byte copied in user space by anyone in the
// process; writes are pulled by the servers with RDMA READ. A queue pair forced into error is replaced
// and the read retried; "rdma" without a usable device refuses to connect, "auto" falls back to TCP.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "client_hooks.h"
#include "support/local_cluster.h"
#include "support/random_data.h"
#include "zcfs/client/client.h"
#include "zcfs/proto/rdma/emulated_verbs.h"
#include "zcfs/storage/storage_node.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kChunk = 64 << 10;

using testing::random_data;

testing::ClusterOptions meta_only() {
  testing::ClusterOptions options;
  options.storage_servers = 0;  // the storage nodes run in this process, on the emulated fabric
  return options;
}

class RdmaClientTest : public ::testing::Test {
 protected:
  RdmaClientTest() : cluster_("rdma-client", meta_only()) {}

  void SetUp() override {
    ASSERT_TRUE(cluster_.Start().ok()) << cluster_.logs();
    for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(StartNode(i));
    client_ = Connect("rdma");
    ASSERT_NE(client_, nullptr);
  }

  void TearDown() override {
    client_.reset();
    nodes_.clear();
    EXPECT_TRUE(cluster_.Stop().ok()) << cluster_.logs();
  }

  // A storage node serving TCP and RDMA on a device of the fabric; returns once it has registered.
  void StartNode(int index) {
    StorageNode::Options options;
    options.meta = {parse_host_port(cluster_.meta_address()).value()};
    options.data_dir = cluster_.dir() + "/rdma-storage" + std::to_string(index);
    options.ready_file = options.data_dir + ".ready";
    options.transport.kind = TransportKind::kRdma;
    options.open_rdma_device = [this](const rdma::IbDeviceOptions&) { return fabric_.OpenDevice("storage"); };
    auto node = StorageNode::Start(options);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    nodes_.push_back(std::move(*node));
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::filesystem::exists(options.ready_file) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(std::filesystem::exists(options.ready_file)) << "storage node did not register\n" << cluster_.logs();
  }

  // A client whose RDMA device is `open` (default: one of the fabric).
  Result<std::unique_ptr<Client>> TryConnect(const std::string& transport, DeviceOpener open = {},
                                             bool verify = false) {
    ClientOptions options;
    options.meta_address = cluster_.meta_address();
    options.transport = transport;
    options.verify_checksums = verify;
    ClientHooks hooks;
    hooks.open_rdma_device =
        open ? std::move(open) : [this](const rdma::IbDeviceOptions&) { return fabric_.OpenDevice("client"); };
    return Client::Connect(options, hooks);
  }
  std::unique_ptr<Client> Connect(const std::string& transport, bool verify = false) {
    auto client = TryConnect(transport, {}, verify);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // Creates /`name` with small chunks (reads cross chunks and both servers) holding `data` at `at`.
  FileInfo MakeFile(const std::string& name, std::span<const std::byte> data, uint64_t at = 0) {
    CreateOptions create;
    create.chunk_size = kChunk;
    auto file = client_->Create(kRootInode, name, create);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return {};
    auto written = client_->WriteAndExtend(*file, at, data);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    return written.ok() ? *written : FileInfo{};
  }

  rdma::EmulatedFabric fabric_;  // first: every device opened on it is gone before it
  testing::LocalCluster cluster_;
  std::vector<std::unique_ptr<StorageNode>> nodes_;
  std::unique_ptr<Client> client_;
};

TEST_F(RdmaClientTest, ReadsAreRdmaWrittenIntoTheCallersMemoryWithNoUserCopy) {
  EXPECT_EQ(client_->transport_name(), "rdma");
  const auto data = random_data(5 * kChunk + 1234, 1);
  const uint64_t reads_before_write = fabric_.stats().rdma_reads;
  FileInfo file = MakeFile("data", data);
  ASSERT_EQ(file.size, data.size());
  EXPECT_GE(fabric_.stats().rdma_reads, reads_before_write + 6) << "each chunk's write pulled by RDMA READ";

  for (bool verify : {false, true}) {
    SCOPED_TRACE(verify ? "end-to-end checksums" : "plain");
    auto reader = Connect("rdma", verify);
    ASSERT_NE(reader, nullptr);
    const uint64_t copied = reader->user_copy_bytes();
    const uint64_t writes = fabric_.stats().rdma_writes;

    // Plain memory: registered for the call; the read runs past the end of the file.
    std::vector<std::byte> plain(data.size() + 100, std::byte{0x5a});
    auto n = reader->Read(file, 0, plain);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, data.size());
    EXPECT_EQ(std::memcmp(plain.data(), data.data(), data.size()), 0);
    EXPECT_GE(fabric_.stats().rdma_writes, writes + 6) << "one RDMA WRITE per chunk piece";

    // A registered buffer through a read ring: 32 reads at random places, in one Submit.
    auto handle = reader->OpenHandle("/data", O_RDONLY);
    ASSERT_TRUE(handle.ok()) << handle.status().ToString();
    auto buffer = reader->AllocateBuffer(32 * 2 * kChunk);
    ASSERT_TRUE(buffer.ok()) << buffer.status().ToString();
    auto ring = reader->CreateReadRing({.depth = 32});
    ASSERT_TRUE(ring.ok());
    std::mt19937_64 rng(7);
    std::vector<std::pair<uint64_t, size_t>> planned;
    for (uint64_t k = 0; k < 32; ++k) {
      uint64_t offset = rng() % data.size();
      size_t length = 1 + rng() % (2 * kChunk);  // often across chunks, sometimes past the end
      planned.emplace_back(offset, length);
      ASSERT_TRUE((*ring)->Prepare({*handle, offset, length, (*buffer)->data() + k * 2 * kChunk, k}).ok());
    }
    ASSERT_TRUE((*ring)->Submit().ok());
    std::vector<ReadCompletion> done(32);
    size_t got = 0;
    while (got < done.size()) {
      size_t m = (*ring)->Wait(std::span(done).subspan(got), done.size() - got, 60s);
      ASSERT_GT(m, 0u) << "no completion within a minute";
      got += m;
    }
    for (const auto& completion : done) {
      ASSERT_TRUE(completion.status.ok()) << completion.status.ToString();
      auto [offset, length] = planned[completion.user_data];
      size_t expected = std::min<uint64_t>(length, data.size() - offset);
      ASSERT_EQ(completion.bytes, expected);
      EXPECT_EQ(std::memcmp((*buffer)->data() + completion.user_data * 2 * kChunk, data.data() + offset, expected), 0)
          << "ring read " << completion.user_data << " at " << offset;
    }
    EXPECT_EQ(reader->user_copy_bytes(), copied) << "reads over RDMA copied bytes in user space";
    ring->reset();
    EXPECT_TRUE(reader->CloseHandle(*handle).ok());
  }
}

// On a NIC a memory registration is a system call and a page pinning: reads into a registered buffer
// must not register anything per read, on either side (the servers registered their I/O buffer pool
// once, the client its buffer).
TEST_F(RdmaClientTest, ReadsIntoARegisteredBufferRegisterNoMemoryOnEitherSide) {
  const auto data = random_data(8 * kChunk, 6);
  MakeFile("registered", data);
  auto handle = client_->OpenHandle("/registered", O_RDONLY);
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  auto buffer = client_->AllocateBuffer(data.size());
  ASSERT_TRUE(buffer.ok()) << buffer.status().ToString();
  auto ring = client_->CreateReadRing({.depth = 8});
  ASSERT_TRUE(ring.ok());
  auto read_all = [&] {
    for (uint64_t k = 0; k < 8; ++k) {
      ASSERT_TRUE((*ring)->Prepare({*handle, k * kChunk, kChunk, (*buffer)->data() + k * kChunk, k}).ok());
    }
    ASSERT_TRUE((*ring)->Submit().ok());
    std::vector<ReadCompletion> done(8);
    for (size_t got = 0; got < done.size();) {
      size_t n = (*ring)->Wait(std::span(done).subspan(got), done.size() - got, 60s);
      ASSERT_GT(n, 0u) << "no completion within a minute";
      got += n;
    }
    for (const auto& completion : done) ASSERT_TRUE(completion.status.ok()) << completion.status.ToString();
    EXPECT_EQ(std::memcmp((*buffer)->data(), data.data(), data.size()), 0);
  };
  ASSERT_NO_FATAL_FAILURE(read_all());  // connects the queue pairs of both servers' lanes
  ASSERT_NO_FATAL_FAILURE(read_all());
  const uint64_t registrations = fabric_.stats().registrations;
  const uint64_t writes = fabric_.stats().rdma_writes;
  ASSERT_NO_FATAL_FAILURE(read_all());
  EXPECT_GE(fabric_.stats().rdma_writes, writes + 8);
  EXPECT_EQ(fabric_.stats().registrations, registrations) << "memory was registered for single reads";
  ring->reset();
  EXPECT_TRUE(client_->CloseHandle(*handle).ok());
}

TEST_F(RdmaClientTest, HolesReadAsZerosAndShortReadsStopAtTheEnd) {
  const auto tail = random_data(kChunk / 2, 2);
  FileInfo file = MakeFile("sparse", tail, 3 * kChunk + 100);  // chunks 0-2 never written
  ASSERT_EQ(file.size, 3 * kChunk + 100 + tail.size());
  std::vector<std::byte> out(file.size + kChunk, std::byte{0x77});
  auto n = client_->Read(file, 0, out);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, file.size);
  for (size_t i = 0; i < 3 * kChunk + 100; ++i) ASSERT_EQ(out[i], std::byte{0}) << "hole byte " << i;
  EXPECT_EQ(std::memcmp(out.data() + 3 * kChunk + 100, tail.data(), tail.size()), 0);
  EXPECT_EQ(out[file.size], std::byte{0x77}) << "nothing written past the end of the file";
}

TEST_F(RdmaClientTest, AQueuePairInErrorIsReplacedAndItsReadsRetried) {
  const auto data = random_data(4 * kChunk, 3);
  FileInfo file = MakeFile("qp", data);
  std::vector<std::byte> out(data.size());
  ASSERT_TRUE(client_->Read(file, 0, out).ok());
  // A link failure: every queue pair on the fabric goes to ERROR with its work flushed.
  for (uint32_t qp : fabric_.qp_numbers()) EXPECT_TRUE(fabric_.ForceError(qp).ok());
  std::fill(out.begin(), out.end(), std::byte{0});
  auto n = client_->Read(file, 0, out);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(std::memcmp(out.data(), data.data(), data.size()), 0);
  // Writes come back too.
  const auto more = random_data(kChunk, 4);
  for (uint32_t qp : fabric_.qp_numbers()) EXPECT_TRUE(fabric_.ForceError(qp).ok());
  EXPECT_TRUE(client_->Write(file, kChunk, more).ok());
  ASSERT_TRUE(client_->Read(file, kChunk, std::span(out).first(kChunk)).ok());
  EXPECT_EQ(std::memcmp(out.data(), more.data(), kChunk), 0);
}

TEST_F(RdmaClientTest, RdmaWithoutADeviceRefusesAndAutoFallsBackToTcp) {
  DeviceOpener none = [](const rdma::IbDeviceOptions&) -> Result<std::unique_ptr<rdma::Device>> {
    return Error(Code::kUnavailable, "no RDMA device on this machine");
  };
  auto refused = TryConnect("rdma", none);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--transport=rdma"), std::string::npos) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("no RDMA device"), std::string::npos) << refused.status().ToString();

  auto bogus = TryConnect("infiniband");
  ASSERT_FALSE(bogus.ok());
  EXPECT_EQ(bogus.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bogus.status().message().find("tcp, rdma or auto"), std::string::npos) << bogus.status().ToString();

  // The servers serve TCP as well: an auto client without a device reads from them over TCP.
  const auto data = random_data(3 * kChunk + 5, 5);
  FileInfo file = MakeFile("auto", data);
  auto fallback = TryConnect("auto", none);
  ASSERT_TRUE(fallback.ok()) << fallback.status().ToString();
  EXPECT_EQ((*fallback)->transport_name(), "tcp");
  std::vector<std::byte> out(data.size());
  const uint64_t writes = fabric_.stats().rdma_writes;
  auto n = (*fallback)->Read(file, 0, out);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(std::memcmp(out.data(), data.data(), data.size()), 0);
  EXPECT_EQ(fabric_.stats().rdma_writes, writes) << "the TCP client's read went over RDMA";

  auto chosen = TryConnect("auto");  // a device is up: RDMA
  ASSERT_TRUE(chosen.ok()) << chosen.status().ToString();
  EXPECT_EQ((*chosen)->transport_name(), "rdma");
}

}  // namespace
}  // namespace zcfs
