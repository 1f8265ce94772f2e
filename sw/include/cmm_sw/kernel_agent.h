// Kernel-agent driver of one partition: real driver code that reaches the CMM
// only through a RegIf (the partition CPU's kernel context). It offers
//   * one call per CMM operation (ALLOC, CST writes, AUTHORIZE, CONNECT, ...),
//     each a fixed, documented sequence of register accesses
//     (docs/programmers-guide.md);
//   * the id-exchange protocol between kernel agents over MGMT messages
//     (cmm_sw/chan_proto.h) as a non-blocking state machine: request_channel()
//     starts a channel set-up, poll() (called repeatedly by the partition CPU
//     thread) services interrupts, MGMT messages and the error log and queues
//     Events, next_event() hands them out.
// The driver checks arguments and its own state before touching the bus; the
// CMM stays the authority on ownership (I5): the driver does not refuse an
// endpoint merely because it did not allocate it, the hardware does.
// Not thread-safe: one partition CPU thread drives one KernelAgent.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "cmm_regs.h"
#include "cmm_sw/chan_proto.h"
#include "cmm_sw/reg_if.h"
#include "cmm_sw/status.h"

namespace cmm::sw {

using ChannelKey = std::array<uint32_t, regs::kKeyWords>;

// Overwrites a key copy so it does not linger in driver memory.
void secure_zero(ChannelKey& k);

// The remote end of a channel as written to CST_REMOTE.
struct PeerId {
  uint8_t node = 0;
  uint8_t part = 0;
  uint8_t ep = 0;
  bool operator==(const PeerId& o) const { return node == o.node && part == o.part && ep == o.ep; }
  bool operator!=(const PeerId& o) const { return !(*this == o); }
};

struct PartInfo {
  uint8_t part = 0;   // the requester partition, as the CMM sees it
  uint8_t quota = 0;  // endpoint quota (strap)
  uint8_t used = 0;   // endpoints owned
};

// Decoded CST entry (CST_CTRL, CST_OWNER, CST_REMOTE, CST_STATUS). No key bits.
struct CstInfo {
  regs::Dir dir = regs::Dir::kRecv;
  regs::State state = regs::State::kFree;
  bool key_valid = false;
  regs::Origin key_origin = regs::Origin::kLocal;
  uint8_t owner_part = 0;
  uint16_t owner_pid = 0;
  PeerId remote{};
  uint8_t rxq_count = 0;
  regs::Reason last_reason = regs::Reason::kOk;
  uint16_t tx_nacks = 0;
};

// Decoded ERRLOG_HEAD word.
struct ErrorEntry {
  regs::Reason reason = regs::Reason::kOk;
  uint8_t ep = 0;
  uint8_t opcode = 0;        // regs::Opcode of the packet, 0 for a register-port event
  bool from_fabric = false;  // raised by an ingress packet
  bool exception = false;    // valid-bit exclusion exception (I6)
  uint8_t src_node = 0;      // source node of the packet (or this node)
  static ErrorEntry decode(uint32_t word);
};

// One management message, with the source ids the CMM stamped (I4).
struct MgmtMessage {
  uint8_t src_node = 0;
  uint8_t src_part = 0;
  MgmtWords words{};
};

// What a receiver-side agent asks of a sender-side agent.
struct ChannelRequest {
  uint8_t sender_node = 0;
  uint8_t sender_part = 0;
  uint16_t sender_pid = 0;  // process S on the sender's partition
  uint16_t recv_pid = 0;    // local process R that will own the receive endpoint
};

// A CHAN_REQ as the sender-side agent sees it (for its acceptance policy).
struct IncomingRequest {
  uint8_t src_node = 0;  // hardware-stamped
  uint8_t src_part = 0;  // hardware-stamped
  uint16_t req_id = 0;
  uint8_t recv_ep = 0;
  uint16_t recv_pid = 0;
  uint16_t send_pid = 0;
};
// Returns true to grant the request; false refuses it with reason DENIED.
using AcceptPolicy = std::function<bool(const IncomingRequest&)>;

inline constexpr uint16_t kNoRequest = 0;  // req_id of channels not set up by the protocol

struct Event {
  enum class Kind : uint8_t {
    kChannelReady,    // receiver side: request req_id done; receive endpoint ep is OPEN
    kChannelFailed,   // receiver side: request req_id failed (reason); its endpoint was released
    kSendReady,       // sender side: send endpoint ep is OPEN (CONNECT accepted); process pid may send
    kChannelRefused,  // sender side: this agent refused a CHAN_REQ from peer (reason)
    kRequestCancelled,  // sender side: the peer withdrew request req_id; send endpoint ep released
    kPeerClosed,      // the peer closed the channel of ep: entry CLOSED, key zeroized
    kTxNacked,        // send endpoint ep received count new NACKs, the last with reason
    kRxPending,       // receive endpoint ep holds count messages
    kErrorLogged,     // one error-log entry (error); error.exception marks an I6 exception
    kErrorsLost,      // count error-log entries were lost to a full log
    kMgmtIgnored,     // a channel-protocol message matching no request (stale or forged)
    kMgmtOther,       // a MGMT message that is not a channel-protocol message (mgmt)
  };
  Kind kind = Kind::kErrorLogged;
  uint16_t req_id = kNoRequest;  // receiver: own request; sender: the peer's request
  uint8_t ep = 0;                // local endpoint
  uint16_t pid = 0;              // local owner process
  PeerId peer{};                 // remote node/partition/endpoint
  regs::Reason reason = regs::Reason::kOk;
  uint32_t count = 0;
  ErrorEntry error{};
  MgmtMessage mgmt{};

