// Attacks on the fabric (docs/security.md 1.8), one test per attack, on the
// Crossbar and the Noc: lengths never trusted (BAD_LEN, a 65535-byte claim
// that overran Packet::copy_from), edge source validation (SRC_SPOOFED on
// every opcode; a spoofed CONNECT cannot pre-empt the genuine one; a rogue
// speaking as itself passes the edge and is judged by the CMM), and the
// head-of-queue lifetime (a node that withholds credits no longer freezes
// traffic into its neighbour). Each test asserts the drop reason and counter
// and that legitimate traffic keeps flowing.
#include <memory>
#include <string>
#include <vector>

#include "cmm_node_util.h"
#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/noc.h"
#include "link_stub.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::regs;
using namespace sc_core;
using sw::BusStatus;

namespace {

const sc_time P(1, SC_NS);

// Node i speaks as itself on port i; stubs given stamp_src = -1 act as rogues.
template <typename Fabric, typename Config>
struct Bench {
  Fabric fab;
  std::vector<std::unique_ptr<test::LinkStub>> node;
  Bench(const Config& c, uint32_t n) : fab("fabric", c) {
    for (uint32_t i = 0; i < n; ++i) {
      node.push_back(std::make_unique<test::LinkStub>(("node" + std::to_string(i)).c_str()));
      node.back()->stamp_src = static_cast<int>(i);
      node.back()->isock.bind(*fab.in_tsock[i]);
      fab.out_isock[i]->bind(node.back()->tsock);
    }
  }
};
using XBench = Bench<Crossbar, XbarConfig>;
using NBench = Bench<Noc, NocConfig>;

XbarConfig xcfg(uint32_t n, uint32_t hol = 4096) {
  XbarConfig c;
  c.num_ports = n;
  c.router_delay_cycles = 1;
  c.hol_lifetime_cycles = hol;
  c.ports.assign(n, XbarPortConfig{16, 2});
  return c;
}

NocConfig ncfg(uint32_t x, uint32_t y, uint32_t vpc, uint32_t hol = 4096) {
  NocConfig c;
  c.topology = Topology::kMesh;
  c.x = x;
  c.y = y;
  c.vcs_per_class = vpc;
  c.hol_lifetime_cycles = hol;
  return c;
}

Packet pkt(uint8_t src, uint8_t dst, uint16_t payload, uint16_t tag, uint8_t op = static_cast<uint8_t>(Opcode::kData)) {
  Packet p;
  p.hdr.opcode = op;
  p.hdr.src_node = src;
  p.hdr.dst_node = dst;
  p.hdr.len = payload;
  p.hdr.tag = tag;
  p.cls = (op == static_cast<uint8_t>(Opcode::kNack) || op == static_cast<uint8_t>(Opcode::kConnectAck)) ? 1 : 0;
  p.payload_len = payload;
  for (uint16_t i = 0; i < payload; ++i) p.payload[i] = static_cast<uint8_t>(i * 3 + tag);
  return p;
}

size_t count_tag(const test::LinkStub& s, uint16_t tag) {
  size_t n = 0;
  for (const auto& r : s.rx) n += r.hdr.tag == tag;
  return n;
}

// Counts the fabric's drop reports (FaultHook::on_drop).
struct DropLog : FaultHook {
  std::vector<DropCount> by_port = std::vector<DropCount>(16);
  void on_drop(const Packet& p, uint32_t port, Reason why) override {
    (void)p.carried();
    by_port.at(port).add(why);
  }
};

// A rogue hands the fabric a packet claiming 65535 payload bytes (header len
// and payload length): before the fix Packet::copy_from copied 65535 bytes
// out of a 1024-byte packet into a 1024-byte slot (ASan: heap overflow).
template <typename B>
void oversized_length_attack(B& b, uint8_t rogue, uint8_t victim, uint8_t legit) {
  auto evil = std::make_unique<Packet>();  // on the heap: an overrun is an ASan heap-buffer-overflow
  *evil = pkt(rogue, victim, 16, 0xBAD);
  evil->hdr.len = 65535;
  evil->payload_len = 65535;
  b.node[rogue]->stamp_src = -1;
  test::ThreadRunner drv("drv", [&] {
    wait(5 * P);
    EXPECT_TRUE(b.node[rogue]->send_raw(*evil));
    wait(5 * P);
    EXPECT_TRUE(b.node[legit]->send(pkt(legit, victim, 100, 1)));
    EXPECT_TRUE(b.node[rogue]->send(pkt(rogue, victim, 40, 2)));  // the rogue as itself, honest lengths
  });
  sc_start();
  const auto& rx = b.node[victim]->rx;
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(count_tag(*b.node[victim], 0xBAD), 0u);
  EXPECT_EQ(count_tag(*b.node[victim], 1), 1u);
  EXPECT_EQ(count_tag(*b.node[victim], 2), 1u);
  for (const auto& r : rx) EXPECT_EQ(r.len, r.hdr.len);
  EXPECT_EQ(b.node[rogue]->credits[0], 4u);  // the dropped packet's credit came back
}

}  // namespace

