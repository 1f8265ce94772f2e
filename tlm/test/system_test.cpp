// Two nodes (CmmTlm + NodeBus + partition CPU threads) on a Crossbar: the
// patent flow (CST setup, key, CONNECT/ACK, doorbell DATA, delivery) with the
// payload carried by the packet buffers, and the end-to-end header timing
// egress edge -> ingress accept edge = crossbar zero-load latency + 1 cycle.
#include <memory>
#include <vector>

#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/node_bus.h"
#include "cmm_node_util.h"
#include "sc_test_util.h"
#include "two_node_flow.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::regs;
using namespace sc_core;
using sw::BusStatus;
using namespace cmm::tlmshell::test;

namespace {

const sc_time P(1, SC_NS);

}  // namespace

TEST(TlmSystem, ConnectAndDeliverMessageAcrossCrossbar) {
  CMM_REQUIRE_FRESH_KERNEL();
  Node rx("n0", 0), tx("n1", 1);
  XbarConfig xc;
  xc.num_ports = 2;
  xc.router_delay_cycles = 1;
  xc.ports.assign(2, XbarPortConfig{16, 2});
  Crossbar xbar("xbar", xc);
  rx.cmm.eg_isock.bind(*xbar.in_tsock[0]);
  xbar.out_isock[0]->bind(rx.cmm.ing_tsock);
  tx.cmm.eg_isock.bind(*xbar.in_tsock[1]);
  xbar.out_isock[1]->bind(tx.cmm.ing_tsock);
  FlowResult f;
  run_two_node_flow(rx, 0, tx, 1, f);
  EXPECT_EQ(rx.cmm.stats().data_discarded, 0u);
  EXPECT_EQ(tx.cmm.core().stat(CmmCore::kStatConnectAccepted), 1u);
  // Header timing through the fabric (nothing else in flight at that time).
  const uint64_t zl = xbar.zero_load_cycles(1, 0, kHeaderBytes + 300);
  EXPECT_EQ(zl, 21u + 2 + 1 + 21 + 2);
  EXPECT_EQ(f.rx.data_acc - f.tx.data_eg, (zl + 1) * P);
  // Both CMMs idle at the end: simulating the rest of the millisecond cost nothing.
  EXPECT_LT(rx.cmm.stats().steps + tx.cmm.stats().steps, 5000u);
  EXPECT_EQ(rx.cmm.stats().link_errors + tx.cmm.stats().link_errors + xbar.stats().link_errors, 0u);
}

