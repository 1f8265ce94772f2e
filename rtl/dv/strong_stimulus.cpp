#include "strong_stimulus.h"

#include "cmm_core.h"

#include <sstream>
#include <utility>

namespace cmm::dv {

using namespace regs;

namespace {
constexpr uint8_t kKernel = static_cast<uint8_t>(Priv::kKernel);
constexpr uint8_t kUser = static_cast<uint8_t>(Priv::kUser);
constexpr uint8_t kStrongBit = 1u << kStrongAuxBit;
constexpr uint32_t kIngQueueMax = 12;
constexpr uint32_t kResetPeriod = 15000;  // a reset now and then recovers FAULT entries and lost channels

uint32_t cst_off(int ep, uint32_t off) { return CMM_CST_BASE + static_cast<uint32_t>(ep) * CMM_CST_STRIDE + off; }
uint32_t ep_off(int ep, uint32_t off) { return CMM_EP_BASE + static_cast<uint32_t>(ep) * CMM_EP_STRIDE + off; }
bool strong_hdr(const Header& h) {
  return (h.aux & kStrongBit) != 0 && h.opcode >= static_cast<uint8_t>(Opcode::kData) &&
         h.opcode <= static_cast<uint8_t>(Opcode::kClose);
}
}  // namespace

std::string StrongStimCounts::str() const {
  std::ostringstream o;
  o << "link SETs " << link_sets << ", channel scripts " << channels << ", doorbells " << doorbells
    << ", TX streams " << tx_streams << ", RX streams " << rx_streams << ", looped back " << looped
    << "; noise: tampered " << tampered << ", replayed " << replayed << ", STRONG stripped " << stripped
    << ", dropped " << dropped << ", FIRMWARE-rule probes " << fw_probes << ", MODE flips " << mode_flips
    << ", resets " << resets;
  return o.str();
}

StrongStimulus::StrongStimulus(uint64_t seed, const Straps& straps) : rng_(seed * 0x9E3779B97F4A7C15ull + 7), straps_(straps) {
  clear();
}

void StrongStimulus::clear() {
  script_.clear();
  op_valid_ = false;
  chan_ = false;
  ea_ = eb_ = -1;
  tx_pay_.clear();
  tx_sent_.clear();
  rx_pay_.clear();
  rx_active_ = false;
  ingq_.clear();
  seen_.clear();
}

StrongStimulus::Op StrongStimulus::kernel(uint8_t part, bool write, uint32_t addr, uint32_t wdata) {
  Op o;
  o.write = write;
  o.addr = addr;
  o.wdata = wdata;
  o.part = part;
  o.priv = kKernel;
  o.pid = static_cast<uint16_t>(100 + part);
  return o;
}

StrongStimulus::Op StrongStimulus::cmd(uint8_t part, uint32_t op, uint32_t ep) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CMD_OP, op);
  w = CMM_FIELD_SET(w, CMM_CMD_EP, ep);
  return kernel(part, true, CMM_CMD_OFFSET, w);
}

StrongStimulus::Op StrongStimulus::cst(uint8_t part, int ep, uint32_t off, uint32_t wdata, bool write) {
  return kernel(part, write, cst_off(ep, off), wdata);
}

StrongStimulus::Op StrongStimulus::fw(bool write, uint32_t addr, uint32_t wdata) {
  Op o;
  o.write = write;
  o.fw = true;
  o.addr = addr;
  o.wdata = wdata;
  o.part = 0;  // the node bus stamps part 0, USER, pid 0 on the management port
  o.priv = kUser;
  return o;
}

