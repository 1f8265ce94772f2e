// VCD writer for the CMM core pins (plain C++, no SystemC). Streams to a
// file, filters by time window and node, watches its output size.
// docs/traces.md describes what it shows.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "cmm_pins.h"
#include "trace_common.h"

namespace cmm::tb {

struct VcdOptions {
  TraceLimits limits;
  bool include_keys = false;        // dump the 128-bit key fields (secret!)
  TimePs clock_period_ps = 1000;    // `cycle` = time / period at clock edges; 0: count edges
};

// IEEE 1364 value change dump of the CMM core pins, $timescale 1 ps. One
// scope per node (node<label>.cmm), one wire per PinsIn/PinsOut field at its
// declared width (headers split per field). Only changes are written. Idle
// cycles the simulation skips are not sampled: values are held across them;
// the `cycle` wire and the toggling `clk_edge` wire show which edges were
// sampled. Key fields are not declared at all unless include_keys.
class VcdWriter {
 public:
  explicit VcdWriter(const std::string& path, VcdOptions opt = {});
  explicit VcdWriter(std::ostream& out, VcdOptions opt = {});
  ~VcdWriter();  // close()
  VcdWriter(const VcdWriter&) = delete;
  VcdWriter& operator=(const VcdWriter&) = delete;

  // Declare a node before the first sample; `label` names its scope
  // (default: the index). Nodes outside the filter are ignored.
  void add_node(uint32_t node, std::string_view label = {});
  // Pins of `node` at `time_ps` (non-decreasing across calls; throws
  // std::logic_error otherwise, or for an undeclared node that passes the
  // filter). clk_edge: the sample is taken at a rising clock edge.
  void sample(uint32_t node, TimePs time_ps, const PinsIn& in, const PinsOut& out, bool clk_edge = true);
  void close();

  bool closed() const;
  bool truncated() const;
  uint64_t bytes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// VCD identifier code of the n-th signal (printable ASCII 33..126).
std::string vcd_identifier(uint64_t n);

}  // namespace cmm::tb
