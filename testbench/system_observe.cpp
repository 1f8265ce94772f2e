// Observers room: the message timeline spans of the traces (system_trace.h),
// the time series of stats_interval_cycles and the progress lines. They
// watch; nothing here changes what the system does.
#include "system_impl.h"

#include "energy_system.h"

namespace cmm::tb {

void System::trace_stage(ChanRt& c, uint32_t seq, size_t node, const std::string& track, uint64_t cyc,
                         const char* stage) {
  if (!traces_->timeline() || seq >= c.times.size() || !c.times[seq].traced) return;
  traces_->stage(msg_id(c, seq), static_cast<uint32_t>(node), track, cyc, stage);
}

void System::trace_end(ChanRt& c, uint32_t seq, uint64_t cyc, const char* how) {
  if (!traces_->timeline() || seq >= c.times.size() || !c.times[seq].traced) return;
  c.times[seq].traced = false;
  traces_->end_message(msg_id(c, seq), cyc, how);
}

// Time series: cumulative counts at every interval (rates are differences).
void System::sampler_thread() {
  for (;;) {
    wait(period_ * static_cast<double>(scen_.stats_interval_cycles));
    uint64_t sent = 0, delivered = 0, nacked = 0, read = 0;
    for (const auto& c : chans_) {
      sent += c->sent;
      nacked += c->nacked;
      read += c->received;
      delivered += c->deliver_cycles.size() + c->received;
    }
    nlohmann::json row = {{"cycle", cycle()},        {"sent", sent},           {"delivered", delivered},
                          {"read", read},            {"nacked", nacked},       {"in_flight", sent - delivered - nacked},
                          {"rx_queued", delivered - read}};
    if (const tlmshell::Noc* noc = fabric_->noc()) row["fabric_flits"] = noc->stats().flits_injected;
    uint64_t in_use = 0;  // table occupancy: entries of open channels, all nodes
    for (const auto& c : chans_)
      in_use += (c->rep >= 0 && !c->closed_recv ? 1 : 0) + (c->sep >= 0 && !c->closed_send ? 1 : 0);
    row["endpoints_in_use"] = in_use;
    {
      // Energy so far, pJ (docs/energy.md): power of an interval = difference / interval time.
      const EnergyReport e =
          compute_energy(scen_.energy, gather_energy_events(scen_, *fabric_, nodes_, cycle(), false));
      row["energy_pj"] = e.total;
      row["energy_cmm_pj"] = e.cmm_total;
      row["energy_router_pj"] = e.router_total;
      row["energy_link_pj"] = e.link_total;
    }
    timeseries_.push_back(row);
  }
}

void System::monitor_thread() {
  using clock = std::chrono::steady_clock;
  auto last_print = clock::now();
  for (;;) {
    wait(period_ * static_cast<double>(kMonitorCycles));
    if (opt_.interrupt && *opt_.interrupt) {
      interrupted_ = true;
      error("interrupted by the user: statistics cover the run so far");
      sc_stop();
      return;
    }
    if (!opt_.progress) continue;
    const auto now = clock::now();
    if (now - last_print < std::chrono::seconds(1)) continue;
    last_print = now;
    uint64_t done = 0;
    for (const auto& c : chans_) done += c->received + c->nacked + c->refused;
    const double wall = std::chrono::duration<double>(now - wall0_).count();
    const double frac = expected_messages_ ? static_cast<double>(done) / static_cast<double>(expected_messages_) : 0.0;
    const double eta = frac > 0 ? wall * (1.0 - frac) / frac : 0.0;
    std::fprintf(stderr, "cmmsim: %.3f us simulated (%llu cycles), %llu of %llu messages (%.1f%%), %.2f M cycles/s, ETA %.0f s\n",
                 sc_time_stamp().to_seconds() * 1e6,
                 static_cast<unsigned long long>(cycle()), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(expected_messages_), 100.0 * frac,
                 static_cast<double>(cycle()) / wall / 1e6, eta);
  }
}

}  // namespace cmm::tb
