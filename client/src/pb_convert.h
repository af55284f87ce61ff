// Conversions between the wire messages and the public client types.
#pragma once

#include "zcfs.pb.h"
#include "zcfs/client/client.h"

namespace zcfs {

FileType from_pb(pb::FileType type);
FileInfo from_pb(const pb::InodeAttr& attr);

inline Result<FileInfo> attr_of(Result<pb::AttrReply> reply) {
  if (!reply.ok()) return reply.status();
  return from_pb(reply->attr());
}

}  // namespace zcfs
