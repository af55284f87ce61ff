#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace zcfs {

bool progress_wanted(bool forced) { return forced || ::isatty(STDERR_FILENO) == 1; }

ProgressLine::ProgressLine(std::chrono::milliseconds interval, std::function<std::string()> render)
    : interval_(interval), render_(std::move(render)), in_place_(::isatty(STDERR_FILENO) == 1) {
  thread_ = std::thread([this] { Loop(); });
}

ProgressLine::~ProgressLine() { Stop(); }

void ProgressLine::Loop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
    std::string line = render_();
    if (in_place_) {
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    drawn_ = true;
  }
}

void ProgressLine::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (in_place_ && drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace zcfs
