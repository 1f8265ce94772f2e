// SystemC lockstep: the SystemC signal shell of the C++ core
// (cmm::tlmshell::CmmCoreSignalShell) and the Verilated core (verilator --sc,
// Vcmm_core_sc) sit on one sc_clock and the same input signals, driven by the
// seeded stimulus of rtl/dv/stimulus; every output port of both is compared in
// every cycle. One elaboration per process: ctest runs each TEST alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <systemc>

#include "Vcmm_core_sc.h"
#include "cmm_tlm/signal_shell.h"
#include "cosim.h"
#include "sc_test_util.h"
#include "stimulus.h"

namespace cmm::dv {
namespace {

using namespace sc_core;
using HdrBv = sc_dt::sc_bv<regs::kHdrBits>;
using tlmshell::CmmCoreSignalShell;

// The output signals of one model.
struct Outs {
  explicit Outs(const std::string& p)
      : reg_req_ready((p + "_reg_req_ready").c_str()), reg_rsp_valid((p + "_reg_rsp_valid").c_str()),
        reg_rsp_buf((p + "_reg_rsp_buf").c_str()), ing_ready((p + "_ing_ready").c_str()),
        eg_valid((p + "_eg_valid").c_str()), eg_cls((p + "_eg_cls").c_str()), vd_valid((p + "_vd_valid").c_str()),
        vd_accept((p + "_vd_accept").c_str()), reg_rsp_rdata((p + "_reg_rsp_rdata").c_str()),
        reg_rsp_status((p + "_reg_rsp_status").c_str()), reg_rsp_buf_slot((p + "_reg_rsp_buf_slot").c_str()),
        vd_ep((p + "_vd_ep").c_str()), vd_slot((p + "_vd_slot").c_str()), vd_reason((p + "_vd_reason").c_str()),
        irq((p + "_irq").c_str()), eg_hdr((p + "_eg_hdr").c_str()), mac_tx_ready((p + "_mac_tx_ready").c_str()),
        mac_rx_ready((p + "_mac_rx_ready").c_str()), eg_wrap((p + "_eg_wrap").c_str()) {}
  sc_signal<bool> reg_req_ready, reg_rsp_valid, reg_rsp_buf, ing_ready, eg_valid, eg_cls, vd_valid, vd_accept;
  sc_signal<uint32_t> reg_rsp_rdata, reg_rsp_status, reg_rsp_buf_slot, vd_ep, vd_slot, vd_reason, irq;
  sc_signal<HdrBv> eg_hdr;
  sc_signal<bool> mac_tx_ready, mac_rx_ready;  // strong-mode pins (idle: both cores without strong mode)
  sc_signal<sc_dt::sc_bv<regs::kKeyBits>> eg_wrap;

