// TLM-2.0 shell of the CMM core: register target socket (node bus), fabric
// initiator (egress packets) and target (ingress packets), the packet buffer
// (TX staging, ingress payloads, RX slots) and clocking with idle skipping.
// The register socket takes both the cycle-accurate non-blocking protocol and
// a loosely-timed b_transport for temporally decoupled initiators (catch-up,
// never wait()s while the fabric keeps up; docs/embedding.md, "Loosely-timed
// register access").
// See docs/tlm.md for phases, timing and formulas.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <functional>
#include <cstdlib>
#include <memory>

#include "cmm_core.h"
#include "cmm_core_model.h"
#include "cmm_tlm/clock_domain.h"
#include "cmm_tlm/extensions.h"

namespace cmm::tlmshell {

// The TLM model's core parameters: strong mode present (plain stays the
// default per channel), MAC engine L = 4, B = 16 (docs/strong-mode.md 11.1).
inline CoreParams tlm_core_params() {
  CoreParams p;
  p.strong = true;
  return p;
}

struct CmmTlmConfig {
  Straps straps{};
  // Parameters of the C++ core. Ignored with a core_factory (the RTL has no
  // strong mode yet): the strong-mode pins are then driven idle.
  CoreParams core_params = tlm_core_params();
  sc_core::sc_time clock_period = sc_core::sc_time(1, sc_core::SC_NS);  // 1 GHz
  uint32_t buf_bytes_per_cycle = 8;      // packet-buffer bandwidth for TX_BUF/RX_BUF bursts
  uint32_t reg_queue_depth = 16;         // register requests queued before END_REQ is withheld
  uint32_t ingress_slots_per_class = 4;  // bounded ingress buffer (credits granted to the fabric)
  // Another implementation of the core at its pins (e.g. the Verilated RTL);
  // empty: the C++ CmmCore.
  std::function<std::unique_ptr<CorePinsModel>(const Straps&)> core_factory;
  // The clock domain that steps this CMM (one dispatcher for every component
  // of a system); null: the CMM makes its own. Its period must be clock_period.
  ClockDomain* clock = nullptr;
  // Hardware key generator seed (docs/security.md 1.10): driven on the
  // entropy pins with entropy_valid at the first clock edge after reset
  // (power-up: cycle 1). All zero: no seed is driven.
  Key entropy{};
};

// Statistics in fixed arrays (no allocation).
struct CmmTlmStats {
  uint64_t steps = 0;           // core.step() calls (clock edges evaluated)
  uint64_t skipped_cycles = 0;  // cycles covered by core.skip_idle()
  uint64_t reg_requests = 0;    // register transactions received
  uint64_t reg_bursts = 0;      // payload window accesses granted
  uint64_t reg_shell_errors = 0;  // refused by the shell (size, alignment, range, no requester id)
  std::array<uint64_t, regs::kRspCount> reg_status{};  // responses by core status
  std::array<uint64_t, 2> eg_packets{};   // by class
  std::array<uint64_t, 2> ing_packets{};  // by class (accepted by the core)
  uint64_t data_sent = 0;       // DATA packets sent (payload attached; first sends only)
  uint64_t data_retx = 0;       // DATA retransmissions (reliable delivery, strong mode; payload from the core's window)
  uint64_t data_delivered = 0;  // DATA payloads moved into an RX slot
  uint64_t data_discarded = 0;  // DATA payloads discarded after a reject verdict
  std::array<uint64_t, regs::kReasonCount> rejects{};  // core rejects by reason (CoreObserver)
  uint64_t link_errors = 0;     // fabric protocol violations (should stay 0)
  // Stall cycles by cause (evaluated edges only; skipped idle edges stall nothing).
  uint64_t reg_stall_cycles = 0;   // a register request waited: reg_req_ready low
  uint64_t ing_stall_cycles = 0;   // an ingress header waited: ing_ready low (pipeline busy or queues full)
  uint64_t eg_credit_stall_cycles = 0;  // an egress header waited for a fabric credit
  uint64_t ing_headers = 0;        // headers accepted into the pipeline (occupancy = ing_headers / cycles)
  // Ingress packets dropped by the shell before the core sees them
  // (docs/security.md 1.8): BAD_CRC (checked first), then BAD_LEN.
  DropCount drops;
  uint64_t tx_scrubs = 0;  // TX staging buffers zeroed on FREE / CLOSE / owner change
  // Energy events (docs/energy.md): packet-buffer bytes moved (TX/RX window
  // bursts, payload snapshots sent, payloads into RX slots) and bytes the
  // MAC engines absorbed (beats x mac_bytes_per_cycle, strong mode).
  uint64_t buf_bytes = 0;
  uint64_t mac_bytes = 0;
  // Loosely-timed register path (b_transport, docs/embedding.md "Loosely-timed register access").
  uint64_t lt_requests = 0;        // b_transport calls (shell errors included)
  uint64_t lt_catchup_edges = 0;   // clock edges evaluated inside b_transport (ahead of the dispatcher)
  uint64_t lt_syncs = 0;           // b_transport calls that had to wait(): register port back-pressured by the fabric
  uint64_t lt_dmi_refused = 0;     // get_direct_mem_ptr calls (always refused)
};

// Optional hooks for traces; never change behaviour.
class CmmTlmObserver : public CoreObserver {
 public:
  virtual void on_egress(const sc_core::sc_time& t, const Packet& p) { (void)t; (void)p; }
  virtual void on_ingress_accept(const sc_core::sc_time& t, const Packet& p) { (void)t; (void)p; }
  // An ingress packet the shell dropped (BAD_CRC, BAD_LEN) before the core
  // saw it. p is the sender's packet as received: use p.carried(), never
  // p.payload_len, to look at its payload.
  virtual void on_drop(const sc_core::sc_time& t, const Packet& p, regs::Reason why) { (void)t; (void)p; (void)why; }
  // Every evaluated clock edge: the core's inputs and the outputs they meet
  // (waveforms). Skipped idle edges are not reported.
  virtual void on_pins(const sc_core::sc_time& t, const PinsIn& in, const PinsOut& out) {
    (void)t; (void)in; (void)out;
  }
};

class NodeBus;

class CmmTlm : public sc_core::sc_module, private Clocked {
 public:
  SC_HAS_PROCESS(CmmTlm);
  CmmTlm(sc_core::sc_module_name name, const CmmTlmConfig& cfg);
  ~CmmTlm() override;