// Provision the link key of the own node (sometimes re-provisioned), then a
// receive entry and a send entry of this node, both STRONG, and CONNECT.
void StrongStimulus::plan_channel() {
  const uint32_t me = straps_.node_id;
  for (uint32_t w = 0; w < kKeyWords; ++w)
    push_script(fw(true, CMM_LINK_KEY_OFFSET + w * CMM_LINK_KEY_STRIDE, static_cast<uint32_t>(rng_()) | 1u));
  uint32_t lc = 0;
  // Now and then CLEAR instead: the CONNECT below is refused NO_LINK_KEY.
  lc = CMM_FIELD_SET(lc, CMM_LINK_CMD_OP, static_cast<uint32_t>(chance(8) ? LinkOp::kClear : LinkOp::kSet));
  lc = CMM_FIELD_SET(lc, CMM_LINK_CMD_NODE, me);
  push_script(fw(true, CMM_LINK_CMD_OFFSET, lc));
  std::vector<uint8_t> parts;
  for (uint32_t p = 0; p < kNumPartitions; ++p)
    if (straps_.quota[p] > 0) parts.push_back(static_cast<uint8_t>(p));
  if (parts.empty()) return;
  pa_ = parts[r(static_cast<uint32_t>(parts.size()))];
  pb_ = parts[r(static_cast<uint32_t>(parts.size()))];
  pida_ = static_cast<uint16_t>(1 + r(1000));
  pidb_ = static_cast<uint16_t>(1 + r(1000));
  ea_ = eb_ = -1;
  Op a = cmd(pa_, static_cast<uint32_t>(Cmd::kAlloc), 0);
  push_script(a);
  Op sa = kernel(pa_, false, CMM_CMD_STATUS_OFFSET, 0);
  sa.learn = 1;
  push_script(sa);
  push_script(cmd(pb_, static_cast<uint32_t>(Cmd::kAlloc), 0));
  Op sb = kernel(pb_, false, CMM_CMD_STATUS_OFFSET, 0);
  sb.learn = 2;
  push_script(sb);
  // The remaining steps need ea/eb: built when both are learned (on_response).
}

StrongStimulus::Op StrongStimulus::doorbell() {
  // Mostly short messages; now and then up to the maximum (64 beats).
  const uint32_t len = chance(85) ? 1 + r(64) : 1 + r(kMaxMsgBytes);
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_EP_DOORBELL_LEN, chance(3) ? 0u : len);  // len 0: BAD_LEN
  w = CMM_FIELD_SET(w, CMM_EP_DOORBELL_TAG, r(0x10000));
  Op o = kernel(pb_, true, ep_off(eb_, CMM_EP_DOORBELL_OFFSET), w);
  if (chance(50)) {
    o.priv = kUser;  // the owner process
    o.pid = pidb_;
  }
  o.payload.resize(len);
  for (auto& b : o.payload) b = static_cast<uint8_t>(rng_());
  return o;
}

