// Network-on-chip fabric: ring, 2-D mesh and 2-D torus of routers with
// dimension-order routing, wormhole switching (flits of link_width_bytes),
// credit-based flow control per virtual channel, two message classes on
// disjoint VC sets (responses never wait behind requests), dateline VCs on
// rings/tori (deadlock-free), VC chosen per flow (src, dst, class) so a
// flow is delivered in order, network interfaces that split/reassemble
// packets. The node side speaks the Crossbar's link protocol (extensions.h),
// so CmmTlm / test::LinkStub bind to it exactly as to the Crossbar.
// Two router models: a 1-cycle router (default) and a pipelined one
// calibrated against BookSim2 (NocConfig::router).
// Timing, formulas and limits: docs/fabric.md.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/clock_domain.h"
#include "cmm_tlm/crossbar.h"  // FaultHook, FaultDecision
#include "cmm_tlm/extensions.h"
#include "cmm_tlm/topo.h"

namespace cmm::tlmshell {

__extension__ typedef unsigned __int128 PortMask;  // a bit per router port (up to 65 ports)

// kFatTree, kDragonfly, kFlatFly, kFile: switched fabrics (topo.h,
// docs/fabric.md "Switched fabrics"): terminals attach to leaf switches.
enum class Topology : uint8_t { kRing = 0, kMesh = 1, kTorus = 2, kFatTree = 3, kDragonfly = 4, kFlatFly = 5, kFile = 6 };

// "ring", "mesh", "torus", "fat_tree", "dragonfly", "flatfly" or "file";
// anything else throws std::invalid_argument naming the allowed values.
Topology parse_topology(const std::string& s);
const char* to_string(Topology t);

// Router model (docs/fabric.md "Router models"). kSimple: every flit
// crosses a router in router_delay_cycles with route, VC and switch
// allocation in one cycle (the default; its results never change).
// kPipeline: route computation, VC allocation, switch allocation and switch
// traversal as separate stages of configurable depth, iSLIP-style separable
// allocators, a credit processing delay (configured like BookSim2's `iq`
// router by default: 1/1/1/1 cycles, credit delay 0).
enum class RouterModel : uint8_t { kSimple = 0, kPipeline = 1 };
// "simple" or "pipeline"; anything else throws std::invalid_argument.
RouterModel parse_router_model(const std::string& s);
const char* to_string(RouterModel m);

struct NocConfig {
  Topology topology = Topology::kMesh;
  uint32_t x = 2;                      // ring: number of nodes; mesh/torus: columns
  uint32_t y = 2;                      // ring: must be 1; mesh/torus: rows
  uint32_t vcs_per_class = 2;          // VCs per message class (ring/torus: >= 2, dateline)
  uint32_t buf_depth_flits = 8;        // input buffer per VC (credits per VC)
  uint32_t link_width_bytes = 16;      // flit size = link width, bytes/cycle
  uint32_t link_latency_cycles = 2;    // router-to-router flight time (flits and credits)
  uint32_t router_delay_cycles = 1;    // per-flit router pipeline delay
  uint32_t ni_slots_per_class = 4;     // packets the NI accepts from its node, per class
  RouterModel router = RouterModel::kSimple;
  // kPipeline only (router_delay_cycles is then unused), in cycles: a head
  // flit that arrives at cycle a (route computation in that cycle) bids for
  // its output VC from a + rc_cycles, for the switch va_cycles after winning
  // its VC; a flit that wins the switch at s leaves the router at
  // s + sa_cycles - 1 + st_cycles and arrives at the next router
  // link_latency_cycles later; the credit of its buffer slot is usable
  // upstream at s + link_latency_cycles + credit_delay_cycles. Zero-load per
  // hop: rc + va + sa + st - 1 + L (docs/fabric.md).
  uint32_t rc_cycles = 1;            // route computation
  uint32_t va_cycles = 1;            // VC allocation (0: same cycle as switch allocation)
  uint32_t sa_cycles = 1;            // switch allocation (>= 1)
  uint32_t st_cycles = 1;            // switch traversal
  uint32_t credit_delay_cycles = 0;  // credit processing, added to the credit's link flight
  uint32_t alloc_iters = 1;          // iSLIP iterations of the switch allocator
  // A head flit that has waited this long at the ejection port for a node
  // credit is dropped with its packet (HOL_TIMEOUT), and the ejection port
  // stays stalled for that class (every head dropped at once) until the
  // node returns a credit of that class; 0 = never.
  uint32_t hol_lifetime_cycles = 4096;
  sc_core::sc_time clock_period = sc_core::sc_time(1, sc_core::SC_NS);
  // The clock domain that steps the network (shared with the CMMs of a
  // system); null: the Noc makes its own. Its period must be clock_period.
  ClockDomain* clock = nullptr;

