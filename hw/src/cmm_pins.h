// Pin-level interface of the CMM core (docs/core-interface.md). The C++ core,
// its SystemC signal shell and the Verilog core all have exactly these ports.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "cmm_regs.h"

namespace cmm {

using Key = std::array<uint32_t, regs::kKeyWords>;
// One beat of the MAC payload stream (docs/strong-mode.md 11.6): byte lane i.
using MacBeat = std::array<uint8_t, regs::kMacBeatBytes>;

// Table geometry, chosen at construction (DESIGN.md: a run-time parameter);
// defaults and ranges from hw/data/cmm.toml [geometry]. The register map
// follows it: window e exists for e < num_endpoints, and the address width
// grows past regs::kAddrBits when the endpoint pages need it.
struct Geometry {
  uint32_t num_endpoints = regs::kNumEndpoints;
  uint32_t num_partitions = regs::kNumPartitions;
  uint32_t rxq_depth = regs::kRxqDepth;
  uint32_t mgmtq_depth = regs::kMgmtqDepth;
  uint32_t errlog_depth = regs::kErrlogDepth;
  uint32_t egq_depth = regs::kEgqDepth;
  // "" when every value is in its range; else names the parameter, its value and the range.
  std::string check() const;
  // Byte address bits of the register port: kAddrBits, or more for large tables.
  uint32_t addr_bits() const;
  // First endpoint page: CMM_EP_BASE, moved up when the CST window passes it.
  uint32_t ep_base() const { return regs::ep_window_base(num_endpoints); }
  uint32_t ep_page(uint32_t ep) const { return ep_base() + ep * regs::CMM_EP_STRIDE; }
  bool is_default() const { return *this == Geometry{}; }
  bool operator==(const Geometry& o) const {
    return num_endpoints == o.num_endpoints && num_partitions == o.num_partitions && rxq_depth == o.rxq_depth &&
           mgmtq_depth == o.mgmtq_depth && errlog_depth == o.errlog_depth && egq_depth == o.egq_depth;
  }
  bool operator!=(const Geometry& o) const { return !(*this == o); }
};

// Construction parameters of the core (RTL: module parameters, not pins).
// strong = false is bit-exact with the core before strong mode (11.11).
struct CoreParams {
  bool strong = false;
  uint32_t mac_latency_cycles = regs::kMacLatencyCycles;    // L: cycles after the last beat
  uint32_t mac_bytes_per_cycle = regs::kMacBytesPerCycle;  // B: bytes per beat, 1..kMacBeatBytes
  // Reliable delivery on strong channels (docs/strong-mode.md 6): ACKs,
  // go-back-N retransmission from a window of tx_window DATA per send entry.
  // Needs strong; off: bit-exact with the strong core without it.
  bool reliable = false;
  uint32_t tx_window = regs::kTxWindow;                      // W: 1..kMaxTxWindow
  uint32_t retx_max = regs::kRetxMax;                        // R: rounds without progress, then RETX_EXHAUSTED
  uint32_t retx_timeout_cycles = regs::kRetxTimeoutCycles;  // T: first round's timeout, doubled per round
  // Rekey without drain (docs/strong-mode.md 7): two key slots per CKT entry,
  // header bit KS, CMD REKEY, forced rekey and per-key limit. Needs strong;
  // off: bit-exact with the strong core without it (the RTL has none).
  bool rekey = false;
  uint32_t rekey_soft_limit = regs::kRekeySoftLimit;  // DATA delivered under the newest key -> REKEY_DUE (0 = never)
  uint32_t rekey_hard_limit = regs::kRekeyHardLimit;  // DATA sent under one key -> KEY_EXHAUSTED (<= 2^15 - kMaxTxWindow)
  // Table geometry; CmmCore throws std::invalid_argument (Geometry::check's text) if out of range.
  Geometry geo{};
};

// One packet header as it crosses the fabric; field widths in hw/data/cmm.toml.
struct Header {
  uint8_t opcode = 0;
  uint16_t src_node = 0;
  uint8_t src_part = 0;
  uint16_t src_ep = 0;
  uint16_t dst_node = 0;
  uint8_t dst_part = 0;
  uint16_t dst_ep = 0;
  uint16_t len = 0;
  uint16_t tag = 0;
  uint8_t reason = 0;
  uint8_t aux = 0;
  uint8_t src_gen = 0;  // requests: sender entry's generation; responses: request's dst_gen
  uint8_t dst_gen = 0;  // requests: expected generation at the destination; responses: request's src_gen
  uint16_t seq = 0;     // DATA: sequence number; NACK SEQ_GAP: number of missing messages
  Key key{};  // MGMT: management payload; channel packets and responses: channel key (docs/security.md 1.3)

