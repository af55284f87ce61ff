// File handles against real servers: open flags (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, access modes),
// positional and sequential I/O, the size close reports, the errors that name the handle or path, and
// path walks that recover when a cached directory was changed by another client.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "support/local_cluster.h"
#include "zcfs/client/client.h"

namespace zcfs {
namespace {

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::string text_of(std::span<const std::byte> data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

bool has(const Status& status, std::string_view part) { return status.message().find(part) != std::string::npos; }

class HandleIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ClusterOptions options;
    options.storage_servers = 2;
    cluster_ = std::make_unique<testing::LocalCluster>("handle-io", options);
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->logs();
    client_ = Connect();
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    EXPECT_TRUE(cluster_->Stop().ok()) << cluster_->logs();
  }
  std::unique_ptr<Client> Connect() {
    ClientOptions options;
    options.meta_address = cluster_->meta_address();
    auto client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }
  // The whole file at `path`, read through a fresh handle.
  std::string Contents(const std::string& path) {
    auto handle = client_->OpenHandle(path, O_RDONLY);
    EXPECT_TRUE(handle.ok()) << handle.status().ToString();
    if (!handle.ok()) return "<unopenable>";
    std::vector<std::byte> data(1 << 16);
    auto n = client_->PRead(*handle, 0, data);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_TRUE(client_->CloseHandle(*handle).ok());
    return n.ok() ? text_of(std::span(data).first(*n)) : "<unreadable>";
  }

  std::unique_ptr<testing::LocalCluster> cluster_;
  std::unique_ptr<Client> client_;
};

TEST_F(HandleIoTest, PositionalWritesAndReadsRoundTripAndCloseReportsTheSize) {
  auto handle = client_->OpenHandle("/p.txt", O_CREAT | O_RDWR, 0600);
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  ASSERT_TRUE(client_->PWrite(*handle, 0, bytes_of("hello world")).ok());
  ASSERT_TRUE(client_->PWrite(*handle, 6, bytes_of("zcfs!")).ok());
  auto info = client_->HandleInfo(*handle);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 11u) << "the handle knows its own writes";
  EXPECT_EQ(info->mode & 0777, 0600u);
  std::vector<std::byte> got(64);
  auto n = client_->PRead(*handle, 0, got);  // before close: the handle reads what it wrote
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(text_of(std::span(got).first(*n)), "hello zcfs!");
  n = client_->PRead(*handle, 6, std::span(got).first(3));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(text_of(std::span(got).first(*n)), "zcf");
  ASSERT_TRUE(client_->CloseHandle(*handle).ok());
  auto stat = client_->Stat("/p.txt");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->size, 11u) << "close did not report what was written";
  EXPECT_EQ(Contents("/p.txt"), "hello zcfs!");
}

TEST_F(HandleIoTest, SequentialCallsAdvanceThePosition) {
  auto writer = client_->OpenHandle("/seq", O_CREAT | O_WRONLY);
  ASSERT_TRUE(writer.ok());
  for (std::string_view part : {"one ", "two ", "three"}) ASSERT_TRUE(client_->WriteNext(*writer, bytes_of(part)).ok());
  ASSERT_TRUE(client_->CloseHandle(*writer).ok());
  auto reader = client_->OpenHandle("/seq", O_RDONLY);
  ASSERT_TRUE(reader.ok());
  std::vector<std::byte> got(4);
  std::string all;
  for (;;) {
    auto n = client_->ReadNext(*reader, got);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    all += text_of(std::span(got).first(*n));
  }
  EXPECT_EQ(all, "one two three");
}

TEST_F(HandleIoTest, AppendTruncateAndExclusiveCreate) {
  auto created = client_->OpenHandle("/log", O_CREAT | O_EXCL | O_WRONLY);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(client_->WriteNext(*created, bytes_of("start;")).ok());
  ASSERT_TRUE(client_->CloseHandle(*created).ok());

  auto again = client_->OpenHandle("/log", O_CREAT | O_EXCL | O_WRONLY);
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << again.status().ToString();
  EXPECT_TRUE(has(again.status(), "/log")) << again.status().ToString();

  auto appender = client_->OpenHandle("/log", O_WRONLY | O_APPEND);
  ASSERT_TRUE(appender.ok());
  ASSERT_TRUE(client_->WriteNext(*appender, bytes_of("a;")).ok());
  ASSERT_TRUE(client_->WriteNext(*appender, bytes_of("b;")).ok());
  ASSERT_TRUE(client_->CloseHandle(*appender).ok());
  EXPECT_EQ(Contents("/log"), "start;a;b;");

  auto truncated = client_->OpenHandle("/log", O_WRONLY | O_TRUNC);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(client_->HandleInfo(*truncated)->size, 0u);
  ASSERT_TRUE(client_->WriteNext(*truncated, bytes_of("new")).ok());
  ASSERT_TRUE(client_->CloseHandle(*truncated).ok());
  EXPECT_EQ(Contents("/log"), "new");
}

