#include "scenario.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "cmm_regs.h"
#include "scenario_keys.h"

namespace cmm::tb {

std::vector<GeometrySpec>& extra_rtl_geometries() {
  static std::vector<GeometrySpec> g;
  return g;
}

constexpr uint64_t kNodeIds = uint64_t{1} << regs::kNodeIdBits;  // node ids 0..kNodeIds-1

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

namespace {

// Ranges and allowed values of every declared field of one object.
void check_fields(KeyScope scope, const void* obj, const std::string& at) {
  for (const auto& d : scenario_keys()) {
    if (d.scope != scope || !d.load) continue;
    const json v = d.load(obj);
    if (d.def.is_null() && v == json("")) continue;  // optional, absent
    d.check(v, "", at + d.name);
  }
}

[[noreturn]] void bad(const std::string& key, const std::string& val, const std::string& allowed) {
  throw ConfigError("key '" + key + "' has value " + val + " (allowed: " + allowed + ")");
}

}  // namespace

void Scenario::validate() const {
  // Per key: type, range, allowed values (scenario_keys.cpp).
  check_fields(KeyScope::kScenario, this, "");
  for (size_t n = 0; n < nodes.size(); ++n) {
    const std::string kn = "nodes[" + std::to_string(n) + "].";
    check_fields(KeyScope::kNode, &nodes[n], kn);
    for (size_t p = 0; p < nodes[n].partitions.size(); ++p) {
      const std::string kp = kn + "partitions[" + std::to_string(p) + "].";
      check_fields(KeyScope::kPartition, &nodes[n].partitions[p], kp);
      for (size_t q = 0; q < nodes[n].partitions[p].processes.size(); ++q)
        check_fields(KeyScope::kProcess, &nodes[n].partitions[p].processes[q],
                     kp + "processes[" + std::to_string(q) + "].");
    }
  }
  for (size_t c = 0; c < channels.size(); ++c)
    check_fields(KeyScope::kChannel, &channels[c], "channels[" + std::to_string(c) + "].");
  for (size_t a = 0; a < attacks.size(); ++a)
    check_fields(KeyScope::kAttack, &attacks[a], "attacks[" + std::to_string(a) + "].");
  for (size_t f = 0; f < faults.size(); ++f)
    check_fields(KeyScope::kFault, &faults[f], "faults[" + std::to_string(f) + "].");
  check_fields(KeyScope::kGeometry, &geometry, "geometry.");

  // Rules between keys.
  if (nodes.empty()) bad("nodes", "[]", "at least one node");
  std::set<uint16_t> ids;
  std::set<std::string> procs;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const auto& N = nodes[n];
    const std::string key = "nodes[" + std::to_string(n) + "]";
    if (!ids.insert(N.id).second) bad(key + ".id", std::to_string(N.id), "node ids must be unique");
    if (security_mode == "strong" && N.id >= regs::kLinkNodes)
      bad(key + ".id", std::to_string(N.id),
          "0.." + std::to_string(regs::kLinkNodes - 1) + " in strong mode (one link key per node id, link_nodes)");
    if (N.partitions.empty() || N.partitions.size() > geometry.num_partitions)
      bad(key + ".partitions", std::to_string(N.partitions.size()) + " partitions",
          "1.." + std::to_string(geometry.num_partitions) + " partitions (geometry.num_partitions)");
    if (geometry != GeometrySpec{} && core_of(N) == "rtl") {
      const auto& g = extra_rtl_geometries();
      if (std::find(g.begin(), g.end(), geometry) == g.end())
        bad(key + ".core", "\"rtl\"",
            "cpp with this geometry (the RTL is generated for the default geometry" +
                std::string(g.empty() ? "" : " and the second RTL geometry, CMM_RTL_GEOMETRY2") + ": docs/rtl.md)");
    }
    uint32_t quota = 0;
    for (size_t p = 0; p < N.partitions.size(); ++p) {
      const auto& P = N.partitions[p];
      quota += P.quota;
      for (size_t q = 0; q < P.processes.size(); ++q)
        if (!procs.insert(P.processes[q].name).second)
          bad(key + ".partitions[" + std::to_string(p) + "].processes[" + std::to_string(q) + "].name",
              "\"" + P.processes[q].name + "\"", "process names must be unique");
    }
    if (quota > geometry.num_endpoints)
      bad(key + ".partitions[].quota", "a sum of " + std::to_string(quota),
          "at most " + std::to_string(geometry.num_endpoints) + " endpoints per node (geometry.num_endpoints)");
  }
  if (traffic) {
    if (!channels.empty())
      bad("channels", std::to_string(channels.size()) + " channels",
          "none when 'traffic' is given (the pattern decides the channels)");
    if (!attacks.empty()) bad("attacks", std::to_string(attacks.size()) + " attacks", "none with 'traffic' (yet)");
    const auto n = static_cast<uint32_t>(terminals().size());
    if (n < 2) bad("traffic", std::to_string(n) + " terminals (processes)", "at least 2 processes");
    traffic->validate(n);
  }
  for (size_t c = 0; c < channels.size(); ++c) {
    const auto& C = channels[c];
    const std::string key = "channels[" + std::to_string(c) + "]";
    for (const auto* end : {&C.receiver, &C.sender})
      if (!procs.count(*end))
        bad(key + (end == &C.receiver ? ".receiver" : ".sender"), "\"" + *end + "\"", "the name of a process");
    if (C.receiver == C.sender) bad(key + ".sender", "\"" + C.sender + "\"", "a process other than the receiver");
    if (C.min_bytes > C.max_bytes)
      bad(key + ".max_bytes", std::to_string(C.max_bytes),
          std::to_string(C.min_bytes) + ".." + std::to_string(regs::kMaxMsgBytes) + " (>= min_bytes)");
  }
  for (size_t a = 0; a < attacks.size(); ++a) {
    const auto& A = attacks[a];
    const std::string key = "attacks[" + std::to_string(a) + "]";
    if (A.channel >= channels.size())
      bad(key + ".channel", std::to_string(A.channel),
          channels.empty() ? "an index into channels, which is empty"
                           : "an index into channels, 0.." + std::to_string(channels.size() - 1));
    const auto& C = channels[A.channel];
    if (!is_rogue_attack(A.kind)) {
      if (!procs.count(A.attacker)) bad(key + ".attacker", "\"" + A.attacker + "\"", "the name of a process");
      const Location at = locate(A.attacker);
      const Location r = locate(C.receiver), s = locate(C.sender);
      if (at.node != r.node && at.node != s.node)
        bad(key + ".attacker", "\"" + A.attacker + "\"", "a process on the node of the channel's sender or receiver");
      if (A.attacker == C.receiver || A.attacker == C.sender)
        bad(key + ".attacker", "\"" + A.attacker + "\"", "a process other than the channel's own");
      if (A.kind == "foreign_agent" && ((at.node == r.node && at.part == r.part) || (at.node == s.node && at.part == s.part)))
        bad(key + ".attacker", "\"" + A.attacker + "\"", "a process in another partition than the channel's ends");
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
        bad(key + ".gap_cycles", "0", "1.." + std::to_string(UINT32_MAX) + " (0, line rate, only for kind flooder)");
    }
  }
  if (faults.size() > kMaxFaultRules)
    bad("faults", std::to_string(faults.size()) + " rules", "at most " + std::to_string(kMaxFaultRules) + " rules");
  for (size_t f = 0; f < faults.size(); ++f) {
    const std::string& l = faults[f].link;
    bool ok = l == "all";
    for (const auto& N : nodes)
      ok |= l == N.name || l == N.name + ".in" || l == N.name + ".out";
    if (!ok)
      bad("faults[" + std::to_string(f) + "].link", "\"" + l + "\"",
          "all, <node name>, <node name>.in or <node name>.out, with a node of the scenario");
  }
  if (topology == "ring" && fabric_y > 1) bad("fabric_y", std::to_string(fabric_y), "0 or 1 for a ring");
  if (uint64_t{fabric_x} * std::max<uint32_t>(fabric_y, 1) > kNodeIds)
    bad("fabric_y", std::to_string(fabric_y),
        "at most 65536 routers: fabric_x x fabric_y = " + std::to_string(fabric_x) + " x " + std::to_string(fabric_y));
  if ((topology == "ring" || topology == "torus") && vcs_per_class < 2)
    bad("vcs_per_class", std::to_string(vcs_per_class), "2..16 on a ring or torus (dateline virtual channels)");
  if (switched_topology(topology)) {
    // The graph itself (a topology file's lines included) is checked when the
    // fabric is built: errors name file:line and the value (ConfigError).
    if (topology == "file" && topo_file.empty()) bad("topo_file", "\"\"", "a topology file for topology file");
    if ((routing == "ecmp" || routing == "adaptive") && topology != "fat_tree")
      bad("routing", "\"" + routing + "\"",
          "minimal or updown on " + topology + " (ecmp, adaptive: fat_tree; valiant, ugal: dragonfly)");
    if ((routing == "valiant" || routing == "ugal") && topology != "dragonfly")
      bad("routing", "\"" + routing + "\"",
          "minimal or updown on " + topology + " (ecmp, adaptive: fat_tree; valiant, ugal: dragonfly)");
    if ((routing == "valiant" || routing == "ugal") && vcs_per_class < 3)
      bad("vcs_per_class", std::to_string(vcs_per_class),
          "3..16 with routing " + routing + " (a VC set per global link crossed: 0, 1, 2)");
  }
}

