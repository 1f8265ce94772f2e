// Google Benchmark cases for the one-clock dispatcher (ClockDomain), the
// network's router step (Noc under uniform load, both router models) and a
// CMM register access through the cycle-accurate and the loosely-timed path:
// the source of the per-component figures in docs/performance.md. No timing
// is asserted.
//
// SystemC elaborates once per process, so every case's modules are built
// before the first sc_start; a case advances simulated time by whole cycles
// and only its own modules ask for edges (the others cost nothing).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/clock_domain.h"
#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/node_bus.h"
#include "cmm_tlm/noc.h"

using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

constexpr uint64_t kBatch = 64;  // cycles per benchmark iteration (sc_start overhead amortized)
const sc_time kPeriod(1, SC_NS);

// A component that wants an edge every `every` cycles while running.
class Ticker : public Clocked {
 public:
  Ticker(ClockDomain& d, uint32_t every, uint32_t phase) : d_(d), id_(d.attach(*this)), every_(every), phase_(phase) {}
  void start() {
    run_ = true;
    d_.wake_at(id_, d_.floor_cycle() + 1 + phase_);
  }
  void stop() { run_ = false; }
  void clock_edge(uint64_t cycle) override {
    benchmark::DoNotOptimize(++edges_);
    if (run_) d_.wake_at(id_, cycle + every_);
  }

 private:
  ClockDomain& d_;
  uint32_t id_;
  uint32_t every_, phase_;
  bool run_ = false;
  uint64_t edges_ = 0;
};

// The scheme the dispatcher replaced: every component re-notifies its own
// timed event each cycle (one SystemC timed event per component per cycle).
class OwnEventTicker : public sc_module {
 public:
  SC_HAS_PROCESS(OwnEventTicker);
  explicit OwnEventTicker(sc_module_name n) : sc_module(n) {
    SC_METHOD(edge);
    sensitive << ev_;
    dont_initialize();
  }
  void start() {
    run_ = true;
    ev_.notify(kPeriod);
  }
  void stop() { run_ = false; }

 private:
  void edge() {
    benchmark::DoNotOptimize(++edges_);
    if (run_) ev_.notify(kPeriod);
  }
  sc_event ev_;
  bool run_ = false;
  uint64_t edges_ = 0;
};

// Bernoulli sources and credit-returning sinks on every Noc port, stepped by
// the same clock domain as the network (uniform destinations).
class Sources : public sc_module, public Clocked {
 public:
  using ISock = tlm_utils::simple_initiator_socket_tagged<Sources>;
  using TSock = tlm_utils::simple_target_socket_tagged<Sources>;
  std::vector<std::unique_ptr<ISock>> isock;
  std::vector<std::unique_ptr<TSock>> tsock;

  Sources(sc_module_name nm, ClockDomain& d, uint32_t n, uint32_t payload, double packets_per_cycle)
      : sc_module(nm), d_(d), id_(d.attach(*this)), n_(n), p_(packets_per_cycle), credits_(n, 0), backlog_(n, 0) {
    for (uint32_t i = 0; i < n; ++i) {
      isock.push_back(std::make_unique<ISock>(("isock" + std::to_string(i)).c_str()));
      tsock.push_back(std::make_unique<TSock>(("tsock" + std::to_string(i)).c_str()));
      isock.back()->register_nb_transport_bw(this, &Sources::bw, static_cast<int>(i));
      tsock.back()->register_nb_transport_fw(this, &Sources::fw, static_cast<int>(i));
    }
    pkt_.payload_len = static_cast<uint16_t>(payload);
    pkt_.hdr.len = pkt_.payload_len;
    gp_.set_extension(&ext_);
    cgp_.set_extension(&cext_);
    cext_.kind = LinkExt::kCredit;
  }
  ~Sources() override {
    gp_.clear_extension(&ext_);
    cgp_.clear_extension(&cext_);
  }
  // The sinks grant 8 packets per class at time 0 (before the first case).
  void grant() {
    for (uint32_t i = 0; i < n_; ++i)
      for (uint8_t c = 0; c < 2; ++c) {
        cext_.cls = c;
        cext_.credits = 8;
        tlm::tlm_phase ph = tlm::BEGIN_RESP;
        sc_time z = SC_ZERO_TIME;
        (*tsock[i])->nb_transport_bw(cgp_, ph, z);
      }
  }
  void start() {
    run_ = true;
    d_.wake_at(id_, d_.floor_cycle() + 1);
  }
  void stop() { run_ = false; }
  uint64_t delivered = 0;

