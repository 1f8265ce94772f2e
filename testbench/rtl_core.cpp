#include "rtl_core.h"

#ifdef CMM_HAVE_RTL
#include "core_model.h"
#endif

namespace cmm::tb {

#ifdef CMM_HAVE_RTL
namespace {

// Pins only: the RTL's internal state is never looked at. quiescent() is
// derived from the pins with the C++ core's definition (no header in S1, no
// egress header, no register response, no verdict), so both implementations
// skip exactly the same idle cycles.
class RtlPins final : public CorePinsModel {
 public:
  explicit RtlPins(const Straps& s) : m_(dv::make_rtl_model(s)) {
    m_->edge(PinsIn{}, false);  // synchronous reset: the C++ core's power-up state
    out_ = m_->outputs();
  }
  const char* kind() const override { return "rtl"; }
  const PinsOut& out() const override { return out_; }
  void step(const PinsIn& in) override {
    s1_busy_ = in.ing_valid && out_.ing_ready;
    m_->edge(in, true);
    out_ = m_->outputs();
    ++cycle_;
  }
  // Idle edges of a quiescent core change nothing but time: not evaluated.
  void skip_idle(uint64_t n) override { cycle_ += n; }
  bool quiescent() const override { return !s1_busy_ && !out_.eg_valid && !out_.reg_rsp_valid && !out_.vd_valid; }
  uint64_t cycle() const override { return cycle_; }

 private:
  std::unique_ptr<dv::CoreModel> m_;
  PinsOut out_{};
  uint64_t cycle_ = 0;
  bool s1_busy_ = false;
};

}  // namespace

CoreFactory rtl_core_factory() {
  return [](const Straps& s) -> std::unique_ptr<CorePinsModel> { return std::make_unique<RtlPins>(s); };
}
#else
CoreFactory rtl_core_factory() { return {}; }
#endif

}  // namespace cmm::tb
