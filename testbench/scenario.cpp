#include "scenario.h"

#include <limits>
#include <type_traits>

#include <algorithm>
#include <set>

#include "cmm_regs.h"

namespace cmm::tb {

using nlohmann::json;

bool is_rogue_attack(const std::string& kind) {
  return kind != "steal_endpoint" && kind != "foreign_agent";
}

Location Scenario::locate(const std::string& process) const {
  for (size_t n = 0; n < nodes.size(); ++n)
    for (size_t p = 0; p < nodes[n].partitions.size(); ++p)
      for (size_t q = 0; q < nodes[n].partitions[p].processes.size(); ++q)
        if (nodes[n].partitions[p].processes[q].name == process) return {n, p, q};
  throw ConfigError("unknown process '" + process + "'");
}

void Scenario::validate() const {
  auto bad = [](const std::string& key, const std::string& val, const std::string& allowed) {
    throw ConfigError("bad value " + val + " for '" + key + "': " + allowed);
  };
  if (nodes.empty()) bad("nodes", "[]", "at least one node");
  std::set<uint8_t> ids;
  std::set<std::string> procs;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const auto& N = nodes[n];
    const std::string key = "nodes[" + std::to_string(n) + "]";
    if (!ids.insert(N.id).second) bad(key + ".id", std::to_string(N.id), "node ids must be unique");
    if (N.partitions.empty() || N.partitions.size() > regs::kNumPartitions)
      bad(key + ".partitions", std::to_string(N.partitions.size()),
          "1.." + std::to_string(regs::kNumPartitions) + " partitions");
    uint32_t quota = 0;
    for (size_t p = 0; p < N.partitions.size(); ++p) {
      const auto& P = N.partitions[p];
      quota += P.quota;
      for (const auto& q : P.processes) {
        if (q.pid == 0) bad(key + ".partitions[" + std::to_string(p) + "].processes." + q.name + ".pid", "0",
                            "1..65535 (0 means no owner)");
        if (!procs.insert(q.name).second) bad("process name", "'" + q.name + "'", "process names must be unique");
      }
    }
    if (quota > regs::kNumEndpoints)
      bad(key + " total quota", std::to_string(quota), "at most " + std::to_string(regs::kNumEndpoints) + " endpoints");
  }
  if (traffic) {
    if (!channels.empty())
      bad("channels", std::to_string(channels.size()) + " channels",
          "none when 'traffic' is given (the pattern decides the channels)");
    if (!attacks.empty()) bad("attacks", std::to_string(attacks.size()) + " attacks", "none with 'traffic' (yet)");
    const auto n = static_cast<uint32_t>(terminals().size());
    if (n < 2) bad("traffic", std::to_string(n) + " terminals (processes)", "at least 2 processes");
    traffic->validate(n);
    if (measure_cycles == 0) bad("measure_cycles", "0", ">= 1");
    if (drain_cycles == 0) bad("drain_cycles", "0", ">= 1");
  }
  for (size_t c = 0; c < channels.size(); ++c) {
    const auto& C = channels[c];
    const std::string key = "channels[" + std::to_string(c) + "]";
    locate(C.receiver);
    locate(C.sender);
    if (C.receiver == C.sender) bad(key + ".sender", "'" + C.sender + "'", "a process other than the receiver");
    if (C.messages > 65536) bad(key + ".messages", std::to_string(C.messages), "0..65536 (tags are 16 bits)");
    if (C.min_bytes == 0 || C.min_bytes > C.max_bytes || C.max_bytes > regs::kMaxMsgBytes)
      bad(key + ".min_bytes/max_bytes", std::to_string(C.min_bytes) + "/" + std::to_string(C.max_bytes),
          "1 <= min_bytes <= max_bytes <= " + std::to_string(regs::kMaxMsgBytes));
  }
  for (size_t a = 0; a < attacks.size(); ++a) {
    const auto& A = attacks[a];
    const std::string key = "attacks[" + std::to_string(a) + "]";
    bool known = false;
    std::string allowed;
    for (const char* k : kAttackKinds) {
      known |= A.kind == k;
      allowed += std::string(allowed.empty() ? "" : ", ") + k;
    }
    if (!known) bad(key + ".kind", "'" + A.kind + "'", "one of " + allowed);
    if (A.channel >= channels.size())
      bad(key + ".channel", std::to_string(A.channel), "index of a channel, 0.." + std::to_string(channels.size()) +
                                                           " exclusive");
    if (A.count == 0 || A.count > 4096) bad(key + ".count", std::to_string(A.count), "1..4096");
    const auto& C = channels[A.channel];
    if (A.kind == "steal_endpoint" || A.kind == "foreign_agent") {
      const Location at = locate(A.attacker);
      const Location r = locate(C.receiver), s = locate(C.sender);
      if (at.node != r.node && at.node != s.node)
        bad(key + ".attacker", "'" + A.attacker + "'", "a process on the node of the channel's sender or receiver");
      if (A.attacker == C.receiver || A.attacker == C.sender)
        bad(key + ".attacker", "'" + A.attacker + "'", "a process other than the channel's own");
      if (A.kind == "foreign_agent" && ((at.node == r.node && at.part == r.part) || (at.node == s.node && at.part == s.part)))
        bad(key + ".attacker", "'" + A.attacker + "'", "a process in another partition than the channel's ends");
    } else {
      for (const auto& N : nodes)
        if (N.id == A.rogue_node_id)
          bad(key + ".rogue_node_id", std::to_string(A.rogue_node_id), "a node id no scenario node uses");
      // Each rogue node has its own fabric port, attached to its id.
      for (size_t b = 0; b < a; ++b)
        if (is_rogue_attack(attacks[b].kind) && attacks[b].rogue_node_id == A.rogue_node_id)
          bad(key + ".rogue_node_id", std::to_string(A.rogue_node_id),
              "an id no other rogue node uses (attacks[" + std::to_string(b) + "] has it)");
      if (A.gap_cycles == 0 && A.kind != "flooder")
        bad(key + ".gap_cycles", "0", ">= 1 (line rate only for kind flooder)");
    }
  }
  if (alarm_thresh > 0xFFFF) bad("alarm_thresh", std::to_string(alarm_thresh), "0..65535 (0: off)");
  if (alarm_window_log2 > 31) bad("alarm_window_log2", std::to_string(alarm_window_log2), "0..31");
  if (core != "cpp" && core != "rtl") bad("core", "'" + core + "'", "cpp or rtl");
  for (size_t n = 0; n < nodes.size(); ++n)
    if (!nodes[n].core.empty() && nodes[n].core != "cpp" && nodes[n].core != "rtl")
      bad("nodes[" + std::to_string(n) + "].core", "'" + nodes[n].core + "'", "cpp or rtl (or absent: the scenario's core)");
  if (topology != "crossbar" && topology != "ring" && topology != "mesh" && topology != "torus")
    bad("topology", "'" + topology + "'", "one of crossbar, ring, mesh, torus");
  if (topology == "ring" && fabric_y > 1) bad("fabric_y", std::to_string(fabric_y), "1 (or 0) for a ring");
  if (fabric_x > 256 || fabric_y > 256 || uint64_t{fabric_x} * std::max<uint32_t>(fabric_y, 1) > 256)
    bad("fabric_x/fabric_y", std::to_string(fabric_x) + "/" + std::to_string(fabric_y), "at most 256 routers");
  if (vcs_per_class == 0 || vcs_per_class > 16) bad("vcs_per_class", std::to_string(vcs_per_class), "1..16");
  if ((topology == "ring" || topology == "torus") && vcs_per_class < 2)
    bad("vcs_per_class", std::to_string(vcs_per_class), ">= 2 on a ring or torus (dateline virtual channels)");
  if (buf_depth_flits == 0 || buf_depth_flits > 1024) bad("buf_depth_flits", std::to_string(buf_depth_flits), "1..1024");
  if (router_delay_cycles > 1000) bad("router_delay_cycles", std::to_string(router_delay_cycles), "0..1000");
  if (!(clock_ghz > 0.0 && clock_ghz <= 10.0)) bad("clock_ghz", std::to_string(clock_ghz), "0 < clock_ghz <= 10");
  if (link_bytes_per_cycle == 0 || link_bytes_per_cycle > 1024)
    bad("link_bytes_per_cycle", std::to_string(link_bytes_per_cycle), "1..1024");
  if (rx_poll_cycles == 0) bad("rx_poll_cycles", "0", ">= 1");
  if (rx_wakeup != "interrupt" && rx_wakeup != "poll")
    bad("rx_wakeup", "'" + rx_wakeup + "'", "one of interrupt, poll");
  if (key_source != "software" && key_source != "hardware")
    bad("key_source", "'" + key_source + "'", "one of software, hardware");
  if (max_cycles == 0) bad("max_cycles", "0", ">= 1");
}

