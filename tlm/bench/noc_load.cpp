// Latency versus offered load of the Noc fabric under uniform random traffic.
// Synthetic sources/sinks sit on the fabric ports (no CMM): each node creates
// a packet with probability load/F per cycle (Bernoulli, F = flits per
// packet; drawn as geometric gaps between creations, the same process without
// a random draw per node and cycle), queues it in an unbounded source queue,
// and hands it to the fabric whenever it holds a credit; destinations are
// uniform over the other nodes (--include-self: over all nodes, as
// BookSim2's `uniform`). The sources are stepped by the network's clock
// domain (one dispatcher). --router pipeline and its stage flags select the
// pipelined router model (docs/fabric.md "Router models").
// Warm-up, measurement window (packets created in it are measured), drain.
// One CSV line per load; each load point runs in its own child process
// (SystemC elaborates once per process).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cmm_tlm/noc.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

struct Opts {
  std::string topology = "mesh";
  uint32_t x = 4, y = 4;
  uint32_t vcs = 2, depth = 8, width = 16, link_latency = 1, router_delay = 1;
  uint32_t packet_bytes = 64;  // wire bytes (32 header + payload)
  std::string loads = "0.05,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9";
  uint64_t warmup = 2000, measure = 10000, drain = 50000;
  uint64_t seed = 1;
  bool dump_stats = false;    // a line with every NocStats counter after the CSV line (result comparisons)
  bool include_self = false;  // destinations uniform over all nodes (BookSim's uniform), else over the others
  std::string router = "simple";
  uint32_t rc = 1, va = 1, sa = 1, st = 1, credit_delay = 0, alloc_iters = 1;
  // Switched fabrics (topo.h); defaults are NocConfig's.
  std::string routing = "minimal";
  uint32_t ft_k = NocConfig{}.ft_k, ft_levels = NocConfig{}.ft_levels, ft_terminals = NocConfig{}.ft_terminals;
  uint32_t df_a = NocConfig{}.df_a, df_p = NocConfig{}.df_p, df_h = NocConfig{}.df_h, df_groups = NocConfig{}.df_groups;
  std::string df_arrangement = "absolute";
  uint32_t fb_k = NocConfig{}.fb_k, fb_n = NocConfig{}.fb_n, fb_c = NocConfig{}.fb_c;
  std::string topo_file;
  double link_ns_terminal = 0, link_ns_local = 0, link_ns_global = 0;
};

class Traffic : public sc_module, private Clocked {
 public:
  SC_HAS_PROCESS(Traffic);
  using ISock = tlm_utils::simple_initiator_socket_tagged<Traffic>;
  using TSock = tlm_utils::simple_target_socket_tagged<Traffic>;
  std::vector<std::unique_ptr<ISock>> isock;
  std::vector<std::unique_ptr<TSock>> tsock;

  // Results.
  uint64_t created_meas = 0, delivered_meas = 0, gen_flits_win = 0, acc_flits_win = 0, overflow = 0;
  uint64_t net_lat_sum = 0;
  std::vector<uint64_t> lat;
  bool finished = false;

  Traffic(sc_module_name nm, const Opts& o, uint32_t n, uint32_t flits, double load, ClockDomain& clk)
      : sc_module(nm), o_(o), n_(n), flits_(flits), period_(clk.period()), rng_(o.seed),
        p_(std::min(1.0, load / flits)), q_(n), clk_(clk), clk_id_(clk.attach(*this)) {
    for (uint32_t i = 0; i < n; ++i) {
      isock.push_back(std::make_unique<ISock>(("isock" + std::to_string(i)).c_str()));
      tsock.push_back(std::make_unique<TSock>(("tsock" + std::to_string(i)).c_str()));
      isock.back()->register_nb_transport_bw(this, &Traffic::bw, static_cast<int>(i));
      tsock.back()->register_nb_transport_fw(this, &Traffic::fw, static_cast<int>(i));
      q_[i].reset(1u << 16);
    }
    credits_.assign(n, 0);
    gp_.set_extension(&ext_);
    cgp_.set_extension(&cext_);
    cext_.kind = LinkExt::kCredit;
    pkt_.payload_len = static_cast<uint16_t>(o.packet_bytes - kHeaderBytes);
    pkt_.hdr.len = pkt_.payload_len;  // the fabric drops packets whose lengths disagree (BAD_LEN)
    lat.reserve(1u << 20);
    next_.assign(n, 0);
    for (uint32_t s = 0; s < n; ++s) next_[s] = gap() - 1;  // first creation cycle
    clk_.wake_at(clk_id_, 0);
  }
  ~Traffic() override {
    gp_.clear_extension(&ext_);
    cgp_.clear_extension(&cext_);
  }

