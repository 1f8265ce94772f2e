// Register-level driver (cmm_sw/cmm_driver.h). Every call: argument guards
// first, then its fixed register sequence.
#include "cmm_sw/cmm_driver.h"

namespace cmm::sw {

using regs::Cmd;
using regs::Dir;
using regs::Reason;
using regs::State;

namespace {

constexpr uint32_t kIrqAll = regs::CMM_IRQ_STATUS_BITS_MASK << regs::CMM_IRQ_STATUS_BITS_LSB;
// Endpoint ids CST_REMOTE alone names (bits 11:0); CST_REMOTE_HI holds the rest.
constexpr uint32_t kEpLoIds = 1u << regs::CMM_CST_REMOTE_EP_BITS;

ErrorEntry decode_exc(uint32_t w) {
  ErrorEntry e;
  e.reason = static_cast<Reason>(CMM_FIELD_GET(w, CMM_EXC_LAST_REASON));
  e.ep = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_EXC_LAST_EP));
  e.src_node = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_EXC_LAST_SRC_NODE));
  e.exception = CMM_FIELD_GET(w, CMM_EXC_LAST_VALID) != 0;
  return e;
}
static_assert(regs::CMM_EXC_FIRST_REASON_LSB == regs::CMM_EXC_LAST_REASON_LSB &&
                  regs::CMM_EXC_FIRST_EP_LSB == regs::CMM_EXC_LAST_EP_LSB &&
                  regs::CMM_EXC_FIRST_SRC_NODE_LSB == regs::CMM_EXC_LAST_SRC_NODE_LSB &&
                  regs::CMM_EXC_FIRST_VALID_LSB == regs::CMM_EXC_LAST_VALID_LSB,
              "EXC_FIRST and EXC_LAST share one layout");

}  // namespace

Status CmmDriver::bad_ep(uint16_t ep) const {
  return ep >= geo_.num_endpoints ? Status::Err(Result::kBadArg, Reason::kBadEp) : Status::Ok();
}

bool DeviceGeometry::decode(uint32_t v) {
  const uint32_t ne = CMM_FIELD_GET(v, CMM_GEOMETRY_NUM_EP);
  const uint32_t np = CMM_FIELD_GET(v, CMM_GEOMETRY_NUM_PART), rq = CMM_FIELD_GET(v, CMM_GEOMETRY_RXQ_DEPTH);
  if (ne < regs::kMinNumEndpoints || ne > regs::kMaxNumEndpoints || np < regs::kMinNumPartitions ||
      np > regs::kMaxNumPartitions || rq < regs::kMinRxqDepth || rq > regs::kMaxRxqDepth ||
      CMM_FIELD_GET(v, CMM_GEOMETRY_KEY_WORDS) != regs::kKeyWords)
    return false;
  num_endpoints = ne;
  num_partitions = np;
  rxq_depth = rq;
  return true;
}

ErrorEntry ErrorEntry::decode(uint32_t w) {
  ErrorEntry e;
  e.reason = static_cast<Reason>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_REASON));
  e.ep = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_EP));
  e.opcode = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_OPCODE));
  e.from_fabric = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_FROM_FABRIC) != 0;
  e.exception = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_EXCEPTION) != 0;
  e.src_node = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_SRC_NODE));
  return e;
}

// ------------------------------------------------------------------ raw access

Status CmmDriver::read(uint32_t addr, uint32_t& v) {
  v = 0;
  return from_bus(bus_.read32(addr, v));
}

Status CmmDriver::write(uint32_t addr, uint32_t v, Reason on_reject) { return from_bus(bus_.write32(addr, v), on_reject); }

Status CmmDriver::command(Cmd op, uint16_t ep, bool hwkey) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CMD_OP, static_cast<uint32_t>(op));
  w = CMM_FIELD_SET(w, CMM_CMD_EP, ep);
  if (hwkey) w = CMM_FIELD_SET(w, CMM_CMD_HWKEY, 1u);
  const BusStatus b = bus_.write32(regs::CMM_CMD_OFFSET, w);
  if (b != BusStatus::kReject) return from_bus(b);
  uint32_t st = 0;
  const Status s = read(regs::CMM_CMD_STATUS_OFFSET, st);
  if (!s.ok()) return s;
  return Status::Err(Result::kRejected, static_cast<Reason>(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON)));
}

