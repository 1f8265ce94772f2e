#include "cmm_tlm/crossbar.h"

#include <algorithm>
#include <string>

namespace cmm::tlmshell {

using namespace sc_core;

Crossbar::Crossbar(sc_module_name name, const XbarConfig& cfg) : sc_module(name), cfg_(cfg) {
  const uint32_t n = cfg_.num_ports;
  if (n == 0 || n > 256) SC_REPORT_FATAL("cmm/xbar", "number of ports out of range");
  cfg_.ports.resize(n);
  for (auto& p : cfg_.ports)
    if (p.width_bytes == 0) p.width_bytes = 1;
  if (cfg_.buf_slots_per_class == 0) cfg_.buf_slots_per_class = 1;
  route_.fill(-1);
  attached_.assign(n, -1);
  for (uint32_t i = 0; i < n && i < 256; ++i) {
    route_[i] = static_cast<int16_t>(i);
    attached_[i] = static_cast<int32_t>(i);
  }
  stall_since_.assign(n, {SC_ZERO_TIME, SC_ZERO_TIME});
  stalled_.assign(n, {false, false});
  hol_stuck_.assign(n, {false, false});
  stats_.port_drops.assign(n, DropCount{});
  stats_.in_bytes.assign(n, 0);
  stats_.in_flits.assign(n, 0);
  stats_.out_bytes.assign(n, 0);
  stats_.out_flits.assign(n, 0);

  const uint32_t total = n * 2 * cfg_.buf_slots_per_class;
  slots_.resize(total);
  for (uint32_t i = 0; i < total; ++i) free_.push_back(total - 1 - i);
  waiting_.resize(n);
  for (auto& w : waiting_)
    for (auto& v : w) v.reserve(total);
  in_used_.assign(n, {0, 0});
  out_credits_.assign(n, {0, 0});
  in_free_.assign(n, SC_ZERO_TIME);
  out_free_.assign(n, SC_ZERO_TIME);
  for (uint32_t i = 0; i < n; ++i) {
    out_gp_.push_back(std::make_unique<tlm::tlm_generic_payload>());
    out_gp_.back()->set_extension(new LinkExt);  // owned by the payload
  }
  credit_ext_ = new LinkExt;
  credit_ext_->kind = LinkExt::kCredit;
  credit_gp_.set_extension(credit_ext_);

  for (uint32_t i = 0; i < n; ++i) {
    const std::string tn = "in_tsock_" + std::to_string(i);
    const std::string in = "out_isock_" + std::to_string(i);
    in_tsock.push_back(std::make_unique<TSock>(tn.c_str()));
    out_isock.push_back(std::make_unique<ISock>(in.c_str()));
    in_tsock.back()->register_nb_transport_fw(this, &Crossbar::in_fw, static_cast<int>(i));
    out_isock.back()->register_nb_transport_bw(this, &Crossbar::out_bw, static_cast<int>(i));
  }
  SC_METHOD(arbitrate);
  sensitive << arb_ev_;
  dont_initialize();
  SC_METHOD(grant_initial_credits);
}

uint64_t Crossbar::zero_load_cycles(uint32_t s, uint32_t d, uint32_t wire_bytes) const {
  const auto& ps = cfg_.ports[s];
  const auto& pd = cfg_.ports[d];
  return ceil_div(wire_bytes, ps.width_bytes) + ps.latency_cycles + cfg_.router_delay_cycles +
         ceil_div(wire_bytes, pd.width_bytes) + pd.latency_cycles;
}

void Crossbar::set_route(uint16_t node, int port) {
  const int old = route_[node];
  if (old >= 0 && static_cast<uint32_t>(old) < cfg_.num_ports && attached_[static_cast<uint32_t>(old)] == node)
    attached_[static_cast<uint32_t>(old)] = -1;
  route_[node] = static_cast<int16_t>(port);
  if (port >= 0 && static_cast<uint32_t>(port) < cfg_.num_ports) attached_[static_cast<uint32_t>(port)] = node;
}

void Crossbar::set_port_node(uint32_t port, int node) {
  if (port < cfg_.num_ports) attached_[port] = node < 0 || node >= (1 << regs::kNodeIdBits) ? -1 : node;
}

void Crossbar::drop(uint32_t port, regs::Reason r, const Packet& p) {
  stats_.drops.add(r);
  stats_.port_drops[port].add(r);
  if (hook_) hook_->on_drop(p, port, r);
}

// Oldest ready packet of a queue (ready time, then arrival order), -1 if none.
int Crossbar::pick(const std::vector<uint32_t>& v, const sc_time& now) const {
  int best = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    const Slot& s = slots_[v[i]];
    if (s.ready > now) continue;
    if (best < 0 || s.ready < slots_[v[best]].ready ||
        (s.ready == slots_[v[best]].ready && s.seq < slots_[v[best]].seq))
      best = static_cast<int>(i);
  }
  return best;
}

