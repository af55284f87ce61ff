// Slot bitmaps as RocksDB keeps them: which slots of each data file hold a committed chunk.
//
// The slots of one data file are grouped 4096 to a key ('b' + class + file + group); the value is a
// 512-byte bitmap (bit i of byte j is slot group * 4096 + 8 j + i). Writers never read-modify-write
// a group: a commit adds merge operands "set slot s" / "clear slot s" to the same WriteBatch as the
// chunk records that take or give up those slots, and the merge operator applies them. So the chunk
// records and the allocation change commit atomically, and commits touching the same group never
// serialize on each other (their operands name different slots).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chunk_layout.h"
#include "zcfs/common/status.h"

namespace rocksdb {
class MergeOperator;
}

namespace zcfs::storage_internal {

inline constexpr uint32_t kSlotsPerGroup = 4096;
inline constexpr size_t kGroupBytes = kSlotsPerGroup / 8;
inline constexpr size_t kGroupKeySize = 1 + 1 + 4 + 4;

// The key of the group holding `slot`, and the inverse (kCorruption for anything else).
std::string EncodeGroupKey(SlotId slot);
struct GroupKey {
  uint8_t size_class = 0;
  uint32_t file = 0;
  uint32_t group = 0;
};
Result<GroupKey> DecodeGroupKey(std::string_view key);
// Every group key starts with this byte (chunk keys with 'c'), so a prefix scan finds all groups.
inline constexpr char kGroupKeyPrefix = 'b';

// A merge operand setting (taken) or clearing (freed) the bit of `slot` in its group.
std::string EncodeSlotOp(SlotId slot, bool taken);
// Applies operands in order to a group value (empty = all clear). kCorruption for a value that is not
// a group, or an operand that is not one of the above.
Status ApplySlotOps(std::string& group, std::span<const std::string_view> operands);

// The operator to install as Options::merge_operator of a chunk metadata database.
std::shared_ptr<rocksdb::MergeOperator> NewSlotBitmapMergeOperator();

}  // namespace zcfs::storage_internal