std::vector<Location> Scenario::terminals() const {
  std::vector<Location> t;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (size_t p = 0; p < nodes[n].partitions.size(); ++p)
      for (size_t q = 0; q < nodes[n].partitions[p].processes.size(); ++q) t.push_back({n, p, q});
  return t;
}

std::vector<NodeSpec> generate_nodes(const GenerateSpec& g) {
  if (g.nodes == 0 || g.first_id + g.nodes > 256)
    throw ConfigError("bad value " + std::to_string(g.nodes) + " for 'generate.nodes' with first_id " +
                      std::to_string(g.first_id) + ": node ids first_id .. first_id+nodes-1 must fit in 0..255");
  if (g.partitions == 0 || g.partitions > regs::kNumPartitions)
    throw ConfigError("bad value " + std::to_string(g.partitions) + " for 'generate.partitions': 1.." +
                      std::to_string(regs::kNumPartitions));
  if (g.processes == 0 || g.processes > 64)
    throw ConfigError("bad value " + std::to_string(g.processes) + " for 'generate.processes': 1..64");
  const uint32_t quota = g.quota ? g.quota : regs::kNumEndpoints / g.partitions;
  if (quota * g.partitions > regs::kNumEndpoints)
    throw ConfigError("bad value " + std::to_string(g.quota) + " for 'generate.quota': partitions x quota <= " +
                      std::to_string(regs::kNumEndpoints) + " endpoints");
  std::vector<NodeSpec> out;
  for (uint32_t n = 0; n < g.nodes; ++n) {
    NodeSpec N;
    N.name = "n" + std::to_string(n);
    N.id = static_cast<uint8_t>(g.first_id + n);
    for (uint32_t p = 0; p < g.partitions; ++p) {
      PartitionSpec P;
      P.name = N.name + "p" + std::to_string(p);
      P.quota = static_cast<uint8_t>(quota);
      for (uint32_t q = 0; q < g.processes; ++q)
        P.processes.push_back({P.name + "q" + std::to_string(q), static_cast<uint16_t>(1 + q + 100 * p)});
      N.partitions.push_back(P);
    }
    out.push_back(N);
  }
  return out;
}

