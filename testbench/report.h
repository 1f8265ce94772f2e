// Results of one cmmsim run: the summary on stdout and stats.json beside the
// effective configuration. Every statistic is declared once (stats_decl.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "histogram.h"

namespace cmm::tb {

// One channel of the run, for the summary table.
struct ChannelRow {
  std::string label;             // "216 <- 220b"
  std::string receiver, sender;  // "node 202 partition 208d ep 0"
  bool opened = false, closed = false;
  uint64_t open_cycle = 0;       // both ends OPEN
  uint64_t setup_cycles = 0;     // request_channel -> both ends OPEN
  uint32_t expected = 0, sent = 0, delivered = 0, refused = 0, nacked = 0;
};

// One attack of the run: every attempt must be refused, with the expected
// reason (or, for rogue_all_kinds, the reason of its packet kind).
struct AttackRow {
  std::string kind, attacker, target, expected_reason, note;
  uint32_t attempts = 0, refused_as_expected = 0, succeeded = 0;
  // Refusals by reason: the CMMs' verdicts on its packets, the shells' and
  // the fabric's drops (HOL_TIMEOUT: packets toward it), the register port's
  // answers, and "AGENT_<reason>" for MGMT messages the kernel agents refused.
  std::map<std::string, uint64_t> refused;
  uint64_t unauthorized = 0;   // deliveries of its packets, successful accesses (must be 0)
  uint64_t silent_losses = 0;  // legitimate messages of the attacked channel lost unreported,
                               // plus its packets no counter accounts for (must be 0)
  nlohmann::json observed = nlohmann::json::object();  // kind-specific figures (alarms, HOL drops, predictions)
};

struct RunResult {
  std::string scenario;
  uint64_t seed = 0;
  double clock_ghz = 1.0;
  uint32_t channels_requested = 0;
  uint32_t channels_opened = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_delivered = 0;
  uint64_t messages_refused_at_source = 0;
  uint64_t nacks_reported = 0;
  std::map<std::string, uint64_t> rejects_by_reason;  // from the CMMs' REJECT_COUNT
  std::map<std::string, uint64_t> drops_by_reason;    // dropped by the fabric (edge, HOL) and the CMM shells (CRC, length)
  // Latency samples, streaming (memory independent of the run's length):
  // percentiles within Histogram::kRelError unless keep_exact_latency().
  Histogram latency_cycles;  // message created -> message in the receive queue
  // Its parts (cycles): source (created -> header leaves the sender's CMM),
  // fabric (-> accepted by the receiver's CMM), pipeline (-> receive queue);
  // and after it, the wait in the receive queue until the process reads it.
  Histogram part_source, part_fabric, part_pipeline, part_rx_wait;
  // Keep every sample too, for exact percentiles (short runs); call before
  // the first sample.
  void keep_exact_latency() {
    for (Histogram* h : {&latency_cycles, &part_source, &part_fabric, &part_pipeline, &part_rx_wait}) h->keep_samples();
  }
  uint64_t connect_storm_cycles = 0;     // start -> last channel open
  uint64_t simulated_cycles = 0;
  double wall_seconds = 0;
  // Speed report (not deterministic): process CPU time over the same span as
  // wall_seconds; the measurement window of generated traffic alone (the
  // steady state, without elaboration, connect storm, warm-up and drain;
  // window_cycles 0 when there is none); peak resident memory.
  double cpu_seconds = 0;
  double window_cpu_seconds = 0;
  uint64_t window_cycles = 0, window_messages = 0;
  uint64_t peak_rss_kib = 0;
  bool scoreboard_clean = false;
  bool interrupted = false;  // stopped by the user before the end
  std::vector<std::string> errors;  // scoreboard and invariant failures
  std::vector<ChannelRow> channels;
  std::vector<AttackRow> attacks;
  uint64_t agent_errors_logged = 0;  // error-log entries the kernel agents read
  nlohmann::json per_channel = nlohmann::json::array();
  nlohmann::json fabric = nlohmann::json::object();
  // Generated traffic: offered and accepted load in the measurement window,
  // per terminal per cycle (messages and bytes); empty for static channels.
  nlohmann::json load = nlohmann::json::object();
  nlohmann::json traces = nlohmann::json::object();
  nlohmann::json timeseries = nlohmann::json::array();  // one object per stats interval  // files written: path, bytes
  nlohmann::json per_node = nlohmann::json::array();
  // Energy per component (energy.h energy_json): CMMs, switches/routers,
  // links, per node and total; empty when not computed.
  nlohmann::json energy = nlohmann::json::object();
};

struct LatencySummary {
  uint64_t count = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  double mean = 0, stddev = 0;
  double rel_error = 0;  // percentiles within this fraction of the exact ones (0: exact)
};
LatencySummary summarize(const Histogram& samples);
LatencySummary summarize(const std::vector<uint64_t>& samples);  // exact

// Human summary; `wall`=false omits wall-clock figures (for byte-identical comparisons).
std::string summary_text(const RunResult& r, bool wall = true);
// Statistics of a run that have no declaration in stats_decl.cpp, as
// "group.name"; the system tests keep this empty.
std::vector<std::string> undeclared_stats(const RunResult& r);
// What produced a run: recorded in every output file (stats.json, stats.txt,
// config.json, summary.txt, speed.json).
struct Provenance {
  std::string version, git, systemc, compiler, verilator;
  uint64_t seed = 0;
  nlohmann::json to_json() const;
  std::string line() const;  // one line for text outputs
};
// stats.json content: deterministic for a seed (no wall-clock figures);
// every statistic {value, unit, desc} from its declaration (stats_decl.cpp).
nlohmann::json stats_json(const RunResult& r, const Provenance* prov = nullptr);
// stats.txt: the same, flat and greppable (gem5 style), one line each:
// "nodes.202.data_sent 412 # DATA packets sent ... (packets)".
std::string stats_txt(const nlohmann::json& stats);
// row.csv content: a header line and one value line; the configuration's
// top-level scalar keys first (config_*), then the results. For merging sweeps.
std::string csv_row(const RunResult& r, const nlohmann::json& effective_config);
// timeseries.csv content (empty string when no time series was taken).
std::string timeseries_csv(const RunResult& r);
// speed.json content: wall time and simulation speed (differs run to run).
nlohmann::json speed_json(const RunResult& r, const Provenance* prov = nullptr);

}  // namespace cmm::tb
