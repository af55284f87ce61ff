// NodeRegistry commits without blocking its readers: with replication a commit waits for the
// standbys, and every create asks the registry for writable chains on the meta server's I/O thread -
// the thread that must also answer the standbys' pulls. A store whose writes hang until released
// stands in for a commit waiting on slow standbys.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "node_registry.h"
#include "zcfs/meta/memory_kv_store.h"

namespace zcfs::meta {
namespace {

using namespace std::chrono_literals;

// A MemoryKvStore whose writes wait, once held, until released.
class HeldStore : public KvStore {
 public:
  Result<std::string> Get(Column c, std::string_view k) const override { return inner_.Get(c, k); }
  Status Write(const WriteBatch& batch, Durability d) override {
    std::unique_lock lock(mutex_);
    ++writing_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !held_; });
    --writing_;
    return inner_.Write(batch, d);
  }
  Status Sync() override { return inner_.Sync(); }
  Result<std::vector<KeyValue>> Scan(Column c, std::string_view p, std::string_view a, size_t l) const override {
    return inner_.Scan(c, p, a, l);
  }
  void Hold(bool held) {
    std::lock_guard lock(mutex_);
    held_ = held;
    changed_.notify_all();
  }
  bool WaitForWriter() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [this] { return writing_ > 0; });
  }

 private:
  MemoryKvStore inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  int writing_ = 0;
};

pb::RegisterNodeRequest node(const std::string& address, const std::string& path) {
  pb::RegisterNodeRequest request;
  request.set_address(address);
  auto* target = request.add_targets();
  target->set_path(path);
  target->set_capacity_bytes(1 << 30);
  return request;
}

TEST(NodeRegistryCommitTest, ReadersDoNotWaitForACommitInProgress) {
  HeldStore store;
  NodeRegistry registry(store, 10s, 1, [] { return int64_t{1}; });
  ASSERT_TRUE(registry.Load().ok());
  ASSERT_TRUE(registry.Register(node("h1:1", "/t1")).ok());
  bool any = false;
  ASSERT_EQ(registry.WritableChains(&any).size(), 1u);

  store.Hold(true);
  auto second = std::async(std::launch::async, [&] { return registry.Register(node("h2:1", "/t2")); });
  ASSERT_TRUE(store.WaitForWriter());
  // The second node's commit hangs; readers go on, and see the state before it.
  auto readers = std::async(std::launch::async, [&] {
    bool registered = false;
    return std::make_pair(registry.WritableChains(&registered).size(), registry.Routing().targets_size());
  });
  const bool readers_done = readers.wait_for(10s) == std::future_status::ready;
  const auto seen = readers_done ? readers.get() : std::make_pair(size_t{0}, 0);
  store.Hold(false);  // before any assertion returns: the futures' destructors wait for their threads
  ASSERT_TRUE(readers_done) << "a reader waited for the commit";
  EXPECT_EQ(seen, std::make_pair(size_t{1}, 1));
  ASSERT_TRUE(second.get().ok());
  EXPECT_EQ(registry.Routing().targets_size(), 2) << "installed once committed";
}

}  // namespace
}  // namespace zcfs::meta