json Scenario::to_json() const {
  json j;
  j["name"] = name;
  j["seed"] = seed;
  j["clock_ghz"] = clock_ghz;
  j["core"] = core;
  j["topology"] = topology;
  j["fabric_x"] = fabric_x;
  j["fabric_y"] = fabric_y;
  j["vcs_per_class"] = vcs_per_class;
  j["buf_depth_flits"] = buf_depth_flits;
  j["router_delay_cycles"] = router_delay_cycles;
  j["link_bytes_per_cycle"] = link_bytes_per_cycle;
  j["link_latency_cycles"] = link_latency_cycles;
  j["bus_latency_cycles"] = bus_latency_cycles;
  j["rx_wakeup"] = rx_wakeup;
  j["key_source"] = key_source;
  j["rx_poll_cycles"] = rx_poll_cycles;
  j["max_cycles"] = max_cycles;
  j["stats_interval_cycles"] = stats_interval_cycles;
  j["hol_lifetime_cycles"] = hol_lifetime_cycles;
  j["alarm_thresh"] = alarm_thresh;
  j["alarm_window_log2"] = alarm_window_log2;
  for (const auto& N : nodes) {
    json jn{{"name", N.name}, {"id", N.id}};
    if (!N.core.empty()) jn["core"] = N.core;
    for (const auto& P : N.partitions) {
      json jp{{"name", P.name}, {"quota", P.quota}};
      for (const auto& q : P.processes) jp["processes"].push_back({{"name", q.name}, {"pid", q.pid}});
      jn["partitions"].push_back(jp);
    }
    j["nodes"].push_back(jn);
  }
  for (const auto& C : channels)
    j["channels"].push_back({{"receiver", C.receiver},
                             {"sender", C.sender},
                             {"messages", C.messages},
                             {"min_bytes", C.min_bytes},
                             {"max_bytes", C.max_bytes},
                             {"mean_gap_cycles", C.mean_gap_cycles},
                             {"rx_service_cycles", C.rx_service_cycles}});
  if (traffic) {
    j["traffic"] = traffic->to_json();
    j["warmup_cycles"] = warmup_cycles;
    j["measure_cycles"] = measure_cycles;
    j["drain_cycles"] = drain_cycles;
  }
  for (const auto& A : attacks)
    j["attacks"].push_back({{"kind", A.kind},
                            {"attacker", A.attacker},
                            {"channel", A.channel},
                            {"count", A.count},
                            {"start_cycle", A.start_cycle},
                            {"gap_cycles", A.gap_cycles},
                            {"rogue_node_id", A.rogue_node_id}});
  return j;
}

