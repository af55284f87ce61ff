// --transport=tcp|rdma|auto: which transport a server also serves and a client uses.
//
//   tcp   TCP only (the default).
//   rdma  RDMA over the first RDMA device (or --rdma-device); starting fails when there is none.
//   auto  RDMA when a device opens and its port is up, else TCP (the reason is logged).
//
// A server always listens on TCP: that is where clients reach its control connection and where the
// RDMA handshake happens (rdma_transport.h). Thread-safe (free functions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "zcfs/proto/rdma/ib_verbs.h"
#include "zcfs/proto/rdma/rdma_transport.h"
#include "zcfs/proto/tcp_transport.h"

namespace zcfs {

enum class TransportKind { kTcp, kRdma, kAuto };

// "tcp", "rdma" or "auto"; anything else is kInvalidArgument naming the accepted values.
Result<TransportKind> parse_transport_kind(std::string_view text);
std::string_view transport_kind_name(TransportKind kind);

struct TransportChoice {
  TransportKind kind = TransportKind::kTcp;
  rdma::IbDeviceOptions device;  // --rdma-device, --rdma-port, --rdma-gid-index
  RdmaOptions rdma;              // credits, message size, QP attributes
};

// The choice that --transport=KIND --rdma-device=DEVICE --rdma-gid-index=GID_INDEX name (the GID index
// is both the one the device is checked at and the one the queue pairs use); bad values are
// kInvalidArgument naming the flag.
Result<TransportChoice> make_transport_choice(std::string_view kind, std::string device, int64_t gid_index);

// The RDMA device to use: null for tcp, and for auto when none is usable (`why` says why); an error
// for rdma when none is usable. `open` opens a device (tests pass an emulated one).
using DeviceOpener = std::function<Result<std::unique_ptr<rdma::Device>>(const rdma::IbDeviceOptions&)>;
Result<std::unique_ptr<rdma::Device>> ChooseRdmaDevice(const TransportChoice& choice, std::string* why = nullptr,
                                                       const DeviceOpener& open = rdma::OpenIbDevice);

// A client's transport: RdmaTransport over the chosen device, else TcpTransport with `tcp`.
Result<std::unique_ptr<Transport>> MakeClientTransport(asio::any_io_executor executor, const TransportChoice& choice,
                                                       TcpTransportOptions tcp = {},
                                                       const DeviceOpener& open = rdma::OpenIbDevice);

// For a server: an RdmaServer serving `server`'s handlers when the choice picks a device, else null.
Result<std::unique_ptr<RdmaServer>> ServeRdmaIfChosen(RpcServer& server, const TransportChoice& choice,
                                                      const DeviceOpener& open = rdma::OpenIbDevice);

}  // namespace zcfs
