// Client: the namespace half (meta server calls and path walking). The data half is in data_path.cc.
#include "zcfs/client/client.h"

#include <unistd.h>

#include <random>

#include "client_impl.h"
#include "path_walk.h"
#include "paths.h"
#include "pb_convert.h"
#include "zcfs/common/copy_counter.h"
#include "zcfs/proto/methods.h"

namespace zcfs {
namespace {

uint64_t random_client_id() {
  std::random_device random;
  uint64_t id = 0;
  while (id == 0) id = (uint64_t{random()} << 32) | random();
  return id;
}

pb::Credentials to_pb(const Credentials& who) {
  pb::Credentials cred;
  cred.set_uid(who.uid);
  cred.set_gid(who.gid);
  for (uint32_t group : who.groups) cred.add_groups(group);
  return cred;
}

// The data transport ClientOptions::transport names. When it cannot be had, a TCP one stands in so the
// object is whole, and `error` says why: Start() then fails with it.
std::unique_ptr<Transport> make_data_transport(asio::any_io_executor executor, const ClientOptions& options,
                                               const DeviceOpener& open, Status& error) {
  TcpTransportOptions tcp{options.connect_timeout, FrameLimits{}};
  auto choice = make_transport_choice(options.transport, options.rdma_device, options.rdma_gid_index);
  if (choice.ok()) {
    choice->rdma.connect_timeout = options.connect_timeout;
    auto transport = MakeClientTransport(executor, *choice, tcp, open);
    if (transport.ok()) return std::move(transport).value();
    error = transport.status();
  } else {
    error = choice.status();
  }
  return std::make_unique<TcpTransport>(executor, tcp);
}

}  // namespace

ClientImpl::ClientImpl(ClientOptions options, const ClientHooks& hooks)
    : options_(std::move(options)),
      io_(options_.io_threads),
      transport_(make_data_transport(io_.executor(), options_, hooks.open_rdma_device, transport_status_)),
      meta_transport_(io_.executor(), TcpTransportOptions{options_.connect_timeout, FrameLimits{}}),
      routing_(options_.label),
      connections_per_server_(static_cast<size_t>(std::max(1, options_.connections_per_server))),
      buffers_(std::make_shared<BufferRegistry>(*transport_)),
      dir_cache_(options_.dir_cache_ttl),
      client_id_(random_client_id()),
      // Once: getuid()/getgid() are syscalls, and every namespace call sends credentials.
      default_cred_(to_pb(options_.cred.value_or(Credentials{::getuid(), ::getgid()}))),
      sessions_(SessionKeeper::Callbacks{[this] { return RenewSessions(); },
                                         [this](uint64_t ino) { return ReopenSession(ino); }},
                options_.session_renew_interval) {}

Status ClientImpl::RenewSessions() {
  pb::KeepAliveRequest req;
  req.set_client_id(client_id_);
  auto reply = MetaCall<pb::EmptyReply>(method::kKeepAlive, req);
  return reply.ok() ? Status::Ok() : reply.status();
}

Result<uint64_t> ClientImpl::ReopenSession(uint64_t ino) {
  // Read-only and as root: this only re-registers a file the client opened with checked rights.
  pb::OpenRequest req;
  req.set_ino(ino);
  *req.mutable_cred() = credentials(Credentials{0, 0, {}});
  req.set_client_id(client_id_);
  ASSIGN_OR_RETURN(pb::OpenReply reply, MetaCall<pb::OpenReply>(method::kOpen, req));
  return reply.session_id();
}

ClientImpl::~ClientImpl() {
  buffers_->Detach();  // buffers still alive only free their memory from now on
  sessions_.Stop();    // it calls the meta server through the I/O threads stopped below
  transport_->CloseAll();
  meta_transport_.CloseAll();
  if (meta_servers_) meta_servers_->CloseAll();
  io_.Stop();
}

Status ClientImpl::Start() {
  RETURN_IF_ERROR(transport_status_);
  ASSIGN_OR_RETURN(auto servers, parse_meta_servers(options_.meta_address));
  meta_servers_ = std::make_unique<MetaServers>(std::move(servers), options_.connect_timeout, options_.failover_timeout);
  // The first table on the blocking path, which waits out a failover in progress (MetaServers::Call);
  // later refreshes ask each member once, as their callers retry.
  ASSIGN_OR_RETURN(pb::RoutingTable table, MetaCall<pb::RoutingTable>(method::kGetRouting, pb::GetRoutingRequest()));
  routing_.Update(table);
  return Status::Ok();
}

pb::Credentials ClientImpl::credentials(const std::optional<Credentials>& caller) const {
  return caller ? to_pb(*caller) : default_cred_;
}

Task<Result<pb::RoutingTable>> ClientImpl::FetchRoutingAsync() {
  co_return co_await MetaCallAsync<pb::RoutingTable>(method::kGetRouting, pb::GetRoutingRequest());
}

Task<Status> ClientImpl::RefreshRouting() {
  // Many reads failing at once (a node died) would each ask; a table fetched this recently is fresh.
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now - last_refresh_ns_.load() < std::chrono::nanoseconds(kRefreshCoalesce).count()) co_return Status::Ok();
  auto table = co_await FetchRoutingAsync();
  if (!table.ok()) co_return table.status();
  routing_.Update(*table);
  last_refresh_ns_.store(now);
  co_return Status::Ok();
}

