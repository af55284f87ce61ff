// The shared state of an EmulatedFabric and its NIC thread (see emulated_verbs.h for the semantics).
// Everything here is guarded by Core::mu; the device objects (emulated_verbs.cc) are thin handles
// that lock it and call in.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "zcfs/proto/rdma/emulated_verbs.h"

namespace zcfs::rdma {

using Clock = std::chrono::steady_clock;

struct CqCore {
  std::deque<WorkCompletion> entries;
  std::condition_variable ready;  // waits on Core::mu
};

struct PendingSend {
  uint64_t wr_id = 0;
  WrOpcode opcode = WrOpcode::kSend;
  bool signaled = true;
  uint64_t remote_addr = 0;
  uint32_t rkey = 0;
  std::vector<Sge> sges;
  Clock::time_point due;                     // not executed before (SetDelay)
  std::optional<Clock::time_point> rnr_end;  // a SEND waiting for a receive gives up then
};

struct PendingRecv {
  uint64_t wr_id = 0;
  std::vector<Sge> sges;
};

struct QpCore {
  uint32_t qp_num = 0;
  uint32_t pd = 0;
  uint32_t psn = 0;
  Gid gid{};
  QpState state = QpState::kReset;
  uint32_t remote_qp = 0;
  std::shared_ptr<CqCore> send_cq, recv_cq;
  uint32_t max_send_wr = 0, max_recv_wr = 0, max_sge = 0;
  std::deque<PendingSend> sq;
  std::deque<PendingRecv> rq;
  uint32_t sq_used = 0;    // send-queue slots taken: posted and not retired by a signalled completion
  uint32_t unretired = 0;  // executed unsignalled work requests whose slots the next completion frees
  uint32_t fail_count = 0;
  WcStatus fail_status = WcStatus::kGeneralErr;
  std::chrono::microseconds delay{0};
};

struct MrCore {
  uint32_t pd = 0;
  std::byte* addr = nullptr;
  size_t length = 0;
  uint32_t access = 0;
};

struct EmulatedFabric::Core {
  explicit Core(EmulatedOptions options);
  ~Core();  // stops and joins the NIC thread

  // The NIC: executes work requests until `stop`.
  void Run();

  // With `mu` held:
  Status PostSend(QpCore& qp, const SendWr& wr);
  Status PostRecv(QpCore& qp, const RecvWr& wr);
  void ToError(QpCore& qp);
  QpCore* FindQp(uint32_t qp_num);

  const EmulatedOptions options;
  std::mutex mu;
  std::condition_variable nic_wake;
  bool stop = false;
  uint32_t next_qp = 0x11;
  uint32_t next_key = 0x1001;
  uint32_t next_pd = 1;
  uint32_t next_device = 1;
  std::map<uint32_t, std::shared_ptr<QpCore>> qps;
  std::map<uint32_t, MrCore> mrs;  // by key (lkey == rkey here)
  EmulatedStats stats;
  std::thread nic;  // last: starts once the rest is built

 private:
  enum class Outcome { kDone, kWaiting };
  // Runs the head of `qp`'s send queue if it is due; true when it made progress.
  bool Step(QpCore& qp, Clock::time_point now, Clock::time_point& wake);
  Outcome Execute(QpCore& qp, PendingSend& wr, Clock::time_point now);
  Outcome ExecuteSend(QpCore& qp, QpCore& peer, PendingSend& wr, Clock::time_point now);
  void ExecuteRdma(QpCore& qp, QpCore& peer, PendingSend& wr);
  // Completes a send work request (always on error, when signalled on success).
  void Finish(QpCore& qp, const PendingSend& wr, WcStatus status);
  WcStatus CheckLocal(const QpCore& qp, const std::vector<Sge>& sges, bool nic_writes) const;
  const MrCore* FindRemote(const QpCore& peer, uint64_t addr, uint64_t length, uint32_t rkey, uint32_t needed) const;
  void Push(CqCore& cq, WorkCompletion wc);
};

}  // namespace zcfs::rdma
