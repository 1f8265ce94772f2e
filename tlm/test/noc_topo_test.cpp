// Switched fabrics (topo.h): channel-dependency-graph acyclicity for every
// topology x routing (and a cyclic case the checker must catch), zero-load
// latency exact per topology on both router models, all-to-all deadlock
// freedom under load, link latency in ns, topology-file validation.
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cmm_tlm/noc.h"
#include "cmm_tlm/topo.h"
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
  explicit NBench(const NocConfig& c) : noc("noc", c) {
    for (uint32_t i = 0; i < noc.num_nodes(); ++i) {
      node.push_back(std::make_unique<test::LinkStub>(("node" + std::to_string(i)).c_str()));
      node.back()->isock.bind(*noc.in_tsock[i]);
      noc.out_isock[i]->bind(node.back()->tsock);
    }
  }
};

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

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

NocConfig fat_tree(uint32_t k, uint32_t n, uint32_t t = 0, Routing r = Routing::kMinimal) {
  NocConfig c;
  c.topology = Topology::kFatTree;
  c.ft_k = k;
  c.ft_levels = n;
  c.ft_terminals = t;
  c.routing = r;
  return c;
}

NocConfig dragonfly(uint32_t a, uint32_t p, uint32_t h, uint32_t g = 0, Arrangement arr = Arrangement::kAbsolute,
                    Routing r = Routing::kMinimal) {
  NocConfig c;
  c.topology = Topology::kDragonfly;
  c.df_a = a;
  c.df_p = p;
  c.df_h = h;
  c.df_groups = g;
  c.df_arrangement = arr;
  c.routing = r;
  return c;
}

NocConfig flatfly(uint32_t k, uint32_t n, uint32_t cc, Routing r = Routing::kMinimal) {
  NocConfig c;
  c.topology = Topology::kFlatFly;
  c.fb_k = k;
  c.fb_n = n;
  c.fb_c = cc;
  c.routing = r;
  return c;
}

const char* kRingFile =
    "# four switches in a ring, two terminals each\n"
    "switches 4\nterminals 8\n"
    "link s0 s1 latency_ns=3\nlink s1 s2\nlink s2 s3 width=4\nlink s3 s0 latency_cycles=2\n"
    "link t0 s0\nlink t1 s0\nlink t2 s1\nlink t3 s1\nlink t4 s2\nlink t5 s2\nlink t6 s3\nlink t7 s3\n";

NocConfig file_topo(const std::string& path, Routing r = Routing::kMinimal) {
  NocConfig c;
  c.topology = Topology::kFile;
  c.topo_file = path;
  c.routing = r;
  return c;
}

// Every (src, dst, payload) alone on an idle network: delivery exactly at
// zero_load_cycles().
void zero_load_all_pairs(const NocConfig& c, const std::vector<uint16_t>& payloads) {
  NBench b(c);
  const uint32_t n = b.noc.num_nodes();
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
          EXPECT_EQ(rx.payload, bytes_of(p));
          ++checked;
        }
  });
  sc_start();
  EXPECT_EQ(checked, payloads.size() * n * n);
  EXPECT_EQ(b.noc.stats().link_errors, 0u);
}

// Every node sends per_pair packets to every node as fast as credits allow.
void all_to_all(const NocConfig& c, uint32_t per_pair, uint16_t payload) {
  NBench b(c);
  const uint32_t n = b.noc.num_nodes();
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
    for (const auto& r : b.node[d]->rx) {
      const Packet ref = pkt(r.hdr.src_node, static_cast<uint8_t>(d), r.len, r.hdr.tag, r.cls);
      EXPECT_EQ(r.payload, bytes_of(ref));
    }
  }
  EXPECT_EQ(got, uint64_t{n} * n * per_pair);
  EXPECT_EQ(b.noc.stats().flits_injected, b.noc.stats().flits_ejected);
}

