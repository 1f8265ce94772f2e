// Energy per component (issue 12 item 5, docs/energy.md): per-event energy
// parameters, the events a run counted, and the model that turns one into
// the other. Plain C++ (no SystemC): energy = sum over events of count x
// energy per event, so it scales exactly with the counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmm::tb {

struct KeyDecl;
enum class KeyScope : uint8_t;

// Energy per event, in pJ (links: pJ per bit; packet buffer and MAC: pJ per
// byte). Defaults and where they come from: docs/energy.md.
struct EnergyParams {
  // Links by length class of their flight time (latency in ns at the clock).
  double link_onchip_pj_per_bit = 0.1;
  double link_board_pj_per_bit = 5.0;
  double link_cable_pj_per_bit = 35.0;
  double onchip_max_ns = 1.0;  // flight time <= this: on-chip trace
  double board_max_ns = 10.0;  // <= this: board trace; above: cable
  // Switches and routers, per flit.
  double buffer_write_pj = 4.0;
  double buffer_read_pj = 3.0;
  double crossbar_pj = 0.8;
  double alloc_pj = 0.11;
  // CMM.
  double table_lookup_pj = 10.0;         // one CST or CKT entry read
  double key_compare_pj = 0.5;           // one 128-bit constant-time compare
  double register_access_pj = 2.0;       // one register-port transaction
  double packet_buffer_pj_per_byte = 1.0;
  double mac_pj_per_byte = 8.0;          // strong mode: bytes through a MAC engine
  // Static (leakage) power, mW, drawn over the whole window whatever the traffic.
  double cmm_static_mw = 1.0;                  // per CMM
  double buffer_static_mw_per_byte = 0.1172;   // per byte of switch/router input buffer
  double crossbar_static_mw_per_port = 0.55;   // per switch/router port
  double alloc_static_mw = 0.23;               // per switch/router: route computation and allocators
  double link_onchip_static_mw = 0.065;        // per link direction of each class
  double link_board_static_mw = 0.0;
  double link_cable_static_mw = 0.0;
  std::string profile;                   // file the values were read from ("": none)

  bool operator==(const EnergyParams& o) const;
  nlohmann::json to_json() const;
  // `j` is the scenario's `energy` object, `where` its source (file, --set).
  // A `profile` key (a JSON file of the same keys) is read first; the other
  // keys override it. Throws ConfigError naming the source, the key
  // ('energy.<name>'), the value and what is allowed.
  static EnergyParams from_json(const nlohmann::json& j, const std::string& where);
};

// The scenario reference of the energy keys (scenario_keys.cpp adds them
// with scope KeyScope::kEnergy).
std::vector<KeyDecl> energy_key_decls(KeyScope scope);

enum class LinkClass : uint8_t { kOnChip = 0, kBoard = 1, kCable = 2 };
const char* to_string(LinkClass c);
LinkClass link_class(double latency_ns, const EnergyParams& p);

// Counted events of one run (or up to one instant of it).
struct CmmEvents {
  uint64_t table_lookups = 0, key_compares = 0, register_accesses = 0, buffer_bytes = 0, mac_bytes = 0;
};
struct RouterEvents {
  std::string name;
  uint64_t buf_writes = 0, buf_reads = 0, crossbar_flits = 0, alloc_flits = 0;
  uint32_t ports = 0;         // connected ports (static power)
  uint64_t buffer_bytes = 0;  // input buffer capacity over all its ports (static power)
};
struct LinkEvents {
  std::string name;
  int node = -1;          // the node it attaches (node <-> fabric), -1: inside the fabric
  double latency_ns = 0;  // flight time: its length class
  uint64_t bits = 0;
};
struct EnergyEvents {
  std::vector<std::string> nodes;  // node names, index = node
  std::vector<CmmEvents> cmm;      // [node]
  std::vector<RouterEvents> routers;
  std::vector<LinkEvents> links;
  uint64_t cycles = 0;             // the window the events were counted in
  double clock_ghz = 1.0;
};

// Energy of the events, in pJ, broken down per component.
struct EnergyReport {
  struct Cmm {
    double table_lookup = 0, key_compare = 0, register_access = 0, packet_buffer = 0, mac = 0;
    double static_energy = 0;  // cmm_static_mw x time
    double dynamic() const { return table_lookup + key_compare + register_access + packet_buffer + mac; }
    double total() const { return dynamic() + static_energy; }
  };
  struct Router {
    double buffer_write = 0, buffer_read = 0, crossbar = 0, alloc = 0;
    double static_energy = 0;  // (buffer bytes, ports, allocators) x static power x time
    double dynamic() const { return buffer_write + buffer_read + crossbar + alloc; }
    double total() const { return dynamic() + static_energy; }
  };
  struct Link {
    LinkClass cls = LinkClass::kOnChip;
    double energy = 0;         // dynamic + static_energy
    double static_energy = 0;  // the class's static power x time
  };
  std::vector<Cmm> cmm;        // [node]
  std::vector<Router> routers;
  std::vector<Link> links;
  std::vector<double> node_total;  // [node]: its CMM and its links to the fabric
  double cmm_total = 0, router_total = 0, link_total = 0, total = 0;  // static included
  double static_total = 0;         // the static part of total
  double average_power_mw = 0;     // total / window time (pJ/ns = mW)
  double static_power_mw = 0;      // static_total / window time
};
EnergyReport compute_energy(const EnergyParams& p, const EnergyEvents& e);

// The `energy` object of the statistics (raw numbers; stats_decl.cpp declares
// each with unit and description).
nlohmann::json energy_json(const EnergyParams& p, const EnergyEvents& e, const EnergyReport& r);

}  // namespace cmm::tb