  void clock_edge(uint64_t cycle) override {
    std::uniform_int_distribution<uint32_t> other(1, n_ - 1);
    for (uint32_t s = 0; s < n_; ++s) {
      if (run_ && coin_(rng_) < p_) ++backlog_[s];
      if (backlog_[s] == 0 || credits_[s] == 0) continue;
      --backlog_[s];
      --credits_[s];
      pkt_.hdr.src_node = static_cast<uint8_t>(s);
      pkt_.hdr.dst_node = static_cast<uint8_t>((s + other(rng_)) % n_);
      pkt_.cls = 0;
      ext_.kind = LinkExt::kPacket;
      ext_.pkt = &pkt_;
      tlm::tlm_phase ph = tlm::BEGIN_REQ;
      sc_time z = SC_ZERO_TIME;
      (*isock[s])->nb_transport_fw(gp_, ph, z);
    }
    bool more = run_;
    for (uint32_t s = 0; s < n_ && !more; ++s) more = backlog_[s] > 0;
    if (more) d_.wake_at(id_, cycle + 1);
  }

 private:
  tlm::tlm_sync_enum bw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    if (e && e->kind == LinkExt::kCredit && e->cls == 0) credits_[static_cast<uint32_t>(port)] += e->credits;
    return tlm::TLM_COMPLETED;
  }
  tlm::tlm_sync_enum fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    ++delivered;
    cext_.cls = e->pkt->cls;
    cext_.credits = 1;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_time z = SC_ZERO_TIME;
    (*tsock[static_cast<uint32_t>(port)])->nb_transport_bw(cgp_, ph, z);
    return tlm::TLM_COMPLETED;
  }

  ClockDomain& d_;
  uint32_t id_;
  uint32_t n_;
  double p_;
  bool run_ = false;
  std::mt19937_64 rng_{1};
  std::uniform_real_distribution<double> coin_{0.0, 1.0};
  std::vector<uint32_t> credits_, backlog_;
  Packet pkt_;
  tlm::tlm_generic_payload gp_, cgp_;
  LinkExt ext_, cext_;
};

// A CMM on its node bus with a CPU thread that reads a register in a loop
// while `run`: cycle-accurate (CpuBusIf, the thread waits for each response)
// or loosely timed (LtCpuBusIf, b_transport with a 1 us quantum).
class RegRig : public sc_module {
 public:
  SC_HAS_PROCESS(RegRig);
  RegRig(sc_module_name n, bool lt)
      : sc_module(n), cmm("cmm", cfg()), bus("bus", 1, kPeriod), ca_cpu("ca_cpu"), lt_cpu("lt_cpu"), lt_(lt) {
    bus.cmm_isock.bind(cmm.reg_tsock);
    if (lt) lt_cpu.isock.bind(*bus.part_tsock[0]);
    else ca_cpu.isock.bind(*bus.part_tsock[0]);
    // The unused interface's socket is bound to a dummy target.
    if (lt) ca_cpu.isock.bind(dummy_);
    else lt_cpu.isock.bind(dummy_);
    ca_ctx = ca_cpu.make_context(cmm::regs::Priv::kKernel, 0);
    lt_ctx = lt_cpu.make_context(cmm::regs::Priv::kKernel, 0);
    link_i_.register_nb_transport_bw(this, &RegRig::link_bw);
    link_t_.register_nb_transport_fw(this, &RegRig::link_fw);
    cmm.eg_isock.bind(link_t_);
    link_i_.bind(cmm.ing_tsock);
    SC_THREAD(cpu);
  }
  static CmmTlmConfig cfg() {
    CmmTlmConfig c;
    c.straps.quota.fill(0);
    c.straps.quota[0] = 8;
    return c;
  }
  void start() {
    run = true;
    go_.notify(SC_ZERO_TIME);
  }
  CmmTlm cmm;
  NodeBus bus;
  PartitionBusIf ca_cpu;
  LtPartitionBusIf lt_cpu;
  std::unique_ptr<CpuBusIf> ca_ctx;
  std::unique_ptr<LtCpuBusIf> lt_ctx;
  bool run = false;
  uint64_t accesses = 0;

