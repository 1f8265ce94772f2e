#include "energy.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "config_error.h"
#include "scenario_keys.h"

namespace cmm::tb {

using nlohmann::json;

namespace {

// Every parameter once: the scenario key (energy.<name>), the field, unit and description.
struct Param {
  const char* name;
  double EnergyParams::*field;
  const char* unit;
  const char* desc;
};
const Param kParams[] = {
    {"link_onchip_pj_per_bit", &EnergyParams::link_onchip_pj_per_bit, "pJ/bit",
     "link energy per bit, on-chip class (flight time <= onchip_max_ns)"},
    {"link_board_pj_per_bit", &EnergyParams::link_board_pj_per_bit, "pJ/bit",
     "link energy per bit, board class (flight time <= board_max_ns): SerDes and trace"},
    {"link_cable_pj_per_bit", &EnergyParams::link_cable_pj_per_bit, "pJ/bit",
     "link energy per bit, cable class (longer): transceivers and cable"},
    {"onchip_max_ns", &EnergyParams::onchip_max_ns, "ns", "longest link flight time of the on-chip class"},
    {"board_max_ns", &EnergyParams::board_max_ns, "ns",
     "longest link flight time of the board class (>= onchip_max_ns)"},
    {"buffer_write_pj", &EnergyParams::buffer_write_pj, "pJ/flit", "switch/router input buffer write per flit"},
    {"buffer_read_pj", &EnergyParams::buffer_read_pj, "pJ/flit", "switch/router input buffer read per flit"},
    {"crossbar_pj", &EnergyParams::crossbar_pj, "pJ/flit", "switch/router crossbar traversal per flit"},
    {"alloc_pj", &EnergyParams::alloc_pj, "pJ/flit", "route computation and VC/switch allocation per flit"},
    {"table_lookup_pj", &EnergyParams::table_lookup_pj, "pJ/lookup", "CMM: one CST or CKT entry read"},
    {"key_compare_pj", &EnergyParams::key_compare_pj, "pJ/compare", "CMM: one 128-bit constant-time key compare"},
    {"register_access_pj", &EnergyParams::register_access_pj, "pJ/access", "CMM: one register-port transaction"},
    {"packet_buffer_pj_per_byte", &EnergyParams::packet_buffer_pj_per_byte, "pJ/byte",
     "CMM: packet buffer write or read per byte"},
    {"mac_pj_per_byte", &EnergyParams::mac_pj_per_byte, "pJ/byte", "CMM strong mode: MAC engine per byte absorbed"},
    {"cmm_static_mw", &EnergyParams::cmm_static_mw, "mW", "static (leakage) power of each CMM"},
    {"buffer_static_mw_per_byte", &EnergyParams::buffer_static_mw_per_byte, "mW/byte",
     "static power per byte of switch/router input buffer"},
    {"crossbar_static_mw_per_port", &EnergyParams::crossbar_static_mw_per_port, "mW/port",
     "static power of the crossbar per switch/router port"},
    {"alloc_static_mw", &EnergyParams::alloc_static_mw, "mW",
     "static power of each switch/router's route computation and allocators"},
    {"link_onchip_static_mw", &EnergyParams::link_onchip_static_mw, "mW",
     "static power per link direction, on-chip class"},
    {"link_board_static_mw", &EnergyParams::link_board_static_mw, "mW",
     "static power per link direction, board class (SerDes idle power)"},
    {"link_cable_static_mw", &EnergyParams::link_cable_static_mw, "mW",
     "static power per link direction, cable class (transceiver idle power)"},
};

KeyDecl param_decl(KeyScope scope, const Param& p) {
  KeyDecl d = KeyDecl::make(scope, p.name, KeyType::kReal, p.unit, p.desc);
  d.rmin = 0;
  d.rmax = std::numeric_limits<double>::max();
  d.def = EnergyParams{}.*p.field;
  return d;
}

std::string allowed_names() {
  std::string s = "profile";
  for (const auto& p : kParams) s += std::string(", ") + p.name;
  return s;
}

// Applies the keys of `j` (not `profile`) to `e`; `where` names the source.
void apply(EnergyParams& e, const json& j, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "profile") continue;
    const Param* p = nullptr;
    for (const auto& q : kParams)
      if (it.key() == q.name) p = &q;
    if (!p)
      throw ConfigError(fmt::format("{}: unknown key 'energy.{}' (allowed: {})", where, it.key(), allowed_names()));
    param_decl(KeyScope{}, *p).check(it.value(), where, std::string("energy.") + p->name);
    e.*(p->field) = it.value().get<double>();
  }
}

}  // namespace

bool EnergyParams::operator==(const EnergyParams& o) const {
  for (const auto& p : kParams)
    if (this->*p.field != o.*p.field) return false;
  return profile == o.profile;
}

json EnergyParams::to_json() const {
  json j = json::object();
  if (!profile.empty()) j["profile"] = profile;
  for (const auto& p : kParams) j[p.name] = this->*p.field;
  return j;
}