namespace {
template <typename T>
void get(const json& j, const char* key, T& out, const std::string& where) {
  if (!j.contains(key)) return;  // keep the default
  const json& v = j.at(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Never let nlohmann convert a float or an out-of-range number: that
    // static_cast is undefined behaviour (found by fuzz/scenario_fuzz.cpp).
    bool ok = false;
    if (v.is_number_unsigned()) {
      ok = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      ok = x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
           (x < 0 || static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max()));
    }
    if (!ok)
      throw ConfigError(where + ": key '" + key + "' has value " + v.dump() + ": expected an integer in [" +
                        std::to_string(std::numeric_limits<T>::min()) + ", " +
                        std::to_string(std::numeric_limits<T>::max()) + "]");
    out = v.get<T>();
    return;
  }
  try {
    out = v.get<T>();
  } catch (const json::exception&) {
    throw ConfigError(where + ": key '" + key + "' has value " + v.dump() + " of the wrong type");
  }
}
void only_keys(const json& j, std::initializer_list<const char*> keys, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": expected an object, got " + j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    std::string allowed;
    for (const char* k : keys) {
      ok |= it.key() == k;
      allowed += std::string(allowed.empty() ? "" : ", ") + k;
    }
    if (!ok) throw ConfigError(where + ": unknown key '" + it.key() + "' (allowed: " + allowed + ")");
  }
}
}  // namespace

