// Noc with the pipelined router model (RouterModel::kPipeline, docs/fabric.md
// "Router models"): configuration, zero-load latency per hop (exact, deep
// and BookSim-like shallow buffers), the credit delay's effect on a
// credit-limited stream, allocator fairness (VC and switch allocation), no
// flit lost or duplicated under saturation, deadlock freedom on a torus.
#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cmm_tlm/noc.h"
#include "link_stub.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

const sc_time P(1, SC_NS);

struct NBench {
  Noc noc;
  std::vector<std::unique_ptr<test::LinkStub>> node;
  explicit NBench(const NocConfig& c, const std::string& prefix = "") : noc((prefix + "noc").c_str(), c) {
    for (uint32_t i = 0; i < c.num_nodes(); ++i) {
      node.push_back(std::make_unique<test::LinkStub>((prefix + "node" + std::to_string(i)).c_str()));
      node.back()->isock.bind(*noc.in_tsock[i]);
      noc.out_isock[i]->bind(node.back()->tsock);
    }
  }
};

// BookSim2's default iq router on the issue-11 workload: 1/1/1/1 stages,
// credit delay 0, 1 VC per class, 4-flit buffers, L = 1, 16-byte flits.
NocConfig booksim_like(Topology t, uint32_t x, uint32_t y) {
  NocConfig c;
  c.topology = t;
  c.x = x;
  c.y = y;
  c.vcs_per_class = t == Topology::kMesh ? 1 : 2;
  c.buf_depth_flits = 4;
  c.link_width_bytes = 16;
  c.link_latency_cycles = 1;
  set_router_model(c, "pipeline", 1, 1, 1, 1, 0, 1);
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

// One packet at a time on an idle network; returns the latency (cycles from
// the send to the arrival) of every (src, dst) pair and checks the payload.
std::map<std::pair<uint32_t, uint32_t>, uint64_t> lone_latencies(const NocConfig& c, uint16_t payload) {
  NBench b(c);
  const uint32_t n = c.num_nodes();
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> lat;
  test::ThreadRunner drv("drv", [&] {
    wait(3 * P);
    uint16_t tag = 0;
    for (uint32_t s = 0; s < n; ++s)
      for (uint32_t d = 0; d < n; ++d) {
        ++tag;
        const Packet p = pkt(static_cast<uint8_t>(s), static_cast<uint8_t>(d), payload, tag, tag % 2);
        const sc_time t0 = sc_time_stamp();
        const size_t before = b.node[d]->rx.size();
        EXPECT_TRUE(b.node[s]->send(p));
        wait(400 * P);
        ASSERT_EQ(b.node[d]->rx.size(), before + 1) << s << "->" << d;
        const auto& rx = b.node[d]->rx.back();
        EXPECT_EQ(rx.hdr.tag, p.hdr.tag);
        EXPECT_EQ(rx.payload, bytes_of(p));
        lat[{s, d}] = (rx.t - t0).value() / P.value();
      }
  });
  sc_start();
  EXPECT_EQ(b.noc.stats().link_errors, 0u);
  return lat;
}

}  // namespace

TEST(NocPipelineConfig, ParseAndValidate) {
  EXPECT_EQ(parse_router_model("simple"), RouterModel::kSimple);
  EXPECT_EQ(parse_router_model("pipeline"), RouterModel::kPipeline);
  EXPECT_STREQ(to_string(RouterModel::kPipeline), "pipeline");
  try {
    parse_router_model("iq");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("allowed values are simple, pipeline"), std::string::npos);
  }
  NocConfig c;
  EXPECT_EQ(c.router, RouterModel::kSimple);  // the default stays the 1-cycle router
  set_router_model(c, "pipeline", 2, 0, 3, 0, 7, 2);
  EXPECT_EQ(c.router, RouterModel::kPipeline);
  EXPECT_EQ(c.rc_cycles, 2u);
  EXPECT_EQ(c.va_cycles, 0u);
  EXPECT_EQ(c.sa_cycles, 3u);
  EXPECT_EQ(c.st_cycles, 0u);
  EXPECT_EQ(c.credit_delay_cycles, 7u);
  EXPECT_EQ(c.alloc_iters, 2u);
  const NocConfig keep = c;
  try {
    set_router_model(c, "pipeline", 1, 1, 0, 1, 0, 1);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("NocConfig.sa_cycles = 0: must be in [1, 64]"), std::string::npos) << e.what();
  }
  EXPECT_EQ(c.sa_cycles, keep.sa_cycles);  // unchanged on error
  EXPECT_THROW(set_router_model(c, "pipeline", 1, 1, 1, 1, 0, 0), std::invalid_argument);
  EXPECT_THROW(set_router_model(c, "pipeline", 65, 1, 1, 1, 0, 1), std::invalid_argument);
}

