// The pure half of MSG_ZEROCOPY support: decoding error-queue entries and turning completion ranges
// into released memory (ZerocopyTracker), checked against a simple model with random sends, ranges
// coalesced and delivered out of order, and ids that wrap past 2^32.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "zcfs/proto/zerocopy.h"

namespace zcfs {
namespace {

sock_extended_err entry(uint8_t origin, uint32_t err_no, uint8_t code, uint32_t info, uint32_t data) {
  sock_extended_err e{};
  e.ee_origin = origin;
  e.ee_errno = err_no;
  e.ee_code = code;
  e.ee_info = info;
  e.ee_data = data;
  return e;
}

TEST(ZerocopyNoticeTest, DecodesCompletionsAndIgnoresOtherEntries) {
  EXPECT_EQ(decode_zerocopy_notice(entry(SO_EE_ORIGIN_ZEROCOPY, 0, 0, 3, 9)), (ZerocopyNotice{3, 9, false}));
  EXPECT_EQ(decode_zerocopy_notice(entry(SO_EE_ORIGIN_ZEROCOPY, 0, SO_EE_CODE_ZEROCOPY_COPIED, 7, 7)),
            (ZerocopyNotice{7, 7, true}));
  EXPECT_EQ(decode_zerocopy_notice(entry(SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0xfffffffeu, 1)),
            (ZerocopyNotice{0xfffffffeu, 1, false}));
  EXPECT_FALSE(decode_zerocopy_notice(entry(SO_EE_ORIGIN_ICMP, 0, 0, 1, 2)));
  EXPECT_FALSE(decode_zerocopy_notice(entry(SO_EE_ORIGIN_TIMESTAMPING, 0, 0, 1, 2)));
  EXPECT_FALSE(decode_zerocopy_notice(entry(SO_EE_ORIGIN_ZEROCOPY, ENOBUFS, 0, 1, 2)));
}

TEST(ZerocopyTrackerTest, HoldsUntilEveryEarlierIdCompletes) {
  ZerocopyTracker t;
  auto a = std::make_shared<int>(1);
  auto b = std::make_shared<int>(2);
  std::weak_ptr<int> wa = a, wb = b;
  t.Sent();
  t.Sent();
  t.Hold(std::move(a));  // ids 0, 1
  t.Sent();
  t.Hold(std::move(b));  // ids 0..2
  EXPECT_EQ(t.outstanding(), 3u);
  EXPECT_TRUE(t.Complete(2, 2));  // out of order: nothing released yet
  EXPECT_FALSE(wa.expired());
  EXPECT_FALSE(wb.expired());
  EXPECT_FALSE(t.Complete(2, 2)) << "a duplicate notice";
  EXPECT_FALSE(t.Complete(1, 3)) << "id 3 was never sent";
  EXPECT_TRUE(t.Complete(0, 1));  // coalesced range
  EXPECT_TRUE(wa.expired());
  EXPECT_TRUE(wb.expired());
  EXPECT_EQ(t.outstanding(), 0u);
  EXPECT_EQ(t.next_id(), 3u);
  EXPECT_FALSE(t.Complete(0, 0)) << "an id completed long ago";

  auto c = std::make_shared<int>(3);
  std::weak_ptr<int> wc = c;
  t.Hold(std::move(c));  // nothing in flight: released at once
  EXPECT_TRUE(wc.expired());
}

TEST(ZerocopyTrackerTest, ReleaseAllDropsEverything) {
  ZerocopyTracker t(std::numeric_limits<uint32_t>::max());
  auto a = std::make_shared<int>(1);
  std::weak_ptr<int> wa = a;
  t.Sent();
  t.Sent();
  t.Hold(std::move(a));
  t.ReleaseAll();
  EXPECT_TRUE(wa.expired());
  EXPECT_EQ(t.held(), 0u);
  EXPECT_EQ(t.outstanding(), 0u);
  EXPECT_FALSE(t.Complete(std::numeric_limits<uint32_t>::max(), 0));
}

// One random run: frames of 0-3 sends each, completions as random ranges over the sent ids, delivered
// in random order at random times. After every step each hold must be alive exactly while some id
// sent before it is incomplete.
void RunRandomSchedule(uint64_t seed) {
  std::mt19937_64 rng(seed);
  uint32_t first_id = rng() % 3 == 0 ? std::numeric_limits<uint32_t>::max() - static_cast<uint32_t>(rng() % 40)
                                     : static_cast<uint32_t>(rng());
  ZerocopyTracker t(first_id);
  struct Hold {
    uint64_t end;  // ids (as seqs) [0, end) must complete first
    std::weak_ptr<int> alive;
  };
  std::vector<Hold> holds;
  std::vector<bool> done;                            // by seq
  std::vector<std::pair<uint64_t, uint64_t>> ready;  // ranges [lo, hi) made but not delivered
  uint64_t covered = 0;                              // seqs [0, covered) are in some range
  auto id = [&](uint64_t seq) { return static_cast<uint32_t>(first_id + seq); };

  auto make_ranges = [&] {
    while (covered < done.size()) {
      uint64_t len = 1 + rng() % std::min<uint64_t>(done.size() - covered, 5);
      ready.emplace_back(covered, covered + len);
      covered += len;
    }
  };
  auto deliver = [&](size_t i) {
    auto [lo, hi] = ready[i];
    ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(i));
    ASSERT_TRUE(t.Complete(id(lo), id(hi - 1))) << "seed " << seed;
    for (uint64_t s = lo; s < hi; ++s) done[s] = true;
    if (rng() % 4 == 0) EXPECT_FALSE(t.Complete(id(lo), id(hi - 1))) << "duplicate accepted, seed " << seed;
  };
  auto check = [&] {
    uint64_t first_open = std::find(done.begin(), done.end(), false) - done.begin();
    for (const Hold& h : holds) {
      ASSERT_EQ(!h.alive.expired(), h.end > first_open) << "seed " << seed << " hold end " << h.end;
    }
    ASSERT_EQ(t.outstanding(), static_cast<uint64_t>(std::count(done.begin(), done.end(), false)));
    ASSERT_EQ(t.next_id(), id(done.size()));
  };

  for (int step = 0; step < 300; ++step) {
    switch (rng() % 3) {
      case 0: {
        for (int k = static_cast<int>(rng() % 4); k > 0; --k) {
          t.Sent();
          done.push_back(false);
        }
        auto memory = std::make_shared<int>(step);
        holds.push_back({done.size(), memory});
        t.Hold(std::move(memory));
        break;
      }
      case 1:
        make_ranges();
        break;
      default:
        if (!ready.empty()) deliver(rng() % ready.size());
        if (done.size() > covered) EXPECT_FALSE(t.Complete(id(covered), id(done.size()))) << "unsent id accepted";
    }
    check();
    if (::testing::Test::HasFatalFailure()) return;
  }
  make_ranges();
  while (!ready.empty()) deliver(rng() % ready.size());
  check();
  EXPECT_EQ(t.held(), 0u);
  EXPECT_EQ(t.outstanding(), 0u);
}

TEST(ZerocopyTrackerTest, RandomSchedulesMatchTheModel) {
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    RunRandomSchedule(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace zcfs
