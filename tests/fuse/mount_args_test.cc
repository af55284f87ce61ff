// Unit tests of the daemon's command line (fuse_mount/src/mount_args.h): the io_timeout option as
// flag and as -o option, its default, and refusals that name the option.
#include "mount_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace zcfs {
namespace {

Result<MountArgs> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "zcfs-fuse");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_mount_args(static_cast<int>(argv.size()), argv.data());
}

TEST(MountArgsTest, IoTimeoutFromFlagOrOptionWithASaneDefault) {
  auto plain = parse({"--meta=h:1", "/mnt"});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->io_timeout, 30.0);  // long enough for a slow disk, short enough not to look hung
  auto flag = parse({"--meta=h:1", "--io-timeout=2.5", "/mnt"});
  ASSERT_TRUE(flag.ok()) << flag.status().ToString();
  EXPECT_EQ(flag->io_timeout, 2.5);
  auto option = parse({"h:1", "/mnt", "-o", "ro,io_timeout=7"});
  ASSERT_TRUE(option.ok()) << option.status().ToString();
  EXPECT_EQ(option->io_timeout, 7.0);
}

TEST(MountArgsTest, IoTimeoutRefusesNonsense) {
  for (const char* bad : {"--io-timeout=0", "--io-timeout=-1", "--io-timeout=soon", "--io-timeout=1e9"}) {
    auto args = parse({"--meta=h:1", bad, "/mnt"});
    ASSERT_FALSE(args.ok()) << bad;
    EXPECT_NE(args.status().message().find("io-timeout"), std::string::npos) << args.status().ToString();
  }
  EXPECT_FALSE(parse({"h:1", "/mnt", "-o", "io_timeout"}).ok()) << "io_timeout needs a value";
}

}  // namespace
}  // namespace zcfs
