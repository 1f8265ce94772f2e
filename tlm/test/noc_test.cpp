// Noc fabric: config validation, zero-load latency formula (exact) on ring,
// mesh and torus, deadlock freedom under all-to-all load, responses passing
// blocked requests, credit back-pressure into a node that withholds credits,
// fault hook and unroutable counting, statistics and idle skipping, per-flow
// delivery order under cross traffic.
#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/noc.h"
#include "cmm_tlm/node_bus.h"
#include "link_stub.h"
#include "cmm_node_util.h"
#include "sc_test_util.h"
#include "two_node_flow.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

const sc_time P(1, SC_NS);

struct NBench {
  Noc noc;
  std::vector<std::unique_ptr<test::LinkStub>> node;
  explicit NBench(const NocConfig& c) : noc("noc", c) {
    for (uint32_t i = 0; i < c.num_nodes(); ++i) {
      node.push_back(std::make_unique<test::LinkStub>(("node" + std::to_string(i)).c_str()));
      node.back()->isock.bind(*noc.in_tsock[i]);
      noc.out_isock[i]->bind(node.back()->tsock);
    }
  }
};

NocConfig make(Topology t, uint32_t x, uint32_t y, uint32_t w, uint32_t l, uint32_t r, uint32_t d,
               uint32_t vpc = 2) {
  NocConfig c;
  c.topology = t;
  c.x = x;
  c.y = y;
  c.link_width_bytes = w;
  c.link_latency_cycles = l;
  c.router_delay_cycles = r;
  c.buf_depth_flits = d;
  c.vcs_per_class = vpc;
  return c;
}

Packet pkt(uint8_t src, uint8_t dst, uint16_t payload, uint16_t tag, uint8_t cls = 0) {
  Packet p;
  p.hdr.opcode = cls ? static_cast<uint8_t>(regs::Opcode::kNack) : static_cast<uint8_t>(regs::Opcode::kData);
  p.hdr.src_node = src;
  p.hdr.dst_node = dst;
  p.hdr.len = payload;
  p.hdr.tag = tag;
  p.cls = cls;
  p.payload_len = payload;
  for (uint16_t i = 0; i < payload; ++i) p.payload[i] = static_cast<uint8_t>(i * 7 + tag + src);
  return p;
}

std::vector<uint8_t> bytes_of(const Packet& p) {
  return std::vector<uint8_t>(p.payload.begin(), p.payload.begin() + p.payload_len);
}

void expect_invalid(const NocConfig& c, const std::string& what) {
  try {
    c.validate();
    ADD_FAILURE() << "no exception, expected: " << what;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

// Sends every (src, dst, payload) one at a time on an idle network and checks
// the delivery time against zero_load_cycles() exactly.
void zero_load_all_pairs(const NocConfig& c, const std::vector<uint16_t>& payloads) {
  NBench b(c);
  const uint32_t n = c.num_nodes();
  uint32_t checked = 0;
  test::ThreadRunner drv("drv", [&] {
    wait(3 * P);
    uint16_t tag = 0;
    for (uint16_t pl : payloads)
      for (uint32_t s = 0; s < n; ++s)
        for (uint32_t d = 0; d < n; ++d) {
          ++tag;
          const Packet p = pkt(static_cast<uint8_t>(s), static_cast<uint8_t>(d), pl, tag, tag % 2);
          const sc_time t0 = sc_time_stamp();
          const size_t before = b.node[d]->rx.size();
          EXPECT_TRUE(b.node[s]->send(p));
          const uint64_t zl = b.noc.zero_load_cycles(s, d, p.wire_bytes());
          wait((zl + 5) * P);
          ASSERT_EQ(b.node[d]->rx.size(), before + 1) << s << "->" << d;
          const auto& rx = b.node[d]->rx.back();
          EXPECT_EQ(rx.t, t0 + zl * P) << s << "->" << d << " payload " << pl;
          EXPECT_EQ(rx.hdr.tag, p.hdr.tag);
          EXPECT_EQ(rx.payload, bytes_of(p));
          ++checked;
        }
  });
  sc_start();
  EXPECT_EQ(checked, payloads.size() * n * n);
  EXPECT_EQ(b.noc.stats().link_errors, 0u);
}

}  // namespace

TEST(NocConfig, ValidationNamesParameterAndValue) {
  NocConfig ok;
  EXPECT_NO_THROW(ok.validate());
  NocConfig c = ok;
  c.buf_depth_flits = 0;
  expect_invalid(c, "NocConfig.buf_depth_flits = 0: must be in [1, 1024]");
  c = ok;
  c.link_width_bytes = 0;
  expect_invalid(c, "NocConfig.link_width_bytes = 0");
  c = ok;
  c.link_latency_cycles = 0;
  expect_invalid(c, "NocConfig.link_latency_cycles = 0");
  c = ok;
  c.x = 0;
  expect_invalid(c, "NocConfig.x = 0");
  c = ok;
  c.x = 257;  // 16-bit node ids: x, y <= 256 bound x*y by 65536
  expect_invalid(c, "NocConfig.x = 257");
  c = ok;
  c.topology = Topology::kRing;
  c.x = 8;
  c.y = 3;
  expect_invalid(c, "NocConfig.y = 3: must be 1 for a ring");
  c = ok;
  c.topology = Topology::kTorus;
  c.vcs_per_class = 1;
  expect_invalid(c, "NocConfig.vcs_per_class = 1: must be >= 2 for a ring or torus");
  c.topology = Topology::kMesh;
  EXPECT_NO_THROW(c.validate());  // a mesh needs no dateline
  c.vcs_per_class = 9;
  expect_invalid(c, "NocConfig.vcs_per_class = 9");
  c = ok;
  c.ni_slots_per_class = 0;
  expect_invalid(c, "NocConfig.ni_slots_per_class = 0");
  c = ok;
  c.clock_period = SC_ZERO_TIME;
  expect_invalid(c, "NocConfig.clock_period");
}

TEST(NocConfig, ParseTopology) {
  EXPECT_EQ(parse_topology("ring"), Topology::kRing);
  EXPECT_EQ(parse_topology("mesh"), Topology::kMesh);
  EXPECT_EQ(parse_topology("torus"), Topology::kTorus);
  EXPECT_STREQ(to_string(Topology::kTorus), "torus");
  try {
    parse_topology("hypercube");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'hypercube'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("ring, mesh, torus"), std::string::npos);
  }
}

