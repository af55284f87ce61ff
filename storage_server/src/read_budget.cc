#include "read_budget.h"

#include <algorithm>

namespace zcfs::storage_internal {

ReadBudget::Grant& ReadBudget::Grant::operator=(Grant&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::move(other.budget_);
    client_ = std::move(other.client_);
    cost_ = other.cost_;
    other.cost_ = {};
  }
  return *this;
}

void ReadBudget::Grant::Release() {
  if (!budget_) return;
  std::vector<AnyHandler<>> resume = budget_->GiveBack(client_, cost_);
  budget_.reset();
  cost_ = {};
  for (auto& r : resume) r.Complete();
}

void ReadBudget::Grant::ShrinkTo(Cost cost) {
  if (!budget_) return;
  cost.bytes = std::min(cost.bytes, cost_.bytes);
  cost.pieces = std::min(cost.pieces, cost_.pieces);
  Cost returned{cost_.bytes - cost.bytes, cost_.pieces - cost.pieces};
  if (returned.bytes == 0 && returned.pieces == 0) return;
  cost_ = cost;
  std::vector<AnyHandler<>> resume = budget_->GiveBack(client_, returned);
  for (auto& r : resume) r.Complete();
}

Task<ReadBudget::Grant> ReadBudget::Acquire(std::string client, Cost cost) {
  {
    // Fast path: nobody waits anywhere and it fits. No suspension, no round through the scheduler.
    std::lock_guard lock(mutex_);
    if (turns_.empty()) {
      Client& c = clients_[client];
      if (FitsLocked(c, cost) == Fit::kYes) {
        TakeLocked(c, cost);
        co_return Grant(shared_from_this(), std::move(client), cost);
      }
      ForgetIfIdleLocked(clients_.find(client));
    }
  }
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [this, &client, cost](auto handler) {
        std::vector<AnyHandler<>> resume;
        {
          std::lock_guard lock(mutex_);
          Client& c = clients_[client];
          if (c.queue.empty()) turns_.push_back(client);
          c.queue.push_back(Waiter{cost, AnyHandler<>(std::move(handler))});
          ++waiting_;
          DispatchLocked(resume);
        }
        for (auto& r : resume) r.Complete();
      },
      asio::use_awaitable);
  // DispatchLocked has already counted the cost as held by this client.
  co_return Grant(shared_from_this(), std::move(client), cost);
}

ReadBudget::Fit ReadBudget::FitsLocked(const Client& client, const Cost& cost) const {
  bool client_idle = client.held_bytes == 0 && client.held_pieces == 0;
  if (!client_idle && (client.held_bytes + cost.bytes > limits_.client_bytes ||
                       client.held_pieces + cost.pieces > limits_.client_pieces)) {
    return Fit::kClientFull;
  }
  if (held_bytes_ != 0 && held_bytes_ + cost.bytes > limits_.total_bytes) return Fit::kServerFull;
  return Fit::kYes;
}

void ReadBudget::TakeLocked(Client& client, const Cost& cost) {
  client.held_bytes += cost.bytes;
  client.held_pieces += cost.pieces;
  held_bytes_ += cost.bytes;
  peak_bytes_ = std::max(peak_bytes_, held_bytes_);
  ++granted_;
}

std::vector<AnyHandler<>> ReadBudget::GiveBack(const std::string& client, Cost cost) {
  std::vector<AnyHandler<>> resume;
  std::lock_guard lock(mutex_);
  auto it = clients_.find(client);
  if (it != clients_.end()) {
    it->second.held_bytes -= std::min(cost.bytes, it->second.held_bytes);
    it->second.held_pieces -= std::min(cost.pieces, it->second.held_pieces);
    ForgetIfIdleLocked(it);
  }
  held_bytes_ -= std::min(cost.bytes, held_bytes_);
  DispatchLocked(resume);
  return resume;
}

void ReadBudget::DispatchLocked(std::vector<AnyHandler<>>& resume) {
  size_t i = 0;
  while (i < turns_.size()) {
    Client& c = clients_.at(turns_[i]);
    Waiter& head = c.queue.front();
    Fit fit = FitsLocked(c, head.cost);
    if (fit == Fit::kServerFull) return;  // the first in turn that needs server memory: nobody overtakes it
    if (fit == Fit::kClientFull) {        // waits for its own client's releases; the next client may go
      ++i;
      continue;
    }
    TakeLocked(c, head.cost);
    resume.push_back(std::move(head.resume));
    c.queue.pop_front();
    --waiting_;
    // This client's turn is over: to the back of the line if it still waits. Clients before i were
    // skipped for their own limits, which this grant did not change: go on at i.
    std::string name = std::move(turns_[i]);
    turns_.erase(turns_.begin() + static_cast<std::ptrdiff_t>(i));
    if (!c.queue.empty()) turns_.push_back(std::move(name));
  }
}

void ReadBudget::ForgetIfIdleLocked(std::map<std::string, Client>::iterator it) {
  if (it == clients_.end()) return;
  const Client& c = it->second;
  if (c.held_bytes == 0 && c.held_pieces == 0 && c.queue.empty()) clients_.erase(it);
}

ReadBudget::Stats ReadBudget::stats() const {
  std::lock_guard lock(mutex_);
  return Stats{held_bytes_, peak_bytes_, waiting_, granted_, clients_.size()};
}

}  // namespace zcfs::storage_internal
