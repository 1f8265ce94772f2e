// Crossbar: zero-load latency formula (exact), output contention, response
// class overtaking requests (priority and under request back-pressure),
// unroutable packets and fault-hook drops are counted.
#include <memory>
#include <vector>

#include "cmm_tlm/crossbar.h"
#include "link_stub.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

struct XBench {
  Crossbar xbar;
  std::vector<std::unique_ptr<test::LinkStub>> node;
  explicit XBench(const XbarConfig& c) : xbar("xbar", c) {
    for (uint32_t i = 0; i < c.num_ports; ++i) {
      node.push_back(std::make_unique<test::LinkStub>(("node" + std::to_string(i)).c_str()));
      node.back()->stamp_src = static_cast<int>(i);  // a node speaks as itself
      node.back()->isock.bind(*xbar.in_tsock[i]);
      xbar.out_isock[i]->bind(node.back()->tsock);
    }
  }
};

XbarConfig uniform(uint32_t n, uint32_t w, uint32_t l, uint32_t r) {
  XbarConfig c;
  c.num_ports = n;
  c.router_delay_cycles = r;
  c.ports.assign(n, XbarPortConfig{w, l});
  return c;
}

Packet pkt(uint8_t dst, uint16_t payload, uint16_t tag, uint8_t cls = 0) {
  Packet p;
  p.hdr.opcode = cls ? static_cast<uint8_t>(regs::Opcode::kNack) : static_cast<uint8_t>(regs::Opcode::kData);
  p.hdr.dst_node = dst;
  p.hdr.len = payload;
  p.hdr.tag = tag;
  p.cls = cls;
  p.payload_len = payload;
  for (uint16_t i = 0; i < payload; ++i) p.payload[i] = static_cast<uint8_t>(i * 7 + tag);
  return p;
}

const sc_time P(1, SC_NS);

}  // namespace

// T = ceil(B/W_s) + L_s + R + ceil(B/W_d) + L_d cycles, B = 32 header bytes + payload.
TEST(Crossbar, ZeroLoadLatencyFormulaExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  XbarConfig c = uniform(3, 16, 2, 2);
  c.ports[0] = XbarPortConfig{16, 3};
  c.ports[1] = XbarPortConfig{8, 5};
  XBench b(c);
  EXPECT_EQ(kHeaderBytes, 36u);  // 284 header bits
  EXPECT_EQ(b.xbar.zero_load_cycles(0, 1, 128), 8u + 3 + 2 + 16 + 5);
  EXPECT_EQ(b.xbar.zero_load_cycles(0, 1, 28), 2u + 3 + 2 + 4 + 5);
  test::ThreadRunner drv("drv", [&] {
    wait(10 * P);
    EXPECT_TRUE(b.node[0]->send(pkt(1, 100, 1)));
    wait(100 * P);
    EXPECT_TRUE(b.node[0]->send(pkt(1, 0, 2)));
    wait(100 * P);
    EXPECT_TRUE(b.node[1]->send(pkt(0, 100, 3), 3 * P));  // annotated send time
  });
  sc_start();
  auto& rx1 = b.node[1]->rx;
  ASSERT_EQ(rx1.size(), 2u);
  EXPECT_EQ(b.xbar.zero_load_cycles(0, 1, 132), 9u + 3 + 2 + 17 + 5);
  EXPECT_EQ(rx1[0].t, 10 * P + 36 * P);
  EXPECT_EQ(rx1[0].len, 100);
  const Packet ref = pkt(1, 100, 1);
  EXPECT_EQ(rx1[0].payload, std::vector<uint8_t>(ref.payload.begin(), ref.payload.begin() + 100));
  EXPECT_EQ(rx1[1].t, 110 * P + 18 * P);  // header only: ceil(36/16) + 3 + 2 + ceil(36/8) + 5
  ASSERT_EQ(b.node[0]->rx.size(), 1u);
  EXPECT_EQ(b.node[0]->rx[0].t, 213 * P + (17 + 5 + 2 + 9 + 3) * P);
  // Credits all came back.
  EXPECT_EQ(b.node[0]->credits[0], 4u);
  EXPECT_EQ(b.xbar.stats().forwarded[0], 3u);
}

// Two packets to the same output at the same time: the second waits one
// output serialization time ceil(B/W_d).
TEST(Crossbar, ContentionAddsSerialization) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(uniform(3, 16, 2, 1));
  test::ThreadRunner drv("drv", [&] {
    wait(5 * P);
    EXPECT_TRUE(b.node[0]->send(pkt(1, 100, 1)));
    EXPECT_TRUE(b.node[2]->send(pkt(1, 100, 2)));
    // Same input link back to back: input serialization also queues.
    EXPECT_TRUE(b.node[0]->send(pkt(2, 100, 3)));
  });
  sc_start();
  const uint64_t zl = b.xbar.zero_load_cycles(0, 1, kHeaderBytes + 100);
  EXPECT_EQ(zl, 9u + 2 + 1 + 9 + 2);
  auto& rx1 = b.node[1]->rx;
  ASSERT_EQ(rx1.size(), 2u);
  EXPECT_EQ(rx1[0].hdr.tag, 1);
  EXPECT_EQ(rx1[0].t, 5 * P + zl * P);
  EXPECT_EQ(rx1[1].hdr.tag, 2);
  EXPECT_EQ(rx1[1].t, 5 * P + (zl + 9) * P);
  ASSERT_EQ(b.node[2]->rx.size(), 1u);
  EXPECT_EQ(b.node[2]->rx[0].t, 5 * P + (zl + 9) * P);  // waited 9 cycles on input link 0
}

