// Shared by the fabric tests (noc_test.cpp, system_test.cpp): the patent flow
// between two test nodes already bound to a fabric. Both agents set up the
// channel through raw CST writes, the receiver's agent stages a key and sends
// CONNECT and sleeps on its interrupt line for CONN, the sender's process
// writes a 300-byte message and rings the doorbell, the receiver's process
// polls, reads and pops it. The caller binds the fabric, then checks its own
// timing (the DATA header's egress and ingress-accept times are recorded).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

#include "cmm_node_util.h"
#include "cmm_tlm/cmm_tlm.h"
#include "sc_test_util.h"

namespace cmm::tlmshell::test {

// DATA header times at one node, and its deliveries.
struct FlowTiming : CmmTlmObserver {
  sc_core::sc_time data_eg, data_acc;
  uint32_t delivered = 0;
  void on_egress(const sc_core::sc_time& t, const Packet& p) override {
    if (p.hdr.opcode == static_cast<uint8_t>(regs::Opcode::kData)) data_eg = t;
  }
  void on_ingress_accept(const sc_core::sc_time& t, const Packet& p) override {
    if (p.hdr.opcode == static_cast<uint8_t>(regs::Opcode::kData)) data_acc = t;
  }
  void on_deliver(uint64_t, const Header&) override { ++delivered; }
};

struct FlowResult {
  FlowTiming rx, tx;
  bool got = false;  // the receiver read the message intact
};

// Runs the flow for 1 ms of simulated time, receive endpoint 0 of `rx` (node
// id rx_id, pid 100) from send endpoint 0 of `tx` (node id tx_id, pid 200),
// and checks what does not depend on the fabric.
inline void run_two_node_flow(Node& rx, uint8_t rx_id, Node& tx, uint8_t tx_id, FlowResult& out) {
  using namespace sc_core;
  using namespace ::cmm::regs;
  using sw::BusStatus;
  const sc_time P(1, SC_NS);
  rx.cmm.set_observer(&out.rx);
  tx.cmm.set_observer(&out.tx);
  auto kr = rx.biu.make_context(Priv::kKernel, 0);
  auto ur = rx.biu.make_context(Priv::kUser, 100);
  auto ks = tx.biu.make_context(Priv::kKernel, 0);
  auto us = tx.biu.make_context(Priv::kUser, 200);
  const Key key{0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
  std::vector<uint8_t> msg(300);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i * 13 + 5);
  bool sender_ready = false, open = false;
  sc_event sender_ready_ev, open_ev;
  constexpr uint32_t kEp = 0;  // first free endpoint on both nodes

  ThreadRunner agent_s("agent_s", [&] {
    setup_channel(*kr, rx_id, 100, kEp, *ks, tx_id, 200, kEp);  // both agents' part
    sender_ready = true;
    sender_ready_ev.notify(SC_ZERO_TIME);
    while (state_of(*ks, kEp) != static_cast<uint32_t>(State::kOpen)) wait(20 * P);
    EXPECT_TRUE(tx.cmm.core().key_equals_for_test(kEp, key));
    open = true;
    open_ev.notify(SC_ZERO_TIME);
  });
  ThreadRunner agent_r("agent_r", [&] {
    if (!sender_ready) wait(sender_ready_ev);  // agent_s used kr until then
    EXPECT_EQ(kr->write32(CMM_IRQ_ENABLE_OFFSET, 0x1F), BusStatus::kOk);
    for (uint32_t w = 0; w < kKeyWords; ++w)
      EXPECT_EQ(kr->write32(CMM_KEY_OFFSET + 4 * w, key[w]), BusStatus::kOk);
    EXPECT_EQ(kr->write32(CMM_CMD_OFFSET, cmd(Cmd::kConnect, kEp)), BusStatus::kOk);
    // CONNECT_ACK raises CONN on the receiver's partition interrupt line:
    // the agent sleeps on the line, then reads and clears the causes.
    uint32_t v = 0;
    for (int i = 0; i < 10 && !(v & (1u << static_cast<uint32_t>(Irq::kConn))); ++i) {
      if (!rx.cmm.irq_level(0)) wait(rx.cmm.irq_rise_event(0));
      EXPECT_EQ(kr->read32(CMM_IRQ_STATUS_OFFSET, v), BusStatus::kOk);
      EXPECT_EQ(kr->write32(CMM_IRQ_STATUS_OFFSET, v), BusStatus::kOk);
    }
    EXPECT_TRUE(v & (1u << static_cast<uint32_t>(Irq::kConn)));
    EXPECT_EQ(state_of(*kr, kEp), static_cast<uint32_t>(State::kOpen));
  });
  ThreadRunner proc_s("proc_s", [&] {
    if (!open) wait(open_ev);
    EXPECT_EQ(us->write_block(epr(kEp, CMM_TX_BUF_OFFSET), msg.data(), msg.size()), BusStatus::kOk);
    uint32_t db = CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, static_cast<uint32_t>(msg.size()));
    db = CMM_FIELD_SET(db, CMM_EP_DOORBELL_TAG, 0x55u);
    EXPECT_EQ(us->write32(epr(kEp, CMM_EP_DOORBELL_OFFSET), db), BusStatus::kOk);
  });
  ThreadRunner proc_r("proc_r", [&] {
    uint32_t v = 0;
    if (!open) wait(open_ev);
    for (int i = 0; i < 1000; ++i) {
      EXPECT_EQ(ur->read32(epr(kEp, CMM_EP_RX_STATUS_OFFSET), v), BusStatus::kOk);
      if (CMM_FIELD_GET(v, CMM_EP_RX_STATUS_COUNT) > 0) break;
      wait(50 * P);
    }
    ASSERT_EQ(CMM_FIELD_GET(v, CMM_EP_RX_STATUS_COUNT), 1u);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_EP_RX_STATUS_LEN), msg.size());
    std::vector<uint8_t> got_msg(msg.size() + 4, 0xEE);
    EXPECT_EQ(ur->read_block(epr(kEp, CMM_RX_BUF_OFFSET), got_msg.data(), got_msg.size()), BusStatus::kOk);
    EXPECT_TRUE(std::equal(msg.begin(), msg.end(), got_msg.begin()));
    EXPECT_EQ(got_msg[msg.size()], 0);  // beyond the message: zeros, never stale bytes
    EXPECT_EQ(ur->read32(epr(kEp, CMM_EP_RX_TAG_OFFSET), v), BusStatus::kOk);
    EXPECT_EQ(v, 0x55u);
    EXPECT_EQ(ur->write32(epr(kEp, CMM_EP_RX_POP_OFFSET), 1), BusStatus::kOk);
    out.got = true;
  });
  sc_start(sc_time(1, SC_MS));
  EXPECT_TRUE(out.got);
  EXPECT_EQ(tx.cmm.stats().data_sent, 1u);
  EXPECT_EQ(rx.cmm.stats().data_delivered, 1u);
  EXPECT_EQ(out.rx.delivered, 1u);
}

}  // namespace cmm::tlmshell::test
