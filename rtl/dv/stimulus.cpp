#include "stimulus.h"

#include "cmm_core.h"

#include <stdexcept>
#include <utility>

namespace cmm::dv {

using namespace regs;

namespace {
constexpr uint8_t op(Opcode o) { return static_cast<uint8_t>(o); }
constexpr uint32_t cmdv(Cmd c) { return static_cast<uint32_t>(c); }
constexpr uint8_t kKernel = static_cast<uint8_t>(Priv::kKernel);
constexpr uint8_t kUser = static_cast<uint8_t>(Priv::kUser);
constexpr uint32_t kIngQueueMax = 12;
// DATA of the long-lived channel's flood: past 2^14, where tx_seq + nack_seq
// (nack_seq just below tx_seq) first exceeds the 2^15 window, plus a margin
// for replayed NACKs to arrive.
constexpr uint32_t kLongData = 0x4000 + 0x800;

uint32_t cmd_word(uint32_t cmd, uint32_t ep) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CMD_OP, cmd);
  w = CMM_FIELD_SET(w, CMM_CMD_EP, ep);
  return w;
}
}  // namespace

const char* op_kind_name(OpKind k) {
  static const char* const n[] = {"other", "global", "bank", "key", "cmd", "cst", "doorbell",
                                  "rx_pop", "ep_read", "tx_buf", "rx_buf", "random", "misaligned"};
  return n[static_cast<uint32_t>(k)];
}

Stimulus::Stimulus(uint64_t seed, const Straps& straps, const Geometry& geo)
    : rng_(seed),
      straps_(straps),
      ne_(geo.num_endpoints),
      np_(geo.num_partitions),
      ep_(geo.num_endpoints),
      seed_(seed) {
  if (ne_ == 0 || ne_ > kMaxEndpoints || np_ == 0 || np_ > regs::kMaxNumPartitions)
    throw std::invalid_argument("lockstep stimulus: geometry " + std::to_string(ne_) + " endpoints x " +
                                std::to_string(np_) + " partitions; it drives 1.." + std::to_string(kMaxEndpoints) +
                                " endpoints and 1.." + std::to_string(regs::kMaxNumPartitions) + " partitions");
  // The closure profile, one seed in four (the CI subset's seed 4, soak seeds 1000, 1004, ...); the
  // other seeds draw exactly as without it.
  closure_ = (seed & 3) == 0;
  if (closure_) long_ = Long::kArm;
  new_phase();
}

void Stimulus::set_wide(bool on) {
  wide_ = on;
  wide_rng_.seed(seed_ ^ 0x57494445ull);  // "WIDE": a generator of its own
  for (auto& m : wide_pid_mask_) m = static_cast<uint16_t>(wide_rng_() & 0xFFF8u);
  for (auto& m : wide_node_mask_) m = static_cast<uint16_t>(wide_rng_() & 0xFFF8u);
  // Values the core holds without being told (0 after reset and FREE) and the
  // own node id map to themselves.
  wide_pid_mask_[0] = 0;
  wide_node_mask_[0] = 0;
  wide_node_mask_[straps_.node_id & 7u] = 0;
}

void Stimulus::widen(PinsIn& in) {
  if (in.reg_req_valid) {
    in.reg_req_pid = wide_pid(in.reg_req_pid);
    const uint32_t a = in.reg_req_addr;
    if (in.reg_req_write && a >= CMM_CST_BASE && a < CMM_CST_BASE + ne_ * CMM_CST_STRIDE) {
      const uint32_t off = (a - CMM_CST_BASE) % CMM_CST_STRIDE;
      if (off == CMM_CST_OWNER_OFFSET)
        in.reg_req_wdata = CMM_FIELD_SET(in.reg_req_wdata, CMM_CST_OWNER_PID,
                                         wide_pid(static_cast<uint16_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CST_OWNER_PID))));
      if (off == CMM_CST_REMOTE_OFFSET)
        in.reg_req_wdata = CMM_FIELD_SET(in.reg_req_wdata, CMM_CST_REMOTE_NODE,
                                         wide_node(static_cast<uint16_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CST_REMOTE_NODE))));
    }
    if (in.reg_req_write && a == CMM_MGMT_DST_OFFSET)
      in.reg_req_wdata = CMM_FIELD_SET(in.reg_req_wdata, CMM_MGMT_DST_NODE,
                                       wide_node(static_cast<uint16_t>(CMM_FIELD_GET(in.reg_req_wdata, CMM_MGMT_DST_NODE))));
  }
  if (in.ing_valid) {
    in.ing_hdr.src_node = wide_node(in.ing_hdr.src_node);
    in.ing_hdr.dst_node = wide_node(in.ing_hdr.dst_node);
  }
}

Key Stimulus::rand_key() {
  Key k;
  for (auto& w : k) w = static_cast<uint32_t>(rng_());
  return k;
}

void Stimulus::new_phase() {
  static const uint32_t eg[] = {100, 100, 95, 70, 40, 10, 0};
  static const uint32_t rg[] = {100, 80, 50, 30, 10};
  static const uint32_t ig[] = {90, 50, 25, 10, 3};
  p_eg_ready_ = eg[r(7)];
  p_reg_ = rg[r(5)];
  p_ing_ = ig[r(5)];
  p_script_ = 2 + r(10);
  drain_ = chance(30);
  if (drain_) feature("errlog_drain_phase");
  // A storm leaves its entries FAULT until reset: the platform resets the
  // core after it, so the other phases see a working table again.
  if (storm_ && reset_left_ == 0) {
    reset_left_ = 1;
    feature("fault_storm_reset");
  }
  storm_ = chance(8);
  if (long_ == Long::kArm || long_ == Long::kConnect || long_ == Long::kFlood) storm_ = false;  // its reset ends the channel
  if (closure_ && long_ == Long::kDone && !storm_ && chance(20)) storm_ = true;
  if (storm_) {
    drain_ = false;
    storm_ep_ = pick_any_owned();
    if (storm_ep_ < 0) storm_ep_ = static_cast<int>(r(ne_));
    if (closure_) {
      const int ow = ep_[static_cast<uint32_t>(storm_ep_)].owner;
      storm_part_ = static_cast<uint8_t>(ow >= 0 ? ow : static_cast<int>(r(np_)));
    }
    feature("fault_storm_phase");
  }
  owner_view_ = chance(25);
  if (owner_view_) feature("owner_view_phase");
  if (long_ == Long::kFlood) {
    p_reg_ = 100;  // the register port and the egress at full rate
    p_eg_ready_ = 100;
  }
}

int Stimulus::unguarded(int ep) {
  while (guarded(ep)) ep = static_cast<int>(r(ne_));
  return ep;
}

// End of a channel-setup script: the long-lived channel waits for its send
// entry to accept the CONNECT (the CONNECT_ACK leaving it).
void Stimulus::script_done() {
  script_active_ = false;
  ++cov_.script_channels;
  if (script_.long_pair && long_ == Long::kArm) {
    long_ = Long::kConnect;
    long_t0_ = cycle_;
    feature("long_channel_script");
  }
}

// The sender's own user thread rings its doorbell.
RegOp Stimulus::long_op() {
  const EpShadow& b = ep_[static_cast<uint32_t>(long_b_)];
  const uint32_t db = CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, 1 + r(kMaxMsgBytes));
  RegOp o = ep_op(long_b_, true, CMM_EP_DOORBELL_OFFSET, db);
  o.part = static_cast<uint8_t>(b.owner);
  o.priv = kUser;
  o.pid = b.pid;
  return o;
}