bool switched_topology(const std::string& t) {
  return t == "fat_tree" || t == "dragonfly" || t == "flatfly" || t == "file";
}

uint8_t routing_index(const std::string& r) {
  if (r == "minimal") return 0;
  if (r == "ecmp") return 1;
  if (r == "updown") return 2;
  if (r == "valiant") return 3;
  if (r == "ugal") return 4;
  if (r == "adaptive") return 5;
  throw ConfigError("routing \"" + r + "\": allowed: minimal, ecmp, updown, valiant, ugal, adaptive");
}

uint8_t arrangement_index(const std::string& a) {
  if (a == "absolute" || a == "consecutive") return 0;
  if (a == "palmtree") return 1;
  throw ConfigError("df_arrangement \"" + a + "\": allowed: absolute, consecutive, palmtree");
}

std::vector<std::string> Scenario::ineffective_keys(const nlohmann::json& given) const {
  std::vector<std::string> w;
  if (!given.is_object()) return w;
  for (const auto& d : scenario_keys()) {
    if (d.scope != KeyScope::kScenario || !d.effective || !d.load || !given.contains(d.name)) continue;
    if (d.effective(*this) || d.load(this) == d.def) continue;
    w.push_back(fmt::format("key '{}' = {} has no effect here (only {}); ignored", d.name, d.load(this).dump(),
                            d.applies));
  }
  return w;
}