Scenario scenario_from_json(const json& j, const std::string& where) {
  Scenario s;
  s.nodes.clear();
  s.channels.clear();
  only_keys(j, {"name", "seed", "clock_ghz", "core", "topology", "fabric_x", "fabric_y", "vcs_per_class", "buf_depth_flits",
                "router_delay_cycles", "link_bytes_per_cycle", "link_latency_cycles", "bus_latency_cycles",
                "rx_wakeup", "key_source", "rx_poll_cycles", "max_cycles", "stats_interval_cycles", "hol_lifetime_cycles", "alarm_thresh",
                "alarm_window_log2", "nodes", "generate", "channels", "attacks", "traffic", "warmup_cycles",
                "measure_cycles", "drain_cycles"},
            where);
  get(j, "name", s.name, where);
  get(j, "seed", s.seed, where);
  get(j, "clock_ghz", s.clock_ghz, where);
  get(j, "core", s.core, where);
  get(j, "topology", s.topology, where);
  get(j, "fabric_x", s.fabric_x, where);
  get(j, "fabric_y", s.fabric_y, where);
  get(j, "vcs_per_class", s.vcs_per_class, where);
  get(j, "buf_depth_flits", s.buf_depth_flits, where);
  get(j, "router_delay_cycles", s.router_delay_cycles, where);
  get(j, "link_bytes_per_cycle", s.link_bytes_per_cycle, where);
  get(j, "link_latency_cycles", s.link_latency_cycles, where);
  get(j, "bus_latency_cycles", s.bus_latency_cycles, where);
  get(j, "rx_wakeup", s.rx_wakeup, where);
  get(j, "key_source", s.key_source, where);
  get(j, "rx_poll_cycles", s.rx_poll_cycles, where);
  get(j, "max_cycles", s.max_cycles, where);
  get(j, "stats_interval_cycles", s.stats_interval_cycles, where);
  get(j, "hol_lifetime_cycles", s.hol_lifetime_cycles, where);
  get(j, "alarm_thresh", s.alarm_thresh, where);
  get(j, "alarm_window_log2", s.alarm_window_log2, where);
  get(j, "warmup_cycles", s.warmup_cycles, where);
  get(j, "measure_cycles", s.measure_cycles, where);
  get(j, "drain_cycles", s.drain_cycles, where);
  if (j.contains("traffic")) s.traffic = TrafficSpec::from_json(j.at("traffic"), where + ": traffic");
  if (j.contains("generate")) {
    if (j.contains("nodes")) throw ConfigError(where + ": give either 'nodes' or 'generate', not both");
    const json& jg = j.at("generate");
    only_keys(jg, {"nodes", "partitions", "processes", "quota", "first_id"}, where + ": generate");
    GenerateSpec g;
    get(jg, "nodes", g.nodes, where + ": generate");
    get(jg, "partitions", g.partitions, where + ": generate");
    get(jg, "processes", g.processes, where + ": generate");
    get(jg, "quota", g.quota, where + ": generate");
    get(jg, "first_id", g.first_id, where + ": generate");
    try {
      s.nodes = generate_nodes(g);
    } catch (const ConfigError& e) {
      throw ConfigError(where + ": " + e.what());
    }
  }
  if (j.contains("nodes")) {
    size_t n = 0;
    for (const auto& jn : j.at("nodes")) {
      const std::string w = where + ": nodes[" + std::to_string(n++) + "]";
      only_keys(jn, {"name", "id", "core", "partitions"}, w);
      NodeSpec N;
      get(jn, "name", N.name, w);
      get(jn, "core", N.core, w);
      unsigned id = 0;
      get(jn, "id", id, w);
      if (id > 255) throw ConfigError(w + ": key 'id' has value " + std::to_string(id) + " (allowed 0..255)");
      N.id = static_cast<uint8_t>(id);
      size_t p = 0;
      if (jn.contains("partitions"))
        for (const auto& jp : jn.at("partitions")) {
          const std::string wp = w + ".partitions[" + std::to_string(p++) + "]";
          only_keys(jp, {"name", "quota", "processes"}, wp);
          PartitionSpec P;
          get(jp, "name", P.name, wp);
          unsigned quota = P.quota;
          get(jp, "quota", quota, wp);
          if (quota > regs::kNumEndpoints)
            throw ConfigError(wp + ": key 'quota' has value " + std::to_string(quota) + " (allowed 0.." +
                              std::to_string(regs::kNumEndpoints) + ")");
          P.quota = static_cast<uint8_t>(quota);
          if (jp.contains("processes"))
            for (const auto& jq : jp.at("processes")) {
              only_keys(jq, {"name", "pid"}, wp + ".processes");
              ProcessSpec q;
              get(jq, "name", q.name, wp);
              unsigned pid = 0;
              get(jq, "pid", pid, wp);
              if (pid == 0 || pid > 0xFFFF)
                throw ConfigError(wp + ": process '" + q.name + "' has pid " + std::to_string(pid) +
                                  " (allowed 1..65535)");
              q.pid = static_cast<uint16_t>(pid);
              P.processes.push_back(q);
            }
          N.partitions.push_back(P);
        }
      s.nodes.push_back(N);
    }
  }
  if (j.contains("channels")) {
    size_t c = 0;
    for (const auto& jc : j.at("channels")) {
      const std::string w = where + ": channels[" + std::to_string(c++) + "]";
      only_keys(jc, {"receiver", "sender", "messages", "min_bytes", "max_bytes", "mean_gap_cycles", "rx_service_cycles"},
                w);
      ChannelSpec C;
      get(jc, "receiver", C.receiver, w);
      get(jc, "sender", C.sender, w);
      get(jc, "messages", C.messages, w);
      get(jc, "min_bytes", C.min_bytes, w);
      get(jc, "max_bytes", C.max_bytes, w);
      get(jc, "mean_gap_cycles", C.mean_gap_cycles, w);
      get(jc, "rx_service_cycles", C.rx_service_cycles, w);
      s.channels.push_back(C);
    }
  }
  if (j.contains("attacks")) {
    size_t a = 0;
    for (const auto& ja : j.at("attacks")) {
      const std::string w = where + ": attacks[" + std::to_string(a++) + "]";
      only_keys(ja, {"kind", "attacker", "channel", "count", "start_cycle", "gap_cycles", "rogue_node_id"}, w);
      AttackSpec A;
      get(ja, "kind", A.kind, w);
      get(ja, "attacker", A.attacker, w);
      get(ja, "channel", A.channel, w);
      get(ja, "count", A.count, w);
      get(ja, "start_cycle", A.start_cycle, w);
      get(ja, "gap_cycles", A.gap_cycles, w);
      unsigned id = A.rogue_node_id;
      get(ja, "rogue_node_id", id, w);
      if (id > 255) throw ConfigError(w + ": key 'rogue_node_id' has value " + std::to_string(id) + " (allowed 0..255)");
      A.rogue_node_id = static_cast<uint8_t>(id);
      s.attacks.push_back(A);
    }
  }
  try {
    s.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  return s;
}

Scenario fig2_scenario() {
  Scenario s;
  // Node and process numbers are the patent's reference numerals.
  NodeSpec n202{"202", 202, {}, ""};
  n202.partitions = {
      {"208a", 4, {{"210a", 2101}, {"210b", 2102}}},
      {"208b", 4, {{"212a", 2121}, {"212b", 2122}, {"212c", 2123}}},
      {"208c", 4, {{"214a", 2141}, {"214b", 2142}}},
      {"208d", 4, {{"216", 2160}}},
  };
  NodeSpec n204{"204", 204, {}, ""};
  n204.partitions = {
      {"218a", 8, {{"220a", 2201}, {"220b", 2202}}},
      {"218b", 8, {{"222", 2220}}},
  };
  s.nodes = {n202, n204};
  s.channels = {
      {"216", "220b", 200, 64, 512, 300},   // the patent's channel: 216 <- 220b
      {"210a", "222", 100, 32, 256, 400},   // node 202 <- node 204
      {"220a", "212b", 100, 128, 1024, 500},  // node 204 <- node 202
      {"212a", "214a", 100, 16, 128, 250},  // same node, different partitions
      {"214b", "210b", 100, 64, 64, 350},
      {"222", "212c", 50, 256, 256, 600},
  };
  return s;
}

Scenario fig2_attack_scenario() {
  Scenario s = fig2_scenario();
  s.name = "fig2-attacks";
  // All on the patent's channel 216 <- 220b (index 0), while it carries traffic.
  s.attacks = {
      {"rogue_node_spoofed", "", 0, 20, 2000, 150, 250},
      {"rogue_node_own_id", "", 0, 20, 2100, 150, 251},
      {"steal_endpoint", "222", 0, 20, 2200, 150, 0},   // node 204: doorbell on 220b's send entry
      {"steal_endpoint", "214a", 0, 20, 2300, 150, 0},  // node 202: reads 216's receive entry
      {"foreign_agent", "222", 0, 10, 2400, 300, 0},    // agent of 218b on 220b's entry
      {"foreign_agent", "210a", 0, 10, 2500, 300, 0},   // agent of 208a on 216's entry
      // Attackers of the threat model (docs/security.md), next to the traffic.
      {"rogue_all_kinds", "", 0, 40, 2600, 120, 252},  // every packet kind, own id and spoofed
      {"flooder", "", 0, 2000, 3000, 0, 253},          // line rate against 216's receive entry
      {"credit_withholder", "", 0, 16, 3200, 200, 254},  // never returns a credit
      {"key_predictor", "", 0, 16, 3400, 100, 249},    // the old driver's seeded mt19937_64 keys
  };
  s.hol_lifetime_cycles = 1024;
  return s;
}

}  // namespace cmm::tb
