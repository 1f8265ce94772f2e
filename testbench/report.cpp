#include "report.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "scoreboard.h"

namespace cmm::tb {

LatencySummary summarize(const Histogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.rel_error = h.rel_error();
  if (h.empty()) return s;
  s.min = h.min();
  s.max = h.max();
  s.mean = h.mean();
  s.stddev = h.stddev();
  s.p50 = h.percentile(50);
  s.p90 = h.percentile(90);
  s.p99 = h.percentile(99);
  s.p999 = h.percentile(99.9);
  return s;
}

LatencySummary summarize(const std::vector<uint64_t>& v) {
  Histogram h(true);
  for (uint64_t x : v) h.add(x);
  return summarize(h);
}

std::string summary_text(const RunResult& r, bool wall) {
  const LatencySummary l = summarize(r.latency_cycles);
  const double ns = 1.0 / r.clock_ghz;
  std::string o;
  o += fmt::format("cmmsim: scenario {} seed {}\n", r.scenario, r.seed);
  o += fmt::format("  channels opened      {} of {} (connect storm {} cycles)\n", r.channels_opened,
                   r.channels_requested, r.connect_storm_cycles);
  size_t shown = 0;
  for (const auto& c : r.channels) {
    if (++shown > 12) {
      o += fmt::format("    ... and {} more channels (stats.json lists them all)\n", r.channels.size() - 12);
      break;
    }
    o += fmt::format("    {:<14} {} <- {}: {} at cycle {} (set-up {} cycles), {}/{} sent, {} delivered, {} NACKed{}\n",
                     c.label, c.receiver, c.sender, c.opened ? "open" : "NOT OPEN", c.open_cycle, c.setup_cycles,
                     c.sent, c.expected, c.delivered, c.nacked, c.closed ? ", closed" : "");
  }
  if (!r.load.empty())
    o += fmt::format("  load (per terminal)  offered {:.4f} msg/cycle ({:.3f} B/cycle), accepted {:.4f} msg/cycle "
                     "({:.3f} B/cycle), {} terminals, measured over {} cycles after {} warm-up\n",
                     r.load["offered_msgs"].get<double>(), r.load["offered_bytes"].get<double>(),
                     r.load["accepted_msgs"].get<double>(), r.load["accepted_bytes"].get<double>(),
                     r.load["terminals"].get<uint64_t>(), r.load["measure_cycles"].get<uint64_t>(),
                     r.load["warmup_cycles"].get<uint64_t>());
  o += fmt::format("  messages sent        {}\n", r.messages_sent);
  o += fmt::format("  messages delivered   {}\n", r.messages_delivered);
  o += fmt::format("  refused at source    {}\n", r.messages_refused_at_source);
  o += fmt::format("  NACKs to senders     {}\n", r.nacks_reported);
  o += fmt::format("  agent error-log      {} entries\n", r.agent_errors_logged);
  for (const auto& a : r.attacks) {
    std::string by;
    for (const auto& [k, v] : a.refused) by += fmt::format(" {}={}", k, v);
    o += fmt::format("  attack {:<18} by {:<14} on the {}: {} tried, refused{}; {} unauthorized, {} silent losses{}\n",
                     a.kind, a.attacker, a.target, a.attempts, by.empty() ? " none" : by, a.unauthorized,
                     a.silent_losses, a.note.empty() ? "" : " (" + a.note + ")");
    if (!a.observed.empty()) {
      std::string ob;
      for (auto it = a.observed.begin(); it != a.observed.end(); ++it) ob += fmt::format(" {}={}", it.key(), it.value().dump());
      o += "    observed" + ob + "\n";
    }
  }
  if (r.rejects_by_reason.empty()) {
    o += "  rejects by reason    none\n";
  } else {
    o += "  rejects by reason   ";
    for (const auto& [k, v] : r.rejects_by_reason) o += fmt::format(" {}={}", k, v);
    o += "\n";
  }
  if (r.drops_by_reason.empty()) {
    o += "  dropped by reason    none\n";
  } else {
    o += "  dropped by reason   ";
    for (const auto& [k, v] : r.drops_by_reason) o += fmt::format(" {}={}", k, v);
    o += "  (fabric and shells)\n";
  }
  o += fmt::format("  latency (cycles)     min {} mean {:.1f} p50 {} p99 {} max {}  (n={}{})\n", l.min, l.mean, l.p50,
                   l.p99, l.max, l.count,
                   l.rel_error > 0 ? fmt::format(", percentiles within 1/{:.0f}", 1.0 / l.rel_error) : ", exact");
  for (const auto& [name, v] : {std::pair<const char*, const Histogram*>{"source", &r.part_source},
                                {"fabric", &r.part_fabric},
                                {"CMM pipeline", &r.part_pipeline},
                                {"receive-queue wait", &r.part_rx_wait}}) {
    const LatencySummary p = summarize(*v);
    o += fmt::format("    {:<18} mean {:.1f} p50 {} p99 {} max {}\n", name, p.mean, p.p50, p.p99, p.max);
  }
  o += fmt::format("  latency (ns)         min {:.1f} mean {:.1f} p50 {:.1f} p99 {:.1f} max {:.1f}\n",
                   static_cast<double>(l.min) * ns, l.mean * ns, static_cast<double>(l.p50) * ns,
                   static_cast<double>(l.p99) * ns, static_cast<double>(l.max) * ns);
  o += fmt::format("  simulated            {} cycles ({:.3f} us)\n", r.simulated_cycles,
                   static_cast<double>(r.simulated_cycles) * ns / 1000.0);
  if (wall) {
    const double w = r.wall_seconds > 0 ? r.wall_seconds : 1e-9;
    o += fmt::format("  wall time            {:.3f} s\n", r.wall_seconds);
    o += fmt::format("  speed                {:.0f} cycles/s, {:.0f} messages/s\n",
                     static_cast<double>(r.simulated_cycles) / w, static_cast<double>(r.messages_delivered) / w);
  }
  for (auto it = r.traces.begin(); it != r.traces.end(); ++it)
    o += fmt::format("  trace ({})  {} ({} bytes{})\n", it.key(), it.value()["path"].get<std::string>(),
                     it.value()["bytes"].get<uint64_t>(), it.value()["truncated"].get<bool>() ? ", TRUNCATED" : "");
  o += fmt::format("  scoreboard           {}\n", r.scoreboard_clean ? "clean" : "FAILED");
  for (const auto& e : r.errors) o += "    error: " + e + "\n";
  return o;
}

namespace {

// One statistic as stats.json shows it.
template <typename T>
nlohmann::json stat(T value, const char* unit, const char* desc) {
  return nlohmann::json{{"value", value}, {"unit", unit}, {"desc", desc}};
}

// Every per-node, per-channel and fabric statistic, declared once: key, unit,
// description. stats.json shows each as {value, unit, desc}.
struct StatDecl {
  const char* key;
  const char* unit;
  const char* desc;
};
constexpr StatDecl kDecls[] = {
    // nodes[]
    {"id", "id", "node id on the fabric"},
    {"data_sent", "packets", "DATA packets sent (payload attached) by this CMM"},
    {"data_delivered", "packets", "DATA payloads moved into a receive slot"},
    {"data_discarded", "packets", "DATA payloads discarded after a reject verdict"},
    {"reg_requests", "accesses", "register transactions received from the node bus"},
    {"reg_shell_errors", "accesses", "register transactions refused by the TLM shell"},
    {"core_steps", "cycles", "clock edges the core evaluated"},
    {"core_skipped_cycles", "cycles", "idle clock edges skipped (nothing in flight)"},
    {"link_errors", "events", "fabric link protocol violations (must be 0)"},
    {"ingress_headers", "headers", "headers accepted into the verification pipeline"},
    {"register_port", "cycles", "a register request waited: reg_req_ready low"},
    {"ingress", "cycles", "an ingress header waited: ing_ready low"},
    {"egress_credit", "cycles", "an egress header waited for a fabric credit"},
    {"connect_sent", "packets", "CONNECTs sent (STAT register)"},
    {"connect_accepted", "packets", "CONNECTs accepted: key stored in a send entry (STAT register)"},
    {"close_sent", "packets", "CLOSEs sent (STAT register)"},
    {"mgmt_sent", "packets", "management messages sent (STAT register)"},
    {"nack_sent", "packets", "NACKs sent (STAT register)"},
    {"endpoints_used_at_end", "endpoints", "endpoints still allocated after the close phase (must be 0)"},
    {"offered_bytes_per_cycle", "bytes/cycle", "payload bytes this node's processes created in the measurement window"},
    {"accepted_bytes_per_cycle", "bytes/cycle", "payload bytes this node's processes received in the measurement window"},
    {"terminals", "terminals", "traffic terminals (processes) on this node"},
    {"errors_logged", "entries", "error-log entries the partition's agent read"},
    {"exceptions", "entries", "of them valid-bit exclusion exceptions (I6)"},
    {"errors_lost", "entries", "error-log entries lost to a full log"},
    {"error_events", "events", "error events in the entries the agent read (1 + coalesced repeats each)"},
    {"exc_count", "exceptions", "EXC_COUNT at the end: I6 exceptions latched in the exception register"},
    {"alarms", "alarms", "reject-rate alarms (IRQ ALARM) the agent serviced"},
    {"alarm_count", "alarms", "ALARM_COUNT at the end: windows whose error events reached ALARM_CFG.THRESH"},
    {"connect_resends", "commands", "CONNECTs the agent re-sent (no CONNECT_ACK in time)"},
    {"tx_scrubs", "buffers", "TX staging buffers zeroed by the shell on FREE, CLOSE or owner change"},
    {"mgmt_ignored", "messages", "management messages the agent ignored (stale, forged or foreign)"},
    // channels[]
    {"opened", "bool", "both ends reached OPEN"},
    {"closed", "bool", "both ends closed and freed at the end"},
    {"open_cycle", "cycles", "cycle both ends were OPEN"},
    {"setup_cycles", "cycles", "request_channel to both ends OPEN"},
    {"expected", "messages", "messages the channel was to carry"},
    {"sent", "messages", "doorbells accepted by the sender's CMM"},
    {"delivered", "messages", "messages read intact by the receiver"},
    {"refused_at_source", "messages", "doorbells refused by the sender's CMM"},
    {"nacked", "messages", "NACKs reported to the sender's library (all reasons)"},
    {"nacked_lost", "messages", "messages refused by the receiver's CMM, NACKed with their reason"},
    {"nacks_seq_gap", "NACKs", "SEQ_GAP NACKs: the tagged message was delivered, messages before it were missing"},
    {"gap_lost", "messages", "messages reported missing by SEQ_GAP NACKs"},
    {"nacks_seq_old", "NACKs", "SEQ_OLD NACKs: late or duplicate copies refused (no loss)"},
    {"fabric_dropped", "messages", "messages dropped by the fabric or a shell with a counted reason (not in gap_lost)"},
    {"reported_lost", "messages", "messages lost and reported (nacked_lost + gap_lost + fabric_dropped)"},
    // fabric
    {"forwarded_requests", "packets", "request-class packets through the crossbar"},
    {"forwarded_responses", "packets", "response-class packets through the crossbar"},
    {"unroutable", "packets", "packets to a node the fabric has no route to (discarded, counted)"},
    {"hol_lifetime_cycles", "cycles", "head-of-queue lifetime at output ports (0: never dropped)"},
    {"flits_dropped", "flits", "flits of packets dropped HOL_TIMEOUT at ejection ports"},
    {"x", "routers", "routers per row (ring: routers)"},
    {"y", "routers", "rows"},
    {"injected_requests", "packets", "request-class packets into the network"},
    {"injected_responses", "packets", "response-class packets into the network"},
    {"flits_injected", "flits", "flits into the routers"},
    {"link_flits", "flits", "flits over router-to-router links"},
    {"max_packet_latency_cycles", "cycles", "largest network latency of a packet"},
    {"router_steps", "cycles", "network cycles evaluated (idle skipped)"},
    {"link_utilisation_mean", "flits/cycle", "router-to-router links, mean over links"},
    {"link_utilisation_max", "flits/cycle", "the busiest router-to-router link"},
    {"buffer_flits_mean_per_router", "flits", "input-buffer occupancy, time mean per router"},
    {"buffer_flits_max", "flits", "largest input-buffer occupancy of a router"},
};

// Kind-specific figures of an attack (AttackRow::observed).
struct AttackObs {
  const char* key;
  const char* unit;
  const char* desc;
};
constexpr AttackObs kAttackObs[] = {
    {"responses_received", "packets", "packets the fabric delivered to the rogue node"},
    {"owner_alarms", "alarms", "reject-rate alarms the attacked entry's agent serviced (all attacks on it)"},
    {"owner_alarm_count", "alarms", "ALARM_COUNT of the attacked entry's partition at the end"},
    {"owner_errlog_entries", "entries", "error-log entries that partition's agent read (coalesced)"},
    {"owner_error_events", "events", "error events in those entries (1 + repeats each)"},
    {"channel_delivered", "messages", "messages the attacked channel delivered"},
    {"dropped_toward", "packets", "packets toward the rogue node the fabric dropped (HOL_TIMEOUT at its port)"},
    {"predictions", "keys", "predicted keys checked against the channel's key (comparator)"},
    {"prediction_hits", "keys", "predicted keys equal to the channel's key (must be 0)"},
};
const AttackObs* find_attack_obs(const std::string& key) {
  for (const auto& d : kAttackObs)
    if (key == d.key) return &d;
  return nullptr;
}

const StatDecl* find_decl(const std::string& key) {
  for (const auto& d : kDecls)
    if (key == d.key) return &d;
  return nullptr;
}

// Objects whose children are counts by reason code (name): unit, description prefix.
struct ByReason {
  const char* parent;
  const char* unit;
  const char* desc;
};
constexpr ByReason kByReason[] = {
    {"rejects", "packets", "rejected with reason "},
    {"shell_drops", "packets", "dropped by this CMM's shell (ingress) with reason "},
    {"port_drops", "packets", "dropped by the fabric at this node's port with reason "},
    {"drops", "packets", "dropped by the fabric, all ports, with reason "},
    {"agent_refused", "events", "refused, ignored or expired by the kernel agent with agent reason "},
    {"control_drops", "packets", "control packets of the CMMs dropped by the fabric or a shell: opcode_reason "},
};
const ByReason* by_reason(const std::string& parent) {
  for (const auto& b : kByReason)
    if (parent == b.parent) return &b;
  return nullptr;
}

// Wraps every numeric or boolean leaf; children of kByReason parents are reason counts.
nlohmann::json declare(const nlohmann::json& raw, const std::string& parent, std::vector<std::string>& undeclared) {
  using nlohmann::json;
  if (raw.is_array()) {
    json a = json::array();
    for (const auto& e : raw) a.push_back(declare(e, parent, undeclared));
    return a;
  }
  if (!raw.is_object()) return raw;
  json o = json::object();
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    const json& v = it.value();
    if (v.is_object() || v.is_array()) {
      o[it.key()] = declare(v, it.key(), undeclared);
    } else if (v.is_number() || v.is_boolean()) {
      if (const ByReason* b = by_reason(parent)) {
        o[it.key()] = {{"value", v}, {"unit", b->unit}, {"desc", b->desc + it.key()}};
      } else if (const StatDecl* d = find_decl(it.key())) {
        o[it.key()] = {{"value", v}, {"unit", d->unit}, {"desc", d->desc}};
      } else {
        undeclared.push_back(parent + "." + it.key());
        o[it.key()] = v;
      }
    } else {
      o[it.key()] = v;  // names and labels
    }
  }
  return o;
}

}  // namespace

