// What both trace writers share: simulation time in ps and the limits of a
// trace (time window, node filter, size budget). docs/traces.md.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace cmm::tb {

using TimePs = uint64_t;  // simulation time in picoseconds

// Limits common to both writers.
struct TraceLimits {
  TimePs from_ps = 0;                                       // window [from_ps, to_ps)
  TimePs to_ps = std::numeric_limits<TimePs>::max();
  std::vector<uint32_t> nodes;                              // node filter; empty: all nodes
  uint64_t warn_bytes = uint64_t{256} << 20;                // one warning beyond this; 0: none
  uint64_t max_bytes = 0;                                   // hard cap; 0: none
  std::function<void(const std::string&)> on_warning;       // default: stderr
};

}  // namespace cmm::tb
