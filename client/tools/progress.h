// A status line on stderr redrawn from a background thread: the CLI's copy progress bar and
// zcfs-bench's live throughput line.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace zcfs {

// Whether progress output is wanted: forced by a --progress flag, else when stderr is a terminal
// (a line redrawn in place is noise in a log file).
bool progress_wanted(bool forced);

class ProgressLine {
 public:
  // Calls render() every `interval` and prints what it returns. On a terminal the line is redrawn in
  // place (carriage return, clear to end of line); elsewhere each update is a line of its own.
  ProgressLine(std::chrono::milliseconds interval, std::function<std::string()> render);
  // Stops (see Stop).
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Stops the thread and clears an in-place line, so that the caller's summary starts on a clean
  // line. Idempotent.
  void Stop();

 private:
  void Loop();

  const std::chrono::milliseconds interval_;
  const std::function<std::string()> render_;
  const bool in_place_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  bool drawn_ = false;
  std::thread thread_;
};

}  // namespace zcfs
