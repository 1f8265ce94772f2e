// Crossbar fabric: one link pair per node port, per-port link width and
// latency, router delay, store-and-forward output arbitration with output-port
// contention, two classes (responses never blocked behind requests), credit
// flow control on every link, fault-injection hook. Zero-load latency formula
// in docs/tlm.md (and tested).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/extensions.h"

namespace cmm::tlmshell {

struct XbarPortConfig {
  uint32_t width_bytes = 16;    // link width, bytes per cycle (both directions)
  uint32_t latency_cycles = 2;  // link flight latency, cycles (both directions)
};

struct XbarConfig {
  uint32_t num_ports = 2;
  sc_core::sc_time clock_period = sc_core::sc_time(1, sc_core::SC_NS);
  uint32_t router_delay_cycles = 1;  // switch traversal
  uint32_t buf_slots_per_class = 4;  // input buffer per port and class (credits granted to the node)
  // A packet ready at the head of an output queue that has waited this long
  // for a credit of its class is dropped (HOL_TIMEOUT), and the port stays
  // "stalled" (every packet for it of that class dropped at once) until it
  // returns a credit of that class; 0 = never.
  uint32_t hol_lifetime_cycles = 4096;
  std::vector<XbarPortConfig> ports;  // size num_ports (missing entries: defaults)
};

// What a fault hook decides for one packet entering the switch.
struct FaultDecision {
  bool drop = false;             // discard (counted)
  uint32_t duplicates = 0;       // extra copies delivered after the original
  uint32_t extra_delay_cycles = 0;  // delay (reorders against later packets)
  bool corrupted = false;        // the hook modified the packet (counted)
};

class FaultHook {
 public:
  virtual ~FaultHook() = default;
  // Called when a packet has crossed its input link; may modify p (corruption).
  virtual FaultDecision on_packet(Packet& p, uint32_t in_port, uint64_t seq) {
    (void)p; (void)in_port; (void)seq;
    return {};
  }
  // A packet whose dst_node has no route (counted and discarded by the crossbar).
  virtual void on_unroutable(const Packet& p, uint32_t in_port) { (void)p; (void)in_port; }
  // A packet dropped by the fabric for security (SRC_SPOOFED, BAD_LEN at its
  // input port; HOL_TIMEOUT at its output port): `port` is the port whose
  // counter was bumped (Noc: the router). An edge drop passes the sender's
  // packet as received: use p.carried(), never p.payload_len.
  virtual void on_drop(const Packet& p, uint32_t port, regs::Reason why) { (void)p; (void)port; (void)why; }
  // A packet started on its output link at time t (for traces).
  virtual void on_forward(const Packet& p, uint32_t in_port, uint32_t out_port, const sc_core::sc_time& t) {
    (void)p; (void)in_port; (void)out_port; (void)t;
  }
};

struct XbarStats {
  std::array<uint64_t, 2> forwarded{};  // by class
  uint64_t unroutable = 0;
  uint64_t fault_drops = 0;
  uint64_t fault_duplicates = 0;
  uint64_t fault_delays = 0;
  uint64_t fault_corruptions = 0;
  uint64_t link_errors = 0;  // protocol violations (should stay 0)
  // Security drops (docs/security.md 1.8): BAD_LEN and SRC_SPOOFED at the
  // input port, HOL_TIMEOUT at the output port. Totals and [port].
  DropCount drops;
  std::vector<DropCount> port_drops;
  // [port]: wire bytes and flits (ceil(bytes / port width)) over its input
  // (node -> switch) and output (switch -> node) links (energy).
  std::vector<uint64_t> in_bytes, in_flits, out_bytes, out_flits;
};

class Crossbar : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Crossbar);
  Crossbar(sc_core::sc_module_name name, const XbarConfig& cfg);

  using TSock = tlm_utils::simple_target_socket_tagged<Crossbar>;
  using ISock = tlm_utils::simple_initiator_socket_tagged<Crossbar>;
  std::vector<std::unique_ptr<TSock>> in_tsock;   // node p egress -> crossbar
  std::vector<std::unique_ptr<ISock>> out_isock;  // crossbar -> node p ingress

  // Node id -> port (default: node n on port n). port < 0 removes the route.
  // A route also attaches the node to the port (edge source validation: the
  // port then accepts only packets with src_node == node); removing the route
  // detaches it (the port then accepts nothing).
  void set_route(uint16_t node, int port);
  // Attaches `node` (or nothing: node < 0) to input port `port` without routing.
  void set_port_node(uint32_t port, int node);
  int port_node(uint32_t port) const { return attached_[port]; }
  void set_fault_hook(FaultHook* h) { hook_ = h; }
  const XbarStats& stats() const { return stats_; }
  const XbarConfig& config() const { return cfg_; }

  // Zero-load latency (cycles) of a packet of `wire_bytes` from port s to port d:
  // ceil(B/W_s) + L_s + R + ceil(B/W_d) + L_d.
  uint64_t zero_load_cycles(uint32_t s, uint32_t d, uint32_t wire_bytes) const;

 private:
  struct Slot {
    Packet pkt;
    sc_core::sc_time ready;
    uint64_t seq = 0;
    uint32_t in_port = 0;
    uint32_t copies_left = 0;
    uint8_t cls = 0;
    bool used = false;
  };
  tlm::tlm_sync_enum in_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_sync_enum out_bw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  void arbitrate();
  void grant_initial_credits();
  void release(uint32_t idx);
  void send_credit(uint32_t port, uint8_t cls, uint16_t n);
  void drop(uint32_t port, regs::Reason r, const Packet& p);
  int pick(const std::vector<uint32_t>& v, const sc_core::sc_time& now) const;
  sc_core::sc_time cycles(uint64_t n) const { return cfg_.clock_period * static_cast<double>(n); }

  XbarConfig cfg_;
  FaultHook* hook_ = nullptr;
  XbarStats stats_{};
  std::array<int16_t, size_t{1} << regs::kNodeIdBits> route_{};  // [node id] port, -1 none
  std::vector<int32_t> attached_;  // [in port] node id allowed as src_node, -1 none
  std::vector<std::array<sc_core::sc_time, 2>> stall_since_;  // [out port][class] head credit wait start
  std::vector<std::array<bool, 2>> stalled_;
  std::vector<std::array<bool, 2>> hol_stuck_;  // [out port][class] stalled after a HOL drop, until a credit
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<std::array<std::vector<uint32_t>, 2>> waiting_;  // [out port][class] slot indices
  std::vector<std::array<uint32_t, 2>> in_used_;               // [in port][class]
  std::vector<std::array<uint32_t, 2>> out_credits_;           // [out port][class]
  std::vector<sc_core::sc_time> in_free_, out_free_;
  uint64_t seq_ = 0;
  sc_core::sc_event arb_ev_;
  std::vector<std::unique_ptr<tlm::tlm_generic_payload>> out_gp_;
  tlm::tlm_generic_payload credit_gp_;
  LinkExt* credit_ext_ = nullptr;
  uint32_t unroutable_reports_ = 0;
};

}  // namespace cmm::tlmshell