EnergyParams EnergyParams::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": 'energy' must be an object, got " + j.dump());
  EnergyParams e;
  if (j.contains("profile")) {
    const json& pv = j.at("profile");
    if (!pv.is_string())
      throw ConfigError(where + ": key 'energy.profile' has value " + pv.dump() + " (allowed: a file path)");
    e.profile = pv.get<std::string>();
    std::ifstream in(e.profile);
    if (!in)
      throw ConfigError(where + ": key 'energy.profile': cannot open '" + e.profile + "' (" + std::strerror(errno) +
                        ")");
    const json pj = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (pj.is_discarded() || !pj.is_object())
      throw ConfigError(e.profile + ": an energy profile must be a JSON object of energy keys");
    if (pj.contains("profile")) throw ConfigError(e.profile + ": a profile cannot name another profile");
    apply(e, pj, e.profile);
  }
  apply(e, j, where);
  if (e.board_max_ns < e.onchip_max_ns)
    throw ConfigError(fmt::format("{}: key 'energy.board_max_ns' has value {} (allowed: a number >= "
                                  "energy.onchip_max_ns = {}, ns)",
                                  where, e.board_max_ns, e.onchip_max_ns));
  return e;
}

std::vector<KeyDecl> energy_key_decls(KeyScope scope) {
  std::vector<KeyDecl> v;
  KeyDecl prof = KeyDecl::make(scope, "profile", KeyType::kString, "",
                               "JSON file of energy keys, read first; the keys beside it override it");
  v.push_back(prof);
  for (const auto& p : kParams) v.push_back(param_decl(scope, p));
  return v;
}

const char* to_string(LinkClass c) {
  switch (c) {
    case LinkClass::kOnChip: return "onchip";
    case LinkClass::kBoard: return "board";
    case LinkClass::kCable: return "cable";
  }
  return "?";
}

LinkClass link_class(double ns, const EnergyParams& p) {
  if (ns <= p.onchip_max_ns) return LinkClass::kOnChip;
  if (ns <= p.board_max_ns) return LinkClass::kBoard;
  return LinkClass::kCable;
}

EnergyReport compute_energy(const EnergyParams& p, const EnergyEvents& e) {
  EnergyReport r;
  auto d = [](uint64_t n) { return static_cast<double>(n); };
  // Static power (mW = pJ/ns) x the window (ns) gives pJ.
  const double ns = static_cast<double>(e.cycles) / e.clock_ghz;
  r.node_total.assign(e.cmm.size(), 0.0);
  for (size_t n = 0; n < e.cmm.size(); ++n) {
    const CmmEvents& c = e.cmm[n];
    EnergyReport::Cmm x;
    x.table_lookup = d(c.table_lookups) * p.table_lookup_pj;
    x.key_compare = d(c.key_compares) * p.key_compare_pj;
    x.register_access = d(c.register_accesses) * p.register_access_pj;
    x.packet_buffer = d(c.buffer_bytes) * p.packet_buffer_pj_per_byte;
    x.mac = d(c.mac_bytes) * p.mac_pj_per_byte;
    x.static_energy = p.cmm_static_mw * ns;
    r.cmm.push_back(x);
    r.node_total[n] += x.total();
    r.cmm_total += x.total();
    r.static_total += x.static_energy;
  }
  for (const RouterEvents& re : e.routers) {
    EnergyReport::Router x;
    x.buffer_write = d(re.buf_writes) * p.buffer_write_pj;
    x.buffer_read = d(re.buf_reads) * p.buffer_read_pj;
    x.crossbar = d(re.crossbar_flits) * p.crossbar_pj;
    x.alloc = d(re.alloc_flits) * p.alloc_pj;
    x.static_energy = (d(re.buffer_bytes) * p.buffer_static_mw_per_byte + re.ports * p.crossbar_static_mw_per_port +
                       p.alloc_static_mw) *
                      ns;
    r.routers.push_back(x);
    r.router_total += x.total();
    r.static_total += x.static_energy;
  }
  for (const LinkEvents& le : e.links) {
    EnergyReport::Link x;
    x.cls = link_class(le.latency_ns, p);
    const double per_bit = x.cls == LinkClass::kOnChip ? p.link_onchip_pj_per_bit
                           : x.cls == LinkClass::kBoard ? p.link_board_pj_per_bit
                                                        : p.link_cable_pj_per_bit;
    const double stat = x.cls == LinkClass::kOnChip ? p.link_onchip_static_mw
                        : x.cls == LinkClass::kBoard ? p.link_board_static_mw
                                                     : p.link_cable_static_mw;
    x.static_energy = stat * ns;
    x.energy = d(le.bits) * per_bit + x.static_energy;
    r.links.push_back(x);
    r.link_total += x.energy;
    r.static_total += x.static_energy;
    if (le.node >= 0 && static_cast<size_t>(le.node) < r.node_total.size()) r.node_total[le.node] += x.energy;
  }
  r.total = r.cmm_total + r.router_total + r.link_total;
  r.average_power_mw = ns > 0 ? r.total / ns : 0.0;
  r.static_power_mw = ns > 0 ? r.static_total / ns : 0.0;
  return r;
}