  // Switched fabrics (topology fat_tree, dragonfly, flatfly, file; topo.h).
  Routing routing = Routing::kMinimal;
  uint32_t ft_k = 4;          // fat-tree: down/up ports per switch above the leaves (k-ary)
  uint32_t ft_levels = 2;     // fat-tree: switch levels n
  uint32_t ft_terminals = 0;  // fat-tree: terminals per leaf switch (0: ft_k; > ft_k oversubscribes)
  uint32_t df_a = 4, df_p = 2, df_h = 2;  // dragonfly: routers per group, terminals per router, global links per router
  uint32_t df_groups = 0;     // dragonfly: groups (0: df_a*df_h + 1)
  Arrangement df_arrangement = Arrangement::kAbsolute;
  uint32_t fb_k = 4, fb_n = 2, fb_c = 1;  // flattened butterfly: routers per dimension, dimensions, terminals per router
  std::string topo_file;      // file topology
  // Link latency in ns per link class, converted at clock_period (ceil, at
  // least 1 cycle); 0: link_latency_cycles. Terminal-switch links; links
  // between switches (dragonfly: within a group); dragonfly global links.
  double link_ns_terminal = 0, link_ns_local = 0, link_ns_global = 0;
  // UGAL-L: take the Valiant path when the minimal output's used credits
  // exceed 2 x the nonminimal output's plus this (BookSim2's rule and default).
  uint32_t ugal_threshold = 30;
  // Valiant, UGAL, adaptive: keep each flow in order with flowlets (a packet
  // follows its flow's path while an earlier one is in flight; the CMMs need
  // it). false: every packet chooses (BookSim2's behaviour; reorders flows).
  bool flowlets = true;
  // Options that reproduce BookSim2's choices where ours differ (docs/fabric.md
  // "Adaptive routing against BookSim2"); the defaults keep the model's own.
  // Valiant/UGAL intermediate: false = a random group (one local hop there);
  // true = a random router of any group but the source's, the destination's
  // included (BookSim2 dragonflynew: a random terminal's router; up to two
  // local hops there). Needs 4 VC sets (phase after the intermediate).
  bool valiant_router = false;
  // With valiant_router: BookSim2's VC per phase instead of the VC sets
  // (3 sets: 0 before the intermediate router, its global hop included; 1
  // after it; 2 after the last global hop; minimal packets start in 1, those
  // within the group in 2). Its CDG is cyclic (set 0 carries local -> global
  // -> local): deadlock is possible; for comparison with BookSim2 only.
  bool phase_vcs = false;
  // Fat-tree adaptive: up ports compared per up hop: 0 = all (least loaded);
  // 2 = two drawn at random with replacement, the less loaded (ties: the
  // first), chosen once per switch (BookSim2's anca).
  uint32_t adaptive_choices = 0;
  // A head takes any free VC of its set (per packet, as BookSim2's VC
  // allocator) instead of its flow's VC; reorders flows (network-alone).
  bool vc_per_packet = false;
  // Switched fabrics: the terminal adapter is a wire (BookSim2's terminal
  // interface): the NI injects into the leaf switch over an L-cycle channel
  // and the leaf switch ejects to the NI over an L-cycle channel; false: the
  // adapter is a 1-port router with the pipeline and its terminal link.
  bool terminal_direct = false;

