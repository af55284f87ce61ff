// Leveled logging to stderr: one line per message with time, level, thread and source position.
// Thread-safe: each line is written with a single write(2).
#pragma once

#include <sstream>
#include <string_view>

namespace zcfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug", "info", "warn", "error"; returns false on anything else.
bool parse_log_level(std::string_view text, LogLevel* out);
// Tag printed on every line (the program name), e.g. "meta".
void set_log_tag(std::string_view tag);

namespace internal {
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  std::ostream& stream() { return out_; }

 private:
  std::ostringstream out_;
};
// Turns the stream expression into void so both branches of the ?: in ZCFS_LOG agree.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace zcfs

// Streams only when the level is enabled; safe inside an unbraced if/else.
#define ZCFS_LOG(level)                                     \
  !(::zcfs::LogLevel::level >= ::zcfs::log_level())         \
      ? (void)0                                             \
      : ::zcfs::internal::LogVoidify() &                    \
            ::zcfs::internal::LogLine(::zcfs::LogLevel::level, __FILE__, __LINE__).stream()

#define LOG_DEBUG ZCFS_LOG(kDebug)
#define LOG_INFO ZCFS_LOG(kInfo)
#define LOG_WARN ZCFS_LOG(kWarn)
#define LOG_ERROR ZCFS_LOG(kError)
