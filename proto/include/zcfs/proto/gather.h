// gather(): runs several tasks concurrently and returns their results in order once all are done.
// A task that throws yields a default-constructed T (for Result<T>: an error), never an exception.
#pragma once

#include <memory>
#include <vector>

#include "zcfs/proto/asio.h"

namespace zcfs {

namespace internal {

template <typename T>
struct GatherState {
  GatherState(asio::any_io_executor ex, size_t n) : strand(asio::make_strand(ex)), timer(strand), results(n), remaining(n) {}
  Strand strand;
  asio::steady_timer timer;  // cancelled when the last task finishes
  std::vector<T> results;
  size_t remaining;
};

// Runs on the state's strand until every task has reported.
template <typename T>
Task<void> gather_wait(std::shared_ptr<GatherState<T>> state) {
  while (state->remaining > 0) {
    boost::system::error_code ec;
    co_await state->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace internal

template <typename T>
Task<std::vector<T>> gather(asio::any_io_executor executor, std::vector<Task<T>> tasks) {
  auto state = std::make_shared<internal::GatherState<T>>(executor, tasks.size());
  if (tasks.empty()) co_return std::vector<T>{};
  state->timer.expires_at(asio::steady_timer::time_point::max());
  for (size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(executor, std::move(tasks[i]), [state, i](std::exception_ptr error, T result) {
      asio::post(state->strand, [state, i, error, result = std::move(result)]() mutable {
        if (!error) state->results[i] = std::move(result);
        if (--state->remaining == 0) state->timer.cancel();
      });
    });
  }
  co_await asio::co_spawn(state->strand, internal::gather_wait(state), asio::use_awaitable);
  co_return std::move(state->results);
}

}  // namespace zcfs