// A replayed (stale) NACK of one of the channel's first DATA, proven with the
// channel's ids, generations and key: believed only inside the NACK window.
void Stimulus::craft_long_nack() {
  const EpShadow& s = ep_[static_cast<uint32_t>(long_b_)];
  Header h;
  h.opcode = op(Opcode::kNack);
  h.aux = op(Opcode::kData);
  h.dst_node = straps_.node_id;
  h.dst_part = static_cast<uint8_t>(s.owner);
  h.dst_ep = static_cast<uint8_t>(long_b_);
  h.src_node = s.rnode;
  h.src_part = s.rpart;
  h.src_ep = s.rep;
  h.src_gen = s.rgen;
  h.dst_gen = s.gen;
  h.key = s.key;
  h.reason = static_cast<uint8_t>(chance(50) ? Reason::kRxqFull : Reason::kSeqGap);
  h.tag = static_cast<uint16_t>(1 + r(3));
  h.seq = static_cast<uint16_t>(r(8));
  feature("long_stale_nack");
  if (ingq_.size() < kIngQueueMax) ingq_.push_back(h);
}

// Fault storm: the kernel agents of every partition look at their logs
// (without popping), exception and alarm registers; some set a low alarm.
RegOp Stimulus::storm_op() {
  static const uint32_t rd[] = {CMM_ERRLOG_STATUS_OFFSET, CMM_ERRLOG_HEAD_OFFSET, CMM_ERRLOG_HEAD_REPEAT_OFFSET,
                                CMM_EXC_COUNT_OFFSET,     CMM_EXC_FIRST_OFFSET,   CMM_EXC_LAST_OFFSET,
                                CMM_ALARM_COUNT_OFFSET,   CMM_TABLE_FAULT_OFFSET, CMM_IRQ_STATUS_OFFSET};
  RegOp o;
  o.part = static_cast<uint8_t>(r(np_));
  o.priv = kKernel;
  o.kind = OpKind::kBank;
  if (closure_ && chance(75)) {
    o.part = storm_part_;
    const uint32_t k = r(12);
    if (k == 0) {
      o.write = true;
      o.addr = CMM_IRQ_STATUS_OFFSET;  // W1C: the next ALARM / EXC is set from 0
      o.wdata = CMM_IRQ_STATUS_WMASK;
      feature("storm_irq_clear");
      return o;
    }
    if (k == 1) {
      o.write = true;
      o.addr = CMM_IRQ_ENABLE_OFFSET;
      o.wdata = 1u << static_cast<uint32_t>(chance(50) ? Irq::kAlarm : Irq::kExc);
      feature("storm_irq_enable");
      return o;
    }
    if (k == 2) {
      o.write = true;
      o.addr = CMM_ALARM_CFG_OFFSET;
      o.wdata = CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ALARM_CFG_THRESH, 1u), CMM_ALARM_CFG_WINDOW_LOG2, 4 + r(4));
      feature("storm_alarm_cfg");
      return o;
    }
  }
  if (chance(8)) {
    o.write = true;
    o.addr = CMM_ALARM_CFG_OFFSET;
    o.wdata = CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ALARM_CFG_THRESH, 1 + r(3)), CMM_ALARM_CFG_WINDOW_LOG2, 4 + r(8));
    feature("storm_alarm_cfg");
    return o;
  }
  o.addr = rd[r(sizeof rd / sizeof rd[0])];
  feature("storm_read");
  return o;
}

// The kernel agent servicing its error log: HEAD and REPEAT reads, the
// exception register, then a pop (ERRLOG_POP) or EXC_CLEAR.
RegOp Stimulus::drain_op(uint8_t part) {
  static const uint32_t rd[] = {CMM_ERRLOG_STATUS_OFFSET, CMM_ERRLOG_HEAD_OFFSET, CMM_ERRLOG_HEAD_REPEAT_OFFSET,
                                CMM_EXC_COUNT_OFFSET, CMM_EXC_FIRST_OFFSET, CMM_EXC_LAST_OFFSET};
  const uint32_t c = r(10);
  if (c < 5) {
    RegOp o = cmd_op(part, cmdv(c < 4 ? Cmd::kErrlogPop : Cmd::kExcClear), 0);
    feature(c < 4 ? "errlog_drain_pop" : "errlog_drain_exc_clear");
    return o;
  }
  RegOp o;
  o.addr = rd[r(sizeof rd / sizeof rd[0])];
  o.part = part;
  o.priv = kKernel;
  o.kind = OpKind::kBank;
  return o;
}

void Stimulus::clear_shadow() {
  for (auto& e : ep_) e = EpShadow{};
  for (auto& k : staged_) k = Key{};
  ingq_.clear();
  reg_pending_ = ing_pending_ = s1_valid_ = false;
  script_active_ = false;
  hazard_ep_ = -1;
  seed_next_ = true;  // the platform seeds the key generator after every reset
  if (closure_) {
    seed_delay_ = chance(50) ? static_cast<int>(8 + r(56)) : 0;
    kg_probe_ = true;
  }
  if (long_ == Long::kArm || long_ == Long::kConnect || long_ == Long::kFlood) {
    long_ = Long::kArm;  // set it up again
    long_a_ = long_b_ = -1;
  }
}

int Stimulus::pick_owned(int part) {
  int cand[kMaxEndpoints];
  int n = 0;
  for (uint32_t e = 0; e < ne_; ++e)
    if (ep_[e].owner >= 0 && (part < 0 || ep_[e].owner == part) && !guarded(static_cast<int>(e)))
      cand[n++] = static_cast<int>(e);
  return n ? cand[r(static_cast<uint32_t>(n))] : -1;
}

int Stimulus::pick_any_owned() { return pick_owned(-1); }

int Stimulus::pick_keyed(uint8_t dir) {
  int cand[kMaxEndpoints];
  int n = 0;
  for (uint32_t e = 0; e < ne_; ++e)
    if (ep_[e].owner >= 0 && ep_[e].key_valid && ep_[e].dir == dir && !guarded(static_cast<int>(e)))
      cand[n++] = static_cast<int>(e);
  return n ? cand[r(static_cast<uint32_t>(n))] : -1;
}

RegOp Stimulus::cmd_op(uint8_t part, uint32_t cmd, uint32_t ep) {
  RegOp o;
  o.write = true;
  o.addr = CMM_CMD_OFFSET;
  o.wdata = cmd_word(cmd, ep);
  o.part = part;
  o.priv = kKernel;
  o.kind = OpKind::kCmd;
  o.ep = static_cast<int>(ep);
  return o;
}

RegOp Stimulus::ep_op(int ep, bool write, uint32_t off, uint32_t wdata) {
  RegOp o;
  const EpShadow& s = ep_[static_cast<uint32_t>(ep)];
  o.write = write;
  o.addr = CMM_EP_BASE + static_cast<uint32_t>(ep) * CMM_EP_STRIDE + off;
  o.wdata = wdata;
  o.part = s.owner >= 0 ? static_cast<uint8_t>(s.owner) : static_cast<uint8_t>(r(np_));
  if (chance(60)) {
    o.priv = kUser;
    o.pid = s.pid;
  } else {
    o.priv = kKernel;
    o.pid = static_cast<uint16_t>(rng_());
  }
  o.ep = ep;
  if (off == CMM_EP_DOORBELL_OFFSET) o.kind = OpKind::kDoorbell;
  else if (off == CMM_EP_RX_POP_OFFSET) o.kind = OpKind::kRxPop;
  else if (off >= CMM_TX_BUF_OFFSET && off < CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES) o.kind = OpKind::kTxBuf;
  else if (off >= CMM_RX_BUF_OFFSET && off < CMM_RX_BUF_OFFSET + CMM_RX_BUF_BYTES) o.kind = OpKind::kRxBuf;
  else o.kind = OpKind::kEpRead;
  return o;
}

