// A clocked model of the CMM core seen only at its pins
// (docs/core-interface.md). The TLM shell runs either the C++ CmmCore
// directly or any CorePinsModel, e.g. the Verilated RTL (rtl/).
#pragma once
#include <cstdint>

#include "cmm_pins.h"

namespace cmm {

class CorePinsModel {
 public:
  virtual ~CorePinsModel() = default;
  virtual const char* kind() const = 0;  // "cpp", "rtl", ...
  // Outputs for the current cycle (all registered).
  virtual const PinsOut& out() const = 0;
  // One rising clock edge with these inputs.
  virtual void step(const PinsIn& in) = 0;
  // n edges with idle inputs while quiescent(): nothing may change but the cycle count.
  virtual void skip_idle(uint64_t n) = 0;
  // Stepping with idle inputs would change nothing.
  virtual bool quiescent() const = 0;
  virtual uint64_t cycle() const = 0;
};

}  // namespace cmm
