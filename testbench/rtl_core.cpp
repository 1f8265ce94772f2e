#include "rtl_core.h"

#include "scenario.h"

#ifdef CMM_HAVE_RTL
#include "rtl_model.h"
#endif

namespace cmm::tb {

#ifdef CMM_HAVE_RTL
#ifdef CMM_HAVE_RTL_G2
namespace {
// The scenario validator accepts "core": "rtl" at the second RTL geometry.
const bool kG2Registered = (extra_rtl_geometries().push_back(dv::rtl_g2_geometry()), true);
}  // namespace
#endif

// The Verilated RTL implements CorePinsModel itself (rtl/dv/rtl_model.cpp).
CoreFactory rtl_core_factory(const Geometry& geo) {
  if (geo.is_default()) return [](const Straps& s) { return dv::make_rtl_model(s, dv::RtlTrace{}); };
#ifdef CMM_HAVE_RTL_G2
  if (kG2Registered && geo == dv::rtl_g2_geometry())
    return [](const Straps& s) { return dv::make_rtl_model_g2(s, dv::RtlTrace{}); };
#endif
  return {};
}
#else
CoreFactory rtl_core_factory(const Geometry&) { return {}; }
#endif

}  // namespace cmm::tb
