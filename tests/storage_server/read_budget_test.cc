// ReadBudget, the admission control of batched reads: limits, the order of grants between clients
// (turns, no overtaking of a request waiting for server memory), releases. Runs on one io_context polled
// by the test, so every order asserted here is deterministic.
#include "read_budget.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zcfs::storage_internal {
namespace {

constexpr uint64_t kMiB = 1 << 20;

class ReadBudgetTest : public ::testing::Test {
 protected:
  void Make(ReadBudget::Limits limits) { budget_ = std::make_shared<ReadBudget>(limits); }

  // Asks for `bytes` (and `pieces`) as `client`; returns a ticket. Grants are recorded in order.
  int Ask(const std::string& client, uint64_t bytes, uint32_t pieces = 1) {
    int ticket = next_ticket_++;
    asio::co_spawn(io_, Acquire(client, ReadBudget::Cost{bytes, pieces}, ticket), asio::detached);
    Poll();
    return ticket;
  }
  Task<> Acquire(std::string client, ReadBudget::Cost cost, int ticket) {
    ReadBudget::Grant grant = co_await budget_->Acquire(std::move(client), cost);
    grants_[ticket] = std::move(grant);
    order_.push_back(ticket);
  }
  void Release(int ticket) {
    grants_.erase(ticket);
    Poll();
  }
  // Runs what is ready (an io_context out of work stops: restart it each time).
  void Poll() {
    io_.restart();
    io_.poll();
  }
  bool Granted(int ticket) const { return grants_.count(ticket) > 0; }

  asio::io_context io_;
  std::shared_ptr<ReadBudget> budget_;
  std::map<int, ReadBudget::Grant> grants_;
  std::vector<int> order_;
  int next_ticket_ = 0;
};

TEST_F(ReadBudgetTest, GrantsWithinTheServerLimitAndWaitsBeyondIt) {
  Make({.total_bytes = 4 * kMiB, .client_bytes = 4 * kMiB, .client_pieces = 100});
  int a = Ask("a", 3 * kMiB);
  int b = Ask("b", kMiB);
  int c = Ask("c", kMiB);
  EXPECT_TRUE(Granted(a));
  EXPECT_TRUE(Granted(b));
  EXPECT_FALSE(Granted(c));
  EXPECT_EQ(budget_->stats().held_bytes, 4 * kMiB);
  EXPECT_EQ(budget_->stats().waiting, 1u);
  Release(b);
  EXPECT_TRUE(Granted(c));
  Release(a);
  Release(c);
  auto stats = budget_->stats();
  EXPECT_EQ(stats.held_bytes, 0u);
  EXPECT_EQ(stats.peak_bytes, 4 * kMiB);
  EXPECT_EQ(stats.granted, 3u);
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(stats.clients, 0u);  // idle clients are forgotten
}

TEST_F(ReadBudgetTest, ClientsTakeTurnsInsteadOfOneQueue) {
  // The whole server budget is one greedy batch; the greedy client queued ten before the light one asked.
  Make({.total_bytes = 2 * kMiB, .client_bytes = 2 * kMiB, .client_pieces = 100});
  std::vector<int> greedy;
  for (int i = 0; i < 10; ++i) greedy.push_back(Ask("greedy", 2 * kMiB));
  int light = Ask("light", 4096);
  ASSERT_EQ(order_, std::vector<int>{greedy[0]});
  Release(greedy[0]);  // the greedy client's next batch was in line before the light client asked
  Release(greedy[1]);
  EXPECT_TRUE(Granted(light));
  EXPECT_EQ(order_, (std::vector<int>{greedy[0], greedy[1], light}));
  Release(light);
  EXPECT_TRUE(Granted(greedy[2]));
}

TEST_F(ReadBudgetTest, ClientLimitBoundsOneClientAndOthersGoAhead) {
  Make({.total_bytes = 8 * kMiB, .client_bytes = 2 * kMiB, .client_pieces = 3});
  int g1 = Ask("greedy", 2 * kMiB);
  int g2 = Ask("greedy", kMiB);  // over the client's bytes: waits though the server has room
  int light = Ask("light", kMiB);
  EXPECT_TRUE(Granted(g1));
  EXPECT_FALSE(Granted(g2));
  EXPECT_TRUE(Granted(light));  // not behind the greedy client's queue
  // Pieces are a limit of their own.
  int p1 = Ask("pieces", 4096, 3);
  int p2 = Ask("pieces", 4096, 1);
  EXPECT_TRUE(Granted(p1));
  EXPECT_FALSE(Granted(p2));
  Release(p1);
  EXPECT_TRUE(Granted(p2));
  Release(g1);
  EXPECT_TRUE(Granted(g2));
}

TEST_F(ReadBudgetTest, ARequestWaitingForServerMemoryIsNotOvertaken) {
  Make({.total_bytes = 4 * kMiB, .client_bytes = 4 * kMiB, .client_pieces = 100});
  int a = Ask("a", 3 * kMiB);
  int big = Ask("b", 2 * kMiB);     // needs memory a holds
  int small = Ask("c", 512 << 10);  // would fit now, but must not starve the big one
  EXPECT_FALSE(Granted(big));
  EXPECT_FALSE(Granted(small));
  Release(a);
  EXPECT_TRUE(Granted(big));
  EXPECT_TRUE(Granted(small));
  EXPECT_EQ(order_, (std::vector<int>{a, big, small}));
}

TEST_F(ReadBudgetTest, ACostOverALimitIsAdmittedAlone) {
  Make({.total_bytes = 2 * kMiB, .client_bytes = kMiB, .client_pieces = 100});
  int huge = Ask("a", 3 * kMiB);
  EXPECT_TRUE(Granted(huge));  // nobody holds anything: it cannot wait forever
  int other = Ask("b", 4096);
  EXPECT_FALSE(Granted(other));
  Release(huge);
  EXPECT_TRUE(Granted(other));
}

TEST_F(ReadBudgetTest, ShrinkingAGrantLetsWaitersIn) {
  Make({.total_bytes = 4 * kMiB, .client_bytes = 4 * kMiB, .client_pieces = 100});
  int a = Ask("a", 4 * kMiB);
  int b = Ask("b", 2 * kMiB);
  EXPECT_FALSE(Granted(b));
  grants_[a].ShrinkTo({kMiB, 1});  // e.g. the reads ended at the chunk's end
  Poll();
  EXPECT_TRUE(Granted(b));
  EXPECT_EQ(budget_->stats().held_bytes, 3 * kMiB);
  Release(a);
  Release(b);
  EXPECT_EQ(budget_->stats().held_bytes, 0u);
  EXPECT_EQ(budget_->stats().peak_bytes, 4 * kMiB);
}

TEST_F(ReadBudgetTest, AGrantMayOutliveItsOwnerAndMoves) {
  Make({.total_bytes = kMiB, .client_bytes = kMiB, .client_pieces = 100});
  int a = Ask("a", kMiB);
  ReadBudget::Grant moved = std::move(grants_[a]);
  grants_.erase(a);  // the moved-from grant gives nothing back
  EXPECT_EQ(budget_->stats().held_bytes, kMiB);
  std::weak_ptr<ReadBudget> weak = budget_;
  budget_.reset();  // the service is gone; a reply still being written holds the grant
  EXPECT_FALSE(weak.expired());
  moved = ReadBudget::Grant();
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace zcfs::storage_internal
