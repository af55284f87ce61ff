#include "support/local_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace zcfs::testing {
namespace {
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(20);

Status stop_process(ChildProcess& child, const std::string& name) {
  if (!child.running()) return Status::Ok();
  child.Signal(SIGTERM);
  auto code = child.Wait(kStopTimeout);
  if (!code.ok()) return Error(Code::kTimeout, name + " did not stop on SIGTERM");
  if (*code != 0) return Error(Code::kInternal, name + " exited with " + std::to_string(*code));
  return Status::Ok();
}
// kill() returns once SIGSTOP is queued; the process's threads stop as each one takes it. A test that
// freezes a server and then sends it requests must not race a thread still running: wait for the
// whole process to show as stopped ('T' in /proc/PID/stat).
Status WaitUntilStopped(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  while (std::chrono::steady_clock::now() < deadline) {
    bool all_stopped = true;
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator(task_dir, error)) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      size_t end_of_name = line.rfind(')');
      if (end_of_name == std::string::npos || line.size() < end_of_name + 3 || line[end_of_name + 2] != 'T') {
        all_stopped = false;
        break;
      }
    }
    if (error) return Error(Code::kInternal, "cannot list " + task_dir + ": " + error.message());
    if (all_stopped) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Error(Code::kTimeout, "process " + std::to_string(pid) + " did not stop on SIGSTOP");
}

}  // namespace

LocalCluster::LocalCluster(std::string name, ClusterOptions options)
    : name_(std::move(name)), options_(std::move(options)), dir_(make_scratch_dir(name_)) {}

