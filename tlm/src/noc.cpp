#include "cmm_tlm/noc.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace cmm::tlmshell {

using namespace sc_core;

// ------------------------------------------------------------ config

Topology parse_topology(const std::string& s) {
  if (s == "ring") return Topology::kRing;
  if (s == "mesh") return Topology::kMesh;
  if (s == "torus") return Topology::kTorus;
  if (s == "fat_tree") return Topology::kFatTree;
  if (s == "dragonfly") return Topology::kDragonfly;
  if (s == "flatfly") return Topology::kFlatFly;
  if (s == "file") return Topology::kFile;
  throw std::invalid_argument("unknown topology '" + s +
                              "': allowed values are ring, mesh, torus, fat_tree, dragonfly, flatfly, file");
}

const char* to_string(Topology t) {
  switch (t) {
    case Topology::kRing: return "ring";
    case Topology::kMesh: return "mesh";
    case Topology::kTorus: return "torus";
    case Topology::kFatTree: return "fat_tree";
    case Topology::kDragonfly: return "dragonfly";
    case Topology::kFlatFly: return "flatfly";
    case Topology::kFile: return "file";
  }
  return "?";
}

RouterModel parse_router_model(const std::string& s) {
  if (s == "simple") return RouterModel::kSimple;
  if (s == "pipeline") return RouterModel::kPipeline;
  throw std::invalid_argument("unknown router model '" + s + "': allowed values are simple, pipeline");
}

const char* to_string(RouterModel m) {
  switch (m) {
    case RouterModel::kSimple: return "simple";
    case RouterModel::kPipeline: return "pipeline";
  }
  return "?";
}

namespace {
constexpr uint64_t kNoWait = std::numeric_limits<uint64_t>::max();
inline uint32_t ctzm(uint32_t m) { return static_cast<uint32_t>(__builtin_ctz(m)); }
inline uint32_t ctzm(PortMask m) {
  const uint64_t lo = static_cast<uint64_t>(m);
  return lo ? static_cast<uint32_t>(__builtin_ctzll(lo))
            : 64u + static_cast<uint32_t>(__builtin_ctzll(static_cast<uint64_t>(m >> 64)));
}
[[noreturn]] void bad(const char* param, uint64_t v, const std::string& rule) {
  throw std::invalid_argument(std::string("NocConfig.") + param + " = " + std::to_string(v) + ": " + rule);
}
void range(const char* param, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v < lo || v > hi) {
    const std::string rule = "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    bad(param, v, rule);
  }
}
}  // namespace

uint32_t NocConfig::num_nodes() const {
  if (!is_switched(*this)) return x * y;
  if (topology == Topology::kFatTree) {
    uint64_t n = ft_terminals ? ft_terminals : ft_k;
    for (uint32_t i = 1; i < ft_levels && n <= 65536; ++i) n *= ft_k;
    return static_cast<uint32_t>(std::min<uint64_t>(n, 65536));
  }
  if (topology == Topology::kDragonfly)
    return (df_groups ? df_groups : df_a * df_h + 1) * df_a * df_p;
  if (topology == Topology::kFlatFly) {
    uint64_t n = fb_c;
    for (uint32_t i = 0; i < fb_n && n <= 65536; ++i) n *= fb_k;
    return static_cast<uint32_t>(std::min<uint64_t>(n, 65536));
  }
  try {
    return build_topology(*this).terminals;
  } catch (const std::exception&) {
    return 0;
  }
}

void NocConfig::validate() const {
  if (static_cast<uint8_t>(topology) > static_cast<uint8_t>(Topology::kFile))
    bad("topology", static_cast<uint64_t>(topology), "must be ring, mesh, torus, fat_tree, dragonfly, flatfly or file");
  range("vcs_per_class", vcs_per_class, 1, 8);
  if (is_switched(*this)) {
    if (static_cast<uint8_t>(routing) > static_cast<uint8_t>(Routing::kAdaptive))
      bad("routing", static_cast<uint64_t>(routing), "must be minimal, ecmp, updown, valiant, ugal or adaptive");
    const TopoGraph g = build_topology(*this);  // throws naming the parameter or file:line
    if (vcs_per_class < g.vc_sets)
      bad("vcs_per_class", vcs_per_class,
          std::string("must be >= ") + std::to_string(g.vc_sets) + " for " + to_string(topology) + " routing " +
              to_string(routing) + " (VC sets)");
  } else {
    range("x", x, 1, 256);
    range("y", y, 1, 256);
    if (topology == Topology::kRing && y != 1) bad("y", y, "must be 1 for a ring (x is the number of nodes)");
    if (uint64_t{x} * y > (uint64_t{1} << regs::kNodeIdBits))
      bad("x*y", uint64_t{x} * y, "at most 65536 nodes (16-bit node ids)");
    if (topology != Topology::kMesh && vcs_per_class < 2)
      bad("vcs_per_class", vcs_per_class, "must be >= 2 for a ring or torus (dateline VC sets)");
  }
  range("buf_depth_flits", buf_depth_flits, 1, 1024);
  range("link_width_bytes", link_width_bytes, 1, 4096);
  range("link_latency_cycles", link_latency_cycles, 1, 1024);
  range("router_delay_cycles", router_delay_cycles, 0, 1024);
  range("ni_slots_per_class", ni_slots_per_class, 1, 1024);
  if (clock_period.value() == 0) bad("clock_period", 0, "must be > 0 (in ps ticks)");
  if (router != RouterModel::kSimple && router != RouterModel::kPipeline)
    bad("router", static_cast<uint64_t>(router), "must be simple or pipeline");
  range("rc_cycles", rc_cycles, 0, 64);
  range("va_cycles", va_cycles, 0, 64);
  range("sa_cycles", sa_cycles, 1, 64);
  range("st_cycles", st_cycles, 0, 64);
  range("credit_delay_cycles", credit_delay_cycles, 0, 1024);
  range("ugal_threshold", ugal_threshold, 0, 1u << 20);
  range("adaptive_choices", adaptive_choices, 0, kMaxRadix);
  if (phase_vcs && !valiant_router) bad("phase_vcs", 1, "needs valiant_router (BookSim2's phases are about a router)");
  if (terminal_direct && router != RouterModel::kPipeline)
    bad("terminal_direct", 1, "needs router pipeline (the terminal channels take link_latency_cycles)");
  range("alloc_iters", alloc_iters, 1, 5);
}

void set_router_model(NocConfig& c, const std::string& model, uint32_t rc_cycles, uint32_t va_cycles,
                      uint32_t sa_cycles, uint32_t st_cycles, uint32_t credit_delay_cycles, uint32_t alloc_iters) {
  NocConfig n = c;
  n.router = parse_router_model(model);
  n.rc_cycles = rc_cycles;
  n.va_cycles = va_cycles;
  n.sa_cycles = sa_cycles;
  n.st_cycles = st_cycles;
  n.credit_delay_cycles = credit_delay_cycles;
  n.alloc_iters = alloc_iters;
  n.validate();
  c = n;
}

// ------------------------------------------------------------ packet pool

// Chunks are added only when the number of live packets exceeds its
// high-water mark, so a steady state allocates nothing.
struct Noc::Pool {
  static constexpr uint32_t kChunk = 64;
  std::vector<std::unique_ptr<Slot[]>> chunks;
  std::vector<uint32_t> free;
  uint32_t cap = 0, made = 0;

  void grow() {
    chunks.push_back(std::make_unique<Slot[]>(kChunk));
    for (uint32_t j = 0; j < kChunk; ++j) free.push_back(made + kChunk - 1 - j);
    made += kChunk;
  }
  uint32_t alloc() {
    if (free.empty()) {
      if (made >= cap) SC_REPORT_FATAL("cmm/noc", "packet pool exhausted (internal bound violated)");
      grow();
    }
    const uint32_t i = free.back();
    free.pop_back();
    return i;
  }
};

Noc::Slot& Noc::slot(uint32_t i) { return pool_->chunks[i / Pool::kChunk][i % Pool::kChunk]; }
void Noc::free_slot(uint32_t i) {
  Slot& sl = slot(i);
  if (sl.live) {  // the flow's flowlet count (adaptive routing)
    --flow_live_[static_cast<size_t>(sl.src_router) * nn_ + sl.dst_router];
    sl.live = 0;
  }
  pool_->free.push_back(i);
}

// ------------------------------------------------------------ construction

