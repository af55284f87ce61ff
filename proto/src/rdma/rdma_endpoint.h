// RdmaEndpoint: one side of an RDMA connection - an RC QP, its message buffers and credits, and
// one-sided operations whose completion a coroutine can wait for. Used by both the client channel and
// the server. Everything but Create/Deliver runs on the endpoint's strand (not thread-safe otherwise).
//
// Send buffers are a ring of `credits + 4` slots; a slot is free again once a signalled send at or
// after it completes. Sends are signalled every quarter ring (and whenever the ring runs low), so a
// busy connection takes one completion per few messages rather than one per message.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rdma_context.h"
#include "rdma_message.h"
#include "zcfs/common/aligned_buffer.h"
#include "zcfs/proto/asio.h"

namespace zcfs::rdma_internal {

// How often each side checks that the TCP control connection of an RDMA connection is still there.
inline constexpr auto kControlCheck = std::chrono::milliseconds(200);

class RdmaEndpoint : public std::enable_shared_from_this<RdmaEndpoint> {
 public:
  using MessageFn = std::function<void(rdma::Message)>;
  using ClosedFn = std::function<void(const Status&)>;
  // A one-sided operation: WRITE local -> remote, or READ remote -> local.
  struct Op {
    rdma::WrOpcode opcode = rdma::WrOpcode::kRdmaWrite;
    rdma::Sge local;
    rdma::RemoteBuffer remote;
  };

  static Result<std::shared_ptr<RdmaEndpoint>> Create(std::shared_ptr<RdmaContext> context,
                                                      asio::any_io_executor executor, std::string peer);
  ~RdmaEndpoint();

  // What the peer needs to connect to this endpoint.
  rdma::Handshake local() const;
  // Connects the QP to the peer's and posts the receives. Messages and the close (once) go to the
  // callbacks, on the strand. Call on the strand (or before anything else can touch the endpoint).
  Status Connect(const rdma::Handshake& remote, MessageFn on_message, ClosedFn on_closed);

  // Sends a message, waiting for a credit and a send slot. `before` is posted first: RC order puts its
  // data in place before the message arrives; the call then also waits until the message's send has
  // completed, so the memory `before` reads from is free again when it returns.
  Task<Status> Send(rdma::Message message, std::vector<Op> before = {});
  // Runs one-sided operations and waits until all are done.
  Task<Status> Run(std::vector<Op> ops);
  // Sends a goodbye if a credit is at hand (never waits for one), then closes.
  Task<> Goodbye();
  // Moves the QP to ERROR, fails every waiter with `why` and reports it to on_closed. Idempotent.
  void Close(Status why);

  bool open() const { return open_; }
  const Strand& strand() const { return strand_; }
  const std::string& peer() const { return peer_; }
  const RdmaOptions& options() const { return context_->options(); }
  RdmaContext& context() { return *context_; }

  // From the completion poller: hands `wc` to the endpoint's strand.
  static void Deliver(std::shared_ptr<RdmaEndpoint> self, const rdma::WorkCompletion& wc);

 private:
  struct Waiter;
  RdmaEndpoint(std::shared_ptr<RdmaContext> context, Strand strand, std::string peer);
  Status Setup();
  void OnCompletion(const rdma::WorkCompletion& wc);
  void OnReceive(uint32_t index, uint32_t length);
  Status PostReceive(uint32_t index);
  void ReturnCreditsIfOwed();
  uint64_t CreditsLeft();
  uint32_t FreeSlots() const { return slots_ - static_cast<uint32_t>(send_seq_ - send_done_); }
  Status PostMessage(const rdma::Message& message, bool signaled, uint64_t seq);
  Status PostOps(const std::vector<Op>& ops, size_t begin, size_t end, uint64_t last_wr_id);
  Task<Status> Await(uint64_t wr_id);
  void Wake(uint64_t wr_id, const Status& status);

  std::shared_ptr<RdmaContext> context_;
  Strand strand_;
  std::string peer_;
  MessageFn on_message_;
  ClosedFn on_closed_;
  bool open_ = false;
  Status closed_status_;

  uint32_t credits_ = 0;  // receives this side keeps posted
  uint32_t slots_ = 0;    // send ring slots
  uint32_t msg_size_ = 0;
  AlignedBuffer recv_buf_, send_buf_, words_;  // words_: [0] credit word the peer writes, [1] ours to send
  std::unique_ptr<rdma::MemoryRegion> recv_mr_, send_mr_, words_mr_;
  std::unique_ptr<rdma::QueuePair> qp_;  // after the MRs: destroyed first

  rdma::RemoteBuffer peer_credit_word_;
  uint64_t peer_posted_ = 0;  // receives the peer has posted in all (as far as known)
  uint64_t sent_ = 0;         // messages sent in all
  uint64_t posted_ = 0;       // receives this side has posted in all
  uint64_t advertised_ = 0;   // the last `posted_` the peer was told
  uint64_t send_seq_ = 0;     // send slots taken in all
  uint64_t send_done_ = 0;    // send slots retired in all
  uint64_t next_op_ = 1;
  std::map<uint64_t, std::shared_ptr<Waiter>> waiters_;  // by the wr_id whose completion they wait for
};

}  // namespace zcfs::rdma_internal