std::vector<std::string> undeclared_stats(const RunResult& r) {
  std::vector<std::string> u;
  (void)declare(r.per_node, "nodes", u);
  (void)declare(r.per_channel, "channels", u);
  (void)declare(r.fabric, "fabric", u);
  for (const auto& a : r.attacks)
    for (auto it = a.observed.begin(); it != a.observed.end(); ++it)
      if (!find_attack_obs(it.key())) u.push_back("attacks." + a.kind + ".observed." + it.key());
  return u;
}

nlohmann::json stats_json(const RunResult& r) {
  using nlohmann::json;
  const LatencySummary l = summarize(r.latency_cycles);
  json j;
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["system"] = {
      {"channels_requested", stat(r.channels_requested, "channels", "channels the scenario asks for")},
      {"channels_opened", stat(r.channels_opened, "channels", "channels that reached OPEN on both ends")},
      {"connect_storm", stat(r.connect_storm_cycles, "cycles", "from start until the last channel opened")},
      {"messages_sent", stat(r.messages_sent, "messages", "doorbells accepted by the sender's CMM")},
      {"messages_delivered", stat(r.messages_delivered, "messages", "messages read intact by their receiver")},
      {"refused_at_source", stat(r.messages_refused_at_source, "messages", "doorbells refused by the sender's CMM")},
      {"nacks_reported", stat(r.nacks_reported, "messages", "NACKs seen by sender libraries")},
      {"simulated_cycles", stat(r.simulated_cycles, "cycles", "simulated time in CMM clock cycles")},
      {"scoreboard_clean", stat(r.scoreboard_clean, "bool", "every message delivered once intact or reported")},
  };
  json rej = json::object();
  for (const auto& [k, v] : r.rejects_by_reason) rej[k] = stat(v, "packets", "rejections with this reason, all CMMs");
  j["system"]["rejects"] = rej;
  json drops = json::object();
  for (const auto& [k, v] : r.drops_by_reason)
    drops[k] = stat(v, "packets", "dropped with this reason by the fabric (edge, HOL) and the CMM shells (CRC, length)");
  j["system"]["drops"] = drops;
  j["latency"] = {
      {"count", stat(l.count, "messages", "samples")},
      {"min", stat(l.min, "cycles", "doorbell to receive queue, minimum")},
      {"mean", stat(l.mean, "cycles", "mean")},
      {"p50", stat(l.p50, "cycles", "median (nearest rank)")},
      {"p90", stat(l.p90, "cycles", "90th percentile")},
      {"p99", stat(l.p99, "cycles", "99th percentile")},
      {"p99_9", stat(l.p999, "cycles", "99.9th percentile")},
      {"max", stat(l.max, "cycles", "maximum")},
      {"stddev", stat(l.stddev, "cycles", "standard deviation")},
      {"percentile_rel_error", stat(l.rel_error, "ratio",
                                    "every percentile is within this fraction of the exact nearest-rank one "
                                    "(streaming histogram; 0: exact samples kept)")},
  };
  auto parts = [&](const Histogram& v, const char* what) {
    const LatencySummary p = summarize(v);
    return json{{"desc", what},
                {"count", stat(p.count, "messages", "samples")},
                {"mean", stat(p.mean, "cycles", "mean")},
                {"p50", stat(p.p50, "cycles", "median")},
                {"p90", stat(p.p90, "cycles", "90th percentile")},
                {"p99", stat(p.p99, "cycles", "99th percentile")},
                {"max", stat(p.max, "cycles", "maximum")}};
  };
  // Histogram of the latency: power-of-two bins [2^k, 2^(k+1)) cycles.
  {
    const std::vector<uint64_t> bins = r.latency_cycles.pow2_bins();
    json h = json::array();
    for (size_t k = 0; k < bins.size(); ++k)
      if (bins[k]) h.push_back({{"from", uint64_t{1} << k}, {"to", uint64_t{2} << k}, {"count", bins[k]}});
    j["latency"]["histogram"] = {{"unit", "messages"},
                                 {"desc", "messages per latency bin: from <= latency < to, in cycles (powers of two)"},
                                 {"bins", h}};
  }
  j["latency_parts"] = {
      {"source", parts(r.part_source, "message created -> DATA header leaves the sender's CMM")},
      {"fabric", parts(r.part_fabric, "leaves the sender's CMM -> accepted by the receiver's CMM")},
      {"pipeline", parts(r.part_pipeline, "accepted by the receiver's CMM -> in the receive queue")},
      {"rx_wait", parts(r.part_rx_wait, "in the receive queue -> read by the receiving process (not in latency)")},
  };
  std::vector<std::string> undeclared;
  j["channels"] = declare(r.per_channel, "channels", undeclared);
  j["nodes"] = declare(r.per_node, "nodes", undeclared);
  j["fabric"] = declare(r.fabric, "fabric", undeclared);
  if (!r.load.empty()) {
    j["load"] = {
        {"terminals", stat(r.load["terminals"].get<uint64_t>(), "terminals", "processes that are traffic terminals")},
        {"offered_msgs", stat(r.load["offered_msgs"].get<double>(), "messages/cycle/terminal",
                              "messages created in the measurement window")},
        {"offered_bytes", stat(r.load["offered_bytes"].get<double>(), "bytes/cycle/terminal",
                               "payload bytes created in the measurement window")},
        {"accepted_msgs", stat(r.load["accepted_msgs"].get<double>(), "messages/cycle/terminal",
                               "messages delivered in the measurement window")},
        {"accepted_bytes", stat(r.load["accepted_bytes"].get<double>(), "bytes/cycle/terminal",
                                "payload bytes delivered in the measurement window")},
        {"configured_rate", stat(r.load["configured_rate_msgs"].get<double>(), "messages/cycle/terminal",
                                 "injection rate the traffic spec asks for")},
        {"traffic_start", stat(r.load["traffic_start_cycle"].get<uint64_t>(), "cycles",
                               "first cycle of traffic (end of the connect storm)")},
    };
  }
  j["attacks"] = json::array();
  for (const auto& a : r.attacks) {
    json refused = json::object();
    for (const auto& [k, v] : a.refused)
      refused[k] = stat(v, "events", "attempts refused with this reason (CMM, shell, fabric, agent)");
    json observed = json::object();
    for (auto it = a.observed.begin(); it != a.observed.end(); ++it) {
      const AttackObs* d = find_attack_obs(it.key());
      observed[it.key()] = d ? stat(it.value(), d->unit, d->desc) : it.value();
    }
    j["attacks"].push_back({{"kind", a.kind},
                            {"attacker", a.attacker},
                            {"target", a.target},
                            {"expected_reason", a.expected_reason},
                            {"attempts", stat(a.attempts, "attempts", "attack attempts made (tried)")},
                            {"refused_as_expected", stat(a.refused_as_expected, "attempts",
                                                         "attempts refused with the expected reason")},
                            {"succeeded", stat(a.succeeded, "attempts", "attempts that got through (must be 0)")},
                            {"refused", refused},
                            {"unauthorized", stat(a.unauthorized, "deliveries",
                                                  "deliveries of its packets and successful accesses (must be 0)")},
                            {"silent_losses", stat(a.silent_losses, "messages",
                                                   "legitimate messages of the attacked channel lost unreported, "
                                                   "plus attack packets no counter accounts for (must be 0)")},
                            {"observed", observed}});
  }
  j["agent_errors_logged"] = stat(r.agent_errors_logged, "entries", "error-log entries read by kernel agents");
  if (!r.timeseries.empty()) j["timeseries"] = r.timeseries;
  j["errors"] = r.errors;
  return j;
}