Noc::Noc(sc_module_name name, const NocConfig& cfg) : sc_module(name), cfg_(cfg) {
  cfg_.validate();
  gen_ = is_switched(cfg_);
  if (gen_) {
    graph_ = std::make_unique<TopoGraph>(build_topology(cfg_));
    nr_ = graph_->routers;
    nn_ = graph_->terminals;
    np_ = graph_->ports;
    nsets_ = graph_->vc_sets;
  } else {
    nr_ = cfg_.num_nodes();
    nn_ = nr_;
    np_ = cfg_.topology == Topology::kRing ? 3 : 5;
  }
  wide_ = np_ > 31;
  rstride_ = nn_;
  vpc_ = cfg_.vcs_per_class;
  nv_ = 2 * vpc_;
  // Dateline set 0 gets the larger half; switched fabrics: nsets_ equal sets
  // (VCs beyond nsets_ * s0_ stay unused).
  s0_ = gen_ ? vpc_ / nsets_ : (vpc_ + 1) / 2;
  depth_ = cfg_.buf_depth_flits;
  lat_ = cfg_.link_latency_cycles;
  rdel_ = cfg_.router_delay_cycles;
  wrap_ = !gen_ && cfg_.topology != Topology::kMesh;
  pipe_ = cfg_.router == RouterModel::kPipeline;
  // kPipeline: a freed slot's credit leaves the router the cycle after the
  // switch grant (a register stage, as in BookSim2's iq router), flies L
  // cycles and is processed credit_delay cycles.
  cdel_ = pipe_ ? 1 + cfg_.credit_delay_cycles : 0;
  fwd_ = cfg_.sa_cycles + cfg_.st_cycles + lat_;
  ej_extra_ = cfg_.sa_cycles - 1 + cfg_.st_cycles + lat_;
  period_ticks_ = cfg_.clock_period.value();

  route_.fill(-1);
  attached_.assign(nr_, -1);
  for (uint32_t i = 0; i < nn_; ++i) {
    route_[i] = static_cast<int16_t>(i);
    attached_[i] = static_cast<int32_t>(i);
  }
  if (!gen_) {
    cx_.resize(nr_);
    cy_.resize(nr_);
    for (uint32_t i = 0; i < nr_; ++i) {
      cx_[i] = static_cast<uint16_t>(i % cfg_.x);
      cy_[i] = static_cast<uint16_t>(i / cfg_.x);
    }
    route_tab_.resize(static_cast<size_t>(nr_) * nr_);
    for (uint32_t r = 0; r < nr_; ++r)
      for (uint32_t d = 0; d < nr_; ++d)
        route_tab_[static_cast<size_t>(r) * nr_ + d] = static_cast<uint8_t>(route(r, d));
  } else {
    route_tab_ = graph_->route;  // [router * terminals + dst]
    up_lo_ = graph_->up_lo;
    up_n_ = graph_->up_n;
    const Routing rt = graph_->routing;
    adapt_ = rt == Routing::kValiant || rt == Routing::kUgal || rt == Routing::kAdaptive;
    via_router_ = graph_->via_router;
    direct_ = cfg_.terminal_direct;
    if (adapt_) {
      flow_live_.assign(static_cast<size_t>(nn_) * nn_, 0);
      flow_inter_.assign(static_cast<size_t>(nn_) * nn_, 0);
      flow_ups_.assign(static_cast<size_t>(nn_) * nn_, 0);
    }
  }

  // Links: output port p of router r reaches input port p (same direction
  // label) of its neighbour.
  const uint32_t X = cfg_.x, Y = cfg_.y;
  out_link_.assign(nr_ * np_, -1);
  in_link_.assign(nr_ * np_, -1);
  is_wrap_.assign(nr_ * np_, 0);
  out_port_.assign(nr_ * np_, 0);
  olat_.assign(nr_ * np_, lat_);
  ilat_.assign(nr_ * np_, lat_);
  ser_.assign(nr_ * np_, 1);
  obusy_.assign(nr_ * np_, 0);
  bump_.assign(nr_ * np_, 0);
  for (uint32_t i = 0; i < nr_ * np_; ++i) out_port_[i] = static_cast<uint8_t>(i % np_);
  vlev_.assign(nv_, 0);
  for (uint32_t v = 0; v < nv_; ++v) {
    const uint32_t rel = v % vpc_;
    vlev_[v] = static_cast<uint8_t>(gen_ ? std::min(rel / s0_, nsets_ - 1) : 0);
  }
  if (gen_)
    for (const TopoChannel& ch : graph_->ch) {
      const uint32_t o = ch.r * np_ + ch.p, i = ch.r2 * np_ + ch.p2;
      out_link_[o] = static_cast<int32_t>(i);
      in_link_[i] = static_cast<int32_t>(o);
      out_port_[o] = static_cast<uint8_t>(ch.p2);
      olat_[o] = ch.latency_cycles + ch.cycles_per_flit - 1;  // the last byte of a flit arrives
      ilat_[i] = ch.latency_cycles;
      ser_[o] = ch.cycles_per_flit;
      bump_[o] = ch.bump;
    }
  for (uint32_t r = 0; r < nr_ && !gen_; ++r) {
    const int32_t rx = static_cast<int32_t>(r % X), ry = static_cast<int32_t>(r / X);
    for (uint32_t p = 1; p < np_; ++p) {
      const uint32_t dim = (p - 1) / 2;
      const int32_t dir = (p % 2 == 1) ? 1 : -1;
      const int32_t k = static_cast<int32_t>(dim == 0 ? X : Y);
      if (k == 1) continue;
      int32_t nc = (dim == 0 ? rx : ry) + dir;
      bool wrapped = false;
      if (nc < 0 || nc >= k) {
        if (!wrap_) continue;
        nc = (nc + k) % k;
        wrapped = true;
      }
      const uint32_t n2 = static_cast<uint32_t>(dim == 0 ? ry * static_cast<int32_t>(X) + nc
                                                         : nc * static_cast<int32_t>(X) + rx);
      out_link_[r * np_ + p] = static_cast<int32_t>(n2 * np_ + p);
      in_link_[n2 * np_ + p] = static_cast<int32_t>(r * np_ + p);
      is_wrap_[r * np_ + p] = wrapped;
    }
  }
  out_router_.assign(nr_ * np_, 0);
  for (uint32_t i = 0; i < nr_ * np_; ++i)
    if (out_link_[i] >= 0) out_router_[i] = static_cast<uint32_t>(out_link_[i]) / np_;
  // Switch inputs fed by a terminal: a packet starts there in set 0 (or
  // its first phase) whatever its VC (terminal_direct: any VC).
  term_in_.assign(nr_ * np_, 0);
  if (gen_)
    for (uint32_t i = 0; i < nr_ * np_; ++i)
      if (in_link_[i] >= 0 && static_cast<uint32_t>(in_link_[i]) / np_ < nn_ && i / np_ >= nn_) term_in_[i] = 1;

  const uint32_t nvc = nr_ * np_ * nv_;
  buf_.assign(static_cast<size_t>(nvc) * depth_, Flit{});
  bhead_.assign(nvc, 0);
  bcount_.assign(nvc, 0);
  in_op_.assign(nvc, -1);
  in_ov_.assign(nvc, 0);
  hol_since_.assign(nvc, kNoWait);
  dropping_.assign(nvc, 0);
  eject_stuck_.assign(nr_ * 2, 0);
  cred_.assign(nvc, 0);
  ov_busy_.assign(nvc, 0);
  for (uint32_t r = 0; r < nr_; ++r)
    for (uint32_t p = 0; p < np_; ++p)
      if (p == 0 || out_link_[r * np_ + p] >= 0)
        for (uint32_t v = 0; v < nv_; ++v) cred_[(r * np_ + p) * nv_ + v] = static_cast<int32_t>(depth_);
  rr_in_.assign(nr_ * np_, 0);
  rr_out_.assign(nr_ * np_, 0);
  rr_vc_.assign(nr_ * np_, 0);
  occ_.assign(nr_, 0);
  occ_bits_.assign((nr_ + 63) / 64, 0);
  nemask_.assign(nr_ * np_, 0);
  pmask_.assign(nr_, 0);
  pmask_hi_.assign(nr_, 0);
  ni_bits_.assign((nr_ + 63) / 64, 0);
  pend_bits_.assign((nr_ * 2 + 63) / 64, 0);
  start_port_.assign(nr_, 0);
  if (pipe_) {
    va_at_.assign(nvc, kNoWait);
    sa_at_.assign(nvc, 0);
    front_at_.assign(nvc, 0);
    va_ptr_.assign(nvc, 0);
    if (np_ * nv_ > kMaxPorts * 16) SC_REPORT_FATAL("cmm/noc", "too many input VCs per router");
    acc_ptr_.assign(nr_ * np_, 0);
  }

  uint32_t maxlat = lat_;
  for (uint32_t i = 0; i < nr_ * np_; ++i) maxlat = std::max({maxlat, olat_[i], ilat_[i]});
  wn_ = maxlat + cdel_ + 1;
  wcap_ = nr_ * np_;  // each output sends at most one flit per cycle
  // Each input VC frees at most one flit per cycle (switched or discarded);
  // a slot gets the link credits of one step and the NI credits of another
  // (different input VCs).
  wccap_ = nr_ * np_ * nv_;
  wflit_.assign(static_cast<size_t>(wn_) * wcap_, FlitEv{0, 0, 0, 0, Flit{}});
  wcred_.assign(static_cast<size_t>(wn_) * wccap_, 0);
  wflit_n_.assign(wn_, 0);
  wcred_n_.assign(wn_, 0);

  const uint32_t ns = cfg_.ni_slots_per_class;
  niq_.assign(static_cast<size_t>(nr_) * 2 * ns, 0);
  niq_n_.assign(nr_ * 2, 0);
  ni_used_.assign(nr_ * 2, 0);
  streams_.assign(nr_ * nv_, Stream{});
  ni_rr_.assign(nr_, 0);
  ni_busy_.assign(nr_, 0);
  node_cred_.assign(nr_ * 2, 0);
  node_pend_.assign(nr_ * 2, 0);
  node_pend_cycle_.assign(nr_ * 2, 0);

  stats_.link_flits.assign(nr_ * np_, 0);
  stats_.buf_occupancy_sum.assign(nr_, 0);
  stats_.buf_occupancy_max.assign(nr_, 0);
  stats_.buf_writes.assign(nr_, 0);
  stats_.buf_reads.assign(nr_, 0);
  stats_.flits_injected_at.assign(nr_, 0);
  stats_.vc_stalls.assign(nvc, 0);
  stats_.eject_credit_stalls.assign(nr_, 0);
  stats_.node_drops.assign(nr_, DropCount{});

  // Live packets: NI slots + one per buffered or in-flight flit (a packet in
  // the network always has a flit somewhere).
  pool_ = std::make_unique<Pool>();
  pool_->cap = nr_ * 2 * ns + nvc * depth_ + nr_ * np_ * maxlat + Pool::kChunk;
  pool_->free.reserve(pool_->cap + Pool::kChunk);
  while (pool_->made < std::min<uint32_t>(pool_->cap, nn_ * 2 * ns)) pool_->grow();

  for (uint32_t i = 0; i < nn_; ++i) {
    out_gp_.push_back(std::make_unique<tlm::tlm_generic_payload>());
    out_gp_.back()->set_extension(new LinkExt);  // owned by the payload
  }
  credit_ext_ = new LinkExt;
  credit_ext_->kind = LinkExt::kCredit;
  credit_gp_.set_extension(credit_ext_);
  for (uint32_t i = 0; i < nn_; ++i) {
    const std::string tn = "in_tsock_" + std::to_string(i);
    const std::string in = "out_isock_" + std::to_string(i);
    in_tsock.push_back(std::make_unique<TSock>(tn.c_str()));
    out_isock.push_back(std::make_unique<ISock>(in.c_str()));
    in_tsock.back()->register_nb_transport_fw(this, &Noc::in_fw, static_cast<int>(i));
    out_isock.back()->register_nb_transport_bw(this, &Noc::out_bw, static_cast<int>(i));
  }
  clk_ = cfg_.clock;
  if (!clk_) {
    own_clock_ = std::make_unique<ClockDomain>("clock", cfg_.clock_period);
    clk_ = own_clock_.get();
  }
  if (clk_->period() != cfg_.clock_period) SC_REPORT_FATAL("cmm/noc", "clock domain period differs from clock_period");
  clk_id_ = clk_->attach(*this);
  SC_METHOD(grant_initial_credits);
}