  // Routers that carry a node: x*y, or the terminals of a switched fabric.
  uint32_t num_nodes() const;
  // Throws std::invalid_argument("NocConfig.<param> = <value>: <rule>").
  void validate() const;
};

// Fills the router-model fields of `c` from plain values (scenario glue):
// model "simple" or "pipeline" and the kPipeline stage parameters (ignored,
// but still range-checked, for "simple"). Throws std::invalid_argument
// naming the parameter.
void set_router_model(NocConfig& c, const std::string& model, uint32_t rc_cycles, uint32_t va_cycles,
                      uint32_t sa_cycles, uint32_t st_cycles, uint32_t credit_delay_cycles, uint32_t alloc_iters);

// Statistics; arrays sized once at construction (no growth while simulating).
struct NocStats {
  std::array<uint64_t, 2> injected{};     // packets accepted from nodes, by class
  std::array<uint64_t, 2> delivered{};    // packets delivered to nodes, by class (duplicates included)
  std::array<uint64_t, 2> latency_sum{};  // cycles, BEGIN_REQ cycle -> delivery, of delivered packets
  std::array<uint64_t, 2> latency_max{};
  uint64_t flits_injected = 0;   // flits entering the routers from the NIs
  uint64_t flits_ejected = 0;    // flits leaving the routers into the NIs
  uint64_t unroutable = 0;
  uint64_t fault_drops = 0;
  uint64_t fault_duplicates = 0;
  uint64_t fault_delays = 0;
  uint64_t fault_corruptions = 0;
  uint64_t link_errors = 0;      // node-side protocol violations (should stay 0)
  uint64_t steps = 0;            // cycles evaluated (idle cycles are skipped)
  uint64_t stalled_cycles = 0;   // cycles skipped while flits waited for a node credit
  std::vector<uint64_t> link_flits;         // [router*ports + port]: flits sent on that output (port 0: ejection)
  std::vector<uint64_t> buf_occupancy_sum;  // [router]: sum over cycles of flits in its input buffers
  std::vector<uint32_t> buf_occupancy_max;  // [router]
  std::vector<uint64_t> buf_writes;         // [router]: flits written into its input buffers (energy)
  std::vector<uint64_t> buf_reads;          // [router]: flits read out of them (switched or discarded)
  std::vector<uint64_t> flits_injected_at;  // [router]: flits its NI put into port 0
  std::vector<uint64_t> vc_stalls;          // [(router*ports + port)*vcs + vc]: cycles a ready flit did not move
  std::vector<uint64_t> eject_credit_stalls;  // [router]: cycles a head flit waited for a node credit
  // Security drops (docs/security.md 1.8): BAD_LEN and SRC_SPOOFED at the
  // NI (injection port), HOL_TIMEOUT at the ejection port. Totals and [router].
  DropCount drops;
  std::vector<DropCount> node_drops;
  uint64_t flits_dropped = 0;  // flits of HOL_TIMEOUT packets discarded at the ejection port
  // Adaptive routing (valiant, ugal, adaptive): packets routed through an
  // intermediate dragonfly group; packets that followed their flowlet's
  // path (an earlier packet of the flow was in flight).
  uint64_t nonminimal = 0, flowlet_follows = 0;
};

class Noc : public sc_core::sc_module, private Clocked {
 public:
  SC_HAS_PROCESS(Noc);
  // Throws std::invalid_argument on a bad configuration (NocConfig::validate).
  Noc(sc_core::sc_module_name name, const NocConfig& cfg);
  ~Noc() override;

  using TSock = tlm_utils::simple_target_socket_tagged<Noc>;
  using ISock = tlm_utils::simple_initiator_socket_tagged<Noc>;
  std::vector<std::unique_ptr<TSock>> in_tsock;   // node n egress -> fabric (NI of router n)
  std::vector<std::unique_ptr<ISock>> out_isock;  // fabric -> node n ingress

  // Node id -> router/port (default: node n at router n). router < 0 removes the route.
  // A route also attaches the node to the router's injection port (edge
  // source validation: it then accepts only packets with src_node == node);
  // removing the route detaches it (the port then accepts nothing).
  void set_route(uint16_t node, int router);
  // Attaches `node` (or nothing: node < 0) to router's injection port without routing.
  void set_port_node(uint32_t router, int node);
  int port_node(uint32_t router) const { return attached_[router]; }
  void set_fault_hook(FaultHook* h) { hook_ = h; }
  const NocStats& stats() const { return stats_; }
  const NocConfig& config() const { return cfg_; }