TEST(FabricSecurity, CrossbarLength65535DroppedBadLen) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(xcfg(3), 3);
  oversized_length_attack(b, 2, 1, 0);
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kBadLen), 1u);
  EXPECT_EQ(s.port_drops[2].bad_len, 1u);
  EXPECT_EQ(s.drops.total(), 1u);
  EXPECT_EQ(s.forwarded[0], 2u);
  EXPECT_EQ(s.link_errors, 0u);
}

TEST(FabricSecurity, NocLength65535DroppedBadLen) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(ncfg(2, 2, 2), 4);
  oversized_length_attack(b, 3, 1, 0);
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kBadLen), 1u);
  EXPECT_EQ(s.node_drops[3].bad_len, 1u);
  EXPECT_EQ(s.drops.total(), 1u);
  EXPECT_EQ(s.injected[0], 2u);
  EXPECT_EQ(s.delivered[0], 2u);
  EXPECT_EQ(s.link_errors, 0u);
}

// Lengths that disagree (header len vs carried payload) or exceed
// max_msg_bytes are dropped at the edge, whatever the opcode.
TEST(FabricSecurity, CrossbarLengthMismatchAndAboveMaxDroppedBadLen) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(xcfg(3), 3);
  b.node[2]->stamp_src = -1;
  std::vector<std::unique_ptr<Packet>> evil;
  auto add = [&](uint16_t len, uint16_t payload_len, uint8_t op) {
    evil.push_back(std::make_unique<Packet>(pkt(2, 1, 8, 0xBAD, op)));
    evil.back()->hdr.len = len;
    evil.back()->payload_len = payload_len;
  };
  add(100, 50, static_cast<uint8_t>(Opcode::kData));    // header says more than carried
  add(50, 100, static_cast<uint8_t>(Opcode::kData));    // carried more than the header says
  add(1025, 1025, static_cast<uint8_t>(Opcode::kData)); // above max_msg_bytes (and the capacity)
  add(0, 300, static_cast<uint8_t>(Opcode::kConnect));  // a payload on a non-DATA packet
  add(7, 0, static_cast<uint8_t>(Opcode::kNack));       // a length on a packet without payload
  test::ThreadRunner drv("drv", [&] {
    for (auto& e : evil) {
      while (!b.node[2]->send_raw(*e)) wait(P);
      wait(P);
    }
    EXPECT_TRUE(b.node[0]->send(pkt(0, 1, 1024, 1)));  // the maximum is legal
    EXPECT_TRUE(b.node[2]->send(pkt(2, 1, 0, 2, static_cast<uint8_t>(Opcode::kClose))));
  });
  sc_start();
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kBadLen), evil.size());
  EXPECT_EQ(s.port_drops[2].bad_len, evil.size());
  EXPECT_EQ(s.port_drops[0].total(), 0u);
  ASSERT_EQ(b.node[1]->rx.size(), 2u);
  EXPECT_EQ(count_tag(*b.node[1], 0xBAD), 0u);
  const Packet max = pkt(0, 1, 1024, 1);
  for (const auto& r : b.node[1]->rx) {
    if (r.hdr.tag == 1) {
      EXPECT_EQ(r.payload, std::vector<uint8_t>(max.payload.begin(), max.payload.end()));
    }
  }
  EXPECT_EQ(count_tag(*b.node[1], 1) + count_tag(*b.node[1], 2), 2u);
  EXPECT_EQ(b.node[2]->credits[0] + b.node[2]->credits[1], 8u);
}