Noc::~Noc() = default;

// ------------------------------------------------------------ topology queries

int Noc::neighbor(uint32_t router, uint32_t port) const {
  if (router >= nr_ || port == 0 || port >= np_) return -1;
  const int32_t l = out_link_[router * np_ + port];
  return l < 0 ? -1 : static_cast<int>(static_cast<uint32_t>(l) / np_);
}

namespace {
uint32_t dim_hops(uint32_t a, uint32_t b, uint32_t k, bool wrap) {
  const uint32_t d = (b + k - a) % k;
  if (!wrap) return a > b ? a - b : b - a;
  return std::min(d, k - d);
}
}  // namespace

uint32_t Noc::hops(uint32_t s, uint32_t d) const {
  if (gen_) return static_cast<uint32_t>(graph_->path(s, d, flow_hash(s, d)).size());
  const uint32_t X = cfg_.x;
  return dim_hops(s % X, d % X, X, wrap_) + dim_hops(s / X, d / X, cfg_.y, wrap_);
}

uint32_t Noc::flits_of(uint32_t wire_bytes) const {
  return static_cast<uint32_t>(std::max<uint64_t>(1, ceil_div(wire_bytes, cfg_.link_width_bytes)));
}

uint64_t Noc::zero_load_cycles(uint32_t s, uint32_t d, uint32_t wire_bytes) const {
  if (gen_) {
    // Per link l: flight L_l, k_l cycles per flit (width); the head pays
    // L_l + k_l - 1 per link, the tail trails it by (F - 1) * max k_l.
    auto path = graph_->path(s, d, flow_hash(s, d));
    if (direct_ && path.size() >= 2) {  // the NI sits on the leaf switch: no adapter, no terminal links
      path.pop_back();
      path.erase(path.begin());
    }
    const uint64_t f = flits_of(wire_bytes);
    uint64_t links = 0, kmax = 1;
    for (uint32_t c : path) {
      const TopoChannel& ch = graph_->ch[c];
      links += ch.latency_cycles + ch.cycles_per_flit - 1;
      kmax = std::max<uint64_t>(kmax, ch.cycles_per_flit);
    }
    const uint64_t h = path.size();
    const uint64_t ser = 1 + (f - 1) * kmax;
    if (pipe_) {
      const uint64_t p = uint64_t{cfg_.rc_cycles} + cfg_.va_cycles + cfg_.sa_cycles + cfg_.st_cycles;
      return ser + 2 * lat_ + p + h * p + links;
    }
    return 1 + ser + (h + 1) * rdel_ + links;
  }
  const uint64_t h = hops(s, d);
  if (pipe_) {
    const uint64_t p = uint64_t{cfg_.rc_cycles} + cfg_.va_cycles + cfg_.sa_cycles + cfg_.st_cycles;
    return flits_of(wire_bytes) + 2 * lat_ + p + h * (p + lat_);
  }
  return 1 + flits_of(wire_bytes) + (h + 1) * rdel_ + h * lat_;
}

uint64_t Noc::cycle_now() const { return sc_time_stamp().value() / period_ticks_; }

// Dimension order (x then y); per dimension the shorter way round on a
// ring/torus, ties go +.
uint32_t Noc::route(uint32_t r, uint32_t dst) const {
  const uint32_t X = cfg_.x;
  const uint32_t rx = cx_[r], ry = cy_[r], dx = cx_[dst], dy = cy_[dst];
  auto dir = [&](uint32_t a, uint32_t b, uint32_t k, uint32_t plus) -> uint32_t {
    if (!wrap_) return b > a ? plus : plus + 1;
    const uint32_t d = (b + k - a) % k;
    return d <= k - d ? plus : plus + 1;
  };
  if (rx != dx) return dir(rx, dx, X, 1);
  if (ry != dy) return dir(ry, dy, cfg_.y, 3);
  return 0;
}

// Output port of a head at router r: the table, or for ECMP an up port by
// the flow's hash (fixed per flow, so its packets stay in order); adaptive
// routings: adaptive_port. lvl: the VC set of the input VC (dragonfly:
// global links crossed so far).
inline uint32_t Noc::out_port(uint32_t r, uint32_t lvl, Slot& sl) {
  const uint32_t op = route_tab_[r * rstride_ + sl.dst_router];
  if (adapt_ && r >= nn_) return adaptive_port(r, lvl, sl, op);
  return op != kEcmpPort ? op : up_lo_[r] + ecmp_pick(r, sl.flow, up_n_[r]);
}

// Flits of output op of router r still held downstream (credits in use,
// every VC): the local queue estimate of UGAL-L and of adaptive up-routing.
uint32_t Noc::used_credits(uint32_t r, uint32_t op) const {
  const uint32_t ob = (r * np_ + op) * nv_;
  int32_t u = 0;
  for (uint32_t v = 0; v < nv_; ++v) u += static_cast<int32_t>(depth_) - cred_[ob + v];
  return u > 0 ? static_cast<uint32_t>(u) : 0;
}

// Flowlets keep a flow in order under adaptive routing: the first decision
// of a packet (at its first switch that has a choice) makes it the flow's
// leader if no packet of the flow is in flight (it chooses, the choice is
// remembered per flow), else a follower (it takes the remembered choice:
// the packets ahead of it went that way, through the same VC FIFOs). A
// leader that waits for its output VC re-chooses each cycle; the last
// choice is the one it takes and the one remembered.
uint32_t Noc::adaptive_port(uint32_t r, uint32_t lvl, Slot& sl, uint32_t op) {
  const TopoGraph& g = *graph_;
  const size_t f = static_cast<size_t>(sl.src_router) * nn_ + sl.dst_router;
  if (g.routing == Routing::kAdaptive) {
    if (op != kEcmpPort) return op;  // down: the only way
    if (!sl.dec) {
      sl.dec = cfg_.flowlets && flow_live_[f] ? 2 : 1;
      if (sl.dec == 2) ++stats_.flowlet_follows;
      if (cfg_.flowlets) {
        ++flow_live_[f];
        sl.live = 1;
      }
    }
    const uint32_t sh = 8u * g.level[r], n = up_n_[r];
    uint32_t pick;
    if (sl.dec == 2) {
      pick = static_cast<uint32_t>(flow_ups_[f] >> sh) & 0xFFu;
    } else if (cfg_.adaptive_choices) {
      // BookSim2's anca: `adaptive_choices` ports drawn at random (with
      // replacement), the least loaded (ties: the earlier draw), chosen once
      // per switch like a route computed once.
      if (sl.pick_r == r) {
        pick = sl.pick_p;
      } else {
        uint32_t best = ~0u;
        pick = 0;
        for (uint32_t k = 0; k < cfg_.adaptive_choices; ++k) {
          const uint32_t j = flow_hash(static_cast<uint32_t>(sl.seq) * 0x9E3779B1u + k, sl.flow ^ (r << 8)) % n;
          const uint32_t u = used_credits(r, up_lo_[r] + j);
          if (u < best) {
            best = u;
            pick = j;
          }
        }
        sl.pick_r = static_cast<uint16_t>(r);
        sl.pick_p = static_cast<uint8_t>(pick);
      }
      flow_ups_[f] = (flow_ups_[f] & ~(uint64_t{0xFF} << sh)) | (uint64_t{pick} << sh);
    } else {
      // Least-loaded up port; ties from the flow's ECMP pick (spreads flows).
      const uint32_t start = ecmp_pick(r, sl.flow, n);
      pick = start;
      uint32_t best = ~0u;
      for (uint32_t i = 0, j = start; i < n; ++i, j = j + 1 == n ? 0 : j + 1) {
        const uint32_t u = used_credits(r, up_lo_[r] + j);
        if (u < best) {
          best = u;
          pick = j;
        }
      }
      flow_ups_[f] = (flow_ups_[f] & ~(uint64_t{0xFF} << sh)) | (uint64_t{pick} << sh);
    }
    return up_lo_[r] + pick;
  }
  // Dragonfly Valiant / UGAL-L: decided once, at the source router.
  if (!sl.dec) {
    sl.dec = 1;
    if (cfg_.flowlets && flow_live_[f]) {
      sl.inter = flow_inter_[f];
      ++stats_.flowlet_follows;
    } else {
      const uint32_t sg = g.group_of(r), dg = g.group_of(sl.dst_router);
      const uint32_t h = flow_hash(static_cast<uint32_t>(sl.seq), sl.flow);
      // Intermediate group uniform over all groups: its own or the
      // destination group is minimal. via_router (BookSim2): a router
      // uniform over all switches (a random terminal's); its own group is
      // minimal, the destination's is not.
      uint32_t cand = TopoGraph::kNoInter, tgt = 0;
      if (via_router_) {
        const uint32_t ir = nn_ + h % (nr_ - nn_);
        if (g.group_of(ir) != sg) {
          cand = ir;
          tgt = g.router_target(ir);
        }
      } else {
        const uint32_t gi = h % g.df_g;
        if (gi != sg && gi != dg) {
          cand = gi;
          tgt = g.group_target(gi);
        }
      }
      uint16_t inter = TopoGraph::kNoInter;
      if (cand != TopoGraph::kNoInter) {
        if (g.routing == Routing::kValiant) {
          inter = static_cast<uint16_t>(cand);
        } else {
          // UGAL-L as BookSim2's ugal_dragonflynew: minimal unless its
          // output queue exceeds twice the nonminimal one plus a threshold.
          const uint32_t qmin = used_credits(r, op);
          const uint32_t qnon = used_credits(r, route_tab_[r * rstride_ + tgt]);
          if (qmin > 2 * qnon + cfg_.ugal_threshold) inter = static_cast<uint16_t>(cand);
        }
      }
      sl.inter = inter;
      flow_inter_[f] = inter;
    }
    if (cfg_.flowlets) {
      ++flow_live_[f];
      sl.live = 1;
    }
    if (sl.inter != TopoGraph::kNoInter) ++stats_.nonminimal;
  }
  if (sl.inter == TopoGraph::kNoInter) return op;
  if (via_router_) {  // towards the intermediate router until there (set 2 after it)
    if ((g.phase_vcs ? lvl == 0 : lvl < 2) && r != sl.inter)
      return route_tab_[r * rstride_ + g.router_target(sl.inter)];
    return op;
  }
  if (lvl == 0) return route_tab_[r * rstride_ + g.group_target(sl.inter)];
  return op;
}

