// Seeded constrained-random stimulus for the lockstep co-simulation. It only
// sees pins: the outputs of the current cycle (to honour valid/ready and to
// learn responses) and what it drove. Its shadow of the CST is built from the
// register responses it observed, so it can aim legal, forged and malformed
// traffic at real channels.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cmm_pins.h"

namespace cmm::dv {

// What a register request is, for shadow updates and coverage.
enum class OpKind : uint8_t {
  kOther, kGlobal, kBank, kKey, kCmd, kCst, kDoorbell, kRxPop, kEpRead, kTxBuf, kRxBuf, kRandom, kMisaligned,
  kCount
};
const char* op_kind_name(OpKind k);

struct RegOp {
  bool write = false;
  uint32_t addr = 0, wdata = 0;
  uint8_t part = 0, priv = 0;
  uint16_t pid = 0;
  OpKind kind = OpKind::kOther;
  int ep = -1;  // endpoint concerned (commands, CST window, endpoint page), -1 none
  bool script = false;  // a step of the channel-setup script
};

struct StimCoverage {
  // Commands: [op][rsp status]
  std::array<std::array<uint64_t, 4>, 16> cmd{};
  // Same-edge hazards: ingress commit and register access on one entry, by
  // (ingress opcode, register op kind).
  std::map<std::string, uint64_t> hazards;
  uint64_t resets = 0;
  uint64_t script_channels = 0;  // channel-setup scripts completed
  // Stimulus of the hardening (docs/security.md 1.1-1.7), by kind: generation
  // writes, forged generations/keys of responses, seq drop/dup/reorder, key
  // staging by two pids, zero/incomplete keys, reserved bits, alarm config,
  // EXC_CLEAR, cycle_i jumps.
  std::map<std::string, uint64_t> features;
};

class Stimulus {
 public:
  // geo: the table geometry of both cores (num_endpoints <= kMaxEndpoints:
  // the stimulus draws 8-bit endpoint ids, in and just past the table).
  static constexpr uint32_t kMaxEndpoints = 128;
  Stimulus(uint64_t seed, const Straps& straps, const Geometry& geo = Geometry{});
  // Inputs for the next edge, given the outputs of the current cycle.
  void next(const PinsOut& cur, PinsIn& in, bool& rst_n);
  // cycle_i of the last edge (the platform timebase the stimulus drives).
  uint32_t timebase() const { return timebase_; }
  // After the edge: the inputs driven, outputs before and after it.
  void observe(const PinsIn& in, bool rst_n, const PinsOut& before, const PinsOut& after);
  const StimCoverage& coverage() const { return cov_; }
  // Pulse the counter preload pin (PinsIn::dv_preload) every n cycles, 0 off
  // (the default: the CI seeds' figures were taken without it).
  void set_preload_period(uint32_t n) { preload_period_ = n; }
  // Wide-value mode (coverage-driven stimulus, issue 13 item 1): the pids and
  // node ids the stimulus draws from narrow ranges reach the pins through a
  // per-seed bijection that keeps their low 3 bits, 0 and the own node id and
  // scrambles the other bits, so the high bits of the stored pid and node
  // fields toggle while every equality the stimulus relies on still holds
  // (egress node ids are mapped back before the stimulus reads them).
  // MGMT_TX writes are no longer turned into reads, a quarter of the
  // ALARM_CFG writes get a threshold above 15 and a quarter of the valid
  // DATA lengths are the largest. Its draws come from a generator of its own.
  void set_wide(bool on);

 private:
  struct EpShadow {
    int owner = -1;  // partition, -1 free
    uint8_t dir = 0;
    uint16_t pid = 0;
    uint16_t rnode = 0;
    uint8_t rpart = 0, rep = 0;
    bool key_valid = false;
    Key key{};
    Key pending_key{};  // key of the last CONNECT that went into ingress for this entry
    uint8_t gen = 0, rgen = 0;  // CST_GEN.LOCAL (survives FREE) and .REMOTE
    uint16_t seq_out = 0;       // seq of the next crafted DATA to this (receive) entry
    bool faulted = false;       // a fault was injected: FAULT until reset (never allocated again)
  };
  struct Script {
    int step = 0;
    uint8_t pa = 0, pb = 0;  // partitions of receiver and sender
    int ea = -1, eb = -1;    // their endpoints (learned from ALLOC responses)
    uint16_t rnode = 0;       // remote node of the pair (own node: loopback)
    uint16_t pida = 0, pidb = 0;
    Key key{};
    bool waiting = false;    // last step fired, response not yet seen
    uint8_t ga = 0, gb = 0;  // generations read back (CST_GEN.LOCAL)
    uint16_t key_pid = 0;    // pid of the kernel agent thread staging the key
    int skip_word = -1;      // KEY word not written (KEY_INCOMPLETE), -1 none
    bool set_key_first = false;  // SET_KEY, then CONNECT (which then ignores the empty staging)
    bool hwkey = false;          // the key comes from the hardware generator (CMD.HWKEY), no KEY writes
    bool long_pair = false;      // sets up the long-lived channel (long_)
    bool close_sent = false;     // closure profile: the peer's CLOSE sent between SET_KEY and CONNECT
    int hold = 0;                // register slots to wait before the next step (that CLOSE arrives first)
  };
  // Long-lived-channel mode: off, waiting for its channel-setup script,
  // waiting for the send entry to open, flooding, done.
  enum class Long : uint8_t { kOff, kArm, kConnect, kFlood, kDone };

