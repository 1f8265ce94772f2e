// The pin-level signal shell gives exactly the outputs of a CmmCore stepped
// directly with the same stimulus, cycle by cycle, including a mid-run reset.
#include <functional>
#include <random>

#include "cmm_tlm/signal_shell.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::regs;
using namespace sc_core;

namespace {

// The quota strap pins with every partition's quota q.
sc_dt::sc_bv<kQuotaPinBits> quota_pins(uint32_t q) {
  sc_dt::sc_bv<kQuotaPinBits> v;
  constexpr uint32_t w = CMM_PART_INFO_QUOTA_BITS;
  for (uint32_t p = 0; p < kNumPartitions; ++p) v.range(p * w + w - 1, p * w) = q;
  return v;
}

struct Stim {
  std::mt19937 rng{12345};
  uint32_t cycle_ = 0;
  uint32_t r(uint32_t n) { return static_cast<uint32_t>(rng() % n); }
  bool p(uint32_t pct) { return r(100) < pct; }

  uint32_t reg_addr() {
    const uint32_t ep = r(4);
    switch (r(14)) {
      case 0: return CMM_ID_OFFSET;
      case 1: return CMM_CMD_OFFSET;
      case 2: return CMM_CMD_STATUS_OFFSET;
      case 3: return CMM_IRQ_ENABLE_OFFSET;
      case 4: return CMM_KEY_OFFSET + 4 * r(4);
      case 5: return CMM_MGMT_DST_OFFSET;
      case 6: return CMM_CST_BASE + ep * CMM_CST_STRIDE + 4 * r(4);
      case 7: return CMM_EP_BASE + ep * CMM_EP_STRIDE + CMM_EP_DOORBELL_OFFSET;
      case 8: return CMM_EP_BASE + ep * CMM_EP_STRIDE + CMM_EP_RX_POP_OFFSET;
      case 9: return CMM_EP_BASE + ep * CMM_EP_STRIDE + CMM_TX_BUF_OFFSET + 4 * r(8);
      case 10: return CMM_EP_BASE + ep * CMM_EP_STRIDE + CMM_RX_BUF_OFFSET;
      case 11: return CMM_EP_BASE + ep * CMM_EP_STRIDE + 4 * r(6);
      case 12: return CMM_IRQ_STATUS_OFFSET;
      default: return r(1u << kAddrBits);
    }
  }
  uint32_t wdata(uint32_t addr) {
    if (addr == CMM_CMD_OFFSET) {
      static const Cmd ops[] = {Cmd::kAlloc, Cmd::kAuthorize, Cmd::kConnect, Cmd::kClose, Cmd::kFree,
                                Cmd::kMgmtSend, Cmd::kSetKey, Cmd::kMgmtPop, Cmd::kErrlogPop, Cmd::kNop};
      return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(ops[r(10)])), CMM_CMD_EP, r(4));
    }
    if (addr == CMM_IRQ_ENABLE_OFFSET) return 0x1F;
    if (addr == CMM_MGMT_DST_OFFSET) return 3u | (r(2) << 8);
    if (addr >= CMM_CST_BASE && addr < CMM_EP_BASE) return r(2) | (r(3) << 8) | (r(4) << 16) | (r(2) << 0);
    if (p(50)) return r(64) | (r(4) << 16);
    return static_cast<uint32_t>(rng());
  }
  PinsIn next() {
    PinsIn in;
    in.reg_req_valid = p(50);
    in.reg_req_write = p(60);
    in.reg_req_addr = reg_addr();
    in.reg_req_wdata = wdata(in.reg_req_addr);
    in.reg_req_part = static_cast<uint8_t>(p(90) ? r(2) : r(16));
    in.reg_req_priv = static_cast<uint8_t>(p(70) ? 1 : 0);
    in.reg_req_pid = static_cast<uint16_t>(p(80) ? r(3) : rng());
    in.ing_valid = p(30);
    Header& h = in.ing_hdr;
    h.opcode = static_cast<uint8_t>(r(16));
    h.src_node = static_cast<uint8_t>(r(3));
    h.src_part = static_cast<uint8_t>(r(2));
    h.src_ep = static_cast<uint8_t>(r(4));
    h.dst_node = static_cast<uint8_t>(p(85) ? 3 : r(256));
    h.dst_part = static_cast<uint8_t>(r(2));
    h.dst_ep = static_cast<uint8_t>(p(90) ? r(4) : r(256));
    h.len = static_cast<uint16_t>(p(90) ? r(64) : rng());
    h.tag = static_cast<uint16_t>(rng());
    h.reason = static_cast<uint8_t>(r(28));
    h.aux = static_cast<uint8_t>(r(8));
    h.src_gen = static_cast<uint8_t>(p(80) ? r(2) : r(256));
    h.dst_gen = static_cast<uint8_t>(p(80) ? r(2) : r(256));
    h.seq = static_cast<uint16_t>(p(80) ? r(4) : rng());
    for (auto& k : h.key) k = p(70) ? 0x1234u : static_cast<uint32_t>(rng());
    in.eg_ready = p(70);
    cycle_ += 1 + (p(10) ? r(5000) : 0);  // free-running, with jumps (skipped idle time)
    in.cycle = cycle_;
    return in;
  }
};

