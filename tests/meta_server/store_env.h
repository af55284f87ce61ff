// Test environments for the meta server: the same tests run on the in-memory KvStore and on a real
// RocksDB in a temporary directory (typed tests). Reopen() simulates a restart: the RocksDB env
// closes and reopens the database; the memory env keeps its maps (they are the "disk").
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "zcfs/meta/memory_kv_store.h"
#include "zcfs/meta/rocksdb_kv_store.h"

namespace zcfs::meta::testing {

class MemoryEnv {
 public:
  static constexpr const char* kName = "Memory";
  KvStore& store() { return store_; }
  void Reopen() {}

 private:
  MemoryKvStore store_;
};

class RocksEnv {
 public:
  static constexpr const char* kName = "RocksDB";
  RocksEnv() {
    std::string pattern = (std::filesystem::temp_directory_path() / "zcfs-meta-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = pattern;
    Open();
  }
  ~RocksEnv() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  KvStore& store() { return *store_; }
  void Reopen() {
    Status closed = store_->Close();
    EXPECT_TRUE(closed.ok()) << closed.ToString();
    store_.reset();
    Open();
  }
  const std::string& dir() const { return dir_; }

 private:
  void Open() {
    // Syncing every write is the server default; tests skip the fsyncs (the WAL is still written).
    auto store = RocksKvStore::Open(dir_ + "/meta.db", {.sync_writes = false});
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return;
    }
    store_ = std::move(store).value();
  }
  std::string dir_;
  std::unique_ptr<RocksKvStore> store_;
};

using StoreEnvs = ::testing::Types<MemoryEnv, RocksEnv>;

struct EnvNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

}  // namespace zcfs::meta::testing
