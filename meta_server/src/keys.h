// On-disk key and value encodings of the meta server. Integers in keys are big-endian so that
// bytewise key order is numeric order. Changing anything here changes the on-disk format.
//
//   inodes:   BE64(ino)                 -> serialized zcfs.pb.InodeAttr
//   dentries: BE64(parent) + name       -> BE64(child ino) + 1 byte zcfs.pb.FileType
//   system:   "next_ino"                -> BE64, the next inode number to hand out
//             "next_node_id"            -> BE64
//             "next_target_id"          -> BE64
//             "routing_version"         -> BE64
//             "inode_count"             -> BE64, inodes in use (orphans included)
//             "node/" + BE32(node id)   -> serialized zcfs.pb.RegisterNodeRequest (ids filled in)
//             "chain/" + BE32(chain id) -> serialized zcfs.pb.Chain
//             "orphan/" + BE64(ino)     -> "" : a regular file with no link left, whose chunks are still
//                                          to be removed from the storage servers (its inode stays)
//             "repl_position"           -> BE64(seq) + BE64(epoch): the last replicated batch applied
//                                          (replication_log.h), written in the same batch
//             "mutation/" + BE32(minute) + BE64(client) + BE64(seq)
//                                       -> "" : a namespace mutation with this id committed in this
//                                          minute (mutation_ids.h), written in the mutation's batch
// Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zcfs.pb.h"

namespace zcfs::meta::keys {

inline constexpr std::string_view kNextIno = "next_ino";
inline constexpr std::string_view kNextNodeId = "next_node_id";
inline constexpr std::string_view kNextTargetId = "next_target_id";
inline constexpr std::string_view kRoutingVersion = "routing_version";
inline constexpr std::string_view kInodeCount = "inode_count";
inline constexpr std::string_view kNodePrefix = "node/";
inline constexpr std::string_view kChainPrefix = "chain/";
inline constexpr std::string_view kOrphanPrefix = "orphan/";
inline constexpr std::string_view kReplPosition = "repl_position";
inline constexpr std::string_view kMutationPrefix = "mutation/";

std::string be64(uint64_t v);
std::string be32(uint32_t v);
// Decodes exactly 8 / 4 bytes at the start of `s`; nullopt when `s` is shorter.
std::optional<uint64_t> read_be64(std::string_view s);
std::optional<uint32_t> read_be32(std::string_view s);

inline std::string inode_key(uint64_t ino) { return be64(ino); }
inline std::string dentry_prefix(uint64_t parent) { return be64(parent); }
inline std::string dentry_key(uint64_t parent, std::string_view name) { return be64(parent).append(name); }
inline std::string node_key(uint32_t node_id) { return std::string(kNodePrefix) + be32(node_id); }
inline std::string chain_key(uint32_t chain_id) { return std::string(kChainPrefix) + be32(chain_id); }
inline std::string orphan_key(uint64_t ino) { return std::string(kOrphanPrefix) + be64(ino); }

struct Dentry {
  uint64_t ino = 0;
  pb::FileType type = pb::FILE_TYPE_UNSPECIFIED;
};
std::string encode_dentry(const Dentry& d);
std::optional<Dentry> decode_dentry(std::string_view value);

}  // namespace zcfs::meta::keys
