// Google Benchmark cases for the one-clock dispatcher (ClockDomain) and the
// network's router step (Noc under uniform load): the source of the
// per-component figures in docs/performance.md. No timing is asserted.
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
  for (const auto& p : pts) {
    NocRig r;
    r.label = "mesh " + std::to_string(p.k) + "x" + std::to_string(p.k) + " at " + std::to_string(p.load) +
              " packets/node/cycle";
    const std::string nm = "mesh" + std::to_string(p.k) + "_" + std::to_string(rigs.nocs.size());
    r.clock = std::make_unique<ClockDomain>((nm + "_clk").c_str(), kPeriod);
    NocConfig c;
    c.topology = Topology::kMesh;
    c.x = c.y = p.k;
    c.vcs_per_class = 1;
    c.buf_depth_flits = 4;
    c.link_width_bytes = 16;
    c.link_latency_cycles = 1;
    c.router_delay_cycles = 1;
    c.clock = r.clock.get();
    r.noc = std::make_unique<Noc>(nm.c_str(), c);
    r.src = std::make_unique<Sources>((nm + "_src").c_str(), *r.clock, p.k * p.k, 128 - kHeaderBytes, p.load);
    for (uint32_t i = 0; i < p.k * p.k; ++i) {
      r.src->isock[i]->bind(*r.noc->in_tsock[i]);
      r.noc->out_isock[i]->bind(*r.src->tsock[i]);
    }
    rigs.nocs.push_back(std::move(r));
  }
  sc_start(SC_ZERO_TIME);  // elaboration, initial credits
  for (auto& r : rigs.nocs) r.src->grant();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
