// Test harness that runs driver code against real cmm::CmmCore instances,
// through their pins, without SystemC:
//
//   LoopbackFabric  owns the nodes and steps every core once per cycle; it
//                   carries egress headers (and DATA payloads) to the ingress
//                   of the destination node (routed by dst_node, so two nodes
//                   form a loopback pair and a node may talk to itself), with
//                   a fixed latency and an optional filter / injection hook
//                   for fault and attack tests.
//   SimNode         one CmmCore plus the packet buffer outside it: TX staging
//                   per endpoint (filled through granted TX_BUF writes, snapped
//                   at an accepted doorbell), ingress payloads waiting for
//                   their verdict (vd_valid/vd_accept/vd_slot), and the receive
//                   slots per endpoint and slot (served by granted RX_BUF reads
//                   at reg_rsp_buf_slot).
//   CoreRegIf       a RegIf with a fixed requester id (partition, privilege,
//                   pid), as the bus interface would stamp it. An access
//                   presents reg_req_* until accepted and steps the whole
//                   fabric until reg_rsp_valid. Any number of CoreRegIf may
//                   share a node (one access at a time: tests are single-threaded).
//
// Burst accesses (write_block/read_block) must lie inside one TX_BUF/RX_BUF
// window; the core checks the start address, the packet buffer moves the bytes.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "cmm_core.h"
#include "cmm_sw/reg_if.h"

namespace cmm::sw::testing {

struct Packet {
  Header hdr{};
  std::vector<uint8_t> payload;  // DATA only
};

class LoopbackFabric;

class SimNode {
 public:
  SimNode(LoopbackFabric& fabric, const Straps& straps, const CoreParams& params = CoreParams{});
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  CmmCore& core() { return core_; }
  const CmmCore& core() const { return core_; }
  uint16_t node_id() const { return core_.straps().node_id; }
  LoopbackFabric& fabric() { return fab_; }

  // Test view of the packet buffer (not reachable by software).
  const std::array<uint8_t, regs::kMaxMsgBytes>& rx_slot(uint32_t ep, uint32_t slot) const {
    return rx_[ep * core_.geometry().rxq_depth + slot];
  }
  uint64_t reg_accesses() const { return reg_accesses_; }
  // Inconsistencies between core and packet buffer (OK window access without
  // grant, DATA header without a payload, verdict without a pending payload).
  uint64_t buffer_errors() const { return buffer_errors_; }
  // Stall the egress (eg_ready low) to test back-pressure.
  void set_egress_ready(bool r) { eg_ready_ = r; }
  // Seeds the core's key generator: entropy_valid_i with this value at the
  // next edge (the platform does it after reset; docs/security.md 1.10).
  void seed(const Key& entropy) {
    entropy_next_ = true;
    entropy_ = entropy;
  }
  bool idle() const;

 private:
  friend class LoopbackFabric;
  friend class CoreRegIf;

  struct Req {
    bool valid = false, accepted = false, done = false;
    bool write = false;
    uint32_t addr = 0, wdata = 0;
    uint8_t part = 0, priv = 0;
    uint16_t pid = 0;
    const uint8_t* wbuf = nullptr;  // window write bytes
    uint8_t* rbuf = nullptr;        // window read bytes
    size_t len = 0;
    uint8_t status = 0;
    uint32_t rdata = 0;
  };
  struct InFlight {
    uint64_t due = 0;
    Packet pkt;
  };

  void pre(uint64_t now, PinsIn& in);  // before the clock edge: drive inputs, move packets
  void post();                          // after the edge: verdicts, register response
  void complete(const PinsOut& o);

  LoopbackFabric& fab_;
  CmmCore core_;
  bool eg_ready_ = true;
  bool entropy_next_ = false;
  Key entropy_{};
  Req req_{};
  std::deque<InFlight> ingress_;                       // from the fabric, in order
  std::deque<std::vector<uint8_t>> vd_pending_;        // ingress DATA payloads awaiting a verdict
  std::deque<std::vector<uint8_t>> tx_fifo_;           // doorbell snapshots awaiting egress
  std::vector<std::array<uint8_t, regs::CMM_TX_BUF_BYTES>> tx_stage_;  // per endpoint of the geometry
  std::vector<std::array<uint8_t, regs::kMaxMsgBytes>> rx_;             // per endpoint x rxq slot
  uint64_t reg_accesses_ = 0;
  uint64_t buffer_errors_ = 0;
};

class LoopbackFabric {
 public:
  // Returns false to drop the packet; may modify it (fault/attack tests).
  using Filter = std::function<bool(uint16_t from_node, Packet& pkt)>;

  explicit LoopbackFabric(uint32_t latency_cycles = 1);
  LoopbackFabric(const LoopbackFabric&) = delete;
  LoopbackFabric& operator=(const LoopbackFabric&) = delete;

  // params: e.g. a non-default geometry (CoreParams::geo).
  SimNode& add_node(uint16_t node_id, const std::array<uint8_t, regs::kNumPartitions>& quota,
                    const CoreParams& params = CoreParams{});
  SimNode* node(uint16_t node_id);

  void step();  // one clock edge of every core
  void run(uint64_t cycles);
  bool run_until_idle(uint64_t max_cycles = 100000);
  bool idle() const;
  uint64_t cycle() const { return cycle_; }

  void set_filter(Filter f) { filter_ = std::move(f); }
  // Puts a packet on dst_node's ingress as if it came over the fabric (attacker).
  void inject(uint16_t dst_node, const Packet& pkt);
  // Every packet that left an egress port (after the filter), in order.
  const std::vector<Packet>& trace() const { return trace_; }
  void set_trace(bool on) { tracing_ = on; }
  uint64_t undeliverable() const { return undeliverable_; }  // no node with that id
  uint64_t filtered() const { return filtered_; }

 private:
  friend class SimNode;
  void route(uint16_t from_node, Packet&& pkt);

  uint32_t latency_;
  uint64_t cycle_ = 0;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<PinsIn> ins_;
  Filter filter_;
  std::vector<Packet> trace_;
  bool tracing_ = false;
  uint64_t undeliverable_ = 0;
  uint64_t filtered_ = 0;
};

class CoreRegIf : public RegIf {
 public:
  static constexpr uint64_t kMaxAccessCycles = 100000;

  CoreRegIf(SimNode& node, uint8_t part, regs::Priv priv, uint16_t pid)
      : node_(node), part_(part), priv_(static_cast<uint8_t>(priv)), pid_(pid) {}

  [[nodiscard]] BusStatus read32(uint32_t addr, uint32_t& data) override;
  [[nodiscard]] BusStatus write32(uint32_t addr, uint32_t data) override;
  [[nodiscard]] BusStatus write_block(uint32_t addr, const uint8_t* data, size_t len) override;
  [[nodiscard]] BusStatus read_block(uint32_t addr, uint8_t* data, size_t len) override;

  SimNode& node() { return node_; }
  uint8_t part() const { return part_; }
  uint16_t pid() const { return pid_; }
  uint64_t accesses() const { return accesses_; }

 private:
  BusStatus access(bool write, uint32_t addr, uint32_t wdata, uint32_t* rdata, const uint8_t* wbuf, uint8_t* rbuf,
                   size_t len);

  SimNode& node_;
  const uint8_t part_;
  const uint8_t priv_;
  const uint16_t pid_;
  uint64_t accesses_ = 0;
};

}  // namespace cmm::sw::testing
