#include "cmm_sw/endpoint.h"

namespace cmm::sw {

using regs::Reason;

Status Endpoint::guard() const {
  if (ep_ >= num_eps_) return Status::Err(Result::kBadArg, Reason::kBadEp);
  return Status::Ok();
}

Status Endpoint::send(const void* data, size_t len, uint16_t tag) {
  if (Status g = guard(); !g.ok()) return g;
  if (data == nullptr || len == 0 || len > regs::CMM_TX_BUF_BYTES || len > regs::kMaxMsgBytes)
    return Status::Err(Result::kBadArg, Reason::kBadLen);
  const Status s = from_bus(bus_.write_block(reg(regs::CMM_TX_BUF_OFFSET), static_cast<const uint8_t*>(data), len));
  if (!s.ok()) return s;
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_EP_DOORBELL_LEN, static_cast<uint32_t>(len));
  w = CMM_FIELD_SET(w, CMM_EP_DOORBELL_TAG, tag);
  const BusStatus b = bus_.write32(reg(regs::CMM_EP_DOORBELL_OFFSET), w);
  if (b != BusStatus::kReject) return from_bus(b);
  TxStatus ts;
  if (Status t = tx_status(ts); !t.ok()) return t;
  return Status::Err(Result::kRejected, ts.last_reason);
}

Status Endpoint::receive(void* buf, size_t cap, RxInfo& info) {
  if (Status g = guard(); !g.ok()) return g;
  if (buf == nullptr) return Status::Err(Result::kBadArg);
  RxStatus rs;
  if (Status s = rx_status(rs); !s.ok()) return s;
  if (rs.count == 0) return Status::Err(Result::kEmpty, Reason::kRxqEmpty);
  info.len = rs.len;
  info.tag = 0;
  info.remaining = static_cast<uint8_t>(rs.count - 1);
  if (rs.len > cap) return Status::Err(Result::kNoSpace);
  // The CMM grants the window for the head slot; the packet buffer serves it.
  if (Status s = from_bus(bus_.read_block(reg(regs::CMM_RX_BUF_OFFSET), static_cast<uint8_t*>(buf), rs.len),
                          Reason::kRxqEmpty);
      !s.ok())
    return s;
  uint32_t t = 0;
  if (Status s = from_bus(bus_.read32(reg(regs::CMM_EP_RX_TAG_OFFSET), t)); !s.ok()) return s;
  info.tag = static_cast<uint16_t>(CMM_FIELD_GET(t, CMM_EP_RX_TAG_TAG));
  return from_bus(bus_.write32(reg(regs::CMM_EP_RX_POP_OFFSET), CMM_FIELD_SET(0u, CMM_EP_RX_POP_ANY, 1u)),
                  Reason::kRxqEmpty);
}

Status Endpoint::tx_status(TxStatus& out) {
  if (Status g = guard(); !g.ok()) return g;
  uint32_t v = 0;
  if (Status s = from_bus(bus_.read32(reg(regs::CMM_EP_TX_STATUS_OFFSET), v)); !s.ok()) return s;
  out.last_reason = static_cast<Reason>(CMM_FIELD_GET(v, CMM_EP_TX_STATUS_LAST_REASON));
  out.nacks = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_EP_TX_STATUS_NACKS));
  out.last_tag = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_EP_TX_STATUS_LAST_TAG));
  return Status::Ok();
}

Status Endpoint::tx_sent(uint32_t& out) {
  if (Status g = guard(); !g.ok()) return g;
  uint32_t v = 0;
  if (Status s = from_bus(bus_.read32(reg(regs::CMM_EP_TX_SENT_OFFSET), v)); !s.ok()) return s;
  out = CMM_FIELD_GET(v, CMM_EP_TX_SENT_COUNT);
  return Status::Ok();
}

Status Endpoint::rx_status(RxStatus& out) {
  if (Status g = guard(); !g.ok()) return g;
  uint32_t v = 0;
  if (Status s = from_bus(bus_.read32(reg(regs::CMM_EP_RX_STATUS_OFFSET), v)); !s.ok()) return s;
  out.count = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_EP_RX_STATUS_COUNT));
  out.slot = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_EP_RX_STATUS_SLOT));
  out.len = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_EP_RX_STATUS_LEN));
  return Status::Ok();
}

Status Endpoint::channel_view(ChannelView& out) {
  if (Status g = guard(); !g.ok()) return g;
  const uint32_t cst = regs::CMM_CST_BASE + static_cast<uint32_t>(ep_) * regs::CMM_CST_STRIDE;
  uint32_t ctrl = 0, remote = 0, hi = 0, status = 0;
  if (Status s = from_bus(bus_.read32(cst + regs::CMM_CST_CTRL_OFFSET, ctrl)); !s.ok()) return s;
  if (Status s = from_bus(bus_.read32(cst + regs::CMM_CST_REMOTE_OFFSET, remote)); !s.ok()) return s;
  if (num_eps_ > (1u << regs::CMM_CST_REMOTE_EP_BITS)) {  // endpoint bits 15:12
    if (Status s = from_bus(bus_.read32(cst + regs::CMM_CST_REMOTE_HI_OFFSET, hi)); !s.ok()) return s;
  }
  if (Status s = from_bus(bus_.read32(cst + regs::CMM_CST_STATUS_OFFSET, status)); !s.ok()) return s;
  out.state = static_cast<regs::State>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_STATE));
  out.dir = static_cast<regs::Dir>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_DIR));
  out.mode = static_cast<regs::Mode>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_MODE));
  out.key_valid = CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_VALID) != 0;
  out.remote_node = static_cast<uint16_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_NODE));
  out.remote_part = static_cast<uint8_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_PART));
  out.remote_ep = static_cast<uint16_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_EP) |
                                        CMM_FIELD_GET(hi, CMM_CST_REMOTE_HI_EP) << regs::CMM_CST_REMOTE_EP_BITS);
  out.rxq_count = static_cast<uint8_t>(CMM_FIELD_GET(status, CMM_CST_STATUS_RXQ_COUNT));
  out.last_nack = static_cast<Reason>(CMM_FIELD_GET(status, CMM_CST_STATUS_LAST_REASON));
  out.tx_nacks = static_cast<uint16_t>(CMM_FIELD_GET(status, CMM_CST_STATUS_TX_NACKS));
  return Status::Ok();
}

}  // namespace cmm::sw
