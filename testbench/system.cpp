// Run control: the control thread takes the system through the connect
// storm, the traffic (measurement window of generated traffic, drain) and
// the close; run_system elaborates, simulates and collects.
#include "system_impl.h"

#include <sys/resource.h>

#include <ctime>

namespace cmm::tb {

namespace {
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

// Called at every packet a CMM sends or accepts: the first one at or after
// each edge of the measurement window samples it. No event of its own: a
// timed wake-up would reorder same-time processes and change the run.
void System::window_edge() {
  if (win_done_ || !traffic_started_) return;
  const uint64_t now = cycle();
  if (now < (win_started_ ? measure_end_ : measure_start_)) return;
  uint64_t n = 0;
  for (const auto& c : chans_) n += c->received;
  if (!win_started_) {
    win_started_ = true;
    win_cpu0_ = process_cpu_seconds();
    win_cyc0_ = now;
    win_msgs0_ = n;
  } else {
    win_done_ = true;
    win_cpu1_ = process_cpu_seconds();
    win_cyc1_ = now;
    win_msgs1_ = n;
  }
}

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
  const double cpu0 = process_cpu_seconds();
  const sc_time period(1000.0 / s.clock_ghz, SC_PS);
  sc_start(period * static_cast<double>(s.max_cycles));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_seconds() - cpu0;
  RunResult r = sys.collect(wall);
  r.cpu_seconds = cpu;
  if (sys.window_measured()) {
    r.window_cpu_seconds = sys.window_cpu_seconds();
    r.window_cycles = sys.window_cycles();
    r.window_messages = sys.window_messages();
  }
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) r.peak_rss_kib = static_cast<uint64_t>(ru.ru_maxrss);  // KiB on Linux
  return r;
}

}  // namespace cmm::tb