Task<Status> ClientImpl::WriteRerouted(FileInfo file, uint64_t offset, std::span<const std::byte> src) {
  // A write fails over as long as the chain may still be moving on: a head that died is replaced once
  // its lease ran out (kUnavailable until then), a member that restarted is resynced (kStaleRouting
  // while chain versions move), a server frozen mid-write times out. Writing the same bytes at the
  // same offset again leaves the chunk as one write would, so the whole write is simply sent again.
  const auto give_up = std::chrono::steady_clock::now() + options_.failover_timeout;
  std::chrono::milliseconds pause{50};
  for (;;) {
    Status written = co_await WriteAsync(file, offset, src);
    const Code code = written.code();
    if (code != Code::kUnavailable && code != Code::kStaleRouting && code != Code::kTimeout) co_return written;
    if (std::chrono::steady_clock::now() + pause >= give_up) co_return written;
    asio::steady_timer timer(co_await asio::this_coro::executor, pause);
    co_await timer.async_wait(asio::use_awaitable);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    last_refresh_ns_.store(0);  // this refresh must ask
    (void)co_await RefreshRouting();
  }
}

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) { return Connect(options, {}); }

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options, const ClientHooks& hooks) {
  auto impl = std::make_unique<ClientImpl>(options, hooks);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<ClientImpl> impl) : impl_(std::move(impl)) {}
Client::~Client() { CloseAllHandles(); }

Result<FileInfo> Client::Lookup(uint64_t parent, std::string_view name, std::optional<Credentials> cred) {
  pb::LookupRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  *req.mutable_cred() = impl_->credentials(cred);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kLookup, req));
}

Result<FileInfo> ClientImpl::GetAttr(uint64_t ino) {
  pb::GetAttrRequest req;
  req.set_ino(ino);
  return attr_of(MetaCall<pb::AttrReply>(method::kGetAttr, req));
}

FileInfo ClientImpl::KnownForRead(OpenHandleState& handle, uint64_t offset, uint64_t length) {
  FileInfo known = handle.info();
  if (offset + length <= known.size) return known;
  auto fresh = GetAttr(known.ino);
  if (!fresh.ok()) return known;
  handle.Revalidate(*fresh);
  return handle.info();
}

Result<FileInfo> Client::GetAttr(uint64_t ino) { return impl_->GetAttr(ino); }

Result<FileInfo> Client::Mkdir(uint64_t parent, std::string_view name, uint32_t mode, std::optional<Credentials> cred) {
  pb::MkdirRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  req.set_mode(mode);
  *req.mutable_cred() = impl_->credentials(cred);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kMkdir, req));
}

Result<FileInfo> Client::Create(uint64_t parent, std::string_view name, const CreateOptions& options) {
  pb::CreateRequest req;
  req.set_parent(parent);
  req.set_name(std::string(name));
  req.set_mode(options.mode);
  req.set_exclusive(options.exclusive);
  req.set_chunk_size(options.chunk_size);
  req.set_stripe_width(options.stripe_width);
  *req.mutable_cred() = impl_->credentials(options.cred);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kCreate, req));
}

Result<DirPage> Client::ReadDirPage(uint64_t ino, std::string_view after, uint32_t max_entries,
                                    std::optional<Credentials> cred) {
  pb::ReaddirRequest req;
  req.set_ino(ino);
  req.set_after(std::string(after));
  req.set_max_entries(max_entries);
  *req.mutable_cred() = impl_->credentials(cred);
  ASSIGN_OR_RETURN(pb::ReaddirReply reply, impl_->MetaCall<pb::ReaddirReply>(method::kReaddir, req));
  DirPage page;
  page.eof = reply.eof();
  for (const auto& e : reply.entries()) page.entries.push_back(DirEntry{e.name(), e.ino(), from_pb(e.type())});
  return page;
}

Result<std::vector<DirEntry>> Client::ReadDir(uint64_t ino, std::optional<Credentials> cred) {
  std::vector<DirEntry> all;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto page, ReadDirPage(ino, after, 0, cred));
    for (auto& e : page.entries) all.push_back(std::move(e));
    if (page.eof || page.entries.empty()) break;
    after = all.back().name;
  }
  return all;
}

