// The Verilated RTL core (rtl/cmm_core.sv) as a CorePinsModel, so that a
// CmmTlm can run it in place of the C++ core.
#pragma once
#include <functional>
#include <memory>

#include "cmm_core_model.h"

namespace cmm::tb {

using CoreFactory = std::function<std::unique_ptr<CorePinsModel>(const Straps&)>;

// The RTL core generated for this table geometry; empty when this build has
// no Verilator (rtl/ skipped) or no RTL model of that geometry (the default
// one and CMM_RTL_GEOMETRY2 have one, docs/rtl.md).
CoreFactory rtl_core_factory(const Geometry& geo = Geometry{});

}  // namespace cmm::tb
