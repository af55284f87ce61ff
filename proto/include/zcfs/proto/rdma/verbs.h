// A thin C++ interface over RDMA verbs: what zcfs's RDMA transport needs of libibverbs and no more.
//
// Two backends implement it: IbVerbs (ib_verbs.h, the real libibverbs, probed at run time) and
// EmulatedVerbs (emulated_verbs.h, an in-process fabric where RDMA WRITE/READ are memcpy between
// registered regions). The transport is written against this interface only, so CI runs all its logic
// on the emulated device; this machine has no RDMA hardware.
//
// The model is the verbs one, kept deliberately literal so that code that works on the emulation works
// on a NIC:
//   - A Device gives a ProtectionDomain (PD) and CompletionQueues (CQ).
//   - A PD registers MemoryRegions (MR): lkey for local work requests, rkey for a peer's RDMA WRITE or
//     READ into it, and access flags saying which of those are allowed.
//   - An RC QueuePair moves RESET -> INIT -> RTR (ready to receive, knows its peer) -> RTS (ready to
//     send); any state -> ERROR. A work request that fails moves its QP to ERROR, and every work request
//     still outstanding on a QP in ERROR completes with kWrFlushErr.
//   - Work requests complete in order per QP. Unsignalled sends produce no completion when they succeed
//     (their send-queue slot is freed by the next signalled completion); failures always complete.
//
// Lifetimes are the caller's business as with verbs: a PD outlives its MRs and QPs, a CQ outlives the
// QPs that use it, and memory outlives its MR. Objects are thread-safe unless said otherwise.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "zcfs/common/status.h"

namespace zcfs::rdma {

// A work completion's status. The numbers are libibverbs' enum ibv_wc_status, so logs and the real
// backend agree on them.
enum class WcStatus : uint32_t {
  kSuccess = 0,
  kLocLenErr = 1,   // a received message was longer than the posted receive buffer
  kLocQpOpErr = 2,  // the work request was malformed for this QP
  kLocProtErr = 4,  // a local scatter/gather entry is outside its MR, or its lkey is unknown
  kWrFlushErr = 5,  // the QP went to ERROR before this work request was done
  kLocAccessErr = 8,
  kRemInvReqErr = 9,     // the peer refused the request (e.g. a SEND longer than its receive buffer)
  kRemAccessErr = 10,    // bad rkey, range outside the peer's MR, or access the MR does not allow
  kRemOpErr = 11,        // the peer could not complete the operation
  kRetryExcErr = 12,     // the peer did not answer (it is gone, or its QP is not connected)
  kRnrRetryExcErr = 13,  // the peer had no receive posted for a SEND, for longer than the RNR retries last
  kGeneralErr = 21,
};
// "IBV_WC_SUCCESS", "IBV_WC_REM_ACCESS_ERR", ...
std::string_view wc_status_name(WcStatus status);

enum class WrOpcode : uint8_t { kSend, kRdmaWrite, kRdmaRead };
enum class WcOpcode : uint8_t { kSend, kRdmaWrite, kRdmaRead, kRecv };

// MR access flags; the values are libibverbs' IBV_ACCESS_*. Local read is always allowed.
namespace access {
inline constexpr uint32_t kLocalWrite = 1u << 0;   // the NIC may write it: receive buffers, RDMA READ targets
inline constexpr uint32_t kRemoteWrite = 1u << 1;  // a peer may RDMA WRITE into it (needs kLocalWrite)
inline constexpr uint32_t kRemoteRead = 1u << 2;   // a peer may RDMA READ from it
}  // namespace access

enum class QpState : uint8_t { kReset, kInit, kRtr, kRts, kError };
std::string_view qp_state_name(QpState state);  // "RESET", "INIT", "RTR", "RTS", "ERR"

using Gid = std::array<uint8_t, 16>;

// One scatter/gather entry: `length` bytes at `addr`, inside the MR whose lkey is `lkey`.
struct Sge {
  uint64_t addr = 0;
  uint32_t length = 0;
  uint32_t lkey = 0;
};

struct SendWr {
  uint64_t wr_id = 0;  // returned in the completion
  WrOpcode opcode = WrOpcode::kSend;
  std::span<const Sge> sg_list;  // SEND/WRITE: the source; READ: the destination. Copied when posted.
  bool signaled = true;          // false: no completion unless it fails
  uint64_t remote_addr = 0;      // RDMA WRITE/READ: the peer's address ...
  uint32_t rkey = 0;             // ... inside the peer's MR with this rkey
};

struct RecvWr {
  uint64_t wr_id = 0;
  std::span<const Sge> sg_list;  // where an incoming SEND lands. Copied when posted.
};

struct WorkCompletion {
  uint64_t wr_id = 0;
  WcStatus status = WcStatus::kSuccess;
  WcOpcode opcode = WcOpcode::kSend;  // valid for successful completions
  uint32_t byte_len = 0;              // receives: bytes that arrived
  uint32_t qp_num = 0;

