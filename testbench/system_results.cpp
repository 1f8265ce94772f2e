// Results room: the end of a run. Counters read through the register port
// (the same path for C++ and RTL cores), latency accounting of finished
// messages, and the RunResult: per channel, per node, fabric, faults,
// attacks, load; the end-of-run invariant checks append their errors.
#include "system_impl.h"

#include "energy_system.h"

namespace cmm::tb {

void System::read_counters() {
  for (auto& node : nodes_) {
    CpuBusIf& k = *node->parts[0]->stat_ctx;
    bool ok = true;
    for (uint32_t r = 0; r < regs::kReasonCount; ++r)
      ok &= k.read32(regs::CMM_REJECT_COUNT_OFFSET + r * regs::CMM_REJECT_COUNT_STRIDE, node->reject_regs[r]) ==
            sw::BusStatus::kOk;
    for (uint32_t i = 0; i < regs::CMM_STAT_COUNT; ++i)
      ok &= k.read32(regs::CMM_STAT_OFFSET + i * regs::CMM_STAT_STRIDE, node->stat_regs[i]) == sw::BusStatus::kOk;
    for (auto& p : node->parts) {
      uint32_t v = 0;
      ok &= p->stat_ctx->read32(regs::CMM_PART_USED_OFFSET, v) == sw::BusStatus::kOk;
      p->used_at_end = CMM_FIELD_GET(v, CMM_PART_USED_USED);
      // Exception register and reject-rate alarm (docs/security.md 1.6).
      ok &= p->stat_ctx->read32(regs::CMM_EXC_COUNT_OFFSET, v) == sw::BusStatus::kOk;
      p->exc_count_reg = CMM_FIELD_GET(v, CMM_EXC_COUNT_COUNT);
      ok &= p->stat_ctx->read32(regs::CMM_ALARM_COUNT_OFFSET, v) == sw::BusStatus::kOk;
      p->alarm_count_reg = CMM_FIELD_GET(v, CMM_ALARM_COUNT_COUNT);
    }
    if (!ok) error("node " + node->spec->name + ": reading the counters at the end of the run failed");
    node->regs_read = ok;
  }
}

std::string System::stuck_report() const {
  std::string o;
  size_t listed = 0, more = 0;
  for (const auto& c : chans_) {
    if (c->failed || (c->closed_recv && c->closed_send)) continue;
    const bool done = c->recv_ready && c->send_ready && c->sender_done && c->receiver_done;
    if (done && !closing_) continue;
    if (++listed > 16) {
      ++more;
      continue;
    }
    o += fmt::format("{}: {}{}{} rep {} sep {} sent {}/{} received {} nacked {}{}{}; ", c->label,
                     c->recv_ready ? "recv-open " : "recv-not-open ", c->send_ready ? "send-open " : "send-not-open ",
                     c->sender_done ? "sender-done" : "sender-busy", c->rep, c->sep, c->sent, c->spec->messages,
                     c->received, c->nacked, c->closed_recv ? " recv-closed" : "", c->closed_send ? " send-closed" : "");
  }
  if (more) o += fmt::format("and {} more channels", more);
  return o;
}

// Latency and its parts, of messages created in the measurement window
// (generated traffic; static channels: all): creation -> egress (source:
// payload burst, doorbell, egress queue), egress -> ingress accept
// (fabric), ingress accept -> receive queue (CMM pipeline); and the wait
// in the receive queue until the process reads it. Offered and accepted
// load of the window.
void System::account(const ChanRt& c, const ChanRt::Times& t) {
  if (traffic_ && !traffic_started_) return;  // before the window: not measured
  const uint64_t w0 = traffic_ ? measure_start_ : 0, w1 = traffic_ ? measure_end_ : UINT64_MAX;
  if (node_off_.size() < nodes_.size()) {
    node_off_.resize(nodes_.size(), 0);
    node_acc_.resize(nodes_.size(), 0);
  }
  if (t.created >= w0 && t.created < w1 && (t.created || t.bytes)) {
    ++created_msgs_;
    created_bytes_ += t.bytes;
    node_off_[c.s.node] += t.bytes;
    if (t.delivered) done_.latency_cycles.push_back(t.delivered - t.created);
    if (t.delivered && t.egress && t.ingress) {
      done_.part_source.push_back(t.egress - t.created);
      done_.part_fabric.push_back(t.ingress - t.egress);
      done_.part_pipeline.push_back(t.delivered - t.ingress);
      if (t.read >= t.delivered && t.read) done_.part_rx_wait.push_back(t.read - t.delivered);
    }
  }
  if (t.delivered && t.delivered >= w0 && t.delivered < w1) {
    ++accepted_msgs_;
    accepted_bytes_ += t.bytes;
    node_acc_[c.r.node] += t.bytes;
  }
}

nlohmann::json System::fault_stats() {
  nlohmann::json j = nlohmann::json::object();
  const auto tot = faults_->totals();
  nlohmann::json inj = nlohmann::json::object(), links = nlohmann::json::object();
  uint64_t stall_cycles = 0;
  auto name = [](size_t k) { return tlmshell::to_string(static_cast<tlmshell::FaultKind>(k)); };
  for (size_t k = 0; k < tlmshell::kFaultKinds; ++k) inj[name(k)] = tot[k];
  for (const auto& l : faults_->links()) {
    if (!l) continue;
    stall_cycles += l->stats().stall_cycles;
    nlohmann::json per = nlohmann::json::object();
    for (size_t k = 0; k < tlmshell::kFaultKinds; ++k)
      if (l->stats().injected[k]) per[name(k)] = l->stats().injected[k];
    if (!per.empty()) links[link_names_.at(l->index())] = per;
  }
  uint64_t hit = 0, tail = 0, unexplained = 0;
  for (const auto& c : chans_) {
    hit += c->fault_hit;
    tail += c->fault_tail;
    unexplained += sb_.unreported(c->idx);
  }
  j["injected"] = inj;
  j["links"] = links;
  j["stall_cycles"] = stall_cycles;
  j["data_hit"] = hit;
  j["lost_tail"] = tail;
  j["stale_nacks"] = stale_nacks_;
  j["unroutable_explained"] = fault_unroutable_;
  j["unexplained"] = unexplained;
  return j;
}

RunResult System::collect(double wall_seconds) {
  RunResult r;
  traces_->close(r.traces);
  r.scenario = scen_.name;
  r.seed = opt_.seed;
  r.clock_ghz = scen_.clock_ghz;
  r.channels_requested = static_cast<uint32_t>(chans_.size());
  r.simulated_cycles = finished_ ? end_cycle_ : cycle();
  r.wall_seconds = wall_seconds;
  r.connect_storm_cycles = storm_done_cycle_;
  r.interrupted = interrupted_;
  r.timeseries = timeseries_;
  if (!finished_ && !interrupted_ && !drain_failed_) {
    errors_.push_back(fmt::format("watchdog: not finished after {} cycles; stuck: {}", cycle(), stuck_report()));
  }
  if (faults_) fault_tail_classify();
  channel_results(r);
  node_results(r);
  r.fabric = fabric_->stats(r.simulated_cycles, legit_control_drops_, fault_unroutable_, errors_);
  check_drops();
  if (faults_) r.fabric["faults"] = fault_stats();
  {
    // Energy per component over the whole run (docs/energy.md).
    const EnergyParams ep = scen_.energy;
    const EnergyEvents ev = gather_energy_events(scen_, *fabric_, nodes_, r.simulated_cycles);
    r.energy = energy_json(ep, ev, compute_energy(ep, ev));
  }
  {
    tlmshell::DropCount all = fabric_->drops();
    for (const auto& node : nodes_) {
      const tlmshell::DropCount& d = node->cmm->stats().drops;
      all.bad_crc += d.bad_crc;
      all.bad_len += d.bad_len;
      all.src_spoofed += d.src_spoofed;
      all.hol_timeout += d.hol_timeout;
    }
    const nlohmann::json dj = drops_json(all);
    for (auto it = dj.begin(); it != dj.end(); ++it) r.drops_by_reason[it.key()] = it.value().get<uint64_t>();
  }
  attack_results(r);
  // Latency and its parts, of messages created in the measurement window
  // (generated traffic; static channels: all): creation -> egress (source:
  // payload burst, doorbell, egress queue), egress -> ingress accept
  // (fabric), ingress accept -> receive queue (CMM pipeline); and the wait
  // in the receive queue until the process reads it.
  for (const auto& ch : chans_) ch->times.flush();  // the unfinished ones too
  r.latency_cycles = done_.latency_cycles;
  r.part_source = done_.part_source;
  r.part_fabric = done_.part_fabric;
  r.part_pipeline = done_.part_pipeline;
  r.part_rx_wait = done_.part_rx_wait;
  const uint64_t created_msgs = created_msgs_, created_bytes = created_bytes_, accepted_msgs = accepted_msgs_,
                 accepted_bytes = accepted_bytes_;
  if (traffic_) {
    // Per node: bytes its processes created (offered) and received (accepted) in the window.
    std::vector<uint64_t> node_off = node_off_, node_acc = node_acc_, node_terms(nodes_.size(), 0);
    node_off.resize(nodes_.size(), 0);
    node_acc.resize(nodes_.size(), 0);
    for (const auto& l : terms_) ++node_terms[l.node];
    for (size_t n = 0; n < nodes_.size(); ++n) {
      const double d = static_cast<double>(scen_.measure_cycles);
      r.per_node[n]["offered_bytes_per_cycle"] = static_cast<double>(node_off[n]) / d;
      r.per_node[n]["accepted_bytes_per_cycle"] = static_cast<double>(node_acc[n]) / d;
      r.per_node[n]["terminals"] = node_terms[n];
    }
    const double denom = static_cast<double>(scen_.measure_cycles) * static_cast<double>(terms_.size());
    r.load = {{"terminals", terms_.size()},
              {"warmup_cycles", scen_.warmup_cycles},
              {"measure_cycles", scen_.measure_cycles},
              {"traffic_start_cycle", t0_},
              {"configured_rate_msgs", traffic_->rate()},
              {"offered_msgs", static_cast<double>(created_msgs) / denom},
              {"offered_bytes", static_cast<double>(created_bytes) / denom},
              {"accepted_msgs", static_cast<double>(accepted_msgs) / denom},
              {"accepted_bytes", static_cast<double>(accepted_bytes) / denom}};
  }

  r.errors = errors_;
  sb_.finish(r.errors);
  r.scoreboard_clean = r.errors.empty();
  return r;
}

// Per channel: totals into r, a row for the summary, the statistics object.
void System::channel_results(RunResult& r) {
  for (const auto& ch : chans_) {
    const ChanRt& c = *ch;
    if (c.recv_ready && c.send_ready) ++r.channels_opened;
    r.messages_sent += c.sent;
    r.messages_delivered += c.received;
    r.messages_refused_at_source += c.refused;
    r.nacks_reported += c.nacked;
    const auto& cs = sb_.channels().at(c.idx);
    ChannelRow row;
    row.label = c.label;
    row.receiver = fmt::format("node {} partition {} ep {}", scen_.nodes[c.r.node].name,
                               scen_.nodes[c.r.node].partitions[c.r.part].name, c.rep);
    row.sender = fmt::format("node {} partition {} ep {}", scen_.nodes[c.s.node].name,
                             scen_.nodes[c.s.node].partitions[c.s.part].name, c.sep);
    row.opened = c.recv_ready && c.send_ready;
    row.closed = c.closed_recv && c.closed_send;
    row.open_cycle = c.open_cycle;
    row.setup_cycles = c.open_cycle >= c.request_cycle ? c.open_cycle - c.request_cycle : 0;
    row.expected = cs.expected;
    row.sent = cs.sent;
    row.delivered = cs.delivered;
    row.refused = cs.refused_at_source;
    row.nacked = cs.nacked;
    r.channels.push_back(row);
    r.per_channel.push_back({{"channel", c.label},
                             {"receiver", row.receiver},
                             {"sender", row.sender},
                             {"opened", row.opened},
                             {"closed", row.closed},
                             {"open_cycle", c.open_cycle},
                             {"setup_cycles", row.setup_cycles},
                             {"expected", cs.expected},
                             {"sent", cs.sent},
                             {"delivered", cs.delivered},
                             {"refused_at_source", cs.refused_at_source},
                             {"nacked", cs.nacked},
                             {"nacked_lost", cs.nacked_lost},
                             {"nacks_seq_gap", cs.nacks_seq_gap},
                             {"gap_lost", cs.gap_lost},
                             {"nacks_seq_old", cs.nacks_seq_old},
                             {"fabric_dropped", cs.fabric_dropped},
                             {"reported_lost", cs.reported_lost()}});
    if (cs.gap_renacked) r.per_channel.back()["gap_renacked"] = cs.gap_renacked;
    if (faults_) r.per_channel.back()["fault_tail_lost"] = cs.tail_lost;
  }
}

// Per node: the CMM's counters (registers), its shell and port drops, its
// partitions' agents; the end-of-run checks of each node.
void System::node_results(RunResult& r) {
  for (const auto& node : nodes_) {
    const CmmTlm& m = *node->cmm;
    // Counters as software sees them (registers) when the run finished;
    // after a watchdog stop, the C++ core's own view (RTL: none).
    std::array<uint32_t, regs::kReasonCount> rejects{};
    std::array<uint32_t, regs::CMM_STAT_COUNT> stats{};
    if (node->regs_read) {
      rejects = node->reject_regs;
      stats = node->stat_regs;
    } else if (m.has_cpp_core()) {
      for (uint32_t i = 0; i < regs::kReasonCount; ++i) rejects[i] = m.core().reject_count(static_cast<regs::Reason>(i));
      for (uint32_t i = 0; i < regs::CMM_STAT_COUNT; ++i) stats[i] = m.core().stat(i);
    }
    nlohmann::json rej = nlohmann::json::object();
    for (uint32_t i = 1; i < regs::kReasonCount; ++i) {
      if (!rejects[i]) continue;
      rej[std::string(regs::reason_name(i))] = rejects[i];
      r.rejects_by_reason[std::string(regs::reason_name(i))] += rejects[i];
    }
    nlohmann::json parts = nlohmann::json::array();
    uint32_t used = 0;
    for (const auto& p : node->parts) {
      const sw::AgentStats& as = p->agent->stats();
      nlohmann::json agent_refused = nlohmann::json::object();
      for (size_t i = 1; i < as.refused.size(); ++i)
        if (as.refused[i]) agent_refused[std::string(sw::to_string(static_cast<sw::AgentReason>(i)))] = as.refused[i];
      parts.push_back({{"partition", node->spec->partitions[p->idx].name},
                       {"errors_logged", p->errors_logged},
                       {"error_events", p->error_events},
                       {"exceptions", p->exceptions},
                       {"errors_lost", p->errors_lost},
                       {"exc_count", p->exc_count_reg},
                       {"alarms", p->alarms},
                       {"alarm_count", p->alarm_count_reg},
                       {"mgmt_ignored", p->mgmt_ignored},
                       {"connect_resends", as.connect_resends},
                       {"agent_refused", agent_refused},
                       {"endpoints_used_at_end", p->used_at_end},
                       {"error_log", p->error_lines}});
      if (scen_.security_mode == "strong") {  // rekey (strong-mode.md 7): strong runs only
        parts.back()["rekeys_requested"] = as.rekeys;
        parts.back()["forced_rekeys"] = as.forced_rekeys;
      }
      r.agent_errors_logged += p->errors_logged;
      used += p->used_at_end;
    }
    for (uint32_t e = 0; e < scen_.geometry.num_endpoints; ++e)
      for (const auto& [when, h] : node->early[e])
        sb_.unauthorized(fmt::format("node {} endpoint {} at cycle {}: {} (no channel of the scenario)",
                                     node->spec->name, e, when, h.str()));
    if (finished_ && used)
      errors_.push_back(fmt::format("node {}: {} endpoints still allocated after all channels closed",
                                    node->spec->name, used));
    // C++ core: also check the zeroization directly (a comparator view, no key bits).
    if (finished_ && m.has_cpp_core()) {
      uint32_t keys_left = 0;
      for (uint32_t e = 0; e < scen_.geometry.num_endpoints; ++e) keys_left += m.core().key_valid(e) ? 1 : 0;
      if (keys_left)
        errors_.push_back(fmt::format("node {}: {} keys still valid after all channels closed", node->spec->name,
                                      keys_left));
    }
    const auto& st = m.stats();
    r.per_node.push_back({{"node", node->spec->name},
                          {"id", node->spec->id},
                          {"core", m.core_kind()},
                          {"data_sent", st.data_sent},
                          {"data_delivered", st.data_delivered},
                          {"data_discarded", st.data_discarded},
                          {"reg_requests", st.reg_requests},
                          {"reg_shell_errors", st.reg_shell_errors},
                          {"steps", st.steps},
                          {"skipped_cycles", st.skipped_cycles},
                          {"link_errors", st.link_errors},
                          {"ing_headers", st.ing_headers},
                          {"reg_stall_cycles", st.reg_stall_cycles},
                          {"ing_stall_cycles", st.ing_stall_cycles},
                          {"eg_credit_stall_cycles", st.eg_credit_stall_cycles},
                          {"connect_sent", stats[CmmCore::kStatConnectSent]},
                          {"connect_accepted", stats[CmmCore::kStatConnectAccepted]},
                          {"close_sent", stats[CmmCore::kStatCloseSent]},
                          {"mgmt_sent", stats[CmmCore::kStatMgmtSent]},
                          {"nack_sent", stats[CmmCore::kStatNackSent]},
                          {"retx_sent", stats[static_cast<uint32_t>(regs::Stat::kRetxSent)]},
                          {"ack_sent", stats[static_cast<uint32_t>(regs::Stat::kAckSent)]},
                          {"rejects", rej},
                          {"shell_drops", drops_json(st.drops)},
                          {"port_drops", drops_json(fabric_->port_drops(static_cast<uint32_t>(node->idx)))},
                          {"tx_scrubs", st.tx_scrubs},
                          {"endpoints_used_at_end", used},
                          {"partitions", parts}});
    if (scen_.security_mode == "strong" && m.has_cpp_core()) {
      r.per_node.back()["rekeys_installed"] = m.core().rekeys_installed();
      r.per_node.back()["rekeys_completed"] = m.core().rekeys_retired();
    }
    if (st.link_errors) errors_.push_back(fmt::format("node {}: {} link errors", node->spec->name, st.link_errors));
  }
}

// Per attack: attempts, refusals by reason, unauthorized deliveries, silent
// losses, what it observed.
void System::attack_results(RunResult& r) {
  for (const auto& ap : attacks_) {
    const AttackRt& a = *ap;
    const ChanRt& c = *chans_[a.spec->channel];
    AttackRow row;
    row.kind = a.spec->kind;
    row.attacker = a.rogue ? fmt::format("rogue node {}", a.spec->rogue_node_id) : a.spec->attacker;
    row.target = a.target;
    row.expected_reason = a.expect == regs::Reason::kOk ? "one per packet kind" : std::string(regs::to_string(a.expect));
    row.attempts = a.attempts;
    row.succeeded = a.succeeded;
    uint64_t accounted = 0;
    for (uint32_t i = 1; i < regs::kReasonCount; ++i) {
      if (!a.refused[i]) continue;
      row.refused[std::string(regs::reason_name(i))] = a.refused[i];
      accounted += a.refused[i];
    }
    for (size_t i = 1; i < a.agent_refused.size(); ++i)
      if (a.agent_refused[i]) {
        row.refused["AGENT_" + std::string(sw::to_string(static_cast<sw::AgentReason>(i)))] = a.agent_refused[i];
        accounted += a.agent_refused[i];
      }
    if (a.agent_refused[0]) {
      row.refused["AGENT_REFUSED"] = a.agent_refused[0];
      accounted += a.agent_refused[0];
    }
    if (a.mgmt_other) {
      row.refused["AGENT_NOT_CHANNEL_PROTOCOL"] = a.mgmt_other;
      accounted += a.mgmt_other;
    }
    row.refused_as_expected = static_cast<uint32_t>(
        a.expect == regs::Reason::kOk ? accounted : a.refused[static_cast<uint32_t>(a.expect)]);
    row.unauthorized = a.unauthorized + a.succeeded;
    row.silent_losses = finished_ ? sb_.unreported(a.spec->channel) : 0;
    // Every packet of a rogue node must be refused somewhere, with a reason.
    // Core verdicts per packet come from the C++ core's observer: with an RTL
    // core at either end they are not attributed (the CMM counters still are).
    const bool cpp_ends = nodes_[c.r.node]->cmm->has_cpp_core() && nodes_[c.s.node]->cmm->has_cpp_core();
    if (a.rogue && cpp_ends && finished_ && accounted < a.attempts) {
      row.silent_losses += a.attempts - accounted;
      errors_.push_back(fmt::format("attack {} by {}: {} of {} packets refused by no counter (silent loss)", row.kind,
                                    row.attacker, a.attempts - accounted, a.attempts));
    }
    if (a.rogue && !cpp_ends) row.note = "core verdicts per attack need C++ cores at both ends";
    if (row.unauthorized)
      errors_.push_back(fmt::format("attack {} by {}: {} unauthorized deliveries", row.kind, row.attacker,
                                    row.unauthorized));
    if (a.rogue) {
      row.observed["responses_received"] = a.rogue->received;
      row.observed["dropped_toward"] = a.dropped_toward;
    }
    if (a.spec->kind == "flooder" || a.spec->kind == "rogue_all_kinds") {
      // What the owner of the attacked receive entry saw (all attacks on it).
      const Part& op = *nodes_[c.r.node]->parts[c.r.part];
      row.observed["owner_alarms"] = op.alarms;
      row.observed["owner_alarm_count"] = op.alarm_count_reg;
      row.observed["owner_errlog_entries"] = op.errors_logged;
      row.observed["owner_error_events"] = op.error_events;
      row.observed["channel_delivered"] = c.received;
    }
    if (a.spec->kind == "credit_withholder") row.observed["channel_delivered"] = c.received;
    if (a.spec->kind == "key_predictor") {
      row.observed["predictions"] = a.predictions;
      row.observed["prediction_hits"] = a.prediction_hits;
    }
    if (finished_ && a.attempts != a.spec->count)
      errors_.push_back(fmt::format("attack {}: {} of {} attempts made", row.kind, a.attempts, a.spec->count));
    r.attacks.push_back(row);
  }
}

}  // namespace cmm::tb

