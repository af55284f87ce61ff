// A MetaOperator over a test store env, with fake clocks: the wall clock advances 1 µs per reading
// (so every mutation gets a later time), the monotonic clock only moves when a test moves it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "store_env.h"
#include "zcfs/meta/meta_operator.h"

namespace zcfs::meta::testing {

template <typename Env>
class OperatorEnv {
 public:
  explicit OperatorEnv(MetaOptions options = {}) : options_(std::move(options)) {
    options_.wall_clock_ns = [this] { return wall_ns_ += 1000; };
    options_.monotonic_clock_ns = [this] { return mono_ns_.load(); };
    Open();
  }
  ~OperatorEnv() { op_.reset(); }

  MetaOperator& op() { return *op_; }
  Env& env() { return env_; }
  // Destroys the operator, reopens the store, builds a new operator: a meta server restart.
  void Restart() {
    op_.reset();
    env_.Reopen();
    Open();
  }
  void AdvanceMonotonic(std::chrono::nanoseconds d) { mono_ns_ += d.count(); }

  // Registers `nodes` nodes with `per_node` targets each; returns the replies.
  std::vector<pb::RegisterNodeReply> AddNodes(int nodes, int per_node) {
    std::vector<pb::RegisterNodeReply> out;
    for (int n = 0; n < nodes; ++n) {
      pb::RegisterNodeRequest req;
      req.set_address("10.0.0." + std::to_string(next_host_++) + ":9000");
      for (int t = 0; t < per_node; ++t) {
        auto* target = req.add_targets();
        target->set_path("/ssd" + std::to_string(t));
        target->set_capacity_bytes(1000);
      }
      auto reply = op_->RegisterNode(req);
      EXPECT_TRUE(reply.ok()) << reply.status().ToString();
      if (reply.ok()) out.push_back(*reply);
    }
    return out;
  }

 private:
  void Open() {
    auto op = MetaOperator::Open(env_.store(), options_);
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    op_ = std::move(op).value();
  }

  Env env_;
  MetaOptions options_;
  std::atomic<int64_t> wall_ns_{1'700'000'000'000'000'000};
  std::atomic<int64_t> mono_ns_{1'000'000'000};
  int next_host_ = 1;
  std::unique_ptr<MetaOperator> op_;
};

inline pb::Credentials Cred(uint32_t uid, uint32_t gid) {
  pb::Credentials c;
  c.set_uid(uid);
  c.set_gid(gid);
  return c;
}

// A heartbeat of the node that `node` registered, at `address`, reporting each target at 1000 bytes
// capacity with `used` bytes used (AddNodes' targets: paths /ssd0, /ssd1, ...).
inline pb::RegisterNodeRequest Heartbeat(const pb::RegisterNodeReply& node, const std::string& address, uint64_t used) {
  pb::RegisterNodeRequest req;
  req.set_node_id(node.node_id());
  req.set_address(address);
  for (int i = 0; i < node.target_ids_size(); ++i) {
    auto* t = req.add_targets();
    t->set_target_id(node.target_ids(i));
    t->set_path("/ssd" + std::to_string(i));
    t->set_capacity_bytes(1000);
    t->set_used_bytes(used);
  }
  return req;
}

}  // namespace zcfs::meta::testing

// Asserts that a Result/Status expression failed with `code`.
#define EXPECT_CODE(expr, code_value)                                                \
  do {                                                                               \
    auto&& zcfs_r_ = (expr);                                                         \
    EXPECT_EQ(::zcfs::internal::to_status(zcfs_r_).code(), ::zcfs::Code::code_value) \
        << #expr << " -> " << ::zcfs::internal::to_status(zcfs_r_).ToString();       \
  } while (0)
