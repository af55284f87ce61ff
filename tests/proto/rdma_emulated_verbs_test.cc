// The emulated RDMA device behaves as the verbs contract says: one-sided WRITE/READ between
// registered regions with rkey, bounds and access checks; SEND into posted receives (RNR waits, then
// fails); in-order completions; unsignalled work requests; the QP state machine; fault injection.
#include <gtest/gtest.h>

#include "rdma_verbs_pair.h"
#include "zcfs/common/copy_counter.h"
#include "zcfs/proto/rdma/emulated_verbs.h"

namespace zcfs::rdma {
namespace {

using namespace std::chrono_literals;
using testing::Connect;
using testing::MakeSide;
using testing::Pattern;
using testing::SgeOf;
using testing::Side;

constexpr uint32_t kAll = access::kLocalWrite | access::kRemoteWrite | access::kRemoteRead;

class EmulatedVerbsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(EmulatedOptions options = {}, QpOptions qp_options = {}) {
    fabric_ = std::make_unique<EmulatedFabric>(options);
    dev_a_ = std::move(fabric_->OpenDevice("emu0")).value();
    dev_b_ = std::move(fabric_->OpenDevice("emu1")).value();
    a_ = MakeSide(*dev_a_, qp_options);
    b_ = MakeSide(*dev_b_, qp_options);
    Status connected = Connect(a_, b_);
    ASSERT_TRUE(connected.ok()) << connected.ToString();
  }

  void TearDown() override {
    a_ = {};
    b_ = {};
    dev_a_.reset();
    dev_b_.reset();
    fabric_.reset();
  }

  Status Write(const MemoryRegion& src, const MemoryRegion& dst, size_t n, uint64_t wr_id = 1, uint32_t rkey = 0,
               size_t remote_offset = 0) {
    Sge sge = SgeOf(src, 0, n);
    SendWr wr{wr_id,
              WrOpcode::kRdmaWrite,
              std::span(&sge, 1),
              true,
              reinterpret_cast<uint64_t>(dst.addr()) + remote_offset,
              rkey == 0 ? dst.rkey() : rkey};
    return a_.qp->PostSend(wr);
  }

  // One 64-byte RDMA WRITE from a into memory registered on `target`; its completion status.
  WcStatus WriteTo(Side& target) {
    auto src = Pattern(64, 2);
    std::vector<std::byte> dst(64);
    auto src_mr = a_.Register(src, 0);
    auto dst_mr = target.Register(dst, kAll);
    if (!Write(*src_mr, *dst_mr, 64).ok()) return WcStatus::kGeneralErr;
    auto wc = a_.TakeSends(1);
    return wc.empty() ? WcStatus::kGeneralErr : wc[0].status;
  }