void expect_invalid(const NocConfig& c, const std::string& what) {
  try {
    c.validate();
    ADD_FAILURE() << "no exception, expected: " << what;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

}  // namespace

// ---------------------------------------------------------------- structure

TEST(Topo, FatTreeShapeAndRoutes) {
  const TopoGraph g = build_topology(fat_tree(4, 3));  // 64 terminals, 3 levels of 16 switches
  EXPECT_EQ(g.terminals, 64u);
  EXPECT_EQ(g.routers, 64u + 48u);
  EXPECT_EQ(g.ports, 9u);  // 4 down + 4 up + port 0
  // Same leaf: terminal link, leaf, terminal link. Other pod: up to the top.
  EXPECT_EQ(g.path(0, 1, flow_hash(0, 1)).size(), 2u);
  EXPECT_EQ(g.path(0, 5, flow_hash(0, 5)).size(), 4u);
  EXPECT_EQ(g.path(0, 63, flow_hash(0, 63)).size(), 6u);
  // D-mod-k: the leaf's up port is the destination mod k.
  for (uint32_t d = 4; d < 64; ++d) EXPECT_EQ(g.port_for(64, d, 0), 4u + 1 + d % 4) << d;
  // Oversubscribed leaves: 8 terminals on 4 uplinks, radix 12.
  const TopoGraph o = build_topology(fat_tree(4, 2, 8));
  EXPECT_EQ(o.terminals, 32u);
  EXPECT_EQ(o.ports, 13u);
}

TEST(Topo, DragonflyAbsoluteArrangementOneLinkPerGroupPair) {
  for (Arrangement arr : {Arrangement::kAbsolute, Arrangement::kPalmtree}) {
    const TopoGraph g = build_topology(dragonfly(4, 2, 2, 0, arr));  // 9 groups, 72 terminals
    EXPECT_EQ(g.terminals, 72u);
    std::vector<std::vector<int>> pairs(9, std::vector<int>(9, 0));
    for (const auto& c : g.ch)
      if (c.bump) ++pairs[(c.r - 72) / 4][(c.r2 - 72) / 4];
    for (uint32_t i = 0; i < 9; ++i)
      for (uint32_t j = 0; j < 9; ++j) EXPECT_EQ(pairs[i][j], i == j ? 0 : 1) << i << "," << j;
    // Minimal: at most local, global, local between terminal links.
    for (uint32_t s = 0; s < 72; ++s)
      for (uint32_t d = 0; d < 72; ++d) EXPECT_LE(g.path(s, d, flow_hash(s, d)).size(), 5u);
  }
  // Absolute: group 0's global port k goes to group k + 1; group 3's port 0 to group 0.
  const TopoGraph g = build_topology(dragonfly(4, 2, 2));
  const int32_t c = g.out_ch[(72 + 3 * 4 + 0) * g.ports + 2 + 4 + 0];
  ASSERT_GE(c, 0);
  EXPECT_EQ((g.ch[static_cast<size_t>(c)].r2 - 72) / 4, 0u);
}

TEST(Topo, LinkLatencyInNanosecondsAtTheFabricClock) {
  EXPECT_EQ(ns_to_cycles(500.0, 1000), 500u);  // 100 m of fibre at 5 ns/m, 1 GHz
  EXPECT_EQ(ns_to_cycles(0.5, 1000), 1u);      // 10 cm of trace: at least one cycle
  EXPECT_EQ(ns_to_cycles(500.0, 1250), 400u);  // 800 MHz fabric clock
  EXPECT_EQ(ns_to_cycles(2.1, 1000), 3u);      // rounded up
  NocConfig c = dragonfly(2, 1, 1);
  c.link_ns_terminal = 0.5;
  c.link_ns_local = 2;
  c.link_ns_global = 500;
  const TopoGraph g = build_topology(c);
  for (const auto& ch : g.ch) {
    const bool term = ch.r < g.terminals || ch.r2 < g.terminals;
    EXPECT_EQ(ch.latency_cycles, ch.bump ? 500u : term ? 1u : 2u);
  }
}

// ---------------------------------------------------------------- CDG

TEST(TopoCdg, AcyclicForEveryTopologyAndRouting) {
  const std::string ring = write_file("cdg_ring.topo", kRingFile);
  struct Case {
    const char* name;
    NocConfig c;
  };
  std::vector<Case> cases = {
      {"fat_tree 4-ary 2-tree minimal", fat_tree(4, 2)},
      {"fat_tree 4-ary 3-tree minimal", fat_tree(4, 3)},
      {"fat_tree 2-ary 4-tree minimal", fat_tree(2, 4)},
      {"fat_tree oversubscribed minimal", fat_tree(4, 2, 8)},
      {"fat_tree 4-ary 3-tree ecmp", fat_tree(4, 3, 0, Routing::kEcmp)},
      {"fat_tree 4-ary 3-tree updown", fat_tree(4, 3, 0, Routing::kUpDown)},
      {"dragonfly absolute minimal", dragonfly(4, 2, 2)},
      {"dragonfly palmtree minimal", dragonfly(4, 2, 2, 0, Arrangement::kPalmtree)},
      {"dragonfly 5 groups minimal", dragonfly(4, 2, 2, 5)},
      {"dragonfly absolute updown", dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kUpDown)},
      {"flatfly 4x4 minimal", flatfly(4, 2, 2)},
      {"flatfly 3x3x3 minimal", flatfly(3, 3, 1)},
      {"flatfly 4x4 updown", flatfly(4, 2, 2, Routing::kUpDown)},
      {"file ring updown", file_topo(ring)},
  };
  for (const auto& k : cases) {
    ASSERT_NO_THROW(k.c.validate()) << k.name;
    const TopoGraph g = build_topology(k.c);
    const CdgResult r = check_cdg(g);
    EXPECT_TRUE(r.acyclic) << k.name << ": cycle of " << r.cycle.size() << " channels";
    EXPECT_GT(r.edges, 0u) << k.name;
    // Every route reaches its destination.
    for (uint32_t s = 0; s < g.terminals; ++s)
      for (uint32_t d = 0; d < g.terminals; ++d) {
        const auto p = g.path(s, d, flow_hash(s, d));
        if (s == d) EXPECT_TRUE(p.empty());
        else EXPECT_EQ(g.ch[p.back()].r2, d) << k.name;
      }
  }
}