// A register access aimed at the endpoint whose ingress header commits at the same edge.
RegOp Stimulus::hazard_op(int ep, uint8_t opcode) {
  const EpShadow& s = ep_[static_cast<uint32_t>(ep)];
  const uint8_t part = s.owner >= 0 ? static_cast<uint8_t>(s.owner) : 0;
  const uint32_t db = CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, 1 + r(kMaxMsgBytes)) | (r(0x10000) << 16);
  // DATA: the receive side's accesses, CLOSE/FREE and CONNECT/SET_KEY. Other opcodes:
  // the agent's and the sender's, and (functional cross, docs/rtl.md) the
  // receive-side accesses and CST writes too, which otherwise met them only
  // by chance.
  uint32_t pick = 4 + r(8);
  if (opcode == op(Opcode::kData)) {
    pick = r(5);
    if (pick == 4) pick = 6;
  }
  switch (pick) {
    case 0: case 8: return ep_op(ep, true, CMM_EP_RX_POP_OFFSET, 0);
    case 1: return cmd_op(part, cmdv(chance(70) ? Cmd::kClose : Cmd::kFree), static_cast<uint32_t>(ep));
    case 2: case 9: return ep_op(ep, false, CMM_EP_RX_STATUS_OFFSET, 0);
    case 3: case 10: return ep_op(ep, false, CMM_RX_BUF_OFFSET + 4 * r(CMM_RX_BUF_BYTES / 4), 0);
    case 4: return ep_op(ep, true, CMM_EP_DOORBELL_OFFSET, db);
    case 5: return cmd_op(part, cmdv(chance(50) ? Cmd::kClose : Cmd::kFree), static_cast<uint32_t>(ep));
    case 6: return cmd_op(part, cmdv(chance(50) ? Cmd::kConnect : Cmd::kSetKey), static_cast<uint32_t>(ep));
    default: {
      // CST read (7) or write (11): the write is of the generation register,
      // refused unless the entry is ALLOCATED (fields frozen after AUTHORIZE).
      RegOp o;
      o.write = pick == 11;
      o.addr = CMM_CST_BASE + static_cast<uint32_t>(ep) * CMM_CST_STRIDE +
               (o.write ? CMM_CST_GEN_OFFSET : CMM_CST_CTRL_OFFSET);
      o.wdata = o.write ? r(4) << 8 : 0;  // REMOTE generation (bits 15:8)
      o.part = part;
      o.priv = kKernel;
      o.kind = OpKind::kCst;
      o.ep = ep;
      return o;
    }
  }
}

// Channel pair on this node: receiver A (partition pa) <- sender B (partition pb).
bool Stimulus::script_op(RegOp& o) {
  Script& s = script_;
  if (s.waiting) return false;
  auto cst_w = [&](uint8_t part, int ep, uint32_t off, uint32_t wd) {
    RegOp x;
    x.write = true;
    x.addr = CMM_CST_BASE + static_cast<uint32_t>(ep) * CMM_CST_STRIDE + off;
    x.wdata = wd;
    x.part = part;
    x.priv = kKernel;
    x.kind = OpKind::kCst;
    x.ep = ep;
    return x;
  };
  auto remote = [&](uint32_t node, uint32_t part, uint32_t ep) {
    uint32_t w = 0;
    w = CMM_FIELD_SET(w, CMM_CST_REMOTE_NODE, node);
    w = CMM_FIELD_SET(w, CMM_CST_REMOTE_PART, part);
    return CMM_FIELD_SET(w, CMM_CST_REMOTE_EP, ep);
  };
  const uint32_t recv = static_cast<uint32_t>(Dir::kRecv), send = static_cast<uint32_t>(Dir::kSend);
  switch (s.step) {
    case 0: o = cmd_op(s.pa, cmdv(Cmd::kAlloc), 0); break;
    case 1: o = cmd_op(s.pb, cmdv(Cmd::kAlloc), 0); break;
    case 2: o = cst_w(s.pa, s.ea, CMM_CST_CTRL_OFFSET, recv); break;
    case 3: o = cst_w(s.pa, s.ea, CMM_CST_REMOTE_OFFSET, remote(s.rnode, s.pb, static_cast<uint32_t>(s.eb))); break;
    case 4: o = cst_w(s.pa, s.ea, CMM_CST_OWNER_OFFSET, s.pida); break;
    case 5: o = cst_w(s.pb, s.eb, CMM_CST_CTRL_OFFSET, send); break;
    case 6: o = cst_w(s.pb, s.eb, CMM_CST_REMOTE_OFFSET, remote(straps_.node_id, s.pa, static_cast<uint32_t>(s.ea))); break;
    case 7: o = cst_w(s.pb, s.eb, CMM_CST_OWNER_OFFSET, s.pidb); break;
    // Id exchange with generations (security.md 1.9): read each CST_GEN.LOCAL, write the peer's REMOTE.
    case 8: o = cst_w(s.pa, s.ea, CMM_CST_GEN_OFFSET, 0); o.write = false; break;
    case 9: o = cst_w(s.pb, s.eb, CMM_CST_GEN_OFFSET, 0); o.write = false; break;
    case 10: o = cst_w(s.pa, s.ea, CMM_CST_GEN_OFFSET, CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, s.gb)); break;
    case 11: o = cst_w(s.pb, s.eb, CMM_CST_GEN_OFFSET, CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, s.ga)); break;
    case 12: o = cmd_op(s.pa, cmdv(Cmd::kAuthorize), static_cast<uint32_t>(s.ea)); break;
    case 13: o = cmd_op(s.pb, cmdv(Cmd::kAuthorize), static_cast<uint32_t>(s.eb)); break;
    case 14: case 15: case 16: case 17: {
      const uint32_t i = static_cast<uint32_t>(s.step - 14);
      if (static_cast<int>(i) == s.skip_word || s.hwkey) {  // leave the staging incomplete / not needed
        ++s.step;
        return script_op(o);
      }
      o = RegOp{};
      o.write = true;
      o.addr = CMM_KEY_OFFSET + i * CMM_KEY_STRIDE;
      o.wdata = s.key[i];
      o.part = s.pa;
      o.priv = kKernel;
      o.pid = s.key_pid;
      o.kind = OpKind::kKey;
      break;
    }
    case 18:  // SET_KEY first (then CONNECT sends the stored key), or CONNECT with the staged key
      o = cmd_op(s.pa, cmdv(s.set_key_first ? Cmd::kSetKey : Cmd::kConnect), static_cast<uint32_t>(s.ea));
      o.pid = s.key_pid;
      if (s.hwkey) o.wdata = CMM_FIELD_SET(o.wdata, CMM_CMD_HWKEY, 1u);
      break;
    case 19:
      if (!s.set_key_first) {
        script_done();
        return false;
      }
      if (closure_ && !s.hwkey && !s.close_sent && chance(50)) {
        // Closure profile: the peer's CLOSE reaches the receive entry keyed by
        // SET_KEY while it is still AUTHORIZED (a stray CLOSE: counted, ignored).
        s.close_sent = true;
        const EpShadow& a = ep_[static_cast<uint32_t>(s.ea)];
        Header h;
        h.opcode = op(Opcode::kClose);
        h.dst_node = straps_.node_id;
        h.dst_part = s.pa;
        h.dst_ep = static_cast<uint8_t>(s.ea);
        h.src_node = a.rnode;
        h.src_part = a.rpart;
        h.src_ep = a.rep;
        h.src_gen = a.rgen;
        h.dst_gen = a.gen;
        h.key = a.key;
        ingq_.push_front(h);
        s.hold = 24;
        feature("close_at_keyed_authorized");
      }
      if (s.hold > 0) {
        --s.hold;
        return false;
      }
      o = cmd_op(s.pa, cmdv(Cmd::kConnect), static_cast<uint32_t>(s.ea));
      if (s.hwkey && chance(50)) o.wdata = CMM_FIELD_SET(o.wdata, CMM_CMD_HWKEY, 1u);  // ignored: key stored
      break;
    default: script_done(); return false;
  }
  o.script = true;
  s.waiting = true;
  return true;
}

