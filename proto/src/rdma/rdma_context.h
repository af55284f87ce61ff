// RdmaContext: what all RDMA connections of one transport (or server) share - the device, one
// protection domain, one completion queue with the thread that polls it and hands each completion to
// its connection's strand, and the registered memory regions. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "zcfs/proto/rdma/rdma_transport.h"
#include "zcfs/proto/rdma/verbs.h"
#include "zcfs/proto/region_table.h"

namespace zcfs::rdma_internal {

class RdmaEndpoint;

// The keys for a range of local memory. `temporary` holds a registration made for this use only;
// the range stays registered while it is held.
struct MrKeys {
  uint32_t lkey = 0;
  uint32_t rkey = 0;
  std::shared_ptr<rdma::MemoryRegion> temporary;
};

class RdmaContext {
 public:
  static Result<std::shared_ptr<RdmaContext>> Create(std::unique_ptr<rdma::Device> device, RdmaOptions options);
  ~RdmaContext();  // stops the poller; every endpoint is gone by then (they hold the context)
  RdmaContext(const RdmaContext&) = delete;
  RdmaContext& operator=(const RdmaContext&) = delete;

  const RdmaOptions& options() const { return options_; }
  rdma::Device& device() { return *device_; }
  rdma::ProtectionDomain& pd() { return *pd_; }
  rdma::CompletionQueue& cq() { return *cq_; }

  // Completions for QP `qp_num` go to `endpoint` until Detach().
  void Attach(uint32_t qp_num, std::weak_ptr<RdmaEndpoint> endpoint);
  void Detach(uint32_t qp_num);

  // Long-lived regions: by default local write, remote read and write (Transport::RegisterMemory);
  // a server's send buffers take local access only (RdmaServer::RegisterSendMemory).
  Result<RegionHandle> RegisterRegion(void* addr, size_t length,
                                      uint32_t access = rdma::access::kLocalWrite | rdma::access::kRemoteWrite |
                                                        rdma::access::kRemoteRead);
  Status DeregisterRegion(uint64_t region_id);
  Result<std::span<std::byte>> Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const {
    return regions_.Resolve(region_id, offset, length);
  }
  // The keys for [addr, addr + length): those of a registered region that covers it, else of a
  // registration made now with `access` (rdma::access::*) and held by the returned MrKeys.
  Result<MrKeys> Keys(const void* addr, size_t length, uint32_t access);

 private:
  RdmaContext(std::unique_ptr<rdma::Device> device, RdmaOptions options);
  void PollLoop();

  const RdmaOptions options_;
  std::unique_ptr<rdma::Device> device_;
  std::unique_ptr<rdma::ProtectionDomain> pd_;
  std::unique_ptr<rdma::CompletionQueue> cq_;
  RegionTable regions_;
  mutable std::mutex mutex_;
  std::map<uint32_t, std::weak_ptr<RdmaEndpoint>> endpoints_;           // by QP number
  std::map<uint64_t, std::unique_ptr<rdma::MemoryRegion>> region_mrs_;  // by region id
  std::map<uintptr_t, uint64_t> region_starts_;                         // region start address -> id
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

}  // namespace zcfs::rdma_internal
