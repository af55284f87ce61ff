#include "buffer_registry.h"

#include <sys/mman.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace zcfs {
namespace {

constexpr size_t kPageSize = 4096;
constexpr size_t kHugePageSize = 2u << 20;

std::string range_text(const std::byte* data, size_t size) {
  std::ostringstream out;
  out << "[" << static_cast<const void*>(data) << ", +" << size << ")";
  return out.str();
}

std::string reserved_huge_pages() {
  std::ifstream in("/proc/sys/vm/nr_hugepages");
  std::string count;
  return (in >> count) ? count : "unknown";
}

}  // namespace

bool BufferLife::Pin() {
  std::lock_guard lock(mutex_);
  if (retired_) return false;
  ++pins_;
  return true;
}

void BufferLife::Unpin() {
  std::lock_guard lock(mutex_);
  if (--pins_ == 0) unpinned_.notify_all();
}

void BufferLife::Retire() {
  std::unique_lock lock(mutex_);
  retired_ = true;
  unpinned_.wait(lock, [this] { return pins_ == 0; });
}

// A buffer of the registry: deregisters (and unmaps what the client mapped) on destruction.
class ClientBuffer final : public RegisteredBuffer {
 public:
  ClientBuffer(std::shared_ptr<BufferRegistry> registry, std::shared_ptr<BufferLife> life, std::span<std::byte> memory,
               bool huge_pages, size_t mapped_size)
      : RegisteredBuffer(memory.data(), memory.size(), huge_pages),
        registry_(std::move(registry)),
        life_(std::move(life)),
        mapped_size_(mapped_size) {}

  ~ClientBuffer() override {
    life_->Retire();  // reads placing into the memory finish; later ones find it gone
    registry_->Remove(data());
    if (mapped_size_ > 0) ::munmap(data(), mapped_size_);
  }

 private:
  std::shared_ptr<BufferRegistry> registry_;
  std::shared_ptr<BufferLife> life_;
  size_t mapped_size_;  // 0: the caller's memory
};

Result<std::shared_ptr<RegisteredBuffer>> BufferRegistry::Register(const std::shared_ptr<BufferRegistry>& registry,
                                                                   std::span<std::byte> memory, bool huge_pages,
                                                                   size_t mapped_size) {
  auto unmap = [&] {
    if (mapped_size > 0) ::munmap(memory.data(), mapped_size);
  };
  if (memory.data() == nullptr || memory.empty()) {
    unmap();
    return Error(Code::kInvalidArgument, "cannot register an empty buffer");
  }
  auto life = std::make_shared<BufferLife>();
  {
    std::lock_guard lock(registry->mutex_);
    Status refused;
    if (registry->transport_ == nullptr) refused = Error(Code::kCancelled, "the client is closed");
    auto next = registry->buffers_.lower_bound(memory.data());
    if (refused.ok() && next != registry->buffers_.end() && next->first < memory.data() + memory.size()) {
      refused =
          Error(Code::kAlreadyExists, "memory " + range_text(memory.data(), memory.size()) +
                                          " overlaps registered buffer " + range_text(next->first, next->second.size));
    }
    if (refused.ok() && next != registry->buffers_.begin()) {
      auto before = std::prev(next);
      if (before->first + before->second.size > memory.data()) {
        refused = Error(Code::kAlreadyExists, "memory " + range_text(memory.data(), memory.size()) +
                                                  " overlaps registered buffer " +
                                                  range_text(before->first, before->second.size));
      }
    }
    Result<RegionHandle> region = refused.ok() ? registry->transport_->RegisterMemory(memory.data(), memory.size())
                                               : Result<RegionHandle>(refused);
    if (!region.ok()) {
      unmap();
      return region.status();
    }
    registry->buffers_[memory.data()] = Entry{memory.size(), region->id, life};
  }
  return std::shared_ptr<RegisteredBuffer>(
      std::make_shared<ClientBuffer>(registry, std::move(life), memory, huge_pages, mapped_size));
}

Result<BufferSlice> BufferRegistry::Find(const std::byte* dst, size_t length) const {
  if (dst == nullptr) return Error(Code::kInvalidArgument, "read destination is null");
  std::lock_guard lock(mutex_);
  auto it = buffers_.upper_bound(dst);
  if (it != buffers_.begin()) {
    --it;
    uint64_t offset = static_cast<uint64_t>(dst - it->first);
    if (offset < it->second.size && length <= it->second.size - offset) {
      return BufferSlice{it->second.life, it->second.region_id, offset};
    }
  }
  return Error(Code::kInvalidArgument,
               "read destination " + range_text(dst, length) + " is not inside a registered buffer");
}

void BufferRegistry::Remove(const std::byte* data) {
  std::lock_guard lock(mutex_);
  auto it = buffers_.find(data);
  if (it == buffers_.end()) return;
  if (transport_ != nullptr) transport_->DeregisterMemory(it->second.region_id).IgnoreError();
  buffers_.erase(it);
}

void BufferRegistry::Detach() {
  std::lock_guard lock(mutex_);
  transport_ = nullptr;
  buffers_.clear();
}

size_t BufferRegistry::size() const {
  std::lock_guard lock(mutex_);
  return buffers_.size();
}

Result<std::span<std::byte>> map_buffer_memory(size_t size, bool huge_pages, size_t* mapped_size) {
  if (size == 0) return Error(Code::kInvalidArgument, "cannot allocate an empty buffer");
  size_t unit = huge_pages ? kHugePageSize : kPageSize;
  if (size > SIZE_MAX - unit)
    return Error(Code::kInvalidArgument, "buffer size " + std::to_string(size) + " is too large");
  size_t rounded = (size + unit - 1) / unit * unit;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | (huge_pages ? MAP_HUGETLB : 0);
  void* memory = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (memory == MAP_FAILED) {
    int err = errno;
    if (huge_pages && (err == ENOMEM || err == EINVAL)) {
      return Error(Code::kResourceExhausted, "no free 2 MiB huge pages for a buffer of " + std::to_string(size) +
                                                 " bytes (vm.nr_hugepages = " + reserved_huge_pages() +
                                                 "; reserve some or allocate without huge_pages)");
    }
    return Status::FromErrno(err, "mmap of a buffer of " + std::to_string(size) + " bytes");
  }
  *mapped_size = rounded;
  return std::span<std::byte>(static_cast<std::byte*>(memory), size);
}

}  // namespace zcfs