// ------------------------------------------------------------------ bring-up

Status CmmDriver::probe(DeviceInfo& out) {
  uint32_t v = 0;
  Status s = read(regs::CMM_ID_OFFSET, v);
  if (!s.ok()) return s;
  if (CMM_FIELD_GET(v, CMM_ID_MAGIC) != regs::kMagic) return Status::Err(Result::kBadDevice);
  s = read(regs::CMM_GEOMETRY_OFFSET, v);
  if (!s.ok()) return s;
  DeviceGeometry g;
  if (!g.decode(v)) return Status::Err(Result::kBadDevice);
  s = read(regs::CMM_NODE_ID_OFFSET, v);
  if (!s.ok()) return s;
  DeviceInfo d;
  d.geo = g;
  geo_ = g;
  d.node = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_NODE_ID_NODE));
  s = read(regs::CMM_PART_INFO_OFFSET, v);
  if (!s.ok()) return s;
  d.part = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_PART));
  d.quota = CMM_FIELD_GET(v, CMM_PART_INFO_QUOTA);
  out = d;
  return Status::Ok();
}

Status CmmDriver::irq_reset() {
  if (Status s = write(regs::CMM_IRQ_STATUS_OFFSET, kIrqAll); !s.ok()) return s;
  return write(regs::CMM_IRQ_ENABLE_OFFSET, kIrqAll);
}

// ------------------------------------------------------------------ endpoints and CST entries

Status CmmDriver::alloc(uint16_t& ep) {
  const uint32_t w = CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(Cmd::kAlloc));
  const BusStatus b = bus_.write32(regs::CMM_CMD_OFFSET, w);
  if (b != BusStatus::kOk && b != BusStatus::kReject) return from_bus(b);
  uint32_t st = 0;
  const Status s = read(regs::CMM_CMD_STATUS_OFFSET, st);
  if (!s.ok()) return s;
  const auto why = static_cast<Reason>(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON));
  if (b == BusStatus::kReject || why != Reason::kOk) return Status::Err(Result::kRejected, why);
  const uint32_t e = CMM_FIELD_GET(st, CMM_CMD_STATUS_EP);
  if (e >= geo_.num_endpoints) return Status::Err(Result::kBadDevice, Reason::kBadEp);
  ep = static_cast<uint16_t>(e);
  return Status::Ok();
}

Status CmmDriver::write_ctrl(uint16_t ep, Dir dir) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  const uint32_t w = CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, static_cast<uint32_t>(dir));
  return write(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), w, Reason::kNotOpen);
}

Status CmmDriver::write_ctrl(uint16_t ep, Dir dir, regs::Mode mode) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  uint32_t w = CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, static_cast<uint32_t>(dir));
  w = CMM_FIELD_SET(w, CMM_CST_CTRL_MODE, static_cast<uint32_t>(mode));
  return write(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), w, Reason::kNotOpen);
}

Status CmmDriver::verify_mode(uint16_t ep, regs::Mode mode) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  uint32_t v = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), v); !s.ok()) return s;
  if (CMM_FIELD_GET(v, CMM_CST_CTRL_MODE) != static_cast<uint32_t>(mode))
    return Status::Err(Result::kRejected, Reason::kModeMismatch);
  return Status::Ok();
}

Status CmmDriver::write_owner(uint16_t ep, uint16_t pid) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  const uint32_t w = CMM_FIELD_SET(0u, CMM_CST_OWNER_PID, pid);
  return write(cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), w, Reason::kNotOpen);
}

Status CmmDriver::write_remote(uint16_t ep, const PeerId& r) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  if (r.part >= geo_.num_partitions || r.ep >= geo_.num_endpoints)
    return Status::Err(Result::kBadArg, Reason::kBadField);
  // Endpoint bits 15:12 first (CST_REMOTE_HI): only tables past 4,096 entries need them.
  if (geo_.num_endpoints > kEpLoIds) {
    const uint32_t hi = CMM_FIELD_SET(0u, CMM_CST_REMOTE_HI_EP, r.ep >> regs::CMM_CST_REMOTE_EP_BITS);
    if (Status s = write(cst_addr(ep, regs::CMM_CST_REMOTE_HI_OFFSET), hi, Reason::kNotOpen); !s.ok()) return s;
  }
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_NODE, r.node);
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_PART, r.part);
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_EP, r.ep);
  return write(cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), w, Reason::kNotOpen);
}