  // Node bus -> CMM registers. Base protocol: nb_transport (cycle-accurate,
  // the response comes on the backward path) or b_transport (loosely timed:
  // the access latency is added to the annotated delay). DMI is refused.
  tlm_utils::simple_target_socket<CmmTlm> reg_tsock;
  // CMM -> fabric (egress packets), fabric -> CMM (ingress packets). Link protocol: extensions.h.
  tlm_utils::simple_initiator_socket<CmmTlm> eg_isock;
  tlm_utils::simple_target_socket<CmmTlm> ing_tsock;

  // Interrupt lines: bit p = irq of partition p (level, changes only at clock
  // edges). Written by the clock dispatcher, or at a caught-up edge's time by
  // the CMM's own method after a loosely-timed access (never in one delta).
  sc_core::sc_signal<uint32_t, sc_core::SC_MANY_WRITERS> irq;
  const sc_core::sc_event& irq_rise_event(uint32_t part) const { return irq_rise_[part]; }
  bool irq_level(uint32_t part) const { return (pins().irq >> part) & 1u; }

  // The C++ core, for statistics and tests; only when no core_factory was given.
  const CmmCore& core() const;
  bool has_cpp_core() const { return !ext_; }
  const char* core_kind() const { return ext_ ? ext_->kind() : "cpp"; }
  const CmmTlmStats& stats() const { return stats_; }
  const CmmTlmConfig& config() const { return cfg_; }
  void set_observer(CmmTlmObserver* o) { user_obs_ = o; }
  // Core cycle that corresponds to the current simulation time.
  uint64_t cycle_now() const;
  // Last clock edge the CMM evaluated; ahead of cycle_now() after a
  // loosely-timed access caught the CMM up to its caller's local time.
  uint64_t evaluated_cycle() const { return last_cycle_; }

