// Cycle-accurate CMM core: register file, channel state table (CST), channel
// key table (CKT, no read path), receive verification pipeline, egress key
// attach, error log and interrupts. Stepped once per clock. See
// docs/core-interface.md for pins and timing, docs/theory.md for behaviour.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "cmm_pins.h"
#include "cmm_siphash.h"

namespace cmm {

// Optional observer for statistics and traces; never changes behaviour.
class CoreObserver {
 public:
  virtual ~CoreObserver() = default;
  // A packet was rejected (ingress or register side) with this reason.
  virtual void on_reject(uint64_t cycle, regs::Reason r, const Header* pkt) { (void)cycle; (void)r; (void)pkt; }
  // A DATA header was accepted into endpoint ep's receive queue.
  virtual void on_deliver(uint64_t cycle, const Header& h) { (void)cycle; (void)h; }
  // Rekey (docs/strong-mode.md 7): a send entry installed a new key (send_side),
  // or a receive entry retired its old key slot (the rekey is complete).
  virtual void on_rekey(uint64_t cycle, uint32_t ep, bool send_side) { (void)cycle; (void)ep; (void)send_side; }
};

class CmmCore {
 public:
  // params.strong = false (the default): bit-exact with the core before
  // strong mode (docs/strong-mode.md 11.11), as the RTL of this session.
  explicit CmmCore(const Straps& straps, const CoreParams& params = CoreParams{});

  // Outputs for the current cycle (valid before step()).
  const PinsOut& out() const { return out_; }
  // One rising clock edge with these inputs; out() then holds the next cycle's outputs.
  void step(const PinsIn& in);
  // Advance n idle cycles (no inputs, nothing in flight): used to skip time.
  void skip_idle(uint64_t n);
  // Nothing in flight and no pulse outputs pending: stepping with idle inputs changes nothing.
  bool quiescent() const;
  void reset();

  uint64_t cycle() const { return cycle_; }
  const Straps& straps() const { return straps_; }
  const CoreParams& params() const { return params_; }
  const Geometry& geometry() const { return geo_; }
  void set_observer(CoreObserver* o) { obs_ = o; }

  // Read-only views for statistics (never key bits).
  uint32_t reject_count(regs::Reason r) const { return reject_count_[static_cast<uint32_t>(r)]; }
  uint32_t stat(uint32_t i) const { return stat_[i]; }
  regs::State ep_state(uint32_t ep) const { return static_cast<regs::State>(cst_[ep].state); }
  uint32_t rxq_count(uint32_t ep) const { return cst_[ep].rxq_count; }
  uint32_t egress_occupancy() const { return egq_[0].count + egq_[1].count; }
  bool s1_busy() const { return s1_valid_; }

