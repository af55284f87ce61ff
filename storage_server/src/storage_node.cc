#include "zcfs/storage/storage_node.h"

#include <filesystem>
#include <thread>

#include "resync.h"
#include "zcfs/common/logging.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/server_runtime.h"

namespace zcfs {

StorageNode::StorageNode(Options options)
    : options_(std::move(options)), meta_(std::make_shared<MetaRotation>(options_.meta)), threads_(options_.threads) {}

Result<std::unique_ptr<StorageNode>> StorageNode::Start(Options options) {
  if (options.threads < 1) return Error(Code::kInvalidArgument, "threads must be >= 1");
  if (options.data_dir.empty()) return Error(Code::kInvalidArgument, "a data directory is required");
  if (options.target_dirs.empty()) options.target_dirs.push_back(options.data_dir + "/target0");
  std::unique_ptr<StorageNode> node(new StorageNode(std::move(options)));
  Status s = node->Init();
  if (!s.ok()) {
    node->Stop();
    return s;
  }
  return node;
}

Status StorageNode::Init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) return Error(code_from_errno(ec.value()), "create " + options_.data_dir + ": " + ec.message());
  ASSIGN_OR_RETURN(block_io_, UringBlockIo::Create(threads_, options_.io));
  std::vector<StorageTarget*> targets;
  for (const std::string& dir : options_.target_dirs) {
    ChunkStore::Options store;
    store.dir = dir;
    store.max_chunk_size = options_.max_chunk_size;
    ASSIGN_OR_RETURN(auto target, StorageTarget::Open(std::move(store), *block_io_));
    targets.push_back(target.get());
    targets_.push_back(std::move(target));
  }
  // The service runs piece reads and truncates on the executor it is given, so disk reads and replies
  // run on different threads (measured faster than reading on the connection's thread: see
  // storage_service.cc).
  asio::any_io_executor first = threads_.context(0).get_executor();
  service_ = std::make_unique<StorageService>(first, targets, options_.service);
  peers_ = std::make_unique<TcpTransport>(first);
  service_->EnableReplication(view_, *peers_, [this]() { return FetchRouting(); });
  resyncer_ = std::make_unique<storage_internal::Resyncer>(first, view_, *service_->replicator(), *peers_, targets,
                                                           meta_);
  server_ = std::make_unique<RpcServer>(threads_);
  FrameWriterOptions writer = server_->writer_options();
  writer.zerocopy_threshold = options_.zerocopy_threshold;
  writer.zerocopy_loopback = options_.zerocopy_loopback;
  server_->SetWriterOptions(writer);
  service_->RegisterWith(*server_);
  // Before Listen: the RDMA handshake is a method of this server.
  ASSIGN_OR_RETURN(rdma_server_, ServeRdmaIfChosen(*server_, options_.transport, options_.open_rdma_device));
  if (rdma_server_) {
    // Piece reads land in the I/O buffer pool: registered once, replies from it are sent as they are.
    for (std::span<std::byte> buffer : block_io_->pool().regions()) {
      RETURN_IF_ERROR(rdma_server_->RegisterSendMemory(buffer));
    }
  }
  ASSIGN_OR_RETURN(endpoint_, server_->Listen(options_.listen));
  std::string address = endpoint_.address().to_string() + ":" + std::to_string(endpoint_.port());
  LOG_INFO << "serving " << targets.size() << " target(s) on " << address;

  NodeRegistrar::Options reg;
  reg.meta = meta_;
  reg.data_dir = options_.data_dir;
  reg.advertise_address = address;
  reg.interval = options_.heartbeat;
  reg.label = options_.label;
  reg.view = &view_;
  reg.on_round = [resyncer = resyncer_.get()] { resyncer->Poke(); };
  reg.resyncs = [resyncer = resyncer_.get()] { return resyncer->Progress(); };
  std::string ready_file = options_.ready_file;
  registrar_ = std::make_unique<NodeRegistrar>(first, reg, targets, [ready_file, address] {
    if (ready_file.empty()) return;
    Status s = write_file_atomic(ready_file, address);
    if (!s.ok()) LOG_ERROR << "ready file: " << s.ToString();
  });
  return registrar_->Start();
}

Task<Status> StorageNode::FetchRouting() {
  auto table = co_await call_meta_pb<pb::RoutingTable>(threads_.context(0).get_executor(), *meta_, method::kGetRouting,
                                                       pb::GetRoutingRequest(), std::chrono::seconds(2));
  if (!table.ok()) co_return Status(table.status()).Prepend("fetch the routing table");
  view_.Update(std::move(table).value());
  co_return Status::Ok();
}

StorageNode::~StorageNode() { Stop(); }

void StorageNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (rdma_server_) rdma_server_->Stop();
  if (server_) server_->Stop();
  if (registrar_) registrar_->Stop();
  if (resyncer_) resyncer_->Stop();
  // Requests in progress hold disk I/O and buffers: let them end before the threads stop. Bounded, so a
  // stuck peer cannot hold the process forever.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline &&
         ((service_ && service_->active_requests() > 0) || (server_ && server_->connection_count() > 0))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (peers_) peers_->CloseAll();
  threads_.Stop();
}

}  // namespace zcfs