RegOp Stimulus::random_op() {
  RegOp o;
  // Requester: mostly a partition that owns something, sometimes any (incl. >= num_partitions).
  const int any_ep = pick_any_owned();
  uint8_t part = any_ep >= 0 && chance(70) ? static_cast<uint8_t>(ep_[static_cast<uint32_t>(any_ep)].owner)
                                           : static_cast<uint8_t>(r(np_));
  if (chance(4)) part = static_cast<uint8_t>(r(1u << kPartIdBits));
  if (drain_ && chance(40)) return drain_op(static_cast<uint8_t>(part % np_));
  if (storm_ && chance(40)) return storm_op();
  o.part = part;
  o.priv = chance(75) ? kKernel : kUser;
  o.pid = static_cast<uint16_t>(rng_());
  o.write = chance(50);
  o.wdata = static_cast<uint32_t>(rng_());
  const uint32_t c = r(100);
  if (c < 4) {
    static const uint32_t g[] = {CMM_ID_OFFSET, CMM_NODE_ID_OFFSET, CMM_GEOMETRY_OFFSET};
    o.addr = g[r(3)];
    o.kind = OpKind::kGlobal;
  } else if (c < 30) {
    // Command.
    int ep = pick_owned(part);
    if (ep < 0 || chance(15)) ep = static_cast<int>(r(ne_));
    ep = unguarded(ep);
    uint32_t epv = static_cast<uint32_t>(ep);
    if (chance(3)) epv = chance(50) ? ne_ : r(256);  // out of range, often just past the table
    static const Cmd w[] = {Cmd::kNop, Cmd::kAlloc, Cmd::kAlloc, Cmd::kAlloc, Cmd::kAuthorize, Cmd::kAuthorize,
                            Cmd::kConnect, Cmd::kConnect, Cmd::kClose, Cmd::kClose, Cmd::kFree, Cmd::kFree,
                            Cmd::kMgmtSend, Cmd::kMgmtSend, Cmd::kMgmtPop, Cmd::kErrlogPop, Cmd::kErrlogPop,
                            Cmd::kSetKey, Cmd::kSetKey, Cmd::kExcClear, Cmd::kRekey};  // REKEY: BAD_CMD in plain cores
    uint32_t cmd = cmdv(w[r(sizeof w / sizeof w[0])]);
    if (chance(4)) cmd = kCmdCount + r(16 - kCmdCount);
    o = cmd_op(part, cmd, epv);
    o.pid = static_cast<uint16_t>(chance(60) ? r(4) : rng_());  // the key stager or another thread
    if (chance(5)) o.priv = kUser;
    if (chance(4)) {
      o.wdata |= chance(50) ? (0x10u << r(3)) : (0x10000u << r(16));  // reserved bits
      feature("reserved_bits_write");
    }
    if (chance(6)) {
      o.wdata = CMM_FIELD_SET(o.wdata, CMM_CMD_HWKEY, 1u);  // a draw, or RESERVED_BITS with another op
      feature("hwkey_random_cmd");
    }
    if (!o.write || chance(3)) o.write = chance(10);  // mostly writes; a few reads of CMD
  } else if (c < 48) {
    // Kernel bank registers.
    static const uint32_t regs_[] = {CMM_PART_INFO_OFFSET,      CMM_KEY_OFFSET,           CMM_CMD_STATUS_OFFSET,
                                     CMM_IRQ_STATUS_OFFSET,     CMM_IRQ_ENABLE_OFFSET,    CMM_MGMT_TX_OFFSET,
                                     CMM_MGMT_DST_OFFSET,       CMM_MGMT_RX_STATUS_OFFSET, CMM_MGMT_RX_OFFSET,
                                     CMM_ERRLOG_STATUS_OFFSET,  CMM_ERRLOG_HEAD_OFFSET,   CMM_REJECT_COUNT_OFFSET,
                                     CMM_STAT_OFFSET,           CMM_ERRLOG_HEAD_REPEAT_OFFSET, CMM_EXC_COUNT_OFFSET,
                                     CMM_EXC_FIRST_OFFSET,      CMM_EXC_LAST_OFFSET,      CMM_ALARM_CFG_OFFSET,
                                     CMM_ALARM_CFG_OFFSET,      CMM_ALARM_COUNT_OFFSET,   CMM_KEY_OFFSET,
                                     CMM_KEYGEN_STATUS_OFFSET,  CMM_TABLE_FAULT_OFFSET};
    uint32_t a = regs_[r(sizeof regs_ / sizeof regs_[0])];
    if (a == CMM_KEY_OFFSET || a == CMM_MGMT_TX_OFFSET || a == CMM_MGMT_RX_OFFSET) a += 4 * r(4);
    if (a == CMM_REJECT_COUNT_OFFSET) a += 4 * r(CMM_REJECT_COUNT_COUNT);
    if (a == CMM_STAT_OFFSET) a += 4 * r(CMM_STAT_COUNT);
    if (chance(8)) a = 4 * r(CMM_CST_BASE / 4);  // anything below the CST window, mapped or not
    o.addr = a;
    o.kind = (a >= CMM_KEY_OFFSET && a < CMM_KEY_OFFSET + 16) ? OpKind::kKey : OpKind::kBank;
    if ((a == CMM_IRQ_STATUS_OFFSET || a == CMM_IRQ_ENABLE_OFFSET) && o.write)
      o.wdata = chance(80) ? (chance(50) ? CMM_IRQ_STATUS_WMASK : (1u << r(7))) : (1u << r(32));
    if (a == CMM_ALARM_CFG_OFFSET && o.write) {
      // Small windows and thresholds so that floods of rejects fire the alarm.
      uint32_t w = CMM_FIELD_SET(0u, CMM_ALARM_CFG_THRESH, chance(15) ? 0 : 1 + r(12));
      o.wdata = CMM_FIELD_SET(w, CMM_ALARM_CFG_WINDOW_LOG2, chance(80) ? r(12) : r(32));
      if (chance(10)) o.wdata |= 1u << (21 + r(11));
      feature("alarm_cfg_write");
      if (wide_ && (wide_rng_() & 3u) == 0) {  // a threshold above 15: alarms only under floods
        const uint32_t t = CMM_FIELD_GET(o.wdata, CMM_ALARM_CFG_THRESH);
        o.wdata = CMM_FIELD_SET(o.wdata, CMM_ALARM_CFG_THRESH,
                                t | (static_cast<uint32_t>(wide_rng_()) & CMM_ALARM_CFG_THRESH_MASK & ~0xFu));
        feature("wide_alarm_thresh");
      }
    }
    if (o.kind == OpKind::kKey && o.write) {
      o.pid = static_cast<uint16_t>(chance(70) ? r(4) : rng_());  // a second agent thread staging
      if (chance(20)) o.wdata = 0;
      feature("key_write_random_pid");
    }
    if (a == CMM_MGMT_DST_OFFSET && o.write && chance(70)) {
      uint32_t w = CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, chance(70) ? straps_.node_id : r(256));
      o.wdata = CMM_FIELD_SET(w, CMM_MGMT_DST_PART, r(10)) | (chance(20) ? 0xF0000000u : 0u);
    }
    if (o.kind == OpKind::kBank && o.write && a != CMM_ALARM_CFG_OFFSET && chance(60) &&
        !(wide_ && a >= CMM_MGMT_TX_OFFSET && a < CMM_MGMT_TX_OFFSET + CMM_MGMT_TX_COUNT * CMM_MGMT_TX_STRIDE))
      o.write = false;
    if (wide_ && o.priv == kKernel && (wide_rng_() & 3u) == 0) {
      // MGMT_TX words, written rarely otherwise: their stored bits of most partitions
      // never toggle. After every draw of rng_, whose stream stays that of the seed.
      o.addr = CMM_MGMT_TX_OFFSET + CMM_MGMT_TX_STRIDE * static_cast<uint32_t>(wide_rng_() % CMM_MGMT_TX_COUNT);
      o.kind = OpKind::kBank;
      o.write = true;
      feature("wide_mgmt_tx_write");
    }
  } else if (c < 62) {
    // CST window.
    int ep = pick_owned(part);
    if (ep < 0 || chance(25)) ep = static_cast<int>(r(ne_));
    ep = unguarded(ep);
    const uint32_t off = 4 * r(CMM_CST_STRIDE / 4);  // incl. CST_GEN, CST_SEQ and unmapped offsets
    o.addr = CMM_CST_BASE + static_cast<uint32_t>(ep) * CMM_CST_STRIDE + off;
    if (off == CMM_CST_GEN_OFFSET && chance(75)) {
      const EpShadow& s = ep_[static_cast<uint32_t>(ep)];
      o.wdata = CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, chance(50) ? s.rgen : r(256));
      if (chance(10)) o.wdata |= r(256);  // LOCAL is read-only: reserved bits
      if (o.write) feature("gen_write");
    }
    if ((off == CMM_CST_OWNER_OFFSET || off == CMM_CST_REMOTE_OFFSET) && chance(5)) o.wdata |= 0x80000000u;
    o.kind = OpKind::kCst;
    o.ep = ep;
    if (off == CMM_CST_REMOTE_OFFSET && chance(80)) {
      uint32_t w = CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, chance(60) ? straps_.node_id : r(256));
      w = CMM_FIELD_SET(w, CMM_CST_REMOTE_PART, chance(90) ? r(np_) : r(16));
      o.wdata = CMM_FIELD_SET(w, CMM_CST_REMOTE_EP, chance(90) ? r(ne_) : r(256));
    }
    if (off == CMM_CST_CTRL_OFFSET && chance(70)) o.wdata = r(2) | (chance(20) ? 0xFFFFFFF0u : 0u);
    // Endpoint bits 15:12 from the random word's own bits (no extra draw keeps
    // the stream, and so the measured coverage, of everything else): half the
    // writes a 4-bit value (mostly past the 16-entry table: BAD_FIELD), a
    // quarter 0, the rest with reserved bits.
    if (off == CMM_CST_REMOTE_HI_OFFSET)
      o.wdata = (o.wdata & 0x80u) ? (o.wdata & 0xFu) : (o.wdata & 0x100u) ? 0u : o.wdata;
    // The entry's own user thread: the owner view of a read, a refused write.
    const EpShadow& s = ep_[static_cast<uint32_t>(ep)];
    if (owner_view_ && s.owner >= 0 && chance(60)) {
      o.part = static_cast<uint8_t>(s.owner);
      o.priv = kUser;
      o.pid = chance(90) ? s.pid : static_cast<uint16_t>(s.pid ^ (1u << r(16)));
      feature(o.write ? "owner_view_cst_write" : "owner_view_cst_read");
    }
  } else if (c < 92) {
    // Endpoint page.
    int ep = any_ep;
    if (ep < 0 || chance(15)) ep = static_cast<int>(r(ne_));
    const uint32_t k = r(100);
    uint32_t off;
    bool wr;
    uint32_t wd = static_cast<uint32_t>(rng_());
    if (k < 30) {
      off = CMM_EP_DOORBELL_OFFSET;
      const int se = pick_keyed(static_cast<uint8_t>(Dir::kSend));
      if (se >= 0 && chance(70)) ep = se;
      wr = chance(95);
      const uint32_t lens[] = {0, 1, kMaxMsgBytes, kMaxMsgBytes + 1, 0xFFFF};
      uint32_t len = chance(85) ? 1 + r(kMaxMsgBytes) : lens[r(5)];
      if (wide_ && len >= 1 && len <= kMaxMsgBytes && (wide_rng_() & 3u) == 0) len = kMaxMsgBytes;
      wd = CMM_FIELD_SET(wd, CMM_EP_DOORBELL_LEN, len);
    } else if (k < 45) {
      off = CMM_EP_RX_POP_OFFSET;
      wr = chance(90);
    } else if (k < 70) {
      static const uint32_t rd[] = {CMM_EP_TX_STATUS_OFFSET, CMM_EP_TX_SENT_OFFSET, CMM_EP_RX_STATUS_OFFSET,
                                    CMM_EP_RX_TAG_OFFSET};
      off = rd[r(4)];
      wr = chance(10);
    } else if (k < 80) {
      off = CMM_TX_BUF_OFFSET + 4 * r(CMM_TX_BUF_BYTES / 4);
      wr = chance(85);
    } else if (k < 93) {
      off = CMM_RX_BUF_OFFSET + 4 * r(CMM_RX_BUF_BYTES / 4);
      wr = chance(10);
    } else {
      off = 4 * r(CMM_EP_STRIDE / 4);  // anything in the page
      wr = chance(50);
    }
    o = ep_op(ep, wr, off, wd);
    if (chance(10)) o.part = static_cast<uint8_t>(r(chance(80) ? np_ : 16));
    if (chance(8)) o.pid = static_cast<uint16_t>(rng_());
  } else if (c < 97) {
    o.addr = 4 * r((1u << kAddrBits) / 4);
    o.kind = OpKind::kRandom;
  } else {
    o.addr = (static_cast<uint32_t>(rng_()) & ((1u << kAddrBits) - 1u)) | (1 + r(3));
    o.kind = OpKind::kMisaligned;
  }
  return o;
}

