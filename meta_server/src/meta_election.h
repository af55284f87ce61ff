// MetaElection: the meta servers' use of etcd - who is the primary, since when (its epoch), and
// which standbys may take over (the in-sync set). etcd is the consensus engine; zcfs only reads and
// writes keys under /zcfs/<cluster>/ with etcd's transactions and leases:
//
//   primary        -> the primary's member name (its client address), put under its session lease,
//                     so it vanishes when the primary stops renewing. Its create revision is the
//                     primary's epoch: unique and growing with every election.
//   in_sync        -> the members holding every acknowledged mutation (the primary and the standbys
//                     that are in sync), comma-separated. Written only by the primary, in a
//                     transaction that checks the primary key is still the one it created.
//   members/<name> -> "" under each member's session lease: who is alive.
//
// A member may campaign only if there is no primary key and it is in the in-sync set (or no set was
// ever written: a new cluster), checked in the same transaction that creates the key. The session
// lease is renewed on a thread of its own every third of its TTL; a primary that has not renewed it
// for half the TTL must stop serving (LeaseFresh), as it may have expired. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "zcfs/proto/etcd_client.h"

namespace zcfs::meta {

class MetaElection {
 public:
  struct Options {
    std::string cluster = "zcfs";  // key prefix: several clusters may share an etcd
    std::string member;            // this server's name: the host:port clients reach it at
    std::chrono::seconds ttl{5};   // of the session lease: how long a dead primary holds its place
  };
  MetaElection(EtcdClient& etcd, Options options);
  ~MetaElection();  // Stop()

  // Grants the session lease, announces the member and starts renewing.
  Status Start();
  // Stops renewing and revokes the lease: a primary's key goes at once, for a standby to take over.
  void Stop();

  struct Primary {
    std::string member;
    int64_t epoch = 0;
  };
  // The primary as etcd knows it now, or nullopt when there is none.
  Result<std::optional<Primary>> CurrentPrimary();
  // Becomes the primary if the rules above allow; returns its epoch, or nullopt when they do not.
  Result<std::optional<int64_t>> Campaign();
  // Writes the in-sync set (this member and `standbys`), if this member still is the primary of
  // `epoch` (else kNotPermitted).
  Status PublishInSync(int64_t epoch, const std::vector<std::string>& standbys);
  // Just elected as the primary of `epoch`: the in-sync members that are alive stay in the set, the
  // rest (the old primary) leave it. Returns the standbys that stay.
  Result<std::vector<std::string>> TakeOver(int64_t epoch);

  // The lease was renewed within half its TTL.
  bool LeaseFresh() const;
  // etcd said the lease is gone (it expired while this process could not renew it).
  bool LeaseLost() const { return lost_.load(); }
  const Options& options() const { return options_; }

 private:
  std::string Key(std::string_view name) const { return "/zcfs/" + options_.cluster + "/" + std::string(name); }
  void RenewLoop();

  EtcdClient& etcd_;
  const Options options_;
  std::atomic<int64_t> lease_{0};
  std::atomic<int64_t> renewed_ns_{0};  // steady clock of the last renewal
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread renewer_;
};

// The in-sync set's value, and back.
std::string join_members(const std::vector<std::string>& members);
std::vector<std::string> split_members(std::string_view value);

}  // namespace zcfs::meta