 private:
  void cpu() {
    uint32_t v = 0;
    for (;;) {
      if (!run) {
        if (lt_) lt_cpu.sync();
        wait(go_);
        if (lt_) lt_cpu.qk().reset();
      }
      const auto st = lt_ ? lt_ctx->read32(cmm::regs::CMM_ID_OFFSET, v) : ca_ctx->read32(cmm::regs::CMM_ID_OFFSET, v);
      benchmark::DoNotOptimize(st);
      ++accesses;
    }
  }
  tlm::tlm_sync_enum link_bw(tlm::tlm_generic_payload&, tlm::tlm_phase&, sc_time&) { return tlm::TLM_COMPLETED; }
  tlm::tlm_sync_enum link_fw(tlm::tlm_generic_payload&, tlm::tlm_phase&, sc_time&) { return tlm::TLM_COMPLETED; }
  tlm_utils::simple_target_socket<RegRig> dummy_{"dummy"};
  tlm_utils::simple_initiator_socket<RegRig> link_i_{"link_i"};
  tlm_utils::simple_target_socket<RegRig> link_t_{"link_t"};
  bool lt_;
  sc_event go_;
};

struct NocRig {
  std::string label;
  std::unique_ptr<ClockDomain> clock;
  std::unique_ptr<Noc> noc;
  std::unique_ptr<Sources> src;
};

// Everything is built in sc_main before the first sc_start.
struct Rigs {
  std::unique_ptr<ClockDomain> dom;
  std::vector<std::unique_ptr<Ticker>> every1;   // 64 components, every cycle
  std::vector<std::unique_ptr<Ticker>> every8;   // 64 components, every 8th cycle, phases spread
  std::vector<std::unique_ptr<OwnEventTicker>> own;
  std::vector<NocRig> nocs;  // 4x4 at 0.005 / 0.025, 8x8 at 0.0025 / 0.012 packets/node/cycle
  std::vector<NocRig> pipes;  // the same with the pipelined router (BookSim2-calibrated defaults)
  std::unique_ptr<RegRig> reg_ca, reg_lt;
};
Rigs* g = nullptr;

void run_cycles(benchmark::State& st) {
  for (auto _ : st) sc_start(kPeriod * static_cast<double>(kBatch));
  st.counters["cycles/s"] = benchmark::Counter(static_cast<double>(st.iterations() * kBatch), benchmark::Counter::kIsRate);
}

