// A scenario: nodes, partitions, processes, channels and their traffic.
// The default is the patent's FIG. 2 system.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <optional>

#include <nlohmann/json.hpp>

#include "cmm_pins.h"
#include "cmm_regs.h"
#include "config_error.h"
#include "energy.h"
#include "traffic.h"

namespace cmm::tb {

struct ProcessSpec {
  std::string name;  // e.g. "216"
  uint16_t pid = 0;
};

struct PartitionSpec {
  std::string name;  // e.g. "208d"
  uint32_t quota = 4;  // endpoints
  std::vector<ProcessSpec> processes;
};

struct NodeSpec {
  std::string name;  // e.g. "202"
  uint16_t id = 0;
  std::vector<PartitionSpec> partitions;  // index = PartitionId
  std::string core;  // "cpp" or "rtl" (Verilated rtl/cmm_core.sv); empty: the scenario's `core`
};

// Unidirectional channel: receiver <- sender, set up by the kernel agents.
struct ChannelSpec {
  std::string receiver;  // process name
  std::string sender;
  uint32_t messages = 100;
  uint32_t min_bytes = 64, max_bytes = 256;  // uniform, seeded
  uint32_t mean_gap_cycles = 200;            // exponential inter-message gap at the sender
  uint32_t rx_service_cycles = 0;            // receiver's processing time per message read
};

struct Location {
  size_t node, part, proc;
};

// An attack run alongside the traffic (DESIGN invariants I2, I4, I5 and the
// threat model of docs/security.md). Rogue nodes sit on their own fabric port
// with id `rogue_node_id` (unique, no scenario node's):
//   rogue_node_spoofed  DATA to the channel's receive entry with the sender's
//                       ids and a guessed key (expect SRC_SPOOFED at the edge)
//   rogue_node_own_id   the same with its own node id (expect SRC_NODE_MISMATCH)
//   rogue_all_kinds     every packet kind (DATA, CONNECT, CONNECT_ACK, NACK,
//                       CLOSE, MGMT, an unknown opcode, oversized and
//                       mismatched len, a bad CRC), alternately with its own
//                       id and with the channel's ids (spoofed)
//   flooder             DATA at line rate (gap_cycles 0) against the channel's
//                       receive entry with its own id: the owning agent sees an
//                       ALARM and one coalesced error-log entry per window
//   credit_withholder   DATA with its own id (each elicits a NACK), and it
//                       never returns a credit: what is sent to it is dropped
//                       HOL_TIMEOUT by the fabric, the other channels flow
//   key_predictor       predicts the channel key with the old driver's
//                       construction (mt19937_64 from the run seed), checks
//                       each prediction against the CMMs' key comparator and
//                       sends it (spoofed, so dropped SRC_SPOOFED)
//   steal_endpoint      process `attacker` uses the channel's endpoint on its
//                       node (doorbell on the send entry, or receive on the
//                       receive entry) through its own user context (expect DENIED)
//   foreign_agent       the kernel agent of `attacker`'s partition closes,
//                       re-keys and re-targets the channel's entry on its node
//                       (expect DENIED)
struct AttackSpec {
  std::string kind;
  std::string attacker;           // process name (steal_endpoint, foreign_agent)
  uint32_t channel = 0;           // index into channels
  uint32_t count = 20;            // attempts
  uint32_t start_cycle = 1000;    // first attempt, after the target channel is open
  uint32_t gap_cycles = 100;      // between attempts (0: line rate, rogue nodes)
  uint16_t rogue_node_id = 250;    // rogue nodes: the node id it uses on the fabric
};
bool is_rogue_attack(const std::string& kind);

// A fault rule on the fabric links (docs/fault-injection.md): each packet
// crossing a matching link gets the fault with probability `rate`.
struct FaultRuleSpec {
  std::string kind;           // drop, duplicate, reorder, corrupt, delay, stall
  double rate = 0;            // 0..1 per packet
  std::string link = "all";   // all, <node>, <node>.in (node -> fabric), <node>.out (fabric -> node)
};
inline constexpr const char* kFaultKinds[] = {"drop", "duplicate", "reorder", "corrupt", "delay", "stall"};

// A regular system for sizing studies: `nodes` nodes with ids first_id,
// first_id+1, ..., each with `partitions` partitions of `processes`
// processes; names n<i>, n<i>p<j>, n<i>p<j>q<k>.
struct GenerateSpec {
  uint32_t nodes = 4, partitions = 1, processes = 1;
  uint32_t quota = 0;  // endpoints per partition; 0 = the table shared evenly
  uint32_t first_id = 0;
};

// Table geometry of every node's CMM (DESIGN.md: a run-time parameter; the
// defaults and ranges of hw/data/cmm.toml). rtl nodes need the default.
using GeometrySpec = cmm::Geometry;
// Table geometries besides the default that a Verilated RTL core exists for
// (node "core": "rtl"); the system library's RTL shell registers them (the
// second RTL geometry, docs/rtl.md), empty without Verilator.
std::vector<GeometrySpec>& extra_rtl_geometries();

struct Scenario {
  std::string name = "fig2";
  uint64_t seed = 1;  // default seed of the run (cmmsim --seed overrides)
  GeometrySpec geometry;  // before nodes: `generate` shares its table
  std::vector<NodeSpec> nodes;
  std::vector<ChannelSpec> channels;
  std::vector<AttackSpec> attacks;
  // Generated traffic instead of `channels`: terminal i is the i-th process
  // in scenario order (node, partition, process); the pattern's channels are
  // opened at the start (the connect storm), then traffic runs in phases:
  // warm-up, measurement (statistics count), drain (sources stop, in-flight
  // messages finish).
  std::optional<TrafficSpec> traffic;
  uint64_t warmup_cycles = 2000, measure_cycles = 20000, drain_cycles = 200000;
  std::vector<Location> terminals() const;
  // Timing, in cycles of the CMM clock unless noted.
  double clock_ghz = 1.0;
  std::string core = "cpp";  // CMM core of every node without its own: "cpp" or "rtl"
  const std::string& core_of(const NodeSpec& n) const { return n.core.empty() ? core : n.core; }
  // Fabric: "crossbar" (one switch, one port per node) or a network of
  // routers, "ring", "mesh" or "torus" (docs/fabric.md); node i sits at router i.
  std::string topology = "crossbar";
  uint32_t fabric_x = 0, fabric_y = 0;  // routers per row / rows (ring: x nodes, y 1); 0 = smallest that fits
  uint32_t vcs_per_class = 2;           // network only
  uint32_t buf_depth_flits = 8;         // network only, per VC
  uint32_t router_delay_cycles = 1;
  // Router model of a network (docs/fabric.md "Router models"): "simple"
  // (router_delay_cycles per router) or "pipeline" (the stages below).
  std::string router_model = "simple";
  uint32_t router_rc_cycles = 1, router_va_cycles = 1, router_sa_cycles = 1, router_st_cycles = 1;
  uint32_t router_credit_delay_cycles = 0;
  uint32_t router_alloc_iters = 1;
  // Switched fabrics (topology fat_tree, dragonfly, flatfly, file;
  // docs/fabric.md "Switched fabrics"): node i is terminal i.
  std::string routing = "minimal";  // minimal, ecmp (fat_tree), updown, valiant, ugal (dragonfly), adaptive (fat_tree)
  uint32_t ugal_threshold = 30;     // UGAL-L bias towards the minimal path, flits
  uint32_t ft_k = 4, ft_levels = 2, ft_terminals = 0;
  uint32_t df_a = 4, df_p = 2, df_h = 2, df_groups = 0;
  std::string df_arrangement = "absolute";
  uint32_t fb_k = 4, fb_n = 2, fb_c = 1;
  std::string topo_file;
  double link_ns_terminal = 0, link_ns_local = 0, link_ns_global = 0;  // 0: link_latency_cycles
  uint32_t link_bytes_per_cycle = 16;
  uint32_t link_latency_cycles = 20;
  uint32_t bus_latency_cycles = 2;
  // How a receiving process learns of a message: "interrupt" (it sleeps
  // until its kernel agent services the CMM's RX interrupt for its
  // endpoint) or "poll" (it also re-reads its receive status every
  // rx_poll_cycles while idle).
  std::string rx_wakeup = "interrupt";
  // Channel keys: "software" (each agent's libsodium KDF) or "hardware" (the
  // CMM's key generator, CONNECT with HWKEY; docs/security.md 1.10).
  std::string key_source = "software";
  // Channel mode the agents request for every channel (docs/strong-mode.md):
  // "plain" or "strong" (link keys, MAC on every packet); MAC engine timing.
  std::string security_mode = "plain";
  uint32_t mac_latency_cycles = 4;
  uint32_t mac_bytes_per_cycle = 16;
  bool reliable = true;                 // strong channels: ACK + retransmission (docs/strong-mode.md 6)
  uint32_t tx_window = regs::kTxWindow;
  uint32_t retx_max = regs::kRetxMax;
  uint32_t retx_timeout_cycles = regs::kRetxTimeoutCycles;
  // Strong: each channel's receiving agent rekeys it after every N messages
  // read (docs/strong-mode.md 7); 0: only the forced rekey at the key's limit.
  uint32_t rekey_interval_messages = 0;
  uint32_t rx_poll_cycles = 50;        // receiver re-check interval when idle (rx_wakeup "poll")
  uint64_t max_cycles = 50'000'000;    // watchdog: the run fails if not done by then
  uint64_t stats_interval_cycles = 0;  // time series sample interval; 0: none
  // Energy per event (docs/energy.md); default: the documented profile.
  EnergyParams energy;
  // Hardening knobs (docs/security.md 1.6, 1.8): head-of-queue lifetime at
  // fabric output ports (0: never), and each agent's reject-rate alarm
  // (ALARM_CFG: THRESH events per 2^WINDOW_LOG2 cycles; 0: off).
  uint32_t hol_lifetime_cycles = 4096;
  uint32_t alarm_thresh = 32;
  uint32_t alarm_window_log2 = 12;
  // Fabric fault injection (docs/fault-injection.md); empty = no interposer.
  std::vector<FaultRuleSpec> faults;
  std::string fault_packets = "all";   // all, data (DATA and NACKs of DATA)
  uint32_t fault_reorder_window = 4;   // packets
  uint32_t fault_delay_cycles = 100;
  uint32_t fault_stall_cycles = 200;