StrongStimulus::Op StrongStimulus::random_op() {
  const uint32_t me = straps_.node_id;
  const uint32_t c = r(100);
  if (chan_ && c < 45) return doorbell();
  if (chan_ && c < 70) {
    Op o = kernel(pa_, true, ep_off(ea_, CMM_EP_RX_POP_OFFSET), 1);
    return o;
  }
  if (c < 76) {
    // FIRMWARE access rule: the management port on other registers, a kernel
    // or user on LINK_*; LINK_STATUS reads; LINK_CMD with odd operands.
    ++n_.fw_probes;
    static const uint32_t addrs[] = {CMM_LINK_KEY_OFFSET, CMM_LINK_CMD_OFFSET, CMM_LINK_STATUS_OFFSET,
                                     CMM_ID_OFFSET, CMM_CMD_OFFSET, CMM_CMD_STATUS_OFFSET, 0x7FCu, 0x081u};
    const uint32_t a = addrs[r(8)];
    if (chance(60)) {
      Op o = fw(chance(50), a, static_cast<uint32_t>(rng_()));
      if (a == CMM_LINK_CMD_OFFSET) {
        uint32_t lc = 0;
        lc = CMM_FIELD_SET(lc, CMM_LINK_CMD_OP, r(4));
        lc = CMM_FIELD_SET(lc, CMM_LINK_CMD_NODE, chance(50) ? me : r(256));
        o.wdata = chance(10) ? lc | 0x10000u : lc;
        // Never clear or overwrite the own link key behind an open channel
        // too often: a CLEAR makes the next CONNECT NO_LINK_KEY.
        if (chan_ && CMM_FIELD_GET(lc, CMM_LINK_CMD_NODE) == me && !chance(20)) o.write = false;
      }
      return o;
    }
    Op o = kernel(static_cast<uint8_t>(r(kNumPartitions)), chance(50), a, static_cast<uint32_t>(rng_()));
    if (chance(40)) o.priv = kUser;
    return o;
  }
  if (c < 80) {
    // MODE (and DIR) written on a random entry of a random partition.
    const int ep = static_cast<int>(r(kNumEndpoints));
    return cst(static_cast<uint8_t>(r(kNumPartitions)), ep, CMM_CST_CTRL_OFFSET, r(4));
  }
  if (chan_ && c < 83) return cmd(pa_, static_cast<uint32_t>(Cmd::kConnect), static_cast<uint32_t>(ea_));  // re-send
  if (chan_ && c < 85) {
    // Close one end (the CLOSE is sealed), free both: a new script follows.
    const bool a = chance(50);
    script_.push_back(cmd(a ? pa_ : pb_, static_cast<uint32_t>(Cmd::kClose), static_cast<uint32_t>(a ? ea_ : eb_)));
    script_.push_back(cmd(pa_, static_cast<uint32_t>(Cmd::kClose), static_cast<uint32_t>(ea_)));
    script_.push_back(cmd(pb_, static_cast<uint32_t>(Cmd::kClose), static_cast<uint32_t>(eb_)));
    script_.push_back(cmd(pa_, static_cast<uint32_t>(Cmd::kFree), static_cast<uint32_t>(ea_)));
    script_.push_back(cmd(pb_, static_cast<uint32_t>(Cmd::kFree), static_cast<uint32_t>(eb_)));
    chan_ = false;
    return cst(pa_, ea_, CMM_CST_CTRL_OFFSET, 0, false);
  }
  if (c < 87) {
    // Status reads of the channel and the counters of the strong reasons.
    const uint32_t rsn = CMM_REJECT_COUNT_OFFSET + 4u * (static_cast<uint32_t>(Reason::kModeMismatch) + r(4));
    return kernel(static_cast<uint8_t>(r(kNumPartitions)), false, chance(50) ? rsn : CMM_ERRLOG_HEAD_OFFSET, 0);
  }
  if (c < 92 && chan_) return cst(pb_, eb_, chance(50) ? CMM_CST_SEQ_OFFSET : CMM_CST_CTRL_OFFSET, 0, false);
  if (c < 96) return cmd(static_cast<uint8_t>(r(kNumPartitions)), static_cast<uint32_t>(Cmd::kErrlogPop), 0);
  if (!chan_ && script_.empty()) {
    plan_channel();
    ++n_.channels;
  }
  return kernel(0, false, CMM_ID_OFFSET, 0);
}