TEST(TopoCdg, DragonflyMinimalWithoutVcSetsIsCyclic) {
  const TopoGraph g = build_topology(dragonfly(4, 2, 2));
  EXPECT_EQ(g.vc_sets, 2u);
  const CdgResult r = check_cdg(g, /*ignore_bumps=*/true);
  EXPECT_FALSE(r.acyclic);
  ASSERT_GE(r.cycle.size(), 2u);
  // The cycle closes: each channel ends where the next one starts.
  for (size_t i = 0; i < r.cycle.size(); ++i)
    EXPECT_EQ(g.ch[r.cycle[i]].r2, g.ch[r.cycle[(i + 1) % r.cycle.size()]].r);
  EXPECT_TRUE(check_cdg(g).acyclic);  // with the global-link VC set it is not
}

TEST(TopoCdg, RingWithClockwiseRoutingIsCyclic) {
  TopoGraph g = build_topology(file_topo(write_file("cdg_ring2.topo", kRingFile)));
  EXPECT_TRUE(check_cdg(g).acyclic);  // up*/down*
  // Clockwise shortest-way routing on the switch ring: s_i -> s_(i+1).
  for (uint32_t sw = 0; sw < 4; ++sw) {
    const uint32_t r = 8 + sw;
    uint32_t cw = 0;
    for (const auto& c : g.ch)
      if (c.r == r && c.r2 == 8 + (sw + 1) % 4) cw = c.p;
    ASSERT_NE(cw, 0u);
    for (uint32_t d = 0; d < 8; ++d)
      if (d / 2 != sw) g.route[static_cast<size_t>(r) * g.terminals + d] = static_cast<uint8_t>(cw);
  }
  const CdgResult r = check_cdg(g);
  EXPECT_FALSE(r.acyclic);
  EXPECT_EQ(r.cycle.size(), 4u);
}

// ---------------------------------------------------------------- zero load

// Simple router: T0 = 1 + 1 + (F-1)*kmax + (H+1)*R + sum(L_l + k_l - 1).
TEST(TopoZeroLoad, FatTreeExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(2, 3);  // 8 terminals
  c.link_width_bytes = 16;
  c.link_latency_cycles = 2;
  c.link_ns_local = 5;  // switch-switch cables: 5 cycles
  c.router_delay_cycles = 1;
  c.buf_depth_flits = 16;
  zero_load_all_pairs(c, {0, 100});
}

TEST(TopoZeroLoad, FatTreeEcmpPipelineExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(2, 3, 0, Routing::kEcmp);
  c.router = RouterModel::kPipeline;
  c.link_latency_cycles = 1;
  c.link_ns_local = 3;
  c.buf_depth_flits = 16;
  zero_load_all_pairs(c, {0, 64});
}

TEST(TopoZeroLoad, DragonflyExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = dragonfly(2, 2, 1);  // 3 groups, 12 terminals
  c.link_ns_terminal = 1;
  c.link_ns_local = 2;
  c.link_ns_global = 20;  // a long cable
  c.buf_depth_flits = 48;
  c.link_width_bytes = 32;
  zero_load_all_pairs(c, {0, 200});
}

TEST(TopoZeroLoad, DragonflyPipelineExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = dragonfly(2, 1, 1, 0, Arrangement::kPalmtree);
  c.router = RouterModel::kPipeline;
  c.link_ns_global = 10;
  c.buf_depth_flits = 32;
  zero_load_all_pairs(c, {0, 100});
}

TEST(TopoZeroLoad, FlatFlyExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = flatfly(3, 2, 1);
  c.router_delay_cycles = 2;
  c.buf_depth_flits = 8;
  zero_load_all_pairs(c, {0, 50});
}

TEST(TopoZeroLoad, FileWithNarrowAndLongLinksExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = file_topo(write_file("zl_ring.topo", kRingFile));
  c.link_width_bytes = 16;  // s2-s3 is 4 bytes wide: 4 cycles per flit
  c.buf_depth_flits = 16;
  zero_load_all_pairs(c, {0, 40});
}