  PinsOut read() const {
    PinsOut o;
    o.reg_req_ready = reg_req_ready.read();
    o.reg_rsp_valid = reg_rsp_valid.read();
    o.reg_rsp_rdata = reg_rsp_rdata.read();
    o.reg_rsp_status = static_cast<uint8_t>(reg_rsp_status.read());
    o.reg_rsp_buf = reg_rsp_buf.read();
    o.reg_rsp_buf_slot = static_cast<uint8_t>(reg_rsp_buf_slot.read());
    o.ing_ready = ing_ready.read();
    o.eg_valid = eg_valid.read();
    o.eg_cls = eg_cls.read() ? 1 : 0;
    o.eg_hdr = CmmCoreSignalShell::from_bv(eg_hdr.read());
    o.vd_valid = vd_valid.read();
    o.vd_accept = vd_accept.read();
    o.vd_ep = static_cast<uint8_t>(vd_ep.read());
    o.vd_slot = static_cast<uint8_t>(vd_slot.read());
    o.vd_reason = static_cast<uint8_t>(vd_reason.read());
    o.irq = irq.read();
    o.mac_tx_ready = mac_tx_ready.read();
    o.mac_rx_ready = mac_rx_ready.read();
    for (uint32_t w = 0; w < regs::kKeyWords; ++w) o.eg_wrap[w] = eg_wrap.read().get_word(static_cast<int>(w));
    return o;
  }
};

// Binds the ports of either model (same names, same types) to the shared
// inputs and to its own outputs.
template <typename M, typename Tb>
void bind(M& m, Tb& tb, Outs& o) {
  m.clk(tb.clk);
  m.rst_ni(tb.rst_ni);
  m.cfg_node_id_i(tb.cfg_node_id);
  m.cfg_quota_i(tb.cfg_quota);
  m.reg_req_valid_i(tb.reg_req_valid);
  m.reg_req_write_i(tb.reg_req_write);
  m.reg_req_addr_i(tb.reg_req_addr);
  m.reg_req_wdata_i(tb.reg_req_wdata);
  m.reg_req_part_i(tb.reg_req_part);
  m.reg_req_priv_i(tb.reg_req_priv);
  m.reg_req_pid_i(tb.reg_req_pid);
  m.ing_valid_i(tb.ing_valid);
  m.ing_hdr_i(tb.ing_hdr);
  m.eg_ready_i(tb.eg_ready);
  m.cycle_i(tb.cycle);
  m.entropy_valid_i(tb.entropy_valid);
  m.entropy_i(tb.entropy);
  m.fault_valid_i(tb.fault_valid);
  m.fault_table_i(tb.fault_table);
  m.fault_entry_i(tb.fault_entry);
  m.fault_bit_i(tb.fault_bit);
  m.dv_preload_i(tb.dv_preload);
  m.reg_req_fw_i(tb.reg_req_fw);
  m.mac_tx_valid_i(tb.mac_tx_valid);
  m.mac_tx_data_i(tb.mac_tx_data);
  m.mac_rx_valid_i(tb.mac_rx_valid);
  m.mac_rx_data_i(tb.mac_rx_data);
  m.mac_tx_ready_o(o.mac_tx_ready);
  m.mac_rx_ready_o(o.mac_rx_ready);
  m.eg_wrap_o(o.eg_wrap);
  m.reg_req_ready_o(o.reg_req_ready);
  m.reg_rsp_valid_o(o.reg_rsp_valid);
  m.reg_rsp_rdata_o(o.reg_rsp_rdata);
  m.reg_rsp_status_o(o.reg_rsp_status);
  m.reg_rsp_buf_o(o.reg_rsp_buf);
  m.reg_rsp_buf_slot_o(o.reg_rsp_buf_slot);
  m.ing_ready_o(o.ing_ready);
  m.eg_valid_o(o.eg_valid);
  m.eg_cls_o(o.eg_cls);
  m.eg_hdr_o(o.eg_hdr);
  m.vd_valid_o(o.vd_valid);
  m.vd_accept_o(o.vd_accept);
  m.vd_ep_o(o.vd_ep);
  m.vd_slot_o(o.vd_slot);
  m.vd_reason_o(o.vd_reason);
  m.irq_o(o.irq);
}

class Tb : public sc_module {
 public:
  SC_HAS_PROCESS(Tb);
  Tb(sc_module_name n, uint64_t seed, uint64_t cycles)
      : sc_module(n), seed_(seed), cycles_(cycles), straps_(straps_for_seed(seed)) {
    sc_dt::sc_bv<kQuotaPinBits> q;
    constexpr uint32_t w = regs::CMM_PART_INFO_QUOTA_BITS;
    for (uint32_t p = 0; p < regs::kNumPartitions; ++p) q.range(p * w + w - 1, p * w) = straps_.quota[p];
    cfg_node_id.write(straps_.node_id);
    cfg_quota.write(q);
    bind(ref, *this, ref_out);
    bind(rtl, *this, rtl_out);
    SC_THREAD(run);
  }

  sc_clock clk{"clk", sc_time(1, SC_NS), 0.5, sc_time(1, SC_NS), true};  // 1 GHz, rises at 1 ns
  sc_signal<bool> rst_ni{"rst_ni", false};
  sc_signal<uint32_t> cfg_node_id{"cfg_node_id"};
  sc_signal<sc_dt::sc_bv<kQuotaPinBits>> cfg_quota{"cfg_quota"};
  sc_signal<bool> reg_req_valid{"reg_req_valid"}, reg_req_write{"reg_req_write"}, reg_req_priv{"reg_req_priv"};
  sc_signal<uint32_t> reg_req_addr{"reg_req_addr"}, reg_req_wdata{"reg_req_wdata"}, reg_req_part{"reg_req_part"},
      reg_req_pid{"reg_req_pid"};
  sc_signal<bool> ing_valid{"ing_valid"}, eg_ready{"eg_ready"};
  sc_signal<uint32_t> cycle{"cycle"};
  sc_signal<HdrBv> ing_hdr{"ing_hdr"};
  sc_signal<bool> entropy_valid{"entropy_valid"}, fault_valid{"fault_valid"}, fault_table{"fault_table"};
  sc_signal<sc_dt::sc_bv<regs::kKeyBits>> entropy{"entropy"};
  sc_signal<uint32_t> fault_entry{"fault_entry"}, fault_bit{"fault_bit"};
  sc_signal<bool> dv_preload{"dv_preload"};
  sc_signal<bool> reg_req_fw{"reg_req_fw"}, mac_tx_valid{"mac_tx_valid"}, mac_rx_valid{"mac_rx_valid"};  // held 0
  sc_signal<sc_dt::sc_bv<8 * regs::kMacBeatBytes>> mac_tx_data{"mac_tx_data"}, mac_rx_data{"mac_rx_data"};
  Outs ref_out{"ref"}, rtl_out{"rtl"};
  CmmCoreSignalShell ref{"ref"};
  Vcmm_core_sc rtl{"rtl"};

  // Results.
  bool done = false, pass = false;
  uint64_t compared = 0, reg_fire = 0, ing_fire = 0, eg_fire = 0, verdicts = 0, resets = 0;
  std::string report;