namespace {
// A rogue on `rogue` speaks as `victim` with every opcode value (both
// classes): all dropped at its edge port; the same packets with its own id
// pass the edge; the victim's own traffic flows.
template <typename B>
void spoof_every_opcode(B& b, uint8_t rogue, uint8_t victim, uint8_t dst) {
  b.node[rogue]->stamp_src = -1;
  test::ThreadRunner drv("drv", [&] {
    wait(3 * P);
    for (uint8_t op = 0; op < 16; ++op) {
      Packet p = pkt(victim, dst, op == static_cast<uint8_t>(Opcode::kData) ? 64 : 0, static_cast<uint16_t>(0x100 + op), op);
      while (!b.node[rogue]->send(p)) wait(P);
      p.hdr.src_node = 77;  // a node id nobody has
      while (!b.node[rogue]->send(p)) wait(P);
    }
    wait(50 * P);
    for (uint8_t op = 0; op < 16; ++op) {
      const Packet p = pkt(rogue, dst, op == static_cast<uint8_t>(Opcode::kData) ? 64 : 0, static_cast<uint16_t>(0x200 + op), op);
      while (!b.node[rogue]->send(p)) wait(P);
    }
    EXPECT_TRUE(b.node[victim]->send(pkt(victim, dst, 100, 1)));
  });
  sc_start();
  const auto& rx = b.node[dst]->rx;
  ASSERT_EQ(rx.size(), 17u);  // 16 from the rogue as itself + the victim's
  for (const auto& r : rx) {
    EXPECT_NE(r.hdr.tag & 0xF00, 0x100) << "spoofed packet delivered: " << r.hdr.str();
    EXPECT_EQ(r.hdr.src_node, r.hdr.tag == 1 ? victim : rogue);
  }
  EXPECT_EQ(count_tag(*b.node[dst], 1), 1u);
  EXPECT_EQ(b.node[rogue]->credits[0] + b.node[rogue]->credits[1], 8u);
}
}  // namespace

TEST(FabricSecurity, CrossbarSpoofedSourceDroppedEveryOpcode) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(xcfg(3), 3);
  DropLog log;
  b.fab.set_fault_hook(&log);
  spoof_every_opcode(b, 2, 0, 1);
  EXPECT_EQ(log.by_port[2].src_spoofed, 32u);  // each drop reported to the hook
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kSrcSpoofed), 32u);
  EXPECT_EQ(s.port_drops[2].src_spoofed, 32u);
  EXPECT_EQ(s.port_drops[0].total() + s.port_drops[1].total(), 0u);
  EXPECT_EQ(s.forwarded[0] + s.forwarded[1], 17u);
}

TEST(FabricSecurity, NocSpoofedSourceDroppedEveryOpcode) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(ncfg(2, 2, 2), 4);
  DropLog log;
  b.fab.set_fault_hook(&log);
  spoof_every_opcode(b, 3, 0, 1);
  EXPECT_EQ(log.by_port[3].src_spoofed, 32u);  // each drop reported to the hook
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kSrcSpoofed), 32u);
  EXPECT_EQ(s.node_drops[3].src_spoofed, 32u);
  EXPECT_EQ(s.node_drops[0].total() + s.node_drops[1].total() + s.node_drops[2].total(), 0u);
  EXPECT_EQ(s.delivered[0] + s.delivered[1], 17u);
}

