#include "standby.h"

#include <thread>

#include "replicated_store.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/blocking_channel.h"
#include "zcfs/proto/checkpoint_fetch.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;

constexpr auto kPullWait = 500ms;       // how long a pull waits for news
constexpr auto kCallMargin = 2000ms;    // on top of kPullWait: a primary silent this long is gone
constexpr auto kRecheckEtcd = 2000ms;   // a followed primary is checked against etcd this often
constexpr auto kIdlePause = 100ms;
constexpr auto kCheckpointCall = 60000ms;  // taking one flushes the primary's memtables

}  // namespace

Result<std::optional<int64_t>> Standby::Run(const std::atomic<bool>& stop) {
  std::string last_problem;
  while (!stop) {
    if (!broken_.ok()) return broken_;
    auto primary = election_.CurrentPrimary();
    Status problem;
    if (!primary.ok()) {
      problem = primary.status();
    } else if (!primary->has_value()) {
      auto won = election_.Campaign();
      if (!won.ok()) {
        problem = won.status();
      } else if (won->has_value()) {
        LOG_INFO << "elected the primary meta server (epoch " << **won << ") at position " << log_.last().seq;
        return std::optional<int64_t>(**won);
      }
    } else if ((*primary)->member != election_.options().member) {
      problem = Follow(**primary, stop);
    }  // else: a key of this member's previous life, waiting for its lease to end
    if (!problem.ok() && problem.ToString() != last_problem) {
      LOG_WARN << "standby: " << problem.ToString();
      last_problem = problem.ToString();
    }
    std::this_thread::sleep_for(kIdlePause);
  }
  return std::optional<int64_t>();
}

Status Standby::Follow(const MetaElection::Primary& primary, const std::atomic<bool>& stop) {
  ASSIGN_OR_RETURN(HostPort address, parse_host_port(primary.member));
  ASSIGN_OR_RETURN(auto channel, BlockingChannel::Connect(address, kCallMargin));
  LOG_INFO << "following the primary " << primary.member << " (epoch " << primary.epoch << ") from position "
           << log_.last().seq;
  auto checked = std::chrono::steady_clock::now();
  while (!stop) {
    const LogPosition at = log_.last();
    pb::ReplPullRequest request;
    request.set_member(election_.options().member);
    request.set_epoch(static_cast<uint64_t>(primary.epoch));
    request.set_after_seq(at.seq);
    request.set_after_epoch(at.epoch);
    request.set_wait_ms(static_cast<uint32_t>(kPullWait.count()));
    ASSIGN_OR_RETURN(std::string body, channel->Call(method::kReplPull, request.SerializeAsString(),
                                                     std::chrono::duration_cast<std::chrono::milliseconds>(kPullWait + kCallMargin)));
    pb::ReplPullReply reply;
    RETURN_IF_ERROR(ParseMessage(reply, body, "pull reply"));
    if (reply.need_checkpoint()) {
      LOG_WARN << "position " << at.seq << "@" << at.epoch << " is not in the log of the primary " << primary.member
               << ": starting over from a checkpoint of its database";
      RETURN_IF_ERROR(StartOver(*channel, primary.member));
      continue;
    }
    RETURN_IF_ERROR(Apply(reply));
    if (std::chrono::steady_clock::now() - checked > kRecheckEtcd) {
      checked = std::chrono::steady_clock::now();
      auto now = election_.CurrentPrimary();
      if (now.ok() && (!now->has_value() || (*now)->epoch != primary.epoch))
        return Error(Code::kStaleRouting, "the primary " + primary.member + " is no longer the one etcd names");
    }
  }
  return Status::Ok();
}

Status Standby::Apply(const pb::ReplPullReply& reply) {
  if (reply.entries().empty()) return Status::Ok();
  for (const auto& entry : reply.entries()) {
    if (entry.seq() != log_.last().seq + 1) {
      return Error(Code::kProtocolError, "the primary sent entry " + std::to_string(entry.seq()) + " after " +
                                             std::to_string(log_.last().seq));
    }
    ASSIGN_OR_RETURN(WriteBatch batch, to_batch(entry));
    add_position(batch, LogPosition{entry.seq(), entry.epoch()});
    RETURN_IF_ERROR(dir_.store().Write(batch, Durability::kDeferred));
    RETURN_IF_ERROR(log_.Append(entry));
  }
  return dir_.store().Sync();  // durable before the next pull acknowledges it
}

Status Standby::StartOver(BlockingChannel& channel, const std::string& primary) {
  RETURN_IF_ERROR(dir_.ClearIncoming());
  auto call = [&channel](uint16_t method, std::string_view body) { return channel.Call(method, body, kCheckpointCall); };
  ASSIGN_OR_RETURN(FetchedCheckpoint fetched, fetch_checkpoint(call, dir_.incoming_path()));
  // From here on a failure leaves no usable database in this process; a restart recovers
  // (StoreDirectory::Open) and fetches again.
  broken_ = dir_.ReplaceWithIncoming();
  if (!broken_.ok()) return broken_;
  auto position = read_position(dir_.store());
  if (!position.ok()) return broken_ = position.status();
  log_.Reset(*position);
  LOG_INFO << "installed a checkpoint of " << primary << " (" << fetched.files << " files, " << fetched.bytes
           << " bytes) at position " << position->seq << "@" << position->epoch;
  return Status::Ok();
}

}  // namespace zcfs::meta
