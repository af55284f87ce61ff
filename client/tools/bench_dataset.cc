#include "bench_dataset.h"

#include <algorithm>
#include <numeric>

namespace zcfs {

std::string data_file_name(bool shard, uint64_t k) { return (shard ? "shard-" : "sample-") + std::to_string(k); }

uint64_t data_file_seed(const std::string& name) {
  uint64_t k = std::stoull(name.substr(name.find('-') + 1));
  // Shards and samples with the same number hold different content.
  return name.rfind("shard-", 0) == 0 ? (uint64_t{1} << 40) + k : k;
}

Dataset planned_dataset(const IoBenchOptions& o) {
  Dataset d;
  uint64_t count = o.shards ? o.shard_count : o.files;
  uint64_t size = o.shards ? o.shard_size : o.size;
  for (uint64_t k = 0; k < count; ++k) d.files.push_back({data_file_name(o.shards, k), size, {}, {}});
  d.bytes = count * size;
  return d;
}

Result<Dataset> load_dataset(Client& client, const IoBenchOptions& o) {
  auto dir = client.Stat(o.dir);
  if (!dir.ok()) return Status(dir.status()).Prepend(o.dir);
  auto entries = client.ReadDir(dir->ino);
  if (!entries.ok()) return Status(entries.status()).Prepend(o.dir);
  const std::string prefix = o.shards ? "shard-" : "sample-";
  Dataset d;
  for (const auto& e : *entries) {
    if (e.type != FileType::kRegular || e.name.rfind(prefix, 0) != 0) continue;
    auto info = client.GetAttr(e.ino);
    if (!info.ok()) return Status(info.status()).Prepend(o.dir + "/" + e.name);
    d.files.push_back({e.name, info->size, *info, {}});
    d.bytes += info->size;
  }
  if (d.files.empty() || d.bytes == 0) {
    return Error(Code::kNotFound, "no " + prefix + "* files with data in " + o.dir +
                                      " (write them first: zcfs-bench "
                                      "write --layout=" +
                                      (o.shards ? "shard" : "files") + " --dir=" + o.dir + ")");
  }
  return d;
}

RequestSource::RequestSource(const Dataset& dataset, uint64_t block, bool random,
                             std::optional<std::chrono::steady_clock::time_point> deadline)
    : dataset_(dataset), block_(block), random_(random), deadline_(deadline) {
  for (const DataFile& f : dataset.files) {
    first_block_.push_back(total_blocks_);
    total_blocks_ += (f.size + block - 1) / block;
  }
  if (random_ && total_blocks_ > 1) {
    // A stride coprime with the block count visits every block once, in an order without locality.
    stride_ = total_blocks_ * 2 / 3 + 1;
    while (std::gcd(stride_, total_blocks_) != 1) ++stride_;
    offset_ = total_blocks_ / 3;
  }
}

Request RequestSource::BlockAt(uint64_t block) const {
  auto it = std::upper_bound(first_block_.begin(), first_block_.end(), block);
  size_t file = static_cast<size_t>(it - first_block_.begin()) - 1;
  uint64_t offset = (block - first_block_[file]) * block_;
  return {file, offset, std::min(block_, dataset_.files[file].size - offset)};
}

bool RequestSource::Next(Cursor& cursor, Request* out) {
  if (total_blocks_ == 0) return false;
  return random_ ? NextRandom(cursor, out) : NextSequential(cursor, out);
}

bool RequestSource::NextRandom(Cursor& cursor, Request* out) {
  uint64_t ticket = tickets_.fetch_add(1);
  if (deadline_) {
    if (Expired()) return false;
    *out = BlockAt(cursor.rng() % total_blocks_);
    return true;
  }
  if (ticket >= total_blocks_) return false;
  // 128-bit product: ticket * stride may pass 2^64 for datasets of many blocks.
  *out = BlockAt(static_cast<uint64_t>((static_cast<unsigned __int128>(ticket) * stride_ + offset_) % total_blocks_));
  return true;
}

bool RequestSource::NextSequential(Cursor& cursor, Request* out) {
  if (Expired()) return false;
  const auto& files = dataset_.files;
  // Ends: some file has a block (total_blocks_ > 0), so a timed run finds one within a pass.
  while (cursor.file >= files.size() || cursor.offset >= files[cursor.file].size) {
    uint64_t ticket = file_tickets_.fetch_add(1);
    if (!deadline_ && ticket >= files.size()) return false;  // one pass: every file handed out
    cursor.file = static_cast<size_t>(ticket % files.size());
    cursor.offset = 0;
  }
  const uint64_t size = files[cursor.file].size;
  *out = {cursor.file, cursor.offset, std::min(block_, size - cursor.offset)};
  cursor.offset += out->length;
  tickets_.fetch_add(1);
  return true;
}

}  // namespace zcfs
