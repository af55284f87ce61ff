// zcfs-meta: the metadata server. Flags (also settable in --config=FILE):
//   --listen=HOST:PORT        (default 127.0.0.1:8000; port 0 picks a free port)
//   --data-dir=DIR            (required; RocksDB lives in DIR/meta.db)
//   --ready-file=PATH         (written with the bound host:port once serving)
//   --threads=N               (I/O threads, default half the CPUs: the rest is for RocksDB's
//                              compactions, the WAL syncer and whatever shares the machine)
//   --meta.chunk_size=SIZE    (default chunk size of new files, e.g. 4MiB)
//   --meta.stripe_width=N     (cap on the default stripe width; 0 = all chains)
//   --meta.replication=N      (targets per chain, default 3; fewer while there are fewer nodes)
//   --meta.node_timeout=MS    (a storage node silent this long leaves its chains, default 10000)
//   --meta.sync_writes=BOOL   (sync the WAL on every mutation, default true)
//   --meta.session_lease=MS   (ms a client's open-file sessions live without renewal, default 60000)
//   --meta.reclaim_interval=MS (ms between passes that remove unlinked files' chunks, default 5000)
//   --etcd=ENDPOINTS          (replicated: "http://h:p,..."; with it, several zcfs-meta with their own
//                              --data-dir elect a primary in etcd and the others stand by; see
//                              docs/architecture.md "Meta server replication". Without: one server)
//   --meta.cluster=NAME       (etcd key prefix /zcfs/NAME/, default zcfs)
//   --advertise=HOST:PORT     (this server's name for the others and for clients; default --listen,
//                              which then needs a fixed port)
//   --meta.lease=S            (etcd session TTL: a dead primary is replaced after it, default 5)
//   --meta.ack_timeout=MS     (a standby silent this long leaves the in-sync set, default 3000)
//   --meta.repl_log=SIZE      (recent batches kept for standbys to catch up from, default 256MiB; one
//                              further behind starts over from a checkpoint)
//   --log-level=LEVEL, --config=FILE
// Exits 0 after SIGTERM/SIGINT, 2 on bad flags or an unopenable database, 3 when a primary learns
// it was deposed (its supervisor restarts it, as a standby).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "checkpoint_service.h"
#include "followers.h"
#include "meta_election.h"
#include "replicated_store.h"
#include "replication_log.h"
#include "replication_service.h"
#include "standby.h"
#include "store_directory.h"
#include "zcfs/common/logging.h"
#include "zcfs/meta/meta_operator.h"
#include "zcfs/meta/meta_service.h"
#include "zcfs/meta/periodic_task.h"
#include "zcfs/meta/rocksdb_kv_store.h"
#include "zcfs/proto/meta_group.h"
#include "zcfs/proto/rpc_server.h"
#include "zcfs/proto/server_runtime.h"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitDeposed = 3;

struct Flags {
  zcfs::HostPort listen;
  std::string data_dir;
  std::string ready_file;
  int threads = 2;
  bool sync_writes = true;
  std::chrono::milliseconds reclaim_interval{5000};
  zcfs::meta::MetaOptions meta;
  // Replication (with --etcd).
  std::vector<zcfs::HostPort> etcd;
  std::string cluster;
  std::string advertise;
  std::chrono::seconds lease{5};
  std::chrono::milliseconds ack_timeout{3000};
  uint64_t repl_log_bytes = 256ull << 20;
};

