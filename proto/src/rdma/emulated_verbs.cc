// The emulated device's objects: thin handles on the fabric's shared state (emulated_fabric.h).
#include "zcfs/proto/rdma/emulated_verbs.h"

#include "emulated_fabric.h"

namespace zcfs::rdma {
namespace {

using Core = EmulatedFabric::Core;

class EmulatedMr : public MemoryRegion {
 public:
  EmulatedMr(std::shared_ptr<Core> core, uint32_t key, MrCore mr) : core_(std::move(core)), key_(key), mr_(mr) {}
  ~EmulatedMr() override {
    std::lock_guard lock(core_->mu);
    core_->mrs.erase(key_);
  }
  std::byte* addr() const override { return mr_.addr; }
  size_t length() const override { return mr_.length; }
  uint32_t lkey() const override { return key_; }
  uint32_t rkey() const override { return key_; }
  uint32_t access() const override { return mr_.access; }

 private:
  std::shared_ptr<Core> core_;
  uint32_t key_;
  MrCore mr_;
};

class EmulatedCq : public CompletionQueue {
 public:
  explicit EmulatedCq(std::shared_ptr<Core> core) : core_(std::move(core)), cq_(std::make_shared<CqCore>()) {}

  size_t Poll(std::span<WorkCompletion> out) override {
    std::lock_guard lock(core_->mu);
    size_t n = 0;
    while (n < out.size() && !cq_->entries.empty()) {
      out[n++] = cq_->entries.front();
      cq_->entries.pop_front();
    }
    return n;
  }

  bool Wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(core_->mu);
    return cq_->ready.wait_for(lock, timeout, [this] { return !cq_->entries.empty(); });
  }

  const std::shared_ptr<CqCore>& core() const { return cq_; }

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<CqCore> cq_;
};

Status bad_transition(const QpCore& qp, QpState to) {
  return Error(Code::kInvalidArgument, "QP " + std::to_string(qp.qp_num) + ": " + std::string(qp_state_name(qp.state)) +
                                           " -> " + std::string(qp_state_name(to)) + " is not a valid transition");
}

class EmulatedQp : public QueuePair {
 public:
  EmulatedQp(std::shared_ptr<Core> core, std::shared_ptr<QpCore> qp) : core_(std::move(core)), qp_(std::move(qp)) {}
  ~EmulatedQp() override {
    std::lock_guard lock(core_->mu);
    core_->qps.erase(qp_->qp_num);
  }

  uint32_t qp_num() const override { return qp_->qp_num; }
  QpState state() const override {
    std::lock_guard lock(core_->mu);
    return qp_->state;
  }
  QpEndpoint endpoint() const override { return QpEndpoint{qp_->qp_num, qp_->psn, 0, qp_->gid}; }

  Status Init(const ConnectOptions& options) override {
    std::lock_guard lock(core_->mu);
    if (qp_->state != QpState::kReset) return bad_transition(*qp_, QpState::kInit);
    if (options.port != 1) return Error(Code::kInvalidArgument, "emulated devices have port 1 only");
    qp_->state = QpState::kInit;
    return Status::Ok();
  }

  Status ReadyToReceive(const QpEndpoint& remote, const ConnectOptions& options) override {
    std::lock_guard lock(core_->mu);
    if (qp_->state != QpState::kInit) return bad_transition(*qp_, QpState::kRtr);
    uint32_t mtu = options.path_mtu;
    if (mtu < 256 || mtu > 4096 || (mtu & (mtu - 1)) != 0) {
      return Error(Code::kInvalidArgument, "path MTU " + std::to_string(mtu) + " is not 256, 512, 1024, 2048 or 4096");
    }
    qp_->remote_qp = remote.qp_num;
    qp_->state = QpState::kRtr;
    return Status::Ok();
  }

  Status ReadyToSend(const ConnectOptions&) override {
    std::lock_guard lock(core_->mu);
    if (qp_->state != QpState::kRtr) return bad_transition(*qp_, QpState::kRts);
    qp_->state = QpState::kRts;
    return Status::Ok();
  }

  Status SetError() override {
    std::lock_guard lock(core_->mu);
    core_->ToError(*qp_);
    return Status::Ok();
  }

  Status PostSend(const SendWr& wr) override {
    std::lock_guard lock(core_->mu);
    return core_->PostSend(*qp_, wr);
  }
  Status PostRecv(const RecvWr& wr) override {
    std::lock_guard lock(core_->mu);
    return core_->PostRecv(*qp_, wr);
  }

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<QpCore> qp_;
};

class EmulatedPd : public ProtectionDomain {
 public:
  EmulatedPd(std::shared_ptr<Core> core, uint32_t pd, Gid gid) : core_(std::move(core)), pd_(pd), gid_(gid) {}

  Result<std::unique_ptr<MemoryRegion>> RegisterMemory(void* addr, size_t length, uint32_t flags) override {
    if (addr == nullptr || length == 0) return Error(Code::kInvalidArgument, "cannot register an empty memory range");
    if ((flags & access::kRemoteWrite) != 0 && (flags & access::kLocalWrite) == 0) {
      return Error(Code::kInvalidArgument, "remote write access needs local write access too (as with verbs)");
    }
    std::lock_guard lock(core_->mu);
    ++core_->stats.registrations;
    uint32_t key = core_->next_key++;  // never reused: a stale key fails instead of aliasing new memory
    MrCore mr{pd_, static_cast<std::byte*>(addr), length, flags};
    core_->mrs[key] = mr;
    return std::unique_ptr<MemoryRegion>(std::make_unique<EmulatedMr>(core_, key, mr));
  }