  std::string str() const;  // one line, for logs and test failure messages
};

std::string_view to_string(Event::Kind k);

class KernelAgent {
 public:
  static constexpr size_t kEventCapacity = 128;
  static constexpr uint8_t kMaxRetries = 3;  // re-sends of a MGMT message NACKed MGMTQ_FULL

  // key_seed seeds the channel-key generator (std::mt19937_64).
  KernelAgent(RegIf& bus, uint64_t key_seed);
  KernelAgent(const KernelAgent&) = delete;
  KernelAgent& operator=(const KernelAgent&) = delete;

  // ---- bring-up: ID magic, GEOMETRY, NODE_ID, PART_INFO; clear and enable interrupts.
  [[nodiscard]] Status init();
  bool initialized() const { return initialized_; }
  uint8_t node_id() const { return node_; }
  uint8_t partition() const { return part_; }
  uint8_t quota() const { return quota_; }

  // ---- endpoint and CST operations
  [[nodiscard]] Status alloc_endpoint(uint8_t& ep);
  [[nodiscard]] Status set_direction(uint8_t ep, regs::Dir dir);
  [[nodiscard]] Status set_owner(uint8_t ep, uint16_t pid);
  [[nodiscard]] Status set_remote(uint8_t ep, const PeerId& remote);
  // set_direction + set_owner + set_remote.
  [[nodiscard]] Status configure(uint8_t ep, regs::Dir dir, uint16_t owner_pid, const PeerId& remote);
  [[nodiscard]] Status authorize(uint8_t ep);
  // Receive entry: stage a fresh 128-bit key (KEY0..3) and CMD CONNECT.
  [[nodiscard]] Status connect(uint8_t ep);
  [[nodiscard]] Status connect(uint8_t ep, const ChannelKey& key);
  // Receive entry: stage a key and CMD SET_KEY (store without sending).
  [[nodiscard]] Status set_key(uint8_t ep);
  [[nodiscard]] Status set_key(uint8_t ep, const ChannelKey& key);
  [[nodiscard]] Status close(uint8_t ep);
  [[nodiscard]] Status free_endpoint(uint8_t ep);

  // ---- status reads
  [[nodiscard]] Status read_cst(uint8_t ep, CstInfo& out);
  [[nodiscard]] Status endpoint_state(uint8_t ep, regs::State& out);
  [[nodiscard]] Status part_info(PartInfo& out);
  [[nodiscard]] Status reject_count(regs::Reason r, uint32_t& out);
  [[nodiscard]] Status stat(uint32_t index, uint32_t& out);