  bool ok() const { return status == WcStatus::kSuccess; }
};

// What one side of an RC connection tells the other, out of band, to connect the two QPs.
struct QpEndpoint {
  uint32_t qp_num = 0;
  uint32_t psn = 0;  // the first packet sequence number this side sends with
  uint16_t lid = 0;  // InfiniBand local id (0 on RoCE, where the GID routes)
  Gid gid{};
};

// How a QP is connected (RTR/RTS attributes). Defaults suit a RoCE or IB data-center fabric.
struct ConnectOptions {
  uint32_t path_mtu = 4096;    // bytes: 256, 512, 1024, 2048 or 4096; at most the port's active MTU
  uint8_t port = 1;            // the device port
  uint8_t sgid_index = 0;      // this side's GID table index (RoCE v2: usually the IPv4-mapped one)
  uint8_t timeout = 14;        // local ACK timeout: 4.096 us * 2^timeout (14: ~67 ms)
  uint8_t retry_cnt = 7;       // retransmissions before kRetryExcErr
  uint8_t rnr_retry = 7;       // receiver-not-ready retries before kRnrRetryExcErr (7: forever on hardware)
  uint8_t min_rnr_timer = 12;  // the RNR NAK delay this side asks of senders (12: 0.64 ms)
  uint8_t max_rd_atomic = 4;   // RDMA READs in flight, each way
};

struct PortInfo {
  uint16_t lid = 0;
  Gid gid{};                // at ConnectOptions::sgid_index
  uint32_t active_mtu = 0;  // bytes
  bool active = false;      // the link is up
};

class MemoryRegion {
 public:
  virtual ~MemoryRegion() = default;  // deregisters
  virtual std::byte* addr() const = 0;
  virtual size_t length() const = 0;
  virtual uint32_t lkey() const = 0;
  virtual uint32_t rkey() const = 0;
  virtual uint32_t access() const = 0;
};

class CompletionQueue {
 public:
  virtual ~CompletionQueue() = default;
  // Takes up to out.size() completions, oldest first; returns how many. Never blocks.
  virtual size_t Poll(std::span<WorkCompletion> out) = 0;
  // Blocks until a completion may be ready or `timeout` passes. A true return is a hint: Poll() decides.
  virtual bool Wait(std::chrono::milliseconds timeout) = 0;
};

struct QpOptions {
  CompletionQueue* send_cq = nullptr;
  CompletionQueue* recv_cq = nullptr;
  uint32_t max_send_wr = 256;  // send-queue slots: posted and not yet retired by a signalled completion
  uint32_t max_recv_wr = 256;
  uint32_t max_sge = 4;
};

// A reliable-connected queue pair.
class QueuePair {
 public:
  virtual ~QueuePair() = default;  // destroys the QP; its outstanding work requests complete no more
  virtual uint32_t qp_num() const = 0;
  virtual QpState state() const = 0;
  // What the peer needs to connect to this QP (valid from creation).
  virtual QpEndpoint endpoint() const = 0;

  // RESET -> INIT.
  virtual Status Init(const ConnectOptions& options) = 0;
  // INIT -> RTR: connects to `remote`, after which its SENDs can arrive here.
  virtual Status ReadyToReceive(const QpEndpoint& remote, const ConnectOptions& options) = 0;
  // RTR -> RTS.
  virtual Status ReadyToSend(const ConnectOptions& options) = 0;
  // Any state -> ERROR: outstanding work requests complete with kWrFlushErr.
  virtual Status SetError() = 0;

  // Posting errors (a full queue, a bad state, too many SGEs) are returned, not completed. On a QP in
  // ERROR, posts succeed and complete at once with kWrFlushErr, as with verbs.
  virtual Status PostSend(const SendWr& wr) = 0;
  virtual Status PostRecv(const RecvWr& wr) = 0;
};

class ProtectionDomain {
 public:
  virtual ~ProtectionDomain() = default;
  // Registers [addr, addr + length) with `access_flags` (access::*).
  virtual Result<std::unique_ptr<MemoryRegion>> RegisterMemory(void* addr, size_t length, uint32_t access_flags) = 0;
  virtual Result<std::unique_ptr<QueuePair>> CreateQp(const QpOptions& options) = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const std::string& name() const = 0;
  // "ibverbs" or "emulated".
  virtual std::string_view backend() const = 0;
  virtual Result<PortInfo> QueryPort(uint8_t port, uint8_t gid_index) const = 0;
  virtual Result<std::unique_ptr<ProtectionDomain>> AllocPd() = 0;
  virtual Result<std::unique_ptr<CompletionQueue>> CreateCq(uint32_t depth) = 0;
};

// The work request's data length: the sum of its SGEs.
uint64_t sg_length(std::span<const Sge> sg_list);

// "GID fe80:0000:...". For logs and errors.
std::string gid_to_string(const Gid& gid);

}  // namespace zcfs::rdma