 private:
  void drive(const PinsIn& in, bool rst_n) {
    rst_ni.write(rst_n);
    reg_req_valid.write(in.reg_req_valid);
    reg_req_write.write(in.reg_req_write);
    reg_req_addr.write(in.reg_req_addr & ((1u << regs::kAddrBits) - 1u));
    reg_req_wdata.write(in.reg_req_wdata);
    reg_req_part.write(in.reg_req_part & ((1u << regs::kPartIdBits) - 1u));
    reg_req_priv.write(in.reg_req_priv != 0);
    reg_req_pid.write(in.reg_req_pid);
    ing_valid.write(in.ing_valid);
    ing_hdr.write(CmmCoreSignalShell::to_bv(in.ing_hdr));
    eg_ready.write(in.eg_ready);
    cycle.write(in.cycle);
    entropy_valid.write(in.entropy_valid);
    sc_dt::sc_bv<regs::kKeyBits> k;
    for (uint32_t w = 0; w < regs::kKeyWords; ++w) k.set_word(static_cast<int>(w), in.entropy[w]);
    entropy.write(k);
    fault_valid.write(in.fault_valid);
    fault_table.write((in.fault_table & 1u) != 0);
    fault_entry.write(in.fault_entry);
    fault_bit.write(in.fault_bit);
    dv_preload.write(in.dv_preload);
  }

  // Both models' outputs, sampled at the falling edge (settled after the rising one).
  bool same(uint64_t cycle) {
    std::string port, vr, vd, all;
    ++compared;
    if (!first_output_diff(ref_out.read(), rtl_out.read(), port, vr, vd, all)) return true;
    std::ostringstream o;
    o << "SC LOCKSTEP MISMATCH (seed " << seed_ << ") at cycle " << cycle << ", first port " << port
      << ": signal shell " << vr << ", Verilated --sc core " << vd << "; all differing ports: " << all
      << "; inputs of the edge: rst_n=" << last_rst_n_ << " reg_req_valid=" << last_in_.reg_req_valid
      << " write=" << last_in_.reg_req_write << " addr=0x" << std::hex << last_in_.reg_req_addr << " wdata=0x"
      << last_in_.reg_req_wdata << std::dec << " part=" << unsigned(last_in_.reg_req_part)
      << " priv=" << unsigned(last_in_.reg_req_priv) << " pid=" << last_in_.reg_req_pid
      << " cycle_i=" << last_in_.cycle << " ing_valid=" << last_in_.ing_valid << " ing_hdr={"
      << last_in_.ing_hdr.str() << "}";
    report = o.str();
    return false;
  }

  void run() {
    Stimulus stim(seed_, straps_);
    PinsIn in{};
    drive(in, false);  // power-up: two reset edges
    wait(clk.negedge_event());
    wait(clk.negedge_event());
    uint64_t cycle = 2;
    if (!same(cycle)) return finish();
    for (uint64_t n = 0; n < cycles_; ++n) {
      const PinsOut before = ref_out.read();
      bool rst_n = true;
      stim.next(before, in, rst_n);
      drive(in, rst_n);
      last_in_ = in;
      last_rst_n_ = rst_n;
      wait(clk.negedge_event());  // the rising edge in between applied the inputs
      ++cycle;
      if (!same(cycle)) return finish();
      const PinsOut after = ref_out.read();
      stim.observe(in, rst_n, before, after);
      reg_fire += rst_n && in.reg_req_valid && before.reg_req_ready;
      ing_fire += rst_n && in.ing_valid && before.ing_ready;
      eg_fire += rst_n && before.eg_valid && in.eg_ready;
      verdicts += after.vd_valid;
      resets += !rst_n;
    }
    pass = true;
    std::ostringstream o;
    o << "SC cosim PASS seed " << seed_ << " (node " << unsigned(straps_.node_id) << "): " << compared
      << " cycles matched, every output port every cycle; " << reg_fire << " register accesses, " << ing_fire
      << " ingress headers, " << eg_fire << " egress headers, " << verdicts << " verdicts, " << resets
      << " reset cycles";
    report = o.str();
    finish();
  }
  void finish() {
    done = true;
    sc_stop();
  }

  uint64_t seed_, cycles_;
  Straps straps_;
  PinsIn last_in_{};  // inputs of the last edge (mismatch report)
  bool last_rst_n_ = true;
};

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

void run_seed(uint64_t seed) {
  CMM_REQUIRE_FRESH_KERNEL();
  const uint64_t cycles = env_u64("CMM_SC_COSIM_CYCLES", 30000);
  Tb tb("tb", env_u64("CMM_SC_COSIM_SEED", seed), cycles);
  sc_start();
  ASSERT_TRUE(tb.done) << "simulation ended early";
  std::printf("%s\n", tb.report.c_str());
  ASSERT_TRUE(tb.pass) << tb.report;
  EXPECT_EQ(tb.compared, cycles + 1);
  EXPECT_GT(tb.reg_fire, cycles / 8);
  EXPECT_GT(tb.ing_fire, cycles / 20);
  EXPECT_GT(tb.verdicts, 0u);
}

TEST(ScCosim, ShellVsVerilatedScSeed1) { run_seed(1); }
TEST(ScCosim, ShellVsVerilatedScSeed2) { run_seed(2); }

}  // namespace
}  // namespace cmm::dv

CMM_SC_TEST_MAIN