Result<FileInfo> Client::SetAttr(uint64_t ino, const AttrChanges& changes, std::optional<Credentials> cred) {
  pb::SetAttrRequest req;
  req.set_ino(ino);
  uint32_t valid = 0;
  if (changes.mode) valid |= setattr::kMode, req.set_mode(*changes.mode);
  if (changes.uid) valid |= setattr::kUid, req.set_uid(*changes.uid);
  if (changes.gid) valid |= setattr::kGid, req.set_gid(*changes.gid);
  if (changes.size) valid |= setattr::kSize, req.set_size(*changes.size);
  if (changes.atime_ns) valid |= setattr::kAtime, req.set_atime_ns(*changes.atime_ns);
  if (changes.mtime_ns) valid |= setattr::kMtime, req.set_mtime_ns(*changes.mtime_ns);
  if (changes.atime_now) valid |= setattr::kAtimeNow;
  if (changes.mtime_now) valid |= setattr::kMtimeNow;
  req.set_valid(valid);
  *req.mutable_cred() = impl_->credentials(cred);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kSetAttr, req));
}

Result<FileInfo> Client::ExtendLength(uint64_t ino, uint64_t length) {
  pb::ExtendLengthRequest req;
  req.set_ino(ino);
  req.set_length(length);
  return attr_of(impl_->MetaCall<pb::AttrReply>(method::kExtendLength, req));
}

Result<FsStats> Client::StatFs() {
  ASSIGN_OR_RETURN(pb::StatFsReply reply, impl_->MetaCall<pb::StatFsReply>(method::kStatFs, pb::StatFsRequest()));
  return FsStats{reply.capacity_bytes(), reply.used_bytes(),    reply.inodes(),
                 reply.online_nodes(),   reply.offline_nodes(), std::max(1u, reply.replication())};
}

Result<FileInfo> Client::Stat(std::string_view path) { return PathWalker(*this, impl_->dir_cache()).Stat(path); }

Result<FileInfo> Client::MakeDirs(std::string_view path, uint32_t mode) {
  ASSIGN_OR_RETURN(FileInfo node, GetAttr(kRootInode));
  for (const auto& part : split_path(path)) {
    auto next = Lookup(node.ino, part);
    if (!next.ok() && next.status().code() == Code::kNotFound) next = Mkdir(node.ino, part, mode);
    // A concurrent creator may have won the race; the directory existing is what we want.
    if (!next.ok() && next.status().code() == Code::kAlreadyExists) next = Lookup(node.ino, part);
    if (!next.ok()) return Status(next.status()).Prepend(std::string(path));
    if (!next->is_dir()) return Error(Code::kNotDirectory, std::string(path) + ": '" + part + "' is not a directory");
    node = std::move(next).value();
  }
  return node;
}

Result<FileInfo> Client::CreatePath(std::string_view path, const CreateOptions& options) {
  return PathWalker(*this, impl_->dir_cache())
      .AtParent<FileInfo>(path, [&](uint64_t dir, const std::string& name) -> Result<FileInfo> {
        auto created = Create(dir, name, options);
        if (!created.ok()) return Status(created.status()).Prepend(std::string(path));
        return created;
      });
}

Result<size_t> Client::Read(const FileInfo& file, uint64_t offset, std::span<std::byte> dst) {
  return run_blocking(impl_->executor(), impl_->ReadAsync(file, offset, dst));
}

void Client::StartRead(const FileInfo& file, uint64_t offset, std::span<std::byte> dst,
                       std::function<void(Result<size_t>)> done) {
  auto read = [](ClientImpl* impl, FileInfo file, uint64_t offset, std::span<std::byte> dst,
                 std::function<void(Result<size_t>)> done) -> Task<> {
    done(co_await impl->ReadAsync(std::move(file), offset, dst));
  };
  asio::co_spawn(impl_->executor(), read(impl_.get(), file, offset, dst, std::move(done)), asio::detached);
}

Status Client::Write(const FileInfo& file, uint64_t offset, std::span<const std::byte> src) {
  return run_blocking(impl_->executor(), impl_->WriteRerouted(file, offset, src));
}

Result<FileInfo> Client::WriteAndExtend(const FileInfo& file, uint64_t offset, std::span<const std::byte> src) {
  RETURN_IF_ERROR(Write(file, offset, src));
  return ExtendLength(file.ino, offset + src.size());
}

uint64_t Client::user_copy_bytes() const { return zcfs::user_copy_bytes(); }
std::string_view Client::transport_name() const { return impl_->transport().name(); }

}  // namespace zcfs
