// fsx-style random test: a seeded random sequence of writes, reads, truncations, fsyncs and reopens
// applied to a file on the mount and to a model file on local disk, comparing every read and, every
// kCheckEvery operations, the whole content. ZCFS_FSX_SEED=<n> replays a sequence; the seed is printed
// with every failure.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>

#include "mount_env.h"

namespace zcfs::fuse_test {
namespace {

constexpr int kOps = 2500;
constexpr int kCheckEvery = 250;
constexpr uint64_t kMaxSize = 6 * 1024 * 1024;  // several chunks
constexpr size_t kMaxIoLength = 300 * 1024;

struct FilePair {
  std::string mount_path;
  std::string model_path;
  int mnt = -1;
  int model = -1;

  bool Open(int flags) {
    mnt = ::open(mount_path.c_str(), O_RDWR | flags, 0644);
    model = ::open(model_path.c_str(), O_RDWR | flags, 0644);
    return mnt >= 0 && model >= 0;
  }
  void Close() {
    EXPECT_EQ(::close(mnt), 0) << std::strerror(errno);
    ::close(model);
  }
  off_t ModelSize() const {
    struct stat st {};
    ::fstat(model, &st);
    return st.st_size;
  }
};

class FsxTest : public MountTest {
 protected:
  // The last operations, for failure messages ("op 17: write 4096 at 100").
  void Note(int op, const std::string& what, uint64_t a, uint64_t b = 0) {
    history_.push_back("op " + std::to_string(op) + ": " + what + " " + std::to_string(a) + " " + std::to_string(b));
    if (history_.size() > 30) history_.pop_front();
  }
  std::string History() const {
    std::string all = "\nlast operations (write/read: length offset, truncate: size):\n";
    for (const auto& line : history_) all += "  " + line + "\n";
    return all;
  }
  std::deque<std::string> history_;

  uint64_t Seed() {
    const char* env = std::getenv("ZCFS_FSX_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  }

  // Both whole files equal, and the mount's size equal to the model's.
  void CheckWhole(FilePair& f, int op) {
    struct stat st {};
    ASSERT_EQ(::fstat(f.mnt, &st), 0);
    const off_t size = f.ModelSize();
    ASSERT_EQ(st.st_size, size) << "size after op " << op << History();
    std::string want, got;
    ASSERT_TRUE(PReadAll(f.model, &want, static_cast<size_t>(size), 0));
    ASSERT_TRUE(PReadAll(f.mnt, &got, static_cast<size_t>(size) + 4096, 0));
    ASSERT_TRUE(SameBytes(got, want)) << "whole file after op " << op << History();
  }

  void Step(FilePair& f, std::mt19937_64& rng, int op) {
    const uint64_t kind = rng() % 100;
    const uint64_t offset = rng() % kMaxSize;
    // Mostly short transfers, sometimes long ones crossing chunk boundaries.
    const size_t length = 1 + (rng() % 4 == 0 ? rng() % kMaxIoLength : rng() % 4096);
    if (kind < 40) {  // write
      const size_t n = std::min<size_t>(length, kMaxSize - offset);
      const std::string data = Pattern(n, static_cast<uint32_t>(rng()));
      Note(op, "write", n, offset);
      ASSERT_TRUE(PWriteAll(f.mnt, data, static_cast<off_t>(offset))) << "write op " << op << std::strerror(errno);
      ASSERT_TRUE(PWriteAll(f.model, data, static_cast<off_t>(offset)));
    } else if (kind < 75) {  // read and compare, mostly within the file
      const off_t size = f.ModelSize();
      const off_t at = size > 0 && rng() % 8 != 0 ? static_cast<off_t>(offset % size) : static_cast<off_t>(offset);
      std::string want, got;
      Note(op, "read", length, static_cast<uint64_t>(at));
      ASSERT_TRUE(PReadAll(f.model, &want, length, at));
      ASSERT_TRUE(PReadAll(f.mnt, &got, length, at)) << "read op " << op << ": " << std::strerror(errno);
      ASSERT_TRUE(SameBytes(got, want)) << "read op " << op << History();
    } else if (kind < 87) {  // truncate up or down
      const off_t size = static_cast<off_t>(rng() % 2 ? offset : offset / 64);
      Note(op, "truncate", static_cast<uint64_t>(size));
      ASSERT_EQ(::ftruncate(f.mnt, size), 0) << "truncate op " << op << ": " << std::strerror(errno);
      ASSERT_EQ(::ftruncate(f.model, size), 0);
    } else if (kind < 93) {  // fsync
      Note(op, "fsync", 0);
      ASSERT_EQ(::fsync(f.mnt), 0) << "fsync op " << op << ": " << std::strerror(errno);
    } else {  // close and reopen
      Note(op, "reopen", 0);
      f.Close();
      ASSERT_TRUE(f.Open(0)) << "reopen op " << op << ": " << std::strerror(errno);
    }
  }
};

TEST_F(FsxTest, RandomOperationsMatchAModelFile) {
  const uint64_t seed = Seed();
  SCOPED_TRACE("ZCFS_FSX_SEED=" + std::to_string(seed));
  RecordProperty("seed", std::to_string(seed));
  // The model lives on the cluster's scratch directory: local disk, not tmpfs.
  FilePair f{Path("fsx"), cluster().dir() + "/fsx-model-" + std::to_string(seed)};
  ASSERT_TRUE(f.Open(O_CREAT | O_TRUNC)) << std::strerror(errno);
  std::mt19937_64 rng(seed);
  for (int op = 1; op <= kOps; ++op) {
    ASSERT_NO_FATAL_FAILURE(Step(f, rng, op));
    if (op % kCheckEvery == 0) ASSERT_NO_FATAL_FAILURE(CheckWhole(f, op));
  }
  f.Close();
  ::unlink(f.model_path.c_str());
}

}  // namespace
}  // namespace zcfs::fuse_test