Status CmmDriver::read_gen(uint16_t ep, uint8_t& local, uint8_t& remote) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  uint32_t v = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_GEN_OFFSET), v); !s.ok()) return s;
  local = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_CST_GEN_LOCAL));
  remote = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_CST_GEN_REMOTE));
  return Status::Ok();
}

Status CmmDriver::write_remote_gen(uint16_t ep, uint8_t gen) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  const uint32_t w = CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, gen);
  return write(cst_addr(ep, regs::CMM_CST_GEN_OFFSET), w, Reason::kNotOpen);
}

Status CmmDriver::stage_key(const ChannelKey& key) {
  for (uint32_t i = 0; i < regs::kKeyWords; ++i) {
    const Status s = write(regs::CMM_KEY_OFFSET + i * regs::CMM_KEY_STRIDE, key[i]);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status CmmDriver::read_cst(uint16_t ep, CstInfo& out) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  uint32_t ctrl = 0, owner = 0, remote = 0, hi = 0, status = 0, lost = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), ctrl); !s.ok()) return s;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), owner); !s.ok()) return s;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote); !s.ok()) return s;
  if (geo_.num_endpoints > kEpLoIds) {
    if (Status s = read(cst_addr(ep, regs::CMM_CST_REMOTE_HI_OFFSET), hi); !s.ok()) return s;
  }
  if (Status s = read(cst_addr(ep, regs::CMM_CST_STATUS_OFFSET), status); !s.ok()) return s;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_LOST_OFFSET), lost); !s.ok()) return s;
  CstInfo c;
  c.dir = static_cast<Dir>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_DIR));
  c.state = static_cast<State>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_STATE));
  c.key_valid = CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_VALID) != 0;
  c.key_origin = static_cast<regs::Origin>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_ORIGIN));
  c.owner_part = static_cast<uint8_t>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_OWNER_PART));
  c.owner_pid = static_cast<uint16_t>(CMM_FIELD_GET(owner, CMM_CST_OWNER_PID));
  c.remote.node = static_cast<uint16_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_NODE));
  c.remote.part = static_cast<uint8_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_PART));
  c.remote.ep = static_cast<uint16_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_EP) |
                                      CMM_FIELD_GET(hi, CMM_CST_REMOTE_HI_EP) << regs::CMM_CST_REMOTE_EP_BITS);
  c.rxq_count = static_cast<uint8_t>(CMM_FIELD_GET(status, CMM_CST_STATUS_RXQ_COUNT));
  c.last_reason = static_cast<Reason>(CMM_FIELD_GET(status, CMM_CST_STATUS_LAST_REASON));
  c.tx_nacks = static_cast<uint16_t>(CMM_FIELD_GET(status, CMM_CST_STATUS_TX_NACKS));
  c.tx_lost = static_cast<uint16_t>(CMM_FIELD_GET(lost, CMM_CST_LOST_TX));
  c.rx_lost = static_cast<uint16_t>(CMM_FIELD_GET(lost, CMM_CST_LOST_RX));
  c.key_slot = static_cast<uint8_t>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_SLOT));
  c.old_slot_valid = CMM_FIELD_GET(ctrl, CMM_CST_CTRL_OLD_SLOT_VALID) != 0;
  c.rekey_pending = CMM_FIELD_GET(ctrl, CMM_CST_CTRL_REKEY_PENDING) != 0;
  c.key_use = static_cast<uint16_t>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_USE));
  out = c;
  return Status::Ok();
}

Status CmmDriver::rekey(uint16_t ep, bool hwkey) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  return command(Cmd::kRekey, ep, hwkey);
}

Status CmmDriver::endpoint_state(uint16_t ep, State& out) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  uint32_t ctrl = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), ctrl); !s.ok()) return s;
  out = static_cast<State>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_STATE));
  return Status::Ok();
}

Status CmmDriver::cst_status(uint16_t ep, uint32_t& raw) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  return read(cst_addr(ep, regs::CMM_CST_STATUS_OFFSET), raw);
}

