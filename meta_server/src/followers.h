// Followers: the primary meta server's view of its standbys - how far each has acknowledged, and
// which are in the in-sync set, the members that hold every acknowledged mutation and so may take
// over (the set lives in etcd: meta_election.h).
//
// A mutation is acknowledged once it is durable on the primary and on every in-sync standby
// (WaitAcked). A standby that stops acknowledging for `ack_timeout` is first taken out of the set in
// etcd, and only then is the mutation acknowledged without it: a standby missing an acknowledged
// mutation is never one that may be elected. A standby joins the set when it has caught up with
// everything the primary holds. Changing the set in etcd is conditional on this primary still being
// the elected one; when that fails it has been deposed, and WaitAcked fails (kUnavailable) for good.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "zcfs/common/status.h"

namespace zcfs::meta {

class Followers {
 public:
  // `publish` writes the new in-sync set (standbys only) to etcd, conditional on still being the
  // primary; an error means it is not (or etcd cannot say), and no set may be assumed.
  using Publish = std::function<Status(const std::vector<std::string>& standbys)>;
  Followers(Publish publish, std::chrono::milliseconds ack_timeout);

  // The standbys in the set when this primary took over (each counts as heard from now).
  void Start(const std::vector<std::string>& in_sync);
  // `member` pulled: everything up to `acked` is durable on it; the primary holds up to `last`.
  void Acked(const std::string& member, uint64_t acked, uint64_t last);
  // Until every in-sync standby acknowledged `seq` (dropping silent ones as above).
  Status WaitAcked(uint64_t seq);
  std::vector<std::string> in_sync() const;
  bool deposed() const;

 private:
  struct Standby {
    uint64_t acked = 0;
    std::chrono::steady_clock::time_point heard{};  // when it last got further, or was caught up
  };
  // Publishes `next` as the set; caller holds mutex_ (etcd is called under it: set changes are rare
  // and must not interleave).
  Status Change(std::set<std::string> next);

  const Publish publish_;
  const std::chrono::milliseconds ack_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable acked_;
  std::map<std::string, Standby> standbys_;  // every standby heard from
  std::set<std::string> in_sync_;
  bool deposed_ = false;
};

}  // namespace zcfs::meta
