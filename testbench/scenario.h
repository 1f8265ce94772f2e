// A scenario: nodes, partitions, processes, channels and their traffic.
// The default is the patent's FIG. 2 system.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmm::tb {

struct ProcessSpec {
  std::string name;  // e.g. "216"
  uint16_t pid = 0;
};

struct PartitionSpec {
  std::string name;  // e.g. "208d"
  uint8_t quota = 4;  // endpoints
  std::vector<ProcessSpec> processes;
};

struct NodeSpec {
  std::string name;  // e.g. "202"
  uint8_t id = 0;
  std::vector<PartitionSpec> partitions;  // index = PartitionId
};

// Unidirectional channel: receiver <- sender, set up by the kernel agents.
struct ChannelSpec {
  std::string receiver;  // process name
  std::string sender;
  uint32_t messages = 100;
  uint32_t min_bytes = 64, max_bytes = 256;  // uniform, seeded
  uint32_t mean_gap_cycles = 200;            // exponential inter-message gap at the sender
  uint32_t rx_service_cycles = 0;            // receiver's processing time per message read
};

struct Scenario {
  std::string name = "fig2";
  std::vector<NodeSpec> nodes;
  std::vector<ChannelSpec> channels;
  // Timing, in cycles of the CMM clock unless noted.
  double clock_ghz = 1.0;
  uint32_t link_bytes_per_cycle = 16;
  uint32_t link_latency_cycles = 20;
  uint32_t bus_latency_cycles = 2;
  uint32_t rx_poll_cycles = 50;        // receiver re-check interval when idle
  uint64_t max_cycles = 50'000'000;    // watchdog: the run fails if not done by then

  // Where a process lives; throws ConfigError naming the process.
  struct Location {
    size_t node, part, proc;
  };
  Location locate(const std::string& process) const;
  void validate() const;  // throws ConfigError with the offending key and value
  nlohmann::json to_json() const;
};

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Scenario fig2_scenario();
// Reads a scenario from JSON (same schema as to_json()); `where` names the source in errors.
Scenario scenario_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace cmm::tb
