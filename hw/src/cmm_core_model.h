// A clocked model of the CMM core seen only at its pins
// (docs/core-interface.md). The one interface every user of a core model
// goes through: the TLM shell runs either the C++ CmmCore directly or any
// CorePinsModel (e.g. the Verilated RTL, rtl/dv/rtl_model.h), and the
// lockstep harness (rtl/dv/) drives and samples the C++ core and the RTL
// through it, never looking inside the RTL.
#pragma once
#include <cstdint>

#include "cmm_core.h"
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
  // One rising clock edge with the synchronous reset asserted: the power-up
  // state, cycle() back to 0. The inputs are presented to the pins and must
  // be ignored (the lockstep drives random ones to check that they are).
  virtual void reset(const PinsIn& in) = 0;
  void reset() { reset(PinsIn{}); }
  // n edges with idle inputs while quiescent(): nothing may change but the cycle count.
  virtual void skip_idle(uint64_t n) = 0;
  // Stepping with idle inputs would change nothing.
  virtual bool quiescent() const = 0;
  virtual uint64_t cycle() const = 0;
};

// The C++ reference core behind the interface (the lockstep harness's
// reference). core() is exposed for coverage sampling only.
class CppCoreModel final : public CorePinsModel {
 public:
  explicit CppCoreModel(const Straps& s, const CoreParams& p = CoreParams{}) : core_(s, p) {}
  const char* kind() const override { return "cpp"; }
  const PinsOut& out() const override { return core_.out(); }
  void step(const PinsIn& in) override { core_.step(in); }
  using CorePinsModel::reset;
  void reset(const PinsIn&) override { core_.reset(); }
  void skip_idle(uint64_t n) override { core_.skip_idle(n); }
  bool quiescent() const override { return core_.quiescent(); }
  uint64_t cycle() const override { return core_.cycle(); }
  CmmCore& core() { return core_; }
  const CmmCore& core() const { return core_; }

 private:
  CmmCore core_;
};

}  // namespace cmm