 private:
  // Cycles to the next creation of a Bernoulli(p) source: geometric, >= 1.
  uint64_t gap() {
    if (p_ <= 0.0) return UINT64_MAX / 2;
    if (p_ >= 1.0) return 1;
    const double u = 1.0 - coin_(rng_);  // (0, 1]
    return 1 + static_cast<uint64_t>(std::floor(std::log(u) / std::log1p(-p_)));
  }

  void clock_edge(uint64_t t) override {
    const uint64_t w0 = o_.warmup, w1 = o_.warmup + o_.measure;
    if (t >= w1 && delivered_meas == created_meas) {
      finished = true;
      sc_stop();
      return;
    }
    if (t >= w1 + o_.drain) {
      sc_stop();
      return;
    }
    std::uniform_int_distribution<uint32_t> other(o_.include_self ? 0 : 1, n_ - 1);
    for (uint32_t s = 0; s < n_; ++s) {
      if (next_[s] <= t) {
        next_[s] = t + gap();
        if (q_[s].full()) {
          ++overflow;
        } else {
          q_[s].push(t);
          if (t >= w0 && t < w1) {
            ++created_meas;
            gen_flits_win += flits_;
          }
        }
      }
      if (!q_[s].empty() && credits_[s] > 0) {
        --credits_[s];
        const uint64_t born = q_[s].front();
        q_[s].pop();
        pkt_.hdr.src_node = static_cast<uint8_t>(s);
        pkt_.hdr.dst_node = static_cast<uint8_t>((s + other(rng_)) % n_);
        pkt_.id = born;
        pkt_.hdr.key[0] = static_cast<uint32_t>(t);
        pkt_.hdr.key[1] = static_cast<uint32_t>(t >> 32);
        pkt_.cls = 0;
        ext_.kind = LinkExt::kPacket;
        ext_.pkt = &pkt_;
        tlm::tlm_phase ph = tlm::BEGIN_REQ;
        sc_time d = SC_ZERO_TIME;
        (*isock[s])->nb_transport_fw(gp_, ph, d);
      }
    }
    clk_.wake_at(clk_id_, t + 1);
  }

  tlm::tlm_sync_enum bw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    if (e && e->kind == LinkExt::kCredit && e->cls == 0) credits_[static_cast<uint32_t>(port)] += e->credits;
    return tlm::TLM_COMPLETED;
  }

  tlm::tlm_sync_enum fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time& d) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    const Packet& p = *e->pkt;
    const uint64_t arr = (sc_time_stamp() + d).value() / period_.value();
    const uint64_t sent = uint64_t{p.hdr.key[0]} | (uint64_t{p.hdr.key[1]} << 32);
    if (p.id >= o_.warmup && p.id < o_.warmup + o_.measure) {
      ++delivered_meas;
      lat.push_back(arr - p.id);
      net_lat_sum += arr - sent;
    }
    if (arr >= o_.warmup && arr < o_.warmup + o_.measure) acc_flits_win += flits_;
    cext_.cls = p.cls;
    cext_.credits = 1;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_time z = SC_ZERO_TIME;
    (*tsock[static_cast<uint32_t>(port)])->nb_transport_bw(cgp_, ph, z);
    return tlm::TLM_COMPLETED;
  }

  const Opts& o_;
  uint32_t n_, flits_;
  sc_time period_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  double p_;
  std::vector<Ring<uint64_t>> q_;  // creation cycles
  std::vector<uint32_t> credits_;
  std::vector<uint64_t> next_;  // next creation cycle per source
  ClockDomain& clk_;
  uint32_t clk_id_;
  Packet pkt_;
  tlm::tlm_generic_payload gp_, cgp_;
  LinkExt ext_, cext_;
};

// Sink side grants this many credits per class (returned on every arrival).
class SinkCredits : public sc_module {
 public:
  SC_HAS_PROCESS(SinkCredits);
  SinkCredits(sc_module_name nm, Traffic& t, uint32_t n) : sc_module(nm), t_(t), n_(n) { SC_METHOD(run); }

 private:
  void run() {
    LinkExt ext;
    ext.kind = LinkExt::kCredit;
    tlm::tlm_generic_payload gp;
    gp.set_extension(&ext);
    for (uint32_t i = 0; i < n_; ++i)
      for (uint8_t c = 0; c < 2; ++c) {
        ext.cls = c;
        ext.credits = 8;
        tlm::tlm_phase ph = tlm::BEGIN_RESP;
        sc_time d = SC_ZERO_TIME;
        (*t_.tsock[i])->nb_transport_bw(gp, ph, d);
      }
    gp.clear_extension(&ext);
  }
  Traffic& t_;
  uint32_t n_;
};

