// The multi-node SystemC system of a scenario: CMMs, node buses, partition
// CPUs running the kernel agents and user processes, the fabric. Elaborates
// and runs it once (SystemC allows one elaboration per process). The
// implementation is split into rooms (system_impl.h, docs/testbench.md).
#pragma once
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report.h"
#include "scenario.h"

namespace cmm::tb {

struct RunOptions {
  uint64_t seed = 1;
  bool progress = false;  // progress lines on stderr (at most one per wall second)
  // Set asynchronously (SIGINT): the run stops at the next monitor tick and
  // still reports what it has.
  const volatile std::sig_atomic_t* interrupt = nullptr;
  // Traces (empty path: none); window in cycles [from, to), node filter by name.
  std::string perfetto_path, vcd_path;
  uint64_t trace_from_cycle = 0, trace_to_cycle = UINT64_MAX;
  std::vector<std::string> trace_nodes;
  bool vcd_keys = false;  // dump key fields into the VCD (secret!)
  // Test-only fabric faults on legitimate traffic: message `seq` of channel
  // `channel` is dropped (or duplicated) once as it enters the fabric.
  struct DataFault {
    uint32_t channel = 0, seq = 0;
    bool duplicate = false;
  };
  std::vector<DataFault> data_faults;
  // Keep every latency sample (exact percentiles); memory grows with the run.
  bool exact_latency = false;
  // Fabric fault injection (docs/fault-injection.md). When set, replaces the
  // scenario's fault keys (tests; the scenario keys come from config).
  struct FaultRule {
    std::string kind;          // drop, duplicate, reorder, corrupt, delay, stall
    double rate = 0;           // per packet, 0..1
    std::string link = "all";  // all, <node>, <node>.in, <node>.out
  };
  struct Faults {
    std::vector<FaultRule> rules;
    std::string packets = "all";  // all, data (DATA and NACKs of DATA)
    uint32_t reorder_window = 4, delay_cycles = 100, stall_cycles = 200;
  };
  std::optional<Faults> faults;
};

// Simulated cycles between two looks of the run monitor (progress, interrupt).
// Fixed, so that it never changes the schedule between runs.
inline constexpr uint64_t kMonitorCycles = 100'000;

RunResult run_system(const Scenario& s, const RunOptions& opt);

}  // namespace cmm::tb
