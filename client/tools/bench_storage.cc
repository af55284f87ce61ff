// zcfs-bench storage: chunk reads straight from the storage servers, without the namespace.
//
//   zcfs-bench storage (--meta=HOST:PORT | --storage=HOST:PORT[,HOST:PORT...]) [--chunks=64]
//                      [--chunk-size=4MiB] [--block=1MiB] [--pattern=seq|rand] [--threads=2] [--depth=4]
//                      [--seconds=10] [--batch=1] [--verify] [--transport=tcp|rdma|auto ...]
//
// The targets come from the meta server's routing table (--meta: every online target), or straight
// from the named storage servers (--storage: each lists the targets it serves, ListTargets; no meta
// server needed, but a node must have registered once to have target ids). The bench writes --chunks
// chunks of a synthetic inode, spread round robin over the targets, then reads them for --seconds with
// --threads I/O threads and --depth requests in flight per thread, each request one --block at a
// block-aligned offset: front to back through the chunks (seq), or a random chunk and offset (rand).
// With --batch=N a request carries N such blocks, all of chunks on one target, as a data loader batches
// the samples of a step: the disk still reads each block on its own, the wire carries one reply.
// It prints MiB/s, requests/s and p50/p99 latency, and removes its chunks at the end (TruncateChunks
// to 0 on every target).
//
// What it measures is the storage server and the wire: the same BatchRead calls the client library
// makes, with the reply payload placed straight into each request's own buffer (registered once per
// reader; over --transport=rdma the server RDMA WRITEs each block into it).
#include "bench_storage.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bench_percentile.h"
#include "zcfs.pb.h"
#include "zcfs/client/client.h"
#include "zcfs/client/transport_flags.h"
#include "zcfs/common/address.h"
#include "zcfs/common/aligned_buffer.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"
#include "zcfs/proto/rdma/transport_choice.h"