// ------------------------------------------------------------ node side

void Noc::grant_initial_credits() {
  for (uint32_t r = 0; r < nn_; ++r)
    for (uint8_t c = 0; c < 2; ++c) {
      credit_ext_->cls = c;
      credit_ext_->credits = static_cast<uint16_t>(cfg_.ni_slots_per_class);
      tlm::tlm_phase ph = tlm::BEGIN_RESP;
      sc_time d = SC_ZERO_TIME;
      (*in_tsock[r])->nb_transport_bw(credit_gp_, ph, d);
    }
}

void Noc::send_node_credit(uint32_t r, uint8_t cls) {
  credit_ext_->cls = cls;
  credit_ext_->credits = 1;
  tlm::tlm_phase ph = tlm::BEGIN_RESP;
  sc_time d = SC_ZERO_TIME;
  (*in_tsock[r])->nb_transport_bw(credit_gp_, ph, d);
}

void Noc::set_route(uint16_t node, int router) {
  const int old = route_[node];
  if (old >= 0 && static_cast<uint32_t>(old) < nr_ && attached_[static_cast<uint32_t>(old)] == node)
    attached_[static_cast<uint32_t>(old)] = -1;
  route_[node] = static_cast<int16_t>(router);
  if (router >= 0 && static_cast<uint32_t>(router) < nn_) attached_[static_cast<uint32_t>(router)] = node;
}

void Noc::set_port_node(uint32_t router, int node) {
  if (router < nn_) attached_[router] = node < 0 || node >= (1 << regs::kNodeIdBits) ? -1 : node;
}

void Noc::edge_drop(uint32_t r, regs::Reason why, const Packet& p) {
  stats_.drops.add(why);
  stats_.node_drops[r].add(why);
  if (hook_) hook_->on_drop(p, r, why);
}

void Noc::wake_at(uint64_t cycle) { clk_->wake_at(clk_id_, cycle); }

tlm::tlm_sync_enum Noc::in_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  LinkExt* e = nullptr;
  gp.get_extension(e);
  const uint32_t r = static_cast<uint32_t>(port);
  if (ph != tlm::BEGIN_REQ || !e || e->kind != LinkExt::kPacket || !e->pkt) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/noc", "input link: not a packet");
    return tlm::TLM_COMPLETED;
  }
  const uint8_t c = e->pkt->cls & 1u;
  if (ni_used_[r * 2 + c] >= cfg_.ni_slots_per_class) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/noc", "input link: packet without credit");
    return tlm::TLM_COMPLETED;
  }
  // Edge checks on the node's packet before anything is copied: the length
  // claims are never trusted, and the NI knows the node attached to it.
  const Packet& in = *e->pkt;
  if (!length_ok(in) || attached_[r] != in.hdr.src_node) {
    edge_drop(r, length_ok(in) ? regs::Reason::kSrcSpoofed : regs::Reason::kBadLen, in);
    send_node_credit(r, c);
    return tlm::TLM_COMPLETED;
  }
  ++stats_.injected[c];
  const uint64_t c0 = (sc_time_stamp().value() + d.value()) / period_ticks_;
  const uint32_t i = pool_->alloc();
  Slot& sl = slot(i);
  sl.pkt.copy_from(*e->pkt);
  sl.pkt.cls = c;
  sl.cls = c;
  sl.req_cycle = c0;
  sl.start = c0 + 1;  // the NI latches at the first edge strictly after arrival
  sl.seq = seq_++;
  sl.refs = 1;
  sl.copies_left = 0;
  sl.src_router = static_cast<uint16_t>(r);
  sl.nflits = static_cast<uint16_t>(flits_of(sl.pkt.wire_bytes()));
  if (hook_) {
    const FaultDecision f = hook_->on_packet(sl.pkt, r, sl.seq);
    if (f.corrupted) ++stats_.fault_corruptions;
    if (f.drop) {
      ++stats_.fault_drops;
      free_slot(i);
      send_node_credit(r, c);
      return tlm::TLM_COMPLETED;
    }
    if (f.extra_delay_cycles) {
      ++stats_.fault_delays;
      sl.start += f.extra_delay_cycles;
    }
    sl.copies_left = f.duplicates;
    sl.refs += f.duplicates;
    stats_.fault_duplicates += f.duplicates;
  }
  const int dst = route_[sl.pkt.hdr.dst_node];
  if (dst < 0 || static_cast<uint32_t>(dst) >= nn_) {
    ++stats_.unroutable;
    if (hook_) hook_->on_unroutable(sl.pkt, r);
    if (unroutable_reports_++ < 8) {
      const std::string m = "no route to node " + std::to_string(sl.pkt.hdr.dst_node) + " (packet " +
                            sl.pkt.hdr.str() + "): counted and discarded";
      SC_REPORT_WARNING("cmm/noc", m.c_str());
    }
    free_slot(i);
    send_node_credit(r, c);
    return tlm::TLM_COMPLETED;
  }
  sl.dst_router = static_cast<uint16_t>(dst);
  {
    // Per-flow VC: every packet of (src, dst, class) takes the same VC index
    // at every hop, so with deterministic routing it never overtakes another.
    const uint32_t h = flow_hash(r, static_cast<uint32_t>(dst));
    sl.flow = h;
    sl.fv_all = static_cast<uint8_t>(h % vpc_);
    sl.fv_s0 = static_cast<uint8_t>(h % s0_);
    sl.fv_s1 = static_cast<uint8_t>(vpc_ > s0_ ? h % (vpc_ - s0_) : 0);
    sl.dec = 0;
    sl.live = 0;
    sl.inter = TopoGraph::kNoInter;
    sl.pick_r = 0xFFFF;
  }
  const uint32_t q = r * 2 + c;
  niq_[q * cfg_.ni_slots_per_class + niq_n_[q]++] = i;
  ++ni_used_[q];
  if (ni_busy_[r]++ == 0) ni_bits_[r >> 6] |= uint64_t{1} << (r & 63);
  ++ni_pending_;
  wake_at(sl.start);
  return tlm::TLM_COMPLETED;
}

// Node credits become usable at the first edge strictly after their arrival.
tlm::tlm_sync_enum Noc::out_bw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  (void)d;
  LinkExt* e = nullptr;
  gp.get_extension(e);
  if (ph != tlm::BEGIN_RESP || !e || e->kind != LinkExt::kCredit) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/noc", "output link: not a credit");
    return tlm::TLM_COMPLETED;
  }
  const uint32_t i = static_cast<uint32_t>(port) * 2 + (e->cls & 1u);
  const uint64_t cur = cycle_now();
  if (node_pend_[i] && node_pend_cycle_[i] <= cur) {
    node_cred_[i] += node_pend_[i];
    node_pend_[i] = 0;
    --node_pend_n_;
    pend_bits_[i >> 6] &= ~(uint64_t{1} << (i & 63));
  }
  if (node_pend_[i] == 0 && e->credits) {
    ++node_pend_n_;
    pend_bits_[i >> 6] |= uint64_t{1} << (i & 63);
  }
  node_pend_[i] += e->credits;
  node_pend_cycle_[i] = cur + 1;
  if (e->credits) eject_stuck_[i] = 0;  // the node is alive again
  if (flits_in_net_ > 0) wake_at(cur + 1);  // a head may be waiting for it
  return tlm::TLM_COMPLETED;
}

void Noc::deliver(uint32_t r, uint32_t i, uint64_t t, uint32_t extra, bool now) {
  Slot& sl = slot(i);
  // now: the tail reached the node at t itself (terminal_direct: the leaf's
  // ejection channel ends here).
  const uint64_t lat = now ? t - sl.req_cycle : t + extra + 1 - sl.req_cycle;
  ++stats_.delivered[sl.cls];
  stats_.latency_sum[sl.cls] += lat;
  stats_.latency_max[sl.cls] = std::max(stats_.latency_max[sl.cls], lat);
  tlm::tlm_generic_payload& gp = *out_gp_[r];
  LinkExt* e = nullptr;
  gp.get_extension(e);
  e->kind = LinkExt::kPacket;
  e->pkt = &sl.pkt;
  tlm::tlm_phase ph = tlm::BEGIN_REQ;
  // Complete at the end of the tail's ejection cycle (kPipeline: the end of
  // its switch traversal, `extra` cycles later).
  sc_time delay = now ? SC_ZERO_TIME : extra ? cfg_.clock_period * static_cast<double>(1 + extra) : cfg_.clock_period;
  (*out_isock[r])->nb_transport_fw(gp, ph, delay);  // receiver copies the packet
  if (--sl.refs == 0) free_slot(i);
}