  bool operator==(const Header& o) const;
  bool operator!=(const Header& o) const { return !(*this == o); }
  // Packed form, field 0 at bit 0 (same layout as cmm_pkg::hdr_t).
  using Packed = std::array<uint32_t, (regs::kHdrBits + 31) / 32>;
  Packed pack() const;
  static Header unpack(const Packed& p);
  // Masks every field to its declared width (what a wire would carry).
  Header masked() const;
  std::string str() const;  // without key bits: safe for logs
};

// Inputs sampled at the rising clock edge.
struct PinsIn {
  // Register port request stream (node bus -> core).
  bool reg_req_valid = false;
  bool reg_req_write = false;
  uint32_t reg_req_addr = 0;  // byte address, kAddrBits wide
  uint32_t reg_req_wdata = 0;
  uint8_t reg_req_part = 0;   // requester ID, stamped by hardware
  uint8_t reg_req_priv = 0;   // regs::Priv
  uint16_t reg_req_pid = 0;
  // Requester is the board-management port (FIRMWARE, docs/strong-mode.md 11.3),
  // stamped by the node bus; ignored by cores without strong mode.
  bool reg_req_fw = false;
  // MAC payload streams (strong mode, 11.6): packet buffer -> MAC engines.
  bool mac_tx_valid = false;
  MacBeat mac_tx_data{};
  bool mac_rx_valid = false;
  MacBeat mac_rx_data{};
  // Ingress header stream (fabric -> core).
  bool ing_valid = false;
  Header ing_hdr{};
  // Egress header stream back-pressure (fabric -> core).
  bool eg_ready = false;
  // Free-running cycle count of the CMM clock from the platform's timebase
  // (pin cycle_i); used only for the reject-rate alarm windows.
  uint32_t cycle = 0;
  // Key generator seed (pins entropy_valid_i, entropy_i; docs/security.md 1.10):
  // a TRNG/PUF value delivered after reset. word 0 = bits 31:0.
  bool entropy_valid = false;
  Key entropy{};
  // Fault-injection port (DV only, tied to 0 in silicon; docs/security.md 1.11):
  // invert stored bit fault_bit of entry fault_entry of table fault_table
  // (0 CST, 1 CKT) after this cycle's update.
  bool fault_valid = false;
  uint8_t fault_table = 0;
  uint16_t fault_entry = 0;
  uint8_t fault_bit = 0;
  // Counter preload (DV only, tied to 0 in silicon; pin dv_preload_i): after
  // this cycle's update every statistic counter is stored kDvPreloadMargin
  // below its cap and every sequence number kDvPreloadMargin back
  // (CmmCore::dv_preload_counters), so lockstep runs reach saturation and
  // wrap in a few cycles.
  bool dv_preload = false;
};

// Outputs: all registered (a function of core state only).
struct PinsOut {
  bool reg_req_ready = false;
  bool reg_rsp_valid = false;
  uint32_t reg_rsp_rdata = 0;
  uint8_t reg_rsp_status = 0;  // regs::Rsp
  bool reg_rsp_buf = false;    // payload window access granted
  uint8_t reg_rsp_buf_slot = 0;  // RX_BUF: slot of the head message
  bool ing_ready = false;
  bool eg_valid = false;
  uint8_t eg_cls = 0;  // 0 request class, 1 response class (ACK/NACK)
  Header eg_hdr{};
  bool vd_valid = false;  // one verdict per ingress DATA header, in order
  bool vd_accept = false;
  uint16_t vd_ep = 0;
  uint8_t vd_slot = 0;
  uint8_t vd_reason = 0;  // regs::Reason
  uint32_t irq = 0;       // bit p: interrupt line of partition p
  // Strong mode (11.6): the engines take a beat; payload of a strong CONNECT on eg_*.
  bool mac_tx_ready = false;
  bool mac_rx_ready = false;
  Key eg_wrap{};
  // Reliable delivery (strong-mode.md 6): the DATA on eg_* is a retransmission;
  // its payload comes from the core's window (CmmCore::eg_retx_payload), not
  // from the doorbell snapshots. Always 0 without reliable delivery.
  bool eg_retx = false;

  bool operator==(const PinsOut& o) const;
  bool operator!=(const PinsOut& o) const { return !(*this == o); }
};

// Width of the quota strap pin cfg_quota_i: partition p at bits
// [p*CMM_PART_INFO_QUOTA_BITS +: CMM_PART_INFO_QUOTA_BITS] (wider than 64 bits).
inline constexpr uint32_t kQuotaPinBits = regs::kNumPartitions * regs::CMM_PART_INFO_QUOTA_BITS;

// Strap pins: constant after reset.
struct Straps {
  uint16_t node_id = 0;
  // Endpoints per partition; entries >= the geometry's num_partitions are unused.
  std::array<uint32_t, regs::kMaxNumPartitions> quota{};  // 0..num_endpoints
};

}  // namespace cmm
