// --transport=tcp|rdma|auto: parsing, and which transport a client or server ends up with when a
// device opens (the emulated one here), when none exists (this machine's real verbs), or when its
// port is down.
#include <gtest/gtest.h>

#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rdma/emulated_verbs.h"
#include "zcfs/proto/rdma/transport_choice.h"

namespace zcfs {
namespace {

TransportChoice choice_of(TransportKind kind) {
  TransportChoice choice;
  choice.kind = kind;
  return choice;
}

class TransportChoiceTest : public ::testing::Test {
 protected:
  DeviceOpener Emulated() {
    return [this](const rdma::IbDeviceOptions&) { return fabric_.OpenDevice("emu"); };
  }
  static DeviceOpener NoDevice() {
    return [](const rdma::IbDeviceOptions&) -> Result<std::unique_ptr<rdma::Device>> {
      return Error(Code::kUnavailable, "no RDMA device on this machine");
    };
  }

  rdma::EmulatedFabric fabric_;
  IoThreads io_{1};
};

TEST_F(TransportChoiceTest, ParsesTheThreeKindsAndNamesTheChoicesOnError) {
  for (auto kind : {TransportKind::kTcp, TransportKind::kRdma, TransportKind::kAuto}) {
    EXPECT_EQ(*parse_transport_kind(transport_kind_name(kind)), kind);
  }
  auto bad = parse_transport_kind("infiniband");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("tcp, rdma or auto"), std::string::npos) << bad.status().ToString();
}

TEST_F(TransportChoiceTest, ClientTransportFollowsTheChoiceAndTheDevice) {
  auto tcp = MakeClientTransport(io_.executor(), choice_of(TransportKind::kTcp), {}, Emulated());
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ((*tcp)->name(), "tcp") << "tcp never opens a device";
  auto rdma = MakeClientTransport(io_.executor(), choice_of(TransportKind::kRdma), {}, Emulated());
  ASSERT_TRUE(rdma.ok()) << rdma.status().ToString();
  EXPECT_EQ((*rdma)->name(), "rdma");
  auto preferred = MakeClientTransport(io_.executor(), choice_of(TransportKind::kAuto), {}, Emulated());
  ASSERT_TRUE(preferred.ok());
  EXPECT_EQ((*preferred)->name(), "rdma") << "auto prefers RDMA when a device is present";
  auto fallback = MakeClientTransport(io_.executor(), choice_of(TransportKind::kAuto), {}, NoDevice());
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ((*fallback)->name(), "tcp");
  auto required = MakeClientTransport(io_.executor(), choice_of(TransportKind::kRdma), {}, NoDevice());
  EXPECT_EQ(required.status().code(), Code::kUnavailable);
  EXPECT_NE(required.status().message().find("--transport=rdma"), std::string::npos) << required.status().ToString();
}

TEST_F(TransportChoiceTest, ServerServesRdmaOnlyWhenChosenAndAvailable) {
  RpcServer server(io_.context());
  auto none = ServeRdmaIfChosen(server, choice_of(TransportKind::kAuto), NoDevice());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  auto served = ServeRdmaIfChosen(server, choice_of(TransportKind::kRdma), Emulated());
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_NE(*served, nullptr);
  (*served)->Stop();
}

TEST_F(TransportChoiceTest, RdmaOnThisMachinesRealVerbsIsRefusedAndAutoFallsBack) {
  auto devices = rdma::ListIbDevices();
  if (devices.ok() && !devices->empty()) GTEST_SKIP() << "this machine has RDMA devices";
  auto required = MakeClientTransport(io_.executor(), choice_of(TransportKind::kRdma));
  EXPECT_FALSE(required.ok());
  auto fallback = MakeClientTransport(io_.executor(), choice_of(TransportKind::kAuto));
  ASSERT_TRUE(fallback.ok()) << fallback.status().ToString();
  EXPECT_EQ((*fallback)->name(), "tcp");
}

}  // namespace
}  // namespace zcfs