// ------------------------------------------------------------ cycle step

// Input buffer FIFO of VC iv (port p, VC v of router r), keeping the
// active sets (occ_bits_, pmask_, nemask_) in step with the counts.
inline void Noc::buf_push(uint32_t r, uint32_t p, uint32_t v, uint32_t iv, const Flit& f) {
  uint32_t tail = bhead_[iv] + bcount_[iv];
  if (tail >= depth_) tail -= depth_;
  Flit& d = buf_[static_cast<size_t>(iv) * depth_ + tail];
  d.ready = f.ready;  // field by field: a whole-struct copy goes through the stack (store-forwarding stall)
  d.pkt = f.pkt;
  d.head = f.head;
  d.tail = f.tail;
  ++bcount_[iv];
  ++stats_.buf_writes[r];
  nemask_[r * np_ + p] |= 1u << v;
  if (p < 64) pmask_[r] |= uint64_t{1} << p;
  else pmask_hi_[r] = 1;  // port 64 of a radix-64 switch
  if (occ_[r]++ == 0) occ_bits_[r >> 6] |= uint64_t{1} << (r & 63);
}

inline void Noc::buf_pop(uint32_t r, uint32_t p, uint32_t v, uint32_t iv) {
  bhead_[iv] = static_cast<uint16_t>(bhead_[iv] + 1u == depth_ ? 0 : bhead_[iv] + 1u);
  ++stats_.buf_reads[r];
  if (--bcount_[iv] == 0 && (nemask_[r * np_ + p] &= ~(1u << v)) == 0) {
    if (p < 64) pmask_[r] &= ~(uint64_t{1} << p);
    else pmask_hi_[r] = 0;  // port 64 of a radix-64 switch
  }
  if (--occ_[r] == 0) occ_bits_[r >> 6] &= ~(uint64_t{1} << (r & 63));
}

void Noc::step(uint64_t t) {
  if (stepped_ && t <= last_step_) return;
  if (stepped_ && t > last_step_ + 1 && flits_in_net_ > 0) {
    const uint64_t gap = t - last_step_ - 1;
    stats_.stalled_cycles += gap;
    for (uint32_t r = 0; r < nr_; ++r) stats_.buf_occupancy_sum[r] += uint64_t{occ_[r]} * gap;
  }
  stepped_ = true;
  last_step_ = t;
  ++stats_.steps;
  progress_ = false;
  next_timed_ = std::numeric_limits<uint64_t>::max();

  if (node_pend_n_)  // only while some node credit is pending
    for (uint32_t w = 0; w < pend_bits_.size(); ++w)
      for (uint64_t m = pend_bits_[w]; m; m &= m - 1) {
        const uint32_t i = w * 64 + static_cast<uint32_t>(__builtin_ctzll(m));
        if (node_pend_cycle_[i] <= t) {
          node_cred_[i] += node_pend_[i];
          node_pend_[i] = 0;
          --node_pend_n_;
          pend_bits_[w] &= ~(uint64_t{1} << (i & 63));
        }
      }

  // Link arrivals and credit returns due now. One division per step; the
  // slots of t + 1 and t + L follow from it (wn_ = L + 1; kPipeline L + 2 + cd).
  const uint32_t s = static_cast<uint32_t>(t % wn_);
  ws_ = s;
  w_one_ = s + 1 == wn_ ? 0 : s + 1;
  if (!pipe_) {
    w_lat_ = s == 0 ? wn_ - 1 : s - 1;
    w_cr1_ = w_one_;
    w_crl_ = w_lat_;
  } else {  // wn_ = L + cdel_ + 1
    w_lat_ = s + lat_ >= wn_ ? s + lat_ - wn_ : s + lat_;
    // Credits to the NI cross the injection channel: L cycles, as a link.
    w_crl_ = s + lat_ + cdel_ >= wn_ ? s + lat_ + cdel_ - wn_ : s + lat_ + cdel_;
    w_cr1_ = w_crl_;
  }
  if (wflit_n_[s] || wcred_n_[s]) {
    const FlitEv* fe = &wflit_[static_cast<size_t>(s) * wcap_];
    for (uint32_t k = 0; k < wflit_n_[s]; ++k) {
      buf_push(fe[k].router, fe[k].port, fe[k].vc, fe[k].ivc, fe[k].f);
    }
    const uint32_t* ce = &wcred_[static_cast<size_t>(s) * wccap_];
    for (uint32_t k = 0; k < wcred_n_[s]; ++k) ++cred_[ce[k]];
    wheel_events_ -= wflit_n_[s] + wcred_n_[s];
    wflit_n_[s] = wcred_n_[s] = 0;
  }

  // Busy NIs in index order; the bits above r are re-read after each one
  // (a node may hand over a packet during ni_step's credit callback).
  if (ni_pending_)
    for (uint32_t w = 0; w < ni_bits_.size(); ++w)
      for (uint64_t m = ni_bits_[w]; m;) {
        const uint32_t b = static_cast<uint32_t>(__builtin_ctzll(m));
        ni_step(w * 64 + b, t);
        m = b == 63 ? 0 : ni_bits_[w] & ~((uint64_t{2} << b) - 1);
      }
  // Routers holding flits, in index order (an empty one adds nothing to
  // the occupancy statistics; a step changes only its own router's bit).
  for (uint32_t w = 0; w < occ_bits_.size(); ++w)
    for (uint64_t m = occ_bits_[w]; m; m &= m - 1) {
      const uint32_t r = w * 64 + static_cast<uint32_t>(__builtin_ctzll(m));
      // Ring/mesh/torus: the original step (G false); switched fabrics:
      // per-link latency, width and VC sets (G true), 128-bit masks if wide.
      if (pipe_) {
        if (wide_) router_step_pipe<PortMask, kMaxPorts, true>(r, t);
        else if (gen_) router_step_pipe<uint32_t, 31, true>(r, t);
        else router_step_pipe<uint32_t, 31, false>(r, t);
      } else {
        if (wide_) router_step<PortMask, kMaxPorts, true>(r, t);
        else if (gen_) router_step<uint32_t, 31, true>(r, t);
        else router_step<uint32_t, 31, false>(r, t);
      }
      stats_.buf_occupancy_sum[r] += occ_[r];
      stats_.buf_occupancy_max[r] = std::max(stats_.buf_occupancy_max[r], occ_[r]);
    }

  if (flits_in_net_ == 0 && wheel_events_ == 0 && ni_pending_ == 0) return;  // empty: no event
  if (progress_ || wheel_events_ > 0) {
    wake_at(t + 1);
  } else if (next_timed_ != std::numeric_limits<uint64_t>::max()) {
    wake_at(next_timed_);
  }
  // else: stalled on node credits; out_bw/in_fw wake us.
}

void Noc::ni_step(uint32_t r, uint64_t t) {
  const uint32_t ns = cfg_.ni_slots_per_class;
  // Bind queued packets (oldest eligible first) to their flow's local input
  // VC once it is free, response class first. A packet never passes an older
  // one of its flow: both wait for the same VC (only a fault delay reorders).
  for (int c = 1; c >= 0; --c) {
    const uint32_t q = r * 2 + static_cast<uint32_t>(c);
    uint32_t* qa = &niq_[static_cast<size_t>(q) * ns];
    const uint32_t cl = static_cast<uint32_t>(c) * vpc_;
    if (direct_) {
      // BookSim2's source: one packet of the class at a time, oldest first,
      // straight onto a set-0 VC of the leaf switch's input (the flow's, or
      // with vc_per_packet one with a free slot).
      bool busy = false;
      for (uint32_t k = 0; k < vpc_; ++k) busy = busy || streams_[r * nv_ + cl + k].active;
      if (busy) continue;
    }
    for (;;) {
      int best = -1;
      uint32_t best_v = 0;
      for (uint32_t k = 0; k < niq_n_[q]; ++k) {
        const Slot& sl = slot(qa[k]);
        if (sl.start > t) {
          next_timed_ = std::min(next_timed_, sl.start);
          continue;
        }
        uint32_t v = cl + sl.fv_all;
        if (direct_) {
          v = cl + sl.fv_s0;
          // vc_per_packet: any VC of the class with a free slot, from a
          // per-packet start (BookSim2's injection VC; the leaf takes a
          // packet from a terminal as set 0 whatever its VC).
          if (cfg_.vc_per_packet)
            for (uint32_t k = 0; k < vpc_; ++k) {
              const uint32_t w = cl + static_cast<uint32_t>((sl.seq + k) % vpc_);
              if (cred_[(r * np_ + 1) * nv_ + w] > 0) {
                v = w;
                break;
              }
            }
        }
        if (streams_[r * nv_ + v].active) continue;
        if (best < 0 || sl.seq < slot(qa[best]).seq) {
          best = static_cast<int>(k);
          best_v = v;
        }
      }
      if (best < 0) break;
      Stream& st = streams_[r * nv_ + best_v];
      st.slot = qa[best];
      st.next = 0;
      st.active = true;
      qa[best] = qa[--niq_n_[q]];
      progress_ = true;
      if (direct_) break;
    }
  }
  // One flit per cycle on the injection channel, round-robin over VCs.
  for (uint32_t k = 0, v = ni_rr_[r]; k < nv_; ++k, v = v + 1 == nv_ ? 0 : v + 1) {
    Stream& st = streams_[r * nv_ + v];
    if (!st.active) continue;
    // terminal_direct: the credits and input VC are the leaf's (adapter port 1's link).
    const uint32_t iv = (r * np_ + (direct_ ? 1u : 0u)) * nv_ + v;
    if (cred_[iv] <= 0) continue;
    Slot& sl = slot(st.slot);
    Flit f;
    f.ready = pipe_ ? t + lat_ : t + rdel_;  // kPipeline: the injection channel has the link latency
    f.pkt = st.slot;
    f.head = st.next == 0;
    f.tail = st.next + 1u == sl.nflits;
    if (direct_) {
      const uint32_t li = static_cast<uint32_t>(out_link_[r * np_ + 1]);
      buf_push(out_router_[r * np_ + 1], out_port_[r * np_ + 1], v, li * nv_ + v, f);
    } else {
      buf_push(r, 0, v, iv, f);
    }
    --cred_[iv];
    ++flits_in_net_;
    ++stats_.flits_injected;
    ++stats_.flits_injected_at[r];
    ++st.next;
    ni_rr_[r] = static_cast<uint8_t>(v + 1 == nv_ ? 0 : v + 1);
    progress_ = true;
    if (f.tail) {
      if (sl.copies_left) {
        --sl.copies_left;  // the duplicate follows on the same VC
        st.next = 0;
      } else {
        st.active = false;
        --ni_used_[r * 2 + sl.cls];
        if (--ni_busy_[r] == 0) ni_bits_[r >> 6] &= ~(uint64_t{1} << (r & 63));
        --ni_pending_;
        send_node_credit(r, sl.cls);
      }
    }
    break;
  }
}

