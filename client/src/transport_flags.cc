#include "zcfs/client/transport_flags.h"

#include "zcfs/proto/rdma/transport_choice.h"

namespace zcfs {

bool is_transport_flag(std::string_view key) {
  return key == "transport" || key == "rdma-device" || key == "rdma-gid-index" || key == "label";
}

Status apply_transport_flags(const Config& config, ClientOptions& options) {
  std::string transport = config.GetString("transport", options.transport);
  std::string device = config.GetString("rdma-device", options.rdma_device);
  ASSIGN_OR_RETURN(int64_t gid_index, config.GetInt("rdma-gid-index", options.rdma_gid_index));
  RETURN_IF_ERROR(make_transport_choice(transport, device, gid_index).status());
  options.transport = std::move(transport);
  options.rdma_device = std::move(device);
  options.rdma_gid_index = static_cast<int>(gid_index);
  options.label = config.GetString("label", options.label);
  return Status::Ok();
}

}  // namespace zcfs