void Crossbar::send_credit(uint32_t port, uint8_t cls, uint16_t n) {
  credit_ext_->cls = cls;
  credit_ext_->credits = n;
  tlm::tlm_phase ph = tlm::BEGIN_RESP;
  sc_time d = SC_ZERO_TIME;
  (*in_tsock[port])->nb_transport_bw(credit_gp_, ph, d);
}

void Crossbar::grant_initial_credits() {
  for (uint32_t p = 0; p < cfg_.num_ports; ++p)
    for (uint8_t c = 0; c < 2; ++c) send_credit(p, c, static_cast<uint16_t>(cfg_.buf_slots_per_class));
}

void Crossbar::release(uint32_t idx) {
  Slot& s = slots_[idx];
  s.used = false;
  --in_used_[s.in_port][s.cls];
  free_.push_back(idx);
  send_credit(s.in_port, s.cls, 1);
}

tlm::tlm_sync_enum Crossbar::in_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  LinkExt* e = nullptr;
  gp.get_extension(e);
  const uint32_t s = static_cast<uint32_t>(port);
  if (ph != tlm::BEGIN_REQ || !e || e->kind != LinkExt::kPacket || !e->pkt) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/xbar", "input link: not a packet");
    return tlm::TLM_COMPLETED;
  }
  const uint8_t cls = e->pkt->cls & 1u;
  if (in_used_[s][cls] >= cfg_.buf_slots_per_class || free_.empty()) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/xbar", "input link: packet without credit");
    return tlm::TLM_COMPLETED;
  }
  // Edge checks on the sender's packet before anything is copied: the
  // length claims are never trusted, and the port knows its node.
  const Packet& in = *e->pkt;
  if (!length_ok(in) || (attached_[s] != in.hdr.src_node)) {
    drop(s, length_ok(in) ? regs::Reason::kSrcSpoofed : regs::Reason::kBadLen, in);
    send_credit(s, cls, 1);
    return tlm::TLM_COMPLETED;
  }
  const uint32_t idx = free_.back();
  free_.pop_back();
  ++in_used_[s][cls];
  Slot& sl = slots_[idx];
  sl.used = true;
  sl.pkt.copy_from(*e->pkt);
  sl.pkt.cls = cls;
  sl.cls = cls;
  sl.in_port = s;
  sl.seq = seq_++;
  sl.copies_left = 0;
  // Input link: serialization (one packet at a time), then flight, then the switch.
  const auto& pc = cfg_.ports[s];
  const uint64_t ser = ceil_div(sl.pkt.wire_bytes(), pc.width_bytes);
  stats_.in_bytes[s] += sl.pkt.wire_bytes();
  stats_.in_flits[s] += ser;
  const sc_time start = std::max(sc_time_stamp() + d, in_free_[s]);
  in_free_[s] = start + cycles(ser);
  sl.ready = start + cycles(ser + pc.latency_cycles + cfg_.router_delay_cycles);
  if (hook_) {
    const FaultDecision f = hook_->on_packet(sl.pkt, s, sl.seq);
    if (f.corrupted) ++stats_.fault_corruptions;
    if (f.drop) {
      ++stats_.fault_drops;
      release(idx);
      return tlm::TLM_COMPLETED;
    }
    if (f.extra_delay_cycles) {
      ++stats_.fault_delays;
      sl.ready += cycles(f.extra_delay_cycles);
    }
    sl.copies_left = f.duplicates;
    stats_.fault_duplicates += f.duplicates;
  }
  const int dport = route_[sl.pkt.hdr.dst_node];
  if (dport < 0 || static_cast<uint32_t>(dport) >= cfg_.num_ports) {
    ++stats_.unroutable;
    if (hook_) hook_->on_unroutable(sl.pkt, s);
    if (unroutable_reports_++ < 8) {
      const std::string m = "no route to node " + std::to_string(sl.pkt.hdr.dst_node) + " (packet " +
                            sl.pkt.hdr.str() + "): counted and discarded";
      SC_REPORT_WARNING("cmm/xbar", m.c_str());
    }
    release(idx);
    return tlm::TLM_COMPLETED;
  }
  waiting_[static_cast<uint32_t>(dport)][cls].push_back(idx);
  arb_ev_.notify(sl.ready - sc_time_stamp());
  return tlm::TLM_COMPLETED;
}

