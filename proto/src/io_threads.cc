#include "zcfs/proto/io_threads.h"

namespace zcfs {

IoThreads::IoThreads(int threads) : io_(threads), guard_(asio::make_work_guard(io_)) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

IoThreads::~IoThreads() { Stop(); }

void IoThreads::Stop() {
  guard_.reset();
  io_.stop();
  for (auto& t : threads_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  threads_.clear();
}

IoContextPool::IoContextPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.push_back(std::make_unique<IoThreads>(1));
}

asio::any_io_executor IoContextPool::NextExecutor() {
  return threads_[next_.fetch_add(1, std::memory_order_relaxed) % threads_.size()]->executor();
}

void IoContextPool::Stop() {
  for (auto& t : threads_) t->Stop();
}

}  // namespace zcfs
