#include "zcfs/common/copy_counter.h"

#include <atomic>

namespace zcfs {
namespace {
std::atomic<uint64_t> g_copied{0};
}

void count_user_copy(uint64_t bytes) { g_copied.fetch_add(bytes, std::memory_order_relaxed); }
uint64_t user_copy_bytes() { return g_copied.load(std::memory_order_relaxed); }

}  // namespace zcfs
