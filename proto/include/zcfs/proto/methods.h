// Stable RPC method numbers. A number, once used, keeps its meaning forever; add, never renumber.
// Meta service methods are 1xx, storage service methods 2xx, transport methods 9xx.
#pragma once

#include <cstdint>

namespace zcfs::method {

// meta service (bodies: zcfs.pb.*Request -> reply)
inline constexpr uint16_t kLookup = 101;         // LookupRequest -> AttrReply
inline constexpr uint16_t kGetAttr = 102;        // GetAttrRequest -> AttrReply
inline constexpr uint16_t kMkdir = 103;          // MkdirRequest -> AttrReply
inline constexpr uint16_t kCreate = 104;         // CreateRequest -> AttrReply
inline constexpr uint16_t kReaddir = 105;        // ReaddirRequest -> ReaddirReply
inline constexpr uint16_t kExtendLength = 106;   // ExtendLengthRequest -> AttrReply
inline constexpr uint16_t kSetAttr = 107;        // SetAttrRequest -> AttrReply
inline constexpr uint16_t kUnlink = 108;         // RemoveRequest -> EmptyReply
inline constexpr uint16_t kRmdir = 109;          // RemoveRequest -> EmptyReply
inline constexpr uint16_t kRename = 110;         // RenameRequest -> EmptyReply
inline constexpr uint16_t kLink = 111;           // LinkRequest -> AttrReply
inline constexpr uint16_t kSymlink = 112;        // SymlinkRequest -> AttrReply (readlink: GetAttr's symlink_target)
inline constexpr uint16_t kOpen = 113;           // OpenRequest -> OpenReply
inline constexpr uint16_t kClose = 114;          // CloseRequest -> AttrReply
inline constexpr uint16_t kKeepAlive = 115;      // KeepAliveRequest -> EmptyReply
inline constexpr uint16_t kStatFs = 116;         // StatFsRequest -> StatFsReply
inline constexpr uint16_t kRegisterNode = 120;   // RegisterNodeRequest -> RegisterNodeReply
inline constexpr uint16_t kGetRouting = 121;     // GetRoutingRequest -> RoutingTable
inline constexpr uint16_t kClusterStatus = 122;  // ClusterStatusRequest -> ClusterStatusReply
inline constexpr uint16_t kSyncDone = 123;       // SyncDoneRequest -> EmptyReply (storage -> meta)
inline constexpr uint16_t kTargetAdmin = 124;    // TargetAdminRequest -> EmptyReply (drain / put back)
inline constexpr uint16_t kReportMissingData = 125;  // MissingDataReport -> EmptyReply (client -> meta)
inline constexpr uint16_t kReplPull = 130;            // ReplPullRequest -> ReplPullReply (standby -> primary meta)
inline constexpr uint16_t kCheckpoint = 131;          // CheckpointRequest -> CheckpointReply
inline constexpr uint16_t kCheckpointRead = 132;      // CheckpointReadRequest -> CheckpointReadReply
inline constexpr uint16_t kCheckpointDone = 133;      // CheckpointDoneRequest -> EmptyReply

// storage service
inline constexpr uint16_t kBatchRead = 201;       // BatchReadRequest -> BatchReadReply + payload
inline constexpr uint16_t kWriteChunk = 202;      // WriteChunkRequest + payload -> WriteChunkReply
inline constexpr uint16_t kTruncateChunks = 203;  // TruncateChunksRequest -> TruncateChunksReply
inline constexpr uint16_t kListTargets = 204;     // ListTargetsRequest -> ListTargetsReply
inline constexpr uint16_t kListChunks = 205;      // ListChunksRequest -> ListChunksReply (resync)

// transport
inline constexpr uint16_t kRdmaConnect = 901;  // RDMA handshake over the TCP control connection (rdma_transport.h)

}  // namespace zcfs::method

namespace zcfs::batch_read {
// The largest BatchReadRequest a storage server accepts: the sum of the pieces' lengths and their
// number. One reply frame carries all the batch's data, and the server holds all of it in memory until
// that frame is written, so batches are bounded and clients split bigger reads. kMaxBytes is the
// largest chunk size, so any single valid piece fits in a batch.
inline constexpr uint64_t kMaxBytes = 64ull << 20;
inline constexpr uint32_t kMaxPieces = 1024;
}  // namespace zcfs::batch_read

namespace zcfs::setattr {
// Bits of SetAttrRequest.valid: which fields the call changes.
inline constexpr uint32_t kMode = 1u << 0;
inline constexpr uint32_t kUid = 1u << 1;
inline constexpr uint32_t kGid = 1u << 2;
inline constexpr uint32_t kSize = 1u << 3;
inline constexpr uint32_t kAtime = 1u << 4;
inline constexpr uint32_t kMtime = 1u << 5;
inline constexpr uint32_t kAtimeNow = 1u << 6;  // set atime to the server's now (utimensat UTIME_NOW)
inline constexpr uint32_t kMtimeNow = 1u << 7;
}  // namespace zcfs::setattr

namespace zcfs::rename {
// Bits of RenameRequest.flags, as renameat2(2).
inline constexpr uint32_t kNoReplace = 1u << 0;  // fail with kAlreadyExists if the new name exists
inline constexpr uint32_t kExchange = 1u << 1;   // atomically swap the two names (both must exist)
}  // namespace zcfs::rename