std::vector<Location> Scenario::terminals() const {
  std::vector<Location> t;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (size_t p = 0; p < nodes[n].partitions.size(); ++p)
      for (size_t q = 0; q < nodes[n].partitions[p].processes.size(); ++q) t.push_back({n, p, q});
  return t;
}

std::vector<NodeSpec> generate_nodes(const GenerateSpec& g, uint32_t num_endpoints) {
  check_fields(KeyScope::kGenerate, &g, "generate.");
  if (uint64_t{g.first_id} + g.nodes > kNodeIds)
    bad("generate.nodes", std::to_string(g.nodes),
        "1.." + std::to_string(kNodeIds - g.first_id) + " with first_id " + std::to_string(g.first_id) +
            ": node ids first_id .. first_id+nodes-1 must fit in 0..65535");
  // The strap and PART_INFO.QUOTA are 8 bits: an even share of 256 is 255.
  const uint32_t quota = g.quota ? g.quota : num_endpoints / g.partitions;
  if (quota * g.partitions > num_endpoints)
    bad("generate.quota", std::to_string(g.quota),
        "partitions x quota <= " + std::to_string(num_endpoints) + " endpoints (geometry.num_endpoints)");
  std::vector<NodeSpec> out;
  for (uint32_t n = 0; n < g.nodes; ++n) {
    NodeSpec N;
    N.name = "n" + std::to_string(n);
    N.id = static_cast<uint16_t>(g.first_id + n);
    for (uint32_t p = 0; p < g.partitions; ++p) {
      PartitionSpec P;
      P.name = N.name + "p" + std::to_string(p);
      P.quota = quota;
      for (uint32_t q = 0; q < g.processes; ++q)
        P.processes.push_back({P.name + "q" + std::to_string(q), static_cast<uint16_t>(1 + q + 100 * p)});
      N.partitions.push_back(P);
    }
    out.push_back(N);
  }
  return out;
}

namespace {

json dump_fields(KeyScope scope, const void* obj, const Scenario* s) {
  json j = json::object();
  for (const auto& d : scenario_keys()) {
    if (d.scope != scope || !d.load) continue;
    if (d.dump_when_effective_only && s && d.effective && !d.effective(*s)) continue;
    json v = d.load(obj);
    if (d.def.is_null() && v == json("")) continue;  // optional, absent
    j[d.name] = std::move(v);
  }
  return j;
}

}  // namespace

