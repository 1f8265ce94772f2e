// CmmTlm register path through the NodeBus: requester-id checks (I5) as the
// core sees the stamped ids, exact core status, shell errors, register read
// latency in cycles, payload-window burst latency, idle skipping.
#include <memory>
#include <vector>

#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/node_bus.h"
#include "link_stub.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::regs;
using namespace sc_core;
using sw::BusStatus;

namespace {

CmmTlmConfig make_cfg() {
  CmmTlmConfig c;
  c.straps.node_id = 5;
  c.straps.quota.fill(0);  // quotas must fit the table (reservation, docs/security.md 1.7)
  c.straps.quota[0] = c.straps.quota[1] = 4;
  return c;
}

struct Bench {
  CmmTlm cmm;
  NodeBus bus;
  test::LinkStub link;
  std::vector<std::unique_ptr<PartitionBusIf>> biu;
  explicit Bench(sc_time lb) : cmm("cmm", make_cfg()), bus("bus", 2, lb), link("link") {
    bus.cmm_isock.bind(cmm.reg_tsock);
    link.isock.bind(cmm.ing_tsock);
    cmm.eg_isock.bind(link.tsock);
    for (int p = 0; p < 2; ++p) {
      biu.push_back(std::make_unique<PartitionBusIf>(("biu" + std::to_string(p)).c_str()));
      biu.back()->isock.bind(*bus.part_tsock[p]);
    }
  }
};

uint32_t cst(uint32_t ep, uint32_t off) { return CMM_CST_BASE + ep * CMM_CST_STRIDE + off; }
uint32_t epr(uint32_t ep, uint32_t off) { return CMM_EP_BASE + ep * CMM_EP_STRIDE + off; }
uint32_t cmd(Cmd op, uint32_t ep = 0) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(op)), CMM_CMD_EP, ep);
}

}  // namespace

