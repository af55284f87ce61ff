// The RC queue pair over libibverbs: creation, the RESET -> INIT -> RTR -> RTS transitions, posting.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ib_objects.h"

namespace zcfs::rdma::ib {
namespace {

ibv_mtu mtu_enum(uint32_t bytes) {
  switch (bytes) {
    case 256:
      return IBV_MTU_256;
    case 512:
      return IBV_MTU_512;
    case 1024:
      return IBV_MTU_1024;
    case 2048:
      return IBV_MTU_2048;
    default:
      return IBV_MTU_4096;
  }
}

QpState from_ibv(ibv_qp_state s) {
  switch (s) {
    case IBV_QPS_RESET:
      return QpState::kReset;
    case IBV_QPS_INIT:
      return QpState::kInit;
    case IBV_QPS_RTR:
      return QpState::kRtr;
    case IBV_QPS_RTS:
      return QpState::kRts;
    default:
      return QpState::kError;
  }
}

ibv_wr_opcode wr_opcode(WrOpcode op) {
  switch (op) {
    case WrOpcode::kRdmaWrite:
      return IBV_WR_RDMA_WRITE;
    case WrOpcode::kRdmaRead:
      return IBV_WR_RDMA_READ;
    default:
      return IBV_WR_SEND;
  }
}

std::vector<ibv_sge> to_ibv(std::span<const Sge> sges) {
  std::vector<ibv_sge> out;
  out.reserve(sges.size());
  for (const Sge& s : sges) out.push_back(ibv_sge{s.addr, s.length, s.lkey});
  return out;
}

class IbQp : public QueuePair {
 public:
  IbQp(ibv_qp* qp, PortInfo port) : qp_(qp), port_(port), psn_(static_cast<uint32_t>(::lrand48()) & 0xffffffu) {}
  ~IbQp() override { ibv_destroy_qp(qp_); }

  uint32_t qp_num() const override { return qp_->qp_num; }

  QpState state() const override {
    ibv_qp_attr attr{};
    ibv_qp_init_attr init{};
    if (ibv_query_qp(qp_, &attr, IBV_QP_STATE, &init) != 0) return QpState::kError;
    return from_ibv(attr.qp_state);
  }

  QpEndpoint endpoint() const override { return QpEndpoint{qp_->qp_num, psn_, port_.lid, port_.gid}; }

  Status Init(const ConnectOptions& options) override {
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_INIT;
    attr.pkey_index = 0;
    attr.port_num = options.port;
    attr.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
    return Modify(attr, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, "INIT");
  }

  Status ReadyToReceive(const QpEndpoint& remote, const ConnectOptions& options) override {
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_RTR;
    attr.path_mtu = mtu_enum(options.path_mtu);
    attr.dest_qp_num = remote.qp_num;
    attr.rq_psn = remote.psn;
    attr.max_dest_rd_atomic = options.max_rd_atomic;
    attr.min_rnr_timer = options.min_rnr_timer;
    attr.ah_attr.dlid = remote.lid;
    attr.ah_attr.port_num = options.port;
    // RoCE routes by GID (a global route header); InfiniBand inside a subnet by LID alone.
    bool has_gid = std::any_of(remote.gid.begin(), remote.gid.end(), [](uint8_t b) { return b != 0; });
    if (has_gid) {
      attr.ah_attr.is_global = 1;
      std::memcpy(attr.ah_attr.grh.dgid.raw, remote.gid.data(), remote.gid.size());
      attr.ah_attr.grh.sgid_index = options.sgid_index;
      attr.ah_attr.grh.hop_limit = 64;
    }
    return Modify(attr,
                  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER,
                  "RTR");
  }

  Status ReadyToSend(const ConnectOptions& options) override {
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_RTS;
    attr.timeout = options.timeout;
    attr.retry_cnt = options.retry_cnt;
    attr.rnr_retry = options.rnr_retry;
    attr.sq_psn = psn_;
    attr.max_rd_atomic = options.max_rd_atomic;
    return Modify(
        attr,
        IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC,
        "RTS");
  }

  Status SetError() override {
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_ERR;
    return Modify(attr, IBV_QP_STATE, "ERR");
  }

  Status PostSend(const SendWr& wr) override {
    std::vector<ibv_sge> sges = to_ibv(wr.sg_list);
    ibv_send_wr native{};
    native.wr_id = wr.wr_id;
    native.sg_list = sges.data();
    native.num_sge = static_cast<int>(sges.size());
    native.opcode = wr_opcode(wr.opcode);
    native.send_flags = wr.signaled ? IBV_SEND_SIGNALED : 0;
    native.wr.rdma.remote_addr = wr.remote_addr;
    native.wr.rdma.rkey = wr.rkey;
    ibv_send_wr* bad = nullptr;
    if (int err = ibv_post_send(qp_, &native, &bad); err != 0) {
      return errno_status(err, "ibv_post_send on QP " + std::to_string(qp_->qp_num));
    }
    return Status::Ok();
  }

  Status PostRecv(const RecvWr& wr) override {
    std::vector<ibv_sge> sges = to_ibv(wr.sg_list);
    ibv_recv_wr native{};
    native.wr_id = wr.wr_id;
    native.sg_list = sges.data();
    native.num_sge = static_cast<int>(sges.size());
    ibv_recv_wr* bad = nullptr;
    if (int err = ibv_post_recv(qp_, &native, &bad); err != 0) {
      return errno_status(err, "ibv_post_recv on QP " + std::to_string(qp_->qp_num));
    }
    return Status::Ok();
  }

 private:
  Status Modify(ibv_qp_attr& attr, int mask, const char* to) {
    if (int err = ibv_modify_qp(qp_, &attr, mask); err != 0) {
      return errno_status(err, "QP " + std::to_string(qp_->qp_num) + " -> " + to);
    }
    return Status::Ok();
  }

  ibv_qp* qp_;
  PortInfo port_;
  uint32_t psn_;
};

}  // namespace

Result<std::unique_ptr<QueuePair>> CreateIbQp(ibv_pd* pd, const PortInfo& port, const QpOptions& options) {
  ibv_cq* send_cq = native_cq(options.send_cq);
  ibv_cq* recv_cq = native_cq(options.recv_cq);
  if (send_cq == nullptr || recv_cq == nullptr) {
    return Error(Code::kInvalidArgument, "a QP needs send and receive CQs of the same libibverbs device");
  }
  ibv_qp_init_attr init{};
  init.send_cq = send_cq;
  init.recv_cq = recv_cq;
  init.qp_type = IBV_QPT_RC;
  init.sq_sig_all = 0;  // each work request says whether it is signalled
  init.cap.max_send_wr = options.max_send_wr;
  init.cap.max_recv_wr = options.max_recv_wr;
  init.cap.max_send_sge = options.max_sge;
  init.cap.max_recv_sge = options.max_sge;
  ibv_qp* qp = ibv_create_qp(pd, &init);
  if (qp == nullptr) return errno_status(errno, "ibv_create_qp (RC)");
  return std::unique_ptr<QueuePair>(std::make_unique<IbQp>(qp, port));
}

}  // namespace zcfs::rdma::ib
