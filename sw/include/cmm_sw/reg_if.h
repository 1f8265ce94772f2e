// Abstract register access of one requester (a kernel agent or a user
// process). The requester ID (partition, privilege, process) is stamped by the
// bus interface behind this object, never chosen by the software using it (I4).
// Implementations: the TLM initiator of a partition CPU (tlm/), a mock that
// expects an exact access sequence (sw/ tests), a direct core driver (tests).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cmm_regs.h"

namespace cmm::sw {

// Outcome of one bus access, mirroring the core's register response status.
enum class BusStatus : uint8_t { kOk = 0, kDenied = 1, kDecErr = 2, kReject = 3 };

class RegIf {
 public:
  virtual ~RegIf() = default;
  [[nodiscard]] virtual BusStatus read32(uint32_t addr, uint32_t& data) = 0;
  [[nodiscard]] virtual BusStatus write32(uint32_t addr, uint32_t data) = 0;
  // Burst into/out of an endpoint payload window (TX_BUF / RX_BUF); addr is
  // the window address, len bytes (<= window size).
  [[nodiscard]] virtual BusStatus write_block(uint32_t addr, const uint8_t* data, size_t len) = 0;
  [[nodiscard]] virtual BusStatus read_block(uint32_t addr, uint8_t* data, size_t len) = 0;
};

}  // namespace cmm::sw
