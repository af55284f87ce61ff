// KvStore contract tests, run on both implementations.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store_env.h"

namespace zcfs::meta {
namespace {

using testing::EnvNames;
using testing::StoreEnvs;

template <typename Env>
class KvStoreTest : public ::testing::Test {
 protected:
  Env env_;
  KvStore& store() { return env_.store(); }
  std::vector<std::string> ScanKeys(Column c, std::string_view prefix, std::string_view after, size_t limit) {
    auto rows = store().Scan(c, prefix, after, limit);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> keys;
    if (rows.ok()) {
      for (auto& [k, v] : *rows) keys.push_back(k);
    }
    return keys;
  }
};
TYPED_TEST_SUITE(KvStoreTest, StoreEnvs, EnvNames);

TYPED_TEST(KvStoreTest, GetMissingIsNotFound) {
  auto v = this->store().Get(Column::kInodes, "nope");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kNotFound);
}

TYPED_TEST(KvStoreTest, PutGetDeleteAndColumnsAreSeparate) {
  ASSERT_TRUE(this->store().Put(Column::kInodes, "k", "inode").ok());
  ASSERT_TRUE(this->store().Put(Column::kSystem, "k", "system").ok());
  EXPECT_EQ(*this->store().Get(Column::kInodes, "k"), "inode");
  EXPECT_EQ(*this->store().Get(Column::kSystem, "k"), "system");
  EXPECT_EQ(this->store().Get(Column::kDentries, "k").status().code(), Code::kNotFound);
  ASSERT_TRUE(this->store().Put(Column::kInodes, "k", "again").ok());
  EXPECT_EQ(*this->store().Get(Column::kInodes, "k"), "again");
  ASSERT_TRUE(this->store().Delete(Column::kInodes, "k").ok());
  EXPECT_EQ(this->store().Get(Column::kInodes, "k").status().code(), Code::kNotFound);
  EXPECT_EQ(*this->store().Get(Column::kSystem, "k"), "system");
}

TYPED_TEST(KvStoreTest, BatchAppliesInOrderAcrossColumns) {
  ASSERT_TRUE(this->store().Put(Column::kDentries, "gone", "x").ok());
  WriteBatch batch;
  batch.Put(Column::kInodes, "a", "1");
  batch.Put(Column::kSystem, "b", "2");
  batch.Delete(Column::kDentries, "gone");
  batch.Put(Column::kInodes, "a", "3");  // later operations win
  ASSERT_TRUE(this->store().Write(batch).ok());
  EXPECT_EQ(*this->store().Get(Column::kInodes, "a"), "3");
  EXPECT_EQ(*this->store().Get(Column::kSystem, "b"), "2");
  EXPECT_EQ(this->store().Get(Column::kDentries, "gone").status().code(), Code::kNotFound);
}

TYPED_TEST(KvStoreTest, BinaryKeysAndValues) {
  std::string key("\x00\x01\x00zz", 5), value("\x00\xff\x00", 3);
  ASSERT_TRUE(this->store().Put(Column::kDentries, key, value).ok());
  EXPECT_EQ(*this->store().Get(Column::kDentries, key), value);
  EXPECT_EQ(this->store().Get(Column::kDentries, key.substr(0, 4)).status().code(), Code::kNotFound);
}

TYPED_TEST(KvStoreTest, ScanPrefixAfterAndLimit) {
  for (const char* k : {"a/1", "a/2", "a/3", "a/30", "b/1", "a", "Z"}) {
    ASSERT_TRUE(this->store().Put(Column::kDentries, k, "v").ok());
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "a/", "", 0), (V{"a/1", "a/2", "a/3", "a/30"}));
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "a/", "", 2), (V{"a/1", "a/2"}));
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "a/", "a/2", 0), (V{"a/3", "a/30"}));  // strictly after
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "a/", "a/25", 1), (V{"a/3"}));         // after a missing key
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "a/", "a", 0).size(), 4u);             // after below the prefix
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "a/", "a/30", 0), V{});
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "c/", "", 0), V{});
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "", "", 0).size(), 7u);
  EXPECT_EQ(this->ScanKeys(Column::kInodes, "", "", 0), V{});
  auto rows = this->store().Scan(Column::kDentries, "b/", "", 0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].second, "v");
}

TYPED_TEST(KvStoreTest, SurvivesReopen) {
  WriteBatch batch;
  batch.Put(Column::kInodes, "i", "1");
  batch.Put(Column::kSystem, "s", "2");
  ASSERT_TRUE(this->store().Write(batch).ok());
  this->env_.Reopen();
  EXPECT_EQ(*this->store().Get(Column::kInodes, "i"), "1");
  EXPECT_EQ(*this->store().Get(Column::kSystem, "s"), "2");
}

TEST(RocksKvStoreTest, SyncedWritesAndCloseIsIdempotent) {
  testing::RocksEnv env;  // only for its temp dir
  std::string path = env.dir() + "/synced.db";
  {
    auto store = RocksKvStore::Open(path);  // default options: sync every batch
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Put(Column::kInodes, "k", "v").ok());
    ASSERT_TRUE((*store)->Close().ok());
    EXPECT_TRUE((*store)->Close().ok());
    EXPECT_EQ((*store)->Get(Column::kInodes, "k").status().code(), Code::kUnavailable);
    EXPECT_EQ((*store)->Put(Column::kInodes, "k", "v").code(), Code::kUnavailable);
  }
  auto store = RocksKvStore::Open(path, {.sync_writes = true, .create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->Get(Column::kInodes, "k"), "v");
}

TEST(RocksKvStoreTest, OpenMissingWithoutCreateFails) {
  testing::RocksEnv env;
  auto store = RocksKvStore::Open(env.dir() + "/absent.db", {.create_if_missing = false});
  EXPECT_FALSE(store.ok());
}

TEST(MemoryKvStoreTest, InjectedWriteFailureAppliesNothing) {
  MemoryKvStore store;
  store.FailWrites(true);
  EXPECT_EQ(store.Put(Column::kInodes, "k", "v").code(), Code::kIoError);
  store.FailWrites(false);
  EXPECT_EQ(store.Get(Column::kInodes, "k").status().code(), Code::kNotFound);
}


// Deferred writes are visible at once, and Sync (called from many threads at once, as the meta
// server's handlers do) succeeds and leaves them in place across a reopen.
TYPED_TEST(KvStoreTest, DeferredWritesThenConcurrentSyncs) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        WriteBatch batch;
        batch.Put(Column::kDentries, "t" + std::to_string(t) + "/" + std::to_string(i), "v");
        if (!this->store().Write(batch, Durability::kDeferred).ok()) ++failures;
        if (!this->store().Get(Column::kDentries, "t" + std::to_string(t) + "/" + std::to_string(i)).ok()) ++failures;
        if (!this->store().Sync().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  this->env_.Reopen();
  EXPECT_EQ(this->ScanKeys(Column::kDentries, "t", "", 0).size(), 200u);
}

}  // namespace
}  // namespace zcfs::meta
