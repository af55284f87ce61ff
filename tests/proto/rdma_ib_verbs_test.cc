// The real libibverbs backend. Runs only where an RDMA device exists (an InfiniBand or RoCE NIC, or a
// soft-RoCE link made with `rdma link add rxe0 type rxe netdev eth0`); elsewhere each test skips and
// says why. On a device: an RC loopback connection between two QPs, an RDMA WRITE, and a bad rkey.
#include <gtest/gtest.h>

#include "rdma_verbs_pair.h"
#include "zcfs/proto/rdma/ib_verbs.h"

namespace zcfs::rdma {
namespace {

using testing::Connect;
using testing::MakeSide;
using testing::Pattern;
using testing::SgeOf;
using testing::Side;

class IbVerbsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ib_verbs_built()) GTEST_SKIP() << "this build has no libibverbs backend";
    auto devices = ListIbDevices();
    ASSERT_TRUE(devices.ok()) << devices.status().ToString();
    if (devices->empty()) {
      GTEST_SKIP() << "no RDMA device on this machine (ibv_get_device_list found none); the real-verbs tests "
                      "need an InfiniBand/RoCE NIC or soft-RoCE (docs/rdma.md). The emulated device runs the "
                      "transport's tests instead.";
    }
    auto device = OpenIbDevice({.name = std::getenv("ZCFS_RDMA_DEVICE") ? std::getenv("ZCFS_RDMA_DEVICE") : ""});
    ASSERT_TRUE(device.ok()) << device.status().ToString();
    device_ = std::move(*device);
  }

  std::unique_ptr<Device> device_;
};

TEST(IbVerbsProbeTest, NoDeviceIsAClearUnavailableError) {
  if (!ib_verbs_built()) GTEST_SKIP() << "this build has no libibverbs backend";
  auto devices = ListIbDevices();
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  if (!devices->empty()) GTEST_SKIP() << "this machine has RDMA devices; the no-device path is not reachable";
  auto device = OpenIbDevice();
  EXPECT_EQ(device.status().code(), Code::kUnavailable);
  EXPECT_NE(device.status().message().find("no RDMA device"), std::string::npos) << device.status().ToString();
}

TEST_F(IbVerbsTest, LoopbackRdmaWriteAndBadRkey) {
  auto port = device_->QueryPort(1, 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  if (!port->active) GTEST_SKIP() << device_->name() << " port 1 is not active";
  Side a = MakeSide(*device_);
  Side b = MakeSide(*device_);
  ConnectOptions options;
  options.path_mtu = std::min<uint32_t>(options.path_mtu, port->active_mtu);
  Status connected = Connect(a, b, options);
  ASSERT_TRUE(connected.ok()) << connected.ToString();

  auto src = Pattern(1 << 20, 5);
  std::vector<std::byte> dst(src.size());
  auto src_mr = a.Register(src, 0);
  auto dst_mr = b.Register(dst, access::kLocalWrite | access::kRemoteWrite);
  Sge sge = SgeOf(*src_mr, 0, src.size());
  SendWr wr{1, WrOpcode::kRdmaWrite, std::span(&sge, 1), true, reinterpret_cast<uint64_t>(dst.data()), dst_mr->rkey()};
  ASSERT_TRUE(a.qp->PostSend(wr).ok());
  auto wc = a.TakeSends(1);
  ASSERT_EQ(wc.size(), 1u);
  EXPECT_EQ(wc[0].status, WcStatus::kSuccess) << wc_status_name(wc[0].status);
  EXPECT_EQ(dst, src);

  wr.rkey = dst_mr->rkey() ^ 0x5a5a00;
  ASSERT_TRUE(a.qp->PostSend(wr).ok());
  wc = a.TakeSends(1);
  ASSERT_EQ(wc.size(), 1u);
  EXPECT_EQ(wc[0].status, WcStatus::kRemAccessErr) << wc_status_name(wc[0].status);
  EXPECT_EQ(a.qp->state(), QpState::kError);
}

}  // namespace
}  // namespace zcfs::rdma
