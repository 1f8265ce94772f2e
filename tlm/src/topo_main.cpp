// cmm_topo: inspects a switched fabric without simulating it: its graph as
// JSON (docs/img figures), the channel-dependency-graph check, and the
// zero-load latency and hop count over every pair (docs/fabric.md).
// Exit 0 ok, 1 cyclic CDG, 2 bad parameters or topology file.
#include <cstring>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>
#include <iostream>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cmm_tlm/noc.h"
#include "cmm_tlm/topo.h"
#include "../test/link_stub.h"

using namespace cmm::tlmshell;

namespace {

// Offered load -> accepted throughput and mean network latency: every
// terminal creates packets by a Bernoulli process into an unbounded source
// queue and sends its head whenever it has an NI credit. Patterns:
// uniform (any other terminal), adversarial (fat_tree: every terminal of a
// leaf to a destination with the same index mod k, so D-mod-k puts a whole
// leaf on one uplink; dragonfly: every terminal of group i to group i + 1,
// one global link).
struct Driver : sc_core::sc_module {
  SC_HAS_PROCESS(Driver);
  std::function<void()> fn;
  Driver(sc_core::sc_module_name n, std::function<void()> f) : sc_module(n), fn(std::move(f)) { SC_THREAD(run); }
  void run() { fn(); }
};

struct LoadPoint {
  double offered = 0, accepted = 0, latency = 0;
  double pkt_latency = 0;  // creation -> delivery of the packets created in the window (source queue included)
  uint64_t measured = 0, unfinished = 0;
};

// include_self: uniform over all terminals, the source too (BookSim2's
// uniform); drain: cycles after the window, traffic still offered, until
// every packet created in the window has arrived.
LoadPoint run_load(const NocConfig& c, const TopoGraph& g, const std::string& pattern, double load_flits,
                   uint32_t pkt_bytes, uint64_t warmup, uint64_t measure, uint64_t seed, bool include_self,
                   uint64_t drain) {
  using namespace sc_core;
  Noc noc("noc", c);
  const uint32_t n = g.terminals;
  std::vector<std::unique_ptr<test::LinkStub>> node;
  for (uint32_t i = 0; i < n; ++i) {
    node.push_back(std::make_unique<test::LinkStub>(("node" + std::to_string(i)).c_str()));
    node.back()->isock.bind(*noc.in_tsock[i]);
    noc.out_isock[i]->bind(node.back()->tsock);
  }
  const uint32_t flits = noc.flits_of(pkt_bytes);
  const double p = load_flits / flits;
  uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  auto dest = [&](uint32_t s) -> uint32_t {
    if (pattern == "uniform" && include_self) return static_cast<uint32_t>(next() % n);
    if (pattern == "uniform") {
      const uint32_t d = static_cast<uint32_t>(next() % (n - 1));
      return d >= s ? d + 1 : d;
    }
    if (c.topology == Topology::kFatTree) {
      const uint32_t t = c.ft_terminals ? c.ft_terminals : c.ft_k, leaves = n / t;
      const uint32_t leaf = s / t, local = s % t;
      return ((leaf + 1 + local % (leaves - 1)) % leaves) * t + leaf % c.ft_k;
    }
    const uint32_t per = c.df_a * c.df_p, groups = n / per;
    return ((s / per + 1) % groups) * per + static_cast<uint32_t>(next() % per);
  };
  struct Q {
    uint32_t dst;
    uint64_t born;
  };
  std::vector<std::vector<Q>> q(n);
  std::vector<size_t> qh(n, 0);
  uint64_t del0 = 0, lat0 = 0, fl0 = 0, fl1 = 0, del1 = 0, lat1 = 0;
  bool closed = false;
  uint64_t born_in = 0, got_in = 0, lat_in = 0;  // packets created in the window
  const sc_time P = c.clock_period;
  const uint64_t end = warmup + measure;
  Driver drv("drv", [&] {
    for (uint64_t t = 0; t < end + drain && (t < end || got_in < born_in); ++t) {
      if (t == warmup) {
        del0 = noc.stats().delivered[0];
        lat0 = noc.stats().latency_sum[0];
        fl0 = noc.stats().flits_ejected;
      }
      if (t == end) {
        closed = true;  // window totals (the drain keeps offering traffic)
        fl1 = noc.stats().flits_ejected;
        del1 = noc.stats().delivered[0];
        lat1 = noc.stats().latency_sum[0];
      }
      for (uint32_t s = 0; s < n; ++s) {
        if (static_cast<double>(next() >> 11) * 0x1.0p-53 < p) {
          q[s].push_back(Q{dest(s), t});
          if (t >= warmup && t < end) ++born_in;
        }
        if (qh[s] < q[s].size()) {
          Packet pk;
          pk.hdr.opcode = static_cast<uint8_t>(cmm::regs::Opcode::kData);
          pk.hdr.src_node = static_cast<uint16_t>(s);
          pk.hdr.dst_node = static_cast<uint16_t>(q[s][qh[s]].dst);
          pk.payload_len = static_cast<uint16_t>(pkt_bytes - kHeaderBytes);
          const uint64_t born = q[s][qh[s]].born;
          std::memcpy(pk.payload.data(), &born, sizeof born);  // creation cycle, read back on delivery
          pk.hdr.len = pk.payload_len;
          if (node[s]->send(pk)) ++qh[s];
        }
        for (const auto& x : node[s]->rx) {
          uint64_t born = 0;
          if (x.payload.size() >= sizeof born) std::memcpy(&born, x.payload.data(), sizeof born);
          if (born >= warmup && born < end) {
            ++got_in;
            lat_in += static_cast<uint64_t>(x.t / P) - born;
          }
        }
        node[s]->rx.clear();
      }
      wait(P);
    }
    sc_stop();
  });
  sc_start();
  const auto& st = noc.stats();
  if (!closed) {
    fl1 = st.flits_ejected;
    del1 = st.delivered[0];
    lat1 = st.latency_sum[0];
  }
  LoadPoint lp;
  lp.offered = load_flits;
  lp.accepted = static_cast<double>(fl1 - fl0) / static_cast<double>(measure) / n;
  const uint64_t dd = del1 - del0;
  lp.latency = dd ? static_cast<double>(lat1 - lat0) / static_cast<double>(dd) : 0;
  lp.measured = got_in;
  lp.unfinished = born_in - got_in;
  lp.pkt_latency = got_in ? static_cast<double>(lat_in) / static_cast<double>(got_in) : 0;
  return lp;
}

}  // namespace

