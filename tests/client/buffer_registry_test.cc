// Registered buffers: finding the buffer (region, offset) a destination lies in, refusing memory no
// single buffer holds, deregistering on destruction (also after the client is gone), and the pins
// that keep a released buffer from being written.
#include "buffer_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "placed_read.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/tcp_transport.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

class BufferRegistryTest : public ::testing::Test {
 protected:
  asio::io_context io_;
  TcpTransport transport_{io_.get_executor()};
  std::shared_ptr<BufferRegistry> registry_ = std::make_shared<BufferRegistry>(transport_);
};

TEST_F(BufferRegistryTest, FindsTheBufferAndOffsetOfADestination) {
  std::vector<std::byte> a(1000), b(500);
  auto first = BufferRegistry::Register(registry_, a, false, 0);
  auto second = BufferRegistry::Register(registry_, b, false, 0);
  ASSERT_TRUE(first.ok() && second.ok());
  auto in_a = registry_->Find(a.data() + 100, 900);  // up to the last byte
  ASSERT_TRUE(in_a.ok()) << in_a.status().ToString();
  EXPECT_EQ(in_a->offset, 100u);
  auto in_b = registry_->Find(b.data(), 1);
  ASSERT_TRUE(in_b.ok());
  EXPECT_EQ(in_b->offset, 0u);
  EXPECT_NE(in_a->region_id, in_b->region_id);
  // The transport resolves what the registry names: the region is the buffer's memory.
  auto resolved = transport_.Resolve(in_a->region_id, in_a->offset, 10);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->data(), a.data() + 100);
}

TEST_F(BufferRegistryTest, RefusesDestinationsNoSingleBufferHolds) {
  std::vector<std::byte> memory(2000);
  auto buffer = BufferRegistry::Register(registry_, std::span(memory).subspan(500, 1000), false, 0);
  ASSERT_TRUE(buffer.ok());
  for (auto [at, length] : {std::pair<size_t, size_t>{400, 10}, {1400, 200}, {499, 2}, {1500, 1}, {0, 2000}}) {
    auto found = registry_->Find(memory.data() + at, length);
    ASSERT_FALSE(found.ok()) << at << "+" << length;
    EXPECT_EQ(found.status().code(), Code::kInvalidArgument);
    EXPECT_NE(found.status().message().find("not inside a registered buffer"), std::string::npos);
  }
  EXPECT_EQ(registry_->Find(nullptr, 1).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(registry_->Find(memory.data() + 500, 1000).ok());
}

TEST_F(BufferRegistryTest, OverlappingRegistrationsAreRefused) {
  std::vector<std::byte> memory(2000);
  auto middle = BufferRegistry::Register(registry_, std::span(memory).subspan(500, 1000), false, 0);
  ASSERT_TRUE(middle.ok());
  for (auto [at, length] : {std::pair<size_t, size_t>{0, 501}, {1499, 10}, {600, 10}, {0, 2000}}) {
    auto again = BufferRegistry::Register(registry_, std::span(memory).subspan(at, length), false, 0);
    EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << at << "+" << length;
  }
  EXPECT_TRUE(BufferRegistry::Register(registry_, std::span(memory).subspan(0, 500), false, 0).ok());
  EXPECT_TRUE(BufferRegistry::Register(registry_, std::span(memory).subspan(1500, 500), false, 0).ok());
  EXPECT_EQ(BufferRegistry::Register(registry_, {}, false, 0).status().code(), Code::kInvalidArgument);
}

TEST_F(BufferRegistryTest, DestroyingABufferDeregistersIt) {
  std::vector<std::byte> memory(100);
  auto buffer = BufferRegistry::Register(registry_, memory, false, 0);
  ASSERT_TRUE(buffer.ok());
  uint64_t region = registry_->Find(memory.data(), 1)->region_id;
  buffer->reset();
  EXPECT_EQ(registry_->size(), 0u);
  EXPECT_FALSE(registry_->Find(memory.data(), 1).ok());
  EXPECT_FALSE(transport_.Resolve(region, 0, 1).ok()) << "the transport still places into released memory";
  EXPECT_TRUE(BufferRegistry::Register(registry_, memory, false, 0).ok()) << "the memory can be registered again";
}

TEST_F(BufferRegistryTest, ABufferOutlivingItsClientOnlyFreesItsMemory) {
  size_t mapped = 0;
  auto memory = map_buffer_memory(10000, false, &mapped);
  ASSERT_TRUE(memory.ok());
  auto buffer = BufferRegistry::Register(registry_, *memory, false, mapped);
  ASSERT_TRUE(buffer.ok());
  registry_->Detach();  // what ~Client does
  EXPECT_EQ(BufferRegistry::Register(registry_, *memory, false, 0).status().code(), Code::kCancelled);
  buffer->reset();  // must not touch the transport; unmaps
}

TEST(MapBufferMemoryTest, PageAlignedZeroedAndRoundedUp) {
  size_t mapped = 0;
  auto memory = map_buffer_memory(5000, false, &mapped);
  ASSERT_TRUE(memory.ok()) << memory.status().ToString();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(memory->data()) % 4096, 0u);
  EXPECT_EQ(memory->size(), 5000u);
  EXPECT_EQ(mapped, 8192u);
  for (std::byte b : *memory) ASSERT_EQ(b, std::byte{0});
  EXPECT_EQ(map_buffer_memory(0, false, &mapped).status().code(), Code::kInvalidArgument);
}

TEST(MapBufferMemoryTest, HugePagesWithNoneReservedIsResourceExhausted) {
  std::ifstream in("/proc/sys/vm/nr_hugepages");
  long reserved = -1;
  if (!(in >> reserved) || reserved != 0) GTEST_SKIP() << "huge pages are reserved on this machine";
  size_t mapped = 0;
  auto memory = map_buffer_memory(1 << 20, true, &mapped);
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.status().code(), Code::kResourceExhausted);
  EXPECT_NE(memory.status().message().find("nr_hugepages"), std::string::npos) << memory.status().ToString();
}

TEST(BufferLifeTest, RetireWaitsForPinsAndRefusesLaterOnes) {
  BufferLife life;
  ASSERT_TRUE(life.Pin());
  std::atomic<bool> retired{false};
  std::thread retirer([&] {
    life.Retire();
    retired = true;
  });
  std::this_thread::sleep_for(50ms);  // gives Retire the chance to return early (it must not)
  EXPECT_FALSE(retired.load()) << "Retire returned while a read still wrote into the buffer";
  life.Unpin();
  retirer.join();
  EXPECT_TRUE(retired.load());
  EXPECT_FALSE(life.Pin());
}

TEST(PinSetTest, PinsEachBufferOnceAndRemembersReleasedOnes) {
  auto live = std::make_shared<BufferLife>();
  auto gone = std::make_shared<BufferLife>();
  gone->Retire();
  {
    PinSet pins;
    EXPECT_TRUE(pins.Hold(nullptr));  // the caller's own memory
    EXPECT_TRUE(pins.Hold(live.get()));
    EXPECT_TRUE(pins.Hold(live.get()));
    EXPECT_FALSE(pins.Hold(gone.get()));
    EXPECT_FALSE(pins.Hold(gone.get()));
  }
  live->Retire();  // would wait forever if the set had leaked a pin
  EXPECT_FALSE(live->Pin());
}

}  // namespace
}  // namespace zcfs
