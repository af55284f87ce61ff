// The verbs interface over libibverbs: device, PD, MR and CQ (the QP is in ib_qp.cc).
#include "zcfs/proto/rdma/ib_verbs.h"

#include <fcntl.h>
#include <infiniband/verbs.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ib_objects.h"

namespace zcfs::rdma {

// The interface's numbers are libibverbs' own, so they pass through unchanged.
static_assert(access::kLocalWrite == IBV_ACCESS_LOCAL_WRITE);
static_assert(access::kRemoteWrite == IBV_ACCESS_REMOTE_WRITE);
static_assert(access::kRemoteRead == IBV_ACCESS_REMOTE_READ);
static_assert(static_cast<int>(WcStatus::kRemAccessErr) == IBV_WC_REM_ACCESS_ERR);
static_assert(static_cast<int>(WcStatus::kWrFlushErr) == IBV_WC_WR_FLUSH_ERR);
static_assert(static_cast<int>(WcStatus::kRetryExcErr) == IBV_WC_RETRY_EXC_ERR);
static_assert(static_cast<int>(WcStatus::kRnrRetryExcErr) == IBV_WC_RNR_RETRY_EXC_ERR);
static_assert(static_cast<int>(WcStatus::kGeneralErr) == IBV_WC_GENERAL_ERR);

namespace ib {

Status errno_status(int err, const std::string& what) { return Status::FromErrno(err, what); }

namespace {

class IbMr : public MemoryRegion {
 public:
  explicit IbMr(ibv_mr* mr) : mr_(mr) {}
  ~IbMr() override { ibv_dereg_mr(mr_); }
  std::byte* addr() const override { return static_cast<std::byte*>(mr_->addr); }
  size_t length() const override { return mr_->length; }
  uint32_t lkey() const override { return mr_->lkey; }
  uint32_t rkey() const override { return mr_->rkey; }
  uint32_t access() const override { return access_; }
  void set_access(uint32_t a) { access_ = a; }

 private:
  ibv_mr* mr_;
  uint32_t access_ = 0;
};

WcOpcode wc_opcode(ibv_wc_opcode op) {
  switch (op) {
    case IBV_WC_RDMA_WRITE:
      return WcOpcode::kRdmaWrite;
    case IBV_WC_RDMA_READ:
      return WcOpcode::kRdmaRead;
    case IBV_WC_RECV:
      return WcOpcode::kRecv;
    default:
      return WcOpcode::kSend;
  }
}

class IbPd : public ProtectionDomain {
 public:
  IbPd(ibv_pd* pd, PortInfo port) : pd_(pd), port_(port) {}
  ~IbPd() override { ibv_dealloc_pd(pd_); }

  Result<std::unique_ptr<MemoryRegion>> RegisterMemory(void* addr, size_t length, uint32_t flags) override {
    if (addr == nullptr || length == 0) return Error(Code::kInvalidArgument, "cannot register an empty memory range");
    ibv_mr* mr = ibv_reg_mr(pd_, addr, length, static_cast<int>(flags));
    if (mr == nullptr) {
      return errno_status(errno, "ibv_reg_mr of " + std::to_string(length) +
                                     " bytes (is RLIMIT_MEMLOCK large enough? see docs/rdma.md)");
    }
    auto out = std::make_unique<IbMr>(mr);
    out->set_access(flags);
    return std::unique_ptr<MemoryRegion>(std::move(out));
  }

  Result<std::unique_ptr<QueuePair>> CreateQp(const QpOptions& options) override {
    return CreateIbQp(pd_, port_, options);
  }

 private:
  ibv_pd* pd_;
  PortInfo port_;
};

class IbDevice : public Device {
 public:
  IbDevice(ibv_context* context, std::string name, IbDeviceOptions options)
      : context_(context), name_(std::move(name)), options_(std::move(options)) {}
  ~IbDevice() override { ibv_close_device(context_); }

  const std::string& name() const override { return name_; }
  std::string_view backend() const override { return "ibverbs"; }

  Result<PortInfo> QueryPort(uint8_t port, uint8_t gid_index) const override {
    ibv_port_attr attr{};
    if (int err = ibv_query_port(context_, port, &attr); err != 0) {
      return errno_status(err, name_ + ": ibv_query_port " + std::to_string(port));
    }
    ibv_gid gid{};
    if (int err = ibv_query_gid(context_, port, gid_index, &gid); err != 0) {
      return errno_status(
          err, name_ + ": ibv_query_gid port " + std::to_string(port) + " index " + std::to_string(gid_index));
    }
    PortInfo info;
    info.lid = attr.lid;
    std::memcpy(info.gid.data(), gid.raw, info.gid.size());
    info.active_mtu = 128u << attr.active_mtu;  // IBV_MTU_256 is 1
    info.active = attr.state == IBV_PORT_ACTIVE;
    return info;
  }

  Result<std::unique_ptr<ProtectionDomain>> AllocPd() override {
    ASSIGN_OR_RETURN(PortInfo port, QueryPort(options_.port, options_.gid_index));
    ibv_pd* pd = ibv_alloc_pd(context_);
    if (pd == nullptr) return errno_status(errno, name_ + ": ibv_alloc_pd");
    return std::unique_ptr<ProtectionDomain>(std::make_unique<IbPd>(pd, port));
  }