void Stimulus::craft_ingress() {
  Header h;
  const uint32_t k = r(100);
  int e = k < 40 && chance(70) ? pick_keyed(static_cast<uint8_t>(Dir::kRecv)) : pick_any_owned();
  if (e < 0) e = pick_any_owned();
  if (e < 0 || chance(8)) e = static_cast<int>(r(ne_));
  e = unguarded(e);
  EpShadow& s = ep_[static_cast<uint32_t>(e)];
  h.dst_node = straps_.node_id;
  h.dst_part = s.owner >= 0 ? static_cast<uint8_t>(s.owner) : static_cast<uint8_t>(r(np_));
  h.dst_ep = static_cast<uint8_t>(e);
  h.src_node = s.rnode;
  h.src_part = s.rpart;
  h.src_ep = s.rep;
  h.tag = static_cast<uint16_t>(rng_());
  // As the peer entry would send: its epoch and ours, the channel key.
  h.src_gen = s.rgen;
  h.dst_gen = s.gen;
  h.key = s.key;
  if (k < 40) {
    h.opcode = op(Opcode::kData);
    h.len = static_cast<uint16_t>(1 + r(kMaxMsgBytes));
    if (wide_ && (wide_rng_() & 3u) == 0) h.len = static_cast<uint16_t>(kMaxMsgBytes);  // LEN's top bit
    h.seq = s.seq_out;
    const uint32_t m = r(100);
    if (m < 6) {
      h.seq = static_cast<uint16_t>(h.seq + 1 + r(3));  // messages dropped before it: SEQ_GAP
      feature("seq_drop");
    } else if (m < 12) {
      h.seq = static_cast<uint16_t>(h.seq - 1 - r(3));  // duplicate / replay: SEQ_OLD
      feature("seq_dup");
    } else if (m < 14) {
      h.seq = static_cast<uint16_t>(rng_());
      feature("seq_random");
    }
    if (static_cast<uint16_t>(h.seq - s.seq_out) < 0x8000u) s.seq_out = static_cast<uint16_t>(h.seq + 1);
  } else if (k < 55) {
    h.opcode = op(Opcode::kConnect);
    h.key = chance(80) ? rand_key() : s.key;  // same key: a duplicate CONNECT
  } else if (k < 63) {
    h.opcode = op(Opcode::kConnectAck);
  } else if (k < 78) {
    h.opcode = op(Opcode::kNack);
    static const Opcode aux[] = {Opcode::kData, Opcode::kData, Opcode::kConnect, Opcode::kClose, Opcode::kMgmt};
    h.aux = chance(90) ? op(aux[r(5)]) : static_cast<uint8_t>(rng_());
    h.reason = static_cast<uint8_t>(chance(90) ? r(kReasonCount) : r(256));
    h.seq = static_cast<uint16_t>(r(8));  // names a DATA: fresh or stale at the sender (nack_seq)
    if (chance(20)) {
      h.reason = static_cast<uint8_t>(Reason::kSeqGap);
      h.tag = static_cast<uint16_t>(1 + r(3));  // missing messages
    }
  } else if (k < 86) {
    h.opcode = op(Opcode::kClose);
  } else if (k < 96) {
    h.opcode = op(Opcode::kMgmt);
    h.dst_part = static_cast<uint8_t>(chance(85) ? r(np_) : r(16));
    h.src_node = static_cast<uint16_t>(rng_());
    h.src_part = static_cast<uint8_t>(r(16));
    h.key = rand_key();
  } else {
    static const uint8_t bad[] = {0, 7, 8, 11, 15};
    h.opcode = bad[r(5)];
  }
  // Forgeries and malformed fields.
  if (chance(30)) {
    switch (r(14)) {
      case 10: h.src_gen = static_cast<uint8_t>(h.src_gen + 1 + r(255)); feature("forged_src_gen"); break;
      case 11: h.dst_gen = static_cast<uint8_t>(h.dst_gen - 1); feature("stale_dst_gen"); break;  // an earlier epoch
      case 12: h.key = Key{}; feature("zero_key_packet"); break;
      case 13: h.key[r(kKeyWords)] ^= 1u << r(32); feature("forged_key"); break;
      case 0: h.dst_node = static_cast<uint16_t>(rng_()); break;
      case 1: h.dst_part = static_cast<uint8_t>(r(16)); break;
      case 2: h.src_node = static_cast<uint16_t>(rng_()); break;
      case 3: h.src_part = static_cast<uint8_t>(r(16)); break;
      case 4: h.src_ep = static_cast<uint8_t>(rng_()); break;
      case 5: h.key[r(kKeyWords)] ^= 1u << r(32); break;  // forged key: one bit off
      case 6: h.len = static_cast<uint16_t>(chance(50) ? 0 : kMaxMsgBytes + 1 + r(0xFFFF - kMaxMsgBytes)); break;
      case 7:  // out of range; half of them the first one past the table (off-by-one compares)
        h.dst_ep = static_cast<uint8_t>(chance(50) ? ne_ : ne_ + r(256 - ne_));
        if (h.dst_ep == ne_) feature("dst_ep_boundary");
        break;
      case 8: h.key = rand_key(); break;
      default: h.src_part = static_cast<uint8_t>(h.src_part | 0xF0); break;  // wider than the field
    }
  }
  if (ingq_.size() < kIngQueueMax) ingq_.push_back(h);
}