class Tb : public sc_module {
 public:
  SC_HAS_PROCESS(Tb);
  sc_clock clk{"clk", sc_time(1, SC_NS), 0.5, sc_time(1, SC_NS), true};
  sc_signal<bool> rst_ni{"rst_ni", false};
  sc_signal<uint32_t> cfg_node_id{"cfg_node_id", 3};
  sc_signal<sc_dt::sc_bv<kQuotaPinBits>> cfg_quota{"cfg_quota", quota_pins(2)};
  sc_signal<bool> reg_req_valid, reg_req_ready, reg_req_write, reg_req_priv, reg_rsp_valid, reg_rsp_buf;
  sc_signal<uint32_t> reg_req_addr, reg_req_wdata, reg_req_part, reg_req_pid, reg_rsp_rdata, reg_rsp_status,
      reg_rsp_buf_slot;
  sc_signal<bool> ing_valid, ing_ready, eg_valid, eg_ready, eg_cls, vd_valid, vd_accept;
  sc_signal<sc_dt::sc_bv<kHdrBits>> ing_hdr, eg_hdr;
  sc_signal<uint32_t> vd_ep, vd_slot, vd_reason, irq, cycle;
  sc_signal<bool> fault_valid, fault_table;
  sc_signal<uint32_t> fault_entry, fault_bit;
  CmmCoreSignalShell dut{"dut"};

  uint32_t cycles_compared = 0, mismatches = 0, eg_seen = 0, vd_seen = 0, rsp_seen = 0;
  static constexpr uint32_t kCycles = 6000, kResetAt = 3000;
  // Scripted runs: `script` fills cycle k's inputs instead of the random
  // stimulus (idle pins otherwise; no mid-run reset); `probe` sees both cores
  // after each compared cycle.
  std::function<void(uint32_t k, PinsIn& in)> script;
  std::function<void(uint32_t k, const CmmCore& shell, const CmmCore& ref)> probe;
  uint32_t script_cycles = 0;