// Back-pressure everywhere: 1-slot ingress buffers, 1-slot crossbar buffers,
// a 1-deep register queue (END_REQ withheld), and 10 messages into a 4-deep
// receive queue that nobody pops: 4 delivered, 6 refused with RXQ_FULL, each
// counted on both sides; nothing lost silently.
TEST(TlmSystem, BackpressureAndReceiveQueueFull) {
  CMM_REQUIRE_FRESH_KERNEL();
  Node rx("n0", 0, 1, 1), tx("n1", 1, 1, 1);
  XbarConfig xc;
  xc.num_ports = 2;
  xc.buf_slots_per_class = 1;
  xc.ports.assign(2, XbarPortConfig{8, 3});
  Crossbar xbar("xbar", xc);
  rx.cmm.eg_isock.bind(*xbar.in_tsock[0]);
  xbar.out_isock[0]->bind(rx.cmm.ing_tsock);
  tx.cmm.eg_isock.bind(*xbar.in_tsock[1]);
  xbar.out_isock[1]->bind(tx.cmm.ing_tsock);
  auto kr = rx.biu.make_context(Priv::kKernel, 0);
  auto ur = rx.biu.make_context(Priv::kUser, 100);
  auto ks = tx.biu.make_context(Priv::kKernel, 0);
  auto us = tx.biu.make_context(Priv::kUser, 200);
  const Key key{1, 2, 3, 4};
  bool sender_ready = false, open = false, sent = false;
  sc_event ev;
  constexpr uint32_t kEp = 0, kMsgs = 10;
  test::ThreadRunner agent_s("agent_s", [&] {
    setup_channel(*kr, 0, 100, kEp, *ks, 1, 200, kEp);
    sender_ready = true;
    ev.notify(SC_ZERO_TIME);
    while (state_of(*ks, kEp) != static_cast<uint32_t>(State::kOpen)) wait(10 * P);
    open = true;
    ev.notify(SC_ZERO_TIME);
  });
  test::ThreadRunner agent_r("agent_r", [&] {
    while (!sender_ready) wait(ev);
    for (uint32_t w = 0; w < kKeyWords; ++w) EXPECT_EQ(kr->write32(CMM_KEY_OFFSET + 4 * w, key[w]), BusStatus::kOk);
    EXPECT_EQ(kr->write32(CMM_CMD_OFFSET, cmd(Cmd::kConnect, kEp)), BusStatus::kOk);
    while (!sent) wait(ev);
    // Two contexts of the partition poll at the same instants (1-deep register queue).
    for (int i = 0; i < 20; ++i) {
      uint32_t v = 0;
      EXPECT_EQ(kr->read32(cst(kEp, CMM_CST_STATUS_OFFSET), v), BusStatus::kOk);
      wait(5 * P);
    }
  });
  test::ThreadRunner poll_r("poll_r", [&] {
    while (!sent) wait(ev);
    for (int i = 0; i < 20; ++i) {
      uint32_t v = 0;
      EXPECT_EQ(ur->read32(epr(kEp, CMM_EP_RX_STATUS_OFFSET), v), BusStatus::kOk);
      wait(5 * P);
    }
  });
  test::ThreadRunner proc_s("proc_s", [&] {
    while (!open) wait(ev);
    std::vector<uint8_t> m(200);
    for (uint32_t i = 0; i < kMsgs; ++i) {
      std::fill(m.begin(), m.end(), static_cast<uint8_t>(i + 1));
      EXPECT_EQ(us->write_block(epr(kEp, CMM_TX_BUF_OFFSET), m.data(), m.size()), BusStatus::kOk);
      uint32_t db = CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, 200u);
      db = CMM_FIELD_SET(db, CMM_EP_DOORBELL_TAG, i);
      EXPECT_EQ(us->write32(epr(kEp, CMM_EP_DOORBELL_OFFSET), db), BusStatus::kOk);
    }
    sent = true;
    ev.notify(SC_ZERO_TIME);
  });
  test::ThreadRunner check("check", [&] {
    while (!sent) wait(ev);
    wait(2000 * P);
    uint32_t v = 0;
    // Receiver: the 4 first messages, in order, intact.
    for (uint32_t i = 0; i < kRxqDepth; ++i) {
      EXPECT_EQ(ur->read32(epr(kEp, CMM_EP_RX_TAG_OFFSET), v), BusStatus::kOk);
      EXPECT_EQ(v, i);
      std::vector<uint8_t> got(200);
      EXPECT_EQ(ur->read_block(epr(kEp, CMM_RX_BUF_OFFSET), got.data(), got.size()), BusStatus::kOk);
      EXPECT_EQ(got, std::vector<uint8_t>(200, static_cast<uint8_t>(i + 1)));
      EXPECT_EQ(ur->write32(epr(kEp, CMM_EP_RX_POP_OFFSET), 1), BusStatus::kOk);
    }
    // Sender: told 6 times.
    EXPECT_EQ(us->read32(epr(kEp, CMM_EP_TX_STATUS_OFFSET), v), BusStatus::kOk);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_EP_TX_STATUS_NACKS), kMsgs - kRxqDepth);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_EP_TX_STATUS_LAST_REASON), static_cast<uint32_t>(Reason::kRxqFull));
  });
  sc_start(sc_time(1, SC_MS));
  EXPECT_EQ(tx.cmm.stats().data_sent, kMsgs);
  EXPECT_EQ(rx.cmm.stats().data_delivered, kRxqDepth);
  EXPECT_EQ(rx.cmm.stats().data_discarded, kMsgs - kRxqDepth);
  EXPECT_EQ(rx.cmm.core().reject_count(Reason::kRxqFull), kMsgs - kRxqDepth);
  EXPECT_GT(rx.bus.stats().stalls, 0u);  // END_REQ was withheld at least once
  EXPECT_EQ(rx.cmm.stats().link_errors + tx.cmm.stats().link_errors + xbar.stats().link_errors, 0u);
}

CMM_SC_TEST_MAIN
