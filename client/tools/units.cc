#include "units.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <iterator>

namespace zcfs {

std::string strprintf(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, again);
  va_end(again);
  return out;
}

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return strprintf("%llu B", static_cast<unsigned long long>(bytes));
  return strprintf("%.1f %s", value, kUnits[unit]);
}

std::string human_rate(double bytes_per_second) {
  if (!(bytes_per_second >= 0) || !std::isfinite(bytes_per_second)) return "? B/s";
  return human_bytes(static_cast<uint64_t>(bytes_per_second)) + "/s";
}

std::string human_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  auto s = static_cast<uint64_t>(seconds + 0.5);
  if (s < 60) return strprintf("%llus", static_cast<unsigned long long>(s));
  if (s < 3600) return strprintf("%llum%02llus", static_cast<unsigned long long>(s / 60), s % 60ull);
  return strprintf("%lluh%02llum", static_cast<unsigned long long>(s / 3600), (s / 60) % 60ull);
}

}  // namespace zcfs
