// Kernel agent of one partition: real driver code that reaches the CMM only
// through a RegIf (the partition CPU's kernel context). Two layers: the
// register-level driver CmmDriver (cmm_driver.h) does every register access;
// the agent on top keeps the state of each entry and runs the protocol. It offers
//   * one call per CMM operation (ALLOC, CST writes, AUTHORIZE, CONNECT, ...),
//     each a fixed, documented sequence of register accesses
//     (docs/programmers-guide.md);
//   * the id-exchange protocol between kernel agents over MGMT messages
//     (cmm_sw/chan_proto.h) as a non-blocking state machine: request_channel()
//     starts a channel set-up, poll() (called repeatedly by the partition CPU
//     thread) services interrupts, MGMT messages and the error log and queues
//     Events, next_event() hands them out;
//   * the agent's timers (CONNECT re-send with back-off, expiry of pending
//     requests and grants) on a clock the caller supplies (set_clock(); no
//     wall-clock time): poll() runs what is due, next_deadline() says when
//     the next timer is due so the CPU thread can sleep until then;
//   * channel keys from a per-partition libsodium key derivation (KeyGen).
// The driver checks arguments and its own state before touching the bus; the
// CMM stays the authority on ownership (I5): the driver does not refuse an
// endpoint merely because it did not allocate it, the hardware does.
// Not thread-safe: one partition CPU thread drives one KernelAgent.
#pragma once
#include <array>
#include <vector>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "cmm_regs.h"
#include "cmm_sw/chan_proto.h"
#include "cmm_sw/cmm_driver.h"
#include "cmm_sw/key_gen.h"
#include "cmm_sw/reg_if.h"
#include "cmm_sw/status.h"

