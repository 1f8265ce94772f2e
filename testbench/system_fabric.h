// Elaboration room, the fabric: the scenario's crossbar or network (one port
// per node, then one per rogue node; ports no one uses are terminated), its
// binding points, routes, drop counters and end-of-run statistics. The rest
// of the system sees only this interface, whichever fabric was built; a new
// topology is added here (and in tlm/), not in the system.
#pragma once
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm>

#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/noc.h"
#include "scenario.h"

namespace cmm::tb {

class RogueNode;

// Drop counters by reason name (only the non-zero ones).
nlohmann::json drops_json(const tlmshell::DropCount& d);

class SystemFabric {
 public:
  // Builds the fabric of `s` with at least `ports` node ports, named "fabric".
  // Throws ConfigError when the scenario's grid cannot hold them.
  SystemFabric(const Scenario& s, uint32_t ports, const sc_core::sc_time& period, tlmshell::ClockDomain* clock);
  ~SystemFabric();

  tlm::tlm_base_target_socket<>& in(uint32_t port);      // a node's egress binds here
  tlm::tlm_base_initiator_socket<>& out(uint32_t port);  // binds to a node's ingress
  void route(uint16_t node_id, int port);                 // -1: unroutable
  void set_fault_hook(tlmshell::FaultHook* h);
  uint32_t num_ports() const;                            // every port, used or not
  // Terminates ports [first, num_ports()) with idle nodes that never send
  // (a network has a router per grid point; a crossbar has no spare port).
  void terminate_unused(uint32_t first);

  // Security drops counted at a node/rogue port (input: SRC_SPOOFED, BAD_LEN;
  // output: HOL_TIMEOUT), and all of the fabric's.
  tlmshell::DropCount port_drops(uint32_t port) const;
  tlmshell::DropCount drops() const;
  const tlmshell::Noc* noc() const { return noc_.get(); }  // nullptr: crossbar

  // End of run: the "fabric" object of the statistics. Appends its own
  // errors (packets at an unused port, link errors, unroutable packets
  // beyond `unroutable_explained` ones an injected fault made).
  nlohmann::json stats(uint64_t simulated_cycles, const std::map<std::string, uint64_t>& control_drops,
                       uint64_t unroutable_explained, std::vector<std::string>& errors) const;

 private:
  // Exactly one of the two; both have in_tsock/out_isock per node port.
  std::unique_ptr<tlmshell::Crossbar> xbar_;
  std::unique_ptr<tlmshell::Noc> noc_;
  std::vector<std::unique_ptr<RogueNode>> idle_ports_;
};

}  // namespace cmm::tb
