#include "zcfs/proto/rdma/transport_choice.h"

#include "zcfs/common/logging.h"

namespace zcfs {

Result<TransportKind> parse_transport_kind(std::string_view text) {
  if (text == "tcp") return TransportKind::kTcp;
  if (text == "rdma") return TransportKind::kRdma;
  if (text == "auto") return TransportKind::kAuto;
  return Error(Code::kInvalidArgument, "--transport=" + std::string(text) + ": expected tcp, rdma or auto");
}

std::string_view transport_kind_name(TransportKind kind) {
  switch (kind) {
    case TransportKind::kTcp:
      return "tcp";
    case TransportKind::kRdma:
      return "rdma";
    case TransportKind::kAuto:
      return "auto";
  }
  return "?";
}

Result<TransportChoice> make_transport_choice(std::string_view kind, std::string device, int64_t gid_index) {
  TransportChoice choice;
  ASSIGN_OR_RETURN(choice.kind, parse_transport_kind(kind));
  if (gid_index < 0 || gid_index > 255) return Error(Code::kInvalidArgument, "--rdma-gid-index must be in 0..255");
  choice.device.name = std::move(device);
  choice.device.gid_index = static_cast<uint8_t>(gid_index);
  choice.rdma.connect.sgid_index = static_cast<uint8_t>(gid_index);
  return choice;
}

namespace {

// Opens the device and checks that the port the QPs will use is up.
Result<std::unique_ptr<rdma::Device>> open_usable(const TransportChoice& choice, const DeviceOpener& open) {
  ASSIGN_OR_RETURN(auto device, open(choice.device));
  ASSIGN_OR_RETURN(rdma::PortInfo port, device->QueryPort(choice.device.port, choice.device.gid_index));
  if (!port.active) {
    return Error(Code::kUnavailable,
                 "RDMA device " + device->name() + " port " + std::to_string(choice.device.port) + " is not active");
  }
  return device;
}

}  // namespace

Result<std::unique_ptr<rdma::Device>> ChooseRdmaDevice(const TransportChoice& choice, std::string* why,
                                                       const DeviceOpener& open) {
  if (choice.kind == TransportKind::kTcp) return std::unique_ptr<rdma::Device>();
  auto device = open_usable(choice, open);
  if (device.ok()) return std::move(device).value();
  if (choice.kind == TransportKind::kRdma) return Status(device.status()).Prepend("--transport=rdma");
  if (why != nullptr) *why = device.status().message();
  return std::unique_ptr<rdma::Device>();
}

Result<std::unique_ptr<Transport>> MakeClientTransport(asio::any_io_executor executor, const TransportChoice& choice,
                                                       TcpTransportOptions tcp, const DeviceOpener& open) {
  std::string why;
  ASSIGN_OR_RETURN(auto device, ChooseRdmaDevice(choice, &why, open));
  if (device) {
    LOG_INFO << "transport: rdma on " << device->name();
    ASSIGN_OR_RETURN(auto transport, RdmaTransport::Create(std::move(executor), std::move(device), choice.rdma));
    return std::unique_ptr<Transport>(std::move(transport));
  }
  if (choice.kind == TransportKind::kAuto) LOG_INFO << "transport: tcp (no usable RDMA device: " << why << ")";
  return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(std::move(executor), tcp));
}

Result<std::unique_ptr<RdmaServer>> ServeRdmaIfChosen(RpcServer& server, const TransportChoice& choice,
                                                      const DeviceOpener& open) {
  std::string why;
  ASSIGN_OR_RETURN(auto device, ChooseRdmaDevice(choice, &why, open));
  if (!device) {
    if (choice.kind == TransportKind::kAuto) LOG_INFO << "serving TCP only (no usable RDMA device: " << why << ")";
    return std::unique_ptr<RdmaServer>();
  }
  LOG_INFO << "serving RDMA on " << device->name() << " as well as TCP";
  return RdmaServer::Create(server, std::move(device), choice.rdma);
}

}  // namespace zcfs