  uint32_t num_routers() const { return nr_; }   // switched fabrics: terminal adapters, then switches
  uint32_t num_nodes() const { return nn_; }
  uint32_t ports_per_router() const { return np_; }  // 0 local, 1 +x, 2 -x, 3 +y, 4 -y (ring: 0, 1 cw, 2 ccw)
  // Switched fabrics: the graph and routing (null otherwise).
  const TopoGraph* graph() const { return graph_.get(); }
  uint32_t vcs_per_port() const { return nv_; }      // class c uses VCs [c*vcs_per_class, (c+1)*vcs_per_class)
  int neighbor(uint32_t router, uint32_t port) const;  // router at the far end of an output, -1 if none
  uint32_t hops(uint32_t src_router, uint32_t dst_router) const;  // router-to-router links of the route
  uint32_t flits_of(uint32_t wire_bytes) const;
  // Zero-load latency (cycles) from BEGIN_REQ at router s's NI to delivery at
  // router d's node: kSimple 1 + ceil(B/W) + (H+1)*R + H*L, exact when
  // buf_depth_flits >= 2L + R; kPipeline ceil(B/W) + 2L + P + H*(P+L) with
  // P = rc + va + sa + st, exact when buf_depth_flits >= P + 2L + 1 + cd
  // (docs/fabric.md).
  uint64_t zero_load_cycles(uint32_t s, uint32_t d, uint32_t wire_bytes) const;
  uint64_t cycle_now() const;

 private:
  struct Flit {
    uint64_t ready = 0;  // first cycle it may leave the router it is in
    uint32_t pkt = 0;    // pool slot
    uint8_t head = 0, tail = 0;
  };
  struct FlitEv {
    uint32_t ivc;     // destination input VC
    uint16_t router;  // its router
    uint8_t port, vc; // its input port and VC (no division on arrival)
    Flit f;
  };
  struct Slot {
    Packet pkt;
    uint64_t req_cycle = 0;   // cycle of BEGIN_REQ (latency origin)
    uint64_t start = 0;       // first cycle the NI may inject it
    uint64_t seq = 0;
    uint32_t refs = 0;        // copies not yet delivered
    uint32_t copies_left = 0; // duplicates still to inject
    uint16_t nflits = 0;
    uint16_t dst_router = 0, src_router = 0;
    uint32_t flow = 0;        // hash of (src_router, dst_router): fixes its VC index at every hop
    // flow mod (VCs of the class, of dateline set 0, of set 1): computed once.
    uint8_t fv_all = 0, fv_s0 = 0, fv_s1 = 0;
    uint8_t cls = 0;
    uint8_t dec = 0;   // adaptive routing: 0 undecided, 1 flowlet leader, 2 follower
    uint8_t live = 0;  // counted in flow_live_
    uint16_t inter = 0xFFFF;  // dragonfly Valiant/UGAL intermediate group or router (0xFFFF: minimal)
    uint16_t pick_r = 0xFFFF; // adaptive_choices: the switch of the last up choice, and the port
    uint8_t pick_p = 0;
  };
  struct Stream {  // NI injection of one packet on one local input VC
    uint32_t slot = 0;
    uint16_t next = 0;
    bool active = false;
  };
  struct Pool;

  tlm::tlm_sync_enum in_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_sync_enum out_bw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  void grant_initial_credits();
  void send_node_credit(uint32_t router, uint8_t cls);
  void step(uint64_t t);
  void clock_edge(uint64_t cycle) override { step(cycle); }
  void ni_step(uint32_t r, uint64_t t);
  template <class M, uint32_t MaxP, bool G>
  void router_step(uint32_t r, uint64_t t);
  template <class M, uint32_t MaxP, bool G>
  void router_step_pipe(uint32_t r, uint64_t t);
  uint32_t out_port(uint32_t r, uint32_t lvl, Slot& sl);
  uint32_t adaptive_port(uint32_t r, uint32_t lvl, Slot& sl, uint32_t op);
  uint32_t used_credits(uint32_t r, uint32_t op) const;
  uint32_t wslot(uint32_t d) const { return ws_ + d >= wn_ ? ws_ + d - wn_ : ws_ + d; }
  // A head without a node credit at the ejection port: waits, or past the
  // lifetime is dropped (HOL_TIMEOUT). Returns true if it was dropped.
  bool eject_hol(uint32_t r, uint32_t p, uint32_t v, uint32_t iv, uint32_t c, const Slot& sl, uint64_t t);
  void deliver(uint32_t r, uint32_t slot, uint64_t t, uint32_t extra = 0, bool now = false);
  uint32_t pick_vc(uint32_t ob, uint32_t lo, uint32_t n, const Slot& sl) const;
  void eject_direct(uint32_t r, uint64_t t);
  void discard_head(uint32_t r, uint32_t p, uint32_t v, uint32_t iv);
  void edge_drop(uint32_t r, regs::Reason why, const Packet& p);
  void wake_at(uint64_t cycle);
  uint32_t route(uint32_t r, uint32_t dst) const;
  void buf_push(uint32_t r, uint32_t p, uint32_t v, uint32_t iv, const Flit& f);
  void buf_pop(uint32_t r, uint32_t p, uint32_t v, uint32_t iv);
  Slot& slot(uint32_t i);
  void free_slot(uint32_t i);

