#include "slot_space.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <filesystem>

#include "slot_bitmap.h"
#include "unique_fd.h"
#include "zcfs/common/logging.h"

namespace zcfs::storage_internal {

SlotSpace::ReadPin::~ReadPin() {
  if (space_ != nullptr) space_->Unpin(parity_);
}

Result<std::unique_ptr<SlotSpace>> SlotSpace::Open(Options options, BlockIo& io,
                                                   const std::vector<SlotGroup>& committed) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Error(code_from_errno(ec.value()), "create " + options.dir + ": " + ec.message());
  std::unique_ptr<SlotSpace> space(new SlotSpace(std::move(options), io));
  RETURN_IF_ERROR(space->OpenFiles());
  RETURN_IF_ERROR(space->MarkCommitted(committed));
  return space;
}

SlotSpace::SlotSpace(Options options, BlockIo& io) : options_(std::move(options)), io_(io) {
  for (auto& fds : fds_) {
    fds.reset(new std::atomic<int>[kMaxFilesPerClass]);
    for (uint32_t i = 0; i < kMaxFilesPerClass; ++i) fds[i].store(-1);
  }
}

SlotSpace::~SlotSpace() {
  for (int c = 0; c < kNumClasses; ++c) {
    for (uint32_t f = 0; f < files_[c].size(); ++f) {
      int fd = fds_[c][f].load();
      io_.UnregisterFile(fd);
      ::close(fd);
    }
  }
}

std::string SlotSpace::FilePath(int size_class, uint32_t file) const {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, ".%04u", file);
  return options_.dir + "/" + ClassName(size_class) + suffix;
}

Status SlotSpace::OpenFiles() {
  const int flags = O_RDWR | O_CLOEXEC | (options_.direct_io ? O_DIRECT : 0);
  for (int c = 0; c < kNumClasses; ++c) {
    for (uint32_t f = 0; f < kMaxFilesPerClass; ++f) {
      std::string path = FilePath(c, f);
      UniqueFd fd(::open(path.c_str(), flags));
      if (fd.get() < 0 && errno == ENOENT) break;
      if (fd.get() < 0) return Status::FromErrno(errno, "open data file " + path);
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat data file " + path);
      // A size between slots can only come from a growth step cut short; the partial slot is unused.
      DataFile file;
      file.slots = static_cast<uint32_t>(static_cast<uint64_t>(st.st_size) / ClassSize(c));
      file.used.assign((file.slots + 63) / 64, 0);
      RETURN_IF_ERROR(io_.RegisterFile(fd.get()));
      fds_[c][f].store(fd.release(), std::memory_order_release);
      files_[c].push_back(std::move(file));
    }
  }
  return Status::Ok();
}

Status SlotSpace::MarkCommitted(const std::vector<SlotGroup>& committed) {
  for (const SlotGroup& group : committed) {
    for (uint32_t bit = 0; bit < kSlotsPerGroup; ++bit) {
      if ((static_cast<unsigned char>(group.bits[bit / 8]) >> (bit % 8) & 1) == 0) continue;
      SlotId slot{group.size_class, group.file, group.group * kSlotsPerGroup + bit};
      if (slot.file >= files_[slot.size_class].size() || slot.slot >= files_[slot.size_class][slot.file].slots) {
        return Error(Code::kCorruption, "the slot bitmap holds " + slot.ToString() +
                                            ", which lies outside the data files in " + options_.dir +
                                            " (a data file was lost or cut)");
      }
      DataFile& file = files_[slot.size_class][slot.file];
      file.used[slot.slot / 64] |= uint64_t{1} << (slot.slot % 64);
      ++file.used_count;
    }
  }
  return Status::Ok();
}

Result<SlotId> SlotSpace::Allocate(int size_class) {
  std::lock_guard lock(mutex_);
  auto& files = files_[size_class];
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (uint32_t f = 0; f < files.size(); ++f) {
      DataFile& file = files[f];
      if (file.used_count == file.slots) continue;
      for (uint32_t w = file.hint; w < file.used.size(); ++w) {
        if (file.used[w] == ~uint64_t{0}) continue;
        uint32_t slot = w * 64 + static_cast<uint32_t>(std::countr_one(file.used[w]));
        if (slot >= file.slots) break;
        file.used[w] |= uint64_t{1} << (slot % 64);
        ++file.used_count;
        file.hint = w;
        return SlotId{static_cast<uint8_t>(size_class), f, slot};
      }
    }
    if (attempt == 0) RETURN_IF_ERROR(Grow(size_class));
  }
  return Error(Code::kInternal, "no free " + ClassName(size_class) + " slot after growing");
}