// Routing a node id to a port attaches it there; a port whose node was
// routed away accepts nothing, and the moved node speaks from its new port.
TEST(FabricSecurity, CrossbarRouteAttachesNodeToPort) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(xcfg(4), 4);
  b.fab.set_route(3, -1);
  b.fab.set_route(40, 3);  // node 40 lives on port 3 now
  EXPECT_EQ(b.fab.port_node(3), 40);
  b.fab.set_route(2, -1);
  EXPECT_EQ(b.fab.port_node(2), -1);
  b.node[3]->stamp_src = 40;
  test::ThreadRunner drv("drv", [&] {
    EXPECT_TRUE(b.node[2]->send(pkt(2, 1, 8, 1)));   // port 2 has no node any more
    EXPECT_TRUE(b.node[3]->send(pkt(40, 1, 8, 2)));  // node 40 from its port
    b.node[3]->stamp_src = 3;
    EXPECT_TRUE(b.node[3]->send(pkt(3, 1, 8, 3)));   // the old id on that port
    EXPECT_TRUE(b.node[0]->send(pkt(0, 40, 8, 4)));  // routed to port 3
  });
  sc_start();
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.port_drops[2].src_spoofed, 1u);
  EXPECT_EQ(s.port_drops[3].src_spoofed, 1u);
  ASSERT_EQ(b.node[1]->rx.size(), 1u);
  EXPECT_EQ(b.node[1]->rx[0].hdr.tag, 2);
  ASSERT_EQ(b.node[3]->rx.size(), 1u);
  EXPECT_EQ(b.node[3]->rx[0].hdr.tag, 4);
}

namespace {
// Node `hold` grants one request credit and returns none. Node 0 sends 10
// packets to it, then 4 to node `nb`. Without the head-of-queue lifetime the
// withheld packets fill node 0's buffers in the fabric and the 4 never leave
// (0 of 4). With it the first withheld head is dropped after the lifetime
// (300 cycles here) and the stalled port drops the 8 others at once, so all
// is done within 1000 cycles (one lifetime per packet would take 2700). Once
// the node returns a credit its port works again.
template <typename B>
void credit_withholder(B& b, uint8_t hold, uint8_t nb, DropLog& log) {
  b.fab.set_fault_hook(&log);
  b.node[hold]->grant = {1, 1};
  b.node[hold]->auto_return = {false, false};
  bool done = false, after = false;
  test::ThreadRunner src("src", [&] {
    for (uint16_t k = 0; k < 10; ++k)
      while (!b.node[0]->send(pkt(0, hold, 100, static_cast<uint16_t>(0x100 + k)))) wait(P);
    for (uint16_t k = 0; k < 4; ++k)
      while (!b.node[0]->send(pkt(0, nb, 100, static_cast<uint16_t>(k)))) wait(P);
    done = true;
    wait(sc_time(1000, SC_NS) - sc_time_stamp());
    b.node[hold]->give_credit(0, 1);  // alive again
    wait(10 * P);
    EXPECT_TRUE(b.node[0]->send(pkt(0, hold, 100, 0x200)));
    wait(200 * P);
    after = true;
  });
  sc_start(sc_time(1000, SC_NS));
  EXPECT_TRUE(done) << "the sender was still blocked after 1000 cycles";
  EXPECT_EQ(b.node[nb]->rx.size(), 4u);  // 4 of 4 into the neighbour
  for (uint16_t k = 0; k < 4; ++k) EXPECT_EQ(count_tag(*b.node[nb], k), 1u);
  EXPECT_EQ(b.node[hold]->rx.size(), 1u);  // exactly its one credit
  sc_start(sc_time(2, SC_US));
  EXPECT_TRUE(after);
  EXPECT_EQ(count_tag(*b.node[hold], 0x200), 1u);  // delivered, not dropped
  EXPECT_EQ(b.node[0]->credits[0], 4u);  // every buffer of the sender freed
  EXPECT_EQ(log.by_port[hold].hol_timeout, 9u);
}
}  // namespace

