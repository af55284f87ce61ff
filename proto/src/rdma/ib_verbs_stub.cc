// The IbVerbs entry points of a build without libibverbs: every call says so.
#include "zcfs/proto/rdma/ib_verbs.h"

namespace zcfs::rdma {

bool ib_verbs_built() { return false; }

Result<std::vector<std::string>> ListIbDevices() {
  return Error(Code::kNotSupported, "this build has no RDMA support (libibverbs was not found at configure time)");
}

Result<std::unique_ptr<Device>> OpenIbDevice(const IbDeviceOptions&) {
  return Error(Code::kNotSupported, "this build has no RDMA support (libibverbs was not found at configure time)");
}

}  // namespace zcfs::rdma
