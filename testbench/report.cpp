#include "report.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "scoreboard.h"
#include "stats_decl.h"

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
  if (r.energy.contains("total_pj"))
    o += fmt::format("  energy               {:.3f} nJ (CMMs {:.3f}, switches {:.3f}, links {:.3f}), average {:.3f} mW\n",
                     r.energy["total_pj"].get<double>() / 1000, r.energy["cmm_pj"].get<double>() / 1000,
                     r.energy["router_pj"].get<double>() / 1000, r.energy["link_pj"].get<double>() / 1000,
                     r.energy["average_power_mw"].get<double>());
  if (wall) {
    const double w = r.wall_seconds > 0 ? r.wall_seconds : 1e-9;
    o += fmt::format("  wall time            {:.3f} s\n", r.wall_seconds);
    o += fmt::format("  speed                {:.0f} cycles/s, {:.0f} messages/s\n",
                     static_cast<double>(r.simulated_cycles) / w, static_cast<double>(r.messages_delivered) / w);
    o += fmt::format("  CPU time             {:.3f} s, peak memory {:.1f} MiB\n", r.cpu_seconds,
                     static_cast<double>(r.peak_rss_kib) / 1024.0);
    if (r.window_cycles && r.window_cpu_seconds > 0)
      o += fmt::format("  steady state         {:.0f} cycles/s, {:.0f} messages/s per CPU second (measurement "
                       "window: {} cycles, {:.3f} s CPU)\n",
                       static_cast<double>(r.window_cycles) / r.window_cpu_seconds,
                       static_cast<double>(r.window_messages) / r.window_cpu_seconds, r.window_cycles,
                       r.window_cpu_seconds);
  }
  for (auto it = r.traces.begin(); it != r.traces.end(); ++it)
    o += fmt::format("  trace ({})  {} ({} bytes{})\n", it.key(), it.value()["path"].get<std::string>(),
                     it.value()["bytes"].get<uint64_t>(), it.value()["truncated"].get<bool>() ? ", TRUNCATED" : "");
  o += fmt::format("  scoreboard           {}\n", r.scoreboard_clean ? "clean" : "FAILED");
  for (const auto& e : r.errors) o += "    error: " + e + "\n";
  return o;
}

