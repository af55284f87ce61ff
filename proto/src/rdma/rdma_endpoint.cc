#include "rdma_endpoint.h"

#include <atomic>

#include "zcfs/common/logging.h"

namespace zcfs::rdma_internal {
namespace {

using rdma::Sge;
using rdma::WcStatus;
using rdma::WrOpcode;
namespace access = rdma::access;

// wr_id: the kind in the top byte, a receive index, send sequence or operation id below.
enum Kind : uint64_t { kRecv = 1, kSend = 2, kOp = 3, kCredit = 4 };
constexpr uint64_t wr_id(Kind kind, uint64_t n) { return (uint64_t{kind} << 56) | (n & ((1ull << 56) - 1)); }
constexpr Kind kind_of(uint64_t id) { return static_cast<Kind>(id >> 56); }
constexpr uint64_t number_of(uint64_t id) { return id & ((1ull << 56) - 1); }

// One-sided operations posted at once before waiting for them: well inside the send queue.
constexpr size_t kOpsPerPost = 256;
constexpr uint32_t kSendQueueDepth = 4096;

Status closed_error(const std::string& peer) {
  return Error(Code::kUnavailable, "RDMA connection to " + peer + " is closed");
}

}  // namespace

struct RdmaEndpoint::Waiter {
  explicit Waiter(const Strand& strand) : timer(strand) {}
  asio::steady_timer timer;
  bool done = false;
  Status status;
};

RdmaEndpoint::RdmaEndpoint(std::shared_ptr<RdmaContext> context, Strand strand, std::string peer)
    : context_(std::move(context)), strand_(std::move(strand)), peer_(std::move(peer)) {}

Result<std::shared_ptr<RdmaEndpoint>> RdmaEndpoint::Create(std::shared_ptr<RdmaContext> context,
                                                           asio::any_io_executor executor, std::string peer) {
  auto endpoint = std::shared_ptr<RdmaEndpoint>(
      new RdmaEndpoint(std::move(context), asio::make_strand(std::move(executor)), std::move(peer)));
  RETURN_IF_ERROR(endpoint->Setup());
  return endpoint;
}

Status RdmaEndpoint::Setup() {
  const RdmaOptions& o = context_->options();
  credits_ = o.credits;
  slots_ = o.credits + 4;
  msg_size_ = static_cast<uint32_t>(align_up(o.message_size, 64));
  recv_buf_ = AlignedBuffer(size_t{credits_} * msg_size_, AlignedBuffer::Init::kUninitialized);
  send_buf_ = AlignedBuffer(size_t{slots_} * msg_size_, AlignedBuffer::Init::kUninitialized);
  words_ = AlignedBuffer(64);
  auto& pd = context_->pd();
  ASSIGN_OR_RETURN(recv_mr_, pd.RegisterMemory(recv_buf_.data(), recv_buf_.size(), access::kLocalWrite));
  ASSIGN_OR_RETURN(send_mr_, pd.RegisterMemory(send_buf_.data(), send_buf_.size(), 0));
  ASSIGN_OR_RETURN(words_mr_,
                   pd.RegisterMemory(words_.data(), words_.size(), access::kLocalWrite | access::kRemoteWrite));
  rdma::QpOptions qp{&context_->cq(), &context_->cq(), kSendQueueDepth + slots_, credits_, 4};
  ASSIGN_OR_RETURN(qp_, pd.CreateQp(qp));
  return Status::Ok();
}

RdmaEndpoint::~RdmaEndpoint() {
  if (qp_) context_->Detach(qp_->qp_num());
}

rdma::Handshake RdmaEndpoint::local() const {
  return rdma::Handshake{qp_->endpoint(), credits_, msg_size_,
                         rdma::RemoteBuffer{reinterpret_cast<uint64_t>(words_.data()), words_mr_->rkey(), 8}};
}

Status RdmaEndpoint::Connect(const rdma::Handshake& remote, MessageFn on_message, ClosedFn on_closed) {
  if (remote.message_size > msg_size_) {
    return Error(Code::kInvalidArgument, "peer " + peer_ + " sends messages of up to " +
                                             std::to_string(remote.message_size) + " bytes, this side takes " +
                                             std::to_string(msg_size_));
  }
  const rdma::ConnectOptions& c = context_->options().connect;
  RETURN_IF_ERROR(qp_->Init(c));
  RETURN_IF_ERROR(qp_->ReadyToReceive(remote.qp, c));
  RETURN_IF_ERROR(qp_->ReadyToSend(c));
  on_message_ = std::move(on_message);
  on_closed_ = std::move(on_closed);
  peer_credit_word_ = remote.credit_word;
  peer_posted_ = remote.credits;
  open_ = true;  // before anything can complete: the context's lock orders these writes before the strand's reads
  context_->Attach(qp_->qp_num(), weak_from_this());
  for (uint32_t i = 0; i < credits_; ++i) {
    if (Status s = PostReceive(i); !s.ok()) {
      open_ = false;
      return s;
    }
  }
  advertised_ = posted_;  // the handshake told the peer
  return Status::Ok();
}

Status RdmaEndpoint::PostReceive(uint32_t index) {
  Sge sge{reinterpret_cast<uint64_t>(recv_buf_.data() + size_t{index} * msg_size_), msg_size_, recv_mr_->lkey()};
  RETURN_IF_ERROR(qp_->PostRecv(rdma::RecvWr{wr_id(kRecv, index), std::span(&sge, 1)}));
  ++posted_;
  return Status::Ok();
}

void RdmaEndpoint::Deliver(std::shared_ptr<RdmaEndpoint> self, const rdma::WorkCompletion& wc) {
  const Strand& strand = self->strand_;
  asio::post(strand, [self = std::move(self), wc] { self->OnCompletion(wc); });
}

void RdmaEndpoint::OnCompletion(const rdma::WorkCompletion& wc) {
  if (!wc.ok()) {
    Status why = Error(Code::kUnavailable, "RDMA connection to " + peer_ +
                                               " broke: " + std::string(rdma::wc_status_name(wc.status)) + " on QP " +
                                               std::to_string(wc.qp_num));
    Close(why);
    Wake(wc.wr_id, why);
    return;
  }
  switch (kind_of(wc.wr_id)) {
    case kRecv:
      OnReceive(static_cast<uint32_t>(number_of(wc.wr_id)), wc.byte_len);
      break;
    case kSend:
      send_done_ = std::max(send_done_, number_of(wc.wr_id) + 1);  // retires every slot up to it
      Wake(wc.wr_id, Status::Ok());
      break;
    case kOp:
      Wake(wc.wr_id, Status::Ok());
      break;
    case kCredit:
      break;
  }
}

void RdmaEndpoint::OnReceive(uint32_t index, uint32_t length) {
  if (!open_) return;
  auto message = rdma::decode_message(std::span<const std::byte>(recv_buf_.data() + size_t{index} * msg_size_, length),
                                      context_->options().limits);
  // The message is parsed out of the buffer (the body is copied: control data), so it can take the
  // next message at once.
  if (Status s = PostReceive(index); !s.ok()) return Close(s);
  if (!message.ok()) return Close(Status(message.status()).Prepend("from " + peer_));
  peer_posted_ = std::max(peer_posted_, message->credits);
  if (message->kind == rdma::MessageKind::kBye) {
    return Close(Error(Code::kUnavailable, "RDMA connection closed by " + peer_));
  }
  on_message_(std::move(message).value());
  ReturnCreditsIfOwed();
}

void RdmaEndpoint::ReturnCreditsIfOwed() {
  if (!open_ || posted_ - advertised_ < credits_ / 2) return;
  // The peer may be waiting for these with nothing to say: write the count into its credit word.
  auto* word = reinterpret_cast<uint64_t*>(words_.data()) + 1;
  std::atomic_ref<uint64_t>(*word).store(posted_, std::memory_order_release);
  Sge sge{reinterpret_cast<uint64_t>(word), 8, words_mr_->lkey()};
  rdma::SendWr wr{wr_id(kCredit, 0),      WrOpcode::kRdmaWrite,  std::span(&sge, 1), true,
                  peer_credit_word_.addr, peer_credit_word_.rkey};
  if (Status s = qp_->PostSend(wr); !s.ok()) return Close(s);
  advertised_ = posted_;
}

uint64_t RdmaEndpoint::CreditsLeft() {
  auto* word = reinterpret_cast<uint64_t*>(words_.data());
  peer_posted_ = std::max(peer_posted_, std::atomic_ref<uint64_t>(*word).load(std::memory_order_acquire));
  return peer_posted_ - sent_;
}

Task<Status> RdmaEndpoint::Send(rdma::Message message, std::vector<Op> before) {
  if (rdma::encoded_size(message) > msg_size_) {
    co_return Error(Code::kInvalidArgument, "RDMA message of " + std::to_string(rdma::encoded_size(message)) +
                                                " bytes exceeds the message size " + std::to_string(msg_size_) +
                                                " (RdmaOptions::message_size)");
  }
  // Posting the operations in bounded rounds keeps them inside the send queue; all but the last round
  // are waited for.
  size_t done = 0;
  while (before.size() - done > kOpsPerPost) {
    if (!open_) co_return closed_status_;
    uint64_t id = wr_id(kOp, next_op_++);
    if (Status s = PostOps(before, done, done + kOpsPerPost, id); !s.ok()) co_return s;
    if (Status s = co_await Await(id); !s.ok()) co_return s;
    done += kOpsPerPost;
  }
  while (open_ && (CreditsLeft() == 0 || FreeSlots() == 0)) {
    asio::steady_timer wait(strand_, std::chrono::microseconds(200));  // rare: the peer is behind
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!open_) co_return closed_status_;
  if (Status s = PostOps(before, done, before.size(), 0); !s.ok()) co_return s;
  uint64_t seq = send_seq_++;
  ++sent_;
  const uint32_t every = std::max<uint32_t>(1, slots_ / 4);
  bool signaled = !before.empty() || seq % every == every - 1 || FreeSlots() < every;
  if (Status s = PostMessage(message, signaled, seq); !s.ok()) co_return s;
  if (before.empty()) co_return Status::Ok();
  co_return co_await Await(wr_id(kSend, seq));
}

Status RdmaEndpoint::PostMessage(const rdma::Message& message, bool signaled, uint64_t seq) {
  rdma::Message m = message;
  m.credits = posted_;
  advertised_ = posted_;
  std::byte* slot = send_buf_.data() + size_t{static_cast<uint32_t>(seq % slots_)} * msg_size_;
  size_t size = rdma::encoded_size(m);
  rdma::encode_message(m, std::span(slot, size));
  Sge sge{reinterpret_cast<uint64_t>(slot), static_cast<uint32_t>(size), send_mr_->lkey()};
  Status posted = qp_->PostSend(rdma::SendWr{wr_id(kSend, seq), WrOpcode::kSend, std::span(&sge, 1), signaled});
  if (!posted.ok()) Close(posted);
  return posted;
}

Status RdmaEndpoint::PostOps(const std::vector<Op>& ops, size_t begin, size_t end, uint64_t last_wr_id) {
  for (size_t i = begin; i < end; ++i) {
    const bool last = i + 1 == end && last_wr_id != 0;
    rdma::SendWr wr{last ? last_wr_id : wr_id(kOp, 0),
                    ops[i].opcode,
                    std::span(&ops[i].local, 1),
                    last,
                    ops[i].remote.addr,
                    ops[i].remote.rkey};
    if (Status s = qp_->PostSend(wr); !s.ok()) {
      Close(s);
      return s;
    }
  }
  return Status::Ok();
}

Task<Status> RdmaEndpoint::Run(std::vector<Op> ops) {
  for (size_t done = 0; done < ops.size(); done += kOpsPerPost) {
    if (!open_) co_return closed_status_;
    uint64_t id = wr_id(kOp, next_op_++);
    if (Status s = PostOps(ops, done, std::min(ops.size(), done + kOpsPerPost), id); !s.ok()) co_return s;
    if (Status s = co_await Await(id); !s.ok()) co_return s;
  }
  co_return Status::Ok();
}

Task<Status> RdmaEndpoint::Await(uint64_t id) {
  auto waiter = std::make_shared<Waiter>(strand_);
  waiters_[id] = waiter;
  waiter->timer.expires_at(asio::steady_timer::time_point::max());
  // A completion, or Close(), wakes it; the NIC reports every signalled work request, or fails the QP.
  while (!waiter->done) {
    boost::system::error_code ec;
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return waiter->status;
}

void RdmaEndpoint::Wake(uint64_t id, const Status& status) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  it->second->done = true;
  it->second->status = status;
  it->second->timer.cancel();
  waiters_.erase(it);
}

Task<> RdmaEndpoint::Goodbye() {
  if (open_ && CreditsLeft() > 0 && FreeSlots() > 0) {
    rdma::Message bye;
    bye.kind = rdma::MessageKind::kBye;
    uint64_t seq = send_seq_++;
    ++sent_;
    // Waits for the send to complete: moving the QP to ERROR first would flush it unsent.
    if (PostMessage(bye, true, seq).ok()) (co_await Await(wr_id(kSend, seq))).IgnoreError();
  }
  Close(closed_error(peer_));
}

void RdmaEndpoint::Close(Status why) {
  if (!open_) return;
  LOG_DEBUG << "RDMA connection to " << peer_ << " (QP " << qp_->qp_num() << ") closes: " << why.ToString();
  open_ = false;
  closed_status_ = why.ok() ? closed_error(peer_) : why;
  qp_->SetError().IgnoreError();  // flushes what is outstanding; late RDMA from the peer is refused
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [id, waiter] : waiters) {
    waiter->done = true;
    waiter->status = closed_status_;
    waiter->timer.cancel();
  }
  if (on_closed_) on_closed_(closed_status_);
}

}  // namespace zcfs::rdma_internal