  Result<std::unique_ptr<QueuePair>> CreateQp(const QpOptions& options) override {
    auto* send_cq = dynamic_cast<EmulatedCq*>(options.send_cq);
    auto* recv_cq = dynamic_cast<EmulatedCq*>(options.recv_cq);
    if (send_cq == nullptr || recv_cq == nullptr) {
      return Error(Code::kInvalidArgument, "a QP needs send and receive CQs of the same emulated fabric");
    }
    if (options.max_send_wr == 0 || options.max_recv_wr == 0 || options.max_sge == 0) {
      return Error(Code::kInvalidArgument, "a QP needs at least one send and receive slot and one SGE");
    }
    auto qp = std::make_shared<QpCore>();
    qp->pd = pd_;
    qp->gid = gid_;
    qp->send_cq = send_cq->core();
    qp->recv_cq = recv_cq->core();
    qp->max_send_wr = options.max_send_wr;
    qp->max_recv_wr = options.max_recv_wr;
    qp->max_sge = options.max_sge;
    std::lock_guard lock(core_->mu);
    qp->qp_num = core_->next_qp++;
    qp->psn = (qp->qp_num * 7919u) & 0xffffffu;  // any 24-bit value; the emulation does not check it
    core_->qps[qp->qp_num] = qp;
    return std::unique_ptr<QueuePair>(std::make_unique<EmulatedQp>(core_, std::move(qp)));
  }

 private:
  std::shared_ptr<Core> core_;
  uint32_t pd_;
  Gid gid_;
};

class EmulatedDevice : public Device {
 public:
  EmulatedDevice(std::shared_ptr<Core> core, std::string name, uint32_t index)
      : core_(std::move(core)), name_(std::move(name)) {
    gid_[0] = 0xfe;
    gid_[1] = 0x80;
    for (int i = 0; i < 4; ++i) gid_[15 - i] = static_cast<uint8_t>(index >> (8 * i));
  }

  const std::string& name() const override { return name_; }
  std::string_view backend() const override { return "emulated"; }

  Result<PortInfo> QueryPort(uint8_t port, uint8_t gid_index) const override {
    if (port != 1) return Error(Code::kInvalidArgument, name_ + " has port 1 only, not " + std::to_string(port));
    if (gid_index != 0) {
      return Error(Code::kInvalidArgument, name_ + ": GID index " + std::to_string(gid_index) +
                                               " is empty (emulated devices have one GID, index 0)");
    }
    return PortInfo{0, gid_, 4096, true};
  }

  Result<std::unique_ptr<ProtectionDomain>> AllocPd() override {
    std::lock_guard lock(core_->mu);
    return std::unique_ptr<ProtectionDomain>(std::make_unique<EmulatedPd>(core_, core_->next_pd++, gid_));
  }

  Result<std::unique_ptr<CompletionQueue>> CreateCq(uint32_t depth) override {
    if (depth == 0) return Error(Code::kInvalidArgument, "a completion queue needs a depth of at least 1");
    return std::unique_ptr<CompletionQueue>(std::make_unique<EmulatedCq>(core_));
  }

 private:
  std::shared_ptr<Core> core_;
  std::string name_;
  Gid gid_{};
};

}  // namespace

EmulatedFabric::EmulatedFabric(EmulatedOptions options) : core_(std::make_shared<Core>(options)) {}

EmulatedFabric::~EmulatedFabric() = default;

Result<std::unique_ptr<Device>> EmulatedFabric::OpenDevice(const std::string& name) {
  uint32_t index;
  {
    std::lock_guard lock(core_->mu);
    index = core_->next_device++;
  }
  return std::unique_ptr<Device>(std::make_unique<EmulatedDevice>(core_, name, index));
}

Status EmulatedFabric::FailNext(uint32_t qp_num, uint32_t count, WcStatus status) {
  std::lock_guard lock(core_->mu);
  QpCore* qp = core_->FindQp(qp_num);
  if (qp == nullptr) return Error(Code::kNotFound, "no QP " + std::to_string(qp_num) + " on this fabric");
  qp->fail_count = count;
  qp->fail_status = status;
  return Status::Ok();
}

Status EmulatedFabric::SetDelay(uint32_t qp_num, std::chrono::microseconds delay) {
  std::lock_guard lock(core_->mu);
  QpCore* qp = core_->FindQp(qp_num);
  if (qp == nullptr) return Error(Code::kNotFound, "no QP " + std::to_string(qp_num) + " on this fabric");
  qp->delay = delay;
  return Status::Ok();
}

Status EmulatedFabric::ForceError(uint32_t qp_num) {
  std::lock_guard lock(core_->mu);
  QpCore* qp = core_->FindQp(qp_num);
  if (qp == nullptr) return Error(Code::kNotFound, "no QP " + std::to_string(qp_num) + " on this fabric");
  core_->ToError(*qp);
  return Status::Ok();
}

EmulatedStats EmulatedFabric::stats() const {
  std::lock_guard lock(core_->mu);
  return core_->stats;
}

std::vector<uint32_t> EmulatedFabric::qp_numbers() const {
  std::lock_guard lock(core_->mu);
  std::vector<uint32_t> out;
  for (const auto& [num, qp] : core_->qps) out.push_back(num);
  return out;
}

}  // namespace zcfs::rdma
