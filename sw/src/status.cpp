#include "cmm_sw/status.h"

namespace cmm::sw {

std::string_view to_string(Result r) {
  switch (r) {
    case Result::kOk: return "OK";
    case Result::kBusError: return "BUS_ERROR";
    case Result::kRejected: return "REJECTED";
    case Result::kBadArg: return "BAD_ARG";
    case Result::kEmpty: return "EMPTY";
    case Result::kNotReady: return "NOT_READY";
    case Result::kBadDevice: return "BAD_DEVICE";
    case Result::kNoSpace: return "NO_SPACE";
  }
  return "?";
}

std::string Status::str() const {
  std::string s(to_string(result));
  if (reason != regs::Reason::kOk) {
    s += '(';
    s += regs::to_string(reason);
    s += ')';
  }
  return s;
}

}  // namespace cmm::sw