namespace {

// One statistic as stats.json shows it, from its declaration (stats_decl.cpp).
template <typename T>
nlohmann::json stat(const char* group, const char* name, T value) {
  const StatDecl& d = stat_decl(group, name);
  return nlohmann::json{{"value", value}, {"unit", d.unit}, {"desc", d.desc}};
}

// The group of the objects in an array or object under `key` of `group`.
std::string child_group(const std::string& group, const std::string& key) {
  if (key == "partitions") return "partition";
  if (group == "energy" && (key == "nodes" || key == "routers" || key == "links" || key == "params"))
    return key == "params" ? "energy_param" : "energy_" + key.substr(0, key.size() - 1);
  if (group == "fabric" && key == "faults") return "fault";
  return group;
}

// Wraps every numeric or boolean leaf with its declaration; children of
// by-reason parents are reason counts.
nlohmann::json declare(const nlohmann::json& raw, const std::string& group, const std::string& parent,
                       std::vector<std::string>& undeclared) {
  using nlohmann::json;
  if (raw.is_array()) {
    json a = json::array();
    for (const auto& e : raw) a.push_back(declare(e, group, parent, undeclared));
    return a;
  }
  if (!raw.is_object()) return raw;
  json o = json::object();
  const ByReasonDecl* b = find_by_reason(parent);
  for (auto it = raw.begin(); it != raw.end(); ++it) {
    const json& v = it.value();
    if (v.is_object() || v.is_array()) {
      o[it.key()] = declare(v, child_group(group, it.key()), it.key(), undeclared);
    } else if (v.is_number() || v.is_boolean()) {
      if (b) {
        o[it.key()] = {{"value", v}, {"unit", b->unit}, {"desc", b->desc + it.key()}};
      } else if (const StatDecl* d = find_stat(group, it.key())) {
        o[it.key()] = {{"value", v}, {"unit", d->unit}, {"desc", d->desc}};
      } else {
        undeclared.push_back(group + "." + it.key());
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
  (void)declare(r.per_node, "node", "nodes", u);
  (void)declare(r.per_channel, "channel", "channels", u);
  (void)declare(r.fabric, "fabric", "fabric", u);
  (void)declare(r.energy, "energy", "energy", u);
  for (const auto& a : r.attacks)
    for (auto it = a.observed.begin(); it != a.observed.end(); ++it)
      if (!find_stat("observed", it.key())) u.push_back("attacks." + a.kind + ".observed." + it.key());
  return u;
}

nlohmann::json Provenance::to_json() const {
  return {{"cmmsim_version", version}, {"git", git},           {"systemc", systemc},
          {"compiler", compiler},      {"verilator", verilator}, {"seed", seed}};
}

std::string Provenance::line() const {
  return fmt::format("cmmsim {} (git {}), {}, {}, {}; seed {}", version, git, systemc, compiler,
                     verilator.rfind("Verilator", 0) == 0 ? verilator : "Verilator: " + verilator, seed);
}

nlohmann::json stats_json(const RunResult& r, const Provenance* prov) {
  using nlohmann::json;
  const LatencySummary l = summarize(r.latency_cycles);
  json j;
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  if (prov) j["provenance"] = prov->to_json();
  j["system"] = {
      {"channels_requested", stat("system", "channels_requested", r.channels_requested)},
      {"channels_opened", stat("system", "channels_opened", r.channels_opened)},
      {"connect_storm_cycles", stat("system", "connect_storm_cycles", r.connect_storm_cycles)},
      {"messages_sent", stat("system", "messages_sent", r.messages_sent)},
      {"messages_delivered", stat("system", "messages_delivered", r.messages_delivered)},
      {"refused_at_source", stat("system", "refused_at_source", r.messages_refused_at_source)},
      {"nacks_reported", stat("system", "nacks_reported", r.nacks_reported)},
      {"simulated_cycles", stat("system", "simulated_cycles", r.simulated_cycles)},
      {"scoreboard_clean", stat("system", "scoreboard_clean", r.scoreboard_clean)},
  };
  for (const auto& [obj, counts] : {std::pair<const char*, const std::map<std::string, uint64_t>*>{
                                        "rejects", &r.rejects_by_reason},
                                    {"drops", &r.drops_by_reason}}) {
    const ByReasonDecl& b = *find_by_reason(std::string("system.") + obj);
    json o = json::object();
    for (const auto& [k, v] : *counts) o[k] = {{"value", v}, {"unit", b.unit}, {"desc", b.desc}};
    j["system"][obj] = o;
  }
  j["latency"] = {
      {"count", stat("latency", "count", l.count)},
      {"min", stat("latency", "min", l.min)},
      {"mean", stat("latency", "mean", l.mean)},
      {"p50", stat("latency", "p50", l.p50)},
      {"p90", stat("latency", "p90", l.p90)},
      {"p99", stat("latency", "p99", l.p99)},
      {"p99_9", stat("latency", "p99_9", l.p999)},
      {"max", stat("latency", "max", l.max)},
      {"stddev", stat("latency", "stddev", l.stddev)},
      {"percentile_rel_error", stat("latency", "percentile_rel_error", l.rel_error)},
  };
  auto parts = [&](const Histogram& v, const char* what) {
    const LatencySummary p = summarize(v);
    return json{{"desc", what},
                {"count", stat("latency_part", "count", p.count)},
                {"mean", stat("latency_part", "mean", p.mean)},
                {"p50", stat("latency_part", "p50", p.p50)},
                {"p90", stat("latency_part", "p90", p.p90)},
                {"p99", stat("latency_part", "p99", p.p99)},
                {"max", stat("latency_part", "max", p.max)}};
  };
  // Histogram of the latency: power-of-two bins [2^k, 2^(k+1)) cycles.
  {
    const std::vector<uint64_t> bins = r.latency_cycles.pow2_bins();
    json h = json::array();
    for (size_t k = 0; k < bins.size(); ++k)
      if (bins[k]) h.push_back({{"from", uint64_t{1} << k}, {"to", uint64_t{2} << k}, {"count", bins[k]}});
    const StatDecl& d = stat_decl("latency", "histogram");
    j["latency"]["histogram"] = {{"unit", d.unit}, {"desc", d.desc}, {"bins", h}};
  }
  j["latency_parts"] = {
      {"source", parts(r.part_source, "message created -> DATA header leaves the sender's CMM")},
      {"fabric", parts(r.part_fabric, "leaves the sender's CMM -> accepted by the receiver's CMM")},
      {"pipeline", parts(r.part_pipeline, "accepted by the receiver's CMM -> in the receive queue")},
      {"rx_wait", parts(r.part_rx_wait, "in the receive queue -> read by the receiving process (not in latency)")},
  };
  std::vector<std::string> undeclared;
  j["channels"] = declare(r.per_channel, "channel", "channels", undeclared);
  j["nodes"] = declare(r.per_node, "node", "nodes", undeclared);
  j["fabric"] = declare(r.fabric, "fabric", "fabric", undeclared);
  if (!r.load.empty()) {
    j["load"] = {
        {"terminals", stat("load", "terminals", r.load["terminals"].get<uint64_t>())},
        {"offered_msgs", stat("load", "offered_msgs", r.load["offered_msgs"].get<double>())},
        {"offered_bytes", stat("load", "offered_bytes", r.load["offered_bytes"].get<double>())},
        {"accepted_msgs", stat("load", "accepted_msgs", r.load["accepted_msgs"].get<double>())},
        {"accepted_bytes", stat("load", "accepted_bytes", r.load["accepted_bytes"].get<double>())},
        {"configured_rate", stat("load", "configured_rate", r.load["configured_rate_msgs"].get<double>())},
        {"traffic_start", stat("load", "traffic_start", r.load["traffic_start_cycle"].get<uint64_t>())},
    };
  }
  j["attacks"] = json::array();
  for (const auto& a : r.attacks) {
    const ByReasonDecl& b = *find_by_reason("attack.refused");
    json refused = json::object();
    for (const auto& [k, v] : a.refused) refused[k] = {{"value", v}, {"unit", b.unit}, {"desc", b.desc}};
    json observed = json::object();
    for (auto it = a.observed.begin(); it != a.observed.end(); ++it) {
      const StatDecl* d = find_stat("observed", it.key());
      observed[it.key()] = d ? json{{"value", it.value()}, {"unit", d->unit}, {"desc", d->desc}} : it.value();
    }
    j["attacks"].push_back({{"kind", a.kind},
                            {"attacker", a.attacker},
                            {"target", a.target},
                            {"expected_reason", a.expected_reason},
                            {"attempts", stat("attack", "attempts", a.attempts)},
                            {"refused_as_expected", stat("attack", "refused_as_expected", a.refused_as_expected)},
                            {"succeeded", stat("attack", "succeeded", a.succeeded)},
                            {"refused", refused},
                            {"unauthorized", stat("attack", "unauthorized", a.unauthorized)},
                            {"silent_losses", stat("attack", "silent_losses", a.silent_losses)},
                            {"observed", observed}});
  }
  if (!r.energy.empty()) j["energy"] = declare(r.energy, "energy", "energy", undeclared);
  j["agent_errors_logged"] = stat("top", "agent_errors_logged", r.agent_errors_logged);
  if (!r.timeseries.empty()) j["timeseries"] = r.timeseries;
  j["errors"] = r.errors;
  return j;
}

namespace {
// stats.txt name of an array element: its name field when it has one.
std::string element_name(const nlohmann::json& e, size_t i) {
  for (const char* k : {"node", "partition", "router", "link"})
    if (e.is_object() && e.contains(k) && e[k].is_string()) return e[k].get<std::string>();
  return std::to_string(i);
}

void flat_stats(const nlohmann::json& o, const std::string& pre, std::string& out) {
  if (o.is_array()) {
    for (size_t i = 0; i < o.size(); ++i) flat_stats(o[i], pre + element_name(o[i], i) + ".", out);
    return;
  }
  if (!o.is_object()) return;
  if (o.contains("value") && o.contains("unit")) {
    std::string name = pre.substr(0, pre.size() - 1);
    out += fmt::format("{} {} # {} ({})\n", name, o["value"].dump(), o.value("desc", ""), o["unit"].get<std::string>());
    return;
  }
  if (o.contains("bins") && o.contains("unit")) {  // the latency histogram
    for (const auto& b : o["bins"])
      out += fmt::format("{}{}_{} {} # {} ({})\n", pre, b["from"].dump(), b["to"].dump(), b["count"].dump(),
                         o.value("desc", ""), o["unit"].get<std::string>());
    return;
  }
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (pre.empty() && (it.key() == "timeseries" || it.key() == "provenance" || it.key() == "errors")) continue;
    flat_stats(it.value(), pre + it.key() + ".", out);
  }
}
}  // namespace

std::string stats_txt(const nlohmann::json& stats) {
  std::string o = "# cmmsim statistics: name value # description (unit)\n";
  if (stats.contains("provenance")) {
    const auto& p = stats["provenance"];
    for (auto it = p.begin(); it != p.end(); ++it)
      o += "# " + it.key() + ": " + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) + "\n";
  }
  o += fmt::format("# scenario: {}\n", stats.value("scenario", ""));
  flat_stats(stats, "", o);
  if (stats.contains("errors"))
    for (const auto& e : stats["errors"]) o += "# error: " + e.get<std::string>() + "\n";
  return o;
}

nlohmann::json speed_json(const RunResult& r, const Provenance* prov) {
  using nlohmann::json;
  json j;
  j = {
      {"wall_seconds", stat("speed", "wall_seconds", r.wall_seconds)},
      {"cycles_per_second",
       stat("speed", "cycles_per_second", r.wall_seconds > 0 ? double(r.simulated_cycles) / r.wall_seconds : 0.0)},
      {"messages_per_second",
       stat("speed", "messages_per_second", r.wall_seconds > 0 ? double(r.messages_delivered) / r.wall_seconds : 0.0)},
      {"cpu_seconds", stat("speed", "cpu_seconds", r.cpu_seconds)},
      {"peak_rss_kib", stat("speed", "peak_rss_kib", r.peak_rss_kib)},
  };
  if (r.window_cycles && r.window_cpu_seconds > 0) {
    j["window_cpu_seconds"] = stat("speed", "window_cpu_seconds", r.window_cpu_seconds);
    j["window_cycles_per_cpu_second"] =
        stat("speed", "window_cycles_per_cpu_second", double(r.window_cycles) / r.window_cpu_seconds);
    j["window_messages_per_cpu_second"] =
        stat("speed", "window_messages_per_cpu_second", double(r.window_messages) / r.window_cpu_seconds);
  }
  if (prov) j["provenance"] = prov->to_json();
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
      if (pre.empty() && it.key() == "provenance") continue;  // in config.json, not a column
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
                           {"energy_pj", r.energy.value("total_pj", 0.0)},
                           {"average_power_mw", r.energy.value("average_power_mw", 0.0)},
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