  std::unique_ptr<EmulatedFabric> fabric_;
  std::unique_ptr<Device> dev_a_, dev_b_;
  Side a_, b_;
};

TEST_F(EmulatedVerbsTest, RdmaWriteLandsInPeerRegionWithoutCountingAUserCopy) {
  auto src = Pattern(1 << 20, 3);
  std::vector<std::byte> dst(1 << 20);
  auto src_mr = a_.Register(src, 0);
  auto dst_mr = b_.Register(dst, kAll);
  uint64_t copies_before = user_copy_bytes();
  ASSERT_TRUE(Write(*src_mr, *dst_mr, src.size(), 42).ok());
  auto wc = a_.TakeSends(1);
  ASSERT_EQ(wc.size(), 1u);
  EXPECT_EQ(wc[0].status, WcStatus::kSuccess) << wc_status_name(wc[0].status);
  EXPECT_EQ(wc[0].wr_id, 42u);
  EXPECT_EQ(wc[0].opcode, WcOpcode::kRdmaWrite);
  EXPECT_EQ(dst, src);
  EXPECT_EQ(user_copy_bytes(), copies_before) << "the emulated NIC's DMA is not a user-space copy";
  EXPECT_EQ(fabric_->stats().rdma_writes, 1u);
  EXPECT_EQ(fabric_->stats().dma_bytes, src.size());
}

TEST_F(EmulatedVerbsTest, RdmaReadPullsFromPeerRegionIntoScatteredBuffers) {
  auto remote = Pattern(8192, 9);
  std::vector<std::byte> local(8192);
  auto remote_mr = b_.Register(remote, access::kRemoteRead);
  auto local_mr = a_.Register(local, access::kLocalWrite);
  Sge sges[2] = {SgeOf(*local_mr, 4096, 4096), SgeOf(*local_mr, 0, 4096)};  // halves swapped
  SendWr wr{7, WrOpcode::kRdmaRead, sges, true, reinterpret_cast<uint64_t>(remote.data()), remote_mr->rkey()};
  ASSERT_TRUE(a_.qp->PostSend(wr).ok());
  auto wc = a_.TakeSends(1);
  ASSERT_EQ(wc.size(), 1u);
  EXPECT_EQ(wc[0].status, WcStatus::kSuccess) << wc_status_name(wc[0].status);
  EXPECT_EQ(wc[0].opcode, WcOpcode::kRdmaRead);
  EXPECT_TRUE(std::equal(remote.begin(), remote.begin() + 4096, local.begin() + 4096));
  EXPECT_TRUE(std::equal(remote.begin() + 4096, remote.end(), local.begin()));
}

TEST_F(EmulatedVerbsTest, SendConsumesTheOldestPostedReceive) {
  std::vector<std::byte> inbox(2 * 256);
  auto inbox_mr = b_.Register(inbox, access::kLocalWrite);
  for (uint64_t i = 0; i < 2; ++i) {
    Sge sge = SgeOf(*inbox_mr, i * 256, 256);
    ASSERT_TRUE(b_.qp->PostRecv(RecvWr{100 + i, std::span(&sge, 1)}).ok());
  }
  auto message = Pattern(100, 1);
  auto message_mr = a_.Register(message, 0);
  Sge sge = SgeOf(*message_mr, 0, message.size());
  ASSERT_TRUE(a_.qp->PostSend(SendWr{1, WrOpcode::kSend, std::span(&sge, 1)}).ok());
  auto recv = b_.TakeRecvs(1);
  ASSERT_EQ(recv.size(), 1u);
  EXPECT_EQ(recv[0].status, WcStatus::kSuccess);
  EXPECT_EQ(recv[0].wr_id, 100u);
  EXPECT_EQ(recv[0].opcode, WcOpcode::kRecv);
  EXPECT_EQ(recv[0].byte_len, 100u);
  EXPECT_TRUE(std::equal(message.begin(), message.end(), inbox.begin()));
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kSuccess);
}

TEST_F(EmulatedVerbsTest, CompletionsArriveInPostingOrderPerQp) {
  auto src = Pattern(4096, 2);
  std::vector<std::byte> dst(4096);
  auto src_mr = a_.Register(src, 0);
  auto dst_mr = b_.Register(dst, kAll);
  ASSERT_TRUE(fabric_->SetDelay(a_.qp->qp_num(), 2ms).ok());  // order holds on a slow path too
  for (uint64_t id = 1; id <= 20; ++id) ASSERT_TRUE(Write(*src_mr, *dst_mr, 4096, id).ok());
  auto wc = a_.TakeSends(20);
  ASSERT_EQ(wc.size(), 20u);
  for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(wc[i].wr_id, i + 1);
}

TEST_F(EmulatedVerbsTest, UnsignalledWorkRequestsHoldSlotsUntilASignalledOneCompletes) {
  Open({}, QpOptions{.max_send_wr = 4});
  auto src = Pattern(64, 2);
  std::vector<std::byte> dst(64);
  auto src_mr = a_.Register(src, 0);
  auto dst_mr = b_.Register(dst, kAll);
  Sge sge = SgeOf(*src_mr, 0, 64);
  SendWr unsignalled{
      1, WrOpcode::kRdmaWrite, std::span(&sge, 1), false, reinterpret_cast<uint64_t>(dst.data()), dst_mr->rkey()};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a_.qp->PostSend(unsignalled).ok());
  SendWr signalled = unsignalled;
  signalled.wr_id = 9;
  signalled.signaled = true;
  ASSERT_TRUE(a_.qp->PostSend(signalled).ok());
  auto wc = a_.TakeSends(1);
  ASSERT_EQ(wc.size(), 1u);
  EXPECT_EQ(wc[0].wr_id, 9u) << "the unsignalled ones complete silently";
  // The signalled completion freed all four slots; four unsignalled ones fill them for good.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(a_.qp->PostSend(unsignalled).ok());
  Status full = a_.qp->PostSend(unsignalled);
  EXPECT_EQ(full.code(), Code::kResourceExhausted) << full.ToString();
}