nlohmann::json speed_json(const RunResult& r) {
  using nlohmann::json;
  json j;
  j = {
      {"wall_seconds", stat(r.wall_seconds, "s", "wall-clock time of the simulation")},
      {"cycles_per_second", stat(r.wall_seconds > 0 ? double(r.simulated_cycles) / r.wall_seconds : 0.0,
                                 "cycles/s", "simulated cycles per wall second")},
      {"messages_per_second", stat(r.wall_seconds > 0 ? double(r.messages_delivered) / r.wall_seconds : 0.0,
                                   "messages/s", "delivered messages per wall second")},
  };
  return j;
}

namespace {
std::string csv_cell(const nlohmann::json& v) {
  std::string t = v.is_string() ? v.get<std::string>() : v.dump();
  if (t.find_first_of(",\"\n") == std::string::npos) return t;
  std::string q = "\"";
  for (char ch : t) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}
}  // namespace

std::string timeseries_csv(const RunResult& r) {
  if (r.timeseries.empty()) return {};
  std::string o;
  for (auto it = r.timeseries[0].begin(); it != r.timeseries[0].end(); ++it) o += (o.empty() ? "" : ",") + it.key();
  o += "\n";
  for (const auto& row : r.timeseries) {
    std::string line;
    for (auto it = row.begin(); it != row.end(); ++it) line += (line.empty() ? "" : ",") + it.value().dump();
    o += line + "\n";
  }
  return o;
}