tlm::tlm_sync_enum Crossbar::out_bw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  (void)d;
  LinkExt* e = nullptr;
  gp.get_extension(e);
  if (ph != tlm::BEGIN_RESP || !e || e->kind != LinkExt::kCredit) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/xbar", "output link: not a credit");
    return tlm::TLM_COMPLETED;
  }
  out_credits_[static_cast<uint32_t>(port)][e->cls & 1u] += e->credits;
  if (e->credits) hol_stuck_[static_cast<uint32_t>(port)][e->cls & 1u] = false;  // the port is alive again
  arb_ev_.notify(SC_ZERO_TIME);
  return tlm::TLM_COMPLETED;
}

void Crossbar::arbitrate() {
  const sc_time now = sc_time_stamp();
  bool have_next = false;
  sc_time next;
  auto consider = [&](const sc_time& t) {
    if (!have_next || t < next) next = t;
    have_next = true;
  };
  for (uint32_t d = 0; d < cfg_.num_ports; ++d) {
    auto& wq = waiting_[d];
    if (wq[0].empty() && wq[1].empty()) continue;
    // Head-of-queue lifetime: a ready head that has waited hol_lifetime
    // cycles for a credit of its class is dropped, so a node that withholds
    // credits cannot hold buffers (and the senders' credits) forever. Then
    // the port is stalled (as InfiniBand switches do): every packet of that
    // class for it is dropped at once until it returns a credit.
    if (cfg_.hol_lifetime_cycles > 0) {
      const sc_time life = cycles(cfg_.hol_lifetime_cycles);
      for (int c = 0; c < 2; ++c) {
        int h = out_credits_[d][c] > 0 ? -1 : pick(wq[c], now);
        if (h < 0) {
          stalled_[d][c] = false;
          continue;
        }
        if (!hol_stuck_[d][c]) {
          if (!stalled_[d][c]) {
            stalled_[d][c] = true;
            stall_since_[d][c] = now;
          } else if (now - stall_since_[d][c] >= life) {
            hol_stuck_[d][c] = true;
          }
        }
        if (!hol_stuck_[d][c]) {
          consider(stall_since_[d][c] + life);
          continue;
        }
        for (; h >= 0; h = pick(wq[c], now)) {
          const uint32_t idx = wq[c][static_cast<size_t>(h)];
          wq[c].erase(wq[c].begin() + h);
          drop(d, regs::Reason::kHolTimeout, slots_[idx].pkt);
          release(idx);
        }
        stalled_[d][c] = false;
      }
      if (wq[0].empty() && wq[1].empty()) continue;
    }
    if (out_free_[d] <= now) {
      // Response class first; oldest (ready time, arrival order) within a class.
      for (int c = 1; c >= 0; --c) {
        if (out_credits_[d][c] == 0) continue;
        auto& v = wq[c];
        const int best = pick(v, now);
        if (best < 0) continue;
        const uint32_t idx = v[best];
        Slot& s = slots_[idx];
        const auto& pc = cfg_.ports[d];
        const uint64_t ser = ceil_div(s.pkt.wire_bytes(), pc.width_bytes);
        stats_.out_bytes[d] += s.pkt.wire_bytes();
        stats_.out_flits[d] += ser;
        out_free_[d] = now + cycles(ser);
        --out_credits_[d][c];
        ++stats_.forwarded[c];
        if (hook_) hook_->on_forward(s.pkt, s.in_port, d, now);
        tlm::tlm_generic_payload& gp = *out_gp_[d];
        LinkExt* e = nullptr;
        gp.get_extension(e);
        e->kind = LinkExt::kPacket;
        e->pkt = &s.pkt;
        tlm::tlm_phase ph = tlm::BEGIN_REQ;
        sc_time delay = cycles(ser + pc.latency_cycles);
        (*out_isock[d])->nb_transport_fw(gp, ph, delay);  // receiver copies the packet
        if (s.copies_left > 0) {
          --s.copies_left;  // a duplicate follows on the same output
        } else {
          v.erase(v.begin() + best);
          release(idx);
        }
        break;
      }
    }
    if (wq[0].empty() && wq[1].empty()) continue;
    if (out_free_[d] > now) {
      consider(out_free_[d]);
    } else {
      // Output free: wake at the next ready time (packets ready but without
      // credit wait for the credit, which notifies arb_ev_).
      for (int c = 0; c < 2; ++c)
        for (uint32_t idx : wq[c])
          if (slots_[idx].ready > now) consider(slots_[idx].ready);
    }
  }
  if (have_next) arb_ev_.notify(next - now);
}

}  // namespace cmm::tlmshell