  explicit Tb(sc_module_name n) : sc_module(n) {
    dut.clk(clk);
    dut.rst_ni(rst_ni);
    dut.cfg_node_id_i(cfg_node_id);
    dut.cfg_quota_i(cfg_quota);
    dut.reg_req_valid_i(reg_req_valid);
    dut.reg_req_ready_o(reg_req_ready);
    dut.reg_req_write_i(reg_req_write);
    dut.reg_req_addr_i(reg_req_addr);
    dut.reg_req_wdata_i(reg_req_wdata);
    dut.reg_req_part_i(reg_req_part);
    dut.reg_req_priv_i(reg_req_priv);
    dut.reg_req_pid_i(reg_req_pid);
    dut.reg_rsp_valid_o(reg_rsp_valid);
    dut.reg_rsp_rdata_o(reg_rsp_rdata);
    dut.reg_rsp_status_o(reg_rsp_status);
    dut.reg_rsp_buf_o(reg_rsp_buf);
    dut.reg_rsp_buf_slot_o(reg_rsp_buf_slot);
    dut.ing_valid_i(ing_valid);
    dut.ing_ready_o(ing_ready);
    dut.ing_hdr_i(ing_hdr);
    dut.eg_valid_o(eg_valid);
    dut.eg_ready_i(eg_ready);
    dut.cycle_i(cycle);
    dut.eg_cls_o(eg_cls);
    dut.eg_hdr_o(eg_hdr);
    dut.vd_valid_o(vd_valid);
    dut.vd_accept_o(vd_accept);
    dut.vd_ep_o(vd_ep);
    dut.vd_slot_o(vd_slot);
    dut.vd_reason_o(vd_reason);
    dut.irq_o(irq);
    dut.fault_valid_i(fault_valid);
    dut.fault_table_i(fault_table);
    dut.fault_entry_i(fault_entry);
    dut.fault_bit_i(fault_bit);
    SC_THREAD(run);
  }

  PinsOut shell_out() const {
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
    return o;
  }

  void drive(const PinsIn& in) {
    reg_req_valid.write(in.reg_req_valid);
    reg_req_write.write(in.reg_req_write);
    reg_req_addr.write(in.reg_req_addr);
    reg_req_wdata.write(in.reg_req_wdata);
    reg_req_part.write(in.reg_req_part);
    reg_req_priv.write(in.reg_req_priv != 0);
    reg_req_pid.write(in.reg_req_pid);
    ing_valid.write(in.ing_valid);
    ing_hdr.write(CmmCoreSignalShell::to_bv(in.ing_hdr));
    eg_ready.write(in.eg_ready);
    cycle.write(in.cycle);
    fault_valid.write(in.fault_valid);
    fault_table.write(in.fault_table != 0);
    fault_entry.write(in.fault_entry);
    fault_bit.write(in.fault_bit);
  }

  void run() {
    Straps st;
    st.node_id = 3;
    st.quota.fill(2);
    CmmCore ref(st);
    Stim stim;
    const uint32_t n = script ? script_cycles : kCycles;
    for (uint32_t k = 0; k < n; ++k) {
      wait(clk.negedge_event());
      const PinsOut so = shell_out();
      const PinsOut& ro = ref.out();
      ++cycles_compared;
      const bool same = so == ro && so.eg_hdr == ro.eg_hdr && so.eg_cls == ro.eg_cls &&
                        dut.core().cycle() == ref.cycle();
      if (!same) {
        if (mismatches < 5) ADD_FAILURE() << "cycle " << k << ": shell and core outputs differ";
        ++mismatches;
      }
      eg_seen += ro.eg_valid;
      vd_seen += ro.vd_valid;
      rsp_seen += ro.reg_rsp_valid;
      if (probe) probe(k, dut.core(), ref);
      const bool reset = k == 0 || (!script && k == kResetAt);
      rst_ni.write(!reset);
      PinsIn in;
      if (script) {
        in.eg_ready = true;
        in.cycle = k;
        script(k, in);
      } else {
        in = stim.next();
      }
      drive(in);
      if (reset) ref = CmmCore(st);
      else ref.step(in);
    }
  }
};

}  // namespace