TEST_F(EmulatedVerbsTest, BadRkeyIsARemoteAccessErrorThatBreaksTheQp) {
  auto src = Pattern(4096, 2);
  std::vector<std::byte> dst(4096);
  auto src_mr = a_.Register(src, 0);
  auto dst_mr = b_.Register(dst, kAll);
  ASSERT_TRUE(Write(*src_mr, *dst_mr, 4096, 1, dst_mr->rkey() + 1000).ok());
  ASSERT_TRUE(Write(*src_mr, *dst_mr, 4096, 2).ok());  // behind it: flushed
  auto wc = a_.TakeSends(2);
  ASSERT_EQ(wc.size(), 2u);
  EXPECT_EQ(wc[0].status, WcStatus::kRemAccessErr) << wc_status_name(wc[0].status);
  EXPECT_EQ(wc[1].status, WcStatus::kWrFlushErr) << wc_status_name(wc[1].status);
  EXPECT_EQ(a_.qp->state(), QpState::kError);
  EXPECT_EQ(dst, std::vector<std::byte>(4096)) << "nothing was written";
}

TEST_F(EmulatedVerbsTest, OutOfBoundsOrForbiddenRemoteAccessIsRefused) {
  auto src = Pattern(4096, 2);
  std::vector<std::byte> dst(4096);
  auto src_mr = a_.Register(src, 0);
  auto read_only = b_.Register(dst, access::kRemoteRead);
  ASSERT_TRUE(Write(*src_mr, *read_only, 4096).ok());
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kRemAccessErr);

  Open();  // a fresh connection: the last one is in ERROR
  src_mr = a_.Register(src, 0);
  auto writable = b_.Register(dst, kAll);
  ASSERT_TRUE(Write(*src_mr, *writable, 4096, 1, 0, /*remote_offset=*/1).ok());  // one byte past the end
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kRemAccessErr);
}

TEST_F(EmulatedVerbsTest, LocalSgeOutsideItsRegionIsAProtectionError) {
  auto src = Pattern(4096, 2);
  std::vector<std::byte> dst(8192);
  auto src_mr = a_.Register(src, 0);
  auto dst_mr = b_.Register(dst, kAll);
  Sge sge = SgeOf(*src_mr, 0, 8192);  // twice the region
  SendWr wr{1, WrOpcode::kRdmaWrite, std::span(&sge, 1), true, reinterpret_cast<uint64_t>(dst.data()), dst_mr->rkey()};
  ASSERT_TRUE(a_.qp->PostSend(wr).ok());
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kLocProtErr);
}

TEST_F(EmulatedVerbsTest, SendWithNoReceivePostedFailsWithRnrRetryExceeded) {
  Open(EmulatedOptions{.rnr_timeout = 20ms});
  auto message = Pattern(64, 1);
  auto mr = a_.Register(message, 0);
  Sge sge = SgeOf(*mr, 0, 64);
  ASSERT_TRUE(a_.qp->PostSend(SendWr{1, WrOpcode::kSend, std::span(&sge, 1)}).ok());
  auto wc = a_.TakeSends(1);
  ASSERT_EQ(wc.size(), 1u);
  EXPECT_EQ(wc[0].status, WcStatus::kRnrRetryExcErr) << wc_status_name(wc[0].status);
  EXPECT_EQ(a_.qp->state(), QpState::kError);
}

TEST_F(EmulatedVerbsTest, SendWaitsForAReceivePostedWithinTheRnrTime) {
  Open(EmulatedOptions{.rnr_timeout = 10s});
  auto message = Pattern(64, 1);
  auto mr = a_.Register(message, 0);
  Sge sge = SgeOf(*mr, 0, 64);
  ASSERT_TRUE(a_.qp->PostSend(SendWr{1, WrOpcode::kSend, std::span(&sge, 1)}).ok());
  std::vector<std::byte> inbox(64);
  auto inbox_mr = b_.Register(inbox, access::kLocalWrite);
  Sge recv_sge = SgeOf(*inbox_mr, 0, 64);
  ASSERT_TRUE(b_.qp->PostRecv(RecvWr{5, std::span(&recv_sge, 1)}).ok());
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kSuccess);
  EXPECT_EQ(inbox, message);
}

TEST_F(EmulatedVerbsTest, SendLongerThanTheReceiveBreaksBothSides) {
  std::vector<std::byte> inbox(32);
  auto inbox_mr = b_.Register(inbox, access::kLocalWrite);
  Sge recv_sge = SgeOf(*inbox_mr, 0, 32);
  ASSERT_TRUE(b_.qp->PostRecv(RecvWr{5, std::span(&recv_sge, 1)}).ok());
  auto message = Pattern(64, 1);
  auto mr = a_.Register(message, 0);
  Sge sge = SgeOf(*mr, 0, 64);
  ASSERT_TRUE(a_.qp->PostSend(SendWr{1, WrOpcode::kSend, std::span(&sge, 1)}).ok());
  EXPECT_EQ(b_.TakeRecvs(1).at(0).status, WcStatus::kLocLenErr);
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kRemInvReqErr);
  EXPECT_EQ(a_.qp->state(), QpState::kError);
  EXPECT_EQ(b_.qp->state(), QpState::kError);
}

