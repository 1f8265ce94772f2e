// Pin-level SystemC shell of the CMM core: exactly the ports of the Verilog
// core (Verilator --sc types: 1 bit bool, 2..32 bits uint32_t, 33..64 bits
// uint64_t, wider sc_bv<N>). See docs/core-interface.md for the pins.
#pragma once
#include <cstdint>

#include <systemc>

#include "cmm_core.h"

namespace cmm::tlmshell {

// An input port that may stay unbound: it then reads as 0 (the key generator
// seed and the DV fault-injection port, which silicon ties to 0).
template <typename T>
using OptIn = sc_core::sc_port<sc_core::sc_signal_in_if<T>, 1, sc_core::SC_ZERO_OR_MORE_BOUND>;
// An output port that may stay unbound (the strong-mode outputs, which the RTL
// of this session does not have yet).
template <typename T>
using OptOut = sc_core::sc_port<sc_core::sc_signal_inout_if<T>, 1, sc_core::SC_ZERO_OR_MORE_BOUND>;

class CmmCoreSignalShell : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CmmCoreSignalShell);
  // params: the core's construction parameters (default: strong mode off,
  // as the RTL; docs/strong-mode.md 11.11).
  explicit CmmCoreSignalShell(sc_core::sc_module_name name, const CoreParams& params = CoreParams{});

  sc_core::sc_in<bool> clk;
  sc_core::sc_in<bool> rst_ni;
  sc_core::sc_in<uint32_t> cfg_node_id_i;  // [15:0]
  sc_core::sc_in<sc_dt::sc_bv<kQuotaPinBits>> cfg_quota_i;  // partition p at bits [p*17 +: 17]
  sc_core::sc_in<bool> reg_req_valid_i;
  sc_core::sc_out<bool> reg_req_ready_o;
  sc_core::sc_in<bool> reg_req_write_i;
  sc_core::sc_in<uint32_t> reg_req_addr_i;   // [19:0]
  sc_core::sc_in<uint32_t> reg_req_wdata_i;  // [31:0]
  sc_core::sc_in<uint32_t> reg_req_part_i;   // [3:0]
  sc_core::sc_in<bool> reg_req_priv_i;
  sc_core::sc_in<uint32_t> reg_req_pid_i;  // [15:0]
  sc_core::sc_out<bool> reg_rsp_valid_o;
  sc_core::sc_out<uint32_t> reg_rsp_rdata_o;   // [31:0]
  sc_core::sc_out<uint32_t> reg_rsp_status_o;  // [1:0]
  sc_core::sc_out<bool> reg_rsp_buf_o;
  sc_core::sc_out<uint32_t> reg_rsp_buf_slot_o;  // [3:0]
  sc_core::sc_in<bool> ing_valid_i;
  sc_core::sc_out<bool> ing_ready_o;
  sc_core::sc_in<sc_dt::sc_bv<regs::kHdrBits>> ing_hdr_i;  // [kHdrBits-1:0]
  sc_core::sc_out<bool> eg_valid_o;
  sc_core::sc_in<bool> eg_ready_i;
  sc_core::sc_in<uint32_t> cycle_i;  // [31:0] free-running cycle count of the CMM clock
  OptIn<bool> entropy_valid_i;                      // key generator seed (docs/security.md 1.10)
  OptIn<sc_dt::sc_bv<regs::kKeyBits>> entropy_i;    // [127:0], word 0 = bits 31:0
  OptIn<bool> fault_valid_i;                        // fault injection (docs/security.md 1.11)
  OptIn<bool> fault_table_i;                        // 0 CST, 1 CKT
  OptIn<uint32_t> fault_entry_i;                    // [EP_ID_BITS-1:0]
  OptIn<uint32_t> fault_bit_i;                      // [7:0]
  OptIn<bool> dv_preload_i;                         // counter preload (DV only; PinsIn::dv_preload)
  sc_core::sc_out<bool> eg_cls_o;
  sc_core::sc_out<sc_dt::sc_bv<regs::kHdrBits>> eg_hdr_o;  // [kHdrBits-1:0]
  sc_core::sc_out<bool> vd_valid_o;
  sc_core::sc_out<bool> vd_accept_o;
  sc_core::sc_out<uint32_t> vd_ep_o;      // [7:0]
  sc_core::sc_out<uint32_t> vd_slot_o;    // [3:0]
  sc_core::sc_out<uint32_t> vd_reason_o;  // [7:0]
  sc_core::sc_out<uint32_t> irq_o;        // [7:0]
  // Strong mode (docs/strong-mode.md 11.6); unbound inputs read 0.
  OptIn<bool> reg_req_fw_i;
  OptIn<bool> mac_tx_valid_i;
  OptIn<sc_dt::sc_bv<8 * regs::kMacBeatBytes>> mac_tx_data_i;  // byte lane i = bits 8i+7:8i
  OptIn<bool> mac_rx_valid_i;
  OptIn<sc_dt::sc_bv<8 * regs::kMacBeatBytes>> mac_rx_data_i;
  OptOut<bool> mac_tx_ready_o;
  OptOut<bool> mac_rx_ready_o;
  OptOut<sc_dt::sc_bv<regs::kKeyBits>> eg_wrap_o;  // [127:0], word 0 = bits 31:0

  const CmmCore& core() const { return core_; }
  void set_observer(CoreObserver* o) {
    obs_ = o;
    core_.set_observer(o);
  }

  // Packed-header conversions (field 0 at bit 0).
  static sc_dt::sc_bv<regs::kHdrBits> to_bv(const Header& h);
  static Header from_bv(const sc_dt::sc_bv<regs::kHdrBits>& v);

 private:
  void on_clk();
  void write_outputs();
  Straps read_straps() const;

  CoreParams params_;
  CmmCore core_;
  CoreObserver* obs_ = nullptr;
  bool initialized_ = false;
};

}  // namespace cmm::tlmshell