 private:
  enum Win : uint8_t { kNoWin = 0, kTxWin = 1, kRxWin = 2 };
  struct LtDone {
    bool done = false;
    sc_core::sc_time t_resp;  // response time (the caller's new local time)
  };
  struct RegReq {
    tlm::tlm_generic_payload* gp = nullptr;
    sc_core::sc_time ready;
    uint32_t addr = 0;
    bool write = false;
    uint32_t wdata = 0;
    uint8_t part = 0, priv = 0;
    uint16_t pid = 0;
    bool fw = false;  // board-management port (FIRMWARE), stamped by the node bus
    Win win = kNoWin;
    uint16_t ep = 0;
    uint16_t off = 0;
    uint16_t len = 0;
    LtDone* lt = nullptr;  // b_transport request: completed in place, no backward call
  };

  struct IngSlot {
    Packet pkt;
    sc_core::sc_time arrival;
  };
  struct TxSnap {
    uint16_t len = 0;
    std::array<uint8_t, regs::kMaxMsgBytes> bytes{};
  };
  class Obs : public CoreObserver {
   public:
    explicit Obs(CmmTlm& m) : m_(m) {}
    void on_reject(uint64_t c, regs::Reason r, const Header* p) override;
    void on_deliver(uint64_t c, const Header& h) override;
   private:
    CmmTlm& m_;
  };