TEST(Noc, ConstructorRejectsBadConfig) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c;
  c.router_delay_cycles = 5000;
  EXPECT_THROW(Noc("bad", c), std::invalid_argument);
}

// T = 1 + ceil(B/W) + (H+1)*R + H*L for every pair and size.
TEST(Noc, ZeroLoadExactRing) {
  CMM_REQUIRE_FRESH_KERNEL();
  zero_load_all_pairs(make(Topology::kRing, 6, 1, 16, 2, 1, 8), {0, 36, 1024});
}

TEST(Noc, ZeroLoadExactMesh) {
  CMM_REQUIRE_FRESH_KERNEL();
  zero_load_all_pairs(make(Topology::kMesh, 3, 4, 8, 1, 2, 4, 1), {0, 100});
}

TEST(Noc, ZeroLoadExactTorus) {
  CMM_REQUIRE_FRESH_KERNEL();
  zero_load_all_pairs(make(Topology::kTorus, 4, 3, 32, 3, 0, 6, 3), {5, 300});
}

TEST(Noc, ZeroLoadFormulaValuesAndOffGridSend) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(make(Topology::kMesh, 4, 4, 16, 2, 1, 8));
  EXPECT_EQ(b.noc.hops(0, 15), 6u);
  EXPECT_EQ(b.noc.zero_load_cycles(0, 15, 128), 1u + 8 + 7 * 1 + 6 * 2);
  EXPECT_EQ(b.noc.zero_load_cycles(5, 5, 28), 1u + 2 + 1);
  EXPECT_EQ(b.noc.neighbor(0, 1), 1);   // +x
  EXPECT_EQ(b.noc.neighbor(0, 2), -1);  // mesh edge
  EXPECT_EQ(b.noc.neighbor(0, 3), 4);   // +y
  test::ThreadRunner drv("drv", [&] {
    wait(10 * P);
    // Annotated arrival at 12.5 ns: the NI latches at edge 13, i.e. T counts from cycle 12.
    EXPECT_TRUE(b.node[0]->send(pkt(0, 15, 128 - kHeaderBytes, 1), sc_time(2.5, SC_NS)));
  });
  sc_start();
  ASSERT_EQ(b.node[15]->rx.size(), 1u);
  EXPECT_EQ(b.node[15]->rx[0].t, (12 + b.noc.zero_load_cycles(0, 15, 128)) * P);
  const auto& s = b.noc.stats();
  EXPECT_EQ(s.delivered[0], 1u);
  EXPECT_EQ(s.latency_sum[0], b.noc.zero_load_cycles(0, 15, 128));
  // XY path 0-1-2-3-7-11-15: 8 flits on each link, ejection at 15.
  for (uint32_t r : {0u, 1u, 2u}) EXPECT_EQ(s.link_flits[r * 5 + 1], 8u);
  for (uint32_t r : {3u, 7u, 11u}) EXPECT_EQ(s.link_flits[r * 5 + 3], 8u);
  EXPECT_EQ(s.link_flits[15 * 5 + 0], 8u);
  EXPECT_EQ(s.flits_injected, 8u);
  EXPECT_EQ(s.flits_ejected, 8u);
}

