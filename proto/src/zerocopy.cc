#include "zcfs/proto/zerocopy.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif

namespace zcfs {

std::optional<ZerocopyNotice> decode_zerocopy_notice(const sock_extended_err& err) {
  if (err.ee_origin != SO_EE_ORIGIN_ZEROCOPY || err.ee_errno != 0) return std::nullopt;
  return ZerocopyNotice{err.ee_info, err.ee_data, (err.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0};
}

std::vector<ZerocopyNotice> read_zerocopy_notices(int fd, int* error) {
  std::vector<ZerocopyNotice> out;
  *error = 0;
  for (;;) {
    alignas(cmsghdr) char control[256];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *error = errno;
      return out;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      bool recverr = (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                     (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!recverr || c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
      sock_extended_err err;
      std::memcpy(&err, CMSG_DATA(c), sizeof(err));  // CMSG_DATA need not be aligned for the struct
      if (auto notice = decode_zerocopy_notice(err)) out.push_back(*notice);
    }
  }
}

int enable_zerocopy(int fd) {
  int one = 1;
  return ::setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) == 0 ? 0 : errno;
}

void ZerocopyTracker::Hold(std::shared_ptr<void> keepalive) {
  if (done_ == sent_) return;  // nothing in flight: the kernel is done with every page already
  held_.emplace_back(sent_, std::move(keepalive));
}

bool ZerocopyTracker::Complete(uint32_t lo, uint32_t hi) {
  uint32_t done_id = first_id_ + static_cast<uint32_t>(done_);
  uint64_t begin = done_ + static_cast<uint32_t>(lo - done_id);  // an id before done_ wraps far past sent_
  uint64_t end = begin + static_cast<uint64_t>(static_cast<uint32_t>(hi - lo)) + 1;
  if (end > sent_) return false;
  // Refuse overlap with a range already completed (a duplicate notice).
  auto next = early_.lower_bound(begin);
  if (next != early_.end() && next->first < end) return false;
  if (next != early_.begin() && std::prev(next)->second > begin) return false;
  // Insert, merging with the neighbours it touches.
  if (next != early_.end() && next->first == end) {
    end = next->second;
    next = early_.erase(next);
  }
  if (next != early_.begin() && std::prev(next)->second == begin) {
    std::prev(next)->second = end;
  } else {
    early_.emplace(begin, end);
  }
  if (!early_.empty() && early_.begin()->first == done_) {
    done_ = early_.begin()->second;
    early_.erase(early_.begin());
  }
  ReleaseCompleted();
  return true;
}

void ZerocopyTracker::ReleaseAll() {
  held_.clear();
  early_.clear();
  done_ = sent_;
}

uint64_t ZerocopyTracker::outstanding() const {
  uint64_t early = 0;
  for (const auto& [begin, end] : early_) early += end - begin;
  return sent_ - done_ - early;
}

void ZerocopyTracker::ReleaseCompleted() {
  while (!held_.empty() && held_.front().first <= done_) held_.pop_front();
}

}  // namespace zcfs
