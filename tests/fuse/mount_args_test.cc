// Unit tests of the daemon's command line (fuse_mount/src/mount_args.h): the io_timeout option as
// flag and as -o option, its default, and refusals that name the option; the transport options.
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

TEST(MountArgsTest, TransportFromFlagsOrOptions) {
  auto plain = parse({"--meta=h:1", "/mnt"});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->transport.transport, "tcp");
  auto flags = parse({"--meta=h:1", "--transport=auto", "--rdma-device=rxe0", "/mnt"});
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->transport.transport, "auto");
  EXPECT_EQ(flags->transport.rdma_device, "rxe0");
  auto options = parse({"h:1", "/mnt", "-o", "ro,transport=rdma,rdma_device=mlx5_0,rdma_gid_index=3"});
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->transport.transport, "rdma");
  EXPECT_EQ(options->transport.rdma_device, "mlx5_0");
  EXPECT_EQ(options->transport.rdma_gid_index, 3);
  auto labelled = parse({"h:1", "/mnt", "-o", "label=rack7"});  // reads from rack7's replicas first
  ASSERT_TRUE(labelled.ok()) << labelled.status().ToString();
  EXPECT_EQ(labelled->transport.label, "rack7");
  EXPECT_EQ(parse({"--meta=h:1", "--label=rack2", "/mnt"})->transport.label, "rack2");
}

// A replicated meta group's address list reaches the client whole, and its commas are escaped in the
// kernel options (libfuse splits them at unescaped commas), as flag and as SOURCE.
TEST(MountArgsTest, AMetaGroupListIsOneAddressForTheMount) {
  auto flag = parse({"--meta=h1:1,h2:2,h3:3", "/mnt"});
  ASSERT_TRUE(flag.ok()) << flag.status().ToString();
  EXPECT_EQ(flag->meta_address, "h1:1,h2:2,h3:3");
  EXPECT_TRUE(fuse_mount_options(*flag).starts_with("fsname=zcfs://h1:1\\,h2:2\\,h3:3,subtype="))
      << fuse_mount_options(*flag);
  auto source = parse({"zcfs://h1:1,h2:2", "/mnt"});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ(source->meta_address, "h1:1,h2:2");
}

TEST(MountArgsTest, TransportRefusesNonsense) {
  auto kind = parse({"h:1", "/mnt", "-o", "transport=ib"});
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(kind.status().message().find("tcp, rdma or auto"), std::string::npos) << kind.status().ToString();
  auto gid = parse({"--meta=h:1", "--rdma-gid-index=300", "/mnt"});
  ASSERT_FALSE(gid.ok());
  EXPECT_NE(gid.status().message().find("rdma-gid-index"), std::string::npos) << gid.status().ToString();
}

}  // namespace
}  // namespace zcfs