  // Asks for at most the device's limit (soft-RoCE allows far fewer entries than a ConnectX NIC).
  Result<std::unique_ptr<CompletionQueue>> CreateCq(uint32_t depth) override {
    ibv_device_attr attr{};
    if (ibv_query_device(context_, &attr) == 0 && attr.max_cqe > 0) {
      depth = std::min(depth, static_cast<uint32_t>(attr.max_cqe));
    }
    return CreateIbCq(context_, depth);
  }

 private:
  ibv_context* context_;
  std::string name_;
  IbDeviceOptions options_;
};

// Owns the list ibv_get_device_list returns.
struct DeviceList {
  DeviceList() { devices = ibv_get_device_list(&count); }
  ~DeviceList() {
    if (devices != nullptr) ibv_free_device_list(devices);
  }
  ibv_device** devices = nullptr;
  int count = 0;
};

}  // namespace

class IbCq : public CompletionQueue {
 public:
  IbCq(ibv_comp_channel* channel, ibv_cq* cq) : channel_(channel), cq_(cq) {}
  ~IbCq() override {
    ibv_destroy_cq(cq_);
    ibv_destroy_comp_channel(channel_);
  }

  size_t Poll(std::span<WorkCompletion> out) override {
    ibv_wc wc[16];
    size_t taken = 0;
    while (taken < out.size()) {
      int n = ibv_poll_cq(cq_, static_cast<int>(std::min<size_t>(16, out.size() - taken)), wc);
      if (n <= 0) break;
      for (int i = 0; i < n; ++i) {
        out[taken++] = WorkCompletion{wc[i].wr_id, static_cast<WcStatus>(wc[i].status), wc_opcode(wc[i].opcode),
                                      wc[i].byte_len, wc[i].qp_num};
      }
    }
    return taken;
  }

  // Waits on the completion channel's fd; the CQ is re-armed before returning, so a completion that
  // arrives after the caller's next Poll() still wakes the Wait() after it.
  bool Wait(std::chrono::milliseconds timeout) override {
    pollfd pfd{channel_->fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
    ibv_cq* cq = nullptr;
    void* context = nullptr;
    if (ibv_get_cq_event(channel_, &cq, &context) != 0) return false;
    ibv_ack_cq_events(cq, 1);
    ibv_req_notify_cq(cq_, 0);
    return true;
  }

  ibv_cq* cq() const { return cq_; }

 private:
  ibv_comp_channel* channel_;
  ibv_cq* cq_;
};

Result<std::unique_ptr<CompletionQueue>> CreateIbCq(ibv_context* context, uint32_t depth) {
  ibv_comp_channel* channel = ibv_create_comp_channel(context);
  if (channel == nullptr) return errno_status(errno, "ibv_create_comp_channel");
  ::fcntl(channel->fd, F_SETFL, ::fcntl(channel->fd, F_GETFL) | O_NONBLOCK);
  ibv_cq* cq = ibv_create_cq(context, static_cast<int>(depth), nullptr, channel, 0);
  if (cq == nullptr) {
    int err = errno;
    ibv_destroy_comp_channel(channel);
    return errno_status(err, "ibv_create_cq of depth " + std::to_string(depth));
  }
  ibv_req_notify_cq(cq, 0);
  return std::unique_ptr<CompletionQueue>(std::make_unique<IbCq>(channel, cq));
}

ibv_cq* native_cq(CompletionQueue* cq) {
  auto* ib = dynamic_cast<IbCq*>(cq);
  return ib == nullptr ? nullptr : ib->cq();
}

}  // namespace ib

bool ib_verbs_built() { return true; }

Result<std::vector<std::string>> ListIbDevices() {
  ib::DeviceList list;
  std::vector<std::string> names;
  for (int i = 0; list.devices != nullptr && i < list.count; ++i)
    names.emplace_back(ibv_get_device_name(list.devices[i]));
  return names;
}

Result<std::unique_ptr<Device>> OpenIbDevice(const IbDeviceOptions& options) {
  ib::DeviceList list;
  if (list.devices == nullptr || list.count == 0) {
    return Error(Code::kUnavailable,
                 "no RDMA device on this machine (ibv_get_device_list found none): no InfiniBand or RoCE NIC and "
                 "no soft-RoCE link; see docs/rdma.md");
  }
  std::string known;
  for (int i = 0; i < list.count; ++i) {
    std::string name = ibv_get_device_name(list.devices[i]);
    if (!options.name.empty() && name != options.name) {
      known += (known.empty() ? "" : ", ") + name;
      continue;
    }
    ibv_context* context = ibv_open_device(list.devices[i]);
    if (context == nullptr) return ib::errno_status(errno, "ibv_open_device " + name);
    return std::unique_ptr<Device>(std::make_unique<ib::IbDevice>(context, name, options));
  }
  return Error(Code::kUnavailable, "no RDMA device named '" + options.name + "' (this machine has: " + known + ")");
}

}  // namespace zcfs::rdma