Status CmmDriver::cst_lost(uint16_t ep, uint16_t& tx, uint16_t& rx) {
  if (Status g = bad_ep(ep); !g.ok()) return g;
  uint32_t v = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_LOST_OFFSET), v); !s.ok()) return s;
  tx = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_CST_LOST_TX));
  rx = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_CST_LOST_RX));
  return Status::Ok();
}

// ------------------------------------------------------------------ partition and node counters

Status CmmDriver::part_info(PartInfo& out) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_PART_INFO_OFFSET, v); !s.ok()) return s;
  out.part = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_PART));
  out.quota = CMM_FIELD_GET(v, CMM_PART_INFO_QUOTA);
  if (Status s = read(regs::CMM_PART_USED_OFFSET, v); !s.ok()) return s;
  out.used = CMM_FIELD_GET(v, CMM_PART_USED_USED);
  return Status::Ok();
}

Status CmmDriver::reject_count(Reason r, uint32_t& out) {
  const auto i = static_cast<uint32_t>(r);
  if (i >= regs::kReasonCount || i >= regs::CMM_REJECT_COUNT_COUNT) return Status::Err(Result::kBadArg);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_REJECT_COUNT_OFFSET + i * regs::CMM_REJECT_COUNT_STRIDE, v); !s.ok()) return s;
  out = CMM_FIELD_GET(v, CMM_REJECT_COUNT_COUNT);
  return Status::Ok();
}

Status CmmDriver::stat(uint32_t index, uint32_t& out) {
  if (index >= regs::CMM_STAT_COUNT) return Status::Err(Result::kBadArg);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_STAT_OFFSET + index * regs::CMM_STAT_STRIDE, v); !s.ok()) return s;
  out = CMM_FIELD_GET(v, CMM_STAT_COUNT);
  return Status::Ok();
}

// ------------------------------------------------------------------ management messages

Status CmmDriver::send_mgmt(uint16_t node, uint8_t part, const MgmtWords& words) {
  if (part >= geo_.num_partitions) return Status::Err(Result::kBadArg, Reason::kBadPart);
  for (uint32_t i = 0; i < regs::kMgmtWords; ++i) {
    const uint32_t w = CMM_FIELD_SET(0u, CMM_MGMT_TX_WORD, words[i]);
    if (Status s = write(regs::CMM_MGMT_TX_OFFSET + i * regs::CMM_MGMT_TX_STRIDE, w); !s.ok()) return s;
  }
  uint32_t dst = 0;
  dst = CMM_FIELD_SET(dst, CMM_MGMT_DST_NODE, node);
  dst = CMM_FIELD_SET(dst, CMM_MGMT_DST_PART, part);
  if (Status s = write(regs::CMM_MGMT_DST_OFFSET, dst); !s.ok()) return s;
  return command(Cmd::kMgmtSend, 0);
}

Status CmmDriver::mgmt_status(uint32_t& count, uint16_t& src_node, uint8_t& src_part) {
  uint32_t st = 0;
  if (Status s = read(regs::CMM_MGMT_RX_STATUS_OFFSET, st); !s.ok()) return s;
  count = CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_COUNT);
  src_node = static_cast<uint16_t>(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE));
  src_part = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART));
  return Status::Ok();
}

Status CmmDriver::mgmt_word(uint32_t i, uint32_t& word) {
  if (i >= regs::kMgmtWords) return Status::Err(Result::kBadArg);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_MGMT_RX_OFFSET + i * regs::CMM_MGMT_RX_STRIDE, v); !s.ok()) return s;
  word = CMM_FIELD_GET(v, CMM_MGMT_RX_WORD);
  return Status::Ok();
}

Status CmmDriver::mgmt_receive(MgmtMessage& out) {
  uint32_t count = 0;
  MgmtMessage m;
  if (Status s = mgmt_status(count, m.src_node, m.src_part); !s.ok()) return s;
  if (count == 0) return Status::Err(Result::kEmpty, Reason::kRxqEmpty);
  for (uint32_t i = 0; i < regs::kMgmtWords; ++i)
    if (Status s = mgmt_word(i, m.words[i]); !s.ok()) return s;
  if (Status s = command(Cmd::kMgmtPop, 0); !s.ok()) return s;
  out = m;
  return Status::Ok();
}