json energy_json(const EnergyParams& p, const EnergyEvents& e, const EnergyReport& r) {
  const double ns = static_cast<double>(e.cycles) / e.clock_ghz;
  auto mw = [&](double pj) { return ns > 0 ? pj / ns : 0.0; };
  double by_class[3] = {0, 0, 0}, link_static = 0;
  for (const auto& l : r.links) {
    by_class[static_cast<int>(l.cls)] += l.energy - l.static_energy;
    link_static += l.static_energy;
  }
  EnergyReport::Cmm cs;
  for (const auto& c : r.cmm) {
    cs.table_lookup += c.table_lookup;
    cs.key_compare += c.key_compare;
    cs.register_access += c.register_access;
    cs.packet_buffer += c.packet_buffer;
    cs.mac += c.mac;
    cs.static_energy += c.static_energy;
  }
  EnergyReport::Router rs;
  for (const auto& x : r.routers) {
    rs.buffer_write += x.buffer_write;
    rs.buffer_read += x.buffer_read;
    rs.crossbar += x.crossbar;
    rs.alloc += x.alloc;
    rs.static_energy += x.static_energy;
  }
  json j = {{"total_pj", r.total},
            {"cmm_pj", r.cmm_total},
            {"router_pj", r.router_total},
            {"link_pj", r.link_total},
            {"average_power_mw", r.average_power_mw},
            {"static_pj", r.static_total},
            {"static_power_mw", r.static_power_mw},
            {"window_cycles", e.cycles},
            {"by_kind",
             {{"link_onchip_pj", by_class[0]},
              {"link_board_pj", by_class[1]},
              {"link_cable_pj", by_class[2]},
              {"buffer_write_pj", rs.buffer_write},
              {"buffer_read_pj", rs.buffer_read},
              {"crossbar_pj", rs.crossbar},
              {"alloc_pj", rs.alloc},
              {"table_lookup_pj", cs.table_lookup},
              {"key_compare_pj", cs.key_compare},
              {"register_access_pj", cs.register_access},
              {"packet_buffer_pj", cs.packet_buffer},
              {"mac_pj", cs.mac},
              {"cmm_static_pj", cs.static_energy},
              {"router_static_pj", rs.static_energy},
              {"link_static_pj", link_static}}}};
  json nodes = json::array();
  for (size_t n = 0; n < r.cmm.size(); ++n) {
    const auto& c = r.cmm[n];
    const auto& ev = e.cmm[n];
    nodes.push_back({{"node", n < e.nodes.size() ? e.nodes[n] : std::to_string(n)},
                     {"total_pj", r.node_total[n]},
                     {"cmm_pj", c.total()},
                     {"link_pj", r.node_total[n] - c.total()},
                     {"average_power_mw", mw(r.node_total[n])},
                     {"table_lookup_pj", c.table_lookup},
                     {"key_compare_pj", c.key_compare},
                     {"register_access_pj", c.register_access},
                     {"packet_buffer_pj", c.packet_buffer},
                     {"mac_pj", c.mac},
                     {"static_pj", c.static_energy},
                     {"table_lookups", ev.table_lookups},
                     {"key_compares", ev.key_compares},
                     {"register_accesses", ev.register_accesses},
                     {"buffer_bytes", ev.buffer_bytes},
                     {"mac_bytes", ev.mac_bytes}});
  }
  json routers = json::array();
  for (size_t i = 0; i < r.routers.size(); ++i) {
    const auto& x = r.routers[i];
    const auto& ev = e.routers[i];
    routers.push_back({{"router", ev.name},
                       {"total_pj", x.total()},
                       {"average_power_mw", mw(x.total())},
                       {"buffer_write_pj", x.buffer_write},
                       {"buffer_read_pj", x.buffer_read},
                       {"crossbar_pj", x.crossbar},
                       {"alloc_pj", x.alloc},
                       {"static_pj", x.static_energy},
                       {"ports", ev.ports},
                       {"buffer_bytes", ev.buffer_bytes},
                       {"buf_writes", ev.buf_writes},
                       {"buf_reads", ev.buf_reads},
                       {"crossbar_flits", ev.crossbar_flits},
                       {"alloc_flits", ev.alloc_flits}});
  }
  json links = json::array();
  for (size_t i = 0; i < r.links.size(); ++i) {
    const auto& ev = e.links[i];
    links.push_back({{"link", ev.name},
                     {"class", to_string(r.links[i].cls)},
                     {"latency_ns", ev.latency_ns},
                     {"bits", ev.bits},
                     {"total_pj", r.links[i].energy},
                     {"static_pj", r.links[i].static_energy},
                     {"average_power_mw", mw(r.links[i].energy)}});
  }
  j["nodes"] = nodes;
  j["routers"] = routers;
  j["links"] = links;
  json params = p.to_json();
  params.erase("profile");
  if (!p.profile.empty()) j["profile"] = p.profile;
  j["params"] = params;
  return j;
}

}  // namespace cmm::tb
