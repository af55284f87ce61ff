#include "zcfs/proto/rdma/rdma_transport.h"

#include "rdma_channel.h"
#include "rdma_context.h"

namespace zcfs {

RdmaTransport::RdmaTransport(asio::any_io_executor executor, std::shared_ptr<rdma_internal::RdmaContext> context)
    : executor_(std::move(executor)), context_(std::move(context)) {}

RdmaTransport::~RdmaTransport() { CloseAll(); }

Result<std::unique_ptr<RdmaTransport>> RdmaTransport::Create(asio::any_io_executor executor,
                                                             std::unique_ptr<rdma::Device> device,
                                                             RdmaOptions options) {
  ASSIGN_OR_RETURN(auto context, rdma_internal::RdmaContext::Create(std::move(device), options));
  return std::unique_ptr<RdmaTransport>(new RdmaTransport(std::move(executor), std::move(context)));
}

Result<RegionHandle> RdmaTransport::RegisterMemory(void* addr, size_t length) {
  return context_->RegisterRegion(addr, length);
}

Status RdmaTransport::DeregisterMemory(uint64_t region_id) { return context_->DeregisterRegion(region_id); }

Result<std::span<std::byte>> RdmaTransport::Resolve(uint64_t region_id, uint64_t offset, uint64_t length) const {
  return context_->Resolve(region_id, offset, length);
}

Task<Result<std::shared_ptr<RpcChannel>>> RdmaTransport::Channel(const std::string& peer, size_t lane) {
  return pool_.Get(peer, lane, [this, peer] { return rdma_internal::OpenRdmaChannel(context_, executor_, peer); });
}

void RdmaTransport::CloseAll() { pool_.CloseAll(); }

}  // namespace zcfs