  // Test-only: whether the CKT entry of ep equals k (a hardware comparator,
  // never a read path). Used by tests to check stores without reading keys.
  bool key_equals_for_test(uint32_t ep, const Key& k) const;
  bool key_valid(uint32_t ep) const { return ckt_[ep].valid; }
  uint8_t key_origin(uint32_t ep) const { return ckt_[ep].origin; }
  uint8_t ep_gen(uint32_t ep) const { return cst_[ep].gen; }
  uint16_t rx_seq(uint32_t ep) const { return cst_[ep].rx_seq; }
  uint16_t tx_seq(uint32_t ep) const { return cst_[ep].tx_seq; }
  // Strong mode (docs/strong-mode.md 11): CST_CTRL.MODE, link-key presence and
  // CONNECT counter (never the key), MAC engines loaded.
  uint8_t ep_mode(uint32_t ep) const { return cst_[ep].mode; }
  bool link_valid(uint32_t node) const { return node < regs::kLinkNodes && link_[node].valid; }
  uint32_t link_ctr(uint32_t node) const { return node < regs::kLinkNodes ? link_[node].ctr : 0; }
  bool mac_tx_busy() const { return mtx_busy_; }
  // Test-only: jump a link's CONNECT counter (2^32 CONNECTs are not simulated).
  void set_link_ctr_for_test(uint32_t node, uint32_t ctr) {
    if (node < regs::kLinkNodes) {
      link_[node].ctr = ctr;
      link_[node].par = static_cast<uint8_t>(link_parity(link_[node]));
    }
  }
  bool mac_rx_busy() const { return s1_valid_ && s1_strong_; }
  // Rekey (strong-mode.md 7), as CST_CTRL shows it (never key bits).
  uint8_t key_slot(uint32_t ep) const { return rk_[ep].ks; }
  bool old_slot_valid(uint32_t ep) const { return rk_[ep].old_valid; }
  bool rekey_pending(uint32_t ep) const { return rk_[ep].pending; }
  uint32_t key_use(uint32_t ep) const { return rk_[ep].use; }
  // Node-wide since reset: new keys installed at send entries, old slots retired at receive entries.
  uint32_t rekeys_installed() const { return rekeys_installed_; }
  uint32_t rekeys_retired() const { return rekeys_retired_; }
  // Test-only (DV): puts every statistic counter `margin` below its cap (2^W - 1)
  // so that the lockstep reaches saturation / wrap in a few cycles (REJECT_COUNT,
  // STAT, CST tx_sent/tx_nacks/tx_lost/rx_lost, EXC_COUNT, ALARM_COUNT, the alarm
  // window count, every error-log slot's repeat, CMD_STATUS.COUNT, TABLE_FAULT.COUNT),
  // and moves every entry's tx_seq / rx_seq / nack_seq `margin` back (mod 2^16) so
  // that sequence numbers wrap. Called by step() only (the DV pin); never by the model, the driver or the system. The RTL does the same at
  // the edge where its test-only pin dv_preload_i is high (rtl/dv).
  void dv_preload_counters(uint32_t margin);
  // Test-only: preload an entry's per-key message counter (the limits are reached without sending them all).
  void set_key_use_for_test(uint32_t ep, uint32_t n) {
    if (ep < geo_.num_endpoints) rk_[ep].use = n;
  }
  // Reliable delivery (strong-mode.md 6): payload of the retransmitted DATA on
  // eg_* (out().eg_retx), copied into dst; returns its length (0 if none shown).
  uint32_t eg_retx_payload(uint8_t* dst) const;
  // Send entry ep: unacknowledged DATA (window occupancy), current round, DATA
  // retransmitted since reset (node-wide: STAT RETX_SENT).
  uint32_t window_used(uint32_t ep) const;
  uint32_t retx_round(uint32_t ep) const { return rel_[ep].retries; }
  // Hardware key generator (docs/security.md 1.10), as KEYGEN_STATUS shows it.
  bool keygen_ready() const { return kg_ready_; }
  bool keygen_seeded() const { return kg_seeded_; }
  uint32_t keygen_rounds_left() const { return kg_.rounds_left(); }
  // Table integrity (1.11): entries failed closed since reset (TABLE_FAULT.COUNT).
  uint32_t table_faults() const { return tf_count_; }

  // Parity of every entry is compared at every edge (not only after the
  // fault port flipped a bit): verifies that every write stores its parity.
  // Same behaviour either way; tests and the fuzzer turn it on, it costs ~50 ns a step.
  void set_full_parity_check(bool on) { full_check_ = on; }
  // Bit counts of the fault-injection index space (1.11): protected bits, then the parity bit.
  // CST fault-port bit positions (cmm_core.cpp cst_parity; rtl/cmm_core.sv CP_*): rep and what follows move with ep ids.
  static constexpr uint32_t kCstRepBit = 44, kCstGenBit = kCstRepBit + regs::kEpIdBits;
  static constexpr uint32_t kCstProtBits = kCstGenBit + 48, kCktProtBits = 130;

  // STAT indices: enum stat of hw/data/cmm.toml (regs::Stat); these names stay for users.
  static constexpr uint32_t kStatDataSent = static_cast<uint32_t>(regs::Stat::kDataSent),
                            kStatDataDelivered = static_cast<uint32_t>(regs::Stat::kDataDelivered),
                            kStatConnectSent = static_cast<uint32_t>(regs::Stat::kConnectSent),
                            kStatConnectAccepted = static_cast<uint32_t>(regs::Stat::kConnectAccepted),
                            kStatCloseSent = static_cast<uint32_t>(regs::Stat::kCloseSent),
                            kStatMgmtSent = static_cast<uint32_t>(regs::Stat::kMgmtSent),
                            kStatMgmtReceived = static_cast<uint32_t>(regs::Stat::kMgmtReceived),
                            kStatNackSent = static_cast<uint32_t>(regs::Stat::kNackSent);
  static_assert(regs::kStatCount == regs::CMM_STAT_COUNT, "one STAT word per enum stat value");