void StrongStimulus::on_response(const Op& o, uint8_t status, uint32_t rdata) {
  const bool ok = status == static_cast<uint8_t>(Rsp::kOk);
  if (o.script && !ok) {
    // A refused step (quota, no free entry, ...): abandon the script and
    // give back what it allocated (the quotas are small).
    script_.clear();
    if (o.learn != 1 && ea_ >= 0) script_.push_back(cmd(pa_, static_cast<uint32_t>(Cmd::kFree), static_cast<uint32_t>(ea_)));
    if (o.learn != 2 && eb_ >= 0) script_.push_back(cmd(pb_, static_cast<uint32_t>(Cmd::kFree), static_cast<uint32_t>(eb_)));
    ea_ = eb_ = -1;
    return;
  }
  if (o.fw && o.write && o.addr == CMM_LINK_CMD_OFFSET && ok &&
      CMM_FIELD_GET(o.wdata, CMM_LINK_CMD_OP) == static_cast<uint32_t>(LinkOp::kSet))
    ++n_.link_sets;
  if (o.learn == 1) ea_ = static_cast<int>(CMM_FIELD_GET(rdata, CMM_CMD_STATUS_EP));
  if (o.learn == 2) {
    eb_ = static_cast<int>(CMM_FIELD_GET(rdata, CMM_CMD_STATUS_EP));
    if (ea_ < 0 || ea_ >= static_cast<int>(kNumEndpoints) || eb_ >= static_cast<int>(kNumEndpoints) || ea_ == eb_) {
      script_.clear();
      return;
    }
    const uint32_t me = straps_.node_id;
    const uint32_t mode = chance(90) ? 1u : 0u;  // now and then a MODE mismatch between the ends
    uint32_t ca = 0, cb = 0, ra = 0, rb = 0;
    ca = CMM_FIELD_SET(ca, CMM_CST_CTRL_DIR, static_cast<uint32_t>(Dir::kRecv));
    ca = CMM_FIELD_SET(ca, CMM_CST_CTRL_MODE, 1u);
    cb = CMM_FIELD_SET(cb, CMM_CST_CTRL_DIR, static_cast<uint32_t>(Dir::kSend));
    cb = CMM_FIELD_SET(cb, CMM_CST_CTRL_MODE, mode);
    ra = CMM_FIELD_SET(ra, CMM_CST_REMOTE_NODE, me);
    ra = CMM_FIELD_SET(ra, CMM_CST_REMOTE_PART, pb_);
    ra = CMM_FIELD_SET(ra, CMM_CST_REMOTE_EP, static_cast<uint32_t>(eb_));
    rb = CMM_FIELD_SET(rb, CMM_CST_REMOTE_NODE, me);
    rb = CMM_FIELD_SET(rb, CMM_CST_REMOTE_PART, pa_);
    rb = CMM_FIELD_SET(rb, CMM_CST_REMOTE_EP, static_cast<uint32_t>(ea_));
    push_script(cst(pa_, ea_, CMM_CST_CTRL_OFFSET, ca));
    push_script(cst(pa_, ea_, CMM_CST_OWNER_OFFSET, pida_));
    push_script(cst(pa_, ea_, CMM_CST_REMOTE_OFFSET, ra));
    push_script(cst(pb_, eb_, CMM_CST_CTRL_OFFSET, cb));
    push_script(cst(pb_, eb_, CMM_CST_OWNER_OFFSET, pidb_));
    push_script(cst(pb_, eb_, CMM_CST_REMOTE_OFFSET, rb));
    Op g1 = cst(pa_, ea_, CMM_CST_GEN_OFFSET, 0, false);
    g1.learn = 3;
    push_script(g1);
    Op g2 = cst(pb_, eb_, CMM_CST_GEN_OFFSET, 0, false);
    g2.learn = 4;
    push_script(g2);
  }
  if (o.learn == 3) ga_ = static_cast<uint8_t>(CMM_FIELD_GET(rdata, CMM_CST_GEN_LOCAL));
  if (o.learn == 4) {
    gb_ = static_cast<uint8_t>(CMM_FIELD_GET(rdata, CMM_CST_GEN_LOCAL));
    uint32_t wa = 0, wb = 0;
    wa = CMM_FIELD_SET(wa, CMM_CST_GEN_REMOTE, gb_);
    wb = CMM_FIELD_SET(wb, CMM_CST_GEN_REMOTE, ga_);
    push_script(cst(pa_, ea_, CMM_CST_GEN_OFFSET, wa));
    push_script(cst(pb_, eb_, CMM_CST_GEN_OFFSET, wb));
    push_script(cmd(pb_, static_cast<uint32_t>(Cmd::kAuthorize), static_cast<uint32_t>(eb_)));
    push_script(cmd(pa_, static_cast<uint32_t>(Cmd::kAuthorize), static_cast<uint32_t>(ea_)));
    for (uint32_t w = 0; w < kKeyWords; ++w)
      push_script(kernel(pa_, true, CMM_KEY_OFFSET + w * CMM_KEY_STRIDE, static_cast<uint32_t>(rng_()) | 1u));
    Op c = cmd(pa_, static_cast<uint32_t>(Cmd::kConnect), static_cast<uint32_t>(ea_));
    c.learn = 5;
    push_script(c);
  }
  if (o.learn == 5) chan_ = true;  // the CONNECT left; the loop-back opens the channel
}