namespace cmm::sw {

// Overwrites a key copy so it does not linger in driver memory.
void secure_zero(ChannelKey& k);

// What a receiver-side agent asks of a sender-side agent.
struct ChannelRequest {
  uint16_t sender_node = 0;
  uint8_t sender_part = 0;
  uint16_t sender_pid = 0;  // process S on the sender's partition
  uint16_t recv_pid = 0;    // local process R that will own the receive endpoint
  // Channel mode (CST_CTRL.MODE, docs/strong-mode.md 2): both agents set it;
  // the sender's agent refuses a mode it does not grant (MODE_MISMATCH).
  regs::Mode mode = regs::Mode::kPlain;
};

// A CHAN_REQ as the sender-side agent sees it (for its acceptance policy).
struct IncomingRequest {
  uint16_t src_node = 0;  // hardware-stamped
  uint8_t src_part = 0;  // hardware-stamped
  uint16_t req_id = 0;
  uint16_t recv_ep = 0;
  uint16_t recv_pid = 0;
  uint16_t send_pid = 0;
  regs::Mode mode = regs::Mode::kPlain;  // requested channel mode
};
// Returns true to grant the request; false refuses it with reason DENIED.
using AcceptPolicy = std::function<bool(const IncomingRequest&)>;

inline constexpr uint16_t kNoRequest = 0;  // req_id of channels not set up by the protocol

// Where receive-entry keys come from (docs/security.md 1.9, 1.10).
enum class KeySource : uint8_t {
  kSoftware,  // the agent's KeyGen, staged through KEY0..3
  kHardware,  // the CMM's key generator (CMD.HWKEY): software never sees the key
};

// Tunables of the agent. Times are in ticks of the clock given to
// set_clock(); the defaults assume CMM clock cycles.
struct AgentConfig {
  uint32_t boot = 0;                 // boot counter of the partition (key generator subkey)
  uint64_t connect_timeout = 2048;   // first CONNECT re-send after this; doubles for each further try
  uint8_t connect_tries = 4;         // CONNECTs sent in all (first + re-sends), then CLOSE + failure
  uint64_t request_timeout = 65536;  // a CHAN_REQ unanswered this long fails (kRequestExpired)
  uint64_t grant_timeout = 65536;    // a granted send endpoint without CONNECT this long is released
  uint8_t max_pending_per_peer = 2;  // outstanding requests (receiver side; more are held back)
                                     // and grants (sender side; more are refused) per peer partition
  uint16_t alarm_thresh = 0;         // written to ALARM_CFG by init() when non-zero
  uint8_t alarm_window_log2 = 0;
  KeySource key_source = KeySource::kSoftware;  // connect(ep) / set_key(ep) without a key argument
  uint8_t keygen_tries = 16;                    // hardware: CMD CONNECT refused KEY_GEN_NOT_READY this many
                                                // times (first + retries), then the channel fails
  uint64_t keygen_retry = regs::kKeygenCycles;  // hardware: retry a KEY_GEN_NOT_READY CONNECT after this
  // Management messages one service pass takes at most: the device's
  // management queue depth (not in GEOMETRY; the system sets it).
  uint32_t mgmt_batch = regs::kMgmtqDepth;
  uint8_t mgmt_tries = 8;      // MGMT re-sends of one request in all (after MGMTQ_FULL NACKs and
                               // after mgmt_timeout without answer: one shared budget)
  // Sender side: channel modes this agent grants (bit m = regs::Mode m); a
  // CHAN_REQ asking another is refused MODE_MISMATCH (docs/strong-mode.md 2).
  uint8_t accept_modes = 0x3;
  uint8_t mgmt_backoff_doublings = 32;  // the back-off stops doubling after this many re-sends
  uint64_t mgmt_backoff = 64;  // first MGMTQ_FULL re-send after this (plus a per-endpoint spread
                               // below it), doubling per re-send: a connect storm drains
  // Receiver side: a CHAN_REQ unanswered this long is re-sent (a CHAN_REQ or
  // its CHAN_INFO lost in the fabric without any NACK); the wait doubles per
  // re-send, re-sends only before request_timeout. 0: request_timeout / 8.
  uint64_t mgmt_timeout = 0;
};

// What the agent refused, ignored, expired or re-sent, and what it saw of the
// CMM's exception register, alarm and error log.
struct AgentStats {
  std::array<uint32_t, static_cast<size_t>(AgentReason::kCount)> refused{};  // by AgentReason
  std::array<uint32_t, regs::kReasonCount> logged{};  // error-log events by reason, coalesced repeats included
  uint32_t chan_refuses = 0;       // CHAN_REFUSEs sent, any reason (hardware ones: QUOTA_EXCEEDED, ...)
  uint32_t connect_resends = 0;    // CMD CONNECT re-issued on a CONNECTING entry
  uint32_t mgmt_resends = 0;       // MGMT messages re-sent (MGMTQ_FULL NACK, lost log entry or timeout)
  uint32_t mgmt_timeouts = 0;      // of those: CHAN_REQs re-sent because no answer came in mgmt_timeout
  uint32_t mgmt_duplicates = 0;    // repeated CHAN_REQs answered again / repeated CHAN_INFOs dropped
  uint32_t requests_deferred = 0;  // CHAN_REQs held back by the per-peer limit
  uint32_t errlog_repeats = 0;     // coalesced repeats (ERRLOG_HEAD_REPEAT) over all entries
  uint32_t seq_gap_nacks = 0;      // SEQ_GAP NACKs logged at our send endpoints (the tagged message was
                                   // delivered, some before it are missing): never in kTxNacked counts
  uint32_t tx_lost = 0;            // messages of our send endpoints reported missing (CST_LOST.TX, exact
                                   // even when the error log overflows)
  uint32_t rx_lost = 0;            // messages found missing at our receive endpoints (CST_LOST.RX)
  uint32_t exceptions = 0;         // I6 exceptions seen in EXC_COUNT
  uint32_t alarms = 0;             // reject-rate alarms seen in ALARM_COUNT
  uint32_t keygen_retries = 0;     // hardware CONNECTs refused KEY_GEN_NOT_READY and scheduled again
  uint32_t rekeys = 0;             // CMD REKEY accepted with a new key (docs/strong-mode.md 7)
  uint32_t forced_rekeys = 0;      // of those: answers to a REKEY_DUE error-log entry
  uint32_t rekey_resends = 0;      // CMD REKEY re-issued while REKEY_PENDING (CONNECT or its ACK lost)
  uint32_t operator[](AgentReason r) const { return refused[static_cast<size_t>(r)]; }
  uint32_t total_refused() const;
};

struct Event {
  enum class Kind : uint8_t {
    kChannelReady,    // receiver side: request req_id done; receive endpoint ep is OPEN
    kChannelFailed,   // receiver side: request req_id failed (reason, agent_reason); its endpoint was released
    kSendReady,       // sender side: send endpoint ep is OPEN (CONNECT accepted); process pid may send
    kChannelRefused,  // sender side: this agent refused a CHAN_REQ from peer (reason)
    kRequestCancelled,  // sender side: the peer withdrew request req_id, or the grant expired
                        // (agent_reason kGrantExpired); send endpoint ep released
    kPeerClosed,      // the peer closed the channel of ep: entry CLOSED, key zeroized
    kTxNacked,        // send endpoint ep: count messages refused by NACK (CST_STATUS.TX_NACKS: no SEQ_GAP/SEQ_OLD), the last with reason
    kRxPending,       // receive endpoint ep holds count messages
    kErrorLogged,     // one error-log entry (error); error.exception marks an I6 exception
    kErrorsLost,      // count error-log entries were lost to a full log
    kMgmtIgnored,     // a channel-protocol message matching no request (stale or forged); agent_reason why
    kMgmtOther,       // a MGMT message that is not a channel-protocol message (mgmt)
    kException,       // count new I6 exceptions in EXC_COUNT; error = EXC_LAST (never lost, unlike the log)
    kAlarm,           // count new reject-rate alarms (ALARM_COUNT)
  };
  Kind kind = Kind::kErrorLogged;
  uint16_t req_id = kNoRequest;  // receiver: own request; sender: the peer's request
  uint16_t ep = 0;                // local endpoint
  uint16_t pid = 0;              // local owner process
  PeerId peer{};                 // remote node/partition/endpoint
  regs::Reason reason = regs::Reason::kOk;       // hardware reason code
  AgentReason agent_reason = AgentReason::kNone;  // the agent's (or the peer agent's) reason
  uint32_t count = 0;  // kErrorLogged: occurrences (1 + coalesced repeats)
  ErrorEntry error{};
  MgmtMessage mgmt{};