LocalCluster::~LocalCluster() {
  Status unmounted = Unmount();
  Status stopped = Stop();
  // The data files are preallocated (64 MiB per size class and target), so scratch directories add up
  // to gigabytes: a cluster that stopped cleanly in a passing test removes its own. One of a failing
  // test stays for its logs, as does any with ZCFS_KEEP_SCRATCH set, and so does one that may still be
  // mounted (removing through a live mount would delete the cluster's files, not the directory).
  bool keep = ::testing::Test::HasFailure() || ::testing::UnitTest::GetInstance()->failed_test_count() > 0 ||
              std::getenv("ZCFS_KEEP_SCRATCH") != nullptr;
  if (!keep && unmounted.ok() && stopped.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Result<ChildProcess> LocalCluster::StartProcess(const std::string& name, std::vector<std::string> argv,
                                                std::string* ready) {
  std::string ready_file = dir_ + "/" + name + ".ready";
  std::string log_file = dir_ + "/" + name + ".log";
  // A restarted process appends to its earlier log.
  if (std::find(log_files_.begin(), log_files_.end(), log_file) == log_files_.end()) log_files_.push_back(log_file);
  std::error_code ignored;
  std::filesystem::remove(ready_file, ignored);  // a restarted process must not be taken as ready at once
  argv.push_back("--ready-file=" + ready_file);
  ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Spawn(argv, log_file));
  auto content = wait_for_file(ready_file, kStartTimeout);
  if (!content.ok()) return Error(Code::kTimeout, name + " did not become ready:\n" + read_text_file(log_file));
  *ready = *content;
  return child;
}

std::vector<std::string> LocalCluster::MetaArgv(const std::string& listen) const {
  std::vector<std::string> argv = {ZCFS_META_BIN, "--listen=" + listen, "--data-dir=" + dir_ + "/meta"};
  for (const auto& f : options_.meta_flags) argv.push_back(f);
  return argv;
}

Status LocalCluster::Start() {
  if (options_.meta_group.empty()) {
    ASSIGN_OR_RETURN(meta_, StartProcess("meta", MetaArgv("127.0.0.1:0"), &meta_address_));
  } else {
    meta_address_ = options_.meta_group;
  }
  for (int i = 0; i < options_.storage_servers; ++i) {
    std::string ignored;
    ASSIGN_OR_RETURN(ChildProcess child, StartProcess("storage" + std::to_string(i), StorageArgv(i), &ignored));
    storage_.push_back(std::move(child));
  }
  return Status::Ok();
}

std::vector<std::string> LocalCluster::StorageArgv(size_t index) const {
  std::vector<std::string> argv = {ZCFS_STORAGE_BIN, "--listen=127.0.0.1:0", "--meta=" + meta_address_,
                                   "--data-dir=" + storage_dir(index)};
  argv.insert(argv.end(), options_.storage_flags.begin(), options_.storage_flags.end());
  return argv;
}

Result<std::string> LocalCluster::Mount(const std::vector<std::string>& extra_flags) {
  mount_point_ = dir_ + "/mnt";
  std::filesystem::create_directories(mount_point_);
  std::vector<std::string> argv = {ZCFS_FUSE_BIN, "--meta=" + meta_address_};
  for (const auto& f : extra_flags) argv.push_back(f);
  argv.push_back(mount_point_);
  std::string ignored;
  ASSIGN_OR_RETURN(fuse_, StartProcess("fuse", argv, &ignored));
  return mount_point_;
}

Status LocalCluster::Unmount() {
  if (mount_point_.empty()) return Status::Ok();
  Status s = stop_process(fuse_, "zcfs-fuse");
  ::umount2(mount_point_.c_str(), MNT_DETACH);  // in case the daemon died without unmounting
  mount_point_.clear();
  return s;
}

Status LocalCluster::Stop() {
  Status first;
  for (size_t i = 0; i < storage_.size(); ++i) {
    Status s = stop_process(storage_[i], "zcfs-storage " + std::to_string(i));
    if (first.ok()) first = s;
  }
  Status s = stop_process(meta_, "zcfs-meta");
  return first.ok() ? s : first;
}

Status LocalCluster::KillMeta() {
  if (!meta_.running()) return Error(Code::kInternal, "zcfs-meta is not running");
  meta_.Signal(SIGKILL);
  auto code = meta_.Wait(kStopTimeout);
  if (!code.ok()) return Error(Code::kTimeout, "zcfs-meta survived SIGKILL");
  return Status::Ok();
}

Status LocalCluster::RestartMeta() {
  if (meta_.running()) return Error(Code::kInternal, "zcfs-meta is still running");
  std::string address;
  ASSIGN_OR_RETURN(meta_, StartProcess("meta", MetaArgv(meta_address_), &address));
  return Status::Ok();
}

Status LocalCluster::SignalStorage(size_t index, int sig) {
  if (index >= storage_.size() || !storage_[index].running()) {
    return Error(Code::kInternal, "zcfs-storage " + std::to_string(index) + " is not running");
  }
  storage_[index].Signal(sig);
  if (sig == SIGSTOP) return WaitUntilStopped(storage_[index].pid());
  return Status::Ok();
}

Status LocalCluster::SignalMeta(int sig) {
  if (!meta_.running()) return Error(Code::kInternal, "zcfs-meta is not running");
  meta_.Signal(sig);
  if (sig == SIGSTOP) return WaitUntilStopped(meta_.pid());
  return Status::Ok();
}

Status LocalCluster::SignalFuse(int sig) {
  if (mount_point_.empty() || !fuse_.running()) return Error(Code::kInternal, "zcfs-fuse is not running");
  fuse_.Signal(sig);
  return Status::Ok();
}

Result<int> LocalCluster::WaitFuse(std::chrono::milliseconds timeout) { return fuse_.Wait(timeout); }

Status LocalCluster::RestartStorage(size_t index) {
  if (index >= storage_.size()) return Error(Code::kInternal, "no zcfs-storage " + std::to_string(index));
  std::string name = "storage" + std::to_string(index);
  RETURN_IF_ERROR(stop_process(storage_[index], "zcfs-storage " + std::to_string(index)));
  std::string ignored;
  ASSIGN_OR_RETURN(storage_[index], StartProcess(name, StorageArgv(index), &ignored));
  return Status::Ok();
}

Status LocalCluster::KillStorage(size_t index) {
  RETURN_IF_ERROR(SignalStorage(index, SIGKILL));
  auto code = storage_[index].Wait(kStopTimeout);
  if (!code.ok()) return Error(Code::kTimeout, "zcfs-storage " + std::to_string(index) + " survived SIGKILL");
  return Status::Ok();
}

Status LocalCluster::StartStorage(size_t index) {
  if (index >= storage_.size()) return Error(Code::kInternal, "no zcfs-storage " + std::to_string(index));
  if (storage_[index].running()) return Error(Code::kInternal, "zcfs-storage " + std::to_string(index) + " runs");
  std::string ignored;
  ASSIGN_OR_RETURN(storage_[index], StartProcess("storage" + std::to_string(index), StorageArgv(index), &ignored));
  return Status::Ok();
}

std::string LocalCluster::storage_address(size_t index) const {
  std::ifstream in(dir_ + "/storage" + std::to_string(index) + ".ready");
  std::string address;
  std::getline(in, address);
  return address;
}

std::string LocalCluster::logs() const {
  std::string all;
  for (const auto& f : log_files_) all += "==== " + f + "\n" + read_text_file(f);
  return all;
}

}  // namespace zcfs::testing