// A 100 m cable (500 ns = 500 cycles) next to 1-cycle traces, pipeline
// router; buffers cover the cable's credit loop (P + 2L + 1 = 1005).
TEST(TopoZeroLoad, FileWithLongCablePipelineExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = file_topo(write_file("zl_cable.topo",
                                     "switches 3\nterminals 4\nlink s0 s1 latency_ns=500\nlink s1 s2 latency_ns=0.5\n"
                                     "link t0 s0\nlink t1 s1\nlink t2 s2\nlink t3 s2 latency_ns=2\n"));
  c.router = RouterModel::kPipeline;
  c.link_latency_cycles = 1;
  c.buf_depth_flits = 1024;
  zero_load_all_pairs(c, {0, 40});
}

// ---------------------------------------------------------------- load

TEST(TopoLoad, DeadlockFreeAllToAllDragonflyOneVcPerSet) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = dragonfly(2, 2, 1);
  c.vcs_per_class = 2;  // one VC in each of the two sets
  c.buf_depth_flits = 2;
  c.link_width_bytes = 8;
  c.link_ns_global = 4;
  all_to_all(c, 3, 120);
}

TEST(TopoLoad, DeadlockFreeAllToAllFatTreeEcmpOneVc) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(2, 3, 0, Routing::kEcmp);
  c.vcs_per_class = 1;
  c.buf_depth_flits = 2;
  c.link_width_bytes = 8;
  all_to_all(c, 3, 120);
}

TEST(TopoLoad, DeadlockFreeAllToAllFileRingPipeline) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = file_topo(write_file("load_ring.topo", kRingFile));
  c.router = RouterModel::kPipeline;
  c.vcs_per_class = 1;
  c.buf_depth_flits = 3;
  c.link_width_bytes = 8;
  all_to_all(c, 3, 100);
}

TEST(TopoLoad, Radix64SwitchCarriesTraffic) {
  CMM_REQUIRE_FRESH_KERNEL();
  std::string text = "switches 1\nterminals 64\n";
  for (int t = 0; t < 64; ++t) text += "link t" + std::to_string(t) + " s0\n";
  NocConfig c = file_topo(write_file("star64.topo", text));
  c.vcs_per_class = 1;
  c.link_width_bytes = 64;
  c.buf_depth_flits = 4;
  EXPECT_EQ(build_topology(c).ports, 65u);  // 64 terminal ports + port 0: 128-bit port masks
  all_to_all(c, 1, 40);
}

// ---------------------------------------------------------------- validation

TEST(TopoConfig, ParametersNamedInErrors) {
  NocConfig c = dragonfly(4, 2, 2);
  c.vcs_per_class = 1;
  expect_invalid(c, "NocConfig.vcs_per_class = 1: must be >= 2 for dragonfly routing minimal");
  expect_invalid(dragonfly(4, 2, 2, 10), "NocConfig.df_groups = 10");
  expect_invalid(fat_tree(24, 4), "NocConfig.terminals = 331776");  // beyond 16-bit node ids
  EXPECT_NO_THROW(fat_tree(4, 2, 0, Routing::kEcmp).validate());
  expect_invalid(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kEcmp), "routing = ecmp: only on fat_tree");
  EXPECT_EQ(parse_topology("fat_tree"), Topology::kFatTree);
  EXPECT_EQ(parse_topology("dragonfly"), Topology::kDragonfly);
  EXPECT_EQ(parse_topology("flatfly"), Topology::kFlatFly);
  EXPECT_EQ(parse_topology("file"), Topology::kFile);
  EXPECT_EQ(parse_routing("updown"), Routing::kUpDown);
  EXPECT_EQ(parse_arrangement("consecutive"), Arrangement::kAbsolute);
  EXPECT_EQ(parse_routing("valiant"), Routing::kValiant);
  EXPECT_EQ(parse_routing("ugal"), Routing::kUgal);
  EXPECT_EQ(parse_routing("adaptive"), Routing::kAdaptive);
  EXPECT_THROW(parse_routing("par"), std::invalid_argument);
  EXPECT_EQ(fat_tree(4, 3).num_nodes(), 64u);
  EXPECT_EQ(dragonfly(4, 2, 2).num_nodes(), 72u);
}