// One flit of a packet dropped at router r's ejection port leaves input VC
// iv (input port p) without being switched: its buffer slot is credited
// back as if it had moved; the tail frees the packet.
void Noc::discard_head(uint32_t r, uint32_t p, uint32_t v, uint32_t iv) {
  const uint32_t base = r * np_;
  const Flit f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
  buf_pop(r, p, v, iv);
  --flits_in_net_;
  ++stats_.flits_dropped;
  progress_ = true;
  const uint32_t due = p == 0 ? w_cr1_ : gen_ ? wslot(ilat_[base + p] + cdel_) : w_crl_;
  const uint32_t target = p == 0 ? iv : static_cast<uint32_t>(in_link_[base + p]) * nv_ + v;
  wcred_[static_cast<size_t>(due) * wccap_ + wcred_n_[due]++] = target;
  ++wheel_events_;
  if (f.tail) {
    if (pipe_) {
      va_at_[iv] = kNoWait;
      front_at_[iv] = last_step_ + 1;
    }
    dropping_[iv] = 0;
    Slot& sl = slot(f.pkt);
    if (--sl.refs == 0) free_slot(f.pkt);
  }
}

// Per router and cycle: route + VC allocation for ready heads, then a
// separable input-first switch allocator (round-robin at both stages).
template <class M, uint32_t MaxP, bool G>
void Noc::router_step(uint32_t r, uint64_t t) {
  const uint32_t base = r * np_;
  int req_vc[MaxP];
  uint32_t ready_mask[MaxP];
  M req_in[MaxP];  // [output]: input ports requesting it (bit mask)
  M req_out = 0;   // outputs requested (bit mask)
  const uint32_t sp = start_port_[r];
  start_port_[r] = static_cast<uint8_t>(sp + 1 == np_ ? 0 : sp + 1);
  for (uint32_t p = 0; p < np_; ++p) {
    req_vc[p] = -1;
    ready_mask[p] = 0;
    req_in[p] = 0;
  }
  // Ports holding flits in round-robin order from sp: rotate the port mask.
  const M pm = port_mask<M>(r);
  const M prot = sp ? ((pm >> sp) | (pm << (np_ - sp))) & ((M{1} << np_) - 1u) : pm;
  for (M pp = prot; pp; pp &= pp - 1) {
    uint32_t p = sp + ctzm(pp);
    if (p >= np_) p -= np_;
    const uint32_t m = nemask_[base + p];
    const uint32_t pb = (base + p) * nv_;
    // The non-empty VCs in round-robin order from rr_in_: rotate the mask.
    const uint32_t v0 = rr_in_[base + p];
    const uint32_t rot = v0 ? ((m >> v0) | (m << (nv_ - v0))) & ((1u << nv_) - 1u) : m;
    for (uint32_t mm = rot; mm; mm &= mm - 1) {
      uint32_t v = v0 + static_cast<uint32_t>(__builtin_ctz(mm));
      if (v >= nv_) v -= nv_;
      const uint32_t iv = pb + v;
      const Flit& f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
      if (f.ready > t) {
        next_timed_ = std::min(next_timed_, f.ready);
        continue;
      }
      if (dropping_[iv]) {
        discard_head(r, p, v, iv);
        continue;
      }
      ready_mask[p] |= 1u << v;
      if (in_op_[iv] < 0) {
        Slot& sl = slot(f.pkt);
        const uint32_t op = G ? out_port(r, p == 0 || term_in_[base + p] ? 0u : vlev_[v], sl) : route_tab_[r * rstride_ + sl.dst_router];
        const uint32_t c = sl.cls;
        uint32_t lo = c * vpc_, n = vpc_;
        if (op != 0 && wrap_) {
          // Dateline: set 0 until the packet crosses the wrap link of the
          // current dimension, set 1 after; a new dimension starts in set 0.
          bool set1 = p != 0 && (p - 1) / 2 == (op - 1) / 2 && (v - c * vpc_) >= s0_;
          if (is_wrap_[base + op]) set1 = true;
          lo = c * vpc_ + (set1 ? s0_ : 0);
          n = set1 ? vpc_ - s0_ : s0_;
        } else if (G && op != 0 && nsets_ > 1) {
          // Switched fabric: the set of the input VC (0 from the NI), one up
          // across a bump link (dragonfly global link).
          const bool fresh = p == 0 || term_in_[base + p];
          const uint32_t lv = via_router_ ? graph_->next_set(fresh ? 0u : vlev_[v], r, static_cast<uint32_t>(
                                              graph_->out_ch[static_cast<size_t>(base + op)]), sl.inter, fresh && r >= nn_, sl.dst_router)
                                          : std::min<uint32_t>((fresh ? 0u : vlev_[v]) + bump_[base + op], nsets_ - 1);
          lo = c * vpc_ + lv * s0_;
          n = s0_;
        }
        if (op == 0 && node_cred_[r * 2 + c] == 0) {
          ++stats_.eject_credit_stalls[r];
          // Head-of-queue lifetime: the node withholds credits; past the
          // lifetime the packet is discarded here, freeing the path into it,
          // and the port stays stalled (later heads dropped at once) until
          // the node returns a credit.
          if (cfg_.hol_lifetime_cycles > 0) {
            const uint32_t q = r * 2 + c;
            if (!eject_stuck_[q]) {
              if (hol_since_[iv] == kNoWait) hol_since_[iv] = t;
              if (t - hol_since_[iv] < cfg_.hol_lifetime_cycles) {
                next_timed_ = std::min<uint64_t>(next_timed_, hol_since_[iv] + cfg_.hol_lifetime_cycles);
                continue;
              }
              eject_stuck_[q] = 1;
            }
            hol_since_[iv] = kNoWait;
            dropping_[iv] = 1;
            edge_drop(r, regs::Reason::kHolTimeout, sl.pkt);
            ready_mask[p] &= ~(1u << v);
            discard_head(r, p, v, iv);
          }
          continue;
        }
        hol_since_[iv] = kNoWait;
        const uint32_t ob = (base + op) * nv_;
        uint32_t got = 0;
        if (op != 0) {
          // The flow's VC in the allowed set: wait for it rather than take
          // another, or a later packet of the flow could overtake this one.
          got = lo + (G ? sl.fv_s0 : !wrap_ ? sl.fv_all : lo == c * vpc_ ? sl.fv_s0 : sl.fv_s1);
          if (G && cfg_.vc_per_packet) got = pick_vc(ob, lo, n, sl);
          if (ov_busy_[ob + got]) continue;
        } else {
          // Ejection: the flow's packets reach it one after another through
          // one input VC FIFO, so any free ejection VC keeps their order.
          int e = -1;
          uint32_t rel = rr_vc_[base];  // < n: ejection sets are the class sets
          for (uint32_t m = 0; m < n; ++m, rel = (rel + 1 == n ? 0 : rel + 1))
            if (!ov_busy_[ob + lo + rel]) {
              e = static_cast<int>(lo + rel);
              break;
            }
          if (e < 0) continue;
          got = static_cast<uint32_t>(e);
          rr_vc_[base] = static_cast<uint8_t>(got - lo + 1 == n ? 0 : got - lo + 1);
        }
        ov_busy_[ob + got] = 1;
        in_op_[iv] = static_cast<int8_t>(op);
        in_ov_[iv] = static_cast<uint8_t>(got);
        if (op == 0) --node_cred_[r * 2 + c];  // reserved for this packet's delivery
        progress_ = true;
      }
      const uint32_t op = static_cast<uint32_t>(in_op_[iv]);
      if (op != 0 && cred_[(base + op) * nv_ + in_ov_[iv]] <= 0) continue;
      if (G && obusy_[base + op] > t) {  // a narrow link still carries the previous flit
        next_timed_ = std::min(next_timed_, obusy_[base + op]);
        continue;
      }
      if (req_vc[p] < 0) {
        req_vc[p] = static_cast<int>(v);
        req_in[op] |= M{1} << p;
        req_out |= M{1} << op;
      }
    }
  }
  // Output stage: each output grants one requesting input port, round-robin
  // from rr_out_ (first requester at or after it, else the first one).
  for (M om = req_out; om; om &= om - 1) {
    const uint32_t op = ctzm(om);
    const M m = req_in[op];
    const M from = m & ~((M{1} << rr_out_[base + op]) - 1u);
    const uint32_t p = ctzm(from ? from : m);
    const uint32_t v = static_cast<uint32_t>(req_vc[p]);
    const uint32_t iv = (base + p) * nv_ + v;
    rr_out_[base + op] = static_cast<uint8_t>(p + 1 == np_ ? 0 : p + 1);
    rr_in_[base + p] = static_cast<uint8_t>(v + 1 == nv_ ? 0 : v + 1);
    ready_mask[p] &= ~(1u << v);
    const Flit f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
    buf_pop(r, p, v, iv);
    progress_ = true;
    // Credit for the freed buffer slot: to the NI next cycle, upstream after L.
    {
      const uint32_t due = p == 0 ? w_one_ : G ? wslot(ilat_[base + p]) : w_lat_;
      const uint32_t target = p == 0 ? iv : static_cast<uint32_t>(in_link_[base + p]) * nv_ + v;
      wcred_[static_cast<size_t>(due) * wccap_ + wcred_n_[due]++] = target;
      ++wheel_events_;
    }
    const uint32_t ov = in_ov_[iv];
    ++stats_.link_flits[base + op];
    if (op == 0) {
      ++stats_.flits_ejected;
      --flits_in_net_;
      Slot& sl = slot(f.pkt);
      if (f.head && hook_) hook_->on_forward(sl.pkt, sl.src_router, r, sc_time_stamp());
      if (f.tail) {
        ov_busy_[base * nv_ + ov] = 0;
        in_op_[iv] = -1;
        deliver(r, f.pkt, t);
      }
    } else {
      --cred_[(base + op) * nv_ + ov];
      const uint32_t ol = G ? olat_[base + op] : lat_;
      if (G && ser_[base + op] > 1) obusy_[base + op] = t + ser_[base + op];
      const uint32_t due = G ? wslot(ol) : w_lat_;
      FlitEv& ev = wflit_[static_cast<size_t>(due) * wcap_ + wflit_n_[due]++];
      ev.ivc = static_cast<uint32_t>(out_link_[base + op]) * nv_ + ov;
      ev.router = static_cast<uint16_t>(out_router_[base + op]);
      ev.port = G ? out_port_[base + op] : static_cast<uint8_t>(op);  // mesh/ring/torus: output p reaches input p of the neighbour
      ev.vc = static_cast<uint8_t>(ov);
      ev.f.ready = t + ol + rdel_;  // field by field, as in buf_push
      ev.f.pkt = f.pkt;
      ev.f.head = f.head;
      ev.f.tail = f.tail;
      ++wheel_events_;
      if (f.tail) {
        ov_busy_[(base + op) * nv_ + ov] = 0;
        in_op_[iv] = -1;
      }
    }
  }
  for (uint32_t p = 0; p < np_; ++p)
    for (uint32_t m = ready_mask[p]; m; m &= m - 1)
      ++stats_.vc_stalls[(base + p) * nv_ + static_cast<uint32_t>(__builtin_ctz(m))];
}

}  // namespace cmm::tlmshell

