// The Verilated rtl/cmm_core.sv as a cmm::CorePinsModel (hw/src/cmm_core_model.h):
// the lockstep harness and the TLM shell (testbench/rtl_core.cpp) use it
// through that one interface, pins only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "cmm_core_model.h"

namespace cmm::dv {

struct RtlTrace {
  std::string fst_path;        // empty: no tracing
  uint64_t from_cycle = 0;     // dump only edges in [from_cycle, to_cycle]
  uint64_t to_cycle = UINT64_MAX;
};

// Constructed in the power-up state (one reset edge done, cycle() = 0).
std::unique_ptr<CorePinsModel> make_rtl_model(const Straps& s, const RtlTrace& trace);
// The core with STRONG = 1 at B = 16, L = 4 (library cmm_rtl_strong_pins only).
std::unique_ptr<CorePinsModel> make_rtl_model_strong(const Straps& s, const RtlTrace& trace);
// The core generated for the second table geometry (library cmm_rtl_g2_pins
// only; the geometry: rtl_g2_geometry(), from CMake's CMM_RTL_GEOMETRY2).
std::unique_ptr<CorePinsModel> make_rtl_model_g2(const Straps& s, const RtlTrace& trace);
Geometry rtl_g2_geometry();

}  // namespace cmm::dv
