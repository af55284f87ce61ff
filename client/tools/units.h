// Human-readable sizes, rates and durations for the zcfs CLI and zcfs-bench output.
#pragma once

#include <cstdint>
#include <string>

namespace zcfs {

// "1.5 GiB": bytes in the largest binary unit that keeps the number >= 1 ("512 B" below 1 KiB).
std::string human_bytes(uint64_t bytes);
// "104.2 MiB/s".
std::string human_rate(double bytes_per_second);
// "42s", "3m07s", "2h05m"; "?" for a negative or non-finite value (an unknown ETA).
std::string human_duration(double seconds);
// printf into a std::string.
std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace zcfs
