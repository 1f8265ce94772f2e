// Monitors room: what the CMMs (deliveries, verdicts), shells and fabric
// (drops) and the fault injector report, packet by packet. Each report is
// checked (I2, no rogue delivery) and charged to the channel whose message
// it concerns (the scoreboard) or to the attack that sent it.
#include <algorithm>

#include "system_impl.h"

namespace {
// A strong NACK with an all-zero tag answers a strong DATA that proved no key
// (strong-mode.md 11.9: unsealed). The sender's CMM refuses it BAD_MAC and
// reports nothing, e.g. a stale reordered copy NACKed NOT_OPEN at an entry
// freed after its message was delivered: never charged to a message.
bool unsealed_strong_nack(const cmm::Header& h) {
  return ((h.aux >> cmm::regs::kStrongAuxBit) & 1u) != 0 &&
         std::all_of(h.key.begin(), h.key.end(), [](uint32_t w) { return w == 0; });
}
}  // namespace

namespace cmm::tb {

void System::on_deliver(size_t node, const Header& h) {
  Node& N = *nodes_[node];
  if (faults_) {
    uint32_t seq = 0;
    if (ChanRt* c = data_of(h, seq); c && c->r.node == node) {
      c->rx_next = static_cast<uint16_t>(h.seq + 1u);
      c->rx_high = std::max<int64_t>(c->rx_high, seq);
    }
  }
  if (AttackRt* a = rogue_of(h.src_node)) ++a->unauthorized;  // no rogue packet may ever be delivered
  if (h.dst_ep >= scen_.geometry.num_endpoints) {
    sb_.unauthorized(fmt::format("node {} endpoint {}: {}", N.spec->name, h.dst_ep, h.str()));
    return;
  }
  const int ci = N.rx_chan[h.dst_ep];
  if (ci < 0) {
    N.early[h.dst_ep].emplace_back(cycle(), h);
    return;
  }
  check_delivery(*chans_[static_cast<size_t>(ci)], h, cycle());
}

void System::check_delivery(ChanRt& c, const Header& h, uint64_t when) {
  // I2, checked independently of the core: the hardware-stamped source is
  // the channel's sender endpoint.
  if (h.src_node != scen_.nodes[c.s.node].id || h.src_part != c.s.part || static_cast<int>(h.src_ep) != c.sep) {
    sb_.unauthorized(fmt::format("{}: delivered from {}.{}.{}, expected {}.{}.{}", c.label, h.src_node, h.src_part,
                                 h.src_ep, scen_.nodes[c.s.node].id, c.s.part, c.sep));
  }
  c.deliver_cycles.push_back(when);
  if (uint32_t seq = 0; c.seq_of(h.tag, seq) && seq < c.times.size()) {
    c.times[seq].delivered = when;
    if (traces_->timeline()) {
      trace_stage(c, seq, c.r.node, proc_name(c.r), when, "receive queue");
      traces_->rx_queue(static_cast<uint32_t>(c.r.node), when, +1);
    }
  }
  // rx_wakeup "poll": the receiver also looks at once. "interrupt": it learns
  // of the message only from its agent's service of the CMM's RX interrupt
  // (kRxPending), as software would.
  if (poll_rx_) c.wake_rx();
}

ChanRt* System::data_of(const Header& h, uint32_t& seq) {
  if (h.opcode != static_cast<uint8_t>(regs::Opcode::kData) || h.src_ep >= scen_.geometry.num_endpoints) return nullptr;
  const int n = node_by_id_[h.src_node];
  if (n < 0) return nullptr;
  const int ci = nodes_[static_cast<size_t>(n)]->tx_chan[h.src_ep];
  if (ci < 0) return nullptr;
  ChanRt* c = chans_[static_cast<size_t>(ci)].get();
  if (h.src_part != c->s.part || !c->seq_of(h.tag, seq) || seq >= c->times.size()) return nullptr;  // forged
  return c;
}

void System::on_egress(size_t node, const tlmshell::Packet& p) {
  window_edge();
  uint32_t seq = 0;
  if (ChanRt* c = data_of(p.hdr, seq); c && c->s.node == node) {
    c->sent_on_wire(p.hdr.seq, seq);
    if (faults_) {
      // The sender CMM's tx_seq and the drag of nack_seq (security.md 1.5).
      c->tx_wire_next = static_cast<uint16_t>(p.hdr.seq + 1u);
      if (static_cast<uint16_t>(c->tx_wire_next - c->nack_seq) > 0x8000u)
        c->nack_seq = static_cast<uint16_t>(c->tx_wire_next - 0x8000u);
    }
    // The first transmission: a resent copy's wait counts as fabric time,
    // so the parts still add up to the latency (created <= egress <= ingress).
    if (!c->times[seq].egress) c->times[seq].egress = cycle();
    trace_stage(*c, seq, node, "fabric out", cycle(), "fabric");
  }
}

void System::on_ingress(size_t node, const tlmshell::Packet& p) {
  window_edge();
  const Header& h = p.hdr;
  uint32_t seq = 0;
  if (ChanRt* c = data_of(h, seq); c && c->r.node == node && c->times[seq].egress) {
    // A copy arriving after delivery (duplicate, resend) is not the one delivered.
    if (!c->times[seq].delivered) c->times[seq].ingress = cycle();
    trace_stage(*c, seq, node, "CMM", cycle(), "CMM pipeline");
    return;
  }
  // NACKs of DATA for one of this node's send endpoints.
  if (!nack_of_data(h) ||
      h.dst_ep >= scen_.geometry.num_endpoints)
    return;
  const int ci = nodes_[node]->tx_chan[h.dst_ep];
  if (ci < 0) return;
  ChanRt& c = *chans_[static_cast<size_t>(ci)];
  // Only the receiver's CMM can send these (the fabric validates source
  // nodes); anything else is a forgery the core refuses, counted there.
  // (The receive endpoint is known here once its agent reported the channel
  // ready; before that, a NACK from the receiver's node and partition is its
  // CMM's: NOT_OPEN while the entry waits for a CONNECT_ACK that was lost.)
  if (h.src_node != scen_.nodes[c.r.node].id || h.src_part != c.r.part ||
      (c.rep >= 0 && static_cast<int>(h.src_ep) != c.rep))
    return;
  const bool unsealed = unsealed_strong_nack(h);
  if (faults_) {
    // A copy of a NACK already judged (duplicated on a link): the sender's
    // CMM refuses it SEQ_OLD and counts nothing.
    NackCopies& nc = nack_copies_[p.id];
    --nc.out;
    const bool copy = nc.arrived;
    nc.arrived = true;
    if (nc.out <= 0) nack_copies_.erase(p.id);  // every copy is accounted for (duplicates are made before arrival)
    if (copy || unsealed) return;
    // A NACK overtaken by a later one (reordered, delayed) is no longer
    // fresh: the sender's CMM refuses it SEQ_OLD (security.md 1.5), so what
    // it reports reaches the sender's agent never; it counts as lost on the way.
    const uint8_t why = h.reason % regs::kReasonCount;
    if (why != static_cast<uint8_t>(regs::Reason::kSeqOld)) {
      if (static_cast<uint16_t>(h.seq - c.nack_seq) < static_cast<uint16_t>(c.tx_wire_next - c.nack_seq)) {
        c.nack_seq = static_cast<uint16_t>(h.seq + 1u);
      } else {
        ++stale_nacks_;
        nack_lost(c, h, p.id, false);
        return;
      }
    }
  } else if (unsealed) {
    return;
  }
  // NACK of DATA: seq = the DATA's wire seq; tag = its tag, or for SEQ_GAP
  // the number of missing messages (decisions.md, core 17:08).
  if (c.seq_of_wire(h.seq, seq)) {
    const uint8_t why = h.reason % regs::kReasonCount;
    sb_.nack(c.idx, seq, why, why == static_cast<uint8_t>(regs::Reason::kSeqGap) ? h.tag : 0u);
    // One of its messages refused: the NACK ends its span (a SEQ_GAP NACK
    // names a delivered message).
    if (traces_->timeline() && seq < c.times.size() && !c.times[seq].delivered &&
        why != static_cast<uint8_t>(regs::Reason::kSeqGap) && why != static_cast<uint8_t>(regs::Reason::kSeqOld)) {
      const std::string how = "NACK " + std::string(regs::reason_name(why));
      trace_end(c, seq, cycle(), how.c_str());
    }
  } else if (!c.open_ended) {
    // A tag this sender never used: someone spoofed its ids (a legitimate
    // message is never refused for its key).
    ++c.reflected;
    sb_.nacks_reflected(c.idx, 1);
  }
  c.wake_rx();
}

// A verdict against a packet (C++ cores): the attack whose rogue node sent
// it gets the reason (the fabric guarantees src_node names the sender).
void System::on_reject(size_t node, regs::Reason r, const Header& h) {
  if (AttackRt* a = rogue_of(h.src_node)) ++a->refused[static_cast<uint32_t>(r) % regs::kReasonCount];
  if (!faults_ || r != regs::Reason::kRxqFull) return;
  // A DATA refused RXQ_FULL: the receiver's CMM reports a gap before it to
  // its own agent only (security.md 1.5); the sender hears of this DATA, not
  // of the gap. Those messages are reported lost, as by a NACK lost on the way.
  uint32_t seq = 0;
  ChanRt* c = data_of(h, seq);
  if (!c || c->r.node != node) return;
  const uint16_t d = static_cast<uint16_t>(h.seq - c->rx_next);
  if (d != 0 && d < 0x8000u) sb_.nack(c->idx, seq, static_cast<uint8_t>(regs::Reason::kSeqGap), d, true);
  c->rx_next = static_cast<uint16_t>(h.seq + 1u);
  c->rx_high = std::max<int64_t>(c->rx_high, seq);
  c->wake_rx();
}

// A packet dropped by the fabric (port given) or a receiving shell, counted
// there with `why`. Charged to the attack that sent it (by port at a rogue's
// input: spoofed ids; by src_node elsewhere), or to the rogue it was going
// to (HOL_TIMEOUT at its port); a legitimate DATA becomes a reported loss of
// its channel, a dropped NACK of DATA reports its losses the same way.
void System::on_drop(const tlmshell::Packet& p, regs::Reason why, const uint32_t* fabric_port) {
  if (const Header* orig = corrupted_original(p)) {
    // Dropped because an injected fault corrupted it (edge check, CRC): the
    // loss is the fault's, judged by the packet as it was sent.
    if (fabric_port) fault_port_drops_[*fabric_port].add(why);
    fault_loss(p, *orig);
    return;
  }
  const Header& h = p.hdr;
  const auto w = static_cast<uint32_t>(why) % regs::kReasonCount;
  AttackRt* at_port = fabric_port && *fabric_port < rogue_by_port_.size() ? rogue_by_port_[*fabric_port] : nullptr;
  if (at_port && why == regs::Reason::kHolTimeout && rogue_of(h.src_node) != at_port) {
    ++at_port->dropped_toward;
    return;
  }
  if (at_port) {
    ++at_port->refused[w];
    return;
  }
  if (AttackRt* a = rogue_of(h.src_node)) {
    ++a->refused[w];
    return;
  }
  uint32_t seq = 0;
  if (ChanRt* c = data_of(h, seq)) {
    // A reliable sender's CMM resends it (docs/strong-mode.md 6): still in
    // flight until delivered or reported RETX_EXHAUSTED, not a loss here.
    if (!retransmitted_by_sender(*c)) sb_.dropped(c->idx, seq, static_cast<uint8_t>(w));
    c->wake_rx();
    return;
  }
  if (nack_of_data(h) &&
      h.dst_ep < scen_.geometry.num_endpoints && node_by_id_[h.dst_node] >= 0) {
    const int ci = nodes_[static_cast<size_t>(node_by_id_[h.dst_node])]->tx_chan[h.dst_ep];
    if (ci >= 0) {
      ChanRt& c = *chans_[static_cast<size_t>(ci)];
      if (h.src_node == scen_.nodes[c.r.node].id && h.src_part == c.r.part && static_cast<int>(h.src_ep) == c.rep &&
          c.seq_of_wire(h.seq, seq)) {
        nack_lost(c, h, p.id);
        return;
      }
    }
  }
  ++legit_control_drops_[fmt::format("{}_{}", regs::opcode_name(h.opcode % regs::kOpcodeCount), regs::reason_name(w))];
}

// Reliable delivery runs in strong C++ cores (the RTL core has none).
bool System::retransmitted_by_sender(const ChanRt& c) const {
  return scen_.security_mode == "strong" && scen_.reliable && scen_.core_of(scen_.nodes[c.s.node]) != "rtl";
}

// A NACK of DATA of channel c that never reached (or was refused by) the
// sender's CMM: the losses it reports count as dropped with a reason (the
// receiver's CMM counted and logged them).
void System::nack_lost(ChanRt& c, const Header& h, uint64_t id, bool dedupe) {
  if (faults_ && dedupe) {
    // Lost only when no copy of it reached or can still reach the sender's CMM.
    NackCopies& nc = nack_copies_[id];
    --nc.out;
    const bool judged = nc.arrived, more = nc.out > 0;
    if (!more) nack_copies_.erase(id);
    if (judged || more) return;
  }
  uint32_t seq = 0;
  if (!unsealed_strong_nack(h) && c.seq_of_wire(h.seq, seq)) {
    const uint8_t r = h.reason % regs::kReasonCount;
    sb_.nack(c.idx, seq, r, r == static_cast<uint8_t>(regs::Reason::kSeqGap) ? h.tag : 0u, true);
  }
  c.wake_rx();
}

void System::on_fault(tlmshell::FaultKind k, uint32_t, const tlmshell::Packet& before, const tlmshell::Packet*) {
  const Header* orig = corrupted_original(before);
  const Header& h = orig ? *orig : before.hdr;
  if (k == tlmshell::FaultKind::kDuplicate && nack_of_data(h))
    ++nack_copies_[before.id].out;
  if (k == tlmshell::FaultKind::kDrop) fault_loss(before, orig ? *orig : before.hdr);
  else if (k == tlmshell::FaultKind::kCorrupt && before.id) corrupted_.emplace(before.id, orig ? *orig : before.hdr);
}

void System::fault_loss(const tlmshell::Packet& p, const Header& h) {
  uint32_t seq = 0;
  if (ChanRt* c = data_of(h, seq)) {
    // Lost in the fabric: the CMMs must report it (a SEQ_GAP at the next
    // message), unless no later message ever reaches the receiver (a tail).
    if (c->fault_lost.insert(seq).second) ++c->fault_hit;
    c->wake_rx();
    return;
  }
  if (nack_of_data(h) &&
      h.dst_ep < scen_.geometry.num_endpoints && node_by_id_[h.dst_node] >= 0) {
    const int ci = nodes_[static_cast<size_t>(node_by_id_[h.dst_node])]->tx_chan[h.dst_ep];
    if (ci >= 0) {
      ChanRt& c = *chans_[static_cast<size_t>(ci)];
      if (h.src_node == scen_.nodes[c.r.node].id && h.src_part == c.r.part && static_cast<int>(h.src_ep) == c.rep) {
        nack_lost(c, h, p.id);
        return;
      }
    }
  }
  ++legit_control_drops_[fmt::format("{}_FAULT", regs::opcode_name(h.opcode % regs::kOpcodeCount))];
}

// Messages of c an injected fault destroyed whose loss nobody reported yet.
uint32_t System::fault_pending(const ChanRt& c) {
  uint32_t n = 0;
  for (uint32_t seq : c.fault_lost) n += sb_.finished(c.idx, seq) ? 0 : 1;
  return n;
}

// How long a receiver whose only missing messages were destroyed by faults
// waits for the reports still on their way (a NACK delayed, reordered or
// stalled), before it takes them as a tail nobody can report.
uint64_t System::fault_settle_cycles() const {
  const auto& F = *opt_.faults;
  return uint64_t{F.delay_cycles} + F.stall_cycles + uint64_t{F.reorder_window} * 64 + 4ull * scen_.hol_lifetime_cycles +
         20'000;
}

// After the run: a destroyed message still unreported is a tail loss (the
// plain scheme cannot report it: no later message of its channel reached the
// receiver's CMM) when no later message did; otherwise it stays a silent loss.
void System::fault_tail_classify() {
  for (auto& ch : chans_) {
    ChanRt& c = *ch;
    for (uint32_t seq : c.fault_lost) {
      if (sb_.finished(c.idx, seq) || int64_t{seq} <= c.rx_high) continue;
      sb_.tail_lost(c.idx, seq);
      ++c.fault_tail;
    }
  }
}

// The drop hooks saw every drop the fabric and the shells counted; a node's
// own port never drops a spoofed or malformed packet of its CMM.
void System::check_drops() {
  const tlmshell::DropCount total = fabric_->drops();
  if (fabric_drops_seen_ != total.total())
    errors_.push_back(fmt::format("fabric: {} drops counted, {} reported packet by packet", total.total(),
                                  fabric_drops_seen_));
  for (const auto& node : nodes_) {
    tlmshell::DropCount d = fabric_->port_drops(static_cast<uint32_t>(node->idx));
    if (auto it = fault_port_drops_.find(static_cast<uint32_t>(node->idx)); it != fault_port_drops_.end()) {
      d.src_spoofed -= std::min(d.src_spoofed, it->second.src_spoofed);  // corrupted by an injected fault
      d.bad_len -= std::min(d.bad_len, it->second.bad_len);
    }
    if (d.src_spoofed || d.bad_len)
      errors_.push_back(fmt::format("fabric: the port of node {} dropped {} SRC_SPOOFED and {} BAD_LEN packets of its "
                                    "CMM", node->spec->name, d.src_spoofed, d.bad_len));
    if (node->shell_drops_seen != node->cmm->stats().drops.total())
      errors_.push_back(fmt::format("node {}: the shell counted {} drops, reported {} packet by packet",
                                    node->spec->name, node->cmm->stats().drops.total(), node->shell_drops_seen));
  }
}

}  // namespace cmm::tb