// Deep buffers (D >= P + 2L + 1 + cd: no credit stall): every pair of a 4x3
// mesh arrives at exactly zero_load_cycles() = F + 2L + P + H (P + L).
TEST(NocPipeline, ZeroLoadPerHopExactDeepBuffers) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = booksim_like(Topology::kMesh, 4, 3);
  c.buf_depth_flits = 16;
  c.link_latency_cycles = 2;
  set_router_model(c, "pipeline", 2, 1, 1, 2, 3, 1);  // P = 6, L = 2: 8 cycles per hop
  const uint16_t payload = 128 - kHeaderBytes;  // 128 B = 8 flits
  const auto lat = lone_latencies(c, payload);
  ASSERT_EQ(lat.size(), 144u);
  for (const auto& [sd, l] : lat) {
    const uint32_t s = sd.first, d = sd.second;
    const uint32_t h = (s % 4 > d % 4 ? s % 4 - d % 4 : d % 4 - s % 4) + (s / 4 > d / 4 ? s / 4 - d / 4 : d / 4 - s / 4);
    EXPECT_EQ(l, 8u + 2 * 2 + 6 + h * (6 + 2)) << s << "->" << d;
  }
}

// zero_load_cycles() agrees with the formula (checked without simulating).
TEST(NocPipeline, ZeroLoadFormula) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = booksim_like(Topology::kMesh, 4, 4);
  c.buf_depth_flits = 16;
  Noc noc("noc", c);
  EXPECT_EQ(noc.zero_load_cycles(0, 0, 128), 8u + 2 + 4);
  EXPECT_EQ(noc.zero_load_cycles(0, 15, 128), 8u + 2 + 4 + 6 * 5);
  EXPECT_EQ(noc.zero_load_cycles(5, 6, 32), 2u + 2 + 4 + 5);
}

// BookSim-like 4-flit buffers (shallower than the credit round trip of a
// head, P + 2L + 1 = 7): an 8-flit packet takes 15 + 5 H cycles for H >= 1
// (5 per hop and a one-cycle stall of the fifth flit behind the head's
// route computation and VC allocation), as BookSim2's iq router measures at
// zero load; H = 0 takes 14 = F + 2L + P (BookSim2: 15; docs/fabric.md
// "Calibration against BookSim2").
TEST(NocPipeline, ZeroLoadPerHopBookSimBuffers) {
  CMM_REQUIRE_FRESH_KERNEL();
  const NocConfig c = booksim_like(Topology::kMesh, 4, 4);
  const auto lat = lone_latencies(c, 128 - kHeaderBytes);
  ASSERT_EQ(lat.size(), 256u);
  for (const auto& [sd, l] : lat) {
    const uint32_t s = sd.first, d = sd.second;
    const uint32_t h = (s % 4 > d % 4 ? s % 4 - d % 4 : d % 4 - s % 4) + (s / 4 > d / 4 ? s / 4 - d / 4 : d / 4 - s / 4);
    EXPECT_EQ(l, h == 0 ? 14u : 15u + 5 * h) << s << "->" << d;
  }
}