zcfs::Result<Flags> parse_flags(const zcfs::Config& config) {
  Flags f;
  ASSIGN_OR_RETURN(f.listen, zcfs::parse_host_port(config.GetString("listen", "127.0.0.1:8000")));
  f.data_dir = config.GetString("data-dir", "");
  if (f.data_dir.empty()) return zcfs::Error(zcfs::Code::kInvalidArgument, "--data-dir is required");
  f.ready_file = config.GetString("ready-file", "");
  const int64_t half_the_cpus = std::max(1u, std::thread::hardware_concurrency() / 2);
  ASSIGN_OR_RETURN(int64_t threads, config.GetInt("threads", half_the_cpus));
  if (threads < 1 || threads > 256) return zcfs::Error(zcfs::Code::kInvalidArgument, "--threads must be 1..256");
  f.threads = static_cast<int>(threads);
  ASSIGN_OR_RETURN(f.sync_writes, config.GetBool("meta.sync_writes", true));
  ASSIGN_OR_RETURN(uint64_t chunk_size, config.GetBytes("meta.chunk_size", zcfs::meta::kDefaultChunkSize));
  zcfs::Status valid = zcfs::validate_chunk_size(chunk_size);
  if (!valid.ok()) return valid.Prepend("--meta.chunk_size");
  f.meta.chunk_size = static_cast<uint32_t>(chunk_size);
  ASSIGN_OR_RETURN(int64_t width, config.GetInt("meta.stripe_width", 0));
  if (width < 0 || width > 65535)
    return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.stripe_width must be 0..65535");
  f.meta.max_stripe_width = static_cast<uint32_t>(width);
  ASSIGN_OR_RETURN(int64_t lease_ms, config.GetInt("meta.session_lease", 60000));
  if (lease_ms < 1) return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.session_lease must be positive");
  f.meta.session_lease = std::chrono::milliseconds(lease_ms);
  ASSIGN_OR_RETURN(int64_t reclaim_ms, config.GetInt("meta.reclaim_interval", 5000));
  if (reclaim_ms < 1) return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.reclaim_interval must be positive");
  f.reclaim_interval = std::chrono::milliseconds(reclaim_ms);
  ASSIGN_OR_RETURN(int64_t node_timeout_ms, config.GetInt("meta.node_timeout", 10000));
  if (node_timeout_ms < 100 || node_timeout_ms > 3'600'000) {
    return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.node_timeout must be 100..3600000 (ms)");
  }
  f.meta.node_timeout = std::chrono::milliseconds(node_timeout_ms);
  ASSIGN_OR_RETURN(int64_t replication, config.GetInt("meta.replication", 3));
  if (replication < 1 || replication > 16) {
    return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.replication must be 1..16");
  }
  f.meta.replication = static_cast<uint32_t>(replication);
  const std::string etcd = config.GetString("etcd", "");
  if (!etcd.empty()) {
    ASSIGN_OR_RETURN(f.etcd, zcfs::EtcdClient::ParseEndpoints(etcd));
    f.cluster = config.GetString("meta.cluster", "zcfs");
    f.advertise = config.GetString("advertise", f.listen.ToString());
    ASSIGN_OR_RETURN(zcfs::HostPort advertised, zcfs::parse_host_port(f.advertise));
    if (advertised.port == 0) return zcfs::Error(zcfs::Code::kInvalidArgument, "--etcd needs a fixed port to advertise");
    ASSIGN_OR_RETURN(int64_t lease_s, config.GetInt("meta.lease", 5));
    if (lease_s < 2 || lease_s > 600) return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.lease must be 2..600 (s)");
    f.lease = std::chrono::seconds(lease_s);
    ASSIGN_OR_RETURN(int64_t ack_ms, config.GetInt("meta.ack_timeout", 3000));
    if (ack_ms < 100) return zcfs::Error(zcfs::Code::kInvalidArgument, "--meta.ack_timeout must be at least 100 (ms)");
    f.ack_timeout = std::chrono::milliseconds(ack_ms);
    ASSIGN_OR_RETURN(f.repl_log_bytes, config.GetBytes("meta.repl_log", f.repl_log_bytes));
  }
  return f;
}

int fail(const zcfs::Status& status) {
  std::fprintf(stderr, "zcfs-meta: %s\n", status.ToString().c_str());
  return kExitUsage;
}