 private:
  struct RxSlot {
    uint16_t len = 0;
    uint16_t tag = 0;
  };
  struct Cst {
    uint8_t state = 0, dir = 0, owner_part = 0;
    uint16_t owner_pid = 0;
    uint16_t rnode = 0;
    uint8_t rpart = 0;
    uint16_t rep = 0;
    uint8_t gen = 0;   // CST_GEN.LOCAL: +1 on entering ALLOCATED, survives FREE
    uint8_t rgen = 0;  // CST_GEN.REMOTE: the peer entry's generation
    uint16_t tx_seq = 0, rx_seq = 0;  // send: next DATA seq; receive: next expected seq
    uint16_t nack_seq = 0;            // send: DATA seqs below this are answered by a believed NACK
    uint16_t tx_lost = 0, rx_lost = 0;  // CST_LOST: missing messages reported by gaps (saturating)
    uint8_t last_reason = 0;     // last NACK reason for the entry (CST_STATUS)
    uint16_t tx_nacks = 0;       // saturating
    uint8_t tx_last_reason = 0;  // EP_TX_STATUS
    uint16_t tx_last_tag = 0;
    uint32_t tx_sent = 0;
    uint8_t rxq_head = 0, rxq_count = 0;
    std::array<RxSlot, regs::kMaxRxqDepth> rxq{};  // the first geometry rxq_depth slots used
    uint8_t mode = 0;  // CST_CTRL.MODE (strong cores only); fault bit 101
    uint8_t par = 0;  // parity over the protected fields (1.11), stored on every write
  };
  struct Link {  // link-key table entry (strong mode, 11.3): no read path
    Key key{};
    bool valid = false;
    uint32_t ctr = 0;  // CONNECT counter: the wrap nonce never repeats under one link key
    uint8_t par = 0;   // parity over key, valid, ctr (security.md 1.11), stored on every write
  };
  struct Ckt {
    Key key{};
    bool valid = false;
    uint8_t origin = 0;
    uint8_t par = 0;  // parity over key, valid, origin (1.11)
  };
  struct MgmtMsg {
    uint16_t src_node = 0;
    uint8_t src_part = 0;
    Key words{};
  };
  struct ErrEntry {
    uint32_t word = 0;    // ERRLOG_HEAD layout
    uint16_t repeat = 0;  // later identical events coalesced into this entry (saturating)
  };
  // Ring of capacity n (run-time geometry, at most Max).
  template <typename T, uint32_t Max>
  struct Fifo {
    std::array<T, Max> e{};
    uint32_t head = 0, count = 0, n = Max;
    bool full() const { return count == n; }
    bool empty() const { return count == 0; }
    uint32_t free() const { return n - count; }
    const T& front() const { return e[head]; }
    T& back() { return e[(head + count - 1) % n]; }
    void push(const T& v) { e[(head + count) % n] = v; ++count; }
    void pop() { head = (head + 1) % n; --count; }
    void clear() { head = count = 0; }
  };
  struct Part {
    Key key_stage{};
    uint8_t key_written = 0;  // KEY words written since the last command (bit i = KEYi)
    uint16_t key_pid = 0;     // pid of the first KEY write since the last command
    uint32_t cmd_status = 0;
    uint32_t irq_status = 0, irq_enable = 0;
    Key mgmt_tx{};
    uint32_t mgmt_dst = 0;
    Fifo<MgmtMsg, regs::kMaxMgmtqDepth> mgmtq;
    Fifo<ErrEntry, regs::kMaxErrlogDepth> errlog;
    uint8_t errlog_lost = 0;
    uint32_t used = 0;
    // Exception register (I6 events, never lost).
    uint16_t exc_count = 0;
    uint32_t exc_first = 0, exc_last = 0;  // EXC_FIRST / EXC_LAST layout
    // Reject-rate alarm.
    uint32_t alarm_cfg = 0;
    uint16_t alarm_count = 0;
    bool alarm_win_valid = false, alarm_fired = false;
    uint32_t alarm_win = 0;  // cycle_i >> WINDOW_LOG2 of the current window
    uint16_t alarm_cnt = 0;  // events in the current window (saturating)
  };

