// EmulatedFabric: an in-process RDMA fabric behind the verbs interface (verbs.h), so that the RDMA
// transport's logic runs in CI on machines without an RDMA device.
//
// Every device opened on one fabric can reach every other. A "NIC" thread per fabric executes posted
// work requests in order per QP:
//   - RDMA WRITE / READ are memcpy between registered regions, after the checks a NIC makes: the rkey
//     names an MR of the peer QP's PD, the range lies inside it, and its access flags allow the
//     operation. A failed check completes the work request with kRemAccessErr and moves the requesting
//     QP to ERROR, as hardware does; the local SGEs are checked the same way (kLocProtErr).
//   - SEND consumes the peer's oldest posted receive. With no receive posted, the SEND waits (as an
//     RNR-NAKed send is retried) for up to EmulatedOptions::rnr_timeout, then completes with
//     kRnrRetryExcErr (QP to ERROR); the work requests behind it on that QP wait too (RC order).
//     A SEND longer than the receive buffer: the receive completes kLocLenErr, the send kRemInvReqErr,
//     and both QPs go to ERROR.
//   - A peer QP that is destroyed, in ERROR, or not yet in RTR: kRetryExcErr at once (hardware would
//     retransmit for timeout x retry_cnt first).
// Completion queues are unbounded.
//
// The memcpy models the NIC's DMA, not a copy made by zcfs: it is not counted by count_user_copy().
//
// Fault injection, by QP number: fail the next N work requests with a status, delay a QP's work
// requests, or force a QP to ERROR. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zcfs/proto/rdma/verbs.h"

namespace zcfs::rdma {

struct EmulatedOptions {
  // How long a SEND waits for the peer to post a receive before failing with kRnrRetryExcErr.
  std::chrono::milliseconds rnr_timeout{200};
};

// Counters for tests: what the emulated NIC did.
struct EmulatedStats {
  uint64_t dma_bytes = 0;    // moved by SEND, RDMA WRITE and RDMA READ
  uint64_t rdma_writes = 0;  // successful RDMA WRITEs
  uint64_t rdma_reads = 0;   // successful RDMA READs
  uint64_t sends = 0;        // successful SENDs
  uint64_t error_completions = 0;
  uint64_t registrations = 0;  // memory regions registered (each a system call and a pinning on hardware)
};

class EmulatedFabric {
 public:
  explicit EmulatedFabric(EmulatedOptions options = {});
  ~EmulatedFabric();  // the NIC thread stops once this and every object opened on it are gone
  EmulatedFabric(const EmulatedFabric&) = delete;
  EmulatedFabric& operator=(const EmulatedFabric&) = delete;

  // A device on this fabric. Each gets its own GID (fe80::<n>); port 1 is active with a 4096-byte MTU.
  Result<std::unique_ptr<Device>> OpenDevice(const std::string& name = "emu");

  // The next `count` work requests that QP `qp_num` executes (sends it posts) complete with `status`
  // (moving it to ERROR unless status is kSuccess), without touching any memory.
  Status FailNext(uint32_t qp_num, uint32_t count, WcStatus status);
  // QP `qp_num`'s work requests run no earlier than `delay` after they were posted (a slow path).
  Status SetDelay(uint32_t qp_num, std::chrono::microseconds delay);
  // Moves QP `qp_num` to ERROR, flushing its outstanding work requests (a link or peer failure).
  Status ForceError(uint32_t qp_num);

  EmulatedStats stats() const;
  // The QPs alive on the fabric, oldest first (tests pick the ones to break).
  std::vector<uint32_t> qp_numbers() const;

  struct Core;  // the shared state (emulated_fabric.h)

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace zcfs::rdma