TEST(FabricSecurity, CrossbarCreditWithholderDoesNotFreezeNeighbour) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(xcfg(3, 300), 3);
  DropLog log;
  credit_withholder(b, 1, 2, log);
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kHolTimeout), 9u);
  EXPECT_EQ(s.port_drops[1].hol_timeout, 9u);  // counted at the withholder's output port
  EXPECT_EQ(s.port_drops[2].total() + s.port_drops[0].total(), 0u);
  EXPECT_EQ(s.drops.total(), 9u);
  EXPECT_EQ(s.forwarded[0], 6u);
}

TEST(FabricSecurity, NocCreditWithholderDoesNotFreezeNeighbour) {
  CMM_REQUIRE_FRESH_KERNEL();
  // A line 0 - 1 - 2, one VC per class: node 0's packets to node 2 cross
  // router 1, whose node withholds credits.
  NBench b(ncfg(3, 1, 1, 300), 3);
  DropLog log;
  credit_withholder(b, 1, 2, log);
  const auto& s = b.fab.stats();
  EXPECT_EQ(s.drops.of(Reason::kHolTimeout), 9u);
  EXPECT_EQ(s.node_drops[1].hol_timeout, 9u);  // at router 1's ejection port
  EXPECT_EQ(s.node_drops[0].total() + s.node_drops[2].total(), 0u);
  EXPECT_EQ(s.drops.total(), 9u);
  EXPECT_EQ(s.flits_dropped, 9u * b.fab.flits_of(kHeaderBytes + 100));
  EXPECT_EQ(s.delivered[0], 6u);
  EXPECT_EQ(s.flits_injected, s.flits_ejected + s.flits_dropped);
  EXPECT_EQ(s.link_errors, 0u);
}