  // Table integrity (1.11).
  static uint32_t cst_parity(const Cst& c);
  static uint32_t ckt_parity(const Ckt& k);
  void check_tables();                 // start of every edge: fail closed on mismatch
  void fail_closed(uint32_t ep, uint32_t table);
  void store_parity();                 // end of every edge: the entries written at it
  void inject_fault(const PinsIn& in);  // after the edge's update (an SEU)
  void touch(uint32_t ep) {  // CST and CKT entry written
    if (ep < geo_.num_endpoints) touched_.push_back(ep), touched_ckt_.push_back(ep);
  }
  void touch_cst(uint32_t ep) {
    if (ep < geo_.num_endpoints) touched_.push_back(ep);
  }
  // Reliable delivery: send entries with a non-empty window.
  bool rel_on(uint32_t ep) const { return rel_on_[ep] != 0; }
  void rel_set(uint32_t ep) {
    if (!rel_on_[ep]) rel_on_[ep] = 1, ++rel_active_;
  }
  void rel_clear(uint32_t ep) {
    if (rel_on_[ep]) rel_on_[ep] = 0, --rel_active_;
  }
  Part fresh_part() const;  // a reset partition with the geometry's queue depths
  bool faulted(uint32_t ep) const { return cst_[ep].state == static_cast<uint8_t>(regs::State::kFault); }
  // Key generator (1.10).
  void kg_start();
  void kg_edge(const PinsIn& in);
  Key kg_draw();

  // Edge-time actions.
  void ingress(const Header& h);
  void ingress_data(const Header& h);
  void ingress_connect(const Header& h);
  void ingress_connect_ack(const Header& h);
  void ingress_nack(const Header& h);
  void ingress_close(const Header& h);
  void ingress_mgmt(const Header& h);
  void ingress_ack(const Header& h);
  // Reliable delivery (strong-mode.md 6).
  bool reliable_entry(uint32_t ep) const { return params_.reliable && strong_entry(ep); }
  void ack(const Header& data, regs::Reason r);  // MAC'd cumulative ACK of a DATA
  void rel_open(uint32_t ep);                   // window emptied (entry becomes OPEN)
  void rel_edge();                               // timers and one retransmission per edge
  void rel_exhausted(uint32_t ep);
  uint8_t* win_pay(uint32_t ep, uint32_t slot) { return &win_pay_[(ep * params_.tx_window + slot) * regs::kMaxMsgBytes]; }
  void reg_access(const PinsIn& in);
  uint32_t command(uint32_t part, uint16_t pid, uint32_t wdata, uint8_t& rsp);
  void doorbell(uint32_t ep, uint32_t wdata, uint8_t& rsp);
  void compute_outputs();
  // Strong mode (docs/strong-mode.md 11).
  bool strong_pkt(const Header& h) const;  // STRONG bit on a channel packet (strong cores only)
  bool strong_entry(uint32_t ep) const { return params_.strong && cst_[ep].mode != 0; }
  static Key mac(const Key& k, const Header& h, const uint8_t* pay, uint32_t n);
  static bool mac_ok(const Key& k, const Header& h, const uint8_t* pay, uint32_t n) {
    return key_eq_ct(mac(k, h, pay, n), h.key);
  }
  void seal(Header& h, const Key& k, uint8_t ks = 0) const;  // STRONG bit (+ KS with rekey) + MAC in the key field
  // Rekey (strong-mode.md 7).
  bool rekey_entry(uint32_t ep) const { return params_.rekey && strong_entry(ep); }
  static uint8_t pkt_ks(const Header& h) { return static_cast<uint8_t>((h.aux >> regs::kKeySlotAuxBit) & 1u); }
  const Key* slot_key(uint32_t ep, uint8_t ks) const;  // nullptr: the slot holds no key (retired)
  void retire_old(uint32_t ep, bool send_side);
  void rekey_connect(const Header& h, const Key& ckey);  // strong CONNECT at an OPEN send entry
  static Key wrap_subkey(const Key& lk, bool enc);
  static Key wrap_stream(const Key& lk, const Header& h);  // SipHash128(K_enc, nonce)
  void link_access(const PinsIn& in, uint32_t a, uint32_t& rd, uint8_t& rsp);
  // Link-key table integrity (security.md 1.11): fault bits key 0-127, valid
  // 128, ctr 129-160, parity 161; fault_table = 2 (C++ only: the RTL pin is 1 bit).
  static uint32_t link_parity(const Link& l);
  void check_links();                          // with check_tables(): zeroize on mismatch
  void inject_link_fault(uint32_t node, uint32_t bit);
  void push_req(const Header& h, const Key& wrap = Key{});
  void absorb(std::array<uint8_t, regs::kMaxMsgBytes>& buf, uint32_t& got, uint32_t len, const MacBeat& b) const;