namespace zcfs {
namespace {

using Clock = std::chrono::steady_clock;

struct StorageBenchOptions {
  std::string meta;
  std::vector<std::string> storage;  // storage servers to ask for their targets instead of the meta server
  uint32_t chunks = 64;
  uint32_t chunk_size = 4u << 20;
  uint32_t block = 1u << 20;
  bool random = false;
  int threads = 2;
  int depth = 4;
  uint32_t batch = 1;  // blocks per request
  double seconds = 10;
  bool verify = false;
  ClientOptions transport;  // --transport, --rdma-device, --rdma-gid-index
};

// Where a chunk is written and read. With the meta server, a chain's head: writes go down the chain
// (chain_id, chain_version), and `copies` are every replica the chunks land on (they are removed from
// each). From --storage, a bare target that holds its chunks alone.
struct Target {
  uint32_t id = 0;
  std::string address;
  uint32_t chain_id = 0;
  uint64_t chain_version = 0;
  std::vector<std::pair<uint32_t, std::string>> copies;  // (target id, address); empty: just this one
};

// Far above any inode number the meta server hands out (they count up from 1), and distinct per run.
uint64_t bench_inode() { return (uint64_t{0x7a63} << 48) | (static_cast<uint64_t>(::getpid()) & 0xffffffffffull); }

// Byte i of chunk k: a pattern that differs between chunks and offsets, to verify reads.
std::byte pattern_byte(uint32_t chunk, uint64_t i) { return static_cast<std::byte>((i * 131 + chunk * 7 + 1) & 0xff); }

Result<std::vector<Target>> online_targets(const std::string& meta) {
  ClientOptions options;
  options.meta_address = meta;
  ASSIGN_OR_RETURN(auto client, Client::Connect(options));
  ASSIGN_OR_RETURN(ClusterState state, client->ClusterStatus());
  std::map<uint32_t, std::string> online_address;  // target -> address of its online node
  for (const auto& t : state.targets) {
    for (const auto& n : state.nodes) {
      if (n.node_id == t.node_id && n.online) online_address[t.target_id] = n.address;
    }
  }
  std::vector<Target> targets;
  for (const auto& chain : state.chains) {
    if (chain.members.empty() || chain.members[0].state != ReplicaState::kServing) continue;
    auto head = online_address.find(chain.members[0].target_id);
    if (head == online_address.end()) continue;
    Target target{head->first, head->second, chain.chain_id, chain.version, {}};
    for (const auto& m : chain.members) {
      auto copy = online_address.find(m.target_id);
      if (m.state != ReplicaState::kOffline && copy != online_address.end()) target.copies.emplace_back(*copy);
    }
    targets.push_back(std::move(target));
  }
  if (targets.empty()) return Error(Code::kUnavailable, "no storage chain with an online head");
  return targets;
}

// The targets the storage servers at `addresses` serve (ListTargets), skipping those without an id.
Task<Result<std::vector<Target>>> listed_targets(Transport& transport, std::vector<std::string> addresses) {
  std::vector<Target> targets;
  for (const std::string& address : addresses) {
    auto channel = co_await transport.Channel(address);
    if (!channel.ok()) co_return Status(channel.status()).Prepend("storage " + address);
    auto listed = co_await CallPb<pb::ListTargetsReply>(**channel, method::kListTargets, pb::ListTargetsRequest());
    if (!listed.ok()) co_return Status(listed.status()).Prepend("storage " + address + ": list targets");
    for (const auto& t : listed->targets()) {
      if (t.target_id() != 0) targets.push_back({t.target_id(), address});
    }
  }
  if (targets.empty()) {
    co_return Error(Code::kUnavailable,
                    "no target with an id on the storage server(s) (a node gets its target ids when it first "
                    "registers with a meta server)");
  }
  co_return targets;
}

// Where chunk k lives.
const Target& target_of(const std::vector<Target>& targets, uint32_t chunk) { return targets[chunk % targets.size()]; }

Task<Status> write_chunk(Transport& transport, const Target& target, uint64_t inode, uint32_t chunk,
                         const StorageBenchOptions& o) {
  AlignedBuffer data(o.chunk_size, AlignedBuffer::Init::kUninitialized);
  for (uint64_t i = 0; i < o.chunk_size; ++i) data.data()[i] = pattern_byte(chunk, i);
  auto channel = co_await transport.Channel(target.address);
  if (!channel.ok()) co_return channel.status();
  pb::WriteChunkRequest request;
  request.set_inode(inode);
  request.set_chunk_index(chunk);
  request.set_target_id(target.id);
  request.set_offset(0);
  request.set_chunk_size(o.chunk_size);
  request.set_chain_id(target.chain_id);
  request.set_chain_version(target.chain_version);
  CallOptions call;
  call.timeout = std::chrono::seconds(60);
  call.payload.emplace_back(data.data(), data.size());
  auto reply = co_await CallPb<pb::WriteChunkReply>(**channel, method::kWriteChunk, request, std::move(call));
  co_return reply.status();
}

// Removes the bench inode's chunks from one target; returns how many the target removed.
Task<Result<uint32_t>> remove_chunks(Transport& transport, uint32_t target_id, std::string address, uint64_t inode,
                                     const StorageBenchOptions& o) {
  auto channel = co_await transport.Channel(address);
  if (!channel.ok()) co_return channel.status();
  pb::TruncateChunksRequest request;
  request.set_inode(inode);
  request.set_target_id(target_id);
  request.set_length(0);
  request.set_chunk_size(o.chunk_size);
  auto reply = co_await CallPb<pb::TruncateChunksReply>(**channel, method::kTruncateChunks, request);
  if (!reply.ok()) co_return reply.status();
  co_return reply->removed_chunks();
}

// What the readers share.
struct ReadState {
  const StorageBenchOptions* o = nullptr;
  const std::vector<Target>* targets = nullptr;
  Transport* transport = nullptr;
  uint64_t inode = 0;
  Clock::time_point deadline;
  std::atomic<uint64_t> next_block{0};  // seq: the next block to read, over all chunks in order
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> requests{0};
  std::mutex mutex;
  std::vector<int64_t> latencies_ns;  // guarded by mutex
  Status error;                       // guarded by mutex: the first failure
};

// One block of a request: chunk and block-aligned offset.
struct BlockRef {
  uint32_t chunk = 0;
  uint32_t offset = 0;
};

Status check_block(const StorageBenchOptions& o, BlockRef b, const std::byte* data) {
  for (uint64_t i = 0; i < o.block; ++i) {
    if (data[i] != pattern_byte(b.chunk, b.offset + i)) {
      return Error(Code::kInternal,
                   "chunk " + std::to_string(b.chunk) + " has a wrong byte at " + std::to_string(b.offset + i));
    }
  }
  return Status::Ok();
}

// Reads `blocks` (all on one target) in one BatchRead, their bytes back to back into `buffer`.
Task<Status> read_blocks(ReadState& s, const std::vector<BlockRef>& blocks, AlignedBuffer& buffer) {
  const Target& target = target_of(*s.targets, blocks.front().chunk);
  auto channel = co_await s.transport->Channel(target.address);
  if (!channel.ok()) co_return channel.status();
  pb::BatchReadRequest request;
  for (BlockRef b : blocks) {
    auto* piece = request.add_pieces();
    piece->set_inode(s.inode);
    piece->set_chunk_index(b.chunk);
    piece->set_target_id(target.id);
    piece->set_offset(b.offset);
    piece->set_length(s.o->block);
  }
  auto reply = std::make_shared<pb::BatchReadReply>();
  CallOptions call;
  for (size_t i = 0; i < blocks.size(); ++i) {  // RDMA: block i lands at its place in the buffer
    call.reply_segments.emplace_back(buffer.data() + i * s.o->block, s.o->block);
  }
  call.placement = [reply, &buffer](const FrameHeader& header,
                                    std::string_view body) -> Result<std::vector<asio::mutable_buffer>> {
    RETURN_IF_ERROR(ParseMessage(*reply, body, "batch read reply"));
    if (header.payload_len > buffer.size()) return Error(Code::kProtocolError, "reply larger than the request");
    return std::vector<asio::mutable_buffer>{asio::buffer(buffer.data(), header.payload_len)};
  };
  auto response = co_await (*channel)->Call(method::kBatchRead, request.SerializeAsString(), std::move(call));
  if (!response.ok()) co_return response.status();
  if (response->payload_len == 0) {  // no placement ran (an error result): parse the reply here
    Status parsed = ParseMessage(*reply, response->body, "batch read reply");
    if (!parsed.ok()) co_return parsed;
  }
  if (reply->results_size() != static_cast<int>(blocks.size())) {
    co_return Error(Code::kProtocolError, "batch read reply has the wrong size");
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& result = reply->results(static_cast<int>(i));
    if (result.status() != 0)
      co_return Status(code_from_wire(static_cast<uint16_t>(result.status())), result.message());
    if (result.length() != s.o->block) {
      co_return Error(Code::kInternal, "chunk " + std::to_string(blocks[i].chunk) + " returned " +
                                           std::to_string(result.length()) + " of " + std::to_string(s.o->block) +
                                           " bytes");
    }
    if (s.o->verify) {
      Status ok = check_block(*s.o, blocks[i], buffer.data() + i * s.o->block);
      if (!ok.ok()) co_return ok;
    }
  }
  co_return Status::Ok();
}

// The next request's blocks: --batch of them, on chunks of the first one's target.
std::vector<BlockRef> next_blocks(ReadState& s, std::mt19937_64& random) {
  const StorageBenchOptions& o = *s.o;
  const uint64_t blocks_per_chunk = o.chunk_size / o.block;
  const uint64_t total = o.chunks * blocks_per_chunk;
  const auto stride = static_cast<uint32_t>(s.targets->size());
  std::vector<BlockRef> blocks;
  for (uint32_t i = 0; i < o.batch; ++i) {
    uint64_t block = o.random ? random() % total : s.next_block.fetch_add(1) % total;
    auto chunk = static_cast<uint32_t>(block / blocks_per_chunk);
    if (i > 0) {  // move to the nearest chunk of the same target (chunks go round robin over targets)
      chunk = chunk - chunk % stride + blocks.front().chunk % stride;
      if (chunk >= o.chunks) chunk = blocks.front().chunk;
    }
    blocks.push_back({chunk, static_cast<uint32_t>((block % blocks_per_chunk) * o.block)});
  }
  return blocks;
}

// One reader: requests one batch of blocks after another until the deadline.
Task<> reader(ReadState& s, uint64_t seed) {
  const StorageBenchOptions& o = *s.o;
  AlignedBuffer buffer(uint64_t{o.block} * o.batch, AlignedBuffer::Init::kUninitialized);
  std::mt19937_64 random(seed);
  std::vector<int64_t> latencies;
  // Registered once, as a data loader's buffers are: RDMA would otherwise register it per request.
  auto region = s.transport->RegisterMemory(buffer.data(), buffer.size());
  Status failure = region.status();
  while (failure.ok() && Clock::now() < s.deadline) {
    std::vector<BlockRef> blocks = next_blocks(s, random);
    auto start = Clock::now();
    failure = co_await read_blocks(s, blocks, buffer);
    if (!failure.ok()) break;
    latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    s.bytes += uint64_t{o.block} * o.batch;
    ++s.requests;
  }
  if (region.ok()) s.transport->DeregisterMemory(region->id).IgnoreError();
  std::lock_guard lock(s.mutex);
  s.latencies_ns.insert(s.latencies_ns.end(), latencies.begin(), latencies.end());
  if (!failure.ok() && s.error.ok()) s.error = failure;
}

Status run(const StorageBenchOptions& o) {
  IoThreads io(o.threads);
  ASSIGN_OR_RETURN(TransportChoice choice,
                   make_transport_choice(o.transport.transport, o.transport.rdma_device, o.transport.rdma_gid_index));
  auto made = MakeClientTransport(io.executor(), choice);
  if (!made.ok()) {
    io.Stop();
    return made.status();
  }
  Transport& transport = **made;
  std::printf("storage bench: transport %s\n", std::string(transport.name()).c_str());
  Result<std::vector<Target>> listed =
      o.storage.empty() ? online_targets(o.meta)
                        : asio::co_spawn(io.executor(), listed_targets(transport, o.storage), asio::use_future).get();
  if (!listed.ok()) {
    transport.CloseAll();
    io.Stop();
    return listed.status();
  }
  const std::vector<Target> targets = std::move(*listed);
  const uint64_t inode = bench_inode();

  uint32_t removed_chunks = 0;
  auto remove_all = [&]() -> Status {
    Status first;
    for (const auto& t : targets) {
      auto copies = t.copies.empty() ? std::vector<std::pair<uint32_t, std::string>>{{t.id, t.address}} : t.copies;
      for (const auto& [id, address] : copies) {
        auto removed =
            asio::co_spawn(io.executor(), remove_chunks(transport, id, address, inode, o), asio::use_future).get();
        if (removed.ok()) removed_chunks += *removed;
        if (!removed.ok() && first.ok()) first = removed.status();
      }
    }
    return first;
  };

  auto write_start = Clock::now();
  std::vector<std::future<Status>> writes;
  Status written;
  for (uint32_t k = 0; k < o.chunks && written.ok(); ++k) {
    writes.push_back(
        asio::co_spawn(io.executor(), write_chunk(transport, target_of(targets, k), inode, k, o), asio::use_future));
    if (writes.size() >= 8 || k + 1 == o.chunks) {  // a few at a time: bounded memory
      for (auto& w : writes) {
        Status s = w.get();
        if (!s.ok() && written.ok()) written = s;
      }
      writes.clear();
    }
  }
  if (!written.ok()) {
    (void)remove_all();
    return written.Prepend("writing the bench chunks");
  }
  double write_secs = std::chrono::duration<double>(Clock::now() - write_start).count();
  double total_mib = static_cast<double>(o.chunks) * o.chunk_size / (1 << 20);
  std::printf("storage bench: %u chunks x %u KiB of inode %#llx on %zu target(s), written at %.1f MiB/s\n", o.chunks,
              o.chunk_size >> 10, static_cast<unsigned long long>(inode), targets.size(), total_mib / write_secs);
  std::fflush(stdout);

  ReadState s;
  s.o = &o;
  s.targets = &targets;
  s.transport = &transport;
  s.inode = inode;
  auto start = Clock::now();
  s.deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::future<void>> readers;
  for (int i = 0; i < o.threads * o.depth; ++i) {
    readers.push_back(asio::co_spawn(io.executor(), reader(s, 0x9e3779b97f4a7c15ull * (i + 1)), asio::use_future));
  }
  for (auto& r : readers) r.get();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();

  Status cleanup = remove_all();
  transport.CloseAll();
  io.Stop();
  RETURN_IF_ERROR(s.error);
  std::sort(s.latencies_ns.begin(), s.latencies_ns.end());
  std::printf(
      "%s reads of %u KiB, %u per request, %d threads x %d deep%s: %.1f MiB/s, %.0f requests/s, p50 %.1f us, "
      "p99 %.1f us (%llu requests in %.2f s)\n",
      o.random ? "random" : "sequential", o.block >> 10, o.batch, o.threads, o.depth, o.verify ? ", verified" : "",
      static_cast<double>(s.bytes.load()) / (1 << 20) / secs, static_cast<double>(s.requests.load()) / secs,
      static_cast<double>(percentile(s.latencies_ns, 0.50)) / 1000.0,
      static_cast<double>(percentile(s.latencies_ns, 0.99)) / 1000.0,
      static_cast<unsigned long long>(s.requests.load()), secs);
  if (!cleanup.ok()) return cleanup.Prepend("removing the bench chunks");
  std::printf("removed %u chunks\n", removed_chunks);
  return Status::Ok();
}

int usage() {
  std::fprintf(stderr,
               "usage: zcfs-bench storage (--meta=HOST:PORT | --storage=HOST:PORT[,HOST:PORT...]) [--chunks=N]\n"
               "                          [--chunk-size=BYTES] [--block=BYTES] [--pattern=seq|rand] [--threads=N]\n"
               "                          [--depth=N] [--seconds=S] [--batch=N] [--verify]\n"
               "                          [--transport=tcp|rdma|auto] [--rdma-device=NAME] [--rdma-gid-index=N]\n");
  return 2;
}

std::vector<std::string> split_addresses(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

int run_storage_bench(const Config& config) {
  StorageBenchOptions o;
  o.meta = config.GetString("meta", "127.0.0.1:8000");
  o.storage = split_addresses(config.GetString("storage", ""));
  if (config.Has("storage") && (o.storage.empty() || config.Has("meta"))) return usage();  // one source of targets
  for (const auto& address : o.storage) {
    if (!parse_host_port(address).ok()) return usage();
  }
  auto chunks = config.GetInt("chunks", 64);
  auto chunk_size = config.GetBytes("chunk-size", 4u << 20);
  auto block = config.GetBytes("block", 1u << 20);
  auto threads = config.GetInt("threads", 2);
  auto depth = config.GetInt("depth", 4);
  auto batch = config.GetInt("batch", 1);
  auto seconds = config.GetInt("seconds", 10);
  auto verify = config.GetBool("verify", false);
  std::string pattern = config.GetString("pattern", "seq");
  if (!chunks.ok() || !chunk_size.ok() || !block.ok() || !threads.ok() || !depth.ok() || !batch.ok() || !seconds.ok() ||
      !verify.ok() || (pattern != "seq" && pattern != "rand") || *chunks < 1 || *chunks > 1000000 ||
      *chunk_size < 4096 || *chunk_size > (64u << 20) || *block < 4096 || *block > *chunk_size ||
      *chunk_size % *block != 0 || *threads < 1 || *threads > 64 || *depth < 1 || *depth > 256 || *batch < 1 ||
      *batch > 256 || *block * *batch > (64u << 20) || *seconds < 1 || *seconds > 3600) {
    return usage();
  }
  o.chunks = static_cast<uint32_t>(*chunks);
  o.chunk_size = static_cast<uint32_t>(*chunk_size);
  o.block = static_cast<uint32_t>(*block);
  o.random = pattern == "rand";
  o.threads = static_cast<int>(*threads);
  o.depth = static_cast<int>(*depth);
  o.batch = static_cast<uint32_t>(*batch);
  o.seconds = static_cast<double>(*seconds);
  o.verify = *verify;
  if (Status t = apply_transport_flags(config, o.transport); !t.ok()) {
    std::fprintf(stderr, "zcfs-bench storage: %s\n", t.message().c_str());
    return usage();
  }
  Status s = run(o);
  if (!s.ok()) {
    std::fprintf(stderr, "zcfs-bench storage: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace zcfs
