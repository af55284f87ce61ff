// ClientHooks: the parts of a Client that tests swap for fakes. Today only the RDMA device: the
// emulated fabric (proto/rdma/emulated_verbs.h) lets a test run a Client over RDMA against storage
// servers in the same process. Programs use Client::Connect(options), which opens real devices.
#pragma once

#include "zcfs/proto/rdma/transport_choice.h"

namespace zcfs {

struct ClientHooks {
  DeviceOpener open_rdma_device = rdma::OpenIbDevice;
};

}  // namespace zcfs