  NocConfig cfg_;
  uint32_t nr_ = 0, np_ = 0, nv_ = 0, vpc_ = 0, s0_ = 0, depth_ = 0, lat_ = 0, rdel_ = 0;
  uint32_t nn_ = 0;       // nodes (routers 0..nn_-1 carry an NI)
  uint32_t rstride_ = 0;  // route_tab_ row length (destination routers)
  static constexpr uint32_t kMaxPorts = kMaxRadix + 1;
  bool wrap_ = false;
  bool gen_ = false;      // switched fabric: graph, per-link latency and width, VC sets by level
  bool wide_ = false;     // more than 31 ports: 128-bit port masks
  uint32_t nsets_ = 1;    // gen_: VC sets per class (each s0_ VCs)
  std::unique_ptr<TopoGraph> graph_;
  bool adapt_ = false;  // valiant, ugal or adaptive routing (flowlets)
  bool via_router_ = false;  // cfg_.valiant_router on a dragonfly
  bool direct_ = false;      // cfg_.terminal_direct on a switched fabric
  std::vector<uint8_t> term_in_;  // [router*np + port]: direct_ and fed by a terminal (set 0 whatever the VC)
  std::vector<uint16_t> flow_live_;   // [src*nn + dst]: decided packets of the flow not yet freed
  std::vector<uint16_t> flow_inter_;  // [src*nn + dst]: the flow's current intermediate group
  std::vector<uint64_t> flow_ups_;    // [src*nn + dst]: its up port per fat-tree level (8 bits each)
  std::vector<uint8_t> out_port_;   // [router*np + port]: input port it reaches downstream
  std::vector<uint32_t> olat_;      // [router*np + port]: flight cycles of the output's link (+ width serialization - 1)
  std::vector<uint32_t> ilat_;      // [router*np + port]: flight cycles of the link into that input (credits)
  std::vector<uint32_t> ser_;       // [router*np + port]: cycles per flit on the output's link
  std::vector<uint64_t> obusy_;     // [router*np + port]: first cycle the output's link is free again
  std::vector<uint8_t> bump_;       // [router*np + port]: crossing moves to the next VC set
  std::vector<uint8_t> vlev_;       // [vc]: its VC set
  std::vector<uint8_t> up_lo_, up_n_;  // [router]: ECMP up ports
  bool pipe_ = false;     // RouterModel::kPipeline
  uint32_t cdel_ = 0;     // kPipeline: 1 + credit_delay_cycles (0 for kSimple)
  uint32_t fwd_ = 0;      // kPipeline: sa - 1 + st + L, switch grant to arrival at the next router
  uint32_t ej_extra_ = 0; // kPipeline: sa - 1 + st, switch grant at the ejection port to delivery
  uint64_t period_ticks_ = 1;
  FaultHook* hook_ = nullptr;
  NocStats stats_;
  std::array<int16_t, size_t{1} << regs::kNodeIdBits> route_{};  // [node id] router, -1 none
  std::vector<int32_t> attached_;  // [router] node id allowed as src_node at its NI, -1 none

  std::vector<uint16_t> cx_, cy_;     // router coordinates
  // Topology: [router*np + port].
  std::vector<int32_t> out_link_;    // downstream router*np + port, -1 if none
  std::vector<int32_t> in_link_;     // upstream router*np + port, -1 if none
  std::vector<uint8_t> is_wrap_;     // output crosses the dateline
  std::vector<uint32_t> out_router_; // downstream router of an output (no division per flit)