void Stimulus::next(const PinsOut& cur, PinsIn& in, bool& rst_n) {
  ++cycle_;
  if ((cycle_ & 2047) == 0) new_phase();
  in = PinsIn{};
  // cycle_i: the platform's free-running count; sometimes it jumps (idle time skipped).
  ++timebase_;
  if (r(3000) == 0) {
    timebase_ += chance(50) ? r(1u << 12) : static_cast<uint32_t>(rng_());
    feature("cycle_i_jump");
  }
  in.cycle = timebase_;
  rst_n = true;
  if (reset_left_ == 0 && r(40000) == 0 && !guarded(long_b_)) reset_left_ = 1 + static_cast<int>(r(3));
  if (reset_left_ > 0) {
    --reset_left_;
    rst_n = false;
    in.reg_req_valid = chance(50);  // ignored under reset
    in.ing_valid = chance(50);
    in.eg_ready = chance(50);
    return;
  }

  // Key generator seed: first cycle after every reset (sometimes all zero:
  // unseeded), rarely again (a reseed abandons the computation in flight).
  const bool seed_due = seed_next_ && seed_delay_ == 0;
  if (seed_next_ && seed_delay_ > 0) --seed_delay_;
  if (seed_due || r(6000) == 0) {
    in.entropy_valid = true;
    in.entropy = chance(seed_next_ ? 10 : 40) ? Key{} : rand_key();  // zero: unseeded (KEY_GEN_NOT_READY)
    feature(in.entropy == Key{} ? "entropy_zero" : "entropy_seed");
    seed_next_ = false;
  }
  // Table faults (an SEU after this edge's update): rare, mostly in live entries.
  if (storm_ ? r(30) == 0 : r(8000) == 0) {
    in.fault_valid = true;
    in.fault_table = static_cast<uint8_t>(r(2));
    const int e = storm_ && chance(85) ? storm_ep_ : pick_any_owned();
    in.fault_entry = static_cast<uint8_t>(e >= 0 && chance(70) ? e : static_cast<int>(r(ne_ + 4)));
    if (guarded(in.fault_entry)) in.fault_entry = static_cast<uint8_t>(ne_ + r(4));  // off the table
    if (storm_) feature("storm_fault");
    // The fault port's index space, protected bits then parity (it moves with the id widths).
    const uint32_t nbits = in.fault_table ? CmmCore::kCktProtBits + 1 : CmmCore::kCstProtBits + 1;
    in.fault_bit = static_cast<uint8_t>(chance(95) ? r(nbits) : r(256));
    feature(in.fault_table ? "fault_ckt" : "fault_cst");
    if (in.fault_entry < ne_ && in.fault_bit < nbits) {
      // The entry fails closed at the next edge: out of the shadow (it is
      // never allocated again), still hit by the untargeted traffic.
      ep_[in.fault_entry].owner = -1;
      ep_[in.fault_entry].faulted = true;
    }
  }
  // Counter preload (DV pin, set_preload_period): every counter 3 below its
  // cap, so saturation and wrap follow within a few events. No draw: the
  // random sequence is the one of the same seed without it.
  if (preload_period_ != 0 && cycle_ % preload_period_ == preload_period_ / 2) {
    in.dv_preload = true;
    feature("dv_preload");
    // Every rx_seq moves back by the margin at that edge: so does the peer's
    // (ours) next seq. DATA already in the ingress queue then arrive ahead.
    for (auto& s : ep_) s.seq_out = static_cast<uint16_t>(s.seq_out - regs::kDvPreloadMargin);
  }

  // Long-lived channel: flood once the send entry holds the key (it answered the CONNECT).
  if (long_ == Long::kConnect) {
    if (ep_[static_cast<uint32_t>(long_b_)].key_valid) {
      long_ = Long::kFlood;
      p_reg_ = 100;
      p_eg_ready_ = 100;
      feature("long_channel_open");
    } else if (cycle_ - long_t0_ > 4096) {
      long_ = Long::kArm;  // the CONNECT got lost: another script
      long_a_ = long_b_ = -1;
      feature("long_channel_retry");
    }
  }
  // Register port: hold a request until it is accepted (valid/ready protocol).
  if (!reg_pending_ && kg_probe_) {
    kg_probe_ = false;
    reg_ = RegOp{};
    reg_.addr = CMM_KEYGEN_STATUS_OFFSET;
    reg_.part = static_cast<uint8_t>(r(np_));
    reg_.priv = kKernel;
    reg_.kind = OpKind::kBank;
    reg_pending_ = true;
    feature("keygen_probe_after_reset");
  }
  if (!reg_pending_) {
    if (long_ == Long::kFlood && hazard_ep_ < 0 && !script_active_ && chance(85)) {
      reg_ = long_op();
      reg_pending_ = true;
    } else if (hazard_ep_ >= 0) {
      reg_ = hazard_op(hazard_ep_, hazard_opc_);
      reg_pending_ = true;
    } else if (script_active_) {
      RegOp o;
      if (script_op(o)) {
        reg_ = o;
        reg_pending_ = true;
      } else if (!script_active_) {
        // done
      } else if (chance(p_reg_ / 2)) {
        reg_ = random_op();
        reg_pending_ = true;
      }
    } else if (chance(p_reg_)) {
      if (chance(p_script_)) {
        script_ = Script{};
        script_.pa = static_cast<uint8_t>(r(np_));
        script_.pb = static_cast<uint8_t>(r(np_));
        script_.rnode = chance(90) ? straps_.node_id : static_cast<uint16_t>(rng_());
        script_.pida = static_cast<uint16_t>(r(8));
        script_.pidb = static_cast<uint16_t>(r(8));
        script_.key = rand_key();
        script_.key_pid = static_cast<uint16_t>(r(4));
        script_.set_key_first = chance(25);
        script_.hwkey = chance(35);
        if (script_.hwkey) feature("hwkey_script");
        if (long_ == Long::kArm) {
          script_.long_pair = true;  // a clean loopback pair, guarded from its ALLOCs on
          script_.rnode = straps_.node_id;
        }
        if (chance(3) && !script_.long_pair) {
          script_.key = Key{};
          feature("script_zero_key");
        }
        if (chance(3) && !script_.long_pair) {
          script_.skip_word = static_cast<int>(r(kKeyWords));
          feature("script_incomplete_key");
        }
        script_active_ = true;
        RegOp o;
        if (script_op(o)) {
          reg_ = o;
          reg_pending_ = true;
        }
      } else {
        reg_ = random_op();
        reg_pending_ = true;
      }
    }
  }
  hazard_ep_ = -1;
  if (reg_pending_) {
    in.reg_req_valid = true;
    in.reg_req_write = reg_.write;
    in.reg_req_addr = reg_.addr;
    in.reg_req_wdata = reg_.wdata;
    in.reg_req_part = reg_.part;
    in.reg_req_priv = reg_.priv;
    in.reg_req_pid = reg_.pid;
  }

  // Ingress: loopback and crafted headers.
  if (long_ == Long::kFlood && r(40) == 0) craft_long_nack();
  if (chance(p_ing_)) craft_ingress();
  if (!ing_pending_ && !ingq_.empty()) {
    ing_ = ingq_.front();
    ingq_.pop_front();
    ing_pending_ = true;
  }
  if (ing_pending_) {
    in.ing_valid = true;
    in.ing_hdr = ing_;
  }
  in.eg_ready = chance(p_eg_ready_);
  if (wide_) widen(in);
  (void)cur;
}