// One clock edge of N components that are all active.
void BM_DispatcherEveryCycle(benchmark::State& st) {
  const auto n = static_cast<size_t>(st.range(0));
  for (size_t i = 0; i < n; ++i) g->every1[i]->start();
  run_cycles(st);
  for (size_t i = 0; i < n; ++i) g->every1[i]->stop();
  sc_start(kPeriod * 2.0);
  st.counters["edges/s"] = benchmark::Counter(static_cast<double>(st.iterations() * kBatch * n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DispatcherEveryCycle)->Arg(1)->Arg(16)->Arg(64);

// 64 components each active every 8th cycle (phases spread): 8 per edge.
void BM_DispatcherSparse(benchmark::State& st) {
  for (auto& t : g->every8) t->start();
  run_cycles(st);
  for (auto& t : g->every8) t->stop();
  sc_start(kPeriod * 9.0);
}
BENCHMARK(BM_DispatcherSparse);

// The replaced scheme for comparison: N components, one timed event each per cycle.
void BM_OwnTimedEventEveryCycle(benchmark::State& st) {
  const auto n = static_cast<size_t>(st.range(0));
  for (size_t i = 0; i < n; ++i) g->own[i]->start();
  run_cycles(st);
  for (size_t i = 0; i < n; ++i) g->own[i]->stop();
  sc_start(kPeriod * 2.0);
  st.counters["edges/s"] = benchmark::Counter(static_cast<double>(st.iterations() * kBatch * n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OwnTimedEventEveryCycle)->Arg(1)->Arg(16)->Arg(64);

// The network (router steps, NIs, links) under uniform load, 8-flit packets,
// 1 VC per class, 4-flit buffers: the issue-11 workload without CMMs.
void BM_NocUniform(benchmark::State& st) {
  NocRig& r = g->nocs.at(static_cast<size_t>(st.range(0)));
  st.SetLabel(r.label);
  const uint64_t f0 = r.noc->stats().flits_ejected;
  r.src->start();
  run_cycles(st);
  r.src->stop();
  st.counters["flits/s"] =
      benchmark::Counter(static_cast<double>(r.noc->stats().flits_ejected - f0), benchmark::Counter::kIsRate);
  sc_start(kPeriod * 2000.0);  // drain before the next case
}
BENCHMARK(BM_NocUniform)->DenseRange(0, 3);

// The same with the pipelined router model (docs/fabric.md "Router models",
// 1/1/1/1 stages, credit delay 0, as configured to match BookSim2's iq router).
void BM_NocUniformPipeline(benchmark::State& st) {
  NocRig& r = g->pipes.at(static_cast<size_t>(st.range(0)));
  st.SetLabel(r.label);
  const uint64_t f0 = r.noc->stats().flits_ejected;
  r.src->start();
  run_cycles(st);
  r.src->stop();
  st.counters["flits/s"] =
      benchmark::Counter(static_cast<double>(r.noc->stats().flits_ejected - f0), benchmark::Counter::kIsRate);
  sc_start(kPeriod * 2000.0);
}
BENCHMARK(BM_NocUniformPipeline)->DenseRange(0, 3);

// One register read of a CMM through its node bus (Lb = 1 cycle: 4 cycles per
// access), host CPU time per access: the cycle-accurate path (a thread switch
// and SystemC events per access) against the loosely-timed one (b_transport,
// the CMM catches up inside the call, the CPU synchronises once per 1 us).
void reg_access(benchmark::State& st, RegRig& r) {
  const uint64_t a0 = r.accesses;
  r.start();
  for (auto _ : st) sc_start(kPeriod * 1000.0);
  r.run = false;
  sc_start(kPeriod * 1000.0);  // the thread parks (an LT CPU syncs first)
  st.counters["accesses/s"] = benchmark::Counter(static_cast<double>(r.accesses - a0), benchmark::Counter::kIsRate);
  st.counters["s/access"] = benchmark::Counter(static_cast<double>(r.accesses - a0),
                                               benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void BM_RegAccessCycleAccurate(benchmark::State& st) { reg_access(st, *g->reg_ca); }
void BM_RegAccessLooselyTimed(benchmark::State& st) { reg_access(st, *g->reg_lt); }
BENCHMARK(BM_RegAccessCycleAccurate);
BENCHMARK(BM_RegAccessLooselyTimed);

}  // namespace

int sc_main(int argc, char** argv) {
  sc_report_handler::set_actions("/OSCI/SystemC", SC_INFO, SC_DO_NOTHING);
  Rigs rigs;
  g = &rigs;
  rigs.dom = std::make_unique<ClockDomain>("dom", kPeriod);
  for (uint32_t i = 0; i < 64; ++i) {
    rigs.every1.push_back(std::make_unique<Ticker>(*rigs.dom, 1, 0));
    rigs.every8.push_back(std::make_unique<Ticker>(*rigs.dom, 8, i % 8));
    rigs.own.push_back(std::make_unique<OwnEventTicker>(sc_gen_unique_name("own")));
  }
  const struct {
    uint32_t k;
    double load;
  } pts[] = {{4, 0.005}, {4, 0.025}, {8, 0.0025}, {8, 0.012}};
  for (int pipe = 0; pipe < 2; ++pipe)
  for (const auto& p : pts) {
    auto& list = pipe ? rigs.pipes : rigs.nocs;
    NocRig r;
    r.label = "mesh " + std::to_string(p.k) + "x" + std::to_string(p.k) + " at " + std::to_string(p.load) +
              " packets/node/cycle" + (pipe ? ", pipeline router" : "");
    const std::string nm = std::string(pipe ? "pipe" : "mesh") + std::to_string(p.k) + "_" + std::to_string(list.size());
    r.clock = std::make_unique<ClockDomain>((nm + "_clk").c_str(), kPeriod);
    NocConfig c;
    c.topology = Topology::kMesh;
    c.x = c.y = p.k;
    c.vcs_per_class = 1;
    c.buf_depth_flits = 4;
    c.link_width_bytes = 16;
    c.link_latency_cycles = 1;
    c.router_delay_cycles = 1;
    if (pipe) c.router = RouterModel::kPipeline;
    c.clock = r.clock.get();
    r.noc = std::make_unique<Noc>(nm.c_str(), c);
    r.src = std::make_unique<Sources>((nm + "_src").c_str(), *r.clock, p.k * p.k, 128 - kHeaderBytes, p.load);
    for (uint32_t i = 0; i < p.k * p.k; ++i) {
      r.src->isock[i]->bind(*r.noc->in_tsock[i]);
      r.noc->out_isock[i]->bind(*r.src->tsock[i]);
    }
    list.push_back(std::move(r));
  }
  rigs.reg_ca = std::make_unique<RegRig>("reg_ca", false);
  rigs.reg_lt = std::make_unique<RegRig>("reg_lt", true);
  tlm::tlm_global_quantum::instance().set(sc_time(1, SC_US));
  sc_start(SC_ZERO_TIME);  // elaboration, initial credits
  for (auto& r : rigs.nocs) r.src->grant();
  for (auto& r : rigs.pipes) r.src->grant();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