int sc_main(int argc, char** argv) {
  CLI::App app{"cmm_topo: graph, deadlock check and zero-load latency of a switched fabric"};
  NocConfig c;
  c.topology = Topology::kFatTree;
  std::string topology = "fat_tree", routing = "minimal", arrangement = "absolute";
  bool dump = false, cdg = false, no_bumps = false;
  uint32_t zl_bytes = 0;
  double clock_ghz = 1.0;
  app.add_option("--topology", topology, "fat_tree, dragonfly, flatfly or file");
  app.add_option("--routing", routing, "minimal, ecmp (fat_tree), updown, valiant, ugal (dragonfly), adaptive (fat_tree)");
  app.add_option("--ugal-threshold", c.ugal_threshold, "UGAL-L bias towards minimal, flits");
  std::string router = "simple";
  uint32_t prc = 1, va = 1, sa = 1, st = 1, cdel = 0, iters = 1;
  app.add_option("--router", router, "simple or pipeline");
  app.add_option("--rc", prc, "pipeline: route computation cycles");
  app.add_option("--va", va, "pipeline: VC allocation cycles");
  app.add_option("--sa", sa, "pipeline: switch allocation cycles");
  app.add_option("--st", st, "pipeline: switch traversal cycles");
  app.add_option("--credit-delay", cdel, "pipeline: credit processing cycles");
  app.add_option("--alloc-iters", iters, "pipeline: iSLIP iterations");
  bool include_self = false, per_packet = false;
  app.add_flag("--per-packet", per_packet, "valiant/ugal/adaptive: every packet chooses (no flowlets; reorders flows, as BookSim2)");
  uint64_t drain = 0;
  app.add_flag("--valiant-router", c.valiant_router,
               "valiant/ugal: intermediate = a random router, destination group included (BookSim2; 4 VC sets)");
  app.add_flag("--phase-vcs", c.phase_vcs,
               "with --valiant-router: BookSim2's VC per phase (3 VCs; cyclic CDG, deadlock possible: comparison only)");
  app.add_option("--adaptive-choices", c.adaptive_choices,
                 "fat-tree adaptive: up ports drawn at random per switch, least loaded taken (0: all; BookSim2 anca: 2)");
  app.add_flag("--vc-per-packet", c.vc_per_packet, "a head takes any free VC of its set (BookSim2; reorders flows)");
  app.add_flag("--terminal-direct", c.terminal_direct,
               "the NI injects into / ejects from the leaf switch directly, no adapter router (BookSim2's terminals)");
  app.add_flag("--include-self", include_self, "uniform: destinations include the source (BookSim2's uniform)");
  app.add_option("--drain", drain, "--load: at most this many cycles after the window for its packets to arrive");
  app.add_option("--ft-k", c.ft_k, "fat-tree arity k");
  app.add_option("--ft-levels", c.ft_levels, "fat-tree switch levels n");
  app.add_option("--ft-terminals", c.ft_terminals, "terminals per leaf switch (0: k)");
  app.add_option("--df-a", c.df_a, "dragonfly routers per group");
  app.add_option("--df-p", c.df_p, "dragonfly terminals per router");
  app.add_option("--df-h", c.df_h, "dragonfly global links per router");
  app.add_option("--df-groups", c.df_groups, "dragonfly groups (0: a*h+1)");
  app.add_option("--df-arrangement", arrangement, "absolute (consecutive) or palmtree");
  app.add_option("--fb-k", c.fb_k, "flattened butterfly routers per dimension");
  app.add_option("--fb-n", c.fb_n, "flattened butterfly dimensions");
  app.add_option("--fb-c", c.fb_c, "flattened butterfly terminals per router");
  app.add_option("--topo-file", c.topo_file, "topology file");
  app.add_option("--width", c.link_width_bytes, "flit size = link width, bytes");
  app.add_option("--link-latency", c.link_latency_cycles, "default link latency, cycles");
  app.add_option("--router-delay", c.router_delay_cycles, "simple router delay, cycles");
  app.add_option("--link-ns-terminal", c.link_ns_terminal, "terminal link latency, ns");
  app.add_option("--link-ns-local", c.link_ns_local, "switch link latency, ns");
  app.add_option("--link-ns-global", c.link_ns_global, "dragonfly global link latency, ns");
  app.add_option("--clock-ghz", clock_ghz, "fabric clock, GHz");
  app.add_flag("--dump-json", dump, "print the graph as JSON");
  app.add_flag("--cdg", cdg, "check the channel dependency graph (exit 1 if cyclic)");
  app.add_flag("--no-vc-sets", no_bumps, "--cdg with every channel in VC set 0 (shows why the sets are needed)");
  app.add_option("--zero-load", zl_bytes, "wire bytes: mean/min/max zero-load latency and hops over all pairs");
  double load = 0;
  std::string pattern = "uniform";
  uint32_t pkt_bytes = 128, vcs = 2, depth = 8;
  uint64_t warmup = 2000, measure = 8000, seed = 1;
  app.add_option("--load", load, "run one load point: offered flits/terminal/cycle (one process: one point)");
  app.add_option("--pattern", pattern, "uniform or adversarial");
  app.add_option("--packet-bytes", pkt_bytes, "wire bytes per packet");
  app.add_option("--vcs", vcs, "VCs per class");
  app.add_option("--depth", depth, "buffer depth, flits per VC");
  app.add_option("--warmup", warmup, "warm-up cycles");
  app.add_option("--measure", measure, "measured cycles");
  app.add_option("--seed", seed, "traffic seed");
  CLI11_PARSE(app, argc, argv);
  try {
    c.topology = parse_topology(topology);
    c.routing = parse_routing(routing);
    c.df_arrangement = parse_arrangement(arrangement);
    c.clock_period = sc_core::sc_time(1000.0 / clock_ghz, sc_core::SC_PS);
    c.vcs_per_class = vcs;
    c.flowlets = !per_packet;
    set_router_model(c, router, prc, va, sa, st, cdel, iters);
    c.buf_depth_flits = depth;
    if (!is_switched(c)) throw std::invalid_argument("--topology must be a switched fabric");
    c.validate();
  } catch (const std::invalid_argument& e) {
    std::cerr << "cmm_topo: " << e.what() << "\n";
    return 2;
  }
  const TopoGraph g = build_topology(c);
  if (dump) {
    nlohmann::json j;
    j["name"] = to_string(c.topology);
    j["routing"] = to_string(c.routing);
    j["terminals"] = g.terminals;
    j["routers"] = g.routers;
    j["ports"] = g.ports;
    j["vc_sets"] = g.vc_sets;
    j["radix"] = g.radix;
    j["params"] = {{"ft_k", c.ft_k}, {"ft_levels", c.ft_levels}, {"ft_terminals", c.ft_terminals ? c.ft_terminals : c.ft_k},
                   {"df_a", c.df_a}, {"df_p", c.df_p}, {"df_h", c.df_h}, {"fb_k", c.fb_k}, {"fb_n", c.fb_n},
                   {"fb_c", c.fb_c}};
    auto& ch = j["channels"] = nlohmann::json::array();
    for (const auto& e : g.ch)
      ch.push_back({{"r", e.r}, {"p", e.p}, {"r2", e.r2}, {"p2", e.p2}, {"latency", e.latency_cycles},
                    {"cycles_per_flit", e.cycles_per_flit}, {"bump", e.bump}, {"up", e.up}});
    std::cout << j.dump(1) << "\n";
  }
  int rc = 0;
  if (cdg) {
    const CdgResult r = check_cdg(g, no_bumps);
    std::printf("cdg %s: %llu vertices (channel x VC set), %llu dependencies, %s\n", to_string(c.topology),
                static_cast<unsigned long long>(r.vertices), static_cast<unsigned long long>(r.edges),
                r.acyclic ? "acyclic" : "CYCLIC");
    if (!r.acyclic) {
      std::printf("cycle:");
      for (uint32_t x : r.cycle) std::printf(" %u.%u->%u.%u", g.ch[x].r, g.ch[x].p, g.ch[x].r2, g.ch[x].p2);
      std::printf("\n");
      rc = 1;
    }
  }
  if (zl_bytes) {
    Noc noc("noc", c);
    uint64_t sum = 0, mn = ~uint64_t{0}, mx = 0, hsum = 0, pairs = 0;
    for (uint32_t s = 0; s < g.terminals; ++s)
      for (uint32_t d = 0; d < g.terminals; ++d) {
        if (s == d) continue;
        const uint64_t t = noc.zero_load_cycles(s, d, zl_bytes);
        sum += t;
        mn = std::min(mn, t);
        mx = std::max(mx, t);
        hsum += noc.hops(s, d);
        ++pairs;
      }
    std::printf("zero-load %u B over %llu pairs: mean %.3f min %llu max %llu cycles; mean links %.3f\n", zl_bytes,
                static_cast<unsigned long long>(pairs), static_cast<double>(sum) / static_cast<double>(pairs),
                static_cast<unsigned long long>(mn), static_cast<unsigned long long>(mx),
                static_cast<double>(hsum) / static_cast<double>(pairs));
  }
  if (load > 0) {
    const LoadPoint lp = run_load(c, g, pattern, load, pkt_bytes, warmup, measure, seed, include_self, drain);
    // load,topology,routing,pattern,offered,accepted,network latency[,packet latency,measured,unfinished]
    std::printf("load,%s,%s,%s,%.4f,%.4f,%.2f", to_string(c.topology), to_string(c.routing), pattern.c_str(),
                lp.offered, lp.accepted, lp.latency);
    if (drain) std::printf(",%.2f,%llu,%llu", lp.pkt_latency, static_cast<unsigned long long>(lp.measured),
                           static_cast<unsigned long long>(lp.unfinished));
    std::printf("\n");
  }
  return rc;
}