// A 64-flit packet over one link with 4-flit buffers is credit-limited: one
// buffer's worth per credit round trip (switch allocation, traversal,
// link, the credit's register stage, its flight, credit_delay). Each extra
// cycle of credit delay costs about one cycle per 4 flits; with buffers
// deeper than the round trip the credit delay costs nothing.
TEST(NocPipeline, CreditDelayLimitsAStream) {
  CMM_REQUIRE_FRESH_KERNEL();
  // One elaboration per process: four independent 2-node networks side by side.
  NocConfig base = booksim_like(Topology::kMesh, 2, 1);
  std::vector<uint64_t> lat;
  std::vector<std::unique_ptr<NBench>> benches;
  const uint32_t delays[] = {0, 2, 4};
  for (uint32_t cd : delays) {
    NocConfig c = base;
    set_router_model(c, "pipeline", 1, 1, 1, 1, cd, 1);
    benches.push_back(std::make_unique<NBench>(c, "cd" + std::to_string(cd) + "_"));
  }
  NocConfig deep = base;
  deep.buf_depth_flits = 16;
  set_router_model(deep, "pipeline", 1, 1, 1, 1, 4, 1);
  benches.push_back(std::make_unique<NBench>(deep, "deep_"));
  const uint16_t payload = 64 * 16 - kHeaderBytes;  // 64 flits
  lat.assign(benches.size(), 0);
  test::ThreadRunner drv("drv", [&] {
    wait(3 * P);
    const sc_time t0 = sc_time_stamp();
    for (auto& b : benches) EXPECT_TRUE(b->node[0]->send(pkt(0, 1, payload, 1)));
    wait(4000 * P);
    for (size_t i = 0; i < benches.size(); ++i) {
      ASSERT_EQ(benches[i]->node[1]->rx.size(), 1u);
      lat[i] = (benches[i]->node[1]->rx[0].t - t0).value() / P.value();
    }
  });
  sc_start();
  // Round trip 5 + cd cycles for 4 credits: 64 flits take about 16 (5 + cd).
  EXPECT_LT(lat[0], lat[1]);
  EXPECT_LT(lat[1], lat[2]);
  EXPECT_NEAR(static_cast<double>(lat[1] - lat[0]), 16.0 * 2, 4.0);
  EXPECT_NEAR(static_cast<double>(lat[2] - lat[0]), 16.0 * 4, 4.0);
  // Deep buffers: the zero-load formula, credit delay 4 notwithstanding.
  EXPECT_EQ(lat[3], benches[3]->noc.zero_load_cycles(0, 1, 64 * 16));
}

// Five inputs of the centre router of a 3x3 mesh (four neighbours and its
// own node) flood its node. The ejection VC (one per class) is granted
// round-robin over the input VCs: while all are backlogged, every window of
// five deliveries holds one packet of each source.
TEST(NocPipeline, VcAllocatorIsRoundRobinFair) {
  CMM_REQUIRE_FRESH_KERNEL();
  const NocConfig c = booksim_like(Topology::kMesh, 3, 3);
  NBench b(c);
  const uint32_t srcs[] = {1, 3, 4, 5, 7};
  const int per_src = 30;
  std::vector<std::unique_ptr<test::ThreadRunner>> th;
  for (uint32_t s : srcs)
    th.push_back(std::make_unique<test::ThreadRunner>(("src" + std::to_string(s)).c_str(), [&b, s] {
      wait(3 * P);
      for (int i = 0; i < per_src;) {
        if (b.node[s]->send(pkt(static_cast<uint8_t>(s), 4, 128 - kHeaderBytes, static_cast<uint16_t>(i)))) ++i;
        wait(P);
      }
    }));
  sc_start(20000 * P);
  const auto& rx = b.node[4]->rx;
  ASSERT_EQ(rx.size(), 5u * per_src);
  // Skip the first window (sources start at different distances) and the
  // last (sources run dry one after another).
  for (size_t w = 5; w + 10 <= rx.size(); w += 5) {
    std::vector<uint32_t> seen;
    for (size_t k = w; k < w + 5; ++k) seen.push_back(rx[k].hdr.src_node);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, std::vector<uint32_t>({1, 3, 4, 5, 7})) << "window at " << w;
  }
  EXPECT_GT(b.noc.stats().vc_stalls[(4 * 5 + 1) * 2], 0u);  // the inputs did wait
}