  std::string str() const;  // one line, for logs and test failure messages
};

std::string_view to_string(Event::Kind k);

class KernelAgent {
 public:
  // Event queue capacity with the default geometry; a larger table gets
  // 2 * num_endpoints + 8 (a CONN scan must fit) at init().
  static constexpr size_t kEventCapacity = 128;
  size_t event_capacity() const { return ev_.size(); }

  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  using Clock = std::function<uint64_t()>;

  // key_seed is the run seed of the channel-key generator (KeyGen); its
  // subkey is bound to (node, partition, cfg.boot) by init().
  KernelAgent(RegIf& bus, uint64_t key_seed, const AgentConfig& cfg = {});
  KernelAgent(const KernelAgent&) = delete;
  KernelAgent& operator=(const KernelAgent&) = delete;

  // ---- bring-up: ID magic, GEOMETRY, NODE_ID, PART_INFO; clear and enable interrupts.
  [[nodiscard]] Status init();
  bool initialized() const { return initialized_; }
  // The CMM's table geometry as init() read it from GEOMETRY.
  const DeviceGeometry& device_geometry() const { return drv_.geometry(); }
  uint16_t node_id() const { return node_; }
  uint8_t partition() const { return part_; }
  uint32_t quota() const { return quota_; }
  const AgentConfig& config() const { return cfg_; }
  const AgentStats& stats() const { return stats_; }
  // The register-level driver underneath (raw access for tests and tools;
  // what it changes, the agent does not track).
  CmmDriver& driver() { return drv_; }

  // ---- time: a monotonic tick count (e.g. CMM cycles); without a clock
  // nothing expires and nothing is re-sent by timer.
  void set_clock(Clock c) { clock_ = std::move(c); }
  uint64_t now() const { return clock_ ? clock_() : 0; }
  // Earliest clock value at which poll() has timer work; kNever when none.
  uint64_t next_deadline() const;