TEST(TopoConfig, BadFilesNameFileLineAndValue) {
  struct Bad {
    const char* text;
    const char* line_and_what;
  };
  const std::vector<Bad> bad = {
      {"switches 2\nterminals 2\nlink t0 s0\nlink t1 s5\n", ":4: switch id must be in [0, 1] '5'"},
      {"switches 2\nterminals 2\nlink t0 s0\nlink t1 s1 latency_ns=-3\n", ":4: latency_ns must be a number"},
      {"switches 2\nterminals 2\nlink t0 s0 width=0\n", ":3: width (bytes per cycle) must be in [1, 4096] '0'"},
      {"switches 2\nterminals 2\nlink t0 t1\n", ":3: a link joins two terminals 't0 t1'"},
      {"switches 2\nterminals 2\nlink s1 s1\n", ":3: a switch linked to itself 's1'"},
      {"switches 2\nterminals 2\nlink t0 s0\nlink t0 s1\n", ":4: terminal attached twice (first on line 3) 't0'"},
      {"switches 2\nterminals 2\nlonk t0 s0\n", ":3: unknown keyword (expected switches, terminals or link) 'lonk'"},
      {"switches 2\nterminals 2\nlink t0 s0 speed=3\n", ":3: unknown link attribute"},
      {"switches x\n", ":1: switch count is not an integer 'x'"},
      {"switches 2\nterminals 2\nlink t0 s0\n", ":0: terminal has no link 't1'"},
  };
  int i = 0;
  for (const auto& b : bad) {
    const std::string path = write_file("bad" + std::to_string(i++) + ".topo", b.text);
    try {
      read_topology_file(path, 1000, 16);
      ADD_FAILURE() << "accepted: " << b.text;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(path + b.line_and_what), std::string::npos) << e.what();
    }
  }
  // Two islands: not connected.
  const std::string islands =
      write_file("islands.topo", "switches 2\nterminals 2\nlink t0 s0\nlink t1 s1\n");
  EXPECT_THROW(read_topology_file(islands, 1000, 16), std::invalid_argument);
  // Radix: 64 ports on a switch are fine, 65 are not.
  std::string text = "switches 1\nterminals 65\n";
  for (int t = 0; t < 65; ++t) text += "link t" + std::to_string(t) + " s0\n";
  const std::string big = write_file("star65.topo", text);
  try {
    read_topology_file(big, 1000, 16);
    ADD_FAILURE() << "radix 65 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(big + ":67: switch radix above 64 's0'"), std::string::npos) << e.what();
  }
}

CMM_SC_TEST_MAIN

// ---------------------------------------------------------------- adaptive routing

namespace {

NocConfig with_vcs(NocConfig c, uint32_t v) {
  c.vcs_per_class = v;
  return c;
}

// Group 0 of a dragonfly a4 p2 h2 (8 terminals) floods group 1 (the
// adversarial pattern: one global link between them), `per` packets per
// (src, dst) flow with increasing tags; returns pairs delivered out of
// order (a later tag before an earlier one of the same flow).
uint64_t flood_group_to_next(NBench& b, uint32_t per, uint32_t per_group, uint64_t* delivered) {
  std::vector<std::unique_ptr<test::ThreadRunner>> drv;
  for (uint32_t s = 0; s < per_group; ++s)
    drv.push_back(std::make_unique<test::ThreadRunner>(("drv" + std::to_string(s)).c_str(), [&, s] {
      for (uint32_t j = 0; j < per_group; ++j)  // a burst per flow: several of it in flight
        for (uint16_t k = 0; k < per; ++k) {
          const Packet p = pkt(static_cast<uint8_t>(s), static_cast<uint8_t>(per_group + (s + j) % per_group), 200, k);
          while (!b.node[s]->send(p)) wait(P);
        }
    }));
  sc_start(sc_time(2, SC_MS), SC_EXIT_ON_STARVATION);
  uint64_t swapped = 0, got = 0;
  for (uint32_t d = per_group; d < 2 * per_group; ++d) {
    std::vector<int> last(per_group, -1);
    for (const auto& r : b.node[d]->rx) {
      ++got;
      if (r.hdr.tag < last[r.hdr.src_node]) ++swapped;
      last[r.hdr.src_node] = std::max<int>(last[r.hdr.src_node], r.hdr.tag);
    }
  }
  *delivered = got;
  return swapped;
}

}  // namespace

TEST(TopoCdg, AdaptiveRoutingsUnionAcyclic) {
  // Every path the adaptive routing may take (every intermediate group,
  // every up port) enters the CDG.
  struct Case {
    const char* name;
    NocConfig c;
    size_t paths;  // paths allowed between terminal 0 and the last terminal
  };
  std::vector<Case> cases = {
      {"dragonfly valiant", with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kValiant), 3), 8},
      {"dragonfly ugal", with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kUgal), 3), 8},
      {"dragonfly ugal palmtree", with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kPalmtree, Routing::kUgal), 3), 8},
      {"dragonfly ugal 5 groups", with_vcs(dragonfly(4, 2, 2, 5, Arrangement::kAbsolute, Routing::kUgal), 3), 4},
      {"fat_tree 4-ary 3-tree adaptive", fat_tree(4, 3, 0, Routing::kAdaptive), 16},
      {"fat_tree 2:1 adaptive", fat_tree(4, 2, 8, Routing::kAdaptive), 4},
  };
  for (const auto& k : cases) {
    ASSERT_NO_THROW(k.c.validate()) << k.name;
    const TopoGraph g = build_topology(k.c);
    const CdgResult r = check_cdg(g);
    EXPECT_TRUE(r.acyclic) << k.name << ": cycle of " << r.cycle.size() << " channels";
    EXPECT_EQ(g.all_paths(0, g.terminals - 1).size(), k.paths) << k.name;
    for (uint32_t s = 0; s < g.terminals; ++s)
      for (uint32_t d = 0; d < g.terminals; ++d)
        if (s != d) {
          for (const auto& p : g.all_paths(s, d)) EXPECT_EQ(g.ch[p.back()].r2, d) << k.name;
        }
  }
  // The union is larger than the minimal routing's dependencies.
  EXPECT_GT(check_cdg(build_topology(cases[0].c)).edges, check_cdg(build_topology(dragonfly(4, 2, 2))).edges);
  EXPECT_GT(check_cdg(build_topology(cases[4].c)).edges, check_cdg(build_topology(fat_tree(4, 3))).edges);
}