TEST_F(EmulatedVerbsTest, InjectedFailureCompletesWithTheStatusAndBreaksTheQp) {
  ASSERT_TRUE(fabric_->FailNext(a_.qp->qp_num(), 1, WcStatus::kRetryExcErr).ok());
  EXPECT_EQ(WriteTo(b_), WcStatus::kRetryExcErr);
  EXPECT_EQ(a_.qp->state(), QpState::kError);
  EXPECT_EQ(fabric_->FailNext(12345, 1, WcStatus::kRetryExcErr).code(), Code::kNotFound);
}

TEST_F(EmulatedVerbsTest, ForcedErrorFlushesOutstandingWorkAndLaterPosts) {
  std::vector<std::byte> inbox(256);
  auto inbox_mr = b_.Register(inbox, access::kLocalWrite);
  for (uint64_t i = 0; i < 3; ++i) {
    Sge sge = SgeOf(*inbox_mr, 0, 256);
    ASSERT_TRUE(b_.qp->PostRecv(RecvWr{i, std::span(&sge, 1)}).ok());
  }
  ASSERT_TRUE(fabric_->ForceError(b_.qp->qp_num()).ok());
  auto flushed = b_.TakeRecvs(3);
  ASSERT_EQ(flushed.size(), 3u);
  for (const auto& wc : flushed) EXPECT_EQ(wc.status, WcStatus::kWrFlushErr);
  Sge sge = SgeOf(*inbox_mr, 0, 256);
  ASSERT_TRUE(b_.qp->PostRecv(RecvWr{9, std::span(&sge, 1)}).ok());
  EXPECT_EQ(b_.TakeRecvs(1).at(0).status, WcStatus::kWrFlushErr);
  // The peer's next send finds nobody connected.
  auto message = Pattern(64, 1);
  auto mr = a_.Register(message, 0);
  Sge send_sge = SgeOf(*mr, 0, 64);
  ASSERT_TRUE(a_.qp->PostSend(SendWr{1, WrOpcode::kSend, std::span(&send_sge, 1)}).ok());
  EXPECT_EQ(a_.TakeSends(1).at(0).status, WcStatus::kRetryExcErr);
}

TEST_F(EmulatedVerbsTest, DestroyedPeerGivesRetryExceeded) {
  b_.qp.reset();
  EXPECT_EQ(WriteTo(b_), WcStatus::kRetryExcErr);
}

TEST_F(EmulatedVerbsTest, QpStateMachineRefusesSkippedTransitionsAndEarlyPosts) {
  Side c = MakeSide(*dev_a_);
  EXPECT_EQ(c.qp->state(), QpState::kReset);
  Status skipped = c.qp->ReadyToReceive(b_.qp->endpoint(), {});
  EXPECT_EQ(skipped.code(), Code::kInvalidArgument);
  EXPECT_NE(skipped.message().find("RESET -> RTR"), std::string::npos) << skipped.ToString();
  ASSERT_TRUE(c.qp->Init({}).ok());
  auto message = Pattern(64, 1);
  auto mr = c.Register(message, 0);
  Sge sge = SgeOf(*mr, 0, 64);
  Status early = c.qp->PostSend(SendWr{1, WrOpcode::kSend, std::span(&sge, 1)});
  EXPECT_EQ(early.code(), Code::kInvalidArgument);
  EXPECT_NE(early.message().find("INIT"), std::string::npos) << early.ToString();
  EXPECT_EQ(c.qp->ReadyToSend({}).code(), Code::kInvalidArgument);
}

TEST_F(EmulatedVerbsTest, RegionsOfAnotherProtectionDomainAreNotReachable) {
  Side c = MakeSide(*dev_b_);  // same device as b, other PD
  EXPECT_EQ(WriteTo(c), WcStatus::kRemAccessErr);
}

TEST_F(EmulatedVerbsTest, RegistrationChecksItsArguments) {
  std::vector<std::byte> memory(64);
  EXPECT_EQ(a_.pd->RegisterMemory(nullptr, 64, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(a_.pd->RegisterMemory(memory.data(), 64, access::kRemoteWrite).status().code(), Code::kInvalidArgument);
  auto port = dev_a_->QueryPort(1, 0);
  ASSERT_TRUE(port.ok());
  EXPECT_TRUE(port->active);
  EXPECT_EQ(port->active_mtu, 4096u);
  EXPECT_EQ(dev_a_->QueryPort(2, 0).status().code(), Code::kInvalidArgument);
  EXPECT_NE(a_.qp->endpoint().gid, b_.qp->endpoint().gid);
}

}  // namespace
}  // namespace zcfs::rdma