// Four VCs per class: packets of the five inputs share the ejection port
// flit by flit. iSLIP grants the port round-robin over the inputs, so over
// the backlogged period each source gets the same share of it (within a
// packet), and the port is never idle while any input has a flit.
TEST(NocPipeline, SwitchAllocatorIsFairAndWorkConserving) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = booksim_like(Topology::kMesh, 3, 3);
  c.vcs_per_class = 4;
  c.buf_depth_flits = 8;
  set_router_model(c, "pipeline", 1, 1, 1, 1, 0, 2);
  NBench b(c);
  b.node[4]->grant = {16, 16};
  const uint32_t srcs[] = {1, 3, 4, 5, 7};
  const int per_src = 40;
  std::vector<std::unique_ptr<test::ThreadRunner>> th;
  for (uint32_t s : srcs)
    th.push_back(std::make_unique<test::ThreadRunner>(("src" + std::to_string(s)).c_str(), [&b, s] {
      wait(3 * P);
      for (int i = 0; i < per_src;) {
        if (b.node[s]->send(pkt(static_cast<uint8_t>(s), 4, 128 - kHeaderBytes, static_cast<uint16_t>(i)))) ++i;
        wait(P);
      }
    }));
  sc_start(20000 * P);
  const auto& rx = b.node[4]->rx;
  ASSERT_EQ(rx.size(), 5u * per_src);
  // First half of the deliveries: all sources still backlogged.
  std::map<uint32_t, int> share;
  for (size_t k = 0; k < rx.size() / 2; ++k) ++share[rx[k].hdr.src_node];
  for (uint32_t s : srcs) EXPECT_NEAR(share[s], static_cast<int>(rx.size() / 10), 2) << "source " << s;
  // Work conserving: 200 packets x 8 flits leave through one port in about
  // 1600 cycles (plus the pipeline fill).
  const uint64_t span = (rx.back().t - rx.front().t).value() / P.value();
  EXPECT_LE(span, 1600u + 40u);
  EXPECT_EQ(b.noc.stats().link_flits[4 * 5 + 0], 5u * per_src * 8);
}

// All-to-all flood past saturation on the BookSim-like 4x4 mesh, both
// classes: every packet arrives exactly once, with its payload, in flow
// order; flits in = flits out; no drop.
TEST(NocPipeline, SaturationLosesAndDuplicatesNothing) {
  CMM_REQUIRE_FRESH_KERNEL();
  const NocConfig c = booksim_like(Topology::kMesh, 4, 4);
  NBench b(c);
  const uint32_t n = 16;
  const int per_src = 120;
  std::vector<std::unique_ptr<test::ThreadRunner>> th;
  uint64_t refused = 0;
  for (uint32_t s = 0; s < n; ++s)
    th.push_back(std::make_unique<test::ThreadRunner>(("src" + std::to_string(s)).c_str(), [&b, &refused, s] {
      wait(3 * P);
      for (int i = 0; i < per_src;) {
        const uint8_t d = static_cast<uint8_t>((s * 7 + static_cast<uint32_t>(i) * 5 + 3) % n);
        const uint8_t cls = static_cast<uint8_t>(i % 3 == 0);
        if (b.node[s]->send(pkt(static_cast<uint8_t>(s), d, static_cast<uint16_t>(16 + (i % 7) * 40),
                                static_cast<uint16_t>(i), cls))) {
          ++i;
        } else {
          ++refused;  // out of NI credits: the network is full
        }
        wait(P);
      }
    }));
  sc_start(200000 * P);
  EXPECT_GT(refused, 1000u);  // sources were held back: saturated
  std::map<std::pair<uint32_t, uint32_t>, int> seen;  // (src, tag) -> count
  for (uint32_t d = 0; d < n; ++d) {
    std::map<std::pair<uint32_t, uint8_t>, int> last;  // (src, cls) -> last tag
    for (const auto& rx : b.node[d]->rx) {
      const uint32_t s = rx.hdr.src_node;
      ++seen[{s, rx.hdr.tag}];
      const Packet p = pkt(static_cast<uint8_t>(s), static_cast<uint8_t>(d), rx.len, rx.hdr.tag, rx.cls);
      EXPECT_EQ(rx.payload, bytes_of(p)) << s << "->" << d << " tag " << rx.hdr.tag;
      auto it = last.find({s, rx.cls});
      if (it != last.end()) {
        EXPECT_GT(static_cast<int>(rx.hdr.tag), it->second) << "flow order " << s << "->" << d;
      }
      last[{s, rx.cls}] = rx.hdr.tag;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n) * per_src);
  for (const auto& [k, cnt] : seen) EXPECT_EQ(cnt, 1) << k.first << " tag " << k.second;
  const NocStats& st = b.noc.stats();
  EXPECT_EQ(st.flits_injected, st.flits_ejected);
  EXPECT_EQ(st.flits_dropped, 0u);
  EXPECT_EQ(st.drops.total(), 0u);
  EXPECT_EQ(st.delivered[0] + st.delivered[1], static_cast<uint64_t>(n) * per_src);
  EXPECT_EQ(st.link_errors, 0u);
}

