#include "rdma_context.h"

#include "rdma_endpoint.h"
#include "zcfs/common/logging.h"

namespace zcfs::rdma_internal {

namespace access = rdma::access;

Result<std::shared_ptr<RdmaContext>> RdmaContext::Create(std::unique_ptr<rdma::Device> device, RdmaOptions options) {
  if (!device) return Error(Code::kInvalidArgument, "no RDMA device given");
  if (options.credits < 2) return Error(Code::kInvalidArgument, "RDMA transport needs at least 2 credits");
  auto context = std::shared_ptr<RdmaContext>(new RdmaContext(std::move(device), options));
  ASSIGN_OR_RETURN(context->pd_, context->device_->AllocPd());
  // Each connection has `credits` receives, and its sends, RDMA operations and credit writes, at most
  // a few times that. The emulated CQ is unbounded; a real one overruns when too small.
  ASSIGN_OR_RETURN(context->cq_, context->device_->CreateCq(65536));
  context->poller_ = std::thread([raw = context.get()] { raw->PollLoop(); });
  return context;
}

RdmaContext::RdmaContext(std::unique_ptr<rdma::Device> device, RdmaOptions options)
    : options_(options), device_(std::move(device)) {}

RdmaContext::~RdmaContext() {
  stop_ = true;
  if (!poller_.joinable()) return;
  // The last reference may be dropped by a completion the poller itself dispatched.
  if (poller_.get_id() == std::this_thread::get_id()) {
    poller_.detach();
  } else {
    poller_.join();
  }
  region_mrs_.clear();  // before the PD
}

void RdmaContext::PollLoop() {
  rdma::WorkCompletion batch[32];
  while (!stop_) {
    size_t n = cq_->Poll(batch);
    if (n == 0) {
      cq_->Wait(std::chrono::milliseconds(50));
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      std::shared_ptr<RdmaEndpoint> endpoint;
      {
        std::lock_guard lock(mutex_);
        auto it = endpoints_.find(batch[i].qp_num);
        if (it != endpoints_.end()) endpoint = it->second.lock();
      }
      // Moved into the handler posted to the endpoint's strand, so the poller never holds the last
      // reference (the endpoint, and with it the context, is not destroyed on this thread).
      if (endpoint) RdmaEndpoint::Deliver(std::move(endpoint), batch[i]);
    }
  }
}

void RdmaContext::Attach(uint32_t qp_num, std::weak_ptr<RdmaEndpoint> endpoint) {
  std::lock_guard lock(mutex_);
  endpoints_[qp_num] = std::move(endpoint);
}

void RdmaContext::Detach(uint32_t qp_num) {
  std::lock_guard lock(mutex_);
  endpoints_.erase(qp_num);
}

Result<RegionHandle> RdmaContext::RegisterRegion(void* addr, size_t length, uint32_t access_flags) {
  if (addr == nullptr || length == 0) return Error(Code::kInvalidArgument, "cannot register an empty memory range");
  ASSIGN_OR_RETURN(auto mr, pd_->RegisterMemory(addr, length, access_flags));
  ASSIGN_OR_RETURN(RegionHandle handle, regions_.Add(addr, length, mr->rkey()));
  std::lock_guard lock(mutex_);
  region_mrs_[handle.id] = std::move(mr);
  region_starts_.emplace(reinterpret_cast<uintptr_t>(addr), handle.id);
  return handle;
}

Status RdmaContext::DeregisterRegion(uint64_t region_id) {
  RETURN_IF_ERROR(regions_.Remove(region_id));
  std::lock_guard lock(mutex_);
  auto it = region_mrs_.find(region_id);
  if (it == region_mrs_.end()) return Status::Ok();
  auto range = region_starts_.equal_range(reinterpret_cast<uintptr_t>(it->second->addr()));
  for (auto r = range.first; r != range.second; ++r) {
    if (r->second == region_id) {
      region_starts_.erase(r);
      break;
    }
  }
  region_mrs_.erase(it);
  return Status::Ok();
}

Result<MrKeys> RdmaContext::Keys(const void* addr, size_t length, uint32_t access_flags) {
  auto start = reinterpret_cast<uintptr_t>(addr);
  {
    std::lock_guard lock(mutex_);
    // Regions starting at or before `addr`, nearest first; the first that covers the range wins.
    for (auto it = region_starts_.upper_bound(start); it != region_starts_.begin();) {
      --it;
      const rdma::MemoryRegion& mr = *region_mrs_.at(it->second);
      auto base = reinterpret_cast<uintptr_t>(mr.addr());
      if (start - base <= mr.length() && length <= mr.length() - (start - base))
        return MrKeys{mr.lkey(), mr.rkey(), {}};
    }
  }
  ASSIGN_OR_RETURN(auto mr, pd_->RegisterMemory(const_cast<void*>(addr), length, access_flags));
  std::shared_ptr<rdma::MemoryRegion> held(std::move(mr));
  return MrKeys{held->lkey(), held->rkey(), held};
}

}  // namespace zcfs::rdma_internal
