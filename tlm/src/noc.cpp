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
  throw std::invalid_argument("unknown topology '" + s + "': allowed values are ring, mesh, torus");
}

const char* to_string(Topology t) {
  switch (t) {
    case Topology::kRing: return "ring";
    case Topology::kMesh: return "mesh";
    case Topology::kTorus: return "torus";
  }
  return "?";
}

namespace {
constexpr uint64_t kNoWait = std::numeric_limits<uint64_t>::max();
[[noreturn]] void bad(const char* param, uint64_t v, const char* rule) {
  throw std::invalid_argument(std::string("NocConfig.") + param + " = " + std::to_string(v) + ": " + rule);
}
void range(const char* param, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v < lo || v > hi) {
    const std::string rule = "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    bad(param, v, rule.c_str());
  }
}
}  // namespace

void NocConfig::validate() const {
  if (topology != Topology::kRing && topology != Topology::kMesh && topology != Topology::kTorus)
    bad("topology", static_cast<uint64_t>(topology), "must be ring, mesh or torus");
  range("x", x, 1, 256);
  range("y", y, 1, 256);
  if (topology == Topology::kRing && y != 1) bad("y", y, "must be 1 for a ring (x is the number of nodes)");
  if (uint64_t{x} * y > 256) bad("x*y", uint64_t{x} * y, "at most 256 nodes (8-bit node ids)");
  range("vcs_per_class", vcs_per_class, 1, 8);
  if (topology != Topology::kMesh && vcs_per_class < 2)
    bad("vcs_per_class", vcs_per_class, "must be >= 2 for a ring or torus (dateline VC sets)");
  range("buf_depth_flits", buf_depth_flits, 1, 1024);
  range("link_width_bytes", link_width_bytes, 1, 4096);
  range("link_latency_cycles", link_latency_cycles, 1, 1024);
  range("router_delay_cycles", router_delay_cycles, 0, 1024);
  range("ni_slots_per_class", ni_slots_per_class, 1, 1024);
  if (clock_period.value() == 0) bad("clock_period", 0, "must be > 0 (in ps ticks)");
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
void Noc::free_slot(uint32_t i) { pool_->free.push_back(i); }

// ------------------------------------------------------------ construction

Noc::Noc(sc_module_name name, const NocConfig& cfg) : sc_module(name), cfg_(cfg) {
  cfg_.validate();
  nr_ = cfg_.num_nodes();
  np_ = cfg_.topology == Topology::kRing ? 3 : 5;
  vpc_ = cfg_.vcs_per_class;
  nv_ = 2 * vpc_;
  s0_ = (vpc_ + 1) / 2;  // dateline set 0 gets the larger half
  depth_ = cfg_.buf_depth_flits;
  lat_ = cfg_.link_latency_cycles;
  rdel_ = cfg_.router_delay_cycles;
  wrap_ = cfg_.topology != Topology::kMesh;
  period_ticks_ = cfg_.clock_period.value();

  route_.fill(-1);
  attached_.assign(nr_, -1);
  for (uint32_t i = 0; i < nr_; ++i) {
    route_[i] = static_cast<int16_t>(i);
    attached_[i] = static_cast<int16_t>(i);
  }
  cx_.resize(nr_);
  cy_.resize(nr_);
  for (uint32_t i = 0; i < nr_; ++i) {
    cx_[i] = static_cast<uint16_t>(i % cfg_.x);
    cy_[i] = static_cast<uint16_t>(i / cfg_.x);
  }

  // Links: output port p of router r reaches input port p (same direction
  // label) of its neighbour.
  const uint32_t X = cfg_.x, Y = cfg_.y;
  out_link_.assign(nr_ * np_, -1);
  in_link_.assign(nr_ * np_, -1);
  is_wrap_.assign(nr_ * np_, 0);
  for (uint32_t r = 0; r < nr_; ++r) {
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
  start_port_.assign(nr_, 0);

  wn_ = lat_ + 1;
  wcap_ = nr_ * np_;  // each output sends at most one flit per cycle
  wccap_ = nr_ * np_ * nv_;  // each input VC frees at most one flit per cycle (switched or discarded)
  wflit_.assign(static_cast<size_t>(wn_) * wcap_, FlitEv{0, 0, Flit{}});
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
  stats_.vc_stalls.assign(nvc, 0);
  stats_.eject_credit_stalls.assign(nr_, 0);
  stats_.node_drops.assign(nr_, DropCount{});

  // Live packets: NI slots + one per buffered or in-flight flit (a packet in
  // the network always has a flit somewhere).
  pool_ = std::make_unique<Pool>();
  pool_->cap = nr_ * 2 * ns + nvc * depth_ + nr_ * np_ * lat_ + Pool::kChunk;
  pool_->free.reserve(pool_->cap + Pool::kChunk);
  while (pool_->made < std::min<uint32_t>(pool_->cap, nr_ * 2 * ns)) pool_->grow();

  for (uint32_t i = 0; i < nr_; ++i) {
    out_gp_.push_back(std::make_unique<tlm::tlm_generic_payload>());
    out_gp_.back()->set_extension(new LinkExt);  // owned by the payload
  }
  credit_ext_ = new LinkExt;
  credit_ext_->kind = LinkExt::kCredit;
  credit_gp_.set_extension(credit_ext_);
  for (uint32_t i = 0; i < nr_; ++i) {
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
  const uint32_t X = cfg_.x;
  return dim_hops(s % X, d % X, X, wrap_) + dim_hops(s / X, d / X, cfg_.y, wrap_);
}

uint32_t Noc::flits_of(uint32_t wire_bytes) const {
  return static_cast<uint32_t>(std::max<uint64_t>(1, ceil_div(wire_bytes, cfg_.link_width_bytes)));
}

uint64_t Noc::zero_load_cycles(uint32_t s, uint32_t d, uint32_t wire_bytes) const {
  const uint64_t h = hops(s, d);
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

// ------------------------------------------------------------ node side

void Noc::grant_initial_credits() {
  for (uint32_t r = 0; r < nr_; ++r)
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

void Noc::set_route(uint8_t node, int router) {
  const int old = route_[node];
  if (old >= 0 && static_cast<uint32_t>(old) < nr_ && attached_[static_cast<uint32_t>(old)] == node)
    attached_[static_cast<uint32_t>(old)] = -1;
  route_[node] = static_cast<int16_t>(router);
  if (router >= 0 && static_cast<uint32_t>(router) < nr_) attached_[static_cast<uint32_t>(router)] = node;
}

void Noc::set_port_node(uint32_t router, int node) {
  if (router < nr_) attached_[router] = static_cast<int16_t>(node < 0 || node > 255 ? -1 : node);
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
  if (dst < 0 || static_cast<uint32_t>(dst) >= nr_) {
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
    uint32_t h = (r << 16) ^ static_cast<uint32_t>(dst) ^ 0x9E3779B9u;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    sl.flow = h;
    sl.fv_all = static_cast<uint8_t>(h % vpc_);
    sl.fv_s0 = static_cast<uint8_t>(h % s0_);
    sl.fv_s1 = static_cast<uint8_t>(vpc_ > s0_ ? h % (vpc_ - s0_) : 0);
  }
  const uint32_t q = r * 2 + c;
  niq_[q * cfg_.ni_slots_per_class + niq_n_[q]++] = i;
  ++ni_used_[q];
  ++ni_busy_[r];
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
  }
  if (node_pend_[i] == 0 && e->credits) ++node_pend_n_;
  node_pend_[i] += e->credits;
  node_pend_cycle_[i] = cur + 1;
  if (e->credits) eject_stuck_[i] = 0;  // the node is alive again
  if (flits_in_net_ > 0) wake_at(cur + 1);  // a head may be waiting for it
  return tlm::TLM_COMPLETED;
}

void Noc::deliver(uint32_t r, uint32_t i, uint64_t t) {
  Slot& sl = slot(i);
  const uint64_t lat = t + 1 - sl.req_cycle;
  ++stats_.delivered[sl.cls];
  stats_.latency_sum[sl.cls] += lat;
  stats_.latency_max[sl.cls] = std::max(stats_.latency_max[sl.cls], lat);
  tlm::tlm_generic_payload& gp = *out_gp_[r];
  LinkExt* e = nullptr;
  gp.get_extension(e);
  e->kind = LinkExt::kPacket;
  e->pkt = &sl.pkt;
  tlm::tlm_phase ph = tlm::BEGIN_REQ;
  sc_time delay = cfg_.clock_period;  // complete at the end of the tail's ejection cycle
  (*out_isock[r])->nb_transport_fw(gp, ph, delay);  // receiver copies the packet
  if (--sl.refs == 0) free_slot(i);
}

// ------------------------------------------------------------ cycle step

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

  for (uint32_t i = 0; node_pend_n_ && i < nr_ * 2; ++i)  // only while some node credit is pending
    if (node_pend_[i] && node_pend_cycle_[i] <= t) {
      node_cred_[i] += node_pend_[i];
      node_pend_[i] = 0;
      --node_pend_n_;
    }

  // Link arrivals and credit returns due now. One division per step; the
  // slots of t + 1 and t + L follow from it (wn_ = L + 1).
  const uint32_t s = static_cast<uint32_t>(t % wn_);
  w_one_ = s + 1 == wn_ ? 0 : s + 1;
  w_lat_ = s == 0 ? wn_ - 1 : s - 1;
  if (wflit_n_[s] || wcred_n_[s]) {
    const FlitEv* fe = &wflit_[static_cast<size_t>(s) * wcap_];
    for (uint32_t k = 0; k < wflit_n_[s]; ++k) {
      const uint32_t iv = fe[k].ivc;
      uint32_t tail = bhead_[iv] + bcount_[iv];
      if (tail >= depth_) tail -= depth_;
      buf_[static_cast<size_t>(iv) * depth_ + tail] = fe[k].f;
      ++bcount_[iv];
      ++occ_[fe[k].router];
    }
    const uint32_t* ce = &wcred_[static_cast<size_t>(s) * wccap_];
    for (uint32_t k = 0; k < wcred_n_[s]; ++k) ++cred_[ce[k]];
    wheel_events_ -= wflit_n_[s] + wcred_n_[s];
    wflit_n_[s] = wcred_n_[s] = 0;
  }

  if (ni_pending_)
    for (uint32_t r = 0; r < nr_; ++r)
      if (ni_busy_[r]) ni_step(r, t);
  for (uint32_t r = 0; r < nr_; ++r) {
    if (occ_[r]) router_step(r, t);
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
    for (;;) {
      int best = -1;
      uint32_t best_v = 0;
      for (uint32_t k = 0; k < niq_n_[q]; ++k) {
        const Slot& sl = slot(qa[k]);
        if (sl.start > t) {
          next_timed_ = std::min(next_timed_, sl.start);
          continue;
        }
        const uint32_t v = static_cast<uint32_t>(c) * vpc_ + sl.fv_all;
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
    }
  }
  // One flit per cycle on the injection channel, round-robin over VCs.
  for (uint32_t k = 0, v = ni_rr_[r]; k < nv_; ++k, v = v + 1 == nv_ ? 0 : v + 1) {
    Stream& st = streams_[r * nv_ + v];
    if (!st.active) continue;
    const uint32_t iv = (r * np_) * nv_ + v;
    if (cred_[iv] <= 0) continue;
    Slot& sl = slot(st.slot);
    Flit f;
    f.ready = t + rdel_;
    f.pkt = st.slot;
    f.head = st.next == 0;
    f.tail = st.next + 1u == sl.nflits;
    uint32_t tail = bhead_[iv] + bcount_[iv];
    if (tail >= depth_) tail -= depth_;
    buf_[static_cast<size_t>(iv) * depth_ + tail] = f;
    ++bcount_[iv];
    --cred_[iv];
    ++occ_[r];
    ++flits_in_net_;
    ++stats_.flits_injected;
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
        --ni_busy_[r];
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
  bhead_[iv] = static_cast<uint16_t>(bhead_[iv] + 1u == depth_ ? 0 : bhead_[iv] + 1u);
  --bcount_[iv];
  --occ_[r];
  --flits_in_net_;
  ++stats_.flits_dropped;
  progress_ = true;
  const uint32_t due = p == 0 ? w_one_ : w_lat_;
  const uint32_t target = p == 0 ? iv : static_cast<uint32_t>(in_link_[base + p]) * nv_ + v;
  wcred_[static_cast<size_t>(due) * wccap_ + wcred_n_[due]++] = target;
  ++wheel_events_;
  if (f.tail) {
    dropping_[iv] = 0;
    Slot& sl = slot(f.pkt);
    if (--sl.refs == 0) free_slot(f.pkt);
  }
}

// Per router and cycle: route + VC allocation for ready heads, then a
// separable input-first switch allocator (round-robin at both stages).
void Noc::router_step(uint32_t r, uint64_t t) {
  const uint32_t base = r * np_;
  int req_vc[5];
  uint32_t ready_mask[5];
  uint32_t req_in[5] = {0, 0, 0, 0, 0};  // [output]: input ports requesting it (bit mask)
  const uint32_t sp = start_port_[r];
  start_port_[r] = static_cast<uint8_t>(sp + 1 == np_ ? 0 : sp + 1);
  for (uint32_t k = 0, p = sp; k < np_; ++k, p = p + 1 == np_ ? 0 : p + 1) {
    req_vc[p] = -1;
    ready_mask[p] = 0;
    const uint32_t pb = (base + p) * nv_;
    uint32_t v = rr_in_[base + p];
    for (uint32_t j = 0; j < nv_; ++j, v = (v + 1 == nv_ ? 0 : v + 1)) {
      const uint32_t iv = pb + v;
      if (!bcount_[iv]) continue;
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
        const Slot& sl = slot(f.pkt);
        const uint32_t op = route(r, sl.dst_router);
        const uint32_t c = sl.cls;
        uint32_t lo = c * vpc_, n = vpc_;
        if (op != 0 && wrap_) {
          // Dateline: set 0 until the packet crosses the wrap link of the
          // current dimension, set 1 after; a new dimension starts in set 0.
          bool set1 = p != 0 && (p - 1) / 2 == (op - 1) / 2 && (v - c * vpc_) >= s0_;
          if (is_wrap_[base + op]) set1 = true;
          lo = c * vpc_ + (set1 ? s0_ : 0);
          n = set1 ? vpc_ - s0_ : s0_;
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
          got = lo + (!wrap_ ? sl.fv_all : lo == c * vpc_ ? sl.fv_s0 : sl.fv_s1);
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
      if (req_vc[p] < 0) {
        req_vc[p] = static_cast<int>(v);
        req_in[op] |= 1u << p;
      }
    }
  }
  // Output stage: each output grants one requesting input port, round-robin
  // from rr_out_ (first requester at or after it, else the first one).
  for (uint32_t op = 0; op < np_; ++op) {
    const uint32_t m = req_in[op];
    if (!m) continue;
    const uint32_t from = m & ~((1u << rr_out_[base + op]) - 1u);
    const uint32_t p = static_cast<uint32_t>(__builtin_ctz(from ? from : m));
    const uint32_t v = static_cast<uint32_t>(req_vc[p]);
    const uint32_t iv = (base + p) * nv_ + v;
    rr_out_[base + op] = static_cast<uint8_t>(p + 1 == np_ ? 0 : p + 1);
    rr_in_[base + p] = static_cast<uint8_t>(v + 1 == nv_ ? 0 : v + 1);
    ready_mask[p] &= ~(1u << v);
    const Flit f = buf_[static_cast<size_t>(iv) * depth_ + bhead_[iv]];
    bhead_[iv] = static_cast<uint16_t>(bhead_[iv] + 1u == depth_ ? 0 : bhead_[iv] + 1u);
    --bcount_[iv];
    --occ_[r];
    progress_ = true;
    // Credit for the freed buffer slot: to the NI next cycle, upstream after L.
    {
      const uint32_t due = p == 0 ? w_one_ : w_lat_;
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
      const uint32_t due = w_lat_;
      FlitEv& ev = wflit_[static_cast<size_t>(due) * wcap_ + wflit_n_[due]++];
      ev.ivc = static_cast<uint32_t>(out_link_[base + op]) * nv_ + ov;
      ev.router = out_router_[base + op];
      ev.f = f;
      ev.f.ready = t + lat_ + rdel_;
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
