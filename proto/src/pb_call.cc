#include "zcfs/proto/pb_call.h"

namespace zcfs {

Status ParseMessage(google::protobuf::MessageLite& message, std::string_view body, std::string_view what) {
  if (!message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Error(Code::kProtocolError, "malformed " + std::string(what) + " body for " + message.GetTypeName());
  }
  return Status::Ok();
}

}  // namespace zcfs