  // Helpers.
  void count_reject(regs::Reason r, const Header* pkt = nullptr);
  // Count, NACK back to the source. A NACK of DATA names the DATA (its seq);
  // gap: SEQ_GAP's number of missing messages, carried in the tag.
  void nack(const Header& h, regs::Reason r, uint16_t gap = 0);
  Key nack_key(const Header& h) const;  // key a NACK of h may carry (docs/security.md 1.3)
  Header response(const Header& req, regs::Opcode op) const;  // ids and generations swapped
  static bool ids_match(const Cst& c, const Header& h) {
    return h.src_node == c.rnode && h.src_part == c.rpart && h.src_ep == c.rep;
  }
  static bool gens_match(const Cst& c, const Header& h) { return h.dst_gen == c.gen && h.src_gen == c.rgen; }
  void alarm_event(uint32_t part);
  void log_error(uint32_t part, regs::Reason r, uint32_t ep, uint32_t opcode, bool from_fabric,
                 bool exception, uint32_t src_node);
  void raise(uint32_t part, regs::Irq bit);
  void bump(uint32_t& c) { if (c != 0xFFFFFFFFu) ++c; }
  void zeroize(uint32_t ep);
  uint32_t flush_rxq(uint32_t ep);
  void reset_entry(uint32_t ep);
  Header make_hdr(regs::Opcode op, uint32_t src_part, uint32_t src_ep, uint32_t dst_node,
                  uint32_t dst_part, uint32_t dst_ep) const;
  static bool key_eq_ct(const Key& a, const Key& b);  // constant time

  Straps straps_;
  CoreParams params_;
  Geometry geo_;  // params_.geo, validated
  uint32_t addr_bits_ = regs::kAddrBits;  // geo_.addr_bits()
  PinsOut out_{};
  uint64_t cycle_ = 0;
  uint32_t cycle_in_ = 0;  // cycle_i sampled at the current edge
  CoreObserver* obs_ = nullptr;

  // Tables sized by the geometry at construction.
  std::vector<Cst> cst_;
  std::vector<Ckt> ckt_;
  std::vector<Part> part_;
  std::array<uint32_t, regs::kReasonCount> reject_count_{};
  std::array<uint32_t, regs::CMM_STAT_COUNT> stat_{};

  // Hardware key generator: key K, counter, one SipRound per cycle.
  sip::Engine kg_;
  uint64_t kg_k0_ = 0, kg_k1_ = 0, kg_ctr_ = 0;
  bool kg_seeded_ = false, kg_ready_ = false;
  Key kg_result_{};
  // Table integrity.
  uint16_t tf_count_ = 0;
  uint16_t tf_last_ep_ = 0;
  uint8_t tf_last_table_ = 0;
  std::vector<uint32_t> touched_;      // CST entries written at the current edge (repeats harmless)
  std::vector<uint32_t> touched_ckt_;  // CKT entries written (zeroize() needs none: all-zero has parity 0)
  bool fault_pending_ = false;  // a bit was flipped at the last edge: not quiescent until checked
  bool full_check_ = false;