int run_point(const Opts& o, double load) {
  NocConfig c;
  c.topology = parse_topology(o.topology);
  c.x = o.x;
  c.y = o.topology == "ring" ? 1 : o.y;
  c.vcs_per_class = o.vcs;
  c.buf_depth_flits = o.depth;
  c.link_width_bytes = o.width;
  c.link_latency_cycles = o.link_latency;
  c.router_delay_cycles = o.router_delay;
  set_router_model(c, o.router, o.rc, o.va, o.sa, o.st, o.credit_delay, o.alloc_iters);
  c.routing = parse_routing(o.routing);
  c.ft_k = o.ft_k;
  c.ft_levels = o.ft_levels;
  c.ft_terminals = o.ft_terminals;
  c.df_a = o.df_a;
  c.df_p = o.df_p;
  c.df_h = o.df_h;
  c.df_groups = o.df_groups;
  c.df_arrangement = parse_arrangement(o.df_arrangement);
  c.fb_k = o.fb_k;
  c.fb_n = o.fb_n;
  c.fb_c = o.fb_c;
  c.topo_file = o.topo_file;
  c.link_ns_terminal = o.link_ns_terminal;
  c.link_ns_local = o.link_ns_local;
  c.link_ns_global = o.link_ns_global;
  ClockDomain clk("clock", c.clock_period);
  c.clock = &clk;
  Noc noc("noc", c);
  const uint32_t n = c.num_nodes();
  const uint32_t f = noc.flits_of(o.packet_bytes);
  Traffic tr("traffic", o, n, f, load, clk);
  for (uint32_t i = 0; i < n; ++i) {
    tr.isock[i]->bind(*noc.in_tsock[i]);
    noc.out_isock[i]->bind(*tr.tsock[i]);
  }
  SinkCredits sc("sink_credits", tr, n);
  const auto w0 = std::chrono::steady_clock::now();
  sc_start();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  const uint64_t cycles = noc.cycle_now();
  std::vector<uint64_t>& l = tr.lat;
  std::sort(l.begin(), l.end());
  double mean = 0;
  for (uint64_t v : l) mean += static_cast<double>(v);
  mean = l.empty() ? 0 : mean / static_cast<double>(l.size());
  const uint64_t p99 = l.empty() ? 0 : l[std::min(l.size() - 1, (l.size() * 99 + 99) / 100 - 1)];
  const double denom = static_cast<double>(n) * static_cast<double>(o.measure);
  const auto& st = noc.stats();
  const bool grid = c.topology == Topology::kMesh || c.topology == Topology::kRing || c.topology == Topology::kTorus;
  const std::string size = grid ? std::to_string(c.x) + "x" + std::to_string(c.y) : std::to_string(n);
  std::printf("%.4g,%.4f,%.4f,%.2f,%llu,%.2f,%llu,%d,%llu,%.3f,%.0f,%.0f,%s,%s\n", load,
              static_cast<double>(tr.gen_flits_win) / denom, static_cast<double>(tr.acc_flits_win) / denom, mean,
              static_cast<unsigned long long>(p99),
              l.empty() ? 0.0 : static_cast<double>(tr.net_lat_sum) / static_cast<double>(l.size()),
              static_cast<unsigned long long>(l.size()), tr.finished ? 0 : 1,
              static_cast<unsigned long long>(cycles), wall, static_cast<double>(cycles) / wall,
              static_cast<double>(st.flits_ejected) / wall, o.topology.c_str(), size.c_str());
  if (o.dump_stats) {
    std::string d = "# stats";
    auto add = [&d](uint64_t v) { d += ' ' + std::to_string(v); };
    for (int c = 0; c < 2; ++c) {
      add(st.injected[c]);
      add(st.delivered[c]);
      add(st.latency_sum[c]);
      add(st.latency_max[c]);
    }
    for (uint64_t v : {st.flits_injected, st.flits_ejected, st.unroutable, st.link_errors, st.steps, st.stalled_cycles,
                       st.drops.total(), st.flits_dropped})
      add(v);
    for (uint64_t v : st.link_flits) add(v);
    for (uint64_t v : st.buf_occupancy_sum) add(v);
    for (uint64_t v : st.buf_occupancy_max) add(v);
    for (uint64_t v : st.vc_stalls) add(v);
    for (uint64_t v : st.eject_credit_stalls) add(v);
    std::printf("%s\n", d.c_str());
  }
  std::fflush(stdout);
  if (st.drops.total() > 0)  // sources are honest and sinks return credits: should never happen
    std::fprintf(stderr, "noc_load: %llu packets dropped by the fabric (bad_len %llu, src_spoofed %llu, hol %llu)\n",
                 static_cast<unsigned long long>(st.drops.total()), static_cast<unsigned long long>(st.drops.bad_len),
                 static_cast<unsigned long long>(st.drops.src_spoofed),
                 static_cast<unsigned long long>(st.drops.hol_timeout));
  return 0;
}

}  // namespace

