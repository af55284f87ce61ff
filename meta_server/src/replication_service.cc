#include "replication_service.h"

#include <algorithm>

#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::meta {
namespace {

constexpr size_t kMaxReplyBytes = 4u << 20;
constexpr std::chrono::milliseconds kMaxWait{1000};

}  // namespace

void ReplicationService::RegisterOn(RpcServer& server) {
  RegisterPbOn<pb::ReplPullRequest, pb::ReplPullReply>(server, method::kReplPull, workers_.get_executor(),
                                                       [this](const pb::ReplPullRequest& r) { return Pull(r); });
}

Result<pb::ReplPullReply> ReplicationService::Pull(const pb::ReplPullRequest& request) {
  if (request.epoch() != epoch_) {
    return Error(Code::kStaleRouting, "this is the primary of epoch " + std::to_string(epoch_) + ", not of " +
                                          std::to_string(request.epoch()));
  }
  if (request.member().empty()) return Error(Code::kInvalidArgument, "a pull names its member");
  pb::ReplPullReply reply;
  const LogPosition after{request.after_seq(), request.after_epoch()};
  const auto wait = std::min(std::chrono::milliseconds(request.wait_ms()), kMaxWait);
  Result<std::vector<pb::ReplEntry>> entries = Error(Code::kOutOfRange, "not in the log");
  // A position outside the log says nothing about what the standby holds: no acknowledgement.
  if (log_.Holds(after)) {
    followers_.Acked(request.member(), after.seq, log_.last().seq);
    entries = log_.After(after, kMaxReplyBytes, wait);
  }
  if (entries.status().code() == Code::kOutOfRange) {
    reply.set_need_checkpoint(true);
  } else {
    if (!entries.ok()) return entries.status();
    for (auto& e : *entries) *reply.add_entries() = std::move(e);
  }
  reply.set_last_seq(log_.last().seq);
  return reply;
}

}  // namespace zcfs::meta