  // ---- endpoint and CST operations
  [[nodiscard]] Status alloc_endpoint(uint16_t& ep);
  [[nodiscard]] Status set_direction(uint16_t ep, regs::Dir dir);
  // CST_CTRL with DIR and MODE. STRONG is read back: a CMM without strong
  // mode reads MODE 0, refused MODE_MISMATCH (kRejected). PLAIN: one write,
  // exactly set_direction().
  [[nodiscard]] Status set_ctrl(uint16_t ep, regs::Dir dir, regs::Mode mode);
  [[nodiscard]] Status set_owner(uint16_t ep, uint16_t pid);
  [[nodiscard]] Status set_remote(uint16_t ep, const PeerId& remote);
  // set_direction + set_owner + set_remote.
  [[nodiscard]] Status configure(uint16_t ep, regs::Dir dir, uint16_t owner_pid, const PeerId& remote);
  // ... + set_remote_gen: everything the peer's agent told about its entry.
  [[nodiscard]] Status configure(uint16_t ep, regs::Dir dir, uint16_t owner_pid, const PeerId& remote,
                                 uint8_t remote_gen, regs::Mode mode = regs::Mode::kPlain);
  // CST_GEN: the entry's generation (LOCAL, new at every ALLOC/CLOSE) and the
  // peer entry's (REMOTE, written by the agent while ALLOCATED).
  [[nodiscard]] Status read_gen(uint16_t ep, uint8_t& local, uint8_t& remote);
  [[nodiscard]] Status set_remote_gen(uint16_t ep, uint8_t gen);
  [[nodiscard]] Status authorize(uint16_t ep);
  // Receive entry: stage a fresh 128-bit key (KEY0..3) and CMD CONNECT. Arms
  // the CONNECT timer: unanswered, poll() re-sends the CONNECT (CMD CONNECT
  // on the CONNECTING entry) with back-off, and after cfg.connect_tries sends
  // CLOSEs the entry and reports kChannelFailed (agent_reason kConnectTimeout).
  // With cfg.key_source kHardware: CMD CONNECT with HWKEY and no KEY writes;
  // a KEY_GEN_NOT_READY refusal is retried by poll() every cfg.keygen_retry
  // ticks (Ok is returned, the entry stays AUTHORIZED meanwhile); after
  // cfg.keygen_tries refusals the request fails (reason KEY_GEN_NOT_READY:
  // returned by connect() if the first refusal is already the last, else
  // reported as kChannelFailed / the protocol's failure path).
  [[nodiscard]] Status connect(uint16_t ep);
  [[nodiscard]] Status connect(uint16_t ep, const ChannelKey& key);
  // Receive entry: stage a key and CMD SET_KEY (store without sending). With
  // cfg.key_source kHardware: CMD SET_KEY with HWKEY (KEY_GEN_NOT_READY is
  // returned, not retried).
  [[nodiscard]] Status set_key(uint16_t ep);
  [[nodiscard]] Status set_key(uint16_t ep, const ChannelKey& key);
  [[nodiscard]] Status close(uint16_t ep);
  [[nodiscard]] Status free_endpoint(uint16_t ep);
  // Rekey without drain (docs/strong-mode.md 7) of an OPEN strong receive
  // entry: a fresh key (cfg.key_source) and CMD REKEY; the channel keeps
  // flowing. While the CMM shows REKEY_PENDING, poll() re-issues CMD REKEY
  // every cfg.connect_timeout (cfg.connect_tries in all). If the previous
  // new key is not in use at the sender yet (KEY_PRESENT) or the hardware
  // generator is not ready, Ok is returned and poll() tries again after
  // cfg.connect_timeout. poll() calls it itself for a REKEY_DUE log entry.
  [[nodiscard]] Status rekey_channel(uint16_t ep);

  // ---- status reads
  [[nodiscard]] Status read_cst(uint16_t ep, CstInfo& out);
  [[nodiscard]] Status endpoint_state(uint16_t ep, regs::State& out);
  [[nodiscard]] Status part_info(PartInfo& out);
  [[nodiscard]] Status reject_count(regs::Reason r, uint32_t& out);
  [[nodiscard]] Status stat(uint32_t index, uint32_t& out);