  uint32_t r(uint32_t n) { return n ? static_cast<uint32_t>(rng_() % n) : 0; }
  bool chance(uint32_t percent) { return r(100) < percent; }
  Key rand_key();
  void new_phase();
  RegOp random_op();
  RegOp drain_op(uint8_t part);
  RegOp storm_op();
  RegOp hazard_op(int ep, uint8_t opcode);
  bool script_op(RegOp& op);
  RegOp cmd_op(uint8_t part, uint32_t op, uint32_t ep);
  RegOp ep_op(int ep, bool write, uint32_t off, uint32_t wdata);
  int pick_owned(int part);  // an endpoint owned by part (or any), -1 none
  int pick_any_owned();
  int pick_keyed(uint8_t dir);  // an owned endpoint of this direction holding a key (shadow), -1 none
  void craft_ingress();
  void apply_response(const RegOp& op, uint8_t status, uint32_t rdata);
  void feature(const char* k) { cov_.features[k]++; }
  void on_egress(const Header& h);
  void on_ingress(const Header& h);
  void clear_shadow();
  // Long-lived channel: its two entries are kept out of every destructive draw.
  bool guarded(int ep) const {
    return ep >= 0 && (long_ == Long::kArm || long_ == Long::kConnect || long_ == Long::kFlood) &&
           (ep == long_a_ || ep == long_b_);
  }
  int unguarded(int ep);  // ep, or a random endpoint that is not guarded
  void script_done();
  RegOp long_op();
  void craft_long_nack();

  std::mt19937_64 rng_;
  Straps straps_;
  uint32_t ne_, np_;  // geometry: endpoints, partitions
  std::vector<EpShadow> ep_;
  std::array<Key, regs::kMaxNumPartitions> staged_{};
  std::deque<Header> ingq_;
  bool reg_pending_ = false;
  RegOp reg_{};
  bool ing_pending_ = false;
  Header ing_{};
  bool s1_valid_ = false;  // header accepted at the last edge, committing at the next
  Header s1_{};
  int hazard_ep_ = -1;
  uint8_t hazard_opc_ = 0;
  Script script_{};
  bool script_active_ = false;
  int reset_left_ = 0;
  bool seed_next_ = true;  // drive entropy_valid_i in the first cycle after (every) reset
  uint64_t cycle_ = 0;
  uint32_t timebase_ = 0;  // cycle_i: free-running, with jumps (skipped idle time)
  // Phase knobs (change every few thousand cycles).
  uint32_t p_eg_ready_ = 100, p_reg_ = 50, p_ing_ = 20, p_script_ = 5;
  // Error-log drain phases (coverage-driven, issue 13 item 2): the log is
  // otherwise full most of the time and exception entries are dropped, so
  // the agent reads HEAD/REPEAT/EXC_* and pops the log often.
  bool drain_ = false;
  // Fault-storm phases (issue 13 item 2): table faults every ~30 cycles,
  // mostly into one entry (storm_ep_, again after it failed closed, so its
  // TABLE_FAULT exceptions coalesce in the owner's log), the log not
  // drained, ERRLOG_HEAD/REPEAT, EXC_* and ALARM_* of every partition read,
  // small alarm thresholds: the table-fault path's error-log update into a
  // full log (log_update_t) and the exception's alarm.
  bool storm_ = false;
  int storm_ep_ = -1;
  // Closure profile (seeds = 0 mod 4, see long_): the storm's register
  // traffic is aimed at the partition owning storm_ep_ (the log its
  // exceptions go to): IRQ_STATUS clears, one-bit IRQ_ENABLE (EXC or ALARM,
  // so the irq pin shows them), threshold-1 alarms in short windows; and
  // storms are more frequent once the long-lived channel is done.
  bool closure_ = false;
  uint8_t storm_part_ = 0;
  // Closure profile: after half of the resets the platform seeds the key
  // generator only 8-63 cycles later, and the first register access is a
  // KEYGEN_STATUS read (the generator's reset state is seen).
  int seed_delay_ = 0;
  bool kg_probe_ = false;
  // Owner-view phases: CST window accesses by the entry's own user thread
  // (its partition and pid): the masked owner view and the refused user writes.
  bool owner_view_ = false;
  // Long-lived-channel mode (issue 13 items 2-3), seeds = 0 mod 4 only (the
  // other seeds draw exactly as before): a loopback channel pair set up by a
  // clean script, guarded against CLOSE/FREE/faults/resets/storms, then
  // flooded with doorbells (kLongData DATA, ~0.8 per cycle) through a fabric
  // that loses 7 of 8 of them (the receiver's RXQ_FULL / SEQ_GAP NACKs keep
  // nack_seq just below tx_seq), while replayed NACKs of DATA seq 0..7 reach
  // the sender: the doorbell's NACK-window drag past tx_seq = 2^14.
  Long long_ = Long::kOff;
  int long_a_ = -1, long_b_ = -1;  // receive / send entry of the long-lived channel
  uint32_t long_sent_ = 0;         // doorbells accepted on long_b_
  uint64_t long_t0_ = 0;           // cycle the setup script ended
  uint32_t preload_period_ = 0;
  // Wide-value mode (set_wide): masks of the pid and node-id bijections
  // (indexed by the value's low 3 bits) and its own generator.
  bool wide_ = false;
  std::array<uint16_t, 8> wide_pid_mask_{}, wide_node_mask_{};
  std::mt19937_64 wide_rng_;
  // XOR of the bits above the low 3 with a mask chosen by them: an involution
  // (its own inverse) that keeps the low 3 bits.
  uint16_t wide_pid(uint16_t v) const { return wide_ ? static_cast<uint16_t>(v ^ wide_pid_mask_[v & 7u]) : v; }
  uint16_t wide_node(uint16_t v) const { return wide_ ? static_cast<uint16_t>(v ^ wide_node_mask_[v & 7u]) : v; }
  void widen(PinsIn& in);
  uint64_t seed_ = 0;
  StimCoverage cov_;
};

}  // namespace cmm::dv