json Scenario::to_json() const {
  json j = dump_fields(KeyScope::kScenario, this, this);
  for (const auto& N : nodes) {
    json jn = dump_fields(KeyScope::kNode, &N, nullptr);
    for (const auto& P : N.partitions) {
      json jp = dump_fields(KeyScope::kPartition, &P, nullptr);
      for (const auto& q : P.processes) jp["processes"].push_back(dump_fields(KeyScope::kProcess, &q, nullptr));
      jn["partitions"].push_back(jp);
    }
    j["nodes"].push_back(jn);
  }
  for (const auto& C : channels) j["channels"].push_back(dump_fields(KeyScope::kChannel, &C, nullptr));
  if (traffic) j["traffic"] = traffic->to_json();
  if (!(energy == EnergyParams{})) j["energy"] = energy.to_json();
  if (geometry != GeometrySpec{}) j["geometry"] = dump_fields(KeyScope::kGeometry, &geometry, nullptr);
  for (const auto& A : attacks) j["attacks"].push_back(dump_fields(KeyScope::kAttack, &A, nullptr));
  for (const auto& F : faults) j["faults"].push_back(dump_fields(KeyScope::kFault, &F, nullptr));
  return j;
}

namespace {

// Unknown keys are refused with the keys `scope` allows.
void only_keys(const json& j, KeyScope scope, const std::string& where, const std::string& at) {
  if (!j.is_object())
    throw ConfigError(where + ": " + (at.empty() ? "the scenario" : "'" + at + "'") + " must be an object, got " +
                      j.dump());
  const auto names = key_names(scope);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(names.begin(), names.end(), it.key()) != names.end()) continue;
    std::string allowed;
    for (const auto& n : names) allowed += (allowed.empty() ? "" : ", ") + n;
    throw ConfigError(where + ": unknown key '" + it.key() + "'" + (at.empty() ? "" : " in " + at) +
                      " (allowed: " + allowed + ")");
  }
}

// Checks and stores every scalar key of `scope` present in j.
void read_fields(KeyScope scope, void* obj, const json& j, const std::string& where, const std::string& at) {
  only_keys(j, scope, where, at);
  for (const auto& d : scenario_keys()) {
    if (d.scope != scope) continue;
    if (d.required && !j.contains(d.name))
      throw ConfigError(where + ": key '" + (at.empty() ? "" : at + ".") + d.name + "' is missing (allowed: " +
                        d.allowed_text() + (d.unit.empty() ? "" : ", " + d.unit) + ")");
    if (!j.contains(d.name)) continue;
    const json& v = j.at(d.name);
    d.check(v, where, (at.empty() ? "" : at + ".") + d.name);
    if (d.store) d.store(obj, v);
  }
}

}  // namespace