Status SlotSpace::Grow(int size_class) {
  const uint64_t slot_size = ClassSize(size_class);
  const uint64_t step = std::max(align_down(options_.grow_bytes, slot_size), slot_size);
  const uint64_t max_slots = std::max<uint64_t>(options_.max_file_bytes / slot_size, 1);
  auto& files = files_[size_class];
  if (files.empty() || files.back().slots >= max_slots) {
    if (files.size() >= kMaxFilesPerClass) {
      return Error(Code::kNoSpace,
                   "target " + options_.dir + " has no room for another " + ClassName(size_class) + " data file");
    }
    const int flags = O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL | (options_.direct_io ? O_DIRECT : 0);
    auto f = static_cast<uint32_t>(files.size());
    std::string path = FilePath(size_class, f);
    UniqueFd fd(::open(path.c_str(), flags, 0644));
    if (fd.get() < 0) return Status::FromErrno(errno, "create data file " + path);
    UniqueFd dir(::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) return Status::FromErrno(errno, "sync directory " + options_.dir);
    RETURN_IF_ERROR(io_.RegisterFile(fd.get()));
    fds_[size_class][f].store(fd.release(), std::memory_order_release);
    files.emplace_back();
  }
  uint32_t file = static_cast<uint32_t>(files.size() - 1);
  uint64_t slots = std::min<uint64_t>(files.back().slots + step / slot_size, max_slots);
  RETURN_IF_ERROR(ResizeFile(size_class, file, slots * slot_size));
  DataFile& grown = files.back();
  grown.slots = static_cast<uint32_t>(slots);
  grown.used.resize((grown.slots + 63) / 64, 0);
  return Status::Ok();
}

// Preallocates the file up to `bytes` and makes the new size durable before any slot in it is used.
Status SlotSpace::ResizeFile(int size_class, uint32_t file, uint64_t bytes) {
  int fd = fds_[size_class][file].load();
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat data file " + FilePath(size_class, file));
  auto from = static_cast<uint64_t>(st.st_size);
  if (bytes > from) {
    int err = ::posix_fallocate(fd, static_cast<off_t>(from), static_cast<off_t>(bytes - from));
    if (err != 0) {
      // Give back what a partial preallocation took, so a full disk stays exactly as full as before.
      if (::ftruncate(fd, static_cast<off_t>(from)) != 0) LOG_WARN << "cannot undo a failed data file growth";
      Status s = Status::FromErrno(
          err, "grow data file " + FilePath(size_class, file) + " to " + std::to_string(bytes) + " bytes");
      return err == ENOSPC ? Error(Code::kNoSpace, "target " + options_.dir + " is full: " + s.message()) : s;
    }
  }
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "sync data file " + FilePath(size_class, file));
  return Status::Ok();
}

void SlotSpace::MarkFree(SlotId slot) {
  DataFile& file = files_[slot.size_class][slot.file];
  uint64_t bit = uint64_t{1} << (slot.slot % 64);
  if ((file.used[slot.slot / 64] & bit) == 0) {
    LOG_ERROR << "freeing " << slot.ToString() << " in " << options_.dir << ", which is already free";
    return;
  }
  file.used[slot.slot / 64] &= ~bit;
  --file.used_count;
  file.hint = std::min(file.hint, slot.slot / 64);
}

void SlotSpace::Cancel(SlotId slot) {
  std::lock_guard lock(mutex_);
  MarkFree(slot);
}

void SlotSpace::Retire(SlotId slot) {
  std::lock_guard lock(mutex_);
  retiring_[epoch_ & 1].push_back(slot);
  AdvanceEpochs();
}

SlotSpace::ReadPin SlotSpace::PinForRead() {
  std::lock_guard lock(mutex_);
  int parity = static_cast<int>(epoch_ & 1);
  ++readers_[parity];
  return ReadPin(this, parity);
}

void SlotSpace::Unpin(int parity) {
  std::lock_guard lock(mutex_);
  --readers_[parity];
  AdvanceEpochs();
}

// Reads pinned in the current epoch may have looked up records before a slot retired in it; reads
// pinned in the previous epoch before a slot retired in that one. Moving to the next epoch needs the
// previous epoch's readers gone; then the slots retired in it are safe to reuse. Twice at most:
// with no readers at all, a slot retired just now becomes free at once.
void SlotSpace::AdvanceEpochs() {
  for (int i = 0; i < 2 && (!retiring_[0].empty() || !retiring_[1].empty()); ++i) {
    int previous = static_cast<int>((epoch_ + 1) & 1);
    if (readers_[previous] != 0) return;
    for (SlotId slot : retiring_[previous]) MarkFree(slot);
    retiring_[previous].clear();
    ++epoch_;
  }
}

SlotSpace::Stats SlotSpace::stats() const {
  std::lock_guard lock(mutex_);
  Stats s;
  for (int c = 0; c < kNumClasses; ++c) {
    for (const DataFile& file : files_[c]) {
      s.classes[c].slots += file.slots;
      s.classes[c].used += file.used_count;
      ++s.files;
    }
  }
  s.retiring = retiring_[0].size() + retiring_[1].size();
  return s;
}

}  // namespace zcfs::storage_internal