  // ---- management messages
  [[nodiscard]] Status send_mgmt(uint8_t node, uint8_t part, const MgmtWords& words);
  // Head of the MGMT receive queue, then MGMT_POP. kEmpty when none.
  [[nodiscard]] Status mgmt_receive(MgmtMessage& out);

  // ---- interrupts and error log
  [[nodiscard]] Status irq_status(uint32_t& bits);
  [[nodiscard]] Status irq_ack(uint32_t bits);  // write-1-to-clear
  // Oldest error-log entry, then ERRLOG_POP. kEmpty when none. lost: LOST field.
  [[nodiscard]] Status errlog_pop(ErrorEntry& out, uint8_t* lost = nullptr);

  // ---- id exchange (receiver side starts it; both sides poll)
  [[nodiscard]] Status request_channel(const ChannelRequest& req, uint16_t& req_id);
  // Abandons a request: releases its endpoint (CLOSE if connecting) and, if
  // the CHAN_REQ went out, sends CHAN_CANCEL so the peer releases its grant. No event.
  [[nodiscard]] Status cancel_request(uint16_t req_id);
  void set_accept_policy(AcceptPolicy p) { policy_ = std::move(p); }
  // Services pending interrupt causes; queues events. One IRQ_STATUS read when idle.
  [[nodiscard]] Status poll();
  bool next_event(Event& ev);
  size_t pending_events() const { return ev_count_; }

 private:
  enum class Track : uint8_t { kNone, kAllocated, kReqSent, kAuthorized, kConnecting, kOpen, kPeerClosed };
  struct Chan {
    Track track = Track::kNone;
    regs::Dir dir = regs::Dir::kRecv;
    bool proto = false;       // set up by the id-exchange protocol
    uint16_t req_id = kNoRequest;
    uint16_t pid = 0;         // local owner
    uint16_t peer_pid = 0;
    PeerId peer{};
    uint8_t retries = 0;
    uint16_t tx_nacks_seen = 0;
  };

  Status guard_ep(uint8_t ep) const;
  Status read(uint32_t addr, uint32_t& v);
  Status command(regs::Cmd op, uint8_t ep);
  Status stage_key(const ChannelKey& key);
  ChannelKey next_key();
  static uint32_t cst_addr(uint8_t ep, uint32_t off);

  // poll() parts.
  Status service_errlog();
  Status service_mgmt();
  Status scan_conn();
  Status scan_tx();
  Status scan_rx();
  Status handle_mgmt(const MgmtMessage& m);
  Status handle_chan_req(const MgmtMessage& m, const chan_proto::Msg& msg);
  Status handle_chan_reply(const MgmtMessage& m, const chan_proto::Msg& msg);
  Status handle_chan_cancel(const MgmtMessage& m, const chan_proto::Msg& msg);
  Status on_mgmt_nack(const ErrorEntry& e);
  Status refuse(const MgmtMessage& m, const chan_proto::Msg& msg, regs::Reason why);
  Status fail_request(uint8_t ep, regs::Reason why, bool tell_peer);
  Status withdraw(uint8_t ep, regs::Reason why);  // CHAN_CANCEL to the peer + release
  Status release(uint8_t ep);  // best-effort CLOSE (if needed) + FREE
  Status send_proto(uint8_t node, uint8_t part, const chan_proto::Msg& msg);
  int find_request(uint16_t req_id) const;

  size_t room() const { return kEventCapacity - ev_count_; }
  void push(const Event& ev);
  Event chan_event(Event::Kind k, uint8_t ep) const;

  RegIf& bus_;
  std::mt19937_64 keygen_;
  bool initialized_ = false;
  uint8_t node_ = 0, part_ = 0, quota_ = 0;
  uint8_t errlog_lost_seen_ = 0;
  uint32_t deferred_ = 0;  // interrupt causes left for the next poll (event queue full)
  uint16_t next_req_id_ = 1;
  std::array<Chan, regs::kNumEndpoints> chan_{};
  AcceptPolicy policy_;
  std::array<Event, kEventCapacity> ev_{};
  size_t ev_head_ = 0, ev_count_ = 0;
};

}  // namespace cmm::sw