std::string csv_row(const RunResult& r, const nlohmann::json& cfg) {
  const LatencySummary l = summarize(r.latency_cycles);
  std::vector<std::pair<std::string, nlohmann::json>> cols;
  // Scalars of the configuration, nested objects flattened as a.b.c.
  std::function<void(const nlohmann::json&, const std::string&)> flat = [&](const nlohmann::json& o,
                                                                             const std::string& pre) {
    for (auto it = o.begin(); it != o.end(); ++it) {
      if (it.value().is_object()) flat(it.value(), pre + it.key() + ".");
      else if (!it.value().is_array()) cols.emplace_back("config_" + pre + it.key(), it.value());
    }
  };
  flat(cfg, "");
  const double cycles = r.simulated_cycles ? static_cast<double>(r.simulated_cycles) : 1.0;
  for (const char* k : {"offered_msgs", "offered_bytes", "accepted_msgs", "accepted_bytes"})
    cols.emplace_back(k, r.load.contains(k) ? r.load[k] : nlohmann::json(""));
  cols.insert(cols.end(), {{"nodes", r.per_node.size()},
                           {"channels_requested", r.channels_requested},
                           {"channels_opened", r.channels_opened},
                           {"connect_storm_cycles", r.connect_storm_cycles},
                           {"messages_sent", r.messages_sent},
                           {"messages_delivered", r.messages_delivered},
                           {"refused_at_source", r.messages_refused_at_source},
                           {"nacks_reported", r.nacks_reported},
                           {"delivered_per_cycle", static_cast<double>(r.messages_delivered) / cycles},
                           {"latency_count", l.count},
                           {"latency_min", l.min},
                           {"latency_mean", l.mean},
                           {"latency_p50", l.p50},
                           {"latency_p90", l.p90},
                           {"latency_p99", l.p99},
                           {"latency_p99_9", l.p999},
                           {"latency_max", l.max},
                           {"latency_percentile_rel_error", l.rel_error},
                           {"simulated_cycles", r.simulated_cycles},
                           {"scoreboard_clean", r.scoreboard_clean ? 1 : 0},
                           {"errors", r.errors.size()}});
  std::string head, vals;
  for (const auto& [k, v] : cols) {
    head += (head.empty() ? "" : ",") + k;
    vals += (vals.empty() ? "" : ",") + csv_cell(v);
  }
  return head + "\n" + vals + "\n";
}

}  // namespace cmm::tb
