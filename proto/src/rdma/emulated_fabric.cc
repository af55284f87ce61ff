// The emulated NIC: posting, in-order execution per QP, the checks a NIC makes, and completions.
#include "emulated_fabric.h"

#include <algorithm>
#include <cstring>
#include <span>

namespace zcfs::rdma {
namespace {

WcOpcode completion_opcode(WrOpcode op) {
  switch (op) {
    case WrOpcode::kSend:
      return WcOpcode::kSend;
    case WrOpcode::kRdmaWrite:
      return WcOpcode::kRdmaWrite;
    case WrOpcode::kRdmaRead:
      return WcOpcode::kRdmaRead;
  }
  return WcOpcode::kSend;
}

std::string qp_name(const QpCore& qp) { return "QP " + std::to_string(qp.qp_num); }

// Copies the bytes of `src` into `dst`, both lists of ranges walked in order (the DMA engine's
// gather/scatter). The caller checked that dst holds at least as many bytes as src.
void scatter_gather(const std::vector<std::span<std::byte>>& dst, const std::vector<std::span<std::byte>>& src) {
  size_t di = 0, doff = 0;
  for (const auto& s : src) {
    size_t soff = 0;
    while (soff < s.size()) {
      while (doff == dst[di].size()) {
        ++di;
        doff = 0;
      }
      size_t n = std::min(s.size() - soff, dst[di].size() - doff);
      std::memcpy(dst[di].data() + doff, s.data() + soff, n);  // the NIC's DMA: not a user-space copy
      soff += n;
      doff += n;
    }
  }
}

std::vector<std::span<std::byte>> spans_of(const std::vector<Sge>& sges) {
  std::vector<std::span<std::byte>> out;
  for (const Sge& s : sges) out.emplace_back(reinterpret_cast<std::byte*>(s.addr), s.length);
  return out;
}

}  // namespace

EmulatedFabric::Core::Core(EmulatedOptions opts) : options(opts), nic([this] { Run(); }) {}

EmulatedFabric::Core::~Core() {
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  nic_wake.notify_all();
  nic.join();
}

QpCore* EmulatedFabric::Core::FindQp(uint32_t qp_num) {
  auto it = qps.find(qp_num);
  return it == qps.end() ? nullptr : it->second.get();
}

void EmulatedFabric::Core::Push(CqCore& cq, WorkCompletion wc) {
  if (wc.status != WcStatus::kSuccess) ++stats.error_completions;
  cq.entries.push_back(wc);
  cq.ready.notify_all();
}

Status EmulatedFabric::Core::PostSend(QpCore& qp, const SendWr& wr) {
  if (wr.sg_list.size() > qp.max_sge) {
    return Error(Code::kInvalidArgument, qp_name(qp) + ": " + std::to_string(wr.sg_list.size()) +
                                             " SGEs, the QP takes at most " + std::to_string(qp.max_sge));
  }
  if (qp.state == QpState::kError) {  // as verbs: accepted, and flushed at once
    Push(*qp.send_cq, WorkCompletion{wr.wr_id, WcStatus::kWrFlushErr, completion_opcode(wr.opcode), 0, qp.qp_num});
    return Status::Ok();
  }
  if (qp.state != QpState::kRts) {
    return Error(Code::kInvalidArgument,
                 qp_name(qp) + " is in " + std::string(qp_state_name(qp.state)) + ": sending needs RTS");
  }
  if (qp.sq_used >= qp.max_send_wr) {
    return Error(Code::kResourceExhausted, qp_name(qp) + ": send queue full (" + std::to_string(qp.max_send_wr) +
                                               " work requests posted and not retired by a signalled completion)");
  }
  ++qp.sq_used;
  qp.sq.push_back(PendingSend{wr.wr_id, wr.opcode, wr.signaled, wr.remote_addr, wr.rkey,
                              std::vector<Sge>(wr.sg_list.begin(), wr.sg_list.end()), Clock::now() + qp.delay,
                              std::nullopt});
  nic_wake.notify_all();
  return Status::Ok();
}

Status EmulatedFabric::Core::PostRecv(QpCore& qp, const RecvWr& wr) {
  if (wr.sg_list.size() > qp.max_sge) {
    return Error(Code::kInvalidArgument, qp_name(qp) + ": " + std::to_string(wr.sg_list.size()) +
                                             " SGEs, the QP takes at most " + std::to_string(qp.max_sge));
  }
  if (qp.state == QpState::kError) {
    Push(*qp.recv_cq, WorkCompletion{wr.wr_id, WcStatus::kWrFlushErr, WcOpcode::kRecv, 0, qp.qp_num});
    return Status::Ok();
  }
  if (qp.state == QpState::kReset)
    return Error(Code::kInvalidArgument, qp_name(qp) + " is in RESET: receives need INIT");
  if (qp.rq.size() >= qp.max_recv_wr) {
    return Error(Code::kResourceExhausted,
                 qp_name(qp) + ": receive queue full (" + std::to_string(qp.max_recv_wr) + " receives posted)");
  }
  qp.rq.push_back(PendingRecv{wr.wr_id, std::vector<Sge>(wr.sg_list.begin(), wr.sg_list.end())});
  nic_wake.notify_all();  // a SEND waiting for a receive may go now
  return Status::Ok();
}

void EmulatedFabric::Core::ToError(QpCore& qp) {
  qp.state = QpState::kError;
  for (const PendingSend& wr : qp.sq) {
    Push(*qp.send_cq, WorkCompletion{wr.wr_id, WcStatus::kWrFlushErr, completion_opcode(wr.opcode), 0, qp.qp_num});
  }
  for (const PendingRecv& wr : qp.rq) {
    Push(*qp.recv_cq, WorkCompletion{wr.wr_id, WcStatus::kWrFlushErr, WcOpcode::kRecv, 0, qp.qp_num});
  }
  qp.sq.clear();
  qp.rq.clear();
  qp.sq_used = 0;
  qp.unretired = 0;
}

void EmulatedFabric::Core::Run() {
  std::unique_lock lock(mu);
  while (!stop) {
    auto now = Clock::now();
    auto wake = Clock::time_point::max();
    bool progressed = false;
    // One work request per QP per round, so a QP with a deep queue does not starve the others.
    for (auto& [num, qp] : qps) {
      if (qp->state == QpState::kRts && !qp->sq.empty()) progressed |= Step(*qp, now, wake);
    }
    if (progressed) continue;
    if (wake == Clock::time_point::max()) {
      nic_wake.wait(lock);
    } else {
      nic_wake.wait_until(lock, wake);
    }
  }
}

bool EmulatedFabric::Core::Step(QpCore& qp, Clock::time_point now, Clock::time_point& wake) {
  if (qp.sq.front().due > now) {
    wake = std::min(wake, qp.sq.front().due);
    return false;
  }
  PendingSend wr = std::move(qp.sq.front());
  qp.sq.pop_front();
  if (Execute(qp, wr, now) == Outcome::kDone) return true;
  wake = std::min(wake, *wr.rnr_end);
  qp.sq.push_front(std::move(wr));  // still first: RC keeps the order
  return false;
}

EmulatedFabric::Core::Outcome EmulatedFabric::Core::Execute(QpCore& qp, PendingSend& wr, Clock::time_point now) {
  if (qp.fail_count > 0) {
    --qp.fail_count;
    Finish(qp, wr, qp.fail_status);
    return Outcome::kDone;
  }
  if (WcStatus s = CheckLocal(qp, wr.sges, wr.opcode == WrOpcode::kRdmaRead); s != WcStatus::kSuccess) {
    Finish(qp, wr, s);
    return Outcome::kDone;
  }
  QpCore* peer = FindQp(qp.remote_qp);
  if (peer == nullptr || peer->remote_qp != qp.qp_num ||
      (peer->state != QpState::kRtr && peer->state != QpState::kRts)) {
    Finish(qp, wr, WcStatus::kRetryExcErr);  // nobody answers: the retries run out
    return Outcome::kDone;
  }
  if (wr.opcode == WrOpcode::kSend) return ExecuteSend(qp, *peer, wr, now);
  ExecuteRdma(qp, *peer, wr);
  return Outcome::kDone;
}

EmulatedFabric::Core::Outcome EmulatedFabric::Core::ExecuteSend(QpCore& qp, QpCore& peer, PendingSend& wr,
                                                                Clock::time_point now) {
  if (peer.rq.empty()) {
    if (!wr.rnr_end) wr.rnr_end = now + options.rnr_timeout;
    if (now < *wr.rnr_end) return Outcome::kWaiting;
    Finish(qp, wr, WcStatus::kRnrRetryExcErr);
    return Outcome::kDone;
  }
  PendingRecv recv = std::move(peer.rq.front());
  peer.rq.pop_front();
  uint64_t length = sg_length(wr.sges);
  if (CheckLocal(peer, recv.sges, /*nic_writes=*/true) != WcStatus::kSuccess) {
    Push(*peer.recv_cq, WorkCompletion{recv.wr_id, WcStatus::kLocProtErr, WcOpcode::kRecv, 0, peer.qp_num});
    ToError(peer);
    Finish(qp, wr, WcStatus::kRemOpErr);
    return Outcome::kDone;
  }
  if (length > sg_length(recv.sges)) {
    Push(*peer.recv_cq, WorkCompletion{recv.wr_id, WcStatus::kLocLenErr, WcOpcode::kRecv, 0, peer.qp_num});
    ToError(peer);
    Finish(qp, wr, WcStatus::kRemInvReqErr);
    return Outcome::kDone;
  }
  scatter_gather(spans_of(recv.sges), spans_of(wr.sges));
  stats.dma_bytes += length;
  ++stats.sends;
  Push(*peer.recv_cq,
       WorkCompletion{recv.wr_id, WcStatus::kSuccess, WcOpcode::kRecv, static_cast<uint32_t>(length), peer.qp_num});
  Finish(qp, wr, WcStatus::kSuccess);
  return Outcome::kDone;
}

void EmulatedFabric::Core::ExecuteRdma(QpCore& qp, QpCore& peer, PendingSend& wr) {
  const bool write = wr.opcode == WrOpcode::kRdmaWrite;
  uint64_t length = sg_length(wr.sges);
  const MrCore* remote =
      FindRemote(peer, wr.remote_addr, length, wr.rkey, write ? access::kRemoteWrite : access::kRemoteRead);
  if (remote == nullptr) {
    Finish(qp, wr, WcStatus::kRemAccessErr);
    return;
  }
  std::vector<std::span<std::byte>> far{{reinterpret_cast<std::byte*>(wr.remote_addr), length}};
  if (write) {
    scatter_gather(far, spans_of(wr.sges));
    ++stats.rdma_writes;
  } else {
    scatter_gather(spans_of(wr.sges), far);
    ++stats.rdma_reads;
  }
  stats.dma_bytes += length;
  Finish(qp, wr, WcStatus::kSuccess);
}

void EmulatedFabric::Core::Finish(QpCore& qp, const PendingSend& wr, WcStatus status) {
  ++qp.unretired;
  if (status == WcStatus::kSuccess && !wr.signaled) return;
  // A completion retires every slot executed before it.
  qp.sq_used -= std::min(qp.sq_used, qp.unretired);
  qp.unretired = 0;
  Push(*qp.send_cq, WorkCompletion{wr.wr_id, status, completion_opcode(wr.opcode), 0, qp.qp_num});
  if (status != WcStatus::kSuccess) ToError(qp);  // any failed work request breaks an RC QP
}

WcStatus EmulatedFabric::Core::CheckLocal(const QpCore& qp, const std::vector<Sge>& sges, bool nic_writes) const {
  for (const Sge& s : sges) {
    auto it = mrs.find(s.lkey);
    if (it == mrs.end() || it->second.pd != qp.pd) return WcStatus::kLocProtErr;
    const MrCore& mr = it->second;
    auto base = reinterpret_cast<uint64_t>(mr.addr);
    if (s.addr < base || s.addr - base > mr.length || s.length > mr.length - (s.addr - base)) {
      return WcStatus::kLocProtErr;
    }
    if (nic_writes && (mr.access & access::kLocalWrite) == 0) return WcStatus::kLocProtErr;
  }
  return WcStatus::kSuccess;
}

const MrCore* EmulatedFabric::Core::FindRemote(const QpCore& peer, uint64_t addr, uint64_t length, uint32_t rkey,
                                               uint32_t needed) const {
  auto it = mrs.find(rkey);
  if (it == mrs.end() || it->second.pd != peer.pd) return nullptr;
  const MrCore& mr = it->second;
  auto base = reinterpret_cast<uint64_t>(mr.addr);
  if (addr < base || addr - base > mr.length || length > mr.length - (addr - base)) return nullptr;
  if ((mr.access & needed) != needed) return nullptr;
  return &mr;
}

}  // namespace zcfs::rdma