namespace {

// Every node sends `per_pair` packets to every node (itself included) as fast
// as its credits allow; both classes, long packets, small buffers.
void all_to_all(const NocConfig& c, uint32_t per_pair, uint16_t payload) {
  NBench b(c);
  const uint32_t n = c.num_nodes();
  std::vector<std::unique_ptr<test::ThreadRunner>> drv;
  uint64_t sent = 0;
  for (uint32_t s = 0; s < n; ++s)
    drv.push_back(std::make_unique<test::ThreadRunner>(("drv" + std::to_string(s)).c_str(), [&, s] {
      uint16_t tag = 0;
      for (uint32_t k = 0; k < per_pair; ++k)
        for (uint32_t j = 0; j < n; ++j) {
          const uint32_t d = (s + j + k) % n;
          const Packet p = pkt(static_cast<uint8_t>(s), static_cast<uint8_t>(d),
                               static_cast<uint16_t>(payload + (tag % 3) * 17), tag, tag % 4 == 3);
          ++tag;
          while (!b.node[s]->send(p)) wait(P);
          ++sent;
        }
    }));
  sc_start(sc_time(2, SC_MS), SC_EXIT_ON_STARVATION);  // watchdog: a deadlock leaves packets undelivered
  EXPECT_LT(sc_time_stamp(), sc_time(2, SC_MS)) << "simulation did not drain";
  EXPECT_EQ(sent, uint64_t{n} * n * per_pair);
  uint64_t got = 0;
  for (uint32_t d = 0; d < n; ++d) {
    got += b.node[d]->rx.size();
    std::vector<uint32_t> from(n, 0);
    for (const auto& r : b.node[d]->rx) {
      ++from[r.hdr.src_node];
      const Packet ref = pkt(r.hdr.src_node, static_cast<uint8_t>(d), r.len, r.hdr.tag, r.cls);
      EXPECT_EQ(r.payload, bytes_of(ref));
    }
    for (uint32_t s = 0; s < n; ++s) EXPECT_EQ(from[s], per_pair) << s << "->" << d;
  }
  EXPECT_EQ(got, uint64_t{n} * n * per_pair);
  const auto& st = b.noc.stats();
  EXPECT_EQ(st.delivered[0] + st.delivered[1], got);
  EXPECT_EQ(st.link_errors, 0u);
  EXPECT_EQ(st.flits_injected, st.flits_ejected);
  for (uint32_t s = 0; s < n; ++s) EXPECT_EQ(b.node[s]->credits[0] + b.node[s]->credits[1], 8u);
}

}  // namespace

TEST(Noc, DeadlockFreeAllToAllRing) {
  CMM_REQUIRE_FRESH_KERNEL();
  all_to_all(make(Topology::kRing, 8, 1, 8, 1, 1, 2), 4, 150);
}

TEST(Noc, DeadlockFreeAllToAllTorus) {
  CMM_REQUIRE_FRESH_KERNEL();
  all_to_all(make(Topology::kTorus, 4, 4, 8, 2, 1, 2), 3, 120);
}

TEST(Noc, DeadlockFreeAllToAllMeshOneVcPerClass) {
  CMM_REQUIRE_FRESH_KERNEL();
  all_to_all(make(Topology::kMesh, 4, 3, 8, 1, 1, 2, 1), 3, 120);
}

