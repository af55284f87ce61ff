// Test support: two connected RC queue pairs on any verbs Device(s), each with its own PD and CQs,
// and a helper that waits for completions. Used by the emulated and the real-device verbs tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "zcfs/proto/rdma/verbs.h"

namespace zcfs::rdma::testing {

struct Side {
  std::unique_ptr<ProtectionDomain> pd;
  std::unique_ptr<CompletionQueue> send_cq;
  std::unique_ptr<CompletionQueue> recv_cq;
  std::unique_ptr<QueuePair> qp;

  // Waits up to 10 s for `n` completions on `cq` (the bound only keeps a broken test from hanging).
  static std::vector<WorkCompletion> Take(CompletionQueue& cq, size_t n) {
    std::vector<WorkCompletion> out;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < n && std::chrono::steady_clock::now() < give_up) {
      WorkCompletion wc[8];
      size_t got = cq.Poll(std::span(wc, std::min<size_t>(8, n - out.size())));
      out.insert(out.end(), wc, wc + got);
      if (got == 0) cq.Wait(std::chrono::milliseconds(50));
    }
    return out;
  }
  std::vector<WorkCompletion> TakeSends(size_t n) { return Take(*send_cq, n); }
  std::vector<WorkCompletion> TakeRecvs(size_t n) { return Take(*recv_cq, n); }

  std::unique_ptr<MemoryRegion> Register(std::vector<std::byte>& memory, uint32_t flags) {
    auto mr = pd->RegisterMemory(memory.data(), memory.size(), flags);
    EXPECT_TRUE(mr.ok()) << mr.status().ToString();
    return mr.ok() ? std::move(*mr) : nullptr;
  }
};

inline Side MakeSide(Device& device, QpOptions options = {}) {
  Side side;
  side.pd = std::move(device.AllocPd()).value();
  side.send_cq = std::move(device.CreateCq(1024)).value();
  side.recv_cq = std::move(device.CreateCq(1024)).value();
  options.send_cq = side.send_cq.get();
  options.recv_cq = side.recv_cq.get();
  auto qp = side.pd->CreateQp(options);
  EXPECT_TRUE(qp.ok()) << qp.status().ToString();
  if (qp.ok()) side.qp = std::move(*qp);
  return side;
}

// Connects a and b to each other: both go RESET -> INIT -> RTR -> RTS.
inline Status Connect(Side& a, Side& b, const ConnectOptions& options = {}) {
  for (Side* s : {&a, &b}) RETURN_IF_ERROR(s->qp->Init(options));
  RETURN_IF_ERROR(a.qp->ReadyToReceive(b.qp->endpoint(), options));
  RETURN_IF_ERROR(b.qp->ReadyToReceive(a.qp->endpoint(), options));
  for (Side* s : {&a, &b}) RETURN_IF_ERROR(s->qp->ReadyToSend(options));
  return Status::Ok();
}

inline Sge SgeOf(const MemoryRegion& mr, size_t offset, size_t length) {
  return Sge{reinterpret_cast<uint64_t>(mr.addr()) + offset, static_cast<uint32_t>(length), mr.lkey()};
}

inline std::vector<std::byte> Pattern(size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + seed) % 251);
  return v;
}

}  // namespace zcfs::rdma::testing