TEST(CmmTlmReg, RequesterIdEnforcedAndExactStatus) {
  CMM_REQUIRE_FRESH_KERNEL();
  Bench b(sc_time(1, SC_NS));
  auto k0 = b.biu[0]->make_context(Priv::kKernel, 0);
  auto u0 = b.biu[0]->make_context(Priv::kUser, 100);
  auto u0b = b.biu[0]->make_context(Priv::kUser, 101);
  auto k1 = b.biu[1]->make_context(Priv::kKernel, 0);
  test::ThreadRunner cpu("cpu", [&] {
    uint32_t v = 0;
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(v, kMagic);
    EXPECT_EQ(u0->read32(CMM_NODE_ID_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(v, 5u);
    ASSERT_EQ(k0->write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kOk);
    ASSERT_EQ(k0->read32(CMM_CMD_STATUS_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CMD_STATUS_REASON), 0u);
    const uint32_t e = CMM_FIELD_GET(v, CMM_CMD_STATUS_EP);
    EXPECT_EQ(k0->write32(cst(e, CMM_CST_OWNER_OFFSET), 100), BusStatus::kOk);
    EXPECT_EQ(k0->read32(cst(e, CMM_CST_CTRL_OFFSET), v), BusStatus::kOk);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_OWNER_PART), 0u);
    // A user process of the owning partition that does not own the entry:
    // DENIED on the CST (the owner has a read-only view of its own entry).
    EXPECT_EQ(u0b->read32(cst(e, CMM_CST_CTRL_OFFSET), v), BusStatus::kDenied);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(u0->write32(cst(e, CMM_CST_REMOTE_OFFSET), 0x12), BusStatus::kDenied);
    EXPECT_EQ(u0->last_tlm_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
    // Another partition's kernel agent: DENIED.
    EXPECT_EQ(k1->read32(cst(e, CMM_CST_CTRL_OFFSET), v), BusStatus::kDenied);
    EXPECT_EQ(k1->write32(CMM_CMD_OFFSET, cmd(Cmd::kFree, e)), BusStatus::kReject);  // command refused: DENIED reason
    EXPECT_EQ(k1->read32(CMM_CMD_STATUS_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CMD_STATUS_REASON), static_cast<uint32_t>(Reason::kDenied));
    // Endpoint page: owner process yes, another process of the partition no.
    EXPECT_EQ(u0->read32(epr(e, CMM_EP_RX_STATUS_OFFSET), v), BusStatus::kOk);
    EXPECT_EQ(u0b->read32(epr(e, CMM_EP_RX_STATUS_OFFSET), v), BusStatus::kDenied);
    // DECERR and REJECT are distinguishable.
    EXPECT_EQ(k1->read32(0x300, v), BusStatus::kDecErr);
    EXPECT_EQ(k1->last_tlm_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(k0->write32(CMM_ID_OFFSET, 1), BusStatus::kReject);
    EXPECT_EQ(k0->last_tlm_status(), tlm::TLM_COMMAND_ERROR_RESPONSE);
    // Misaligned word: the core's DECERR (counted BAD_ADDR by the core).
    EXPECT_EQ(k0->read32(0x2, v), BusStatus::kDecErr);
    // Not a single word and not a payload window: refused by the shell (counted).
    uint8_t two[2];
    EXPECT_EQ(k0->read_block(CMM_ID_OFFSET, two, 2), BusStatus::kDecErr);
    EXPECT_EQ(k0->last_tlm_status(), tlm::TLM_BURST_ERROR_RESPONSE);
    uint8_t big[16] = {};
    EXPECT_EQ(k0->write_block(epr(e, CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES - 8), big, 16), BusStatus::kDecErr);
    // A burst into the TX window of the owner's endpoint is granted.
    EXPECT_EQ(u0->write_block(epr(e, CMM_TX_BUF_OFFSET), big, 16), BusStatus::kOk);
    // RX window with an empty queue: REJECT (RXQ_EMPTY).
    EXPECT_EQ(u0->read_block(epr(e, CMM_RX_BUF_OFFSET), big, 16), BusStatus::kReject);
  });
  sc_start();
  ASSERT_TRUE(cpu.finished);
  const auto& s = b.cmm.stats();
  EXPECT_EQ(s.reg_shell_errors, 2u);
  EXPECT_EQ(s.reg_bursts, 1u);
  EXPECT_EQ(s.reg_status[static_cast<uint32_t>(Rsp::kDenied)], 4u);
  EXPECT_EQ(b.cmm.core().reject_count(Reason::kDenied), 5u);  // 4 accesses + 1 command
  EXPECT_EQ(s.rejects[static_cast<uint32_t>(Reason::kDenied)], 5u);
  EXPECT_EQ(b.cmm.core().reject_count(Reason::kBadAddr), 2u);
}

// Latency of a register read, in cycles of the 1 GHz clock, with a bus
// latency Lb of 2 cycles: issue on the clock grid at t0, request at the CMM at
// t0+Lb, accepted by the core at the next edge (t0+Lb+1), response registered
// and captured at t0+Lb+2, back at the CPU at t0+2Lb+2.
TEST(CmmTlmReg, ReadLatencyCycles) {
  CMM_REQUIRE_FRESH_KERNEL();
  const sc_time P(1, SC_NS);
  Bench b(2 * P);
  auto k0 = b.biu[0]->make_context(Priv::kKernel, 0);
  auto u0 = b.biu[0]->make_context(Priv::kUser, 9);
  test::ThreadRunner cpu("cpu", [&] {
    uint32_t v = 0;
    wait(10 * P);
    sc_time t0 = sc_time_stamp();
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(sc_time_stamp() - t0, (2 * 2 + 2) * P);
    // Off the grid: the request is sampled at the next edge strictly after its arrival.
    wait(sc_time(500, SC_PS));
    t0 = sc_time_stamp();
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(sc_time_stamp() - t0, sc_time(5500, SC_PS));
    wait(sc_time(500, SC_PS));  // back on the grid
    // Payload window burst: + ceil(64 / buf_bytes_per_cycle) cycles in the packet buffer.
    ASSERT_EQ(k0->write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kOk);
    ASSERT_EQ(k0->write32(cst(0, CMM_CST_OWNER_OFFSET), 9), BusStatus::kOk);
    uint8_t buf[64] = {};
    t0 = sc_time_stamp();
    EXPECT_EQ(u0->write_block(epr(0, CMM_TX_BUF_OFFSET), buf, 64), BusStatus::kOk);
    EXPECT_EQ(sc_time_stamp() - t0, (2 * 2 + 2 + 64 / 8) * P);
  });
  sc_start();
  ASSERT_TRUE(cpu.finished);
  // These latencies were taken over direct calls: both partition ports and
  // the CMM's register target are bound straight to the bus.
  EXPECT_EQ(b.bus.direct_hops(), 3u);
}

// A long idle gap costs no core steps, and the core's cycle counter still
// equals simulation time / clock period.
TEST(CmmTlmReg, IdleGapSkipped) {
  CMM_REQUIRE_FRESH_KERNEL();
  const sc_time P(1, SC_NS);
  const sc_time lb = P;
  Bench b(lb);
  auto k0 = b.biu[0]->make_context(Priv::kKernel, 0);
  uint64_t steps_after_first = 0;
  test::ThreadRunner cpu("cpu", [&] {
    uint32_t v = 0;
    wait(3 * P);
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
    steps_after_first = b.cmm.stats().steps;
    wait(sc_time(1, SC_MS));
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
    // The last edge evaluated captured the response: now - Lb.
    EXPECT_EQ(b.cmm.core().cycle(), (sc_time_stamp() - lb).value() / P.value());
    EXPECT_EQ(b.cmm.cycle_now(), sc_time_stamp().value() / P.value());
  });
  sc_start();
  ASSERT_TRUE(cpu.finished);
  EXPECT_EQ(steps_after_first, 2u);  // accept edge + response edge
  EXPECT_EQ(b.cmm.stats().steps, 4u);
  EXPECT_GT(b.cmm.stats().skipped_cycles, 999000u);
}

// The core's cycle_i pin carries the true cycle count at every evaluated
// edge, also after idle cycles were skipped (alarm windows depend on it).
TEST(CmmTlmReg, CyclePinIsTrueCycleAcrossIdleGaps) {
  CMM_REQUIRE_FRESH_KERNEL();
  const sc_time P(1, SC_NS);
  Bench b(P);
  struct PinLog : CmmTlmObserver {
    std::vector<std::pair<uint64_t, uint32_t>> edges;  // (time in ps, cycle pin)
    void on_pins(const sc_time& t, const PinsIn& in, const PinsOut&) override {
      edges.emplace_back(t.value(), in.cycle);
    }
  } log;
  b.cmm.set_observer(&log);
  auto k0 = b.biu[0]->make_context(Priv::kKernel, 0);
  test::ThreadRunner cpu("cpu", [&] {
    uint32_t v = 0;
    wait(7 * P);
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
    wait(sc_time(1, SC_MS));
    EXPECT_EQ(k0->read32(CMM_ID_OFFSET, v), BusStatus::kOk);
  });
  sc_start();
  ASSERT_TRUE(cpu.finished);
  ASSERT_EQ(log.edges.size(), 4u);  // two edges per read, the gap skipped
  // Edge at time E: cycle_i = E / P - 1 = the core's cycle() before that step.
  for (const auto& e : log.edges) EXPECT_EQ(e.second + 1u, e.first / P.value()) << "edge at " << e.first << " ps";
  EXPECT_GT(log.edges[2].second, 1000000u);
  EXPECT_EQ(b.cmm.core().cycle(), log.edges.back().second + 1u);
}

CMM_SC_TEST_MAIN