// Requests that arrived earlier wait; the response goes as soon as the output
// link is free.
TEST(Crossbar, ResponseClassOvertakesRequests) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(uniform(5, 16, 2, 1));
  test::ThreadRunner drv("drv", [&] {
    EXPECT_TRUE(b.node[0]->send(pkt(4, 100, 1)));
    EXPECT_TRUE(b.node[1]->send(pkt(4, 100, 2)));
    EXPECT_TRUE(b.node[2]->send(pkt(4, 100, 3)));
    wait(12 * P);
    EXPECT_TRUE(b.node[3]->send(pkt(4, 0, 9, 1)));  // ready at 12+3+2+1 = 18
  });
  // B = 134: 9 cycles per request on a link; requests ready at 9+2+1 = 12.
  sc_start();
  auto& rx = b.node[4]->rx;
  ASSERT_EQ(rx.size(), 4u);
  EXPECT_EQ(rx[0].hdr.tag, 1);
  EXPECT_EQ(rx[0].t, 23 * P);  // ready 12, link busy 12..21
  EXPECT_EQ(rx[1].hdr.tag, 9);
  EXPECT_EQ(rx[1].cls, 1);
  EXPECT_EQ(rx[1].t, 21 * P + 3 * P + 2 * P);  // starts at 21, 3 cycles serialization (36 B), 2 flight
  EXPECT_EQ(rx[2].hdr.tag, 2);
  EXPECT_EQ(rx[2].t, 24 * P + 11 * P);
  EXPECT_EQ(rx[3].hdr.tag, 3);
}

// The destination withholds request credits (its ingress buffer is full):
// requests wait in the crossbar, never dropped; responses still pass.
TEST(Crossbar, ResponsesNotBlockedByRequestBackpressure) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(uniform(5, 16, 2, 1));
  b.node[4]->grant = {1, 4};
  b.node[4]->auto_return = {false, true};
  test::ThreadRunner drv("drv", [&] {
    EXPECT_TRUE(b.node[0]->send(pkt(4, 100, 1)));
    EXPECT_TRUE(b.node[1]->send(pkt(4, 100, 2)));
    EXPECT_TRUE(b.node[2]->send(pkt(4, 100, 3)));
    wait(50 * P);
    EXPECT_TRUE(b.node[3]->send(pkt(4, 0, 9, 1)));
    wait(150 * P);
    EXPECT_EQ(b.node[4]->rx.size(), 2u);
    b.node[4]->give_credit(0, 2);  // room again at t = 200
  });
  sc_start();
  auto& rx = b.node[4]->rx;
  ASSERT_EQ(rx.size(), 4u);
  EXPECT_EQ(rx[0].hdr.tag, 1);
  EXPECT_EQ(rx[1].hdr.tag, 9);
  EXPECT_EQ(rx[1].t, 50 * P + b.xbar.zero_load_cycles(3, 4, kHeaderBytes) * P);
  EXPECT_EQ(rx[2].hdr.tag, 2);
  EXPECT_EQ(rx[2].t, 200 * P + (9 + 2) * P);
  EXPECT_EQ(rx[3].hdr.tag, 3);
  EXPECT_EQ(rx[3].t, 200 * P + (9 + 9 + 2) * P);
  EXPECT_EQ(b.xbar.stats().fault_drops + b.xbar.stats().unroutable, 0u);
}

namespace {
class TestHook : public FaultHook {
 public:
  FaultDecision on_packet(Packet& p, uint32_t, uint64_t) override {
    FaultDecision f;
    if (p.hdr.tag == 1) f.drop = true;
    if (p.hdr.tag == 2) f.duplicates = 1;
    if (p.hdr.tag == 3) {
      p.payload[0] ^= 0xFF;
      f.corrupted = true;
    }
    if (p.hdr.tag == 4) f.extra_delay_cycles = 100;
    return f;
  }
  void on_unroutable(const Packet&, uint32_t in_port) override { unroutable_from = static_cast<int>(in_port); }
  int unroutable_from = -1;
};
}  // namespace

TEST(Crossbar, FaultsAndUnroutableAreCounted) {
  CMM_REQUIRE_FRESH_KERNEL();
  XBench b(uniform(2, 16, 2, 1));
  TestHook hook;
  b.xbar.set_fault_hook(&hook);
  test::ThreadRunner drv("drv", [&] {
    for (uint16_t tag = 1; tag <= 4; ++tag) {
      EXPECT_TRUE(b.node[0]->send(pkt(1, 40, tag)));
      wait(30 * P);
    }
    EXPECT_TRUE(b.node[0]->send(pkt(77, 4, 5)));  // no node 77
  });
  sc_start();
  const auto& s = b.xbar.stats();
  EXPECT_EQ(s.fault_drops, 1u);
  EXPECT_EQ(s.fault_duplicates, 1u);
  EXPECT_EQ(s.fault_corruptions, 1u);
  EXPECT_EQ(s.fault_delays, 1u);
  EXPECT_EQ(s.unroutable, 1u);
  EXPECT_EQ(hook.unroutable_from, 0);
  auto& rx = b.node[1]->rx;
  ASSERT_EQ(rx.size(), 4u);  // 2, 2 (duplicate), 3, 4
  EXPECT_EQ(rx[0].hdr.tag, 2);
  EXPECT_EQ(rx[1].hdr.tag, 2);
  EXPECT_EQ(rx[2].hdr.tag, 3);
  EXPECT_EQ(rx[2].payload[0], static_cast<uint8_t>(pkt(1, 40, 3).payload[0] ^ 0xFF));
  EXPECT_EQ(rx[3].hdr.tag, 4);
  EXPECT_EQ(b.node[0]->credits[0], 4u);  // every slot released
}

CMM_SC_TEST_MAIN