TEST(TopoCdg, ValiantWithTwoVcSetsIsCyclic) {
  // Valiant crosses two global links: with the minimal routing's two sets
  // the second global hop stays in set 1 and closes a cycle.
  TopoGraph g = build_topology(with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kValiant), 3));
  EXPECT_EQ(g.vc_sets, 3u);
  EXPECT_TRUE(check_cdg(g).acyclic);
  g.vc_sets = 2;
  EXPECT_FALSE(check_cdg(g).acyclic);
  expect_invalid(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kUgal),
                 "vcs_per_class = 2: must be >= 3 for dragonfly routing ugal");
  expect_invalid(with_vcs(fat_tree(4, 2, 0, Routing::kUgal), 3), "routing = ugal: only on dragonfly");
  expect_invalid(with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kAdaptive), 3),
                 "routing = adaptive: only on fat_tree");
}

TEST(TopoLoad, DeadlockFreeAllToAllDragonflyUgalOneVcPerSet) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = with_vcs(dragonfly(2, 2, 1, 0, Arrangement::kAbsolute, Routing::kUgal), 3);
  c.buf_depth_flits = 2;
  c.link_width_bytes = 8;
  c.ugal_threshold = 0;  // take the Valiant path often
  c.flowlets = false;
  all_to_all(c, 3, 120);
}

TEST(TopoLoad, DeadlockFreeAllToAllDragonflyValiantPipeline) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = with_vcs(dragonfly(2, 2, 1, 0, Arrangement::kAbsolute, Routing::kValiant), 3);
  c.router = RouterModel::kPipeline;
  c.buf_depth_flits = 3;
  c.link_width_bytes = 8;
  all_to_all(c, 3, 120);
}

TEST(TopoLoad, DeadlockFreeAllToAllFatTreeAdaptiveOneVc) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(2, 3, 0, Routing::kAdaptive);
  c.vcs_per_class = 1;
  c.buf_depth_flits = 2;
  c.link_width_bytes = 8;
  c.flowlets = false;
  all_to_all(c, 3, 120);
}

TEST(TopoRouting, UgalFlowletsKeepFlowsInOrderUnderAdversarialLoad) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kUgal), 3);
  c.buf_depth_flits = 4;
  c.ugal_threshold = 0;
  NBench b(c);
  uint64_t got = 0;
  EXPECT_EQ(flood_group_to_next(b, 12, 8, &got), 0u);
  EXPECT_EQ(got, 12u * 8 * 8);
  EXPECT_GT(b.noc.stats().nonminimal, 0u);       // it did route around the global link
  EXPECT_GT(b.noc.stats().flowlet_follows, 0u);  // and kept flows on their path
}

TEST(TopoRouting, UgalPerPacketReordersFlows) {
  // Without flowlets every packet chooses: the same flood arrives out of
  // order (why the CMM scenarios keep flowlets on).
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kUgal), 3);
  c.buf_depth_flits = 4;
  c.ugal_threshold = 0;
  c.flowlets = false;
  NBench b(c);
  uint64_t got = 0;
  EXPECT_GT(flood_group_to_next(b, 12, 8, &got), 0u);
  EXPECT_EQ(got, 12u * 8 * 8);
  EXPECT_EQ(b.noc.stats().flowlet_follows, 0u);
}

