// Counts bytes of file data copied in user space on the data path. The zero-copy contract of zcfs is
// that a native read copies none; every memcpy of file data must call count_user_copy so tests can
// check that contract. Thread-safe.
#pragma once

#include <cstdint>

namespace zcfs {

void count_user_copy(uint64_t bytes);
uint64_t user_copy_bytes();

}  // namespace zcfs