  // ---- management messages
  [[nodiscard]] Status send_mgmt(uint16_t node, uint8_t part, const MgmtWords& words);
  // Head of the MGMT receive queue, then MGMT_POP. kEmpty when none.
  [[nodiscard]] Status mgmt_receive(MgmtMessage& out);

  // ---- interrupts and error log
  [[nodiscard]] Status irq_status(uint32_t& bits);
  [[nodiscard]] Status irq_ack(uint32_t bits);  // write-1-to-clear
  // Oldest error-log entry, then ERRLOG_POP. kEmpty when none. lost: LOST field.
  [[nodiscard]] Status errlog_pop(ErrorEntry& out, uint8_t* lost = nullptr);
  [[nodiscard]] Status read_exceptions(ExcInfo& out);
  [[nodiscard]] Status exc_clear();  // CMD EXC_CLEAR
  // ALARM_CFG: IRQ ALARM when thresh error-log events fall in one window of
  // 2^window_log2 cycles (thresh 0 = off).
  [[nodiscard]] Status set_alarm(uint16_t thresh, uint8_t window_log2);
  [[nodiscard]] Status alarm_count(uint32_t& out);

  // ---- id exchange (receiver side starts it; both sides poll)
  // Allocates and prepares the receive endpoint and sends CHAN_REQ, or holds
  // the CHAN_REQ back while cfg.max_pending_per_peer requests to that peer
  // are outstanding (sent by a later poll()). Unanswered, the CHAN_REQ is
  // re-sent after cfg.mgmt_timeout (doubling); expires after cfg.request_timeout.
  [[nodiscard]] Status request_channel(const ChannelRequest& req, uint16_t& req_id);
  // Abandons a request: releases its endpoint (CLOSE if connecting) and, if
  // the CHAN_REQ went out, sends CHAN_CANCEL so the peer releases its grant. No event.
  [[nodiscard]] Status cancel_request(uint16_t req_id);
  void set_accept_policy(AcceptPolicy p) { policy_ = std::move(p); }
  // Services pending interrupt causes and due timers; queues events. One
  // IRQ_STATUS read when idle.
  [[nodiscard]] Status poll();
  bool next_event(Event& ev);
  size_t pending_events() const { return ev_count_; }

 private:
  enum class Track : uint8_t {
    kNone, kAllocated, kReqQueued, kReqSent, kAuthorized, kConnecting, kOpen, kPeerClosed
  };
  struct Chan {
    Track track = Track::kNone;
    regs::Dir dir = regs::Dir::kRecv;
    bool proto = false;       // set up by the id-exchange protocol
    uint16_t req_id = kNoRequest;
    uint16_t pid = 0;         // local owner
    uint16_t peer_pid = 0;
    PeerId peer{};
    regs::Mode mode = regs::Mode::kPlain;  // CST_CTRL.MODE as the agent set it
    uint8_t gen = 0;          // CST_GEN.LOCAL read after ALLOC (protocol entries)
    uint8_t retries = 0;      // MGMT re-sends
    uint8_t tries = 0;        // CONNECTs sent
    bool key_wait = false;    // hardware key: a CONNECT refused KEY_GEN_NOT_READY waits for deadline
    uint8_t key_tries = 0;    // hardware CONNECTs refused KEY_GEN_NOT_READY so far
    bool rekey_wait = false;  // REKEY sent: re-issue while REKEY_PENDING (deadline)
    bool rekey_retry = false; // REKEY refused for now (KEY_PRESENT, KEY_GEN_NOT_READY): again at deadline
    uint8_t rekey_tries = 0;
    uint16_t tx_nacks_seen = 0;
    uint16_t tx_lost_seen = 0;  // CST_LOST.TX / .RX already counted in stats_ (cleared only by ALLOC/FREE)
    uint16_t rx_lost_seen = 0;
    uint64_t deadline = kNever;   // CONNECT re-send / request or grant expiry
    uint64_t resend_at = kNever;  // MGMT re-send: after a MGMTQ_FULL NACK (back-off) or unanswered (timeout)
    bool resend_backoff = false;  // resend_at is a NACK back-off (not only the answer timeout)
    uint8_t peer_gen = 0;         // CST_GEN.REMOTE taken from the accepted CHAN_INFO
    uint64_t queued_seq = 0;      // FIFO order of held-back requests
    regs::Reason last_nack = regs::Reason::kOk;  // last MGMT NACK reason seen for this request
  };