namespace {

// One flow per class (node 0 -> the far node) sends long and short packets
// alternately while every other node floods random destinations: each flow
// must arrive in injection order (the CMMs refuse an overtaken DATA SEQ_OLD).
void flow_order_under_load(const NocConfig& c) {
  NBench b(c);
  const uint32_t n = c.num_nodes();
  const uint8_t dst = static_cast<uint8_t>(n - 1);
  constexpr uint16_t kFlow = 120;
  bool done = false;
  std::vector<std::unique_ptr<test::ThreadRunner>> drv;
  drv.push_back(std::make_unique<test::ThreadRunner>("flow", [&] {
    for (uint16_t k = 0; k < kFlow; ++k)
      for (uint8_t cls : {0, 1}) {
        const Packet p = pkt(0, dst, k % 2 ? 0 : 220, static_cast<uint16_t>(k + 1), cls);
        while (!b.node[0]->send(p)) wait(P);
      }
    done = true;
  }));
  for (uint32_t s = 1; s < n; ++s)
    drv.push_back(std::make_unique<test::ThreadRunner>(("x" + std::to_string(s)).c_str(), [&, s] {
      uint32_t lcg = s * 2654435761u + 1;
      uint16_t tag = 1000;
      while (!done) {
        lcg = lcg * 1664525u + 1013904223u;
        const uint8_t d = static_cast<uint8_t>((lcg >> 8) % n);
        const Packet p = pkt(static_cast<uint8_t>(s), d, static_cast<uint16_t>((lcg >> 20) % 240), tag++,
                             (lcg >> 4) % 4 == 0);
        while (!b.node[s]->send(p)) wait(P);
      }
    }));
  sc_start(sc_time(5, SC_MS), SC_EXIT_ON_STARVATION);
  EXPECT_LT(sc_time_stamp(), sc_time(5, SC_MS)) << "simulation did not drain";
  for (uint8_t cls : {0, 1}) {
    std::vector<uint16_t> tags;
    for (const auto& r : b.node[dst]->rx)
      if (r.hdr.src_node == 0 && r.cls == cls) tags.push_back(r.hdr.tag);
    ASSERT_EQ(tags.size(), kFlow) << "class " << int{cls};
    uint32_t overtaken = 0;
    for (uint16_t k = 1; k < kFlow; ++k) overtaken += tags[k] < tags[k - 1];
    EXPECT_EQ(overtaken, 0u) << "class " << int{cls};
    std::vector<uint16_t> want(kFlow);
    std::iota(want.begin(), want.end(), uint16_t{1});
    EXPECT_EQ(tags, want) << "class " << int{cls};
  }
  const auto& st = b.noc.stats();
  EXPECT_GT(std::accumulate(st.vc_stalls.begin(), st.vc_stalls.end(), uint64_t{0}), 0u);  // it was loaded
  EXPECT_EQ(st.link_errors, 0u);
  EXPECT_EQ(st.flits_injected, st.flits_ejected);
}

}  // namespace

TEST(Noc, FlowStaysInOrderUnderLoadMesh) {
  CMM_REQUIRE_FRESH_KERNEL();
  flow_order_under_load(make(Topology::kMesh, 4, 4, 8, 2, 1, 4, 3));
}

TEST(Noc, FlowStaysInOrderUnderLoadTorus) {
  CMM_REQUIRE_FRESH_KERNEL();
  flow_order_under_load(make(Topology::kTorus, 4, 4, 8, 2, 1, 4, 4));
}

// The destination withholds request credits: requests back up into the
// network (one VC per class), a response still arrives at zero-load latency.
TEST(Noc, ResponsesOvertakeBlockedRequests) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(make(Topology::kMesh, 3, 3, 16, 2, 1, 8, 1));
  b.node[4]->grant = {1, 4};
  b.node[4]->auto_return = {false, true};
  sc_time resp_sent;
  test::ThreadRunner drv("drv", [&] {
    uint16_t tag = 1;
    for (int k = 0; k < 3; ++k)
      for (uint8_t s : {0, 1, 2, 3, 5, 7}) {
        while (!b.node[s]->send(pkt(s, 4, 200, tag))) wait(P);
        ++tag;
      }
    wait(300 * P);
    EXPECT_EQ(b.node[4]->rx.size(), 1u);
    resp_sent = sc_time_stamp();
    EXPECT_TRUE(b.node[8]->send(pkt(8, 4, 0, 99, 1)));
    wait(200 * P);
    b.node[4]->give_credit(0, 17);
  });
  sc_start();
  auto& rx = b.node[4]->rx;
  ASSERT_EQ(rx.size(), 19u);
  EXPECT_EQ(rx[1].hdr.tag, 99);
  EXPECT_EQ(rx[1].cls, 1);
  EXPECT_EQ(rx[1].t, resp_sent + b.noc.zero_load_cycles(8, 4, kHeaderBytes) * P);
  const auto& s = b.noc.stats();
  EXPECT_GT(s.eject_credit_stalls[4], 0u);
  EXPECT_GT(s.stalled_cycles, 0u);  // blocked time was skipped, not stepped
  EXPECT_EQ(s.link_errors, 0u);
  EXPECT_EQ(s.delivered[0], 18u);
}