TEST_F(HandleIoTest, ErrorsNameTheHandleOrPath) {
  auto missing = client_->OpenHandle("/no/such/file", O_RDONLY);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_TRUE(has(missing.status(), "/no/such/file")) << missing.status().ToString();
  ASSERT_TRUE(client_->MakeDirs("/dir").ok());
  EXPECT_EQ(client_->OpenHandle("/dir", O_RDONLY).status().code(), Code::kIsDirectory);
  EXPECT_EQ(client_->OpenHandle("/", O_RDONLY).status().code(), Code::kIsDirectory);
  EXPECT_EQ(client_->OpenHandle("/dir/x", O_ACCMODE).status().code(), Code::kInvalidArgument);

  auto read_only = client_->OpenHandle("/dir/ro", O_CREAT | O_RDONLY);
  ASSERT_TRUE(read_only.ok()) << read_only.status().ToString();
  Status refused = client_->PWrite(*read_only, 0, bytes_of("x"));
  EXPECT_EQ(refused.code(), Code::kBadHandle);
  EXPECT_TRUE(has(refused, "/dir/ro") && has(refused, "not open for writing")) << refused.ToString();
  ASSERT_TRUE(client_->CloseHandle(*read_only).ok());

  std::vector<std::byte> buffer(10);
  auto closed = client_->PRead(*read_only, 0, buffer);
  EXPECT_EQ(closed.status().code(), Code::kBadHandle);
  EXPECT_TRUE(has(closed.status(), "handle " + std::to_string(read_only->value))) << closed.status().ToString();
  EXPECT_EQ(client_->CloseHandle(*read_only).code(), Code::kBadHandle);
  EXPECT_EQ(client_->HandleInfo(*read_only).status().code(), Code::kBadHandle);
  EXPECT_EQ(client_->ReadNext(FileHandle{}, buffer).status().code(), Code::kBadHandle);
}

TEST_F(HandleIoTest, APathWalkRecoversWhenAnotherClientReplacedACachedDirectory) {
  ASSERT_TRUE(client_->MakeDirs("/data/train").ok());
  ASSERT_TRUE(client_->CreatePath("/data/train/old").ok());
  ASSERT_TRUE(client_->Stat("/data/train/old").ok());  // caches /data and /data/train

  // Another client moves the directory away and puts a new one with other files in its place.
  auto other = Connect();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->RenamePath("/data/train", "/data/moved").ok());
  ASSERT_TRUE(other->MakeDirs("/data/train").ok());
  ASSERT_TRUE(other->CreatePath("/data/train/new").ok());

  // The cached /data/train is the moved directory: the lookup fails there, the walk starts over.
  auto fresh = client_->OpenHandle("/data/train/new", O_RDONLY);
  EXPECT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(client_->Stat("/data/train/new").ok());
  EXPECT_EQ(client_->Stat("/data/train/old").status().code(), Code::kNotFound);

  // This client's own rename is seen at once.
  ASSERT_TRUE(client_->RenamePath("/data/train", "/data/renamed").ok());
  EXPECT_EQ(client_->Stat("/data/train/new").status().code(), Code::kNotFound);
  EXPECT_TRUE(client_->Stat("/data/renamed/new").ok());
  ASSERT_TRUE(client_->Remove("/data/renamed/new").ok());
  ASSERT_TRUE(client_->Remove("/data/renamed").ok());
  EXPECT_EQ(client_->Stat("/data/renamed").status().code(), Code::kNotFound);
}

TEST_F(HandleIoTest, AReadPastTheKnownEndSeesWhatAnotherClientAppendedAndCut) {
  auto writer = client_->OpenHandle("/grow", O_CREAT | O_WRONLY);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE(client_->PWrite(*writer, 0, bytes_of("first")).ok());
  ASSERT_TRUE(client_->CloseHandle(*writer).ok());

  auto other = Connect();  // a reader on another client opens it at 5 bytes
  auto reader = other->OpenHandle("/grow", O_RDONLY);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_EQ(other->HandleInfo(*reader)->size, 5u);

  writer = client_->OpenHandle("/grow", O_WRONLY);  // the first client appends after that open
  ASSERT_TRUE(client_->PWrite(*writer, 5, bytes_of("-second")).ok());
  ASSERT_TRUE(client_->CloseHandle(*writer).ok());

  // A read inside the known size asks nobody; one reaching past it finds the newer inode version.
  std::vector<std::byte> data(64);
  auto n = other->PRead(*reader, 0, std::span(data).first(5));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(other->HandleInfo(*reader)->size, 5u);
  n = other->PRead(*reader, 0, data);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(text_of(std::span(data).first(*n)), "first-second");
  EXPECT_EQ(other->HandleInfo(*reader)->size, 12u);

  // Through the ring as well, after the file was cut to 3 bytes.
  AttrChanges cut;
  cut.size = 3;
  ASSERT_TRUE(client_->SetAttr(client_->Stat("/grow")->ino, cut).ok());
  auto buffer = other->AllocateBuffer(4096);
  auto ring = other->CreateReadRing();
  ASSERT_TRUE(buffer.ok() && ring.ok());
  ASSERT_TRUE((*ring)->Prepare({.file = *reader, .offset = 0, .length = 64, .dst = (*buffer)->data()}).ok());
  ASSERT_TRUE((*ring)->Submit().ok());
  ReadCompletion done[1];
  ASSERT_EQ((*ring)->Wait(done, 1, std::chrono::seconds(30)), 1u);
  ASSERT_TRUE(done[0].status.ok()) << done[0].status.ToString();
  EXPECT_EQ(done[0].bytes, 3u);
  EXPECT_EQ(text_of((*buffer)->span().first(3)), "fir");
  EXPECT_TRUE(other->CloseHandle(*reader).ok());
}

}  // namespace
}  // namespace zcfs
