// Stable RPC method numbers. A number, once used, keeps its meaning forever; add, never renumber.
// Meta service methods are 1xx, storage service methods 2xx.
#pragma once

#include <cstdint>

namespace zcfs::method {

// meta service (bodies: zcfs.pb.*Request -> reply)
inline constexpr uint16_t kLookup = 101;        // LookupRequest -> AttrReply
inline constexpr uint16_t kGetAttr = 102;       // GetAttrRequest -> AttrReply
inline constexpr uint16_t kMkdir = 103;         // MkdirRequest -> AttrReply
inline constexpr uint16_t kCreate = 104;        // CreateRequest -> AttrReply
inline constexpr uint16_t kReaddir = 105;       // ReaddirRequest -> ReaddirReply
inline constexpr uint16_t kExtendLength = 106;  // ExtendLengthRequest -> AttrReply
inline constexpr uint16_t kSetAttr = 107;       // SetAttrRequest -> AttrReply
inline constexpr uint16_t kRegisterNode = 120;  // RegisterNodeRequest -> RegisterNodeReply
inline constexpr uint16_t kGetRouting = 121;    // GetRoutingRequest -> RoutingTable

// storage service
inline constexpr uint16_t kBatchRead = 201;   // BatchReadRequest -> BatchReadReply + payload
inline constexpr uint16_t kWriteChunk = 202;  // WriteChunkRequest + payload -> WriteChunkReply

}  // namespace zcfs::method

namespace zcfs::setattr {
// Bits of SetAttrRequest.valid: which fields the call changes.
inline constexpr uint32_t kMode = 1u << 0;
inline constexpr uint32_t kUid = 1u << 1;
inline constexpr uint32_t kGid = 1u << 2;
inline constexpr uint32_t kSize = 1u << 3;
inline constexpr uint32_t kAtime = 1u << 4;
inline constexpr uint32_t kMtime = 1u << 5;
}  // namespace zcfs::setattr
