// OS/agent/process model room: what the software of each partition does. A
// kernel-agent thread per partition (cmm::sw::KernelAgent over the
// partition's kernel context: init, id exchange, interrupt service, close),
// a sender and a receiver thread per channel (cmm::sw::Endpoint over the
// owning process's user context), a source thread per generated-traffic
// terminal. Events the agents report are matched to the scenario's channels.
#include "system_impl.h"

#include <algorithm>

#include "cmm_strong_keys.h"

namespace cmm::tb {

// ---- kernel agents -------------------------------------------------------

void System::agent_thread(Part& p) {
  KernelAgent& a = *p.agent;
  const NodeSpec& N = *p.node->spec;
  // No heap-owning locals in thread bodies: a thread still blocked when the
  // simulation ends is never unwound.
  auto who = [&] { return fmt::format("agent of partition {} (node {})", N.partitions[p.idx].name, N.name); };
  // Strong mode: the first agent of the node provisions the link keys (one
  // per node of the system, its own included) through the board-management
  // port before any agent of the node speaks; the others wait.
  Node& node = *p.node;
  if (!node.provisioned && !node.provisioning) {
    node.provisioning = true;
    for (const auto& M : scen_.nodes)
      if (tlmshell::provision_link_key(*node.fw, M.id, link_key_for(opt_.seed, N.id, M.id)) != sw::BusStatus::kOk)
        error(fmt::format("node {}: provisioning the link key for node {} failed", N.name, M.name));
    node.provisioned = true;
    node.provisioned_ev.notify(SC_ZERO_TIME);
  }
  while (!node.provisioned) wait(node.provisioned_ev);
  if (Status st = a.init(); !st.ok()) {
    error(who() + ": init failed: " + st.str());
    return;
  }
  // Receiver side starts the id exchange for each of its channels (DESIGN step 1).
  for (auto& ch : chans_) {
    ChanRt& c = *ch;
    if (c.r.node != p.node->idx || c.r.part != p.idx) continue;
    sw::ChannelRequest rq;
    rq.sender_node = scen_.nodes[c.s.node].id;
    rq.sender_part = static_cast<uint8_t>(c.s.part);
    rq.sender_pid = pid_of(c.s);
    rq.recv_pid = pid_of(c.r);
    if (scen_.security_mode == "strong") rq.mode = regs::Mode::kStrong;
    c.request_cycle = cycle();
    if (Status st = a.request_channel(rq, c.req_id); !st.ok()) {
      c.failed = true;
      c.failure = "request_channel: " + st.str();
      error(c.label + ": " + c.failure);
      c.ready_ev.notify(SC_ZERO_TIME);
      progress();
    }
  }
  bool closed_mine = false;
  for (;;) {
    if (Status st = a.poll(); !st.ok()) error(who() + ": poll: " + st.str());
    Event ev;
    while (a.next_event(ev)) handle(p, ev);
    // rekey_interval_messages: a new key for each of our channels that read N more (strong-mode.md 7).
    // (Scanned only while one of ours is due: every channel of the system otherwise, per wake-up.)
    // No rekey once closing (the due ones stay counted: the scan stops, not just each entry).
    for (size_t i = 0; p.rekeys_due && !closing_ && i < chans_.size(); ++i) {
      ChanRt& c = *chans_[i];
      if (!c.rekey_due || c.r.node != p.node->idx || c.r.part != p.idx || c.rep < 0) continue;
      c.rekey_due = false;
      --p.rekeys_due;
      if (Status st = a.rekey_channel(static_cast<uint16_t>(c.rep)); !st.ok()) {
        ++p.rekey_refused;
        error(c.label + ": rekey: " + st.str());
      }
    }
    if (closing_ && !closed_mine) {
      // DESIGN step 7: the receiver side closes its channels (keys zeroized,
      // the peer told), then frees the entries.
      closed_mine = true;
      for (auto& ch : chans_) {
        ChanRt& c = *ch;
        if (c.r.node != p.node->idx || c.r.part != p.idx || c.rep < 0) continue;
        const auto ep = static_cast<uint16_t>(c.rep);
        if (Status st = a.close(ep); !st.ok()) error(c.label + ": close: " + st.str());
        if (Status st = a.free_endpoint(ep); !st.ok()) error(c.label + ": free: " + st.str());
        c.closed_recv = true;
        p.node->rx_chan[ep] = -1;
        progress();
      }
    }
    if (finished_) return;
    if (p.node->cmm->irq_level(static_cast<uint32_t>(p.idx))) continue;
    // Sleep until an interrupt, the control thread, or the agent's next timer
    // (CONNECT re-send, request and grant expiry).
    const uint64_t due = a.next_deadline(), now = cycle();
    if (due != KernelAgent::kNever && due <= now) continue;
    if (due != p.timer_at) {
      p.timer.cancel();
      p.timer_at = due;
      if (due != KernelAgent::kNever) p.timer.notify(period_ * static_cast<double>(due - now));
    }
    wait(p.node->cmm->irq_rise_event(static_cast<uint32_t>(p.idx)) | p.wake | p.timer);
    if (p.timer_at != KernelAgent::kNever && cycle() >= p.timer_at) p.timer_at = UINT64_MAX;  // fired
  }
}

void System::handle(Part& p, const Event& ev) {
  auto find = [&](auto pred) -> ChanRt* {
    for (auto& ch : chans_)
      if (pred(*ch)) return ch.get();
    return nullptr;
  };
  switch (ev.kind) {
    case Event::Kind::kChannelReady:
    case Event::Kind::kChannelFailed: {
      ChanRt* c = find([&](const ChanRt& c) {
        return c.r.node == p.node->idx && c.r.part == p.idx && c.req_id == ev.req_id;
      });
      if (!c) {
        error(fmt::format("node {}: {} for no channel of the scenario", p.node->spec->name, ev.str()));
        return;
      }
      if (ev.kind == Event::Kind::kChannelFailed) {
        c->failed = true;
        c->failure = ev.str();
        error(c->label + ": set-up failed: " + ev.str());
      } else {
        c->rep = ev.ep;
        c->recv_ready = true;
        p.node->rx_chan[ev.ep] = static_cast<int>(c->idx);
        for (const auto& [when, h] : p.node->early[ev.ep]) check_delivery(*c, h, when);
        p.node->early[ev.ep].clear();
        if (c->send_ready) c->open_cycle = cycle();
      }
      c->ready_ev.notify(SC_ZERO_TIME);
      progress();
      return;
    }
    case Event::Kind::kSendReady: {
      ChanRt* c = find([&](const ChanRt& c) {
        return c.s.node == p.node->idx && c.s.part == p.idx && c.req_id == ev.req_id &&
               scen_.nodes[c.r.node].id == ev.peer.node && c.r.part == ev.peer.part;
      });
      if (!c) {
        error(fmt::format("node {}: {} for no channel of the scenario", p.node->spec->name, ev.str()));
        return;
      }
      c->sep = ev.ep;
      c->send_ready = true;
      p.node->tx_chan[ev.ep] = static_cast<int>(c->idx);
      if (c->recv_ready) c->open_cycle = cycle();
      c->ready_ev.notify(SC_ZERO_TIME);
      progress();
      return;
    }
    case Event::Kind::kChannelRefused:
      // A rogue node's CHAN_REQ refused by the OS policy: its attack's tally.
      if (AttackRt* a = rogue_of(ev.peer.node)) {
        ++a->agent_refused[static_cast<size_t>(ev.agent_reason)];
        return;
      }
      error(fmt::format("node {}: agent refused a channel request: {}", p.node->spec->name, ev.str()));
      return;
    case Event::Kind::kRequestCancelled:
      error(fmt::format("node {}: request cancelled by the peer: {}", p.node->spec->name, ev.str()));
      return;
    case Event::Kind::kPeerClosed: {
      // Sender side of a channel the receiver closed: free the entry.
      ChanRt* c = find([&](const ChanRt& c) {
        return c.s.node == p.node->idx && c.s.part == p.idx && c.sep == ev.ep;
      });
      if (!c || !closing_) {
        error(fmt::format("node {}: unexpected {}", p.node->spec->name, ev.str()));
        if (!c) return;
      }
      if (Status st = p.agent->free_endpoint(ev.ep); !st.ok()) error(c->label + ": free: " + st.str());
      c->closed_send = true;
      c->close_cycle = cycle();
      progress();
      return;
    }
    case Event::Kind::kTxNacked: {
      ChanRt* c = find([&](const ChanRt& c) {
        return c.s.node == p.node->idx && c.s.part == p.idx && c.sep == ev.ep;
      });
      if (!c) {
        error(fmt::format("node {}: {} on an endpoint of no channel", p.node->spec->name, ev.str()));
        return;
      }
      // The library's count; each NACK's reason and tag were seen at the
      // sender's CMM (on_ingress) and classified there.
      c->nacked += ev.count;
      sb_.nacks_reported(c->idx, ev.count, static_cast<uint8_t>(ev.reason));
      c->wake_rx();
      progress();
      return;
    }
    case Event::Kind::kRxPending: {
      const int ci = p.node->rx_chan[ev.ep];
      if (ci >= 0) chans_[static_cast<size_t>(ci)]->wake_rx();
      return;
    }
    case Event::Kind::kErrorLogged:
      ++p.errors_logged;
      p.error_events += std::max<uint32_t>(1, ev.count);  // 1 + coalesced repeats
      // A SEQ_GAP NACK at a send entry: the library learns it from the log.
      if (ev.error.reason == regs::Reason::kSeqGap && ev.error.from_fabric &&
          ev.error.opcode == static_cast<uint8_t>(regs::Opcode::kNack) && ev.error.ep < scen_.geometry.num_endpoints)
        if (const int ci = p.node->tx_chan[ev.error.ep]; ci >= 0 && chans_[static_cast<size_t>(ci)]->s.part == p.idx) {
          // The log coalesces repeats by (reason, source node), not by
          // endpoint: the repeats of one entry may be SEQ_GAPs of other send
          // entries of this partition whose receivers sit on the same node.
          // Each goes to a channel with a SEQ_GAP its library has not seen
          // yet, the entry's own first (totals exact, per channel too).
          uint32_t n = std::max<uint32_t>(1, ev.count);
          auto take = [&](ChanRt& ch, bool all) {
            const auto& cs = sb_.channels().at(ch.idx);
            const uint32_t due = cs.nacks_seq_gap > cs.gaps_logged ? cs.nacks_seq_gap - cs.gaps_logged : 0;
            const uint32_t k = all ? n : std::min(n, due);
            if (!k) return;
            sb_.gaps_reported(ch.idx, k);
            n -= k;
            ch.wake_rx();
          };
          ChanRt& own = *chans_[static_cast<size_t>(ci)];
          take(own, false);
          for (auto& ch : chans_)
            if (n && ch.get() != &own && ch->s.node == p.node->idx && ch->s.part == p.idx &&
                scen_.nodes[ch->r.node].id == ev.error.src_node)
              take(*ch, false);
          if (n) take(own, true);
        }
      if (p.error_lines.size() < 16) p.error_lines.push_back(ev.str());
      return;
    case Event::Kind::kErrorsLost:
      p.errors_lost += ev.count;
      // SEQ_GAP entries of this partition's send channels may be among them.
      for (auto& ch : chans_)
        if (ch->s.node == p.node->idx && ch->s.part == p.idx) sb_.gap_log_lossy(ch->idx);
      return;
    case Event::Kind::kException:
      p.exceptions += ev.count;  // from EXC_COUNT: never lost, unlike log entries
      return;
    case Event::Kind::kAlarm:
      p.alarms += ev.count;
      return;
    case Event::Kind::kMgmtIgnored:
    case Event::Kind::kMgmtOther:
      ++p.mgmt_ignored;
      if (AttackRt* a = rogue_of(ev.mgmt.src_node)) {
        if (ev.kind == Event::Kind::kMgmtOther && ev.agent_reason == sw::AgentReason::kNone) ++a->mgmt_other;
        else ++a->agent_refused[static_cast<size_t>(ev.agent_reason)];
      }
      return;
  }
}

// ---- user processes ------------------------------------------------------

void System::sender_thread(ChanRt& c, CpuBusIf& ctx) {
  while (!c.send_ready && !c.failed) wait(c.ready_ev);
  if (c.failed) return;
  sw::Endpoint ep(ctx, static_cast<uint16_t>(c.sep), scen_.geometry.num_endpoints);
  std::mt19937_64 rng(seed::combine(opt_.seed, 0x5E4D0000ull + c.idx));
  // The traffic library's draws: the same numbers with every standard library.
  const double rate = 1.0 / std::max<uint32_t>(1, c.spec->mean_gap_cycles);
  std::array<uint8_t, regs::kMaxMsgBytes> buf{};
  for (uint32_t seq = 0; seq < c.spec->messages; ++seq) {
    const auto g = static_cast<uint64_t>(exponential(rng, rate));
    if (g) wait(period_ * static_cast<double>(g));
    const uint32_t len =
        c.spec->min_bytes + static_cast<uint32_t>(uniform_below(rng, c.spec->max_bytes - c.spec->min_bytes + 1));
    c.times[seq].bytes = len;
    send_one(c, ep, seq, len, cycle(), buf);
  }
  c.sender_done = true;
  c.wake_rx();
  progress();
}

void System::send_one(ChanRt& c, sw::Endpoint& ep, uint32_t seq, uint32_t len, uint64_t created,
                      std::array<uint8_t, regs::kMaxMsgBytes>& buf) {
  make_payload(opt_.seed, c.idx, seq, buf.data(), len);
  c.times[seq].created = created;
  if (traces_->timeline()) {
    const auto node = static_cast<uint32_t>(c.s.node);
    traces_->begin_message(msg_id(c, seq), node, proc_name(c.s), created, "DATA " + c.label, seq, len);
    traces_->stage(msg_id(c, seq), node, proc_name(c.s), created, "source");
    c.times[seq].traced = true;
  }
  Status st = ep.send(buf.data(), len, static_cast<uint16_t>(seq));
  // Reliable delivery (strong mode): a full TX window is no loss; it frees
  // as ACKs arrive. Bounded: a window that never frees ends RETX_EXHAUSTED,
  // the entry closes and the next attempt is refused NOT_OPEN.
  // Rekey (strong-mode.md 7): a key at its hard limit frees when the receiver's
  // agent rekeys (forced at the soft limit); bounded, then refused at the source.
  for (uint32_t tries = 0;
       st.result == Result::kRejected &&
       (st.reason == regs::Reason::kTxWindowFull || (st.reason == regs::Reason::kKeyExhausted && tries < 4096));
       ++tries) {
    wait(period_ * 16.0);  // about one round trip
    st = ep.send(buf.data(), len, static_cast<uint16_t>(seq));
  }
  if (st.ok()) {
    sb_.sent(c.idx, seq, buf.data(), len, created);  // hashes the bytes sent (no second generation)
    ++c.sent;
  } else if (st.result == Result::kRejected) {
    sb_.refused_at_source(c.idx, seq, static_cast<uint8_t>(st.reason));
    ++c.refused;
    trace_end(c, seq, cycle(), "refused at source");
  } else {
    error(fmt::format("{}: send of message {} failed: {}", c.label, seq, st.str()));
  }
}

// One generated-traffic terminal: messages at their ideal cycles (open loop);
// when the endpoint or bus holds it back, later messages go out late but keep
// their creation time, so the wait counts in their latency.
void System::source_thread(uint32_t term, CpuBusIf& ctx) {
  while (!traffic_started_) wait(traffic_start_ev_);
  TerminalSource src = traffic_->source(term);
  std::array<uint8_t, regs::kMaxMsgBytes> buf{};
  static const std::vector<std::pair<uint32_t, ChanRt*>> kNone;
  const auto& mine = term < term_chan_.size() ? term_chan_[term] : kNone;  // sorted by destination
  while (auto m = src.next()) {
    const uint64_t due = t0_ + m->cycle;
    if (due >= measure_end_) break;
    if (cycle() < due) wait(period_ * static_cast<double>(due - cycle()));
    auto it = std::lower_bound(mine.begin(), mine.end(), m->dst,
                               [](const std::pair<uint32_t, ChanRt*>& e, uint32_t d) { return e.first < d; });
    if (it == mine.end() || it->first != m->dst || it->second->failed || it->second->sep < 0) {
      error(fmt::format("terminal {}: no open channel to terminal {}", term, m->dst));
      break;
    }
    ChanRt& c = *it->second;
    if (c.next_seq == UINT32_MAX) break;
    const uint32_t seq = c.next_seq++;
    sb_.extend(c.idx, c.next_seq);
    c.times.push_back({});
    c.times[seq].bytes = m->bytes;
    sw::Endpoint ep(ctx, static_cast<uint16_t>(c.sep), scen_.geometry.num_endpoints);
    send_one(c, ep, seq, m->bytes, due, buf);
  }
  for (const auto& [dst, c] : mine) {
    c->sender_done = true;
    c->wake_rx();
  }
  progress();
}

void System::receiver_thread(ChanRt& c, CpuBusIf& ctx) {
  while (!c.recv_ready && !c.failed) wait(c.ready_ev);
  if (c.failed) return;
  sw::Endpoint ep(ctx, static_cast<uint16_t>(c.rep), scen_.geometry.num_endpoints);
  std::array<uint8_t, regs::kMaxMsgBytes> buf{};
  const sc_time poll = period_ * static_cast<double>(scen_.rx_poll_cycles);
  uint64_t library_wait_from = 0;
  for (;;) {
    c.rx_flag = false;  // a wake-up from here on makes us read again
    sw::RxInfo info;
    const Status st = ep.receive(buf.data(), buf.size(), info);
    if (st.ok()) {
      uint64_t when = cycle();
      if (!c.deliver_cycles.empty()) {
        when = c.deliver_cycles.front();
        c.deliver_cycles.pop_front();
      } else {
        error(c.label + ": message read that the CMM never delivered");
      }
      uint32_t seq = 0;
      if (c.seq_of(info.tag, seq)) {
        sb_.delivered(c.idx, seq, buf.data(), info.len, when);
        if (seq < c.times.size()) {
          c.times[seq].read = cycle();
          trace_end(c, seq, cycle(), "read");
          traces_->rx_queue(static_cast<uint32_t>(c.r.node), cycle(), -1);
          c.times.retire(seq);
        }
      } else {
        sb_.unauthorized(fmt::format("{}: read a message with tag {} that was never sent", c.label, info.tag));
      }
      ++c.received;  // no progress() per message: the control thread waits for receiver_done
      if (scen_.rekey_interval_messages && scen_.security_mode == "strong" &&
          c.received % scen_.rekey_interval_messages == 0) {
        if (!c.rekey_due) ++part_of(c.r).rekeys_due;
        c.rekey_due = true;
        part_of(c.r).wake.notify(SC_ZERO_TIME);
      }
      if (c.spec->rx_service_cycles) wait(period_ * static_cast<double>(c.spec->rx_service_cycles));
      // Interrupt-driven: the status read said this was the last queued
      // message; a later one raises RX again (rx_flag), so no read is spent
      // to find the queue empty.
      if (poll_rx_ || info.remaining > 0) continue;
    } else if (st.result != Result::kEmpty) {
      error(fmt::format("{}: receive failed: {}", c.label, st.str()));
      wait(poll);
      continue;
    }
    // Done when every sent message was read or reported lost, and the
    // library has seen every NACK that reached the sender's CMM (if it never
    // does, the scoreboard says so after a grace period, not the watchdog).
    // With fault injection, messages a fault destroyed may still be reported
    // (a NACK on its way) or never be (a tail): they count as pending, and
    // the receiver first waits fault_settle_ cycles for their reports.
    const auto& cs = sb_.channels().at(c.idx);
    const uint32_t pend = faults_ && c.sender_done ? fault_pending(c) : 0;
    const uint64_t settle = pend ? fault_settle_ : 0;
    if (c.sender_done && int64_t{c.received} + cs.reported_lost() + pend >= int64_t{c.sent}) {
      if (!pend && cs.library_complete()) break;
      if (!library_wait_from) library_wait_from = cycle();
      const uint64_t waited = cycle() - library_wait_from;
      if (waited >= settle && cs.library_complete()) break;
      if (waited > kLibraryGraceCycles + settle) break;
    }
    if (c.rx_flag) continue;
    if (poll_rx_) {
      wait(poll, c.rx_ev);
    } else if (library_wait_from) {
      // Only the grace period is timed; everything else is an event.
      const uint64_t waited = cycle() - library_wait_from;
      const uint64_t until = waited < settle ? settle : kLibraryGraceCycles + settle + 1;
      wait(period_ * static_cast<double>(until - waited), c.rx_ev);
    } else {
      wait(c.rx_ev);
    }
  }
  c.receiver_done = true;
  progress();
}

}  // namespace cmm::tb
