// The C API (zcfs.h) through the shared library libzcfs_c: the C scenarios of c_api_smoke.c against a
// real cluster, and the guarantees for bad arguments (NULL, stale and foreign pointers, bad handles):
// an error code and a message, never a crash.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/c_api_smoke.h"
#include "support/local_cluster.h"
#include "zcfs/zcfs.h"

namespace zcfs {
namespace {

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class CApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new testing::LocalCluster("c_api");
    Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << cluster_->logs();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    zcfs_options options;
    zcfs_options_init(&options);
    options.meta_address = cluster_->meta_address().c_str();
    client_ = zcfs_connect(&options);
    ASSERT_NE(client_, nullptr) << zcfs_last_error();
  }
  void TearDown() override { zcfs_disconnect(client_); }

  static testing::LocalCluster* cluster_;
  zcfs_client* client_ = nullptr;
};
testing::LocalCluster* CApiTest::cluster_ = nullptr;

TEST_F(CApiTest, FilesAndNamespaceFromC) {
  const char* failure = c_api_smoke_files(cluster_->meta_address().c_str());
  EXPECT_EQ(failure, nullptr) << failure;
}

TEST_F(CApiTest, BuffersAndRingFromC) {
  const char* failure = c_api_smoke_ring(cluster_->meta_address().c_str());
  EXPECT_EQ(failure, nullptr) << failure;
}

TEST_F(CApiTest, NullArgumentsAreInvalidNotFatal) {
  zcfs_attr attr;
  EXPECT_EQ(zcfs_stat(client_, nullptr, &attr), -EINVAL);
  EXPECT_TRUE(mentions(zcfs_last_error(), "path is NULL")) << zcfs_last_error();
  EXPECT_EQ(zcfs_stat(client_, "/", nullptr), -EINVAL);
  EXPECT_EQ(zcfs_statfs(client_, nullptr), -EINVAL);
  EXPECT_EQ(zcfs_readdir(client_, "/", nullptr, nullptr), -EINVAL);
  EXPECT_EQ(zcfs_rename(client_, "/a", nullptr), -EINVAL);
  EXPECT_EQ(zcfs_buf_register(client_, nullptr, 4096), nullptr);
  EXPECT_EQ(errno, EINVAL);

  zcfs_fd fd = zcfs_open(client_, "/null-args", O_CREAT | O_RDWR, 0644);
  ASSERT_GT(fd, 0) << zcfs_last_error();
  EXPECT_EQ(zcfs_pread(client_, fd, nullptr, 10, 0), -EINVAL);
  EXPECT_EQ(zcfs_write(client_, fd, nullptr, 10), -EINVAL);
  EXPECT_EQ(zcfs_pread(client_, fd, nullptr, 0, 0), 0);  // nothing asked, nothing touched
  EXPECT_EQ(zcfs_fstat(client_, fd, nullptr), -EINVAL);
  EXPECT_EQ(zcfs_close(client_, fd), 0);
}

TEST_F(CApiTest, BadHandlesAreEbadf) {
  char buf[16];
  for (zcfs_fd fd : {zcfs_fd{0}, zcfs_fd{-3}, zcfs_fd{123456789}}) {
    EXPECT_EQ(zcfs_pread(client_, fd, buf, sizeof(buf), 0), -EBADF) << fd;
    EXPECT_EQ(zcfs_close(client_, fd), -EBADF) << fd;
  }
  EXPECT_TRUE(mentions(zcfs_last_error(), "123456789")) << zcfs_last_error();
}

TEST_F(CApiTest, StaleAndForeignObjectPointersAreEbadf) {
  zcfs_attr attr;
  int not_a_client = 0;
  auto* foreign = reinterpret_cast<zcfs_client*>(&not_a_client);
  EXPECT_EQ(zcfs_stat(foreign, "/", &attr), -EBADF);
  EXPECT_TRUE(mentions(zcfs_last_error(), "zcfs_client")) << zcfs_last_error();
  EXPECT_EQ(zcfs_stat(nullptr, "/", &attr), -EBADF);
  EXPECT_EQ(zcfs_open(nullptr, "/", O_RDONLY, 0), -EBADF);
  EXPECT_EQ(zcfs_buf_alloc(nullptr, 4096, 0), nullptr);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(zcfs_ring_create(foreign, 4, 0), nullptr);

  EXPECT_EQ(zcfs_buf_data(reinterpret_cast<zcfs_buf*>(&not_a_client)), nullptr);
  EXPECT_EQ(zcfs_buf_size(nullptr), 0u);
  zcfs_completion done[1];
  EXPECT_EQ(zcfs_ring_submit(nullptr), -EBADF);
  EXPECT_EQ(zcfs_ring_poll(reinterpret_cast<zcfs_ring*>(&not_a_client), done, 1), -EBADF);
  EXPECT_EQ(zcfs_ring_prep_read(nullptr, 1, 0, 1, done, 0), -EBADF);
  zcfs_disconnect(nullptr);  // no-ops
  zcfs_buf_free(nullptr);
  zcfs_ring_destroy(nullptr);
  zcfs_buf_free(reinterpret_cast<zcfs_buf*>(&not_a_client));

  zcfs_disconnect(client_);
  EXPECT_EQ(zcfs_stat(client_, "/", &attr), -EBADF);  // disconnected: stale
  zcfs_disconnect(client_);                           // twice: still harmless
  client_ = nullptr;
}

TEST_F(CApiTest, ConnectFailureNamesTheAddress) {
  zcfs_options options;
  zcfs_options_init(&options);
  options.meta_address = "127.0.0.1:1";  // nothing listens on port 1
  options.connect_timeout_ms = 500;
  errno = 0;
  EXPECT_EQ(zcfs_connect(&options), nullptr);
  EXPECT_NE(errno, 0);
  EXPECT_TRUE(mentions(zcfs_last_error(), "127.0.0.1:1")) << zcfs_last_error();
}

TEST_F(CApiTest, UnknownBufferFlagsAreRefused) {
  EXPECT_EQ(zcfs_buf_alloc(client_, 4096, 0x80), nullptr);
  EXPECT_EQ(errno, EINVAL);
  // Huge pages either work or fail plainly when none are reserved; never a silent fallback.
  zcfs_buf* huge = zcfs_buf_alloc(client_, 2 << 20, ZCFS_BUF_HUGE_PAGES);
  if (huge == nullptr) {
    EXPECT_EQ(errno, EAGAIN) << zcfs_last_error();
  } else {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(zcfs_buf_data(huge)) % (2 << 20), 0u);
    zcfs_buf_free(huge);
  }
}

}  // namespace
}  // namespace zcfs