TEST(CmmCoreSignalShell, LockstepWithCoreCycleByCycle) {
  CMM_REQUIRE_FRESH_KERNEL();
  Tb tb("tb");
  sc_start(sc_time(Tb::kCycles + 3, SC_NS));
  EXPECT_EQ(tb.cycles_compared, Tb::kCycles);
  EXPECT_EQ(tb.mismatches, 0u);
  // The stimulus exercised the interesting outputs.
  EXPECT_GT(tb.eg_seen, 50u);
  EXPECT_GT(tb.vd_seen, 10u);
  EXPECT_GT(tb.rsp_seen, 1000u);
}

// fault_entry_i carries the core's 16-bit entry index: an injection aimed
// beyond the table (entry 0x100) is dropped by the core, and must not be
// folded onto entry 0 by the shell (it once kept only 8 bits). Control: the
// same injection at entry 0 does fail that entry closed.
TEST(CmmCoreSignalShell, FaultEntryAboveTheTableIsNotFoldedOntoEntryZero) {
  CMM_REQUIRE_FRESH_KERNEL();
  Tb tb("tb");
  tb.script_cycles = 60;
  tb.script = [](uint32_t k, PinsIn& in) {
    auto reg = [&in](bool write, uint32_t addr, uint32_t wdata) {
      in.reg_req_valid = true;
      in.reg_req_write = write;
      in.reg_req_addr = addr;
      in.reg_req_wdata = wdata;
      in.reg_req_part = 0;
      in.reg_req_priv = static_cast<uint8_t>(Priv::kKernel);
    };
    auto fault = [&in](uint16_t entry) {
      in.fault_valid = true;
      in.fault_table = 0;  // CST
      in.fault_entry = entry;
      in.fault_bit = 1;
    };
    switch (k) {
      case 2: reg(true, CMM_CMD_OFFSET, CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(Cmd::kAlloc))); break;
      case 10: fault(0x100); break;
      case 14: case 40: reg(false, CMM_CST_BASE + CMM_CST_CTRL_OFFSET, 0); break;  // the read checks parity
      case 30: fault(0); break;
      default: break;
    }
  };
  State mid_shell = State::kFault, mid_ref = State::kFault;
  uint32_t mid_faults = ~0u;
  tb.probe = [&](uint32_t k, const CmmCore& shell, const CmmCore& ref) {
    if (k != 25) return;
    mid_shell = shell.ep_state(0);
    mid_ref = ref.ep_state(0);
    mid_faults = shell.table_faults();
  };
  sc_start(sc_time(tb.script_cycles + 3, SC_NS));
  EXPECT_EQ(tb.cycles_compared, tb.script_cycles);
  EXPECT_EQ(tb.mismatches, 0u);
  EXPECT_EQ(mid_ref, State::kAllocated);
  EXPECT_EQ(mid_shell, State::kAllocated) << "the injection at entry 0x100 reached entry 0";
  EXPECT_EQ(mid_faults, 0u);
  EXPECT_EQ(tb.dut.core().ep_state(0), State::kFault);
  EXPECT_EQ(tb.dut.core().table_faults(), 1u);
}

TEST(CmmCoreSignalShell, HeaderPackingRoundTrip) {
  Header h;
  h.opcode = 0xF;
  h.src_node = 0xA5;
  h.dst_ep = 0x3C;
  h.len = 0xBEEF;
  h.aux = 0x81;
  h.src_gen = 0x5A;
  h.dst_gen = 0xC3;
  h.seq = 0x8001;
  h.key = {0x01234567u, 0x89ABCDEFu, 0xDEADBEEFu, 0xFFFFFFFFu};
  const auto bv = CmmCoreSignalShell::to_bv(h);
  EXPECT_EQ(CmmCoreSignalShell::from_bv(bv), h);
  EXPECT_EQ(bv.range(3, 0).to_uint(), 0xFu);                  // opcode at bit 0
  EXPECT_EQ(bv.range(kHdrBits - 1, kHdrBits - 32).to_uint(), 0xFFFFFFFFu);  // key word 3 at the top
}

CMM_SC_TEST_MAIN
