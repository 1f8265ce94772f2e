// The Verilated RTL core (rtl/cmm_core.sv) as a CorePinsModel, so that a
// CmmTlm can run it in place of the C++ core.
#pragma once
#include <functional>
#include <memory>

#include "cmm_core_model.h"

namespace cmm::tb {

using CoreFactory = std::function<std::unique_ptr<CorePinsModel>(const Straps&)>;

// Empty when this build has no Verilator (rtl/ skipped).
CoreFactory rtl_core_factory();

}  // namespace cmm::tb