// ------------------------------------------------------------------ interrupts, error log, exceptions, alarm

Status CmmDriver::irq_status(uint32_t& bits) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_IRQ_STATUS_OFFSET, v); !s.ok()) return s;
  bits = CMM_FIELD_GET(v, CMM_IRQ_STATUS_BITS);
  return Status::Ok();
}

Status CmmDriver::irq_ack(uint32_t bits) {
  if ((bits & ~regs::CMM_IRQ_STATUS_BITS_MASK) != 0) return Status::Err(Result::kBadArg);
  return write(regs::CMM_IRQ_STATUS_OFFSET, CMM_FIELD_SET(0u, CMM_IRQ_STATUS_BITS, bits));
}

Status CmmDriver::errlog_status(uint32_t& count, uint8_t& lost) {
  uint32_t st = 0;
  if (Status s = read(regs::CMM_ERRLOG_STATUS_OFFSET, st); !s.ok()) return s;
  count = CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT);
  lost = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST));
  return Status::Ok();
}

Status CmmDriver::errlog_head(ErrorEntry& head) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_ERRLOG_HEAD_OFFSET, v); !s.ok()) return s;
  head = ErrorEntry::decode(v);
  return Status::Ok();
}

Status CmmDriver::errlog_head_repeat(uint32_t& repeats) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_ERRLOG_HEAD_REPEAT_OFFSET, v); !s.ok()) return s;
  repeats = CMM_FIELD_GET(v, CMM_ERRLOG_HEAD_REPEAT_COUNT);
  return Status::Ok();
}

Status CmmDriver::errlog_pop(ErrorEntry& out, uint8_t* lost) {
  uint32_t count = 0;
  uint8_t l = 0;
  if (Status s = errlog_status(count, l); !s.ok()) return s;
  if (lost) *lost = l;
  if (count == 0) return Status::Err(Result::kEmpty, Reason::kRxqEmpty);
  ErrorEntry head;
  if (Status s = errlog_head(head); !s.ok()) return s;
  if (Status s = command(Cmd::kErrlogPop, 0); !s.ok()) return s;
  out = head;
  return Status::Ok();
}

Status CmmDriver::exc_count(uint32_t& count) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_EXC_COUNT_OFFSET, v); !s.ok()) return s;
  count = CMM_FIELD_GET(v, CMM_EXC_COUNT_COUNT);
  return Status::Ok();
}

Status CmmDriver::exc_last(ErrorEntry& out) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_EXC_LAST_OFFSET, v); !s.ok()) return s;
  out = decode_exc(v);
  return Status::Ok();
}

Status CmmDriver::read_exceptions(ExcInfo& out) {
  uint32_t n = 0, first = 0, last = 0;
  if (Status s = read(regs::CMM_EXC_COUNT_OFFSET, n); !s.ok()) return s;
  if (Status s = read(regs::CMM_EXC_FIRST_OFFSET, first); !s.ok()) return s;
  if (Status s = read(regs::CMM_EXC_LAST_OFFSET, last); !s.ok()) return s;
  out.count = static_cast<uint16_t>(CMM_FIELD_GET(n, CMM_EXC_COUNT_COUNT));
  out.first = decode_exc(first);
  out.last = decode_exc(last);
  return Status::Ok();
}

Status CmmDriver::set_alarm(uint16_t thresh, uint8_t window_log2) {
  if (window_log2 > regs::CMM_ALARM_CFG_WINDOW_LOG2_MASK) return Status::Err(Result::kBadArg, Reason::kBadField);
  uint32_t w = CMM_FIELD_SET(0u, CMM_ALARM_CFG_THRESH, thresh);
  w = CMM_FIELD_SET(w, CMM_ALARM_CFG_WINDOW_LOG2, window_log2);
  return write(regs::CMM_ALARM_CFG_OFFSET, w, Reason::kReservedBits);
}

Status CmmDriver::alarm_count(uint32_t& out) {
  uint32_t v = 0;
  if (Status s = read(regs::CMM_ALARM_COUNT_OFFSET, v); !s.ok()) return s;
  out = CMM_FIELD_GET(v, CMM_ALARM_COUNT_COUNT);
  return Status::Ok();
}

}  // namespace cmm::sw