  // Where a process lives; throws ConfigError naming the process.
  Location locate(const std::string& process) const;
  // Throws ConfigError "key '<path>' has value <v> (allowed: ...)": the
  // declared range of every key (scenario_keys.cpp), then the rules between keys.
  void validate() const;
  // Warnings for top-level keys present in `given` (the JSON read) that are
  // not at their default yet have no effect in this configuration.
  std::vector<std::string> ineffective_keys(const nlohmann::json& given) const;
  nlohmann::json to_json() const;
};


Scenario fig2_scenario();
// Nodes, partitions and processes of a GenerateSpec; quota 0 shares a table
// of num_endpoints entries evenly.
std::vector<NodeSpec> generate_nodes(const GenerateSpec& g, uint32_t num_endpoints = regs::kNumEndpoints);
// The FIG. 2 scenario with one attack of each kind on the channel 216 <- 220b.
Scenario fig2_attack_scenario();
inline constexpr const char* kAttackKinds[] = {"rogue_node_spoofed", "rogue_node_own_id", "rogue_all_kinds",
                                               "flooder",            "credit_withholder", "key_predictor",
                                               "steal_endpoint",     "foreign_agent"};
// Reads a scenario from JSON (same schema as to_json(); docs/scenario-keys.md);
// `where` names the source in errors (the file). Ineffective keys go to
// `warnings` when given.
Scenario scenario_from_json(const nlohmann::json& j, const std::string& where,
                            std::vector<std::string>* warnings = nullptr);
// `--set KEY=VALUE` on the JSON form of a scenario: KEY a top-level scalar key
// or traffic.a.b; the value is checked against the key's declaration.
void apply_set(nlohmann::json& j, const std::string& kv);
// `--fault KIND=RATE[@LINK]` as a rule (the link is checked by validate()).
FaultRuleSpec parse_fault_option(const std::string& text);

bool switched_topology(const std::string& topology);
// Index of routing / df_arrangement in tlmshell::Routing / Arrangement
// (cmm_tlm/topo.h: kMinimal 0, kEcmp 1, kUpDown 2, kValiant 3, kUgal 4,
// kAdaptive 5; kAbsolute 0, kPalmtree 1).
uint8_t routing_index(const std::string& routing);
uint8_t arrangement_index(const std::string& arrangement);

// Copies the switched-fabric keys (routing, ft_*, df_*, fb_*, topo_file,
// link_ns_*) into a tlmshell::NocConfig (a template so that the scenario
// library needs no tlm headers); ring, mesh and torus leave it untouched.
template <class NocConfig>
void fill_fabric_config(const Scenario& s, NocConfig& nc) {
  if (!switched_topology(s.topology)) return;
  nc.routing = static_cast<decltype(nc.routing)>(routing_index(s.routing));
  nc.df_arrangement = static_cast<decltype(nc.df_arrangement)>(arrangement_index(s.df_arrangement));
  nc.ft_k = s.ft_k;
  nc.ft_levels = s.ft_levels;
  nc.ft_terminals = s.ft_terminals;
  nc.df_a = s.df_a;
  nc.df_p = s.df_p;
  nc.df_h = s.df_h;
  nc.df_groups = s.df_groups;
  nc.fb_k = s.fb_k;
  nc.fb_n = s.fb_n;
  nc.fb_c = s.fb_c;
  nc.topo_file = s.topo_file;
  nc.link_ns_terminal = s.link_ns_terminal;
  nc.link_ns_local = s.link_ns_local;
  nc.link_ns_global = s.link_ns_global;
  nc.ugal_threshold = s.ugal_threshold;
}

}  // namespace cmm::tb
