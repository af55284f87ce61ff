#include "chunk_meta_db.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstring>

namespace zcfs::storage_internal {
namespace {

constexpr char kFormat = 1;
constexpr size_t kKeySize = 8 + 4;
constexpr size_t kValueSize = 1 + 8 + 8;

std::string EncodeKey(ChunkId id) {
  std::string key(kKeySize, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(id.inode >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) key[8 + i] = static_cast<char>(id.index >> (24 - 8 * i));
  return key;
}

uint32_t DecodeIndex(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[8 + i]);
  return v;
}

void PutFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string EncodeValue(const ChunkMeta& meta) {
  std::string value(1, kFormat);
  PutFixed64(value, meta.length);
  PutFixed64(value, meta.version);
  return value;
}

Result<ChunkMeta> DecodeValue(ChunkId id, std::string_view value) {
  if (value.size() != kValueSize || value[0] != kFormat) {
    return Error(Code::kCorruption, "bad metadata record for chunk " + id.ToString());
  }
  return ChunkMeta{GetFixed64(value.data() + 1), GetFixed64(value.data() + 9)};
}

Status FromRocks(const rocksdb::Status& s, const std::string& context) {
  if (s.ok()) return Status::Ok();
  Code code = s.IsNoSpace() ? Code::kNoSpace : s.IsCorruption() ? Code::kCorruption : Code::kIoError;
  return Error(code, context + ": " + s.ToString());
}

}  // namespace

Result<std::unique_ptr<ChunkMetaDb>> ChunkMetaDb::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw), "open chunk metadata " + path));
  return std::unique_ptr<ChunkMetaDb>(new ChunkMetaDb(std::unique_ptr<rocksdb::DB>(raw)));
}

ChunkMetaDb::ChunkMetaDb(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
ChunkMetaDb::~ChunkMetaDb() = default;

Result<std::optional<ChunkMeta>> ChunkMetaDb::Get(ChunkId id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), EncodeKey(id), &value);
  if (s.IsNotFound()) return std::optional<ChunkMeta>();
  RETURN_IF_ERROR(FromRocks(s, "read metadata of chunk " + id.ToString()));
  ASSIGN_OR_RETURN(ChunkMeta meta, DecodeValue(id, value));
  return std::optional<ChunkMeta>(meta);
}

Result<std::vector<ChunkRecord>> ChunkMetaDb::Scan(uint64_t inode, uint32_t from_index, size_t limit) const {
  const std::string start = EncodeKey({inode, from_index});
  const rocksdb::Slice prefix(start.data(), 8);
  std::vector<ChunkRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    rocksdb::Slice key = it->key();
    if (key.size() != kKeySize || !key.starts_with(prefix)) break;
    ChunkId id{inode, DecodeIndex(key.data())};
    ASSIGN_OR_RETURN(ChunkMeta meta, DecodeValue(id, it->value().ToStringView()));
    out.push_back({id, meta});
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scan chunk metadata of inode " + std::to_string(inode)));
  return out;
}

Status ChunkMetaDb::Put(ChunkId id, const ChunkMeta& meta) {
  ChunkRecord record{id, meta};
  return Put(std::span<const ChunkRecord>(&record, 1));
}

Status ChunkMetaDb::Put(std::span<const ChunkRecord> records) {
  rocksdb::WriteBatch batch;
  for (const ChunkRecord& r : records) {
    RETURN_IF_ERROR(FromRocks(batch.Put(EncodeKey(r.id), EncodeValue(r.meta)), "batch"));
  }
  std::string what = records.size() == 1 ? "chunk " + records[0].id.ToString() : "chunks";
  return Commit(batch, "commit metadata of " + what);
}

Status ChunkMetaDb::Delete(std::span<const ChunkId> ids) {
  rocksdb::WriteBatch batch;
  for (ChunkId id : ids) RETURN_IF_ERROR(FromRocks(batch.Delete(EncodeKey(id)), "batch"));
  return Commit(batch, "delete metadata of chunks");
}

Status ChunkMetaDb::Commit(rocksdb::WriteBatch& batch, const std::string& context) {
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Write(options, &batch), context);
}

}  // namespace zcfs::storage_internal