void StrongStimulus::loop_back(const Header& h, std::vector<uint8_t> pay) {
  if (ingq_.size() >= kIngQueueMax) return;
  Pkt p{h, std::move(pay)};
  ++n_.looped;
  const uint32_t c = r(100);
  if (c < 2) {
    ++n_.dropped;
    return;
  }
  if (c < 5 && !p.pay.empty()) {
    p.pay[r(static_cast<uint32_t>(p.pay.size()))] ^= static_cast<uint8_t>(1u << r(8));
    ++n_.tampered;
  } else if (c < 7) {
    p.h.key[r(kKeyWords)] ^= 1u << r(32);  // the tag
    ++n_.tampered;
  } else if (c < 9) {
    p.h.aux = static_cast<uint8_t>(p.h.aux ^ kStrongBit);
    ++n_.stripped;
  } else if (c < 10) {
    p.h.seq = static_cast<uint16_t>(p.h.seq + 1u + r(3));
    ++n_.tampered;
  }
  ingq_.push_back(p);
  if (chance(3) && ingq_.size() < kIngQueueMax) {
    ingq_.push_back(p);  // duplicate: a replay of a packet with a valid tag
    ++n_.replayed;
  }
  if (strong_hdr(h)) {
    if (seen_.size() < 16) seen_.push_back(Pkt{h, p.pay});
    else seen_[r(16)] = Pkt{h, p.pay};
  }
}

void StrongStimulus::next(const PinsOut& cur, PinsIn& in, bool& rst_n) {
  ++cycle_;
  timebase_ += 1 + (chance(1) ? r(5000) : 0);
  in = PinsIn{};
  in.cycle = timebase_;
  rst_n = true;
  if (reset_left_ == 0 && cycle_ % kResetPeriod == 0) {
    reset_left_ = 2;
    ++n_.resets;
  }
  if (reset_left_ > 0) {
    --reset_left_;
    rst_n = false;
    clear();
    return;
  }
  if (cycle_ % 2000 == 0) {
    static const uint32_t eg[] = {100, 90, 60, 20};
    static const uint32_t bt[] = {100, 85, 50};
    static const uint32_t ig[] = {100, 80, 30};
    p_eg_ready_ = eg[r(4)];
    p_beat_ = bt[r(3)];
    p_ing_ = ig[r(3)];
  }
  // Register port: keep the current request until it is taken.
  if (!op_valid_ && chance(60)) {
    if (!script_.empty()) {
      op_ = script_.front();
      script_.pop_front();
    } else {
      op_ = random_op();
    }
    op_valid_ = true;
  }
  if (op_valid_) {
    in.reg_req_valid = true;
    in.reg_req_write = op_.write;
    in.reg_req_addr = op_.addr;
    in.reg_req_wdata = op_.wdata;
    in.reg_req_part = op_.part;
    in.reg_req_priv = op_.priv;
    in.reg_req_pid = op_.pid;
    in.reg_req_fw = op_.fw;
  }
  // Payload streams: beat i of the message while the engine is ready; junk
  // in the lanes beyond the message now and then (the engines ignore them).
  auto beat = [&](const std::vector<uint8_t>& pay, uint32_t i, MacBeat& b) {
    for (uint32_t j = 0; j < kMacBeatBytes; ++j) {
      const uint32_t k = i * kMacBeatBytes + j;
      b[j] = k < pay.size() ? pay[k] : (chance(20) ? static_cast<uint8_t>(rng_()) : 0);
    }
  };
  if (cur.mac_tx_ready && chance(p_beat_)) {
    in.mac_tx_valid = true;
    beat(tx_pay_, tx_beat_, in.mac_tx_data);
  } else if (chance(5)) {
    in.mac_tx_valid = true;  // not ready: ignored
    beat(tx_pay_, 99, in.mac_tx_data);
  }
  if (cur.mac_rx_ready && rx_active_ && chance(p_beat_)) {
    in.mac_rx_valid = true;
    beat(rx_pay_, rx_beat_, in.mac_rx_data);
  } else if (chance(5)) {
    in.mac_rx_valid = true;
    beat(rx_pay_, 99, in.mac_rx_data);
  }
  // Fabric: the looped-back headers, a replay of an old strong packet now and then.
  if (!seen_.empty() && chance(1) && ingq_.size() < kIngQueueMax) {
    ingq_.push_back(seen_[r(static_cast<uint32_t>(seen_.size()))]);
    ++n_.replayed;
  }
  if (!ingq_.empty() && chance(p_ing_)) {
    in.ing_valid = true;
    in.ing_hdr = ingq_.front().h;
  }
  in.eg_ready = chance(p_eg_ready_);
  // MODE bit flips (the fault bit after the parity bit), rarely: the entry fails closed.
  if (chance(1) && r(20) == 0) {
    in.fault_valid = true;
    in.fault_table = 0;
    in.fault_entry = static_cast<uint8_t>(r(kNumEndpoints));
    in.fault_bit = static_cast<uint8_t>(CmmCore::kCstProtBits + 1);
    ++n_.mode_flips;
  }
}

