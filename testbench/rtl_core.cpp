#include "rtl_core.h"

#include <algorithm>

#ifdef CMM_HAVE_RTL
#include "core_model.h"
#endif

namespace cmm::tb {

#ifdef CMM_HAVE_RTL
namespace {

using namespace regs;

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
    // What the pins cannot show (the C++ core's quiescent() sees it inside):
    // a flipped table bit is checked at the next edge, and a seed or a HWKEY
    // command may start a key computation (KEYGEN_CYCLES edges). Assumed
    // conservatively from the inputs.
    fault_pending_ = in.fault_valid;
    if (kg_left_ > 0) --kg_left_;
    const bool hwkey_cmd = in.reg_req_valid && out_.reg_req_ready && in.reg_req_write &&
                           (in.reg_req_addr & ((1u << regs::kAddrBits) - 1u)) == CMM_CMD_OFFSET &&
                           CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_HWKEY) != 0;
    if ((in.entropy_valid && in.entropy != Key{}) || hwkey_cmd) kg_left_ = regs::kKeygenCycles + 1u;
    m_->edge(in, true);
    out_ = m_->outputs();
    ++cycle_;
  }
  // Idle edges of a quiescent core change nothing but time and the key
  // generator's countdown (docs/security.md 1.10), which the pins do not
  // show: the first ones are evaluated (a computation ends within
  // KEYGEN_CYCLES edges), the rest only counted.
  void skip_idle(uint64_t n) override {
    const uint64_t k = std::min<uint64_t>(n, regs::kKeygenCycles + 1u);
    for (uint64_t i = 0; i < k; ++i) m_->edge(PinsIn{}, true);
    if (k > 0) out_ = m_->outputs();
    kg_left_ = 0;
    fault_pending_ = false;
    cycle_ += n;
  }
  bool quiescent() const override {
    return !s1_busy_ && !out_.eg_valid && !out_.reg_rsp_valid && !out_.vd_valid && !fault_pending_ && kg_left_ == 0;
  }
  uint64_t cycle() const override { return cycle_; }

 private:
  std::unique_ptr<dv::CoreModel> m_;
  PinsOut out_{};
  uint64_t cycle_ = 0;
  bool s1_busy_ = false;
  bool fault_pending_ = false;  // a fault was injected at the last edge
  uint32_t kg_left_ = 0;        // edges a key computation may still take
};

}  // namespace

CoreFactory rtl_core_factory() {
  return [](const Straps& s) -> std::unique_ptr<CorePinsModel> { return std::make_unique<RtlPins>(s); };
}
#else
CoreFactory rtl_core_factory() { return {}; }
#endif

}  // namespace cmm::tb
