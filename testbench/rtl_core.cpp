#include "rtl_core.h"

#ifdef CMM_HAVE_RTL
#include "rtl_model.h"
#endif

namespace cmm::tb {

#ifdef CMM_HAVE_RTL
// The Verilated RTL implements CorePinsModel itself (rtl/dv/rtl_model.cpp).
CoreFactory rtl_core_factory() {
  return [](const Straps& s) { return dv::make_rtl_model(s, dv::RtlTrace{}); };
}
#else
CoreFactory rtl_core_factory() { return {}; }
#endif

}  // namespace cmm::tb
