// Run control: the control thread takes the system through the connect
// storm, the traffic (measurement window of generated traffic, drain) and
// the close; run_system elaborates, simulates and collects.
#include "system_impl.h"

namespace cmm::tb {

bool System::traffic_done() const {
  for (const auto& c : chans_)
    if (!c->failed && !(c->sender_done && c->receiver_done)) return false;
  return true;
}

bool System::all_closed() const {
  for (const auto& c : chans_)
    if (!c->failed && c->rep >= 0 && !(c->closed_recv && c->closed_send)) return false;
  return true;
}

void System::control_thread() {
  auto all_open = [&] {
    for (const auto& c : chans_)
      if (!c->failed && !(c->recv_ready && c->send_ready)) return false;
    return true;
  };
  while (!all_open()) wait(progress_ev_);
  storm_done_cycle_ = cycle();
  if (traffic_) {
    t0_ = cycle();
    measure_start_ = t0_ + scen_.warmup_cycles;
    measure_end_ = measure_start_ + scen_.measure_cycles;
    drain_deadline_ = measure_end_ + scen_.drain_cycles;
    drain_ev_.notify(period_ * static_cast<double>(drain_deadline_ - cycle()));
    traffic_started_ = true;
    traffic_start_ev_.notify(SC_ZERO_TIME);
  }
  while (!traffic_done() || !attacks_done()) {
    if (cycle() >= drain_deadline_) {
      error(fmt::format("drain: in-flight messages did not finish within drain_cycles={} after the measurement "
                        "ended; stuck: {}", scen_.drain_cycles, stuck_report()));
      drain_failed_ = true;
      sc_stop();
      return;
    }
    // One timed event for the deadline, not a fresh timeout per wake-up: a
    // cancelled timeout stays in the kernel's queue until its time.
    if (drain_deadline_ != UINT64_MAX) wait(progress_ev_ | drain_ev_);
    else wait(progress_ev_);
  }
  traffic_done_cycle_ = cycle();
  closing_ = true;
  for (auto& n : nodes_)
    for (auto& p : n->parts) p->wake.notify(SC_ZERO_TIME);
  while (!all_closed()) wait(progress_ev_);
  end_cycle_ = cycle();
  read_counters();
  finished_ = true;
  for (auto& n : nodes_)
    for (auto& p : n->parts) p->wake.notify(SC_ZERO_TIME);
  wait(SC_ZERO_TIME);
  sc_stop();
}

RunResult run_system(const Scenario& s, const RunOptions& opt) {
  System sys("system", s, opt);
  const auto t0 = std::chrono::steady_clock::now();
  const sc_time period(1000.0 / s.clock_ghz, SC_PS);
  sc_start(period * static_cast<double>(s.max_cycles));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sys.collect(wall);
}

}  // namespace cmm::tb
