// Observers room, the traces (system_trace.h).
#include "system_trace.h"

#include <exception>

#include "config_error.h"

namespace cmm::tb {

SystemTraces::SystemTraces(const Scenario& s, const RunOptions& opt, uint64_t period_ps)
    : period_ps_(period_ps), perfetto_path_(opt.perfetto_path), vcd_path_(opt.vcd_path), vcd_keys_(opt.vcd_keys) {
  // Node index = pid; window and node filter from the options.
  if (!opt.perfetto_path.empty() || !opt.vcd_path.empty()) {
    TraceLimits lim;
    lim.from_ps = ps(opt.trace_from_cycle);
    lim.to_ps = opt.trace_to_cycle == UINT64_MAX ? UINT64_MAX : ps(opt.trace_to_cycle);
    for (const auto& want : opt.trace_nodes) {
      bool found = false;
      for (size_t n = 0; n < s.nodes.size(); ++n)
        if (s.nodes[n].name == want) {
          lim.nodes.push_back(static_cast<uint32_t>(n));
          found = true;
        }
      if (!found) {
        std::string names;
        for (const auto& N : s.nodes) names += (names.empty() ? "" : ", ") + N.name;
        throw ConfigError("--trace-nodes: no node named '" + want + "' (nodes: " + names + ")");
      }
    }
    try {
      if (!opt.perfetto_path.empty()) {
        perfetto_ = std::make_unique<PerfettoTrace>(opt.perfetto_path, lim);
        for (size_t n = 0; n < s.nodes.size(); ++n)
          perfetto_->set_node_name(static_cast<uint32_t>(n), "node " + s.nodes[n].name);
      }
      if (!opt.vcd_path.empty()) {
        VcdOptions vo;
        vo.limits = lim;
        vo.include_keys = opt.vcd_keys;
        vo.clock_period_ps = period_ps_;
        vcd_ = std::make_unique<VcdWriter>(opt.vcd_path, vo);
        for (size_t n = 0; n < s.nodes.size(); ++n) vcd_->add_node(static_cast<uint32_t>(n), s.nodes[n].name);
      }
    } catch (const std::exception& e) {
      throw ConfigError(std::string("traces: ") + e.what());
    }
  }
  rxq_depth_.assign(s.nodes.size(), 0);
}

SystemTraces::~SystemTraces() = default;

void SystemTraces::begin_message(uint64_t id, uint32_t node, const std::string& track, uint64_t cycle,
                                 const std::string& name, uint32_t seq, uint32_t bytes) {
  if (!perfetto_) return;
  perfetto_->begin_message(id, perfetto_->track(node, track), ps(cycle), name, {{"seq", seq}, {"bytes", bytes}});
}

void SystemTraces::stage(uint64_t id, uint32_t node, const std::string& track, uint64_t cycle, const char* stage) {
  if (!perfetto_) return;
  perfetto_->stage(id, perfetto_->track(node, track), ps(cycle), stage);
}

void SystemTraces::end_message(uint64_t id, uint64_t cycle, const char* how) {
  if (!perfetto_) return;
  perfetto_->end_message(id, ps(cycle), {{"end", how}});
}

void SystemTraces::rx_queue(uint32_t node, uint64_t cycle, int delta) {
  if (!perfetto_) return;
  rxq_depth_[node] += delta;
  perfetto_->counter(node, "receive-queue messages", ps(cycle), static_cast<double>(rxq_depth_[node]));
}

void SystemTraces::close(nlohmann::json& traces) {
  if (perfetto_) {
    perfetto_->close();
    traces["perfetto"] = {{"path", perfetto_path_}, {"bytes", perfetto_->bytes()},
                          {"events", perfetto_->events()}, {"truncated", perfetto_->truncated()}};
  }
  if (vcd_) {
    vcd_->close();
    traces["vcd"] = {{"path", vcd_path_}, {"bytes", vcd_->bytes()}, {"truncated", vcd_->truncated()},
                     {"keys", vcd_keys_}};
  }
}

}  // namespace cmm::tb
