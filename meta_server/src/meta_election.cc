#include "meta_election.h"

#include <algorithm>

#include "zcfs/common/logging.h"

namespace zcfs::meta {
namespace {

int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string join_members(const std::vector<std::string>& members) {
  std::string out;
  for (const auto& m : members) {
    if (!out.empty()) out += ',';
    out += m;
  }
  return out;
}

std::vector<std::string> split_members(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (comma != 0) out.emplace_back(value.substr(0, comma));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

MetaElection::MetaElection(EtcdClient& etcd, Options options) : etcd_(etcd), options_(std::move(options)) {}

MetaElection::~MetaElection() { Stop(); }

Status MetaElection::Start() {
  ASSIGN_OR_RETURN(int64_t lease, etcd_.GrantLease(options_.ttl));
  lease_ = lease;
  renewed_ns_ = steady_ns();
  RETURN_IF_ERROR(etcd_.Put(Key("members/" + options_.member), "", lease));
  renewer_ = std::thread([this] { RenewLoop(); });
  return Status::Ok();
}

void MetaElection::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (lease_ != 0 && !lost_) {
    Status revoked = etcd_.Revoke(lease_);
    if (!revoked.ok()) LOG_WARN << "revoking the etcd session: " << revoked.ToString();
  }
}

void MetaElection::RenewLoop() {
  const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl) / 3;
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    const int64_t started = steady_ns();
    auto ttl = etcd_.KeepAlive(lease_);
    if (ttl.ok() && *ttl > 0) {
      renewed_ns_ = started;
    } else if (ttl.ok() || ttl.status().code() == Code::kNotFound) {
      lost_ = true;
      LOG_ERROR << "the etcd session lease expired: this meta server lost its place";
      return;
    } else {
      LOG_WARN << "renewing the etcd session: " << ttl.status().ToString();
    }
    lock.lock();
  }
}

bool MetaElection::LeaseFresh() const {
  if (lost_) return false;
  const auto age = std::chrono::nanoseconds(steady_ns() - renewed_ns_.load());
  return age < options_.ttl / 2;
}

Result<std::optional<MetaElection::Primary>> MetaElection::CurrentPrimary() {
  auto kv = etcd_.Get(Key("primary"));
  if (kv.status().code() == Code::kNotFound) return std::optional<Primary>();
  if (!kv.ok()) return kv.status();
  return std::optional<Primary>(Primary{kv->value(), kv->create_revision()});
}

Result<std::optional<int64_t>> MetaElection::Campaign() {
  etcd::TxnRequest txn;
  *txn.add_compare() = etcd_key_missing(Key("primary"));
  *txn.add_success() = etcd_put(Key("primary"), options_.member, lease_);
  auto in_sync = etcd_.Get(Key("in_sync"));
  if (in_sync.ok()) {
    if (!contains(split_members(in_sync->value()), options_.member)) return std::optional<int64_t>();
    *txn.add_compare() = etcd_modified_at(Key("in_sync"), in_sync->mod_revision());
  } else if (in_sync.status().code() == Code::kNotFound) {  // a new cluster: the first member wins
    *txn.add_compare() = etcd_key_missing(Key("in_sync"));
    *txn.add_success() = etcd_put(Key("in_sync"), options_.member);
  } else {
    return in_sync.status();
  }
  ASSIGN_OR_RETURN(etcd::TxnResponse reply, etcd_.Txn(txn));
  if (!reply.succeeded()) return std::optional<int64_t>();
  return std::optional<int64_t>(reply.header().revision());  // the revision that created the key
}

Status MetaElection::PublishInSync(int64_t epoch, const std::vector<std::string>& standbys) {
  etcd::TxnRequest txn;
  *txn.add_compare() = etcd_created_at(Key("primary"), epoch);
  std::vector<std::string> members = {options_.member};
  members.insert(members.end(), standbys.begin(), standbys.end());
  *txn.add_success() = etcd_put(Key("in_sync"), join_members(members));
  ASSIGN_OR_RETURN(etcd::TxnResponse reply, etcd_.Txn(txn));
  if (!reply.succeeded()) return Error(Code::kNotPermitted, "the primary of epoch " + std::to_string(epoch) + " was deposed");
  return Status::Ok();
}

Result<std::vector<std::string>> MetaElection::TakeOver(int64_t epoch) {
  auto in_sync = etcd_.Get(Key("in_sync"));
  if (!in_sync.ok()) return in_sync.status();  // Campaign saw or wrote it
  const std::string prefix = Key("members/");
  ASSIGN_OR_RETURN(auto live, etcd_.List(prefix));
  std::vector<std::string> standbys;
  for (const auto& m : split_members(in_sync->value())) {
    const bool alive = std::any_of(live.begin(), live.end(), [&](const etcd::KeyValue& kv) { return kv.key() == prefix + m; });
    if (m != options_.member && alive) standbys.push_back(m);
  }
  RETURN_IF_ERROR(PublishInSync(epoch, standbys));
  return standbys;
}

}  // namespace zcfs::meta