// Two CMMs and a rogue node on a crossbar. The rogue, knowing every id and
// generation of the channel but not its key, sends a CONNECT that claims to
// come from the receiver's node before the genuine CONNECT: dropped at its
// port (SRC_SPOOFED), so the genuine CONNECT installs the genuine key. The
// same CONNECT under the rogue's own id passes the edge and is refused by the
// sender's CMM (NACK to the rogue); the channel stays open and delivers.
TEST(FabricSecurity, SpoofedConnectCannotPreemptGenuine) {
  CMM_REQUIRE_FRESH_KERNEL();
  using test::Node;
  Node rx("n0", 0), tx("n1", 1);
  Crossbar xbar("xbar", xcfg(3));
  rx.cmm.eg_isock.bind(*xbar.in_tsock[0]);
  xbar.out_isock[0]->bind(rx.cmm.ing_tsock);
  tx.cmm.eg_isock.bind(*xbar.in_tsock[1]);
  xbar.out_isock[1]->bind(tx.cmm.ing_tsock);
  test::LinkStub rogue("rogue");  // node 2
  rogue.isock.bind(*xbar.in_tsock[2]);
  xbar.out_isock[2]->bind(rogue.tsock);

  auto kr = rx.biu.make_context(Priv::kKernel, 0);
  auto ur = rx.biu.make_context(Priv::kUser, 100);
  auto ks = tx.biu.make_context(Priv::kKernel, 0);
  auto us = tx.biu.make_context(Priv::kUser, 200);
  const Key key{0x0BADC0DEu, 0x12345678u, 0x9ABCDEF0u, 0x0F1E2D3Cu};
  const Key evil_key{0xE71Eu, 0xE71Eu, 0xE71Eu, 0xE71Eu};
  std::vector<uint8_t> msg(200);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i ^ 0x5A);
  bool delivered = false;
  uint64_t tx_rejects_before = 0, tx_rejects_after = 0;

  test::ThreadRunner agents("agents", [&] {
    const test::Chan c = test::setup_channel(*kr, 0, 100, 0, *ks, 1, 200, 0);
    Packet spoof;
    spoof.hdr.opcode = static_cast<uint8_t>(Opcode::kConnect);
    spoof.hdr.src_node = 0;  // the receiver's node
    spoof.hdr.src_part = 0;
    spoof.hdr.src_ep = static_cast<uint8_t>(c.rx_ep);
    spoof.hdr.dst_node = 1;
    spoof.hdr.dst_part = 0;
    spoof.hdr.dst_ep = static_cast<uint8_t>(c.tx_ep);
    spoof.hdr.src_gen = test::local_gen(*kr, c.rx_ep);
    spoof.hdr.dst_gen = test::local_gen(*ks, c.tx_ep);
    spoof.hdr.key = evil_key;
    EXPECT_TRUE(rogue.send(spoof));  // valid CRC: the rogue computes it too
    wait(100 * P);
    EXPECT_EQ(test::state_of(*ks, c.tx_ep), static_cast<uint32_t>(State::kAuthorized));
    EXPECT_EQ(xbar.stats().port_drops[2].src_spoofed, 1u);
    // The genuine CONNECT.
    test::connect(*kr, c.rx_ep, key);
    EXPECT_TRUE(test::wait_open(*kr, c.rx_ep));
    EXPECT_TRUE(test::wait_open(*ks, c.tx_ep));
    EXPECT_TRUE(tx.cmm.core().key_equals_for_test(c.tx_ep, key));
    EXPECT_FALSE(tx.cmm.core().key_equals_for_test(c.tx_ep, evil_key));
    // The rogue as itself: through the edge, judged (and refused) by the CMM.
    for (const auto& r : tx.cmm.stats().rejects) tx_rejects_before += r;
    spoof.hdr.src_node = 2;
    EXPECT_TRUE(rogue.send(spoof));
    wait(100 * P);
    for (const auto& r : tx.cmm.stats().rejects) tx_rejects_after += r;
    EXPECT_TRUE(tx.cmm.core().key_equals_for_test(c.tx_ep, key));
    EXPECT_EQ(test::state_of(*ks, c.tx_ep), static_cast<uint32_t>(State::kOpen));
    // Legitimate traffic.
    EXPECT_EQ(test::send_msg(*us, c.tx_ep, msg, 0x77), BusStatus::kOk);
    for (int i = 0; i < 100 && test::rx_count(*ur, c.rx_ep) == 0; ++i) wait(20 * P);
    uint32_t tag = 0;
    EXPECT_EQ(test::pop_msg(*ur, c.rx_ep, msg.size(), &tag), msg);
    EXPECT_EQ(tag, 0x77u);
    delivered = true;
  });
  sc_start(sc_time(1, SC_MS));
  EXPECT_TRUE(delivered);
  const auto& s = xbar.stats();
  EXPECT_EQ(s.drops.of(Reason::kSrcSpoofed), 1u);
  EXPECT_EQ(s.port_drops[2].src_spoofed, 1u);
  EXPECT_EQ(tx_rejects_after, tx_rejects_before + 1);
  size_t nacks = 0;
  for (const auto& r : rogue.rx) nacks += r.hdr.opcode == static_cast<uint8_t>(Opcode::kNack);
  EXPECT_EQ(nacks, 1u);  // answered to the rogue itself, never to the spoofed node
  EXPECT_EQ(rx.cmm.stats().drops.total() + tx.cmm.stats().drops.total(), 0u);
}

