// Observers room, the traces: the Perfetto message timeline and the VCD of
// the core pins a run was asked for (RunOptions), opened at elaboration and
// closed into the run's results. Every call is a no-op for a trace that is
// off, so callers need not ask. Times are cycles here, ps in the files.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmm_pins.h"
#include "scenario.h"
#include "system.h"
#include "trace.h"

namespace cmm::tb {

class SystemTraces {
 public:
  // Throws ConfigError for a node filter naming no node or a file that
  // cannot be opened.
  SystemTraces(const Scenario& s, const RunOptions& opt, uint64_t period_ps);
  ~SystemTraces();

  bool timeline() const { return perfetto_ != nullptr; }

  // Message spans (Perfetto): on `node`'s track `track`; `id` unique in flight.
  void begin_message(uint64_t id, uint32_t node, const std::string& track, uint64_t cycle, const std::string& name,
                     uint32_t seq, uint32_t bytes);
  void stage(uint64_t id, uint32_t node, const std::string& track, uint64_t cycle, const char* stage);
  void end_message(uint64_t id, uint64_t cycle, const char* how);
  // Messages in a node's receive queues (a counter track), changed by delta.
  void rx_queue(uint32_t node, uint64_t cycle, int delta);
  // The pins of a node's core at a clock edge (VCD).
  void pins(uint32_t node, uint64_t time_ps, const PinsIn& in, const PinsOut& out) {
    if (vcd_) vcd_->sample(node, time_ps, in, out, true);
  }

  // Finishes the files; records what was written in `traces` (RunResult::traces).
  void close(nlohmann::json& traces);

 private:
  uint64_t ps(uint64_t cycle) const { return cycle * period_ps_; }
  uint64_t period_ps_;
  std::string perfetto_path_, vcd_path_;
  bool vcd_keys_ = false;
  std::unique_ptr<PerfettoTrace> perfetto_;
  std::unique_ptr<VcdWriter> vcd_;
  std::vector<int64_t> rxq_depth_;  // per node
};

}  // namespace cmm::tb
