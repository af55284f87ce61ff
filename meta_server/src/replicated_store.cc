#include "replicated_store.h"

#include "keys.h"

namespace zcfs::meta {

pb::ReplEntry to_entry(LogPosition position, const WriteBatch& batch) {
  pb::ReplEntry entry;
  entry.set_seq(position.seq);
  entry.set_epoch(position.epoch);
  for (const auto& op : batch.ops()) {
    auto* out = entry.add_ops();
    out->set_is_delete(op.is_delete);
    out->set_column(static_cast<uint32_t>(op.column));
    out->set_key(op.key);
    if (!op.is_delete) out->set_value(op.value);
  }
  return entry;
}

Result<WriteBatch> to_batch(const pb::ReplEntry& entry) {
  WriteBatch batch;
  for (const auto& op : entry.ops()) {
    if (op.column() >= static_cast<uint32_t>(kColumnCount)) {
      return Error(Code::kProtocolError, "replicated batch " + std::to_string(entry.seq()) + " names column " +
                                             std::to_string(op.column()));
    }
    const auto column = static_cast<Column>(op.column());
    if (op.is_delete()) batch.Delete(column, op.key());
    else batch.Put(column, op.key(), op.value());
  }
  return batch;
}

void add_position(WriteBatch& batch, LogPosition position) {
  batch.Put(Column::kSystem, std::string(keys::kReplPosition), keys::be64(position.seq) + keys::be64(position.epoch));
}

Result<LogPosition> read_position(const KvStore& store) {
  auto value = store.Get(Column::kSystem, keys::kReplPosition);
  if (value.status().code() == Code::kNotFound) return LogPosition{};
  if (!value.ok()) return value.status();
  auto seq = keys::read_be64(*value);
  auto epoch = value->size() == 16 ? keys::read_be64(std::string_view(*value).substr(8)) : std::nullopt;
  if (!seq || !epoch) return Error(Code::kCorruption, "the replication position record is malformed");
  return LogPosition{*seq, *epoch};
}

ReplicatedStore::ReplicatedStore(KvStore& local, ReplicationLog& log, Followers& followers, uint64_t epoch)
    : local_(local), log_(log), followers_(followers), epoch_(epoch) {}

Status ReplicatedStore::Write(const WriteBatch& batch, Durability durability) {
  {
    std::lock_guard lock(write_mutex_);
    if (followers_.deposed()) return Error(Code::kUnavailable, "this meta server is no longer the primary");
    const LogPosition position{log_.last().seq + 1, epoch_};
    WriteBatch positioned = batch;
    add_position(positioned, position);
    RETURN_IF_ERROR(local_.Write(positioned, Durability::kDeferred));
    RETURN_IF_ERROR(log_.Append(to_entry(position, batch)));
  }
  if (durability == Durability::kSynced) return Sync();
  return Status::Ok();
}

Status ReplicatedStore::Sync() {
  const uint64_t seq = log_.last().seq;  // every batch committed before this call
  RETURN_IF_ERROR(local_.Sync());
  return followers_.WaitAcked(seq);
}

}  // namespace zcfs::meta
