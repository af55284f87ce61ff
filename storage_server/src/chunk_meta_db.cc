#include "chunk_meta_db.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "slot_bitmap.h"

namespace zcfs::storage_internal {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  Code code = s.IsNoSpace() ? Code::kNoSpace : s.IsCorruption() ? Code::kCorruption : Code::kIoError;
  return Error(code, context + ": " + s.ToString());
}

}  // namespace

Result<std::unique_ptr<ChunkMetaDb>> ChunkMetaDb::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.merge_operator = NewSlotBitmapMergeOperator();
  // Every read looks its chunk's record up: keep records in memory (a 4 MiB chunk's is ~4 KiB of
  // checksums), and let a bloom filter answer reads of holes without touching a table block.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(256u << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw), "open chunk metadata " + path));
  return std::unique_ptr<ChunkMetaDb>(new ChunkMetaDb(std::unique_ptr<rocksdb::DB>(raw)));
}

ChunkMetaDb::ChunkMetaDb(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
ChunkMetaDb::~ChunkMetaDb() = default;

Result<std::optional<StoredChunk>> ChunkMetaDb::Get(ChunkId id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), EncodeChunkKey(id), &value);
  if (s.IsNotFound()) return std::optional<StoredChunk>();
  RETURN_IF_ERROR(FromRocks(s, "read metadata of chunk " + id.ToString()));
  ASSIGN_OR_RETURN(StoredChunk chunk, DecodeStoredChunk(id, value.ToStringView()));
  return std::optional<StoredChunk>(std::move(chunk));
}

Result<std::vector<std::pair<ChunkId, StoredChunk>>> ChunkMetaDb::Scan(uint64_t inode, uint32_t from_index,
                                                                       size_t limit) const {
  ASSIGN_OR_RETURN(auto out, ScanAll({inode, from_index}, limit));
  auto other_inode = std::find_if(out.begin(), out.end(), [inode](const auto& r) { return r.first.inode != inode; });
  out.erase(other_inode, out.end());
  return out;
}

Result<std::vector<std::pair<ChunkId, StoredChunk>>> ChunkMetaDb::ScanAll(ChunkId from, size_t limit) const {
  const std::string start = EncodeChunkKey(from);
  const rocksdb::Slice prefix(start.data(), 1);  // chunk records only
  std::vector<std::pair<ChunkId, StoredChunk>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    ASSIGN_OR_RETURN(ChunkId id, DecodeChunkKey(it->key().ToStringView()));
    ASSIGN_OR_RETURN(StoredChunk chunk, DecodeStoredChunk(id, it->value().ToStringView()));
    out.emplace_back(id, std::move(chunk));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scan chunk metadata from chunk " + from.ToString()));
  return out;
}

Result<std::vector<SlotGroup>> ChunkMetaDb::LoadSlotGroups() const {
  std::vector<SlotGroup> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kGroupKeyPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ASSIGN_OR_RETURN(GroupKey key, DecodeGroupKey(it->key().ToStringView()));
    std::string bits = it->value().ToString();
    if (bits.size() != kGroupBytes) return Error(Code::kCorruption, "slot bitmap group of the wrong size");
    out.push_back({key.size_class, key.file, key.group, std::move(bits)});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "load slot bitmaps"));
  return out;
}

Status ChunkMetaDb::Commit(const MetaChange& change) {
  rocksdb::WriteBatch batch;
  for (const auto& [id, chunk] : change.put) {
    RETURN_IF_ERROR(FromRocks(batch.Put(EncodeChunkKey(id), EncodeStoredChunk(chunk)), "batch"));
  }
  for (ChunkId id : change.erase) RETURN_IF_ERROR(FromRocks(batch.Delete(EncodeChunkKey(id)), "batch"));
  for (SlotId slot : change.take) {
    RETURN_IF_ERROR(FromRocks(batch.Merge(EncodeGroupKey(slot), EncodeSlotOp(slot, true)), "batch"));
  }
  for (SlotId slot : change.free) {
    RETURN_IF_ERROR(FromRocks(batch.Merge(EncodeGroupKey(slot), EncodeSlotOp(slot, false)), "batch"));
  }
  rocksdb::WriteOptions options;
  options.sync = true;
  std::string what = change.put.size() == 1 ? "chunk " + change.put[0].first.ToString() : "chunks";
  return FromRocks(db_->Write(options, &batch), "commit metadata of " + what);
}

}  // namespace zcfs::storage_internal