Scenario scenario_from_json(const json& j, const std::string& where, std::vector<std::string>* warnings) {
  Scenario s;
  s.nodes.clear();
  s.channels.clear();
  read_fields(KeyScope::kScenario, &s, j, where, "");
  if (j.contains("traffic")) s.traffic = TrafficSpec::from_json(j.at("traffic"), where + ": traffic");
  if (j.contains("energy")) s.energy = EnergyParams::from_json(j.at("energy"), where);
  if (j.contains("geometry")) read_fields(KeyScope::kGeometry, &s.geometry, j.at("geometry"), where, "geometry");
  if (j.contains("generate")) {
    if (j.contains("nodes")) throw ConfigError(where + ": give either 'nodes' or 'generate', not both");
    GenerateSpec g;
    read_fields(KeyScope::kGenerate, &g, j.at("generate"), where, "generate");
    try {
      s.nodes = generate_nodes(g, s.geometry.num_endpoints);
    } catch (const ConfigError& e) {
      throw ConfigError(where + ": " + e.what());
    }
  }
  auto idx = [](const std::string& a, size_t i) { return a + "[" + std::to_string(i) + "]"; };
  if (j.contains("nodes")) {
    size_t n = 0;
    for (const auto& jn : j.at("nodes")) {
      const std::string at = idx("nodes", n++);
      NodeSpec N;
      read_fields(KeyScope::kNode, &N, jn, where, at);
      size_t p = 0;
      if (jn.contains("partitions"))
        for (const auto& jp : jn.at("partitions")) {
          const std::string ap = idx(at + ".partitions", p++);
          PartitionSpec P;
          read_fields(KeyScope::kPartition, &P, jp, where, ap);
          size_t q = 0;
          if (jp.contains("processes"))
            for (const auto& jq : jp.at("processes")) {
              ProcessSpec Q;
              read_fields(KeyScope::kProcess, &Q, jq, where, idx(ap + ".processes", q++));
              P.processes.push_back(Q);
            }
          N.partitions.push_back(P);
        }
      s.nodes.push_back(N);
    }
  }
  if (j.contains("channels")) {
    size_t c = 0;
    for (const auto& jc : j.at("channels")) {
      ChannelSpec C;
      read_fields(KeyScope::kChannel, &C, jc, where, idx("channels", c++));
      s.channels.push_back(C);
    }
  }
  if (j.contains("attacks")) {
    size_t a = 0;
    for (const auto& ja : j.at("attacks")) {
      AttackSpec A;
      read_fields(KeyScope::kAttack, &A, ja, where, idx("attacks", a++));
      s.attacks.push_back(A);
    }
  }
  if (j.contains("faults")) {
    size_t f = 0;
    for (const auto& jf : j.at("faults")) {
      FaultRuleSpec F;
      const std::string at = idx("faults", f++);
      read_fields(KeyScope::kFault, &F, jf, where, at);
      s.faults.push_back(F);
    }
  }
  try {
    s.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  if (warnings)
    for (const auto& w : s.ineffective_keys(j)) warnings->push_back(where + ": " + w);
  return s;
}

FaultRuleSpec parse_fault_option(const std::string& text) {
  const std::string where = "--fault " + text;
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError(where + ": expected KIND=RATE[@LINK] or off");
  const auto at = text.find('@', eq);
  FaultRuleSpec f;
  const json kind = text.substr(0, eq);
  find_key(KeyScope::kFault, "kind")->check(kind, where, "faults[].kind");
  f.kind = kind.get<std::string>();
  const json rate = cli_value(text.substr(eq + 1, at == std::string::npos ? std::string::npos : at - eq - 1));
  find_key(KeyScope::kFault, "rate")->check(rate, where, "faults[].rate");
  f.rate = rate.get<double>();
  if (at != std::string::npos) f.link = text.substr(at + 1);
  return f;
}

void apply_set(json& j, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError("--set '" + kv + "': expected KEY=VALUE");
  const std::string key = kv.substr(0, eq);
  const std::string where = "--set " + kv;
  const KeyDecl* d = find_key_path(key);
  if (!d || d->scope == KeyScope::kGenerate || key.find('[') != std::string::npos) {
    std::string top;
    for (const auto& n : key_names(KeyScope::kScenario))
      if (find_key(KeyScope::kScenario, n)->load) top += (top.empty() ? "" : ", ") + n;
    throw ConfigError(where + ": no scalar scenario key '" + key + "' (allowed: " + top +
                      ", traffic.* (--list-keys); nested keys as a.b.c)");
  }
  if (d->type == KeyType::kArray || d->type == KeyType::kObject)
    throw ConfigError(where + ": '" + key + "' is not a scalar key of the scenario (edit a -c file for it)");
  // A string key takes the text as it is (--set name=123 is the name "123"),
  // or a JSON string literal (--set key_source='"hardware"', the form older
  // docs and scripts use).
  const bool text = d->type == KeyType::kString || d->type == KeyType::kEnum;
  const std::string raw = kv.substr(eq + 1);
  json v;
  if (text) {
    const json lit = raw.size() >= 2 && raw.front() == '"' && raw.back() == '"'
                         ? json::parse(raw, nullptr, /*allow_exceptions=*/false)
                         : json();
    v = lit.is_string() ? lit : json(raw);
  } else {
    v = cli_value(raw);
  }
  d->check(v, where, key);
  if (d->scope == KeyScope::kScenario) {
    j[key] = v;
    return;
  }
  if (d->scope == KeyScope::kEnergy) {
    j["energy"][key.substr(7)] = v;
    return;
  }
  if (d->scope == KeyScope::kGeometry) {
    j["geometry"][key.substr(9)] = v;
    return;
  }
  // traffic.a.b: the scenario must have traffic.
  if (!j.contains("traffic"))
    throw ConfigError(where + ": the scenario has no 'traffic' (generated traffic); '" + key + "' has no effect");
  json* node = &j["traffic"];
  std::string rest = key.substr(std::string("traffic.").size());
  for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
    node = &(*node)[rest.substr(0, dot)];
    rest = rest.substr(dot + 1);
  }
  (*node)[rest] = v;
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