// ------------------------------------------------------------ pipelined router

namespace cmm::tlmshell {

// vc_per_packet: the first free output VC of [lo, lo + n) from a start
// drawn per packet (BookSim2's head may take any VC of its range); the
// flow's VC if none is free (the head then waits).
uint32_t Noc::pick_vc(uint32_t ob, uint32_t lo, uint32_t n, const Slot& sl) const {
  const uint32_t s0 = static_cast<uint32_t>(sl.seq % n);
  for (uint32_t k = 0, j = s0; k < n; ++k, j = j + 1 == n ? 0 : j + 1)
    if (!ov_busy_[ob + lo + j]) return lo + j;
  return lo + sl.fv_s0 % n;
}

// terminal_direct: the adapter of terminal r is a wire. The flits its leaf
// switch sends it (port 1) are delivered as they arrive, one per cycle, as
// if the leaf had ejected them over an L-cycle channel; a head still needs
// a node credit (reserved for its packet, as at an ejection port).
void Noc::eject_direct(uint32_t r, uint64_t t) {
  const uint32_t base = r * np_, p = 1, pb = (base + p) * nv_;
  const uint32_t m = nemask_[base + p], v0 = rr_in_[base + p];
  const uint32_t rot = v0 ? ((m >> v0) | (m << (nv_ - v0))) & ((1u << nv_) - 1u) : m;
  for (uint32_t mm = rot; mm; mm &= mm - 1) {
    uint32_t v = v0 + static_cast<uint32_t>(__builtin_ctz(mm));
    if (v >= nv_) v -= nv_;
    const uint32_t iv = pb + v;
    const Flit f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
    if (f.ready > t) {
      next_timed_ = std::min(next_timed_, f.ready);
      continue;
    }
    if (dropping_[iv]) {
      discard_head(r, p, v, iv);
      continue;
    }
    Slot& sl = slot(f.pkt);
    if (in_op_[iv] < 0) {
      const uint32_t c = sl.cls;
      if (node_cred_[r * 2 + c] == 0) {
        eject_hol(r, p, v, iv, c, sl, t);
        continue;
      }
      hol_since_[iv] = kNoWait;
      --node_cred_[r * 2 + c];  // reserved for this packet's delivery
      in_op_[iv] = 0;
    }
    buf_pop(r, p, v, iv);
    const uint32_t due = wslot(ilat_[base + p] + cdel_);
    wcred_[static_cast<size_t>(due) * wccap_ + wcred_n_[due]++] = static_cast<uint32_t>(in_link_[base + p]) * nv_ + v;
    ++wheel_events_;
    ++stats_.link_flits[base];
    ++stats_.flits_ejected;
    --flits_in_net_;
    progress_ = true;
    rr_in_[base + p] = static_cast<uint8_t>(v + 1 == nv_ ? 0 : v + 1);
    if (f.head && hook_) hook_->on_forward(sl.pkt, sl.src_router, r, sc_time_stamp());
    if (f.tail) {
      in_op_[iv] = -1;
      deliver(r, f.pkt, t, 0, true);
    }
    return;  // one flit per cycle on the ejection channel
  }
}

bool Noc::eject_hol(uint32_t r, uint32_t p, uint32_t v, uint32_t iv, uint32_t c, const Slot& sl, uint64_t t) {
  ++stats_.eject_credit_stalls[r];
  if (cfg_.hol_lifetime_cycles == 0) return false;
  const uint32_t q = r * 2 + c;
  if (!eject_stuck_[q]) {
    if (hol_since_[iv] == kNoWait) hol_since_[iv] = t;
    if (t - hol_since_[iv] < cfg_.hol_lifetime_cycles) {
      next_timed_ = std::min<uint64_t>(next_timed_, hol_since_[iv] + cfg_.hol_lifetime_cycles);
      return false;
    }
    eject_stuck_[q] = 1;
  }
  hol_since_[iv] = kNoWait;
  dropping_[iv] = 1;
  edge_drop(r, regs::Reason::kHolTimeout, sl.pkt);
  discard_head(r, p, v, iv);
  return true;
}

// kPipeline, per router and cycle, in hardware stage order (a stage sees
// the state the earlier stages left in this cycle):
// 1. heads past route computation bid for their output VC; each output VC
//    grants one bidder, round-robin over the router's input VCs (a
//    separable allocator whose input stage is trivial: with per-flow VCs a
//    head wants exactly one output VC, at the ejection port one free VC);
// 2. VCs past VC allocation with a credit bid for the switch; iSLIP over
//    ports (grant round-robin per output, accept round-robin per input,
//    pointers move only on an accept in the first iteration;
//    cfg.alloc_iters iterations), the VC of a matched input round-robin.
template <class M, uint32_t MaxP, bool G>
void Noc::router_step_pipe(uint32_t r, uint64_t t) {
  if (G && direct_ && r < nn_) {
    eject_direct(r, t);
    return;
  }
  constexpr uint32_t kMaxLocal = MaxP * 16;  // ports x VCs per port
  const uint32_t base = r * np_;
  const uint32_t nl = np_ * nv_;  // input VCs of this router
  uint32_t ready_mask[MaxP];
  for (uint32_t p = 0; p < np_; ++p) ready_mask[p] = 0;

  // Stage VA. Best bidder per output VC (local index op*nv + ov) by
  // round-robin distance from the output VC's pointer.
  int16_t va_win[kMaxLocal];
  uint16_t va_dist[kMaxLocal];
  M va_any = 0;  // outputs with a bidder (bit mask)
  for (M pp = port_mask<M>(r); pp; pp &= pp - 1) {  // ports holding flits, in order
    const uint32_t p = ctzm(pp);
    const uint32_t pb = (base + p) * nv_;
    for (uint32_t mm = nemask_[base + p]; mm; mm &= mm - 1) {
      const uint32_t v = static_cast<uint32_t>(__builtin_ctz(mm));
      const uint32_t iv = pb + v;
      const Flit& f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
      if (f.ready > t) {
        next_timed_ = std::min(next_timed_, f.ready);
        continue;
      }
      if (dropping_[iv]) {
        discard_head(r, p, v, iv);
        continue;
      }
      if (in_op_[iv] >= 0) continue;
      if (va_at_[iv] == kNoWait) va_at_[iv] = std::max(f.ready, front_at_[iv]) + cfg_.rc_cycles;
      if (va_at_[iv] > t) {
        next_timed_ = std::min(next_timed_, va_at_[iv]);
        continue;
      }
      ready_mask[p] |= 1u << v;
      Slot& sl = slot(f.pkt);
      const uint32_t op = G ? out_port(r, p == 0 || term_in_[base + p] ? 0u : vlev_[v], sl) : route_tab_[r * rstride_ + sl.dst_router];
      const uint32_t c = sl.cls;
      uint32_t lo = c * vpc_, n = vpc_;
      if (op != 0 && wrap_) {
        bool set1 = p != 0 && (p - 1) / 2 == (op - 1) / 2 && (v - c * vpc_) >= s0_;
        if (is_wrap_[base + op]) set1 = true;
        lo = c * vpc_ + (set1 ? s0_ : 0);
        n = set1 ? vpc_ - s0_ : s0_;
      } else if (G && op != 0 && nsets_ > 1) {
        const bool fresh = p == 0 || term_in_[base + p];
        const uint32_t lv = via_router_ ? graph_->next_set(fresh ? 0u : vlev_[v], r, static_cast<uint32_t>(
                                            graph_->out_ch[static_cast<size_t>(base + op)]), sl.inter, fresh && r >= nn_, sl.dst_router)
                                        : std::min<uint32_t>((fresh ? 0u : vlev_[v]) + bump_[base + op], nsets_ - 1);
        lo = c * vpc_ + lv * s0_;
        n = s0_;
      }
      if (op == 0 && node_cred_[r * 2 + c] == 0) {
        if (eject_hol(r, p, v, iv, c, sl, t)) ready_mask[p] &= ~(1u << v);
        continue;
      }
      hol_since_[iv] = kNoWait;
      const uint32_t ob = (base + op) * nv_;
      uint32_t got = 0;
      if (op != 0) {
        got = lo + (G ? sl.fv_s0 : !wrap_ ? sl.fv_all : lo == c * vpc_ ? sl.fv_s0 : sl.fv_s1);
        if (G && cfg_.vc_per_packet) got = pick_vc(ob, lo, n, sl);
        if (ov_busy_[ob + got]) continue;
      } else {
        int e = -1;
        uint32_t rel = rr_vc_[base];
        for (uint32_t m = 0; m < n; ++m, rel = (rel + 1 == n ? 0 : rel + 1))
          if (!ov_busy_[ob + lo + rel]) {
            e = static_cast<int>(lo + rel);
            break;
          }
        if (e < 0) continue;
        got = static_cast<uint32_t>(e);
      }
      const uint32_t o = op * nv_ + got;
      const uint32_t li = p * nv_ + v;
      const uint32_t ptr = va_ptr_[ob + got];
      const uint32_t d = li >= ptr ? li - ptr : li + nl - ptr;
      if (!((va_any >> op) & 1u)) {  // first bidder for this output in this cycle
        for (uint32_t k = 0; k < nv_; ++k) va_win[op * nv_ + k] = -1;
        va_any |= M{1} << op;
      }
      if (va_win[o] < 0 || d < va_dist[o]) {  // the closest to the pointer wins
        va_win[o] = static_cast<int16_t>(li);
        va_dist[o] = static_cast<uint16_t>(d);
      }
    }
  }
  for (M m = va_any; m; m &= m - 1) {
    const uint32_t op = ctzm(m);
    const uint32_t ob = (base + op) * nv_;
    for (uint32_t ov = 0; ov < nv_; ++ov) {
      const int w = va_win[op * nv_ + ov];
      if (w < 0) continue;
      const uint32_t li = static_cast<uint32_t>(w);
      const uint32_t p = li / nv_, v = li - p * nv_;  // at most one division per grant
      const uint32_t iv = (base + p) * nv_ + v;
      const uint32_t c = slot(buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]].pkt).cls;
      if (op == 0) {
        if (node_cred_[r * 2 + c] == 0) continue;  // an earlier grant of this cycle took the last one
        --node_cred_[r * 2 + c];                   // reserved for this packet's delivery
        const uint32_t n = vpc_, lo = c * vpc_;
        rr_vc_[base] = static_cast<uint8_t>(ov - lo + 1 == n ? 0 : ov - lo + 1);
      }
      ov_busy_[ob + ov] = 1;
      in_op_[iv] = static_cast<int8_t>(op);
      in_ov_[iv] = static_cast<uint8_t>(ov);
      sa_at_[iv] = t + cfg_.va_cycles;
      ready_mask[p] &= ~(1u << v);
      va_ptr_[ob + ov] = static_cast<uint16_t>(li + 1 == nl ? 0 : li + 1);
      progress_ = true;
    }
  }

  // Stage SA: requests per input port, and per (input, output) the VC that
  // would go (round-robin from rr_in_).
  M req[MaxP];  // [input]: outputs requested (bit mask)
  uint8_t vc_for[MaxP][MaxP];
  M any_req = 0;
  for (uint32_t p = 0; p < np_; ++p) req[p] = 0;
  for (M pp = port_mask<M>(r); pp; pp &= pp - 1) {
    const uint32_t p = ctzm(pp);
    const uint32_t pb = (base + p) * nv_;
    const uint32_t m = nemask_[base + p];
    const uint32_t v0 = rr_in_[base + p];
    const uint32_t rot = v0 ? ((m >> v0) | (m << (nv_ - v0))) & ((1u << nv_) - 1u) : m;
    for (uint32_t mm = rot; mm; mm &= mm - 1) {
      uint32_t v = v0 + static_cast<uint32_t>(__builtin_ctz(mm));
      if (v >= nv_) v -= nv_;
      const uint32_t iv = pb + v;
      if (!bcount_[iv] || in_op_[iv] < 0) continue;
      const Flit& f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
      if (f.ready > t) continue;  // its wake-up is already asked for
      if (sa_at_[iv] > t) {
        next_timed_ = std::min(next_timed_, sa_at_[iv]);
        continue;
      }
      ready_mask[p] |= 1u << v;
      const uint32_t op = static_cast<uint32_t>(in_op_[iv]);
      if (op != 0 && cred_[(base + op) * nv_ + in_ov_[iv]] <= 0) continue;
      if (G && obusy_[base + op] > t) {  // a narrow link still carries the previous flit
        next_timed_ = std::min(next_timed_, obusy_[base + op]);
        continue;
      }
      if (!((req[p] >> op) & 1u)) {
        req[p] |= M{1} << op;
        vc_for[p][op] = static_cast<uint8_t>(v);
      }
    }
    any_req |= req[p];
  }
  if (any_req) {
    M in_free = (M{1} << np_) - 1u, out_free = in_free;
    uint32_t match[MaxP];  // [input]: matched output
    M matched = 0;         // inputs matched
    M grants[MaxP];        // [input]: outputs granting it
    for (uint32_t it = 0; it < cfg_.alloc_iters && in_free && out_free; ++it) {
      for (uint32_t p = 0; p < np_; ++p) grants[p] = 0;
      bool any = false;
      for (M m = any_req & out_free; m; m &= m - 1) {
        const uint32_t op = ctzm(m);
        M rq = 0;  // free inputs requesting op
        for (uint32_t p = 0; p < np_; ++p)
          if (((in_free >> p) & 1u) && ((req[p] >> op) & 1u)) rq |= M{1} << p;
        if (!rq) continue;
        const M from = rq & ~((M{1} << rr_out_[base + op]) - 1u);
        const uint32_t p = ctzm(from ? from : rq);
        grants[p] |= M{1} << op;
        any = true;
      }
      if (!any) break;
      for (uint32_t p = 0; p < np_; ++p) {
        const M g = grants[p];
        if (!g) continue;
        const M from = g & ~((M{1} << acc_ptr_[base + p]) - 1u);
        const uint32_t op = ctzm(from ? from : g);
        match[p] = op;
        matched |= M{1} << p;
        in_free &= ~(M{1} << p);
        out_free &= ~(M{1} << op);
        if (it == 0) {
          rr_out_[base + op] = static_cast<uint8_t>(p + 1 == np_ ? 0 : p + 1);
          acc_ptr_[base + p] = static_cast<uint8_t>(op + 1 == np_ ? 0 : op + 1);
        }
      }
    }
    // Traversal of the matched flits.
    for (M mm = matched; mm; mm &= mm - 1) {
      const uint32_t p = ctzm(mm);
      const uint32_t op = match[p];
      const uint32_t v = vc_for[p][op];
      const uint32_t iv = (base + p) * nv_ + v;
      rr_in_[base + p] = static_cast<uint8_t>(v + 1 == nv_ ? 0 : v + 1);
      ready_mask[p] &= ~(1u << v);
      const Flit f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
      buf_pop(r, p, v, iv);
      progress_ = true;
      {
        const uint32_t due = p == 0 ? w_cr1_ : G ? wslot(ilat_[base + p] + cdel_) : w_crl_;
        const uint32_t target = p == 0 ? iv : static_cast<uint32_t>(in_link_[base + p]) * nv_ + v;
        wcred_[static_cast<size_t>(due) * wccap_ + wcred_n_[due]++] = target;
        ++wheel_events_;
      }
      const uint32_t ov = in_ov_[iv];
      ++stats_.link_flits[base + op];
      if (f.tail) {
        in_op_[iv] = -1;
        va_at_[iv] = kNoWait;
        front_at_[iv] = t + 1;  // the next head starts its route computation next cycle
      }
      if (op == 0) {
        ++stats_.flits_ejected;
        --flits_in_net_;
        Slot& sl = slot(f.pkt);
        if (f.head && hook_) hook_->on_forward(sl.pkt, sl.src_router, r, sc_time_stamp());
        if (f.tail) {
          ov_busy_[base * nv_ + ov] = 0;
          deliver(r, f.pkt, t, ej_extra_);
        }
      } else {
        --cred_[(base + op) * nv_ + ov];
        const uint32_t ol = G ? olat_[base + op] : lat_;
        if (G && ser_[base + op] > 1) obusy_[base + op] = t + ser_[base + op];
        const uint32_t due = G ? wslot(ol) : w_lat_;
        FlitEv& ev = wflit_[static_cast<size_t>(due) * wcap_ + wflit_n_[due]++];
        ev.ivc = static_cast<uint32_t>(out_link_[base + op]) * nv_ + ov;
        ev.router = static_cast<uint16_t>(out_router_[base + op]);
        ev.port = G ? out_port_[base + op] : static_cast<uint8_t>(op);
        ev.vc = static_cast<uint8_t>(ov);
        ev.f.ready = t + fwd_ - lat_ + ol;
        ev.f.pkt = f.pkt;
        ev.f.head = f.head;
        ev.f.tail = f.tail;
        ++wheel_events_;
        if (f.tail) ov_busy_[(base + op) * nv_ + ov] = 0;
      }
    }
  }
  for (uint32_t p = 0; p < np_; ++p)
    for (uint32_t m = ready_mask[p]; m; m &= m - 1)
      ++stats_.vc_stalls[(base + p) * nv_ + static_cast<uint32_t>(__builtin_ctz(m))];
}

}  // namespace cmm::tlmshell