  // Pipeline and output registers.
  bool s1_valid_ = false;
  Header s1_{};
  std::array<Fifo<Header, regs::kMaxEgqDepth>, 2> egq_;  // [0] request class, [1] response class
  std::array<Key, regs::kMaxEgqDepth> egq_wrap_{};  // eg_wrap of each request-queue slot
  // Strong mode: link keys, firmware staging, MAC engines (11.3, 11.6).
  std::array<Link, regs::kLinkNodes> link_{};
  Key link_stage_{};
  uint8_t link_written_ = 0;
  uint32_t link_status_ = 0;
  Key proof_key_{};  // the key the ingress packet being committed proved (11.9)
  bool proof_valid_ = false;
  bool s1_strong_ = false;  // S1 waits for the RX engine
  uint32_t mrx_left_ = 0, mrx_cd_ = 0, mrx_got_ = 0;
  std::array<uint8_t, regs::kMaxMsgBytes> mrx_buf_{};
  // The entry's key as the RX engine took it at the S1 load (strong-mode.md
  // 11.6): the engine hashes the payload beats as they stream, so the key is
  // fixed then; a key changed before the commit makes the MAC check fail.
  Key mrx_key_{};
  bool mtx_busy_ = false;
  bool mtx_rel_ = false;  // the DATA in the TX engine goes into its entry's window
  Header mtx_hdr_{};
  Key mtx_key_{};
  uint32_t mtx_left_ = 0, mtx_cd_ = 0, mtx_got_ = 0;
  std::array<uint8_t, regs::kMaxMsgBytes> mtx_buf_{};
  // Reliable delivery: per entry; send side: window [base, pushed) of sent
  // DATA (seq mod W = slot), go-back position retx_next, timer; receive side:
  // one SEQ_AHEAD answer per expected seq. Not under parity (C++ only so far).
  struct Rel {
    uint16_t base = 0, pushed = 0, retx_next = 0, retx_end = 0;  // go back: resend [retx_next, retx_end)
    uint8_t retries = 0;
    bool nak_sent = false;
    uint64_t deadline = 0;
    uint32_t timeout = 0;
  };
  std::vector<Rel> rel_;
  // Rekey (strong-mode.md 7): the second key slot and the per-key counters.
  // ckt_[ep].key is the newest key (slot ks); old the other slot until
  // retired. Not under parity (C++ only so far, like the window).
  struct Rk {
    Key old{};
    bool old_valid = false;
    uint8_t ks = 0;
    bool pending = false;  // receive entry: the REKEY's CONNECT not acknowledged yet
    bool due = false;      // REKEY_DUE raised for the newest key
    uint32_t use = 0, use_old = 0;  // DATA under the newest key (use_old: restored if a REKEY is refused)
    uint32_t ctr = 0;      // send entry: wrap counter of the CONNECT that installed the newest key
  };
  std::vector<Rk> rk_;
  uint32_t rekeys_installed_ = 0, rekeys_retired_ = 0;
  uint8_t proof_ks_ = 0;  // slot of proof_key_
  std::vector<Header> win_hdr_;     // kNumEndpoints x W headers (tag in key)
  std::vector<uint8_t> win_pay_;    // kNumEndpoints x W x kMaxMsgBytes payload copies
  std::vector<uint8_t> win_pend_;   // retransmissions of the slot still in the egress queue
  struct EgRetx {
    bool on = false;
    uint16_t ep = 0;
    uint8_t slot = 0;
  };
  std::array<EgRetx, regs::kMaxEgqDepth> egq_retx_{};  // per request-queue slot
  uint32_t rel_rr_ = 0;       // round-robin start of the retransmission scan
  uint32_t rel_active_ = 0;   // send entries with a non-empty window (count of rel_on_)
  std::vector<uint8_t> rel_on_;  // per entry: window non-empty
  bool rsp_valid_ = false;
  uint32_t rsp_rdata_ = 0;
  uint8_t rsp_status_ = 0;
  bool rsp_buf_ = false;
  uint8_t rsp_buf_slot_ = 0;
  bool vd_valid_ = false, vd_accept_ = false;
  uint16_t vd_ep_ = 0;
  uint8_t vd_slot_ = 0, vd_reason_ = 0;
};

}  // namespace cmm
