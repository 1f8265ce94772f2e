// User endpoint library: what a user process does with the endpoint its
// kernel agent handed it. Runs over the process's own RegIf (requester id
// partition/USER/pid, stamped by hardware); the CMM lets it touch only the
// page of an endpoint it owns (I5).
//
//   send:    write_block(TX_BUF) ; write EP_DOORBELL{LEN, TAG}
//            (REJECT -> read EP_TX_STATUS for the reason)
//   receive: read EP_RX_STATUS ; read_block(RX_BUF, LEN) ; read EP_RX_TAG ;
//            write EP_RX_POP
//   view:    read CST_CTRL ; read CST_REMOTE ; read CST_STATUS (the owner's
//            read-only view of its channel state table entry, claims 13/17)
#pragma once
#include <cstddef>
#include <cstdint>

#include "cmm_regs.h"
#include "cmm_sw/reg_if.h"
#include "cmm_sw/status.h"

namespace cmm::sw {

struct RxInfo {
  uint16_t len = 0;        // message length (also set when the buffer was too small)
  uint16_t tag = 0;        // sender's tag
  uint8_t remaining = 0;   // messages still queued after this one
};

struct TxStatus {
  regs::Reason last_reason = regs::Reason::kOk;  // last refusal (doorbell or NACK)
  uint8_t nacks = 0;                            // NACKs received (saturating at 255)
  uint16_t last_tag = 0;                        // tag of the last NACKed message
};

struct RxStatus {
  uint8_t count = 0;  // messages queued
  uint8_t slot = 0;   // slot of the head message
  uint16_t len = 0;   // head message length (0 when empty)
};

// The owner's read-only view of its CST entry (docs/security.md 1.13): state
// level only. The key itself and its origin are never visible; KEY_VALID is.
struct ChannelView {
  regs::State state = regs::State::kFree;
  regs::Dir dir = regs::Dir::kRecv;
  regs::Mode mode = regs::Mode::kPlain;
  bool key_valid = false;
  uint16_t remote_node = 0;
  uint8_t remote_part = 0;
  uint16_t remote_ep = 0;  // the peer
  uint8_t rxq_count = 0;                                   // messages queued
  regs::Reason last_nack = regs::Reason::kOk;              // last NACK received
  uint16_t tx_nacks = 0;                                   // DATA NACKs received (saturating)
};

class Endpoint {
 public:
  // num_endpoints: the device's geometry (CmmDriver::geometry()); ids at or
  // above it are refused kBadEp without touching the bus, and it places the
  // endpoint pages (they move up past 1,920 endpoints: regs::ep_window_base).
  Endpoint(RegIf& bus, uint16_t ep, uint32_t num_endpoints = regs::kNumEndpoints)
      : bus_(bus), ep_(ep), num_eps_(num_endpoints) {}

  uint16_t id() const { return ep_; }
  // Window and register addresses of this endpoint's page.
  static uint32_t page(uint16_t ep, uint32_t num_endpoints = regs::kNumEndpoints) {
    return regs::ep_window_base(num_endpoints) + static_cast<uint32_t>(ep) * regs::CMM_EP_STRIDE;
  }
  uint32_t reg(uint32_t off) const { return page(ep_, num_eps_) + off; }

  // Stages len bytes and rings the doorbell. kBadArg for len 0 or above the
  // TX window; kRejected with EP_TX_STATUS.LAST_REASON when the CMM refuses
  // (NOT_OPEN, WRONG_DIR, NO_KEY, ...); kBusError(DENIED) if not the owner.
  [[nodiscard]] Status send(const void* data, size_t len, uint16_t tag);
  // Takes the head message. kEmpty when none; kNoSpace (info.len set, nothing
  // popped) when cap is smaller than the message. Interrupt-driven receivers:
  // read while info.remaining > 0, then sleep until the partition's RX
  // interrupt reports the endpoint again (a message that arrives meanwhile
  // raises it), instead of spending a read to find the queue empty.
  [[nodiscard]] Status receive(void* buf, size_t cap, RxInfo& info);
  [[nodiscard]] Status tx_status(TxStatus& out);
  [[nodiscard]] Status tx_sent(uint32_t& out);
  [[nodiscard]] Status rx_status(RxStatus& out);
  // Reads the view of this endpoint's CST entry (three reads; four past 4,096 endpoints). kBusError(DENIED)
  // unless the caller is the owning process (or its kernel agent).
  [[nodiscard]] Status channel_view(ChannelView& out);

 private:
  Status guard() const;

  RegIf& bus_;
  uint16_t ep_;
  uint32_t num_eps_;
};

}  // namespace cmm::sw
