// IbVerbs: the verbs interface (verbs.h) over the real libibverbs, for InfiniBand and RoCE NICs
// (and soft-RoCE, rdma_rxe). Devices are probed at run time: a machine without any is not an error
// until a device is asked for, and then the error says so plainly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "zcfs/proto/rdma/verbs.h"

namespace zcfs::rdma {

struct IbDeviceOptions {
  std::string name;       // e.g. "mlx5_0" or "rxe0"; empty: the first device found
  uint8_t port = 1;       // the port whose LID/GID this side's QPs advertise
  uint8_t gid_index = 0;  // the GID table entry they advertise (RoCE v2: the IPv4-mapped one)
};

// True when this build has the libibverbs backend (it was found at configure time).
bool ib_verbs_built();

// The names of the RDMA devices on this machine; empty when there are none. An error only when the
// backend is missing from the build.
Result<std::vector<std::string>> ListIbDevices();

// Opens a device. kUnavailable naming the cause when there is no RDMA device (or none by that name),
// kNotSupported when the build has no libibverbs.
Result<std::unique_ptr<Device>> OpenIbDevice(const IbDeviceOptions& options = {});

}  // namespace zcfs::rdma
