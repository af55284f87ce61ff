#include "chunk_meta_db.h"

#include <rocksdb/db.h>

#include <cstring>

namespace zcfs::storage_internal {
namespace {

constexpr char kFormat = 1;
constexpr size_t kValueSize = 1 + 8 + 8;

std::string EncodeKey(ChunkId id) {
  std::string key(12, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(id.inode >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) key[8 + i] = static_cast<char>(id.index >> (24 - 8 * i));
  return key;
}

void PutFixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
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
  if (value.size() != kValueSize || value[0] != kFormat) {
    return Error(Code::kCorruption, "bad metadata record for chunk " + id.ToString());
  }
  return std::optional<ChunkMeta>(ChunkMeta{GetFixed64(value.data() + 1), GetFixed64(value.data() + 9)});
}

Status ChunkMetaDb::Put(ChunkId id, const ChunkMeta& meta) {
  std::string value(1, kFormat);
  PutFixed64(value, meta.length);
  PutFixed64(value, meta.version);
  rocksdb::WriteOptions options;
  options.sync = true;
  return FromRocks(db_->Put(options, EncodeKey(id), value), "commit metadata of chunk " + id.ToString());
}

}  // namespace zcfs::storage_internal
