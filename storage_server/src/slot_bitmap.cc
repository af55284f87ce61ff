#include "slot_bitmap.h"

#include <rocksdb/merge_operator.h>

namespace zcfs::storage_internal {
namespace {

constexpr size_t kOpSize = 1 + 2;  // verb, slot within the group (2 bytes little-endian)
constexpr char kTake = 'T';
constexpr char kFree = 'F';

void PutBig(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetBig(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

class SlotBitmapMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    out->new_value = in.existing_value != nullptr ? in.existing_value->ToString() : std::string();
    std::vector<std::string_view> operands;
    operands.reserve(in.operand_list.size());
    for (const rocksdb::Slice& s : in.operand_list) operands.push_back(s.ToStringView());
    // false makes RocksDB report the key as corrupt: the data is not a bitmap this code wrote.
    return ApplySlotOps(out->new_value, operands).ok();
  }
  const char* Name() const override { return "zcfs.SlotBitmap"; }
};

}  // namespace

std::string EncodeGroupKey(SlotId slot) {
  std::string key(1, kGroupKeyPrefix);
  PutBig(key, slot.size_class, 1);
  PutBig(key, slot.file, 4);
  PutBig(key, slot.slot / kSlotsPerGroup, 4);
  return key;
}

Result<GroupKey> DecodeGroupKey(std::string_view key) {
  if (key.size() != kGroupKeySize || key[0] != kGroupKeyPrefix) {
    return Error(Code::kCorruption, "not a slot bitmap key (" + std::to_string(key.size()) + " bytes)");
  }
  GroupKey out;
  out.size_class = static_cast<uint8_t>(GetBig(key.data() + 1, 1));
  out.file = static_cast<uint32_t>(GetBig(key.data() + 2, 4));
  out.group = static_cast<uint32_t>(GetBig(key.data() + 6, 4));
  if (out.size_class >= kNumClasses) return Error(Code::kCorruption, "slot bitmap key names no size class");
  return out;
}

std::string EncodeSlotOp(SlotId slot, bool taken) {
  std::string op(1, taken ? kTake : kFree);
  uint32_t bit = slot.slot % kSlotsPerGroup;
  op.push_back(static_cast<char>(bit & 0xff));
  op.push_back(static_cast<char>(bit >> 8));
  return op;
}

Status ApplySlotOps(std::string& group, std::span<const std::string_view> operands) {
  if (group.empty()) group.assign(kGroupBytes, '\0');
  if (group.size() != kGroupBytes) {
    return Error(Code::kCorruption, "slot bitmap group of " + std::to_string(group.size()) + " bytes");
  }
  for (std::string_view op : operands) {
    if (op.size() != kOpSize || (op[0] != kTake && op[0] != kFree)) {
      return Error(Code::kCorruption, "bad slot bitmap operand (" + std::to_string(op.size()) + " bytes)");
    }
    uint32_t bit = static_cast<unsigned char>(op[1]) | (static_cast<uint32_t>(static_cast<unsigned char>(op[2])) << 8);
    if (bit >= kSlotsPerGroup) return Error(Code::kCorruption, "slot bitmap operand names slot " + std::to_string(bit));
    auto mask = static_cast<char>(1u << (bit % 8));
    if (op[0] == kTake) {
      group[bit / 8] = static_cast<char>(group[bit / 8] | mask);
    } else {
      group[bit / 8] = static_cast<char>(group[bit / 8] & ~mask);
    }
  }
  return Status::Ok();
}

std::shared_ptr<rocksdb::MergeOperator> NewSlotBitmapMergeOperator() {
  return std::make_shared<SlotBitmapMergeOperator>();
}

}  // namespace zcfs::storage_internal
