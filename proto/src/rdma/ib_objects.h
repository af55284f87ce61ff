// What ib_verbs.cc and ib_qp.cc share of the libibverbs backend.
#pragma once

#include <infiniband/verbs.h>

#include <memory>
#include <string>

#include "zcfs/proto/rdma/verbs.h"

namespace zcfs::rdma::ib {

Status errno_status(int err, const std::string& what);
Result<std::unique_ptr<CompletionQueue>> CreateIbCq(ibv_context* context, uint32_t depth);
// The libibverbs CQ behind `cq`, or null when it is not one of this backend's.
ibv_cq* native_cq(CompletionQueue* cq);
// An RC QP in `pd`; its endpoint advertises `port`'s LID and GID.
Result<std::unique_ptr<QueuePair>> CreateIbQp(ibv_pd* pd, const PortInfo& port, const QpOptions& options);

}  // namespace zcfs::rdma::ib