// A node that withholds credits: nothing is delivered without a credit, the
// back-pressure reaches the sender (its NI credits run out), nothing is lost.
TEST(Noc, CreditBackpressureIntoNode) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(make(Topology::kMesh, 2, 2, 16, 2, 1, 8));
  b.node[3]->grant = {2, 4};
  b.node[3]->auto_return = {false, true};
  uint32_t sent = 0;
  test::ThreadRunner src("src", [&] {
    for (uint16_t tag = 0; tag < 40; ++tag) {
      while (!b.node[0]->send(pkt(0, 3, 100, tag))) wait(P);
      ++sent;
    }
  });
  test::ThreadRunner ctl("ctl", [&] {
    wait(1000 * P);
    EXPECT_EQ(b.node[3]->rx.size(), 2u);
    EXPECT_LT(sent, 40u);
    EXPECT_EQ(b.node[0]->credits[0], 0u);
    for (int k = 0; k < 38; ++k) {  // one credit at a time, slowly
      b.node[3]->give_credit(0, 1);
      wait(50 * P);
      EXPECT_EQ(b.node[3]->rx.size(), 3u + k);
    }
  });
  sc_start();
  auto& rx = b.node[3]->rx;
  ASSERT_EQ(rx.size(), 40u);
  std::vector<uint16_t> tags;
  for (auto& r : rx) tags.push_back(r.hdr.tag);
  std::sort(tags.begin(), tags.end());
  for (uint16_t i = 0; i < 40; ++i) EXPECT_EQ(tags[i], i);
  EXPECT_EQ(b.noc.stats().link_errors, 0u);
  EXPECT_EQ(b.node[0]->credits[0], 4u);
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
  void on_unroutable(const Packet& p, uint32_t in_port) override {
    unroutable_from = static_cast<int>(in_port);
    unroutable_dst = p.hdr.dst_node;
  }
  void on_forward(const Packet& p, uint32_t in_port, uint32_t out_port, const sc_time&) override {
    fwd.push_back({p.hdr.tag, in_port * 100 + out_port});
  }
  int unroutable_from = -1, unroutable_dst = -1;
  std::vector<std::pair<uint16_t, uint32_t>> fwd;
};
}  // namespace

TEST(Noc, FaultsUnroutableAndRoutesAreCounted) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(make(Topology::kTorus, 3, 2, 16, 1, 1, 4));
  TestHook hook;
  b.noc.set_fault_hook(&hook);
  b.noc.set_route(40, 5);   // node id 40 lives at router 5
  b.noc.set_route(2, -1);   // node 2 unreachable
  test::ThreadRunner drv("drv", [&] {
    for (uint16_t tag = 1; tag <= 4; ++tag) {
      EXPECT_TRUE(b.node[0]->send(pkt(0, 1, 40, tag)));
      wait(30 * P);
    }
    EXPECT_TRUE(b.node[0]->send(pkt(0, 1, 40, 5)));  // overtakes the delayed tag 4
    wait(200 * P);
    EXPECT_TRUE(b.node[3]->send(pkt(3, 77, 4, 6)));  // no node 77
    EXPECT_TRUE(b.node[3]->send(pkt(3, 2, 4, 7)));   // route removed
    EXPECT_TRUE(b.node[3]->send(pkt(3, 40, 4, 8)));
  });
  sc_start();
  const auto& s = b.noc.stats();
  EXPECT_EQ(s.fault_drops, 1u);
  EXPECT_EQ(s.fault_duplicates, 1u);
  EXPECT_EQ(s.fault_corruptions, 1u);
  EXPECT_EQ(s.fault_delays, 1u);
  EXPECT_EQ(s.unroutable, 2u);
  EXPECT_EQ(hook.unroutable_from, 3);
  EXPECT_EQ(hook.unroutable_dst, 2);
  auto& rx = b.node[1]->rx;
  ASSERT_EQ(rx.size(), 5u);
  EXPECT_EQ(rx[0].hdr.tag, 2);
  EXPECT_EQ(rx[1].hdr.tag, 2);
  EXPECT_EQ(rx[0].payload, rx[1].payload);
  EXPECT_EQ(rx[2].hdr.tag, 3);
  EXPECT_EQ(rx[2].payload[0], static_cast<uint8_t>(pkt(0, 1, 40, 3).payload[0] ^ 0xFF));
  EXPECT_EQ(rx[3].hdr.tag, 5);
  EXPECT_EQ(rx[4].hdr.tag, 4);
  EXPECT_GE(rx[4].t, 90 * P + 100 * P);
  ASSERT_EQ(b.node[5]->rx.size(), 1u);
  EXPECT_EQ(b.node[5]->rx[0].hdr.tag, 8);
  ASSERT_EQ(hook.fwd.size(), 6u);  // one per delivered copy, at its ejection
  EXPECT_EQ(hook.fwd[0], std::make_pair(uint16_t{2}, 1u));
  EXPECT_EQ(hook.fwd[5], std::make_pair(uint16_t{8}, 305u));
  EXPECT_EQ(b.node[0]->credits[0], 4u);  // every NI slot released
  EXPECT_EQ(b.node[3]->credits[0], 4u);
  EXPECT_EQ(s.injected[0], 8u);
  EXPECT_EQ(s.delivered[0], 6u);
}

