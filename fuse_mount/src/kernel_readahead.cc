#include "kernel_readahead.h"

#include <fstream>
#include <sstream>

namespace zcfs {

Result<std::string> mount_device(const std::string& mountpoint, const std::string& mountinfo) {
  std::ifstream in(mountinfo);
  if (!in) return Error(Code::kNotFound, "cannot read " + mountinfo);
  std::string found;
  // mountinfo lines: ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ... (mount points escape spaces as \040,
  // which zcfs mount points rarely have; such a mount point is simply not found).
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    if (fields >> id >> parent >> device >> root >> point && point == mountpoint) found = device;  // last wins
  }
  if (found.empty()) return Error(Code::kNotFound, mountpoint + " is not in " + mountinfo);
  return found;
}

Status raise_kernel_readahead(const std::string& mountpoint, size_t bytes) {
  ASSIGN_OR_RETURN(std::string device, mount_device(mountpoint));
  const std::string knob = "/sys/class/bdi/" + device + "/read_ahead_kb";
  const size_t wanted_kb = bytes / 1024;
  size_t current_kb = 0;
  if (std::ifstream current(knob); !(current >> current_kb)) return Error(Code::kNotFound, "cannot read " + knob);
  if (current_kb >= wanted_kb) return Status::Ok();
  std::ofstream out(knob);
  out << wanted_kb << "\n";
  out.close();
  if (!out) return Error(Code::kPermissionDenied, "cannot write " + knob + " (needs root)");
  return Status::Ok();
}

}  // namespace zcfs
