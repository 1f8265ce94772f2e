// The energy events of a running system (docs/energy.md "What is counted"):
// read from the counters the CMM shells and the fabric keep, at the end of a
// run (system_results.cpp) and at every time-series sample
// (system_observe.cpp). Templates over the system's private node records.
#pragma once
#include <string>
#include <utility>

#include <fmt/format.h>

#include "energy.h"
#include "system_fabric.h"

namespace cmm::tb::energy_detail {

// The crossbar behind a SystemFabric: the module its node sockets belong to.
template <class F>
const tlmshell::Crossbar* xbar_of(F& f) {
  if (f.noc() || f.num_ports() == 0) return nullptr;
  return dynamic_cast<const tlmshell::Crossbar*>(f.in(0).get_parent_object());
}

}  // namespace cmm::tb::energy_detail

namespace cmm::tb {

// Events since the start of the run. `nodes`: the system's node records
// (spec->name, cmm->stats()); node n sits on fabric port n. Without `names`
// (time-series samples) components stay unnamed.
template <class Nodes, class Fabric>
EnergyEvents gather_energy_events(const Scenario& s, Fabric& fab, const Nodes& nodes, uint64_t cycles,
                                  bool names = true) {
  using namespace energy_detail;
  EnergyEvents e;
  e.cycles = cycles;
  e.clock_ghz = s.clock_ghz;
  const double ns_per_cycle = 1.0 / s.clock_ghz;
  for (const auto& n : nodes) {
    const auto& st = n->cmm->stats();
    if (names) e.nodes.push_back(n->spec->name);
    CmmEvents c;
    // Per header the core verifies or sends: its CST and its CKT entry.
    const uint64_t sent = st.eg_packets[0] + st.eg_packets[1];
    c.table_lookups = 2 * (st.ing_headers + sent);
    c.key_compares = st.ing_headers;  // plain: the key; strong: the MAC
    c.register_accesses = st.reg_requests;
    c.buffer_bytes = st.buf_bytes;
    c.mac_bytes = st.mac_bytes;
    e.cmm.push_back(c);
  }
  const size_t nn = nodes.size();
  auto port_name = [&](size_t p) {
    return !names ? std::string() : p < nn ? nodes[p]->spec->name : fmt::format("port{}", p);
  };
  if (const tlmshell::Noc* noc = fab.noc()) {
    const auto& ns = noc->stats();
    const auto& nc = noc->config();
    const uint32_t nr = noc->num_routers(), np = noc->ports_per_router();
    const uint64_t flit_bits = uint64_t{nc.link_width_bytes} * 8;
    for (uint32_t r = 0; r < nr; ++r) {
      RouterEvents re;
      if (names) re.name = fmt::format("r{}", r);
      uint64_t out = 0;  // flits that crossed its switch (ejection included)
      for (uint32_t p = 0; p < np; ++p) out += ns.link_flits[size_t{r} * np + p];
      re.crossbar_flits = re.alloc_flits = out;
      re.buf_writes = ns.buf_writes[r];
      re.buf_reads = ns.buf_reads[r];
      // Static power: its connected ports (port 0: the NI, where a node sits)
      // and their input buffers (every VC of both classes).
      re.ports = r < noc->num_nodes() ? 1 : 0;
      for (uint32_t p = 1; p < np; ++p) re.ports += noc->neighbor(r, p) >= 0 ? 1 : 0;
      re.buffer_bytes = uint64_t{re.ports} * noc->vcs_per_port() * nc.buf_depth_flits * nc.link_width_bytes;
      e.routers.push_back(std::move(re));
    }
    // Router-to-router links: flight time of each (switched fabrics: per link).
    const tlmshell::TopoGraph* g = noc->graph();
    for (uint32_t r = 0; r < nr; ++r)
      for (uint32_t p = 1; p < np; ++p) {
        const int to = noc->neighbor(r, p);
        if (to < 0) continue;
        uint32_t lat = nc.link_latency_cycles;
        if (g) {
          const int32_t ch = g->out_ch[size_t{r} * g->ports + p];
          if (ch >= 0) lat = g->ch[static_cast<size_t>(ch)].latency_cycles;
        }
        e.links.push_back({names ? fmt::format("r{}.p{}-r{}", r, p, to) : std::string(), -1, lat * ns_per_cycle,
                           ns.link_flits[size_t{r} * np + p] * flit_bits});
      }
    // Node <-> network interface (the NI sits at the node's router: on-chip).
    for (uint32_t r = 0; r < noc->num_nodes() && r < nr; ++r) {
      const uint64_t in = ns.flits_injected_at[r];
      const int node = r < nn ? static_cast<int>(r) : -1;
      if (node < 0 && in == 0 && ns.link_flits[size_t{r} * np] == 0) continue;  // unused port
      e.links.push_back({port_name(r) + ".in", node, 0.0, in * flit_bits});
      e.links.push_back({port_name(r) + ".out", node, 0.0, ns.link_flits[size_t{r} * np] * flit_bits});
    }
  } else if (const tlmshell::Crossbar* xb = xbar_of(fab)) {
    const auto& xs = xb->stats();
    RouterEvents re;
    re.name = "crossbar";
    const auto& cfg = xb->config();
    for (uint32_t p = 0; p < cfg.num_ports; ++p) {
      const double ns = cfg.ports[p].latency_cycles * ns_per_cycle;
      const int node = p < nn ? static_cast<int>(p) : -1;
      re.buf_writes += xs.in_flits[p];
      re.buf_reads += xs.out_flits[p];
      e.links.push_back({port_name(p) + ".in", node, ns, xs.in_bytes[p] * 8});
      e.links.push_back({port_name(p) + ".out", node, ns, xs.out_bytes[p] * 8});
    }
    re.crossbar_flits = re.alloc_flits = re.buf_reads;
    // Static power: every port, each with input slots of both classes sized
    // for the largest packet (header + largest payload).
    re.ports = cfg.num_ports;
    re.buffer_bytes = uint64_t{cfg.num_ports} * 2 * cfg.buf_slots_per_class *
                      (tlmshell::kHeaderBytes + regs::kMaxMsgBytes);
    e.routers.push_back(std::move(re));
  }
  return e;
}

}  // namespace cmm::tb