void StrongStimulus::observe(const PinsIn& in, bool rst_n, const PinsOut& before, const PinsOut& after) {
  if (!rst_n) return;
  if (in.mac_tx_valid && before.mac_tx_ready) ++tx_beat_;
  if (in.mac_rx_valid && before.mac_rx_ready) ++rx_beat_;
  if (in.reg_req_valid && before.reg_req_ready) {
    const Op o = op_;
    op_valid_ = false;
    if (o.write && !o.payload.empty() && after.mac_tx_ready) {
      // A strong doorbell loaded the TX engine: stream its bytes; its DATA leaves with them.
      tx_pay_ = o.payload;
      tx_beat_ = 0;
      tx_sent_.push_back(o.payload);
      ++n_.tx_streams;
    }
    if (!o.payload.empty()) ++n_.doorbells;
    if (after.reg_rsp_valid) on_response(o, after.reg_rsp_status, after.reg_rsp_rdata);
  }
  if (in.ing_valid && before.ing_ready) {
    const Pkt p = ingq_.front();
    ingq_.pop_front();
    if (strong_hdr(p.h) && p.h.len > 0 && p.h.len <= kMaxMsgBytes) {
      rx_pay_ = p.pay;
      rx_pay_.resize(p.h.len, 0xA5);
      rx_beat_ = 0;
      rx_active_ = true;
      ++n_.rx_streams;
    }
  }
  if (before.eg_valid && in.eg_ready) {
    const Header& h = before.eg_hdr;
    std::vector<uint8_t> pay;
    if (before.eg_cls == 0 && strong_hdr(h) && h.opcode == static_cast<uint8_t>(Opcode::kData)) {
      if (!tx_sent_.empty()) {
        pay = tx_sent_.front();
        tx_sent_.pop_front();
      }
    } else if (before.eg_cls == 0 && strong_hdr(h) && h.opcode == static_cast<uint8_t>(Opcode::kConnect)) {
      pay.resize(16);
      for (uint32_t i = 0; i < 16; ++i) pay[i] = static_cast<uint8_t>(before.eg_wrap[i / 4] >> (8 * (i % 4)));
    }
    loop_back(h, std::move(pay));
  }
}

}  // namespace cmm::dv