  friend class NodeBus;
  // reg_tsock's initiator when it is a NodeBus bound straight to it (set by
  // that NodeBus): responses go to it by a direct call, the same call.
  NodeBus* reg_direct_ = nullptr;
  tlm::tlm_sync_enum reg_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  // Backward path of the register socket (direct to reg_direct_ when set).
  tlm::tlm_sync_enum reg_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  void reg_b(tlm::tlm_generic_payload& gp, sc_core::sc_time& d);
  bool reg_dmi(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
  // Checks and decodes a register transaction arriving at `ready`; false: a
  // shell error was answered (gp completed).
  bool decode(tlm::tlm_generic_payload& gp, const sc_core::sc_time& ready, RegReq& r);
  // Evaluates edges ahead of the dispatcher until `done` (false: the register
  // port waits for fabric credits, which only simulated time can bring).
  bool catch_up(const LtDone& done);
  void evaluate(uint64_t edge_cycle);  // one rising edge at time edge_cycle * period
  uint64_t next_needed() const;        // next edge this CMM must evaluate (ClockDomain::kNever: none)
  void schedule_next();
  void apply_irq();                    // irq changes of caught-up edges, at their edge times
  void set_irq(uint32_t iv);
  tlm::tlm_sync_enum ing_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_sync_enum eg_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  void on_edge(uint64_t edge_cycle);
  void clock_edge(uint64_t cycle) override { on_edge(cycle); }
  void grant_initial_credits();
  void wake(const sc_core::sc_time& t);  // make sure the edge strictly after t is evaluated
  sc_core::sc_time edge_after(const sc_core::sc_time& t) const;
  void complete_reg(RegReq& r, const PinsOut& o);
  void shell_error(tlm::tlm_generic_payload& gp, tlm::tlm_response_status s);
  void return_ing_credit(uint8_t cls);
  void free_ing_slot(uint32_t idx, uint8_t cls);
  void scrub_tx(uint32_t ep);
  void after_write(const RegReq& r);

  CmmTlmConfig cfg_;
  const PinsOut& pins() const { return ext_ ? ext_->out() : core_.out(); }

  CmmCore core_;
  std::unique_ptr<CorePinsModel> ext_;  // replaces core_ when set
  Obs obs_;
  CmmTlmObserver* user_obs_ = nullptr;
  CmmTlmStats stats_{};
  uint64_t period_ticks_ = 1;
  std::unique_ptr<ClockDomain> own_clock_;
  ClockDomain* clk_ = nullptr;
  uint32_t clk_id_ = 0;
  uint64_t last_cycle_ = 0;  // last evaluated edge (edges start at 1)
  sc_core::sc_time eval_off_;  // evaluated edge time - simulation time (nonzero only when caught up)
  sc_core::sc_event lt_ev_;    // a waiting b_transport's response
  uint32_t lt_waiters_ = 0;
  struct IrqChange {
    sc_core::sc_time t;
    uint32_t v = 0;
  };
  std::vector<IrqChange> irq_pending_;  // from caught-up edges, in time order
  size_t irq_head_ = 0;
  sc_core::sc_event irq_ev_;
  bool seed_pending_ = false;  // entropy still to be driven (first edge after reset)
  std::array<sc_core::sc_event, regs::kMaxNumPartitions> irq_rise_;
  uint32_t irq_prev_ = 0;

  // Register port.
  Ring<RegReq> reg_q_;       // received, not yet accepted by the core
  Ring<RegReq> reg_inflight_;  // accepted by the core, response pending
  tlm::tlm_generic_payload* end_req_pending_ = nullptr;  // parked request: END_REQ withheld
  sc_core::sc_time buf_free_;  // packet-buffer port busy until

  // Packet buffer.
  // Zero-filled byte blocks from calloc: for a large table the OS maps the
  // pages on first write, so endpoints never used cost no resident memory.
  struct ZeroBlocks {
    struct Free {
      void operator()(uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint8_t, Free> mem;
    void reset(size_t blocks) { mem.reset(static_cast<uint8_t*>(std::calloc(blocks ? blocks : 1, regs::kMaxMsgBytes))); }
    uint8_t* operator[](size_t i) const { return mem.get() + i * regs::kMaxMsgBytes; }
  };
  ZeroBlocks tx_stage_;                                            // per endpoint
  uint32_t ep_base_ = 0;  // first endpoint page: Geometry::ep_base()
  uint32_t ep_end_ = 0;   // end of the endpoint windows: ep_base_ + num_endpoints x CMM_EP_STRIDE
  std::vector<uint16_t> tx_hi_;                                    // bytes written since last doorbell
  Ring<TxSnap> tx_fifo_;                                           // payloads of queued DATA headers
  ZeroBlocks rx_buf_;                                              // [ep * rxq_depth + slot]
  std::vector<uint16_t> rx_len_;
  std::vector<IngSlot> ing_slots_;
  std::vector<uint32_t> ing_free_;
  std::array<Ring<uint32_t>, 2> ing_q_;  // arrived, not yet accepted, per class
  std::array<uint32_t, 2> ing_used_{};
  Ring<uint32_t> vd_pending_;  // DATA accepted by the core, verdict pending
  // MAC payload streams (strong mode, docs/strong-mode.md 11.6/11.10).
  bool strong_ = false;        // the core has strong mode (C++ core with core_params.strong)
  uint32_t mac_bpc_ = 16;      // bytes per beat
  uint32_t mtx_off_ = 0;       // next byte of the newest doorbell snapshot to stream
  uint32_t mrx_off_ = 0, mrx_len_ = 0;
  std::array<uint8_t, regs::kMaxMsgBytes> mrx_buf_{};  // payload of the strong header in S1

  // Fabric links.
  std::array<uint32_t, 2> eg_credits_{};
  Packet eg_pkt_;
  uint64_t eg_seq_ = 0;
  tlm::tlm_generic_payload eg_gp_;
  LinkExt* eg_ext_ = nullptr;
  tlm::tlm_generic_payload credit_gp_;
  LinkExt* credit_ext_ = nullptr;
};

}  // namespace cmm::tlmshell
