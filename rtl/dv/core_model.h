// Narrow interface between the lockstep co-simulation harness and a model of
// the CMM core. The harness only drives pins and samples pins through it; it
// never reaches into a model's internals (ibex co-sim style).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "cmm_core.h"
#include "cmm_pins.h"

namespace cmm::dv {

class CoreModel {
 public:
  virtual ~CoreModel() = default;
  virtual const char* name() const = 0;
  // One rising clock edge with these inputs; rst_n low = synchronous reset.
  virtual void edge(const PinsIn& in, bool rst_n) = 0;
  // Outputs in the cycle after the last edge (all registered).
  virtual PinsOut outputs() const = 0;
};

// The reference: cmm::CmmCore. core() is exposed only for coverage sampling
// (reject observer, CST states); the harness never looks inside the RTL.
class RefModel final : public CoreModel {
 public:
  // Strong mode off: the RTL of this session has none (COMMON.md, docs/strong-mode.md 11.11).
  explicit RefModel(const Straps& s) : core_(s, plain_params()) {}
  static CoreParams plain_params() {
    CoreParams p;
    p.strong = false;
    return p;
  }
  const char* name() const override { return "C++ CmmCore"; }
  void edge(const PinsIn& in, bool rst_n) override;
  PinsOut outputs() const override { return core_.out(); }
  CmmCore& core() { return core_; }

 private:
  CmmCore core_;
};

struct RtlTrace {
  std::string fst_path;        // empty: no tracing
  uint64_t from_cycle = 0;     // dump only edges in [from_cycle, to_cycle]
  uint64_t to_cycle = UINT64_MAX;
};

// The Verilated rtl/cmm_core.sv.
std::unique_ptr<CoreModel> make_rtl_model(const Straps& s, const RtlTrace& trace = {});

}  // namespace cmm::dv
