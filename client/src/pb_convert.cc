#include "pb_convert.h"

namespace zcfs {

FileType from_pb(pb::FileType type) {
  switch (type) {
    case pb::FILE_TYPE_REGULAR:
      return FileType::kRegular;
    case pb::FILE_TYPE_DIRECTORY:
      return FileType::kDirectory;
    case pb::FILE_TYPE_SYMLINK:
      return FileType::kSymlink;
    default:
      return FileType::kUnknown;
  }
}

FileInfo from_pb(const pb::InodeAttr& attr) {
  FileInfo info;
  info.ino = attr.ino();
  info.type = from_pb(attr.type());
  info.mode = attr.mode();
  info.uid = attr.uid();
  info.gid = attr.gid();
  info.size = attr.size();
  info.nlink = attr.nlink();
  info.atime_ns = attr.atime_ns();
  info.mtime_ns = attr.mtime_ns();
  info.ctime_ns = attr.ctime_ns();
  info.version = attr.version();
  info.chunk_size = attr.layout().chunk_size();
  info.chains.assign(attr.layout().chains().begin(), attr.layout().chains().end());
  info.symlink_target = attr.symlink_target();
  return info;
}

}  // namespace zcfs