// The pipelined router keeps the dateline VC scheme: all-to-all on a 4x4
// torus with 2 VCs per class completes.
TEST(NocPipeline, TorusAllToAllCompletes) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = booksim_like(Topology::kTorus, 4, 4);
  c.buf_depth_flits = 2;
  set_router_model(c, "pipeline", 1, 1, 1, 1, 1, 1);
  NBench b(c);
  const uint32_t n = 16;
  std::vector<std::unique_ptr<test::ThreadRunner>> th;
  for (uint32_t s = 0; s < n; ++s)
    th.push_back(std::make_unique<test::ThreadRunner>(("src" + std::to_string(s)).c_str(), [&b, s] {
      wait(3 * P);
      for (uint32_t i = 0; i < 2 * n;) {
        const uint8_t d = static_cast<uint8_t>((s + 1 + i) % n);
        if (b.node[s]->send(pkt(static_cast<uint8_t>(s), d, 300, static_cast<uint16_t>(i),
                                static_cast<uint8_t>(i % 2))))
          ++i;
        wait(P);
      }
    }));
  sc_start(200000 * P);
  uint64_t got = 0;
  for (uint32_t d = 0; d < n; ++d) got += b.node[d]->rx.size();
  EXPECT_EQ(got, 2u * n * n);
  EXPECT_EQ(b.noc.stats().flits_injected, b.noc.stats().flits_ejected);
}

// The ejection port's head-of-queue lifetime works in the pipelined router
// too: a node that stops returning credits loses the packets that wait
// longer than the lifetime (counted HOL_TIMEOUT, their flits discarded and
// credited), and the rest of the network keeps delivering.
TEST(NocPipeline, HolLifetimeDropsAtAWithholdingNode) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = booksim_like(Topology::kMesh, 3, 1);
  c.hol_lifetime_cycles = 200;
  NBench b(c);
  b.node[2]->grant = {1, 1};
  b.node[2]->auto_return = {false, false};  // one packet, then no credit
  test::ThreadRunner drv("drv", [&] {
    wait(3 * P);
    for (uint16_t i = 0; i < 4;) {
      if (b.node[0]->send(pkt(0, 2, 128 - kHeaderBytes, i))) ++i;
      wait(P);
    }
    wait(2000 * P);
    EXPECT_TRUE(b.node[0]->send(pkt(0, 1, 128 - kHeaderBytes, 9)));  // another destination still works
    wait(200 * P);
  });
  sc_start();
  EXPECT_EQ(b.node[2]->rx.size(), 1u);
  EXPECT_EQ(b.node[1]->rx.size(), 1u);
  const NocStats& st = b.noc.stats();
  EXPECT_EQ(st.drops.hol_timeout, 3u);
  EXPECT_EQ(st.node_drops[2].hol_timeout, 3u);
  EXPECT_EQ(st.flits_injected, st.flits_ejected + st.flits_dropped);
  EXPECT_EQ(st.flits_dropped, 3u * 8);
}

CMM_SC_TEST_MAIN