TEST(TopoRouting, FatTreeAdaptiveSpreadsTheLoadedUplinkInOrder) {
  // The fat-tree permutation that D-mod-k puts on one uplink: every
  // terminal of leaf 0 sends to index 0 of another leaf (4-ary 2-tree).
  // Adaptive up-routing uses every uplink of leaf 0; flows stay in order.
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(4, 2, 0, Routing::kAdaptive);
  c.buf_depth_flits = 4;
  NBench b(c);
  std::vector<std::unique_ptr<test::ThreadRunner>> drv;
  for (uint32_t s = 0; s < 4; ++s)
    drv.push_back(std::make_unique<test::ThreadRunner>(("drv" + std::to_string(s)).c_str(), [&, s] {
      for (uint16_t k = 0; k < 30; ++k) {
        const Packet p = pkt(static_cast<uint8_t>(s), static_cast<uint8_t>(4 * (1 + s % 3)), 200, k);
        while (!b.node[s]->send(p)) wait(P);
      }
    }));
  sc_start(sc_time(2, SC_MS), SC_EXIT_ON_STARVATION);
  uint64_t got = 0;
  for (uint32_t d = 4; d < 16; d += 4) {
    std::vector<int> last(16, -1);
    for (const auto& r : b.node[d]->rx) {
      ++got;
      EXPECT_GT(static_cast<int>(r.hdr.tag), last[r.hdr.src_node]) << "flow " << int(r.hdr.src_node) << "->" << d;
      last[r.hdr.src_node] = r.hdr.tag;
    }
  }
  EXPECT_EQ(got, 4u * 30);
  const TopoGraph& g = *b.noc.graph();
  const uint32_t leaf0 = g.terminals, np = g.ports;
  uint32_t used = 0;
  for (uint32_t j = 0; j < g.up_n[leaf0]; ++j)
    used += b.noc.stats().link_flits[static_cast<size_t>(leaf0) * np + g.up_lo[leaf0] + j] > 0;
  EXPECT_GE(used, 3u);  // D-mod-k: 1 (all destinations have index 0); flowlets pin the 4 busy flows
}

// ---------------------------------------------------------------- BookSim2 options
// (docs/fabric.md "Adaptive routing: minimal, Valiant, UGAL; against BookSim2")

TEST(TopoCdg, ValiantViaRouterNeedsFourVcSets) {
  NocConfig c = with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kValiant), 4);
  c.valiant_router = true;
  ASSERT_NO_THROW(c.validate());
  TopoGraph g = build_topology(c);
  EXPECT_EQ(g.vc_sets, 4u);
  EXPECT_TRUE(check_cdg(g).acyclic);
  // Minimal plus one path per router outside the source group (9 groups x 4 - 4).
  std::vector<uint32_t> inters;
  const auto paths = g.all_paths(0, g.terminals - 1, &inters);
  EXPECT_EQ(paths.size(), 1u + 32u);
  for (size_t k = 1; k < paths.size(); ++k) {  // each passes through its intermediate router
    bool seen = false;
    for (uint32_t ch : paths[k]) seen = seen || g.ch[ch].r2 == inters[k];
    EXPECT_TRUE(seen) << "intermediate " << inters[k];
    EXPECT_EQ(g.ch[paths[k].back()].r2, g.terminals - 1);
  }
  // Three sets (global crossings only) leave local -> local turns in one set: cyclic.
  g.vc_sets = 3;
  EXPECT_FALSE(check_cdg(g).acyclic);
  c.vcs_per_class = 3;
  expect_invalid(c, "vcs_per_class = 3: must be >= 4 for dragonfly routing valiant");
  // BookSim2's own phase VCs (3) are cyclic: set 0 carries local -> global -> local.
  c.phase_vcs = true;
  ASSERT_NO_THROW(c.validate());
  const TopoGraph gp = build_topology(c);
  EXPECT_EQ(gp.vc_sets, 3u);
  EXPECT_FALSE(check_cdg(gp).acyclic);
  NocConfig bad = with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kUgal), 3);
  bad.phase_vcs = true;
  expect_invalid(bad, "phase_vcs = 1: needs valiant_router");
}

// Packets from terminal 0 to group 1, one at a time (zero load), Valiant per
// packet: the fraction routed through an intermediate is the chance that the
// draw falls outside the minimal cases: 1 - 4/36 via a router (its own group
// only), 1 - 2/9 via a group (own and destination group).
TEST(TopoRouting, ValiantIntermediateRouterDistribution) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = with_vcs(dragonfly(4, 2, 2, 0, Arrangement::kAbsolute, Routing::kValiant), 4);
  c.valiant_router = true;
  c.flowlets = false;
  NBench b(c);
  const uint32_t n = 360;
  test::ThreadRunner drv("drv", [&] {
    for (uint32_t k = 0; k < n; ++k) {
      const Packet p = pkt(0, static_cast<uint8_t>(8 + k % 8), 0, static_cast<uint16_t>(k));
      while (!b.node[0]->send(p)) wait(P);
      wait(400 * P);
    }
  });
  sc_start(sc_time(1, SC_SEC), SC_EXIT_ON_STARVATION);
  uint64_t got = 0;
  for (uint32_t d = 8; d < 16; ++d) got += b.node[d]->rx.size();
  EXPECT_EQ(got, n);
  const double f = static_cast<double>(b.noc.stats().nonminimal) / n;
  EXPECT_GT(f, 0.84) << f;  // 32/36 = 0.889; via a group: 7/9 = 0.778
  EXPECT_LT(f, 0.94) << f;
}

