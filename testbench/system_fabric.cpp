// Elaboration room, the fabric (system_fabric.h).
#include "system_fabric.h"

#include <algorithm>

#include <fmt/format.h>

#include "config_error.h"
#include "rogue_node.h"

namespace cmm::tb {

using namespace sc_core;

nlohmann::json drops_json(const tlmshell::DropCount& d) {
  nlohmann::json j = nlohmann::json::object();
  for (regs::Reason r : {regs::Reason::kSrcSpoofed, regs::Reason::kBadLen, regs::Reason::kHolTimeout,
                         regs::Reason::kBadCrc})
    if (d.of(r)) j[std::string(regs::to_string(r))] = d.of(r);
  return j;
}

SystemFabric::SystemFabric(const Scenario& s, uint32_t ports, const sc_time& period, tlmshell::ClockDomain* clock) {
  if (s.topology == "crossbar") {
    tlmshell::XbarConfig xc;
    xc.num_ports = ports;
    xc.clock_period = period;
    xc.router_delay_cycles = s.router_delay_cycles;
    xc.hol_lifetime_cycles = s.hol_lifetime_cycles;
    xc.ports.assign(xc.num_ports, tlmshell::XbarPortConfig{s.link_bytes_per_cycle, s.link_latency_cycles});
    xbar_ = std::make_unique<tlmshell::Crossbar>("fabric", xc);
  } else {
    tlmshell::NocConfig nc;
    nc.topology = tlmshell::parse_topology(s.topology);
    fill_fabric_config(s, nc);  // switched fabrics: routing, fat-tree/dragonfly/flatfly/file keys (scenario.h)
    nc.x = s.fabric_x;
    nc.y = nc.topology == tlmshell::Topology::kRing ? 1 : s.fabric_y;
    if (nc.topology == tlmshell::Topology::kRing && nc.x == 0) nc.x = std::max<uint32_t>(ports, 2);
    if (nc.topology != tlmshell::Topology::kRing && (nc.x == 0 || nc.y == 0)) {
      // Smallest near-square grid that holds every port.
      uint32_t x = 2;
      while (x * x < ports) ++x;
      nc.x = nc.x ? nc.x : x;
      nc.y = nc.y ? nc.y : std::max<uint32_t>(2, (ports + nc.x - 1) / nc.x);
    }
    if (nc.topology == tlmshell::Topology::kFile) {
      // A bad file is reported with its file:line, not as a fabric of 0 routers.
      try {
        (void)tlmshell::build_topology(nc);
      } catch (const std::exception& e) {
        throw ConfigError(e.what());
      }
    }
    if (nc.num_nodes() < ports)
      throw ConfigError(fmt::format("fabric_x/fabric_y: a {}x{} {} has {} routers, the scenario needs {} (nodes + rogue "
                                    "nodes)", nc.x, nc.y, s.topology, nc.num_nodes(), ports));
    nc.vcs_per_class = s.vcs_per_class;
    nc.buf_depth_flits = s.buf_depth_flits;
    nc.link_width_bytes = s.link_bytes_per_cycle;
    nc.link_latency_cycles = s.link_latency_cycles;
    nc.router_delay_cycles = s.router_delay_cycles;
    nc.hol_lifetime_cycles = s.hol_lifetime_cycles;
    nc.clock_period = period;
    nc.clock = clock;
    try {
      tlmshell::set_router_model(nc, s.router_model, s.router_rc_cycles, s.router_va_cycles, s.router_sa_cycles,
                                 s.router_st_cycles, s.router_credit_delay_cycles, s.router_alloc_iters);
      nc.validate();
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    noc_ = std::make_unique<tlmshell::Noc>("fabric", nc);
  }
}

SystemFabric::~SystemFabric() = default;

tlm::tlm_base_target_socket<>& SystemFabric::in(uint32_t port) {
  return xbar_ ? static_cast<tlm::tlm_base_target_socket<>&>(*xbar_->in_tsock[port])
               : static_cast<tlm::tlm_base_target_socket<>&>(*noc_->in_tsock[port]);
}

tlm::tlm_base_initiator_socket<>& SystemFabric::out(uint32_t port) {
  return xbar_ ? static_cast<tlm::tlm_base_initiator_socket<>&>(*xbar_->out_isock[port])
               : static_cast<tlm::tlm_base_initiator_socket<>&>(*noc_->out_isock[port]);
}

void SystemFabric::route(uint16_t node_id, int port) {
  if (xbar_) xbar_->set_route(node_id, port);
  else noc_->set_route(node_id, port);
}

void SystemFabric::set_fault_hook(tlmshell::FaultHook* h) {
  if (xbar_) xbar_->set_fault_hook(h);
  else noc_->set_fault_hook(h);
}

uint32_t SystemFabric::num_ports() const { return xbar_ ? xbar_->config().num_ports : noc_->config().num_nodes(); }

void SystemFabric::terminate_unused(uint32_t first) {
  if (noc_)
    for (uint32_t p = first; p < noc_->config().num_nodes(); ++p) {
      idle_ports_.push_back(std::make_unique<RogueNode>(sc_gen_unique_name("idle_port")));
      idle_ports_.back()->isock.bind(in(p));
      out(p).bind(idle_ports_.back()->tsock);
    }
}

tlmshell::DropCount SystemFabric::port_drops(uint32_t port) const {
  return xbar_ ? xbar_->stats().port_drops.at(port) : noc_->stats().node_drops.at(port);
}

tlmshell::DropCount SystemFabric::drops() const { return xbar_ ? xbar_->stats().drops : noc_->stats().drops; }

nlohmann::json SystemFabric::stats(uint64_t simulated_cycles, const std::map<std::string, uint64_t>& control_drops,
                                   uint64_t unroutable_explained, std::vector<std::string>& errors) const {
  nlohmann::json j;
  for (const auto& ip : idle_ports_)
    if (ip->received) errors.push_back(fmt::format("fabric: {} packets reached a port no node uses", ip->received));
  if (xbar_) {
    const auto& xs = xbar_->stats();
    if (xs.link_errors || xs.unroutable > unroutable_explained)
      errors.push_back(fmt::format("fabric: {} link errors, {} unroutable packets", xs.link_errors,
                                   xs.unroutable - unroutable_explained));
    j = {{"topology", "crossbar"},
         {"forwarded_requests", xs.forwarded[0]},
         {"forwarded_responses", xs.forwarded[1]},
         {"unroutable", xs.unroutable},
         {"hol_lifetime_cycles", xbar_->config().hol_lifetime_cycles},
         {"drops", drops_json(xs.drops)},
         {"control_drops", control_drops}};
  } else {
    const auto& ns = noc_->stats();
    const auto& nc = noc_->config();
    if (ns.link_errors || ns.unroutable > unroutable_explained)
      errors.push_back(fmt::format("fabric: {} link errors, {} unroutable packets", ns.link_errors,
                                   ns.unroutable - unroutable_explained));
    // Router-to-router links only (port 0 is the ejection port to the node).
    uint64_t link_flits = 0, max_link = 0;
    uint32_t links = 0;
    for (uint32_t rt = 0; rt < noc_->num_routers(); ++rt)
      for (uint32_t p = 1; p < noc_->ports_per_router(); ++p) {
        if (noc_->neighbor(rt, p) < 0) continue;
        const uint64_t f = ns.link_flits[rt * noc_->ports_per_router() + p];
        link_flits += f;
        max_link = std::max(max_link, f);
        ++links;
      }
    const double cyc = static_cast<double>(std::max<uint64_t>(1, simulated_cycles));
    double occ_sum = 0;
    uint32_t occ_max = 0;
    for (uint32_t rt = 0; rt < noc_->num_routers(); ++rt) {
      occ_sum += static_cast<double>(ns.buf_occupancy_sum[rt]);
      occ_max = std::max(occ_max, ns.buf_occupancy_max[rt]);
    }
    j = {{"topology", to_string(nc.topology)},
         {"x", nc.x},
         {"y", nc.y},
         {"injected_requests", ns.injected[0]},
         {"injected_responses", ns.injected[1]},
         {"flits_injected", ns.flits_injected},
         {"link_flits", link_flits},
         {"max_packet_latency_cycles", std::max(ns.latency_max[0], ns.latency_max[1])},
         {"router_steps", ns.steps},
         {"link_utilisation_mean", links ? static_cast<double>(link_flits) / links / cyc : 0.0},
         {"link_utilisation_max", static_cast<double>(max_link) / cyc},
         {"buffer_flits_mean_per_router", occ_sum / noc_->num_routers() / cyc},
         {"buffer_flits_max", occ_max},
         {"unroutable", ns.unroutable},
         {"hol_lifetime_cycles", nc.hol_lifetime_cycles},
         {"flits_dropped", ns.flits_dropped},
         {"drops", drops_json(ns.drops)},
         {"control_drops", control_drops}};
  }
  return j;
}

}  // namespace cmm::tb