int sc_main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);  // keep stdout pure CSV
  sc_report_handler::set_actions("/OSCI/SystemC", SC_INFO, SC_DO_NOTHING);  // sc_stop() ends a point
  Opts o;
  CLI::App app{"Noc latency versus offered load (uniform random traffic)"};
  app.add_option("--topology", o.topology, "ring, mesh, torus, fat_tree, dragonfly, flatfly or file");
  app.add_option("--routing", o.routing, "switched fabrics: minimal, ecmp or updown");
  app.add_option("--ft-k", o.ft_k, "fat tree: down/up ports per switch above the leaves");
  app.add_option("--ft-levels", o.ft_levels, "fat tree: switch levels");
  app.add_option("--ft-terminals", o.ft_terminals, "fat tree: terminals per leaf switch (0: ft-k)");
  app.add_option("--df-a", o.df_a, "dragonfly: routers per group");
  app.add_option("--df-p", o.df_p, "dragonfly: terminals per router");
  app.add_option("--df-h", o.df_h, "dragonfly: global links per router");
  app.add_option("--df-groups", o.df_groups, "dragonfly: groups (0: a*h + 1)");
  app.add_option("--df-arrangement", o.df_arrangement, "dragonfly: absolute or palmtree");
  app.add_option("--fb-k", o.fb_k, "flattened butterfly: routers per dimension");
  app.add_option("--fb-n", o.fb_n, "flattened butterfly: dimensions");
  app.add_option("--fb-c", o.fb_c, "flattened butterfly: terminals per router");
  app.add_option("--topo-file", o.topo_file, "file topology: path");
  app.add_option("--link-ns-terminal", o.link_ns_terminal, "terminal link latency, ns (0: --link-latency)");
  app.add_option("--link-ns-local", o.link_ns_local, "switch-to-switch link latency, ns (0: --link-latency)");
  app.add_option("--link-ns-global", o.link_ns_global, "dragonfly global link latency, ns (0: --link-latency)");
  app.add_option("--x", o.x, "columns (ring: nodes)");
  app.add_option("--y", o.y, "rows (ignored for a ring)");
  app.add_option("--vcs", o.vcs, "VCs per message class");
  app.add_option("--depth", o.depth, "buffer depth, flits per VC");
  app.add_option("--width", o.width, "link width, bytes per cycle (= flit size)");
  app.add_option("--link-latency", o.link_latency, "link latency, cycles");
  app.add_option("--router-delay", o.router_delay, "router delay, cycles");
  app.add_option("--packet-bytes", o.packet_bytes, "wire bytes per packet (>= 32, the header)");
  app.add_option("--loads", o.loads, "offered loads, flits/node/cycle, comma separated");
  app.add_option("--warmup", o.warmup, "warm-up cycles");
  app.add_option("--measure", o.measure, "measurement cycles");
  app.add_option("--drain", o.drain, "drain limit, cycles");
  app.add_option("--seed", o.seed, "random seed");
  app.add_flag("--dump-stats", o.dump_stats, "after each CSV line, a line '# stats ...' with every fabric counter");
  app.add_flag("--include-self", o.include_self, "destinations uniform over all nodes, the source included");
  app.add_option("--router", o.router, "router model: simple (default) or pipeline");
  app.add_option("--rc", o.rc, "pipeline: route computation cycles");
  app.add_option("--va", o.va, "pipeline: VC allocation cycles");
  app.add_option("--sa", o.sa, "pipeline: switch allocation cycles (>= 1)");
  app.add_option("--st", o.st, "pipeline: switch traversal cycles");
  app.add_option("--credit-delay", o.credit_delay, "pipeline: credit processing delay, cycles");
  app.add_option("--alloc-iters", o.alloc_iters, "pipeline: iSLIP iterations of the switch allocator");
  CLI11_PARSE(app, argc, argv);
  if (o.packet_bytes < kHeaderBytes || o.packet_bytes > kHeaderBytes + regs::kMaxMsgBytes) {
    std::fprintf(stderr, "--packet-bytes must be in [%u, %u]\n", kHeaderBytes, kHeaderBytes + regs::kMaxMsgBytes);
    return 2;
  }
  std::vector<double> loads;
  std::stringstream ss(o.loads);
  for (std::string tok; std::getline(ss, tok, ',');) loads.push_back(std::stod(tok));
  std::printf(
      "offered_flits_node_cycle,generated,accepted,lat_mean,lat_p99,net_lat_mean,packets,unfinished,"
      "sim_cycles,wall_s,cycles_per_s,flits_per_s,topology,size\n");
  std::fflush(stdout);
  int rc = 0;
  for (double ld : loads) {
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      try {
        const int r = run_point(o, ld);
        std::fflush(stdout);
        _exit(r);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        _exit(2);
      }
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = 1;
  }
  return rc;
}