// An idle network costs no steps: a 1 ms gap between two packets adds none.
TEST(Noc, IdleCyclesAreSkippedAndOccupancyCounted) {
  CMM_REQUIRE_FRESH_KERNEL();
  NBench b(make(Topology::kRing, 5, 1, 16, 2, 1, 8));
  const uint64_t zl = b.noc.zero_load_cycles(0, 2, 128);
  test::ThreadRunner drv("drv", [&] {
    EXPECT_TRUE(b.node[0]->send(pkt(0, 2, 128 - kHeaderBytes, 1)));
    wait(sc_time(1, SC_MS));
    EXPECT_TRUE(b.node[0]->send(pkt(0, 2, 128 - kHeaderBytes, 2)));
  });
  sc_start();
  ASSERT_EQ(b.node[2]->rx.size(), 2u);
  EXPECT_EQ(b.node[2]->rx[1].t, sc_time(1, SC_MS) + zl * P);
  const auto& s = b.noc.stats();
  EXPECT_LE(s.steps, 2 * (zl + 2 * 2));  // active cycles + credit drain only
  uint64_t occ = 0;
  for (auto v : s.buf_occupancy_sum) occ += v;
  EXPECT_GT(occ, 0u);
  EXPECT_GT(s.buf_occupancy_max[1], 0u);
  uint64_t stalls = 0;
  for (auto v : s.vc_stalls) stalls += v;
  EXPECT_EQ(stalls, 0u);  // zero load: no flit ever waits
}

// CmmTlm nodes bind to the Noc exactly as to the Crossbar: the patent flow
// (CST setup, CONNECT/ACK, doorbell DATA, delivery) across a 2x2 mesh, node 1
// to node 2 (2 hops); header timing egress edge -> ingress accept edge =
// zero-load latency + 1 cycle.
TEST(Noc, CmmTlmNodesConnectAndDeliverAcrossMesh) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig nc = make(Topology::kMesh, 2, 2, 16, 2, 1, 8);
  Noc noc("noc", nc);
  test::Node rx("n0", 2), tx("n1", 1), idle0("n2", 0), idle3("n3", 3);
  test::Node* at[4] = {&idle0, &tx, &rx, &idle3};
  for (uint32_t i = 0; i < 4; ++i) {
    at[i]->cmm.eg_isock.bind(*noc.in_tsock[i]);
    noc.out_isock[i]->bind(at[i]->cmm.ing_tsock);
  }
  test::FlowResult f;
  test::run_two_node_flow(rx, 2, tx, 1, f);
  const uint64_t zl = noc.zero_load_cycles(1, 2, kHeaderBytes + 300);
  EXPECT_EQ(zl, 1u + 21 + 3 * 1 + 2 * 2);
  EXPECT_EQ(f.rx.data_acc - f.tx.data_eg, (zl + 1) * P);
  EXPECT_LT(noc.stats().steps, 2000u);  // idle network: no events
  EXPECT_EQ(rx.cmm.stats().link_errors + tx.cmm.stats().link_errors + noc.stats().link_errors, 0u);
  EXPECT_EQ(noc.stats().delivered[0] + noc.stats().delivered[1], noc.stats().injected[0] + noc.stats().injected[1]);
}

CMM_SC_TEST_MAIN
