// The multi-node SystemC system of a scenario: CMMs, node buses, partition
// CPUs running the kernel agents and user processes, the fabric. Elaborates
// and runs it once (SystemC allows one elaboration per process).
#pragma once
#include <cstdint>
#include <string>

#include "report.h"
#include "scenario.h"

namespace cmm::tb {

struct RunOptions {
  uint64_t seed = 1;
  bool progress = false;  // progress lines on stderr
};

RunResult run_system(const Scenario& s, const RunOptions& opt);

}  // namespace cmm::tb