// Waits for SIGTERM/SIGINT on a thread of its own, then runs the stop action set last (or the one
// set after the signal came, at once). A standby has nothing to stop but its loop; a serving server
// stops its RPC server.
class StopWatcher {
 public:
  StopWatcher() {
    // Detached: it lives as long as the process, as a signal may come at any point.
    std::thread([this] {
      zcfs::wait_for_stop_signal([this] {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        if (action_) action_();
        done_.notify_all();
      });
    }).detach();
  }
  void OnStop(std::function<void()> action) {
    std::lock_guard lock(mutex_);
    action_ = std::move(action);
    if (stopped_) action_();
  }
  void Wait() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return stopped_.load(); });
  }
  const std::atomic<bool>& stopped() const { return stopped_; }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::atomic<bool> stopped_{false};
  std::function<void()> action_;
};

// What a replicated primary adds to serving: its log and standbys, and the election it must keep.
struct Replication {
  zcfs::meta::MetaElection& election;
  zcfs::meta::ReplicationLog& log;
  zcfs::meta::Followers& followers;
  int64_t epoch = 0;
};

// Serves the namespace from `store` until a stop signal. With `replication`, also the standbys' pulls,
// and only while this server surely is the primary: once it may not be, it refuses every call, and
// once it knows it is not, it exits (kExitDeposed).
int serve(const Flags& flags, zcfs::meta::KvStore& store, zcfs::meta::StoreDirectory& dir, Replication* replication,
          StopWatcher& stop) {
  // The trimmer finds storage servers through the operator's routing table, so it is created first
  // and pointed at the operator once that exists.
  std::atomic<zcfs::meta::MetaOperator*> op_for_routing{nullptr};
  zcfs::meta::MetaOptions options = flags.meta;
  options.trimmer = zcfs::meta::MakeStorageChunkTrimmer([&op_for_routing] {
    zcfs::meta::MetaOperator* op = op_for_routing.load();
    return op ? op->GetRouting() : zcfs::pb::RoutingTable();
  });
  auto op = zcfs::meta::MetaOperator::Open(store, options);
  if (!op.ok()) return fail(op.status());
  op_for_routing = op->get();
  zcfs::meta::MetaOperator& meta = **op;
  zcfs::meta::PeriodicTask reclaimer(
      [&meta] {
        size_t reclaimed = meta.ReclaimOrphans();
        if (reclaimed > 0) LOG_INFO << "reclaimed " << reclaimed << " unlinked file(s)";
        auto swept = meta.SweepMutationIds();
        if (!swept.ok()) LOG_WARN << "sweeping mutation ids: " << swept.status().ToString();
      },
      flags.reclaim_interval);
  // Leases are checked four times per timeout, so a silent node leaves its chains within 1.25 timeouts.
  zcfs::meta::PeriodicTask lease_checker(
      [&meta] {
        auto lapsed = meta.CheckNodeLeases();
        if (!lapsed.ok()) LOG_WARN << "checking node leases: " << lapsed.status().ToString();
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(flags.meta.node_timeout / 4));

  zcfs::IoContextPool io(flags.threads);
  // The meta server takes no payloads; with max_payload 0 it reads several frames per recv.
  zcfs::FrameLimits limits;
  limits.max_payload = 0;
  auto server = std::make_unique<zcfs::RpcServer>(io, limits);
  zcfs::meta::MetaService service(**op);
  service.RegisterOn(*server);
  auto checkpoints = std::make_unique<zcfs::meta::CheckpointService>(dir.store(), dir.checkpoints_path());
  checkpoints->RegisterOn(*server);
  std::unique_ptr<zcfs::meta::ReplicationService> pulls;
  std::optional<zcfs::meta::PeriodicTask> watchdog;
  if (replication != nullptr) {
    pulls = std::make_unique<zcfs::meta::ReplicationService>(replication->log, replication->followers,
                                                             static_cast<uint64_t>(replication->epoch));
    pulls->RegisterOn(*server);
    // Every reply says whose it is: a client that saw a newer primary refuses this one's once deposed.
    server->SetReplyTrailer(zcfs::epoch_trailer(static_cast<uint64_t>(replication->epoch)));
    server->SetAdmission([replication, member = flags.advertise](uint16_t) {
      if (replication->election.LeaseFresh() && !replication->followers.deposed()) return zcfs::Status::Ok();
      return zcfs::Error(zcfs::Code::kUnavailable, "meta server " + member + " is not surely the primary now");
    });
    watchdog.emplace(
        [replication] {
          if (!replication->election.LeaseLost() && !replication->followers.deposed()) return;
          // Nothing it holds beyond the new primary's history was acknowledged; it must not serve
          // again from this process. Its supervisor restarts it, and it rejoins as a standby.
          LOG_ERROR << "deposed as the primary meta server: exiting";
          std::_Exit(kExitDeposed);
        },
        std::chrono::milliseconds(200));
  }
  auto bound = server->Listen(flags.listen);
  if (!bound.ok()) return fail(bound.status());
  std::string address = bound->address().to_string() + ":" + std::to_string(bound->port());
  if (!flags.ready_file.empty()) {
    zcfs::Status s = zcfs::write_file_atomic(flags.ready_file, address);
    if (!s.ok()) return fail(s);
  }
  LOG_INFO << "zcfs-meta serving on " << address;

  stop.OnStop([&] {
    server->Stop();
    io.Stop();
  });
  stop.Wait();
  server.reset();  // no handler can run any more: the I/O threads are joined
  service.Stop();  // nor a mutation on a waiting thread
  pulls.reset();
  checkpoints.reset();
  reclaimer.Stop();
  lease_checker.Stop();
  if (watchdog) watchdog->Stop();
  op->reset();
  return 0;
}

// A replicated meta server: a standby until elected, then the primary.
int run_replicated(const Flags& flags, zcfs::meta::StoreDirectory& dir, StopWatcher& stop) {
  auto position = zcfs::meta::read_position(dir.store());
  if (!position.ok()) return fail(position.status());
  zcfs::meta::ReplicationLog log(flags.repl_log_bytes);
  log.Reset(*position);
  zcfs::EtcdClient etcd({.endpoints = flags.etcd});
  zcfs::meta::MetaElection election(etcd, {.cluster = flags.cluster, .member = flags.advertise, .ttl = flags.lease});
  zcfs::Status started = election.Start();
  if (!started.ok()) return fail(started.Prepend("etcd"));
  LOG_INFO << "zcfs-meta " << flags.advertise << " standing by at position " << position->seq << "@" << position->epoch;
  zcfs::meta::Standby standby(dir, log, election);
  const auto elected = standby.Run(stop.stopped());
  if (!elected.ok()) {
    LOG_ERROR << "standby: " << elected.status().ToString();
    return 1;
  }
  if (!elected->has_value()) return 0;  // stopped while standing by
  const int64_t epoch = **elected;

  auto standbys = election.TakeOver(epoch);
  if (!standbys.ok()) return fail(standbys.status());
  zcfs::meta::Followers followers(
      [&election, epoch](const std::vector<std::string>& in) { return election.PublishInSync(epoch, in); },
      flags.ack_timeout);
  followers.Start(*standbys);
  zcfs::meta::ReplicatedStore replicated(dir.store(), log, followers, static_cast<uint64_t>(epoch));
  Replication replication{election, log, followers, epoch};
  int code = serve(flags, replicated, dir, &replication, stop);
  election.Stop();  // hands over at once
  return code;
}

int run(const Flags& flags) {
  auto dir = zcfs::meta::StoreDirectory::Open(flags.data_dir, {.sync_writes = flags.sync_writes});
  if (!dir.ok()) return fail(dir.status());
  StopWatcher stop;
  int code = flags.etcd.empty() ? serve(flags, (*dir)->store(), **dir, nullptr, stop) : run_replicated(flags, **dir, stop);
  zcfs::Status closed = (*dir)->Close();
  if (!closed.ok()) {
    LOG_ERROR << "closing the database: " << closed.ToString();
    return code == 0 ? 1 : code;
  }
  if (code == 0) LOG_INFO << "zcfs-meta stopped";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  zcfs::block_stop_signals();
  auto config = zcfs::load_server_config("zcfs-meta", argc, argv);
  if (!config.ok()) return fail(config.status());
  auto flags = parse_flags(*config);
  if (!flags.ok()) return fail(flags.status());
  return run(*flags);
}
