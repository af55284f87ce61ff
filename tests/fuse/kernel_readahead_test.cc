// mount_device: finding a mount's device in a mountinfo file, without touching the mount.
#include "kernel_readahead.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace zcfs {
namespace {

class MountDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "mountinfo-" + std::to_string(::getpid());
    std::ofstream out(path_);
    out << "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        << "90 22 0:51 / /mnt/data rw,nosuid,nodev,relatime shared:60 - fuse.zcfs-fuse zcfs://m:8000 rw\n"
        << "91 22 0:52 / /mnt/data2 rw,relatime shared:61 - fuse.zcfs-fuse zcfs://m:8000 rw\n"
        << "95 90 0:57 / /mnt/data rw,relatime shared:66 - fuse.zcfs-fuse zcfs://n:8000 rw\n";
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  std::string path_;
};

TEST_F(MountDeviceTest, FindsTheMountOnTopAtAMountPoint) {
  auto device = mount_device("/mnt/data", path_);
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  EXPECT_EQ(*device, "0:57");  // mounted over 0:51: the later line is the one paths reach
  EXPECT_EQ(*mount_device("/mnt/data2", path_), "0:52");
}

TEST_F(MountDeviceTest, UnknownMountPointOrFileIsNotFound) {
  EXPECT_EQ(mount_device("/mnt", path_).status().code(), Code::kNotFound);
  EXPECT_EQ(mount_device("/mnt/data/sub", path_).status().code(), Code::kNotFound);
  EXPECT_EQ(mount_device("/mnt/data", path_ + ".missing").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace zcfs
