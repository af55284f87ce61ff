// ZcfsFuse: the libfuse3 low-level file system over libzcfs.
//
// Inode numbers are zcfs inode numbers (the root is 1 = FUSE_ROOT_ID), so the daemon keeps no inode
// table and a forget needs no bookkeeping. Every handler replies exactly once. Open files carry the
// layout fetched at open and the end of what this handle wrote; the size grows on the meta server
// at flush/fsync/release.
//
// Thread-safe: handlers run on libfuse's worker threads; the Client is thread-safe and each handle's
// state is atomic or owned by one request at a time.
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include <memory>

#include "zcfs/client/client.h"

namespace zcfs {

struct MountOptions {
  double entry_timeout = 1.0;  // seconds the kernel may cache a name
  double attr_timeout = 1.0;   // seconds the kernel may cache attributes
  bool read_only = false;
};

class ZcfsFuse {
 public:
  ZcfsFuse(std::unique_ptr<Client> client, MountOptions options);
  // The operation table; every entry forwards to the ZcfsFuse passed as session userdata.
  static const fuse_lowlevel_ops& operations();

  Client& client() { return *client_; }
  const MountOptions& options() const { return options_; }

 private:
  std::unique_ptr<Client> client_;
  MountOptions options_;
};

}  // namespace zcfs