  Status guard_ep(uint16_t ep) const;  // initialized, ep in range
  Status guard_init() const;
  Status connect_hw(uint16_t ep);
  Status on_keygen_timer(uint16_t ep);
  Status on_rekey_timer(uint16_t ep);
  ChannelKey next_key();
  uint64_t after(uint64_t ticks) const;
  void refused(AgentReason r) { ++stats_.refused[static_cast<size_t>(r)]; }

  // poll() parts.
  Status service_errlog();
  Status service_mgmt();
  Status service_exc();
  Status service_alarm();
  Status service_timers();
  Status service_queued();
  Status scan_conn();
  Status scan_tx();
  Status scan_rx();
  Status sample_lost(uint16_t ep);  // CST_LOST deltas into stats_
  Status handle_mgmt(const MgmtMessage& m);
  Status handle_chan_req(const MgmtMessage& m, const chan_proto::Msg& msg);
  Status handle_chan_reply(const MgmtMessage& m, const chan_proto::Msg& msg);
  Status handle_chan_cancel(const MgmtMessage& m, const chan_proto::Msg& msg);
  Status on_mgmt_nack(const ErrorEntry& e);
  void schedule_mgmt_resend(uint32_t i);
  void arm_mgmt_timer(uint16_t ep);  // answer timeout of a sent CHAN_REQ
  Status on_connect_timer(uint16_t ep);
  Status on_grant_timer(uint16_t ep);
  Status on_mgmt_resend(uint16_t ep);
  static bool mgmt_unanswered(const Chan& c);
  Status refuse(const MgmtMessage& m, const chan_proto::Msg& msg, regs::Reason why, AgentReason agent_why);
  void ignore(const MgmtMessage& m, const chan_proto::Msg& msg, AgentReason why);
  Status fail_request(uint16_t ep, regs::Reason why, AgentReason agent_why, bool tell_peer);
  Status withdraw(uint16_t ep, regs::Reason why, AgentReason agent_why);  // CHAN_CANCEL to the peer + release
  Status release(uint16_t ep);  // best-effort CLOSE (if needed) + FREE
  Status send_request(uint16_t ep);  // CHAN_REQ for a prepared receive entry
  Status send_proto(uint16_t node, uint8_t part, const chan_proto::Msg& msg);
  int find_request(uint16_t req_id) const;
  size_t pending_requests(uint16_t node, uint8_t part) const;
  size_t pending_grants(uint16_t node, uint8_t part) const;
  size_t peer_limit() const { return cfg_.max_pending_per_peer == 0 ? 1 : cfg_.max_pending_per_peer; }

  size_t room() const { return ev_.size() - ev_count_; }
  // Events one serviced item (error-log entry, MGMT message) can produce at most.
  size_t reserve() const { return chan_.size() + 2; }
  void push(const Event& ev);
  Event chan_event(Event::Kind k, uint16_t ep) const;

  CmmDriver drv_;  // every register access goes through it
  AgentConfig cfg_;
  KeyGen keygen_;
  Clock clock_;
  AgentStats stats_;
  bool initialized_ = false;
  uint16_t node_ = 0;
  uint8_t part_ = 0;
  uint32_t quota_ = 0;
  uint8_t errlog_lost_seen_ = 0;
  uint16_t exc_seen_ = 0, alarm_seen_ = 0;
  uint32_t deferred_ = 0;  // interrupt causes left for the next poll (event queue full)
  uint16_t next_req_id_ = 1;
  uint64_t next_queued_seq_ = 0;
  std::vector<Chan> chan_ = std::vector<Chan>(regs::kNumEndpoints);  // per endpoint of the device (init())
  AcceptPolicy policy_;
  std::vector<Event> ev_ = std::vector<Event>(kEventCapacity);
  size_t ev_head_ = 0, ev_count_ = 0;
};

}  // namespace cmm::sw