// The scenario with CMMs: a rogue node (port 1) provokes NACKs from
// node 0 and never returns a credit. Without the lifetime the NACKs fill the
// crossbar's buffers and node 0's response queue, node 0 stops accepting
// ingress, and the channel from node 2 into node 0 never opens (0 of 4
// messages). With the default lifetime each withheld NACK is dropped after
// 4096 cycles and all 4 messages arrive.
TEST(FabricSecurity, CreditWithholderDoesNotFreezeChannelsIntoNeighbour) {
  CMM_REQUIRE_FRESH_KERNEL();
  using test::Node;
  Node rx("n0", 0), tx("n2", 2);
  XbarConfig xc = xcfg(3);
  EXPECT_EQ(xc.hol_lifetime_cycles, 4096u);  // the default
  Crossbar xbar("xbar", xc);
  test::LinkStub rogue("rogue");  // node 1: grants no credit, returns none
  rogue.grant = {0, 0};
  rogue.auto_return = {false, false};
  rx.cmm.eg_isock.bind(*xbar.in_tsock[0]);
  xbar.out_isock[0]->bind(rx.cmm.ing_tsock);
  rogue.isock.bind(*xbar.in_tsock[1]);
  xbar.out_isock[1]->bind(rogue.tsock);
  tx.cmm.eg_isock.bind(*xbar.in_tsock[2]);
  xbar.out_isock[2]->bind(tx.cmm.ing_tsock);
  auto kr = rx.biu.make_context(Priv::kKernel, 0);
  auto ur = rx.biu.make_context(Priv::kUser, 100);
  auto ks = tx.biu.make_context(Priv::kKernel, 0);
  auto us = tx.biu.make_context(Priv::kUser, 200);
  constexpr uint32_t kFlood = 12;
  uint32_t got = 0;
  test::ThreadRunner attacker("attacker", [&] {
    for (uint32_t i = 0; i < kFlood; ++i) {  // DATA to a free endpoint: NACK NOT_OPEN to the rogue
      Packet p = pkt(1, 0, 8, static_cast<uint16_t>(0x100 + i));
      p.hdr.dst_ep = 15;
      while (!rogue.send(p)) wait(P);
    }
  });
  test::ThreadRunner agents("agents", [&] {
    wait(200 * P);  // the flood is in
    const test::Chan c = test::setup_channel(*kr, 0, 100, 0, *ks, 2, 200, 0);
    test::connect(*kr, c.rx_ep, Key{5, 6, 7, 8});
    if (!test::wait_open(*kr, c.rx_ep, 2000, 100 * P)) return;
    std::vector<uint8_t> m(64);
    for (uint16_t k = 0; k < 4; ++k) {
      std::fill(m.begin(), m.end(), static_cast<uint8_t>(k + 1));
      EXPECT_EQ(test::send_msg(*us, c.tx_ep, m, k), BusStatus::kOk);
    }
    for (int i = 0; i < 2000 && test::rx_count(*ur, c.rx_ep) < 4; ++i) wait(100 * P);
    for (uint16_t k = 0; k < 4 && test::rx_count(*ur, c.rx_ep) > 0; ++k) {
      uint32_t tag = 0;
      EXPECT_EQ(test::pop_msg(*ur, c.rx_ep, 64, &tag), std::vector<uint8_t>(64, static_cast<uint8_t>(k + 1)));
      EXPECT_EQ(tag, k);
      ++got;
    }
  });
  sc_start(sc_time(5, SC_MS));
  EXPECT_EQ(got, 4u);  // 4 of 4 into the neighbour of the withholder
  const auto& s = xbar.stats();
  EXPECT_EQ(s.drops.of(Reason::kHolTimeout), kFlood);  // every NACK to the rogue, at its output port
  EXPECT_EQ(s.port_drops[1].hol_timeout, kFlood);
  EXPECT_EQ(s.port_drops[0].total() + s.port_drops[2].total(), 0u);
  EXPECT_EQ(rx.cmm.core().reject_count(Reason::kNotOpen), kFlood);
  EXPECT_TRUE(rogue.rx.empty());
}

CMM_SC_TEST_MAIN
