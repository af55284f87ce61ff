// AnyHandler: a move-only, type-erased asio completion handler, so that a handler (for example the one
// use_awaitable makes for a suspended coroutine) can be parked in a queue or in per-request state and
// completed later from any thread.
#pragma once

#include <memory>
#include <tuple>
#include <utility>

#include "zcfs/proto/asio.h"

namespace zcfs {

// Holds one handler taking Args...; Complete() posts it to the handler's own executor (never runs it
// inline, so a completing thread never re-enters the waiter's code). Thread-compatible: one owner
// completes it once. The waiter's execution context must stay running (IoThreads keeps a work guard).
template <typename... Args>
class AnyHandler {
 public:
  AnyHandler() = default;
  template <typename Handler>
  explicit AnyHandler(Handler handler) : impl_(std::make_unique<Impl<Handler>>(std::move(handler))) {}

  explicit operator bool() const { return impl_ != nullptr; }

  // Posts the handler with `args` to its associated executor. Consumes the handler.
  void Complete(Args... args) {
    auto impl = std::move(impl_);
    impl->Post(std::forward<Args>(args)...);
  }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void Post(Args... args) = 0;
  };
  template <typename Handler>
  struct Impl : Base {
    explicit Impl(Handler h) : handler(std::move(h)) {}
    void Post(Args... args) override {
      auto executor = asio::get_associated_executor(handler);
      asio::post(executor, [h = std::move(handler), tuple = std::make_tuple(std::forward<Args>(args)...)]() mutable {
        std::apply([&h](auto&&... a) { std::move(h)(std::forward<decltype(a)>(a)...); }, std::move(tuple));
      });
    }
    Handler handler;
  };
  std::unique_ptr<Base> impl_;
};

}  // namespace zcfs