void Stimulus::apply_response(const RegOp& o, uint8_t status, uint32_t rdata) {
  const bool ok = status == static_cast<uint8_t>(Rsp::kOk);
  if (o.script && script_active_ && script_.waiting) {
    script_.waiting = false;
    if (!ok) {
      script_active_ = false;
      if (script_.long_pair && long_ == Long::kArm) long_a_ = long_b_ = -1;  // another script
    } else {
      ++script_.step;
    }
  }
  if (o.kind == OpKind::kCmd && o.write && o.part < np_ && (o.addr & 3u) == 0) {
    const uint32_t cmd = CMM_FIELD_GET(o.wdata, CMM_CMD_OP);
    const uint32_t e = CMM_FIELD_GET(o.wdata, CMM_CMD_EP);
    cov_.cmd[cmd][status & 3u]++;
    if (status == static_cast<uint8_t>(Rsp::kDenied)) return;  // user privilege: not executed
    const Key staged = staged_[o.part];
    staged_[o.part] = Key{};
    if (!ok) return;
    if (cmd == cmdv(Cmd::kAlloc)) {
      for (uint32_t i = 0; i < ne_; ++i)
        if (ep_[i].owner < 0 && !ep_[i].faulted) {
          const uint8_t g = ep_[i].gen;
          ep_[i] = EpShadow{};
          ep_[i].owner = o.part;
          ep_[i].gen = static_cast<uint8_t>(g + 1);  // a new epoch
          if (o.script && script_active_ && script_.step == 1) script_.ea = static_cast<int>(i);
          if (o.script && script_active_ && script_.step == 2) script_.eb = static_cast<int>(i);
          if (o.script && script_active_ && script_.long_pair && long_ == Long::kArm) {
            long_a_ = script_.ea;
            long_b_ = script_.eb;
          }
          break;
        }
      return;
    }
    if (e >= ne_) return;
    EpShadow& s = ep_[e];
    if (cmd == cmdv(Cmd::kFree)) {
      const uint8_t g = s.gen;  // the epoch survives FREE
      s = EpShadow{};
      s.gen = g;
    }
    if (cmd == cmdv(Cmd::kClose)) {
      s.key_valid = false;
      s.gen = static_cast<uint8_t>(s.gen + 1);
    }
    if ((cmd == cmdv(Cmd::kSetKey) || cmd == cmdv(Cmd::kConnect)) && !s.key_valid) {
      s.key = CMM_FIELD_GET(o.wdata, CMM_CMD_HWKEY) ? Key{} : staged;  // hardware key: seen in the CONNECT
      s.key_valid = true;
      if (CMM_FIELD_GET(o.wdata, CMM_CMD_HWKEY)) feature("hwkey_drawn");
    }
    if (cmd == cmdv(Cmd::kConnect)) s.seq_out = 0;  // rx_seq restarts when the entry enters CONNECTING
    if (cmd == cmdv(Cmd::kExcClear)) feature("exc_clear");
    return;
  }
  if (!ok) return;
  if (o.kind == OpKind::kDoorbell && o.write && o.ep == long_b_ && long_ == Long::kFlood &&
      ++long_sent_ >= kLongData) {
    long_ = Long::kDone;  // unguarded: the random traffic closes it some day
    feature("long_channel_done");
  }
  // Seen at the pins: the new state registers hold something.
  if (!o.write && rdata != 0) {
    if (o.addr == CMM_ALARM_COUNT_OFFSET) feature("read_alarm_count_nonzero");
    if (o.addr == CMM_EXC_COUNT_OFFSET) feature("read_exc_count_nonzero");
    if (o.addr == CMM_ERRLOG_HEAD_REPEAT_OFFSET) feature("read_errlog_repeat_nonzero");
    if (o.addr == CMM_ERRLOG_HEAD_OFFSET && CMM_FIELD_GET(rdata, CMM_ERRLOG_HEAD_EXCEPTION))
      feature("read_errlog_head_exception");
    if (o.addr == CMM_KEYGEN_STATUS_OFFSET && CMM_FIELD_GET(rdata, CMM_KEYGEN_STATUS_READY))
      feature("read_keygen_ready");
    if (o.addr == CMM_TABLE_FAULT_OFFSET) feature("read_table_fault_nonzero");
    if (o.kind == OpKind::kCst && (o.addr - CMM_CST_BASE) % CMM_CST_STRIDE == CMM_CST_SEQ_OFFSET)
      feature("read_cst_seq_nonzero");
    if (o.kind == OpKind::kCst && (o.addr - CMM_CST_BASE) % CMM_CST_STRIDE == CMM_CST_LOST_OFFSET)
      feature("read_cst_lost_nonzero");
  }
  if (o.kind == OpKind::kKey && o.write && o.part < np_)
    staged_[o.part][(o.addr - CMM_KEY_OFFSET) / CMM_KEY_STRIDE] = o.wdata;
  if (o.kind == OpKind::kCst && !o.write && o.ep >= 0 &&
      (o.addr - CMM_CST_BASE) % CMM_CST_STRIDE == CMM_CST_GEN_OFFSET) {
    EpShadow& s = ep_[static_cast<uint32_t>(o.ep)];
    s.gen = static_cast<uint8_t>(CMM_FIELD_GET(rdata, CMM_CST_GEN_LOCAL));
    s.rgen = static_cast<uint8_t>(CMM_FIELD_GET(rdata, CMM_CST_GEN_REMOTE));
    if (o.script && script_.ea == o.ep) script_.ga = s.gen;
    if (o.script && script_.eb == o.ep) script_.gb = s.gen;
  }
  if (o.kind == OpKind::kCst && o.write && o.ep >= 0) {
    EpShadow& s = ep_[static_cast<uint32_t>(o.ep)];
    const uint32_t off = (o.addr - CMM_CST_BASE) % CMM_CST_STRIDE;
    if (off == CMM_CST_GEN_OFFSET) s.rgen = static_cast<uint8_t>(CMM_FIELD_GET(o.wdata, CMM_CST_GEN_REMOTE));
    if (off == CMM_CST_CTRL_OFFSET) s.dir = static_cast<uint8_t>(CMM_FIELD_GET(o.wdata, CMM_CST_CTRL_DIR));
    if (off == CMM_CST_OWNER_OFFSET) s.pid = static_cast<uint16_t>(CMM_FIELD_GET(o.wdata, CMM_CST_OWNER_PID));
    if (off == CMM_CST_REMOTE_OFFSET) {
      s.rnode = static_cast<uint16_t>(CMM_FIELD_GET(o.wdata, CMM_CST_REMOTE_NODE));
      s.rpart = static_cast<uint8_t>(CMM_FIELD_GET(o.wdata, CMM_CST_REMOTE_PART));
      s.rep = static_cast<uint8_t>(CMM_FIELD_GET(o.wdata, CMM_CST_REMOTE_EP));
    }
  }
}

