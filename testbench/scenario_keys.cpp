#include "scenario_keys.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "cmm_regs.h"
#include "config_error.h"
#include "scenario.h"

namespace cmm::tb {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxCycles = 1'000'000'000'000'000;  // 1e15: period x cycles stays inside sc_time
constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();

using Eff = std::function<bool(const Scenario&)>;
bool on_network(const Scenario& s) { return s.topology != "crossbar"; }
bool polling(const Scenario& s) { return s.rx_wakeup == "poll"; }
bool with_traffic(const Scenario& s) { return s.traffic.has_value(); }
bool strong_mode(const Scenario& s) { return s.security_mode == "strong"; }
bool with_faults(const Scenario& s) { return !s.faults.empty(); }
bool pipeline_router(const Scenario& s) { return on_network(s) && s.router_model == "pipeline"; }
bool router_delay_used(const Scenario& s) { return !on_network(s) || s.router_model == "simple"; }
bool switched(const Scenario& s) {
  return s.topology == "fat_tree" || s.topology == "dragonfly" || s.topology == "flatfly" || s.topology == "file";
}
bool on_grid(const Scenario& s) { return on_network(s) && !switched(s); }
constexpr const char* kNetwork = "topology other than crossbar";
constexpr const char* kGrid = "topology ring, mesh or torus";
constexpr const char* kTraffic = "with traffic";

template <typename C, typename T>
void bind(KeyDecl& d, T C::*m) {
  d.store = [m](void* o, const json& v) { static_cast<C*>(o)->*m = v.get<T>(); };
  d.load = [m](const void* o) { return json(static_cast<const C*>(o)->*m); };
  d.def = json(C{}.*m);
}

template <typename C, typename T>
KeyDecl uint_key(KeyScope sc, const char* name, T C::*m, uint64_t lo, uint64_t hi, const char* unit,
                 const char* desc, const char* applies = "", Eff eff = {}) {
  static_assert(std::is_integral_v<T> && std::is_unsigned_v<T>);
  if (hi > std::numeric_limits<T>::max() || lo > hi) throw std::logic_error(std::string("key range of ") + name);
  KeyDecl d = KeyDecl::make(sc, name, KeyType::kUint, unit, desc);
  d.umin = lo;
  d.umax = hi;
  d.applies = applies;
  d.effective = std::move(eff);
  bind(d, m);
  return d;
}

template <typename C>
KeyDecl real_key(KeyScope sc, const char* name, double C::*m, double lo, bool lo_open, double hi, const char* unit,
                 const char* desc) {
  KeyDecl d = KeyDecl::make(sc, name, KeyType::kReal, unit, desc);
  d.rmin = lo;
  d.rmin_open = lo_open;
  d.rmax = hi;
  bind(d, m);
  return d;
}

template <typename C>
KeyDecl enum_key(KeyScope sc, const char* name, std::string C::*m, std::vector<std::string> allowed,
                 const char* desc) {
  KeyDecl d = KeyDecl::make(sc, name, KeyType::kEnum, "", desc);
  d.allowed = std::move(allowed);
  bind(d, m);
  return d;
}

template <typename C>
KeyDecl bool_key(KeyScope sc, const char* name, bool C::*m, const char* desc, const char* applies = "",
                 Eff eff = {}) {
  KeyDecl d = KeyDecl::make(sc, name, KeyType::kBool, "", desc);
  d.applies = applies;
  d.effective = std::move(eff);
  bind(d, m);
  return d;
}

template <typename C>
KeyDecl string_key(KeyScope sc, const char* name, std::string C::*m, const char* desc) {
  KeyDecl d = KeyDecl::make(sc, name, KeyType::kString, "", desc);
  bind(d, m);
  return d;
}

KeyDecl nested(KeyScope sc, const char* name, KeyType t, const char* desc, json def = nullptr) {
  KeyDecl d = KeyDecl::make(sc, name, t, "", desc);
  d.def = std::move(def);
  return d;
}

// Traffic keys: parsed by TrafficSpec::from_json (kind-dependent schema);
// declared here so that --list-keys and the reference show them.
KeyDecl traffic_key(const char* name, KeyType t, const char* unit, const char* desc, json def,
                    std::vector<std::string> allowed = {}, uint64_t umin = 0, uint64_t umax = 0, double rmin = 0,
                    bool rmin_open = false, double rmax = 0, const char* applies = "") {
  KeyDecl d = KeyDecl::make(KeyScope::kTraffic, name, t, unit, desc);
  d.def = std::move(def);
  d.allowed = std::move(allowed);
  d.umin = umin;
  d.umax = umax;
  d.rmin = rmin;
  d.rmin_open = rmin_open;
  d.rmax = rmax;
  d.applies = applies;
  return d;
}

// Switched fabrics (docs/fabric.md "Switched fabrics"): each key is dumped
// only where it has an effect, so other scenarios' outputs do not change.
void add_switched_keys(std::vector<KeyDecl>& k) {
  using S = KeyScope;
  auto only = [&](const char* applies, Eff eff) {
    k.back().applies = applies;
    k.back().effective = std::move(eff);
    k.back().dump_when_effective_only = true;
  };
  auto is = [](const char* t) { return Eff([t](const Scenario& s) { return s.topology == t; }); };
  k.push_back(enum_key(S::kScenario, "routing", &Scenario::routing,
                       {"minimal", "ecmp", "updown", "valiant", "ugal", "adaptive"},
                       "routing of a switched fabric: minimal = the topology's deterministic routing (fat_tree "
                       "D-mod-k, dragonfly minimal local-global-local, flatfly dimension order, file up*/down*); "
                       "ecmp = fat_tree with the up port hashed from the flow; updown = up*/down* on any topology; "
                       "valiant = dragonfly via a random intermediate group; ugal = dragonfly UGAL-L (minimal or "
                       "Valiant by the source router's queues); adaptive = fat_tree, least-loaded up port. The "
                       "adaptive ones keep each flow in order with flowlets (docs/fabric.md)"));
  only("a switched topology (fat_tree, dragonfly, flatfly, file)", switched);
  k.push_back(uint_key(S::kScenario, "ugal_threshold", &Scenario::ugal_threshold, 0, 1u << 20, "flits",
                       "UGAL-L: the Valiant path is taken when the minimal output's used credits exceed twice the "
                       "nonminimal output's plus this (BookSim2's rule and default)",
                       "routing ugal", [](const Scenario& s) { return s.topology == "dragonfly" && s.routing == "ugal"; }));
  k.back().dump_when_effective_only = true;
  const char* ft = "topology fat_tree";
  k.push_back(uint_key(S::kScenario, "ft_k", &Scenario::ft_k, 1, 64, "ports",
                       "fat-tree arity k: up ports of every switch below the top, down ports above the leaves", ft,
                       is("fat_tree")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "ft_levels", &Scenario::ft_levels, 1, 8, "levels",
                       "fat-tree switch levels n (k-ary n-tree: k^(n-1) switches per level)", ft, is("fat_tree")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "ft_terminals", &Scenario::ft_terminals, 0, 64, "terminals",
                       "terminals per leaf switch (0 = ft_k; more than ft_k oversubscribes the leaf uplinks "
                       "ft_terminals:ft_k)", ft, is("fat_tree")));
  k.back().dump_when_effective_only = true;
  const char* df = "topology dragonfly";
  k.push_back(uint_key(S::kScenario, "df_a", &Scenario::df_a, 1, 64, "routers", "routers per dragonfly group (a)",
                       df, is("dragonfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "df_p", &Scenario::df_p, 1, 64, "terminals", "terminals per router (p)", df,
                       is("dragonfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "df_h", &Scenario::df_h, 1, 64, "links", "global links per router (h)", df,
                       is("dragonfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "df_groups", &Scenario::df_groups, 0, 4097, "groups",
                       "groups g (0 = a*h + 1, every pair of groups joined by one global link; at most a*h + 1)",
                       df, is("dragonfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(enum_key(S::kScenario, "df_arrangement", &Scenario::df_arrangement,
                       {"absolute", "consecutive", "palmtree"},
                       "global links: absolute (= consecutive): port j of group i goes to group j < i ? j : j + 1; "
                       "palmtree: to group (i + j + 1) mod g"));
  only(df, is("dragonfly"));
  const char* fb = "topology flatfly";
  k.push_back(uint_key(S::kScenario, "fb_k", &Scenario::fb_k, 2, 64, "routers",
                       "flattened butterfly: routers per dimension (each joined to the other k-1)", fb,
                       is("flatfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "fb_n", &Scenario::fb_n, 1, 8, "dimensions", "flattened butterfly dimensions",
                       fb, is("flatfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "fb_c", &Scenario::fb_c, 1, 64, "terminals",
                       "flattened butterfly: terminals per router (concentration)", fb, is("flatfly")));
  k.back().dump_when_effective_only = true;
  k.push_back(string_key(S::kScenario, "topo_file", &Scenario::topo_file,
                         "topology file: switches, terminals, links with latency_ns/latency_cycles and width "
                         "(format in docs/fabric.md); errors name file:line and the value"));
  only("topology file", is("file"));
  for (auto [name, m, desc] :
       {std::tuple{"link_ns_terminal", &Scenario::link_ns_terminal, "latency of terminal-to-leaf-switch links"},
        std::tuple{"link_ns_local", &Scenario::link_ns_local,
                   "latency of switch-to-switch links (dragonfly: within a group)"},
        std::tuple{"link_ns_global", &Scenario::link_ns_global, "latency of dragonfly global links"}}) {
    k.push_back(real_key(S::kScenario, name, m, 0, false, 1e7, "ns", desc));
    k.back().desc += ", converted at the fabric clock (rounded up, at least 1 cycle); 0 = link_latency_cycles";
    only("topology fat_tree, dragonfly or flatfly", [](const Scenario& s) { return switched(s) && s.topology != "file"; });
  }
}

std::vector<KeyDecl> make_keys() {
  using S = KeyScope;
  using C = ChannelSpec;
  using A = AttackSpec;
  // Quotas: at most the largest table (the geometry's num_endpoints is checked
  // by validate()).
  const uint64_t eps = regs::kMaxNumEndpoints, parts = regs::kMaxNumPartitions,
                 maxb = regs::kMaxMsgBytes;
  std::vector<KeyDecl> k;
  // ---- top level
  k.push_back(string_key(S::kScenario, "name", &Scenario::name, "label of the run in the outputs"));
  k.push_back(uint_key(S::kScenario, "seed", &Scenario::seed, 0, kU64, "",
                       "seed of the run: the same seed and configuration give byte-identical statistics "
                       "(cmmsim --seed overrides)"));
  k.push_back(real_key(S::kScenario, "clock_ghz", &Scenario::clock_ghz, 0, true, 10, "GHz",
                       "CMM clock; every cycle figure is of this clock"));
  k.push_back(enum_key(S::kScenario, "core", &Scenario::core, {"cpp", "rtl"},
                       "CMM core of every node without its own nodes[].core: the C++ model or the Verilated RTL"));
  k.push_back(enum_key(S::kScenario, "topology", &Scenario::topology,
                       {"crossbar", "ring", "mesh", "torus", "fat_tree", "dragonfly", "flatfly", "file"},
                       "fabric: one crossbar port per node, a network of routers (node i at router i), or a switched "
                       "fabric (node i at terminal i, attached to a leaf switch; docs/fabric.md)"));
  k.push_back(uint_key(S::kScenario, "fabric_x", &Scenario::fabric_x, 0, 256, "routers",
                       "routers per row (ring: routers); 0 = the smallest that holds every node and rogue node",
                       kGrid, on_grid));
  k.push_back(uint_key(S::kScenario, "fabric_y", &Scenario::fabric_y, 0, 256, "routers",
                       "rows of routers (ring: 1); 0 = the smallest that fits; fabric_x x fabric_y <= 65536",
                       kGrid, on_grid));
  add_switched_keys(k);
  k.push_back(uint_key(S::kScenario, "vcs_per_class", &Scenario::vcs_per_class, 1, 16, "VCs",
                       "virtual channels per message class (ring and torus: >= 2, dateline)", kNetwork, on_network));
  k.push_back(uint_key(S::kScenario, "buf_depth_flits", &Scenario::buf_depth_flits, 1, 1024, "flits",
                       "router input buffer depth per virtual channel", kNetwork, on_network));
  k.push_back(uint_key(S::kScenario, "router_delay_cycles", &Scenario::router_delay_cycles, 0, 1000, "cycles",
                       "crossbar delay, or the delay of a simple router", "crossbar, or router_model simple",
                       router_delay_used));
  k.push_back(enum_key(S::kScenario, "router_model", &Scenario::router_model, {"simple", "pipeline"},
                       "simple: every flit crosses a router in router_delay_cycles, allocation in one cycle; "
                       "pipeline: route computation, VC allocation, switch allocation and traversal as stages "
                       "(router_*_cycles), iSLIP allocators, credit delay (docs/fabric.md)"));
  k.back().applies = kNetwork;
  k.back().effective = on_network;
  for (auto [name, m, lo, hi, unit, desc] : {
           std::tuple{"router_rc_cycles", &Scenario::router_rc_cycles, 0, 64, "cycles", "route computation of a head flit"},
           std::tuple{"router_va_cycles", &Scenario::router_va_cycles, 0, 64, "cycles",
                      "VC allocation (0: in the same cycle as switch allocation)"},
           std::tuple{"router_sa_cycles", &Scenario::router_sa_cycles, 1, 64, "cycles", "switch allocation"},
           std::tuple{"router_st_cycles", &Scenario::router_st_cycles, 0, 64, "cycles", "switch traversal"},
           std::tuple{"router_credit_delay_cycles", &Scenario::router_credit_delay_cycles, 0, 1024, "cycles",
                      "credit processing delay, added to the credit's register stage and link flight"},
           std::tuple{"router_alloc_iters", &Scenario::router_alloc_iters, 1, 5, "iterations",
                      "iSLIP iterations of the switch allocator"}}) {
    k.push_back(uint_key(S::kScenario, name, m, uint64_t(lo), uint64_t(hi), unit, desc,
                         "router_model pipeline on a network", pipeline_router));
    k.back().dump_when_effective_only = true;
  }
  k.push_back(uint_key(S::kScenario, "link_bytes_per_cycle", &Scenario::link_bytes_per_cycle, 1, 1024,
                       "bytes/cycle", "width of every fabric link (crossbar port or router link)"));
  k.push_back(uint_key(S::kScenario, "link_latency_cycles", &Scenario::link_latency_cycles, 0, 1'000'000, "cycles",
                       "latency of every fabric link"));
  k.push_back(uint_key(S::kScenario, "bus_latency_cycles", &Scenario::bus_latency_cycles, 0, 1'000'000, "cycles",
                       "node bus latency, each direction"));
  k.push_back(enum_key(S::kScenario, "rx_wakeup", &Scenario::rx_wakeup, {"interrupt", "poll"},
                       "how a receiving process learns of a message: its agent's RX interrupt service, or also "
                       "polling every rx_poll_cycles"));
  k.push_back(enum_key(S::kScenario, "key_source", &Scenario::key_source, {"software", "hardware"},
                       "channel keys: each agent's libsodium KDF keyed by the run seed, or the CMM's key generator "
                       "(CONNECT with HWKEY)"));
  k.push_back(enum_key(S::kScenario, "security_mode", &Scenario::security_mode, {"plain", "strong"},
                       "channel mode the agents request for every channel (CST_CTRL.MODE, docs/strong-mode.md); "
                       "strong: link keys from each node's board-management port, no key on the wire after "
                       "CONNECT, a MAC on every packet"));
  k.push_back(uint_key(S::kScenario, "mac_latency_cycles", &Scenario::mac_latency_cycles, 0, 255, "cycles",
                       "MAC engine latency after the last payload beat (core parameter)", "security_mode strong",
                       strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "mac_bytes_per_cycle", &Scenario::mac_bytes_per_cycle, 1, 16, "bytes/cycle",
                       "payload bytes the MAC engine absorbs per cycle (core parameter)", "security_mode strong",
                       strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(bool_key(S::kScenario, "reliable", &Scenario::reliable,
                       "strong channels: MAC'd cumulative ACKs and go-back-N retransmission from a window at the "
                       "sending CMM; every message delivered once in order or the sender told RETX_EXHAUSTED",
                       "security_mode strong", strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "tx_window", &Scenario::tx_window, 1, regs::kMaxTxWindow, "messages",
                       "unacknowledged DATA a send entry keeps for retransmission (core parameter)",
                       "security_mode strong", strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "retx_max", &Scenario::retx_max, 0, 255, "rounds",
                       "retransmission rounds without progress before RETX_EXHAUSTED (core parameter)",
                       "security_mode strong", strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "retx_timeout_cycles", &Scenario::retx_timeout_cycles, 1, 1'000'000, "cycles",
                       "cycles without an ACK before the window is resent; doubled per round",
                       "security_mode strong", strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "rekey_interval_messages", &Scenario::rekey_interval_messages, 0, 1'000'000,
                       "messages",
                       "rekey without drain: the receiving agent gives each channel a new key after every N "
                       "messages read, under traffic (CMD REKEY, docs/strong-mode.md 7); 0: only the forced "
                       "rekey near the key's limit",
                       "security_mode strong", strong_mode));
  k.back().dump_when_effective_only = true;
  k.push_back(uint_key(S::kScenario, "rx_poll_cycles", &Scenario::rx_poll_cycles, 1, 1'000'000, "cycles",
                       "receiver re-check interval while idle", "rx_wakeup poll", polling));
  k.push_back(uint_key(S::kScenario, "max_cycles", &Scenario::max_cycles, 1, kMaxCycles, "cycles",
                       "watchdog: the run fails if not done by then (cmmsim --max-cycles overrides)"));
  k.push_back(uint_key(S::kScenario, "stats_interval_cycles", &Scenario::stats_interval_cycles, 0, kMaxCycles,
                       "cycles", "time series sample interval (timeseries.csv); 0 = none"));
  k.push_back(uint_key(S::kScenario, "hol_lifetime_cycles", &Scenario::hol_lifetime_cycles, 0, kU32, "cycles",
                       "head-of-queue lifetime at fabric output ports; 0 = never dropped"));
  k.push_back(uint_key(S::kScenario, "alarm_thresh", &Scenario::alarm_thresh, 0, 0xFFFF, "events",
                       "each agent's ALARM_CFG: an alarm when this many error events fall in one window; 0 = off"));
  k.push_back(uint_key(S::kScenario, "alarm_window_log2", &Scenario::alarm_window_log2, 0, 31, "log2(cycles)",
                       "alarm window of 2^alarm_window_log2 cycles"));
  for (auto [name, m, lo, desc] :
       {std::tuple{"warmup_cycles", &Scenario::warmup_cycles, uint64_t{0},
                   "warm-up from the end of the connect storm; not measured"},
        std::tuple{"measure_cycles", &Scenario::measure_cycles, uint64_t{1},
                   "measurement window: latency and load count messages created (delivered) in it; sources stop "
                   "at its end"},
        std::tuple{"drain_cycles", &Scenario::drain_cycles, uint64_t{1},
                   "after the window, in-flight messages must finish within this or the run fails"}}) {
    k.push_back(uint_key(S::kScenario, name, m, lo, kMaxCycles, "cycles", desc, kTraffic, with_traffic));
    k.back().dump_when_effective_only = true;
  }
  k.push_back(nested(S::kScenario, "faults", KeyType::kArray,
                     "fault rules on the fabric links (docs/fault-injection.md), at most 32; empty = no fault "
                     "interposer (cmmsim --fault KIND=RATE[@LINK] appends, --fault off clears)",
                     json::array()));
  k.push_back(enum_key(S::kScenario, "fault_packets", &Scenario::fault_packets, {"all", "data"},
                       "which packets faults may hit: all, or DATA, NACKs of DATA and ACKs of reliable delivery only"));
  k.back().applies = "with faults";
  k.back().effective = with_faults;
  k.back().dump_when_effective_only = true;
  for (auto [name, m, lo, unit, desc] :
       {std::tuple{"fault_reorder_window", &Scenario::fault_reorder_window, 64, "packets",
                   "a reordered packet is held back until this many later packets of the link passed it (or "
                   "64 x this many cycles)"},
        std::tuple{"fault_delay_cycles", &Scenario::fault_delay_cycles, 1'000'000, "cycles",
                   "extra delay of a delayed packet (the link stays in order)"},
        std::tuple{"fault_stall_cycles", &Scenario::fault_stall_cycles, 1'000'000, "cycles",
                   "length of a port stall (nothing crosses the link, credits included)"}}) {
    k.push_back(uint_key(S::kScenario, name, m, 1, uint64_t(lo), unit, desc, "with faults", with_faults));
    k.back().dump_when_effective_only = true;
  }
  k.push_back(nested(S::kScenario, "nodes", KeyType::kArray,
                     "the nodes (default: the patent's FIG. 2 system, nodes 202 and 204); or `generate`"));
  k.push_back(nested(S::kScenario, "generate", KeyType::kObject,
                     "a regular system instead of `nodes`: names n<i>, n<i>p<j>, n<i>p<j>q<k>"));
  k.push_back(nested(S::kScenario, "channels", KeyType::kArray,
                     "static channels receiver <- sender (none with `traffic`)"));
  k.push_back(nested(S::kScenario, "attacks", KeyType::kArray, "attacks run next to the channels' traffic",
                     json::array()));
  k.push_back(nested(S::kScenario, "traffic", KeyType::kObject,
                     "generated traffic instead of `channels` (docs/traffic.md): terminal i is the i-th process"));
  k.push_back(nested(S::kScenario, "energy", KeyType::kObject,
                     "energy per event of links, switches and CMMs (docs/energy.md); `profile`: a JSON file of them"));
  k.push_back(nested(S::kScenario, "geometry", KeyType::kObject,
                     "table geometry of every node's CMM (endpoints, partitions, queue depths; "
                     "docs/registers.md \"Geometry\")"));
  k.push_back(nested(S::kScenario, "provenance", KeyType::kObject,
                     "written by cmmsim into config.json (version, git, tools, seed); ignored when read"));
  // ---- generate
  k.push_back(uint_key(S::kGenerate, "nodes", &GenerateSpec::nodes, 1, 65536, "nodes", "number of nodes"));
  k.push_back(uint_key(S::kGenerate, "partitions", &GenerateSpec::partitions, 1, parts, "partitions",
                       "partitions per node"));
  k.push_back(uint_key(S::kGenerate, "processes", &GenerateSpec::processes, 1, 64, "processes",
                       "processes per partition (pids 1 + q + 100 p)"));
  k.push_back(uint_key(S::kGenerate, "quota", &GenerateSpec::quota, 0, eps, "endpoints",
                       "endpoints per partition; 0 = the table shared evenly; partitions x quota <= table size"));
  k.push_back(uint_key(S::kGenerate, "first_id", &GenerateSpec::first_id, 0, 65535, "id",
                       "node id of n0; ids first_id .. first_id+nodes-1 must fit in 0..65535"));
  // ---- nodes[]
  k.push_back(string_key(S::kNode, "name", &NodeSpec::name, "node name (process names are the unique ones)"));
  k.push_back(uint_key(S::kNode, "id", &NodeSpec::id, 0, 65535, "id", "node id on the fabric, unique"));
  k.push_back(enum_key(S::kNode, "core", &NodeSpec::core, {"cpp", "rtl"},
                       "this node's CMM core; absent = the scenario's `core`"));
  k.back().def = nullptr;  // absent
  k.push_back(nested(S::kNode, "partitions", KeyType::kArray, "partitions of the node (1..geometry.num_partitions)"));
  k.push_back(string_key(S::kPartition, "name", &PartitionSpec::name, "partition name"));
  k.push_back(uint_key(S::kPartition, "quota", &PartitionSpec::quota, 0, eps, "endpoints",
                       "endpoints the partition may allocate; the node's quotas sum to at most the table size"));
  k.push_back(nested(S::kPartition, "processes", KeyType::kArray, "user processes of the partition"));
  k.push_back(string_key(S::kProcess, "name", &ProcessSpec::name, "process name, unique in the scenario"));
  k.push_back(uint_key(S::kProcess, "pid", &ProcessSpec::pid, 1, 0xFFFF, "pid",
                       "process id in the requester ID (0 means no owner)"));
  k.back().required = true;
  // ---- channels[]
  k.push_back(string_key(S::kChannel, "receiver", &C::receiver, "receiving process (name)"));
  k.back().required = true;
  k.push_back(string_key(S::kChannel, "sender", &C::sender, "sending process (name), not the receiver"));
  k.back().required = true;
  k.push_back(uint_key(S::kChannel, "messages", &C::messages, 0, 65536, "messages",
                       "messages the sender sends (tags are 16 bits; cmmsim --messages overrides)"));
  k.push_back(uint_key(S::kChannel, "min_bytes", &C::min_bytes, 1, maxb, "bytes",
                       "smallest payload (uniform sizes, seeded); <= max_bytes"));
  k.push_back(uint_key(S::kChannel, "max_bytes", &C::max_bytes, 1, maxb, "bytes", "largest payload"));
  k.push_back(uint_key(S::kChannel, "mean_gap_cycles", &C::mean_gap_cycles, 0, 1'000'000'000, "cycles",
                       "mean of the exponential gap between the sender's messages"));
  k.push_back(uint_key(S::kChannel, "rx_service_cycles", &C::rx_service_cycles, 0, 1'000'000'000, "cycles",
                       "receiver's processing time per message read"));
  // ---- attacks[]
  {
    std::vector<std::string> kinds(std::begin(kAttackKinds), std::end(kAttackKinds));
    k.push_back(enum_key(S::kAttack, "kind", &A::kind, kinds, "attacker kind (docs/testbench.md, Attacks)"));
  }
  k.push_back(string_key(S::kAttack, "attacker", &A::attacker,
                         "steal_endpoint, foreign_agent: the attacking process (its partition's kernel for "
                         "foreign_agent); others: unused"));
  k.push_back(uint_key(S::kAttack, "channel", &A::channel, 0, kU32, "index", "the attacked channel, index into channels"));
  k.push_back(uint_key(S::kAttack, "count", &A::count, 1, 4096, "attempts", "attempts"));
  k.push_back(uint_key(S::kAttack, "start_cycle", &A::start_cycle, 0, kU32, "cycles",
                       "first attempt, after the target channel is open"));
  k.push_back(uint_key(S::kAttack, "gap_cycles", &A::gap_cycles, 0, kU32, "cycles",
                       "between attempts; 0 (line rate) only for flooder"));
  k.push_back(uint_key(S::kAttack, "rogue_node_id", &A::rogue_node_id, 0, 65535, "id",
                       "rogue nodes: the node id of its own fabric port; no scenario node's, unique among rogues"));
  // ---- faults[]
  {
    std::vector<std::string> kinds(std::begin(kFaultKinds), std::end(kFaultKinds));
    k.push_back(enum_key(S::kFault, "kind", &FaultRuleSpec::kind, kinds, "what the rule injects"));
    k.back().required = true;
  }
  k.push_back(real_key(S::kFault, "rate", &FaultRuleSpec::rate, 0, false, 1, "probability per packet",
                       "chance that a packet crossing a matching link gets this fault (stall: per packet that "
                       "starts a stall)"));
  k.back().required = true;
  k.push_back(string_key(S::kFault, "link", &FaultRuleSpec::link,
                         "links of the rule: all, <node name> (both links of the node), <node name>.in (node -> "
                         "fabric), <node name>.out (fabric -> node)"));
  // ---- traffic (reference only; TrafficSpec::from_json parses it)
  const TrafficSpec t;
  const KeyType U = KeyType::kUint, R = KeyType::kReal, E = KeyType::kEnum;
  k.push_back(traffic_key("pattern.name", E, "", "destination pattern", to_string(t.pattern.kind),
                          {"uniform", "transpose", "bit_reverse", "bit_complement", "tornado", "neighbour", "hotspot",
                           "incast"}));
  k.push_back(traffic_key("pattern.dims", U, "dimensions", "1 = ring of N, 2 = k x k with N = k*k", t.pattern.dims, {},
                          1, 2, 0, false, 0, "pattern tornado, neighbour"));
  k.push_back(traffic_key("pattern.self", E, "", "a permutation's fixed point: sends to itself or nothing",
                          to_string(t.pattern.self), {"keep", "skip"}, 0, 0, 0, false, 0,
                          "permutation patterns"));
  k.push_back(traffic_key("pattern.fanout", U, "destinations", "destinations per source; 0 = all N-1",
                          t.pattern.fanout, {}, 0, kU32, 0, false, 0, "pattern uniform, hotspot (<= N-1)"));
  k.push_back(traffic_key("pattern.hotspot_fraction", R, "ratio", "share of each source's messages to the hotspots",
                          t.pattern.hotspot_fraction, {}, 0, 0, 0, false, 1, "pattern hotspot"));
  k.push_back(traffic_key("pattern.hotspot_terminals", KeyType::kArray, "terminals",
                          "the hotspots: distinct terminal ids < N", t.pattern.hotspot_terminals, {}, 0, 0, 0, false,
                          0, "pattern hotspot"));
  k.push_back(traffic_key("pattern.incast_terminals", KeyType::kArray, "terminals",
                          "the receivers (they send nothing): distinct terminal ids, fewer than N",
                          t.pattern.incast_terminals, {}, 0, 0, 0, false, 0, "pattern incast"));
  k.push_back(traffic_key("injection.process", E, "", "injection process of every source",
                          to_string(t.injection.kind), {"bernoulli", "poisson", "onoff", "periodic"}));
  k.push_back(traffic_key("injection.mean_on_cycles", R, "cycles", "mean burst length (geometric)",
                          t.injection.mean_on_cycles, {}, 0, 0, 1, false, 1e300, "process onoff"));
  k.push_back(traffic_key("injection.mean_off_cycles", R, "cycles", "mean silence length (geometric)",
                          t.injection.mean_off_cycles, {}, 0, 0, 1, false, 1e300, "process onoff"));
  k.push_back(traffic_key("injection.random_phase", KeyType::kBool, "",
                          "first message at a random point of the first period", t.injection.random_phase, {}, 0, 0,
                          0, false, 0, "process periodic"));
  k.push_back(traffic_key("size.dist", E, "", "message size distribution", to_string(t.size.kind),
                          {"fixed", "uniform", "bimodal", "list"}));
  k.push_back(traffic_key("size.bytes", U, "bytes", "payload size", t.size.bytes, {}, 1, maxb, 0, false, 0,
                          "dist fixed"));
  k.push_back(traffic_key("size.min_bytes", U, "bytes", "smallest payload", t.size.min_bytes, {}, 1, maxb, 0, false, 0,
                          "dist uniform"));
  k.push_back(traffic_key("size.max_bytes", U, "bytes", "largest payload (>= min_bytes)", t.size.max_bytes, {}, 1,
                          maxb, 0, false, 0, "dist uniform"));
  k.push_back(traffic_key("size.small_bytes", U, "bytes", "the small size", t.size.small_bytes, {}, 1, maxb, 0, false,
                          0, "dist bimodal"));
  k.push_back(traffic_key("size.large_bytes", U, "bytes", "the large size", t.size.large_bytes, {}, 1, maxb, 0, false,
                          0, "dist bimodal"));
  k.push_back(traffic_key("size.large_prob", R, "ratio", "probability of large_bytes", t.size.large_prob, {}, 0, 0, 0,
                          false, 1, "dist bimodal"));
  k.push_back(traffic_key("size.sizes", KeyType::kArray, "", "non-empty list of {bytes, weight > 0}", json::array(),
                          {}, 0, 0, 0, false, 0, "dist list"));
  k.push_back(traffic_key("offered_load", R, "per terminal per cycle, in load_unit",
                          "offered load of every source (at most the injection process's maximum rate)",
                          t.offered_load, {}, 0, 0, 0, true, 1e300));
  k.push_back(traffic_key("load_unit", E, "", "unit of offered_load", to_string(t.load_unit),
                          {"messages_per_cycle", "bytes_per_cycle"}));
  k.push_back(traffic_key("trace_file", KeyType::kString, "",
                          "replay this trace instead of pattern, injection, size and load (path as given)", "", {}, 0,
                          0, 0, false, 0, "instead of pattern, injection, size, offered_load, load_unit"));
  k.push_back(traffic_key("seed_salt", U, "", "mixed with the run seed: another traffic sample, same system",
                          t.seed_salt, {}, 0, kU64));
  for (auto& d : energy_key_decls(KeyScope::kEnergy)) k.push_back(std::move(d));
  // ---- geometry (ranges: hw/data/cmm.toml; rtl nodes need the default)
  using G = GeometrySpec;
  k.push_back(uint_key(S::kGeometry, "num_endpoints", &G::num_endpoints, regs::kMinNumEndpoints,
                       regs::kMaxNumEndpoints, "endpoints",
                       "CST/CKT entries (endpoints) per CMM; every channel end needs one"));
  k.push_back(uint_key(S::kGeometry, "num_partitions", &G::num_partitions, regs::kMinNumPartitions,
                       regs::kMaxNumPartitions, "partitions", "partitions per node (nodes[].partitions at most)"));
  k.push_back(uint_key(S::kGeometry, "rxq_depth", &G::rxq_depth, regs::kMinRxqDepth, regs::kMaxRxqDepth,
                       "messages", "receive queue slots per endpoint"));
  k.push_back(uint_key(S::kGeometry, "mgmtq_depth", &G::mgmtq_depth, regs::kMinMgmtqDepth, regs::kMaxMgmtqDepth,
                       "messages", "management receive queue slots per partition (the connect storm queues here)"));
  k.push_back(uint_key(S::kGeometry, "errlog_depth", &G::errlog_depth, regs::kMinErrlogDepth,
                       regs::kMaxErrlogDepth, "entries", "error log entries per partition"));
  k.push_back(uint_key(S::kGeometry, "egq_depth", &G::egq_depth, regs::kMinEgqDepth, regs::kMaxEgqDepth,
                       "headers", "egress header queue depth of the core, per class"));
  return k;
}

const char* scope_prefix(KeyScope s) {
  switch (s) {
    case KeyScope::kScenario: return "";
    case KeyScope::kGenerate: return "generate.";
    case KeyScope::kNode: return "nodes[].";
    case KeyScope::kPartition: return "nodes[].partitions[].";
    case KeyScope::kProcess: return "nodes[].partitions[].processes[].";
    case KeyScope::kChannel: return "channels[].";
    case KeyScope::kAttack: return "attacks[].";
    case KeyScope::kFault: return "faults[].";
    case KeyScope::kTraffic: return "traffic.";
    case KeyScope::kEnergy: return "energy.";
    case KeyScope::kGeometry: return "geometry.";
  }
  return "";
}

std::string num_text(double x) {
  if (x >= 1e299) return "inf";
  return fmt::format("{}", x);
}

std::string def_text(const KeyDecl& d) {
  if (d.required) return "(required)";
  if (d.def.is_null()) return d.type == KeyType::kArray || d.type == KeyType::kObject ? "" : "(absent)";
  if (d.def.is_string()) return "\"" + d.def.get<std::string>() + "\"";
  return d.def.dump();
}

}  // namespace

std::string KeyDecl::path() const { return scope_prefix(scope) + name; }

std::string KeyDecl::type_text() const {
  switch (type) {
    case KeyType::kUint: return "integer";
    case KeyType::kReal: return "number";
    case KeyType::kString: return "string";
    case KeyType::kEnum: return "string";
    case KeyType::kBool: return "boolean";
    case KeyType::kObject: return "object";
    case KeyType::kArray: return "array";
  }
  return "";
}

std::string KeyDecl::allowed_text() const {
  switch (type) {
    case KeyType::kUint:
      return fmt::format("an integer in {}..{}", umin, umax);
    case KeyType::kReal:
      if (rmax >= 1e299) return fmt::format("a number {} {}", rmin_open ? ">" : ">=", num_text(rmin));
      return fmt::format("a number, {} {} x <= {}", num_text(rmin), rmin_open ? "<" : "<=", num_text(rmax));
    case KeyType::kEnum: {
      std::string s = "one of ";
      for (size_t i = 0; i < allowed.size(); ++i) s += (i ? ", " : "") + allowed[i];
      return s;
    }
    case KeyType::kString: return "a string";
    case KeyType::kBool: return "true or false";
    case KeyType::kObject: return "an object";
    case KeyType::kArray: return "an array";
  }
  return "";
}

void KeyDecl::check(const json& v, const std::string& where, const std::string& at) const {
  bool ok = false;
  switch (type) {
    case KeyType::kUint:
      // Never let nlohmann convert a float, a negative or an out-of-range
      // number: -5 would wrap and 1.5 would truncate.
      if (v.is_number_unsigned()) {
        const uint64_t x = v.get<uint64_t>();
        ok = x >= umin && x <= umax;
      } else if (v.is_number_integer()) {
        const int64_t x = v.get<int64_t>();
        ok = x >= 0 && static_cast<uint64_t>(x) >= umin && static_cast<uint64_t>(x) <= umax;
      }
      break;
    case KeyType::kReal:
      if (v.is_number()) {
        const double x = v.get<double>();
        ok = std::isfinite(x) && (rmin_open ? x > rmin : x >= rmin) && x <= rmax;
      }
      break;
    case KeyType::kString: ok = v.is_string(); break;
    case KeyType::kEnum:
      if (v.is_string())
        for (const auto& a : allowed) ok |= v.get<std::string>() == a;
      break;
    case KeyType::kBool: ok = v.is_boolean(); break;
    case KeyType::kObject: ok = v.is_object(); break;
    case KeyType::kArray: ok = v.is_array(); break;
  }
  if (!ok)
    throw ConfigError(fmt::format("{}key '{}' has value {} (allowed: {}{})", where.empty() ? "" : where + ": ", at,
                                  v.dump(), allowed_text(), unit.empty() ? "" : ", " + unit));
}

const std::vector<KeyDecl>& scenario_keys() {
  static const std::vector<KeyDecl> keys = make_keys();
  return keys;
}

const KeyDecl* find_key(KeyScope scope, const std::string& name) {
  for (const auto& d : scenario_keys())
    if (d.scope == scope && d.name == name) return &d;
  return nullptr;
}

const KeyDecl* find_key_path(const std::string& path) {
  for (const auto& d : scenario_keys())
    if (d.path() == path) return &d;
  return nullptr;
}

std::vector<std::string> key_names(KeyScope scope) {
  std::vector<std::string> v;
  for (const auto& d : scenario_keys())
    if (d.scope == scope) v.push_back(d.name);
  return v;
}

json cli_value(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  return v.is_discarded() || v.is_object() || v.is_array() ? json(text) : v;
}

std::string keys_text() {
  std::string o;
  for (const auto& d : scenario_keys()) {
    o += fmt::format("{}\n  type {}, allowed {}", d.path(), d.type_text(), d.allowed_text());
    if (!d.unit.empty()) o += ", unit " + d.unit;
    const std::string def = def_text(d);
    if (!def.empty()) o += ", default " + def;
    o += "\n  " + d.desc + "\n";
    if (!d.applies.empty()) o += "  only has an effect: " + d.applies + "\n";
  }
  return o;
}

json keys_json() {
  json a = json::array();
  for (const auto& d : scenario_keys())
    a.push_back({{"path", d.path()},
                 {"type", d.type_text()},
                 {"allowed", d.allowed_text()},
                 {"unit", d.unit},
                 {"default", d.def},
                 {"effect", d.applies.empty() ? "always" : d.applies},
                 {"desc", d.desc}});
  return a;
}

std::string keys_markdown() {
  std::string o =
      "# Scenario keys\n\n"
      "<!-- Generated by `cmmsim --keys-markdown` from testbench/scenario_keys.cpp; do not edit by hand.\n"
      "     Regenerate: cmake --build build --target scenario_keys_doc -->\n\n"
      "Every key of a scenario file (`cmmsim -c FILE`, `--dump-config`, `--set KEY=VALUE`). A value\n"
      "outside its range, of the wrong type or an unknown key stops cmmsim with exit status 2 before it\n"
      "simulates, naming the source (file and key path, or the option), the value and what is allowed.\n"
      "A key set to a value other than its default where it has no effect (column *effect*) is\n"
      "accepted with a warning on stderr. Cross-key rules (unique ids and names, min_bytes <= max_bytes,\n"
      "quotas within the endpoint table, ...) are checked too; see [testbench.md](testbench.md).\n"
      "`traffic.*` keys are read by the traffic library ([traffic.md](traffic.md)), which also refuses\n"
      "keys the chosen kind does not use.\n\n";
  KeyScope last = KeyScope::kTraffic;
  bool first = true;
  const char* titles[] = {"Top level", "generate", "nodes[]", "nodes[].partitions[]", "nodes[].partitions[].processes[]",
                          "channels[]", "attacks[]", "faults[]", "traffic", "energy", "geometry"};
  for (const auto& d : scenario_keys()) {
    if (first || d.scope != last) {
      o += fmt::format("{}## {}\n\n| key | type | allowed | unit | default | effect | description |\n"
                       "|---|---|---|---|---|---|---|\n",
                       first ? "" : "\n", titles[static_cast<int>(d.scope)]);
      first = false;
      last = d.scope;
    }
    std::string desc = d.desc;
    for (size_t p = 0; (p = desc.find('|', p)) != std::string::npos; p += 2) desc.replace(p, 1, "\\|");
    const std::string def = def_text(d);
    o += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} |\n", d.path(), d.type_text(), d.allowed_text(), d.unit,
                     def.empty() ? "" : "`" + def + "`", d.applies.empty() ? "always" : d.applies, desc);
  }
  return o;
}

}  // namespace cmm::tb
