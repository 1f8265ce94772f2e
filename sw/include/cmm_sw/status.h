// Result codes of the kernel-agent driver and the user endpoint library.
// Every operation returns a Status: what happened (Result) and, when there is
// one, the hardware reason code (regs::Reason) that explains it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "cmm_regs.h"
#include "cmm_sw/reg_if.h"

namespace cmm::sw {

enum class Result : uint8_t {
  kOk = 0,
  kBusError,   // bus response DENIED (reason DENIED) or DECERR (reason BAD_ADDR)
  kRejected,   // the CMM refused the operation; reason from CMD_STATUS / EP_TX_STATUS / the access
  kBadArg,     // caught by the driver before any bus access (range, size)
  kEmpty,      // nothing queued (MGMT queue, error log, receive queue); reason RXQ_EMPTY
  kNotReady,   // driver not initialized, or the operation does not fit the driver's state
  kBadDevice,  // init(): wrong CMM_ID magic or GEOMETRY
  kNoSpace,    // a driver table or the caller's buffer is too small
};

std::string_view to_string(Result r);

struct [[nodiscard]] Status {
  Result result = Result::kOk;
  regs::Reason reason = regs::Reason::kOk;

  constexpr bool ok() const { return result == Result::kOk; }
  constexpr bool operator==(const Status& o) const { return result == o.result && reason == o.reason; }
  constexpr bool operator!=(const Status& o) const { return !(*this == o); }
  std::string str() const;  // "REJECTED(QUOTA_EXCEEDED)"

  static constexpr Status Ok() { return Status{}; }
  static constexpr Status Err(Result r, regs::Reason why = regs::Reason::kOk) { return Status{r, why}; }
};

// Maps a bus response to a Status. REJECT maps to kRejected with on_reject
// (the caller knows which reason the access implies, or reads it).
constexpr Status from_bus(BusStatus b, regs::Reason on_reject = regs::Reason::kOk) {
  switch (b) {
    case BusStatus::kOk: return Status::Ok();
    case BusStatus::kDenied: return Status::Err(Result::kBusError, regs::Reason::kDenied);
    case BusStatus::kDecErr: return Status::Err(Result::kBusError, regs::Reason::kBadAddr);
    case BusStatus::kReject: return Status::Err(Result::kRejected, on_reject);
  }
  return Status::Err(Result::kBusError, regs::Reason::kBadAddr);
}

}  // namespace cmm::sw