void Stimulus::on_ingress(const Header& h) {
  if (h.opcode == op(Opcode::kConnect) && h.dst_ep < ne_) ep_[h.dst_ep].pending_key = h.key;
}

void Stimulus::on_egress(const Header& h) {
  // A CONNECT leaving carries the receive entry's key (also a hardware key).
  if (h.opcode == op(Opcode::kConnect) && h.src_node == straps_.node_id && h.src_ep < ne_ &&
      ep_[h.src_ep].owner >= 0) {
    ep_[h.src_ep].key = h.key;
    ep_[h.src_ep].key_valid = true;
  }
  // A CONNECT_ACK leaving means our send entry stored the key of the CONNECT.
  if (h.opcode == op(Opcode::kConnectAck) && h.src_ep < ne_) {
    EpShadow& s = ep_[h.src_ep];
    s.key = s.pending_key;
    s.key_valid = true;
  }
  if (h.dst_node == straps_.node_id) {
    // Loopback through a faulty fabric: lost, duplicated, reordered.
    if (h.opcode == op(Opcode::kData) && h.dst_ep < ne_)
      ep_[h.dst_ep].seq_out = static_cast<uint16_t>(h.seq + 1);
    if (guarded(h.src_ep) && guarded(h.dst_ep)) {
      // The long-lived channel: its setup and NACKs arrive; 7 of 8 flood DATA are lost.
      if (h.opcode == op(Opcode::kData) && r(8) != 0) {
        feature("long_fabric_loss");
        return;
      }
      if (h.opcode != op(Opcode::kData)) {
        if (ingq_.size() < kIngQueueMax) ingq_.push_back(h);
        return;
      }
    }
    const uint32_t f = r(100);
    if (f < 6 || ingq_.size() >= kIngQueueMax) {
      if (f < 6) feature("loopback_drop");
      return;
    }
    ingq_.push_back(h);
    if (f < 10 && ingq_.size() < kIngQueueMax) {
      ingq_.push_back(h);
      feature("loopback_dup");
    } else if (f < 14 && ingq_.size() >= 2) {
      std::swap(ingq_[ingq_.size() - 1], ingq_[ingq_.size() - 2]);
      feature("loopback_reorder");
    }
    return;
  }
  // Another node: answer as its CMM would (sometimes).
  if (!chance(60) || ingq_.size() >= kIngQueueMax) return;
  Header a;
  a.src_node = h.dst_node;
  a.src_part = h.dst_part;
  a.src_ep = h.dst_ep;
  a.dst_node = h.src_node;
  a.dst_part = h.src_part;
  a.dst_ep = h.src_ep;
  a.tag = h.tag;
  // The peer's CMM proves the key and echoes the generations swapped (sometimes wrong).
  a.src_gen = h.dst_gen;
  a.dst_gen = h.src_gen;
  a.key = h.key;
  if (chance(10)) {
    if (chance(50)) a.key[r(kKeyWords)] ^= 1u << r(32);
    else a.dst_gen = static_cast<uint8_t>(a.dst_gen + 1);
    feature("forged_response");
  }
  if (h.opcode == op(Opcode::kConnect)) {
    a.opcode = chance(75) ? op(Opcode::kConnectAck) : op(Opcode::kNack);
    a.seq = chance(90) ? h.seq : static_cast<uint16_t>(r(4));  // the attempt answered (sometimes a stale one)
  } else if (h.opcode == op(Opcode::kData) || h.opcode == op(Opcode::kClose) || h.opcode == op(Opcode::kMgmt)) {
    if (chance(70)) return;
    a.opcode = op(Opcode::kNack);
  } else {
    return;
  }
  if (a.opcode == op(Opcode::kNack)) {
    a.aux = h.opcode;
    a.reason = static_cast<uint8_t>(r(kReasonCount));
    if (h.opcode == op(Opcode::kData)) a.seq = h.seq;  // names the DATA
    if (h.opcode == op(Opcode::kData) && chance(20)) {
      a.reason = static_cast<uint8_t>(Reason::kSeqGap);
      a.tag = static_cast<uint16_t>(1 + r(3));  // missing messages
    }
  }
  ingq_.push_back(a);
}

void Stimulus::observe(const PinsIn& in, bool rst_n, const PinsOut& before, const PinsOut& after) {
  if (!rst_n) {
    if (reset_left_ == 0) ++cov_.resets;
    clear_shadow();
    return;
  }
  const bool reg_fire = in.reg_req_valid && before.reg_req_ready;
  const bool ing_fire = in.ing_valid && before.ing_ready;
  const bool eg_fire = before.eg_valid && in.eg_ready;
  // Same-edge hazard: S1 commits at this edge while a register access on its entry executes.
  if (reg_fire && s1_valid_ && reg_.ep >= 0 && reg_.ep == s1_.dst_ep) {
    const uint32_t c = CMM_FIELD_GET(reg_.wdata, CMM_CMD_OP);
    std::string key = (s1_.opcode >= 1 && s1_.opcode < kOpcodeCount ? std::string(opcode_name(s1_.opcode)) : "BAD_OPCODE") +
                      "+" + op_kind_name(reg_.kind);
    if (reg_.kind == OpKind::kCmd) key += ":" + (c < kCmdCount ? std::string(cmd_name(c)) : "BAD_CMD");
    cov_.hazards[key]++;
  }
  if (reg_fire) {
    reg_pending_ = false;
    if (after.reg_rsp_valid) apply_response(reg_, after.reg_rsp_status, after.reg_rsp_rdata);
  }
  s1_valid_ = ing_fire;
  if (ing_fire) {
    s1_ = ing_;
    ing_pending_ = false;
    on_ingress(ing_);
    if (ing_.dst_ep < ne_ && !reg_pending_ && !guarded(ing_.dst_ep) && chance(30)) {
      hazard_ep_ = ing_.dst_ep;
      hazard_opc_ = ing_.opcode;
    }
  }
  if (eg_fire) {
    Header h = before.eg_hdr;
    h.src_node = wide_node(h.src_node);  // its own inverse; identity without wide-value mode
    h.dst_node = wide_node(h.dst_node);
    on_egress(h);
  }
}

}  // namespace cmm::dv
