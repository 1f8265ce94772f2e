#include "stats_decl.h"

#include <stdexcept>

namespace cmm::tb {

namespace {

const std::vector<StatDecl> kStats = {
    // system (RunResult)
    {"system", "channels_requested", "channels", "channels the scenario asks for"},
    {"system", "channels_opened", "channels", "channels that reached OPEN on both ends"},
    {"system", "connect_storm_cycles", "cycles", "from start until the last channel opened"},
    {"system", "messages_sent", "messages", "doorbells accepted by the sender's CMM"},
    {"system", "messages_delivered", "messages", "messages read intact by their receiver"},
    {"system", "refused_at_source", "messages", "doorbells refused by the sender's CMM"},
    {"system", "nacks_reported", "messages", "NACKs seen by sender libraries"},
    {"system", "simulated_cycles", "cycles", "simulated time in CMM clock cycles"},
    {"system", "scoreboard_clean", "bool", "every message delivered once intact or reported"},
    {"top", "agent_errors_logged", "entries", "error-log entries read by kernel agents"},
    // latency (message created -> in the receive queue)
    {"latency", "count", "messages", "samples"},
    {"latency", "min", "cycles", "doorbell to receive queue, minimum"},
    {"latency", "mean", "cycles", "mean"},
    {"latency", "p50", "cycles", "median (nearest rank)"},
    {"latency", "p90", "cycles", "90th percentile"},
    {"latency", "p99", "cycles", "99th percentile"},
    {"latency", "p99_9", "cycles", "99.9th percentile"},
    {"latency", "max", "cycles", "maximum"},
    {"latency", "stddev", "cycles", "standard deviation"},
    {"latency", "percentile_rel_error", "ratio",
     "every percentile is within this fraction of the exact nearest-rank one (streaming histogram; 0: exact "
     "samples kept)"},
    {"latency", "histogram", "messages", "messages per latency bin: from <= latency < to, in cycles (powers of two)"},
    // latency_parts.<part>
    {"latency_part", "count", "messages", "samples"},
    {"latency_part", "mean", "cycles", "mean"},
    {"latency_part", "p50", "cycles", "median"},
    {"latency_part", "p90", "cycles", "90th percentile"},
    {"latency_part", "p99", "cycles", "99th percentile"},
    {"latency_part", "max", "cycles", "maximum"},
    // nodes[]: the TLM shell's and core's counters (CmmTlm::Stats), the STAT registers
    {"node", "id", "id", "node id on the fabric"},
    {"node", "data_sent", "packets", "DATA packets sent (payload attached) by this CMM"},
    {"node", "data_delivered", "packets", "DATA payloads moved into a receive slot"},
    {"node", "data_discarded", "packets", "DATA payloads discarded after a reject verdict"},
    {"node", "reg_requests", "accesses", "register transactions received from the node bus"},
    {"node", "reg_shell_errors", "accesses", "register transactions refused by the TLM shell"},
    {"node", "steps", "cycles", "clock edges the core evaluated"},
    {"node", "skipped_cycles", "cycles", "idle clock edges skipped (nothing in flight)"},
    {"node", "link_errors", "events", "fabric link protocol violations (must be 0)"},
    {"node", "ing_headers", "headers", "headers accepted into the verification pipeline"},
    // Stall counters (CmmTlm::Stats), under the producer's names.
    {"node", "reg_stall_cycles", "cycles", "a register request waited: reg_req_ready low"},
    {"node", "ing_stall_cycles", "cycles", "an ingress header waited: ing_ready low"},
    {"node", "eg_credit_stall_cycles", "cycles", "an egress header waited for a fabric credit"},
    {"node", "connect_sent", "packets", "CONNECTs sent (STAT register)"},
    {"node", "connect_accepted", "packets", "CONNECTs accepted: key stored in a send entry (STAT register)"},
    {"node", "close_sent", "packets", "CLOSEs sent (STAT register)"},
    {"node", "mgmt_sent", "packets", "management messages sent (STAT register)"},
    {"node", "nack_sent", "packets", "NACKs sent (STAT register)"},
    {"node", "retx_sent", "packets", "DATA retransmitted by reliable delivery (STAT register; strong mode)"},
    {"node", "ack_sent", "packets", "ACKs of reliable delivery sent (STAT register; strong mode)"},
    {"node", "rekeys_installed", "rekeys",
     "new channel keys installed at this CMM's send entries by a rekey CONNECT (strong mode, C++ core)"},
    {"node", "rekeys_completed", "rekeys",
     "rekeys completed at this CMM's receive entries: old key slot retired at the first packet under the new one"},
    {"node", "tx_scrubs", "buffers", "TX staging buffers zeroed by the shell on FREE, CLOSE or owner change"},
    {"node", "endpoints_used_at_end", "endpoints", "endpoints still allocated after the close phase (must be 0)"},
    {"node", "offered_bytes_per_cycle", "bytes/cycle",
     "payload bytes this node's processes created in the measurement window"},
    {"node", "accepted_bytes_per_cycle", "bytes/cycle",
     "payload bytes this node's processes received in the measurement window"},
    {"node", "terminals", "terminals", "traffic terminals (processes) on this node"},
    // nodes[].partitions[]: the kernel agent's view
    {"partition", "errors_logged", "entries", "error-log entries the partition's agent read"},
    {"partition", "exceptions", "entries", "of them valid-bit exclusion exceptions (I6)"},
    {"partition", "rekeys_requested", "rekeys", "CMD REKEY issued with a new key by the partition's agent (strong mode)"},
    {"partition", "forced_rekeys", "rekeys", "of them answers to a REKEY_DUE error-log entry (the key's soft limit)"},
    {"partition", "errors_lost", "entries", "error-log entries lost to a full log"},
    {"partition", "error_events", "events", "error events in the entries the agent read (1 + coalesced repeats each)"},
    {"partition", "exc_count", "exceptions", "EXC_COUNT at the end: I6 exceptions latched in the exception register"},
    {"partition", "alarms", "alarms", "reject-rate alarms (IRQ ALARM) the agent serviced"},
    {"partition", "alarm_count", "alarms", "ALARM_COUNT at the end: windows whose error events reached ALARM_CFG.THRESH"},
    {"partition", "connect_resends", "commands", "CONNECTs the agent re-sent (no CONNECT_ACK in time)"},
    {"partition", "mgmt_ignored", "messages", "management messages the agent ignored (stale, forged or foreign)"},
    {"partition", "endpoints_used_at_end", "endpoints", "endpoints still allocated after the close phase (must be 0)"},
    // channels[]: the scoreboard's per-channel counts
    {"channel", "opened", "bool", "both ends reached OPEN"},
    {"channel", "closed", "bool", "both ends closed and freed at the end"},
    {"channel", "open_cycle", "cycles", "cycle both ends were OPEN"},
    {"channel", "setup_cycles", "cycles", "request_channel to both ends OPEN"},
    {"channel", "expected", "messages", "messages the channel was to carry"},
    {"channel", "sent", "messages", "doorbells accepted by the sender's CMM"},
    {"channel", "delivered", "messages", "messages read intact by the receiver"},
    {"channel", "refused_at_source", "messages", "doorbells refused by the sender's CMM"},
    {"channel", "nacked", "messages", "NACKs reported to the sender's library (all reasons)"},
    {"channel", "nacked_lost", "messages", "messages refused by the receiver's CMM, NACKed with their reason"},
    {"channel", "nacks_seq_gap", "NACKs", "SEQ_GAP NACKs: the tagged message was delivered, messages before it were missing"},
    {"channel", "gap_lost", "messages", "messages reported missing by SEQ_GAP NACKs"},
    {"channel", "nacks_seq_old", "NACKs", "SEQ_OLD NACKs: late or duplicate copies refused (no loss)"},
    {"channel", "fabric_dropped", "messages",
     "messages dropped by the fabric or a shell with a counted reason (not in gap_lost)"},
    {"channel", "reported_lost", "messages", "messages lost and reported (nacked_lost + gap_lost + fabric_dropped)"},
    // fabric: Crossbar::Stats or Noc::Stats
    {"fabric", "forwarded_requests", "packets", "request-class packets through the crossbar"},
    {"fabric", "forwarded_responses", "packets", "response-class packets through the crossbar"},
    {"fabric", "unroutable", "packets", "packets to a node the fabric has no route to (discarded, counted)"},
    {"fabric", "hol_lifetime_cycles", "cycles", "head-of-queue lifetime at output ports (0: never dropped)"},
    {"fabric", "flits_dropped", "flits", "flits of packets dropped HOL_TIMEOUT at ejection ports"},
    {"fabric", "x", "routers", "routers per row (ring: routers)"},
    {"fabric", "y", "routers", "rows"},
    {"fabric", "injected_requests", "packets", "request-class packets into the network"},
    {"fabric", "injected_responses", "packets", "response-class packets into the network"},
    {"fabric", "flits_injected", "flits", "flits into the routers"},
    {"fabric", "link_flits", "flits", "flits over router-to-router links"},
    {"fabric", "max_packet_latency_cycles", "cycles", "largest network latency of a packet"},
    {"fabric", "router_steps", "cycles", "network cycles evaluated (idle skipped)"},
    {"fabric", "link_utilisation_mean", "flits/cycle", "router-to-router links, mean over links"},
    {"fabric", "link_utilisation_max", "flits/cycle", "the busiest router-to-router link"},
    {"fabric", "buffer_flits_mean_per_router", "flits", "input-buffer occupancy, time mean per router"},
    {"fabric", "buffer_flits_max", "flits", "largest input-buffer occupancy of a router"},
    // fabric.faults: the fault interposer (docs/fault-injection.md), only with faults
    {"fault", "stall_cycles", "cycles", "link-cycles spent stalled, all links"},
    {"fault", "data_hit", "messages", "DATA packets of scenario channels hit by a loss-making fault (drop, corrupt)"},
    {"fault", "lost_reported", "messages",
     "of those, losses reported by the CMMs (SEQ_GAP / NACK to the sender, or to the receiver's agent when its NACK "
     "was lost)"},
    {"fault", "lost_tail", "messages",
     "losses the plain scheme cannot report: no later message of the channel reached the receiver (FAULT_TAIL)"},
    {"fault", "unexplained", "messages", "losses neither reported nor explained (must be 0)"},
    {"channel", "fault_tail_lost", "messages",
     "messages lost to a fault with no later message of the channel reaching the receiver (FAULT_TAIL)"},
    // load (generated traffic, measurement window)
    {"load", "terminals", "terminals", "processes that are traffic terminals"},
    {"load", "offered_msgs", "messages/cycle/terminal", "messages created in the measurement window"},
    {"load", "offered_bytes", "bytes/cycle/terminal", "payload bytes created in the measurement window"},
    {"load", "accepted_msgs", "messages/cycle/terminal", "messages delivered in the measurement window"},
    {"load", "accepted_bytes", "bytes/cycle/terminal", "payload bytes delivered in the measurement window"},
    {"load", "configured_rate", "messages/cycle/terminal", "injection rate the traffic spec asks for"},
    {"load", "traffic_start", "cycles", "first cycle of traffic (end of the connect storm)"},
    // attacks[]
    {"attack", "attempts", "attempts", "attack attempts made (tried)"},
    {"attack", "refused_as_expected", "attempts", "attempts refused with the expected reason"},
    {"attack", "succeeded", "attempts", "attempts that got through (must be 0)"},
    {"attack", "unauthorized", "deliveries", "deliveries of its packets and successful accesses (must be 0)"},
    {"attack", "silent_losses", "messages",
     "legitimate messages of the attacked channel lost unreported, plus attack packets no counter accounts for "
     "(must be 0)"},
    // attacks[].observed: kind-specific figures
    {"observed", "responses_received", "packets", "packets the fabric delivered to the rogue node"},
    {"observed", "owner_alarms", "alarms", "reject-rate alarms the attacked entry's agent serviced (all attacks on it)"},
    {"observed", "owner_alarm_count", "alarms", "ALARM_COUNT of the attacked entry's partition at the end"},
    {"observed", "owner_errlog_entries", "entries", "error-log entries that partition's agent read (coalesced)"},
    {"observed", "owner_error_events", "events", "error events in those entries (1 + repeats each)"},
    {"observed", "channel_delivered", "messages", "messages the attacked channel delivered"},
    {"observed", "dropped_toward", "packets", "packets toward the rogue node the fabric dropped (HOL_TIMEOUT at its port)"},
    {"observed", "predictions", "keys", "predicted keys checked against the channel's key (comparator)"},
    {"observed", "prediction_hits", "keys", "predicted keys equal to the channel's key (must be 0)"},
    // energy (energy.cpp, docs/energy.md): count x energy per event, whole run
    {"energy", "total_pj", "pJ", "energy of every CMM, switch/router and link"},
    {"energy", "cmm_pj", "pJ", "energy of the CMMs"},
    {"energy", "router_pj", "pJ", "energy of the switches/routers (buffers, crossbars, allocation)"},
    {"energy", "link_pj", "pJ", "energy of the links (node <-> fabric and inside the fabric)"},
    {"energy", "average_power_mw", "mW", "total energy over the simulated time"},
    {"energy", "window_cycles", "cycles", "time the energy was counted over (the whole run)"},
    {"energy", "link_onchip_pj", "pJ", "links of the on-chip length class"},
    {"energy", "link_board_pj", "pJ", "links of the board length class"},
    {"energy", "link_cable_pj", "pJ", "links of the cable length class"},
    {"energy", "buffer_write_pj", "pJ", "switch/router input buffer writes"},
    {"energy", "buffer_read_pj", "pJ", "switch/router input buffer reads"},
    {"energy", "crossbar_pj", "pJ", "switch/router crossbar traversals"},
    {"energy", "alloc_pj", "pJ", "switch/router route computation and allocation"},
    {"energy", "table_lookup_pj", "pJ", "CMM CST/CKT entry reads"},
    {"energy", "key_compare_pj", "pJ", "CMM key compares"},
    {"energy", "register_access_pj", "pJ", "CMM register-port transactions"},
    {"energy", "packet_buffer_pj", "pJ", "CMM packet-buffer bytes moved"},
    {"energy", "mac_pj", "pJ", "CMM MAC engines (strong mode)"},
    {"energy", "static_pj", "pJ", "static (leakage) part of total_pj: static power x simulated time"},
    {"energy", "static_power_mw", "mW", "static power of every CMM, switch/router and link"},
    {"energy", "cmm_static_pj", "pJ", "CMM static power x time"},
    {"energy", "router_static_pj", "pJ", "switch/router static power (buffers, crossbars, allocators) x time"},
    {"energy", "link_static_pj", "pJ", "link static power x time"},
    // energy.nodes[]: the node's CMM and its links to the fabric
    {"energy_node", "total_pj", "pJ", "the node's CMM and its links to and from the fabric"},
    {"energy_node", "cmm_pj", "pJ", "the node's CMM"},
    {"energy_node", "link_pj", "pJ", "the node's links to and from the fabric"},
    {"energy_node", "average_power_mw", "mW", "total_pj over the simulated time"},
    {"energy_node", "table_lookup_pj", "pJ", "CST/CKT entry reads"},
    {"energy_node", "key_compare_pj", "pJ", "key compares"},
    {"energy_node", "register_access_pj", "pJ", "register-port transactions"},
    {"energy_node", "packet_buffer_pj", "pJ", "packet-buffer bytes moved"},
    {"energy_node", "mac_pj", "pJ", "MAC engines (strong mode)"},
    {"energy_node", "static_pj", "pJ", "the CMM's static power x time"},
    {"energy_node", "table_lookups", "lookups", "CST and CKT entry reads: two per header verified or sent"},
    {"energy_node", "key_compares", "compares", "key (or MAC) compares: one per header verified"},
    {"energy_node", "register_accesses", "accesses", "register-port transactions"},
    {"energy_node", "buffer_bytes", "bytes", "packet-buffer bytes moved (window bursts, payloads sent and delivered)"},
    {"energy_node", "mac_bytes", "bytes", "bytes the MAC engines absorbed"},
    // energy.routers[]: each switch/router (crossbar: one)
    {"energy_router", "total_pj", "pJ", "buffers, crossbar and allocation of this switch/router"},
    {"energy_router", "average_power_mw", "mW", "total_pj over the simulated time"},
    {"energy_router", "buffer_write_pj", "pJ", "input buffer writes"},
    {"energy_router", "buffer_read_pj", "pJ", "input buffer reads"},
    {"energy_router", "crossbar_pj", "pJ", "crossbar traversals"},
    {"energy_router", "alloc_pj", "pJ", "route computation and allocation"},
    {"energy_router", "static_pj", "pJ", "static power (buffer bytes, ports, allocators) x time"},
    {"energy_router", "ports", "ports", "connected ports"},
    {"energy_router", "buffer_bytes", "bytes", "input buffer capacity over its ports"},
    {"energy_router", "buf_writes", "flits", "flits written into its input buffers"},
    {"energy_router", "buf_reads", "flits", "flits read out of its input buffers"},
    {"energy_router", "crossbar_flits", "flits", "flits through its crossbar"},
    {"energy_router", "alloc_flits", "flits", "flits it allocated an output to"},
    // energy.links[]: each direction of each link
    {"energy_link", "latency_ns", "ns", "flight time (its length class)"},
    {"energy_link", "bits", "bits", "bits carried"},
    {"energy_link", "total_pj", "pJ", "bits x the energy per bit of its class + static power x time"},
    {"energy_link", "static_pj", "pJ", "the class's static power x time (in total_pj)"},
    {"energy_link", "average_power_mw", "mW", "total_pj over the simulated time"},
    // energy.params: the energy per event used (scenario key energy.<name>)
    {"energy_param", "link_onchip_pj_per_bit", "pJ/bit", "link energy per bit, on-chip class"},
    {"energy_param", "link_board_pj_per_bit", "pJ/bit", "link energy per bit, board class"},
    {"energy_param", "link_cable_pj_per_bit", "pJ/bit", "link energy per bit, cable class"},
    {"energy_param", "onchip_max_ns", "ns", "longest flight time of the on-chip class"},
    {"energy_param", "board_max_ns", "ns", "longest flight time of the board class"},
    {"energy_param", "buffer_write_pj", "pJ/flit", "input buffer write per flit"},
    {"energy_param", "buffer_read_pj", "pJ/flit", "input buffer read per flit"},
    {"energy_param", "crossbar_pj", "pJ/flit", "crossbar traversal per flit"},
    {"energy_param", "alloc_pj", "pJ/flit", "route computation and allocation per flit"},
    {"energy_param", "table_lookup_pj", "pJ/lookup", "CST or CKT entry read"},
    {"energy_param", "key_compare_pj", "pJ/compare", "128-bit key compare"},
    {"energy_param", "register_access_pj", "pJ/access", "register-port transaction"},
    {"energy_param", "packet_buffer_pj_per_byte", "pJ/byte", "packet buffer per byte"},
    {"energy_param", "mac_pj_per_byte", "pJ/byte", "MAC engine per byte"},
    {"energy_param", "cmm_static_mw", "mW", "static power per CMM"},
    {"energy_param", "buffer_static_mw_per_byte", "mW/byte", "static power per byte of input buffer"},
    {"energy_param", "crossbar_static_mw_per_port", "mW/port", "crossbar static power per port"},
    {"energy_param", "alloc_static_mw", "mW", "static power of a switch/router's allocators"},
    {"energy_param", "link_onchip_static_mw", "mW", "static power per link direction, on-chip class"},
    {"energy_param", "link_board_static_mw", "mW", "static power per link direction, board class"},
    {"energy_param", "link_cable_static_mw", "mW", "static power per link direction, cable class"},
    // speed.json (wall clock; not deterministic)
    {"speed", "wall_seconds", "s", "wall-clock time of the simulation"},
    {"speed", "cycles_per_second", "cycles/s", "simulated cycles per wall second"},
    {"speed", "messages_per_second", "messages/s", "delivered messages per wall second"},
    {"speed", "cpu_seconds", "s", "process CPU time (user + system) of the simulation, the span of wall_seconds"},
    {"speed", "window_cpu_seconds", "s", "process CPU time of the measurement window alone (steady state)"},
    {"speed", "window_cycles_per_cpu_second", "cycles/s",
     "simulated cycles of the measurement window per CPU second of it"},
    {"speed", "window_messages_per_cpu_second", "messages/s",
     "messages read by receivers during the measurement window per CPU second of it"},
    {"speed", "peak_rss_kib", "KiB", "peak resident memory of the process (getrusage)"},
};

// parent object -> unit and description prefix of its reason-code children.
const ByReasonDecl kByReason[] = {
    {"rejects", "packets", "rejected with reason "},
    {"shell_drops", "packets", "dropped by this CMM's shell (ingress) with reason "},
    {"port_drops", "packets", "dropped by the fabric at this node's port with reason "},
    {"drops", "packets", "dropped by the fabric, all ports, with reason "},
    {"agent_refused", "events", "refused, ignored or expired by the kernel agent with agent reason "},
    {"control_drops", "packets", "control packets of the CMMs dropped by the fabric or a shell: opcode_reason "},
    {"injected", "packets", "faults injected on all links (stall: stalls), of kind "},
    {"in", "packets", "faults injected on the node -> fabric link (stall: stalls), of kind "},
    {"out", "packets", "faults injected on the fabric -> node link (stall: stalls), of kind "},
    {"system.rejects", "packets", "rejections with this reason, all CMMs"},
    {"system.drops", "packets", "dropped with this reason by the fabric (edge, HOL) and the CMM shells (CRC, length)"},
    {"attack.refused", "events", "attempts refused with this reason (CMM, shell, fabric, agent)"},
};

}  // namespace

const std::vector<StatDecl>& stat_decls() { return kStats; }

const StatDecl* find_stat(const std::string& group, const std::string& name) {
  for (const auto& d : kStats)
    if (group == d.group && name == d.name) return &d;
  return nullptr;
}

const StatDecl& stat_decl(const std::string& group, const std::string& name) {
  if (const StatDecl* d = find_stat(group, name)) return *d;
  throw std::logic_error("statistic " + group + "." + name + " has no declaration (testbench/stats_decl.cpp)");
}

const ByReasonDecl* find_by_reason(const std::string& parent) {
  for (const auto& b : kByReason)
    if (parent == b.parent) return &b;
  return nullptr;
}

}  // namespace cmm::tb