// adaptive_choices 2 (BookSim2's anca): at zero load both random draws see
// empty queues and the first is taken, so one flow's packets spread over the
// up ports; the default (least loaded of all, ties from the flow's ECMP
// pick) keeps them on one.
TEST(TopoRouting, FatTreeAdaptiveTwoRandomChoicesSpreadAtZeroLoad) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(4, 2, 0, Routing::kAdaptive);
  c.adaptive_choices = 2;
  c.flowlets = false;
  NBench b(c);
  test::ThreadRunner drv("drv", [&] {
    for (uint16_t k = 0; k < 40; ++k) {
      while (!b.node[0]->send(pkt(0, 5, 0, k))) wait(P);
      wait(100 * P);
    }
  });
  sc_start(sc_time(1, SC_SEC), SC_EXIT_ON_STARVATION);
  EXPECT_EQ(b.node[5]->rx.size(), 40u);
  const TopoGraph& g = *b.noc.graph();
  const uint32_t leaf0 = g.terminals, np = g.ports;
  uint32_t used = 0;
  for (uint32_t j = 0; j < g.up_n[leaf0]; ++j)
    used += b.noc.stats().link_flits[static_cast<size_t>(leaf0) * np + g.up_lo[leaf0] + j] > 0;
  EXPECT_GE(used, 3u);
}

// vc_per_packet: a head takes any free VC of its set. The destination node
// grants no credit, so its packets wait at its adapter's input: with the
// flow's VC all in one VC, per packet in both VCs of the class.
TEST(TopoRouting, VcPerPacketUsesEveryVcOfTheSet) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(4, 2);
  c.vc_per_packet = true;
  c.hol_lifetime_cycles = 0;
  NBench b(c);
  b.node[5]->grant = {0, 0};
  test::ThreadRunner drv("drv", [&] {
    for (uint16_t k = 0; k < 4; ++k) {
      while (!b.node[0]->send(pkt(0, 5, 0, k))) wait(P);
      wait(50 * P);
    }
  });
  sc_start(sc_time(2, SC_US));
  EXPECT_EQ(b.node[5]->rx.size(), 0u);
  const TopoGraph& g = *b.noc.graph();
  const size_t base = (static_cast<size_t>(5) * g.ports + 1) * 2 * c.vcs_per_class;  // adapter 5, port 1, class 0
  EXPECT_GT(b.noc.stats().vc_stalls[base + 0], 0u);
  EXPECT_GT(b.noc.stats().vc_stalls[base + 1], 0u);
}

// terminal_direct: the NI sits on the leaf switch (BookSim2's terminals):
// 2 (P + L) cycles less than through the adapter router, and the formula
// is met exactly by the simulation for every pair.
TEST(TopoZeroLoad, TerminalDirectFatTreePipelineExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(2, 2);
  c.router = RouterModel::kPipeline;
  c.buf_depth_flits = 16;
  c.terminal_direct = true;
  zero_load_all_pairs(c, {0, 100});
}

TEST(TopoZeroLoad, TerminalDirectSavesTheAdapterRouters) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = fat_tree(2, 2);
  c.router = RouterModel::kPipeline;
  c.buf_depth_flits = 16;
  const Noc adapter("adapter", c);
  c.terminal_direct = true;
  const Noc direct("direct", c);
  const uint32_t p = c.rc_cycles + c.va_cycles + c.sa_cycles + c.st_cycles, l = c.link_latency_cycles;
  for (uint32_t d : {1u, 2u, 3u})
    EXPECT_EQ(adapter.zero_load_cycles(0, d, 64), direct.zero_load_cycles(0, d, 64) + 2 * (p + l)) << d;
}

TEST(TopoZeroLoad, TerminalDirectDragonflyPipelineExact) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = dragonfly(2, 2, 1);
  c.router = RouterModel::kPipeline;
  c.link_ns_global = 10;
  c.buf_depth_flits = 32;
  c.terminal_direct = true;
  c.vc_per_packet = true;
  zero_load_all_pairs(c, {0, 100});
}

// Apart from the simulation above: an exception thrown after sc_start in the
// same process trips ASan's stack bookkeeping of SystemC's coroutine stacks.
TEST(TopoConfig, TerminalDirectNeedsThePipelineRouter) {
  NocConfig s = dragonfly(2, 2, 1);
  s.terminal_direct = true;
  expect_invalid(s, "terminal_direct = 1: needs router pipeline");
}

TEST(TopoLoad, DeadlockFreeAllToAllDragonflyUgalViaRouterDirect) {
  CMM_REQUIRE_FRESH_KERNEL();
  NocConfig c = with_vcs(dragonfly(2, 2, 1, 0, Arrangement::kAbsolute, Routing::kUgal), 4);
  c.router = RouterModel::kPipeline;
  c.valiant_router = true;
  c.terminal_direct = true;
  c.vc_per_packet = true;
  c.buf_depth_flits = 3;
  c.link_width_bytes = 8;
  c.ugal_threshold = 0;
  c.flowlets = false;
  all_to_all(c, 3, 120);
}