  // Input VCs [(router*np + port)*nv + vc]: buffers, allocated output.
  std::vector<Flit> buf_;
  std::vector<uint16_t> bhead_, bcount_;
  std::vector<int8_t> in_op_;
  std::vector<uint8_t> in_ov_;
  std::vector<uint64_t> hol_since_;  // cycle the head started waiting for a node credit (kNoWait: none)
  std::vector<uint8_t> dropping_;    // the packet at the head is being discarded (HOL_TIMEOUT)
  std::vector<uint8_t> eject_stuck_; // [router*2 + cls] stalled after a HOL drop, until a node credit
  // Output VCs, same index: credits towards downstream (port 0: the NI's
  // credits for the local input VC, since ejection needs none) and allocation.
  std::vector<int32_t> cred_;
  std::vector<uint8_t> ov_busy_;
  std::vector<uint8_t> rr_in_, rr_out_, rr_vc_;  // [router*np + port]
  std::vector<uint32_t> occ_;                     // [router] buffered flits
  // Active sets, so a step costs what is in flight rather than routers x
  // ports x VCs: routers with occ_ > 0 (bit per router), and per input port
  // the VCs holding a flit (bit per VC).
  std::vector<uint64_t> occ_bits_;  // [router / 64]
  std::vector<uint32_t> nemask_;    // [router*np + port]
  std::vector<uint64_t> pmask_;     // [router]: input ports 0..63 with nemask_ != 0 (bit per port)
  std::vector<uint8_t> pmask_hi_;   // [router]: port 64 (radix-64 switches) with nemask_ != 0
  template <class M>
  M port_mask(uint32_t r) const {
    if constexpr (sizeof(M) > 8) return static_cast<M>(pmask_[r]) | (static_cast<M>(pmask_hi_[r]) << 64);
    else return static_cast<M>(pmask_[r]);
  }
  std::vector<uint64_t> ni_bits_;    // [router / 64]: ni_busy_ > 0
  std::vector<uint64_t> pend_bits_;  // [(router*2 + cls) / 64]: node_pend_ > 0
  std::vector<uint8_t> route_tab_;  // [router*nr + dst router]: output port (route() precomputed)
  std::vector<uint8_t> start_port_;               // [router] VC-allocation start port (rotates)
  // kPipeline state, [(router*np + port)*nv + vc] unless noted.
  std::vector<uint64_t> va_at_;     // first cycle the head at the front may bid for a VC (kNoWait: unknown)
  std::vector<uint64_t> sa_at_;     // first cycle the VC may bid for the switch (after its VA)
  std::vector<uint64_t> front_at_;  // cycle the current front flit became the front (after the last tail left)
  std::vector<uint16_t> va_ptr_;    // output VC: round-robin pointer over the router's input VCs
  std::vector<uint8_t> acc_ptr_;    // [router*np + port]: iSLIP accept pointer over outputs

  // Timing wheel of L+1 cycles: flit arrivals and credit returns.
  uint32_t wn_ = 2, wcap_ = 0, wccap_ = 0;
  uint32_t ws_ = 0;                 // wheel slot of the current step
  uint32_t w_one_ = 0, w_lat_ = 0;  // wheel slots of t + 1 and t + L in the current step
  uint32_t w_cr1_ = 0, w_crl_ = 0;  // credit slots, NI / link (kSimple: t + 1, t + L; kPipeline: both t + L + 1 + cd)
  std::vector<FlitEv> wflit_;
  std::vector<uint32_t> wcred_;
  std::vector<uint32_t> wflit_n_, wcred_n_;
  uint64_t wheel_events_ = 0;

  // Network interfaces [router].
  std::vector<uint32_t> niq_;                 // [(router*2 + cls)*ni_slots + i] queued slots
  std::vector<uint32_t> niq_n_;               // [router*2 + cls]
  std::vector<uint32_t> ni_used_;             // [router*2 + cls]
  std::vector<Stream> streams_;               // [router*nv + vc]
  std::vector<uint8_t> ni_rr_;                // [router]
  std::vector<uint32_t> ni_busy_;             // [router] queued + streaming packets
  std::vector<uint32_t> node_cred_, node_pend_;  // [router*2 + cls] credits from the node
  std::vector<uint64_t> node_pend_cycle_;
  uint32_t node_pend_n_ = 0;  // entries of node_pend_ that are non-zero

  std::unique_ptr<Pool> pool_;
  uint64_t seq_ = 0;
  uint64_t flits_in_net_ = 0;  // in buffers or on links
  uint64_t ni_pending_ = 0;    // packets queued or streaming in NIs
  uint64_t last_step_ = 0;
  bool stepped_ = false;
  bool progress_ = false;
  uint64_t next_timed_ = 0;
  std::unique_ptr<ClockDomain> own_clock_;
  ClockDomain* clk_ = nullptr;
  uint32_t clk_id_ = 0;
  std::vector<std::unique_ptr<tlm::tlm_generic_payload>> out_gp_;
  tlm::tlm_generic_payload credit_gp_;
  LinkExt* credit_ext_ = nullptr;
  uint32_t unroutable_reports_ = 0;
};

}  // namespace cmm::tlmshell
