#include "cmm_core.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace cmm {

using namespace regs;

namespace {
constexpr uint32_t u(Reason r) { return static_cast<uint32_t>(r); }
constexpr uint32_t u(Opcode o) { return static_cast<uint32_t>(o); }
constexpr uint32_t u(State s) { return static_cast<uint32_t>(s); }
constexpr uint32_t u(Dir d) { return static_cast<uint32_t>(d); }
constexpr uint32_t u(Rsp r) { return static_cast<uint32_t>(r); }
constexpr uint32_t u(Origin o) { return static_cast<uint32_t>(o); }
constexpr uint32_t u(Stat s) { return static_cast<uint32_t>(s); }
constexpr uint32_t mask(uint32_t bits) { return bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1u); }
uint16_t sat_add16(uint16_t a, uint32_t b) { return static_cast<uint16_t>(a + b > 0xFFFFu ? 0xFFFFu : a + b); }
}  // namespace

// ---------------------------------------------------------------- Header

bool Header::operator==(const Header& o) const {
  return opcode == o.opcode && src_node == o.src_node && src_part == o.src_part && src_ep == o.src_ep &&
         dst_node == o.dst_node && dst_part == o.dst_part && dst_ep == o.dst_ep && len == o.len &&
         tag == o.tag && reason == o.reason && aux == o.aux && src_gen == o.src_gen && dst_gen == o.dst_gen &&
         seq == o.seq && key == o.key;
}

namespace {
// Word at a time (a field of at most 32 bits spans at most two words).
void put_bits(Header::Packed& p, uint32_t lsb, uint32_t bits, uint32_t v) {
  v &= mask(bits);
  const uint32_t w = lsb / 32, off = lsb % 32;
  p[w] |= v << off;
  if (off != 0 && off + bits > 32) p[w + 1] |= v >> (32 - off);
}
uint32_t get_bits(const Header::Packed& p, uint32_t lsb, uint32_t bits) {
  const uint32_t w = lsb / 32, off = lsb % 32;
  uint64_t x = p[w];
  if (w + 1 < p.size()) x |= uint64_t{p[w + 1]} << 32;
  return static_cast<uint32_t>(x >> off) & mask(bits);
}
}  // namespace

Header::Packed Header::pack() const {
  Packed p{};
  put_bits(p, kHdrOpcodeLsb, kHdrOpcodeBits, opcode);
  put_bits(p, kHdrSrcNodeLsb, kHdrSrcNodeBits, src_node);
  put_bits(p, kHdrSrcPartLsb, kHdrSrcPartBits, src_part);
  put_bits(p, kHdrSrcEpLsb, kHdrSrcEpBits, src_ep);
  put_bits(p, kHdrDstNodeLsb, kHdrDstNodeBits, dst_node);
  put_bits(p, kHdrDstPartLsb, kHdrDstPartBits, dst_part);
  put_bits(p, kHdrDstEpLsb, kHdrDstEpBits, dst_ep);
  put_bits(p, kHdrLenLsb, kHdrLenBits, len);
  put_bits(p, kHdrTagLsb, kHdrTagBits, tag);
  put_bits(p, kHdrReasonLsb, kHdrReasonBits, reason);
  put_bits(p, kHdrAuxLsb, kHdrAuxBits, aux);
  put_bits(p, kHdrSrcGenLsb, kHdrSrcGenBits, src_gen);
  put_bits(p, kHdrDstGenLsb, kHdrDstGenBits, dst_gen);
  put_bits(p, kHdrSeqLsb, kHdrSeqBits, seq);
  for (uint32_t w = 0; w < kKeyWords; ++w) put_bits(p, kHdrKeyLsb + 32 * w, 32, key[w]);
  return p;
}

Header Header::unpack(const Packed& p) {
  Header h;
  h.opcode = static_cast<uint8_t>(get_bits(p, kHdrOpcodeLsb, kHdrOpcodeBits));
  h.src_node = static_cast<uint16_t>(get_bits(p, kHdrSrcNodeLsb, kHdrSrcNodeBits));
  h.src_part = static_cast<uint8_t>(get_bits(p, kHdrSrcPartLsb, kHdrSrcPartBits));
  h.src_ep = static_cast<uint16_t>(get_bits(p, kHdrSrcEpLsb, kHdrSrcEpBits));
  h.dst_node = static_cast<uint16_t>(get_bits(p, kHdrDstNodeLsb, kHdrDstNodeBits));
  h.dst_part = static_cast<uint8_t>(get_bits(p, kHdrDstPartLsb, kHdrDstPartBits));
  h.dst_ep = static_cast<uint16_t>(get_bits(p, kHdrDstEpLsb, kHdrDstEpBits));
  h.len = static_cast<uint16_t>(get_bits(p, kHdrLenLsb, kHdrLenBits));
  h.tag = static_cast<uint16_t>(get_bits(p, kHdrTagLsb, kHdrTagBits));
  h.reason = static_cast<uint8_t>(get_bits(p, kHdrReasonLsb, kHdrReasonBits));
  h.aux = static_cast<uint8_t>(get_bits(p, kHdrAuxLsb, kHdrAuxBits));
  h.src_gen = static_cast<uint8_t>(get_bits(p, kHdrSrcGenLsb, kHdrSrcGenBits));
  h.dst_gen = static_cast<uint8_t>(get_bits(p, kHdrDstGenLsb, kHdrDstGenBits));
  h.seq = static_cast<uint16_t>(get_bits(p, kHdrSeqLsb, kHdrSeqBits));
  for (uint32_t w = 0; w < kKeyWords; ++w) h.key[w] = get_bits(p, kHdrKeyLsb + 32 * w, 32);
  return h;
}

Header Header::masked() const {
  // Field-wise (not via pack/unpack): this runs for every ingress header.
  Header h = *this;
  h.opcode &= mask(kHdrOpcodeBits);
  h.src_node &= mask(kHdrSrcNodeBits);
  h.src_part &= mask(kHdrSrcPartBits);
  h.src_ep &= mask(kHdrSrcEpBits);
  h.dst_node &= mask(kHdrDstNodeBits);
  h.dst_part &= mask(kHdrDstPartBits);
  h.dst_ep &= mask(kHdrDstEpBits);
  h.len &= mask(kHdrLenBits);
  h.tag &= mask(kHdrTagBits);
  h.reason &= mask(kHdrReasonBits);
  h.aux &= mask(kHdrAuxBits);
  h.src_gen &= mask(kHdrSrcGenBits);
  h.dst_gen &= mask(kHdrDstGenBits);
  h.seq &= mask(kHdrSeqBits);
  return h;
}

std::string Header::str() const {
  char b[200];
  std::snprintf(b, sizeof b, "%s %u.%u.%u->%u.%u.%u len=%u tag=%u reason=%s aux=%u gen=%u/%u seq=%u",
                std::string(opcode_name(opcode)).c_str(), src_node, src_part, src_ep, dst_node, dst_part,
                dst_ep, len, tag, std::string(reason_name(reason)).c_str(), aux, src_gen, dst_gen, seq);
  return b;
}

bool PinsOut::operator==(const PinsOut& o) const {
  return reg_req_ready == o.reg_req_ready && reg_rsp_valid == o.reg_rsp_valid &&
         reg_rsp_rdata == o.reg_rsp_rdata && reg_rsp_status == o.reg_rsp_status &&
         reg_rsp_buf == o.reg_rsp_buf && reg_rsp_buf_slot == o.reg_rsp_buf_slot && ing_ready == o.ing_ready &&
         eg_valid == o.eg_valid && (!eg_valid || (eg_cls == o.eg_cls && eg_hdr == o.eg_hdr)) &&
         vd_valid == o.vd_valid &&
         (!vd_valid || (vd_accept == o.vd_accept && vd_ep == o.vd_ep && vd_slot == o.vd_slot &&
                        vd_reason == o.vd_reason)) &&
         irq == o.irq && mac_tx_ready == o.mac_tx_ready && mac_rx_ready == o.mac_rx_ready &&
         (!eg_valid || (eg_wrap == o.eg_wrap && eg_retx == o.eg_retx));
}

// ---------------------------------------------------------------- geometry

std::string Geometry::check() const {
  struct P {
    const char* name;
    uint32_t v, lo, hi;
  };
  const P ps[] = {{"num_endpoints", num_endpoints, kMinNumEndpoints, kMaxNumEndpoints},
                  {"num_partitions", num_partitions, kMinNumPartitions, kMaxNumPartitions},
                  {"rxq_depth", rxq_depth, kMinRxqDepth, kMaxRxqDepth},
                  {"mgmtq_depth", mgmtq_depth, kMinMgmtqDepth, kMaxMgmtqDepth},
                  {"errlog_depth", errlog_depth, kMinErrlogDepth, kMaxErrlogDepth},
                  {"egq_depth", egq_depth, kMinEgqDepth, kMaxEgqDepth}};
  for (const P& p : ps)
    if (p.v < p.lo || p.v > p.hi)
      return "geometry " + std::string(p.name) + " = " + std::to_string(p.v) + " out of range " +
             std::to_string(p.lo) + ".." + std::to_string(p.hi) +
             (std::string(p.name) == "num_endpoints" ? " (endpoint ids are ep_id_bits wide)" : "");
  return "";
}

uint32_t Geometry::addr_bits() const {
  // The endpoint pages end the map; kAddrBits covers the default table.
  const uint64_t end = uint64_t{ep_base()} + uint64_t{num_endpoints} * CMM_EP_STRIDE;
  uint32_t b = kAddrBits;
  while ((uint64_t{1} << b) < end) ++b;
  return b;
}

// ---------------------------------------------------------------- core

CmmCore::CmmCore(const Straps& straps, const CoreParams& params)
    : straps_(straps), params_(params), geo_(params.geo) {
  if (const std::string e = geo_.check(); !e.empty()) throw std::invalid_argument("CmmCore: " + e);
  cst_.resize(geo_.num_endpoints);
  ckt_.resize(geo_.num_endpoints);
  rel_.resize(geo_.num_endpoints);
  rk_.resize(geo_.num_endpoints);
  rel_on_.resize(geo_.num_endpoints);
  part_.resize(geo_.num_partitions);
  for (auto& q : egq_) q.n = geo_.egq_depth;
  addr_bits_ = geo_.addr_bits();
  if (params_.mac_bytes_per_cycle == 0) params_.mac_bytes_per_cycle = 1;
  if (params_.mac_bytes_per_cycle > kMacBeatBytes) params_.mac_bytes_per_cycle = kMacBeatBytes;
  if (params_.mac_latency_cycles > 255) params_.mac_latency_cycles = 255;
  if (!params_.strong) params_.reliable = false;  // reliable delivery is a strong-mode feature
  if (!params_.strong) params_.rekey = false;     // so is rekey
  // No (key, seq) pair repeats: fresh DATA plus the window's re-sealed copies stay under 2^15 per key.
  if (params_.rekey_hard_limit == 0) params_.rekey_hard_limit = 1;
  if (params_.rekey_hard_limit > 0x8000u - kMaxTxWindow) params_.rekey_hard_limit = 0x8000u - kMaxTxWindow;
  if (params_.rekey_soft_limit > params_.rekey_hard_limit) params_.rekey_soft_limit = params_.rekey_hard_limit;
  if (params_.tx_window == 0) params_.tx_window = 1;
  if (params_.tx_window > kMaxTxWindow) params_.tx_window = kMaxTxWindow;
  if (params_.retx_timeout_cycles == 0) params_.retx_timeout_cycles = 1;
  if (params_.reliable) {
    win_hdr_.resize(geo_.num_endpoints * params_.tx_window);
    win_pay_.resize(size_t{geo_.num_endpoints} * params_.tx_window * kMaxMsgBytes);
    win_pend_.resize(geo_.num_endpoints * params_.tx_window);
  }
  reset();
}

CmmCore::Part CmmCore::fresh_part() const {
  Part p{};
  p.mgmtq.n = geo_.mgmtq_depth;
  p.errlog.n = geo_.errlog_depth;
  return p;
}

void CmmCore::reset() {
  for (auto& c : cst_) c = Cst{};
  for (auto& k : ckt_) k = Ckt{};
  for (auto& p : part_) p = fresh_part();
  reject_count_.fill(0);
  stat_.fill(0);
  s1_valid_ = false;
  s1_ = Header{};
  for (auto& q : egq_) q.clear();
  rsp_valid_ = rsp_buf_ = vd_valid_ = vd_accept_ = false;
  rsp_rdata_ = 0;
  rsp_status_ = rsp_buf_slot_ = vd_ep_ = vd_slot_ = vd_reason_ = 0;
  cycle_ = 0;
  cycle_in_ = 0;
  kg_.clear();
  kg_k0_ = kg_k1_ = kg_ctr_ = 0;
  kg_seeded_ = kg_ready_ = false;  // unseeded until entropy_valid_i
  kg_result_ = Key{};
  tf_count_ = 0;
  tf_last_ep_ = tf_last_table_ = 0;
  touched_.clear();
  touched_ckt_.clear();
  fault_pending_ = false;
  egq_wrap_.fill(Key{});
  for (auto& l : link_) l = Link{};
  link_stage_ = Key{};
  link_written_ = 0;
  link_status_ = 0;
  proof_valid_ = false;
  s1_strong_ = false;
  mrx_left_ = mrx_cd_ = mrx_got_ = 0;
  mrx_key_ = Key{};
  mtx_busy_ = false;
  mtx_left_ = mtx_cd_ = mtx_got_ = 0;
  mtx_rel_ = false;
  std::fill(rel_.begin(), rel_.end(), Rel{});
  std::fill(rel_on_.begin(), rel_on_.end(), uint8_t{0});
  std::fill(win_hdr_.begin(), win_hdr_.end(), Header{});
  std::fill(win_pay_.begin(), win_pay_.end(), uint8_t{0});
  std::fill(win_pend_.begin(), win_pend_.end(), uint8_t{0});
  egq_retx_.fill(EgRetx{});
  rel_rr_ = rel_active_ = 0;
  std::fill(rk_.begin(), rk_.end(), Rk{});
  rekeys_installed_ = rekeys_retired_ = 0;
  proof_ks_ = 0;
  compute_outputs();
}

bool CmmCore::quiescent() const {
  // A computing key generator and a flipped table bit not yet checked change state on idle edges.
  return !s1_valid_ && egq_[0].empty() && egq_[1].empty() && !rsp_valid_ && !vd_valid_ && !kg_.busy() &&
         !fault_pending_ && !mtx_busy_ && rel_active_ == 0;  // a retransmission timer runs
}

void CmmCore::skip_idle(uint64_t n) {
  // Callers skip only while quiescent; the generator's rounds are still modelled exactly.
  const PinsIn idle{};
  for (; n > 0 && kg_.busy(); --n, ++cycle_) kg_edge(idle);
  cycle_ += n;
}

void CmmCore::step(const PinsIn& in) {
  const bool reg_fire = in.reg_req_valid && out_.reg_req_ready;
  const bool ing_fire = in.ing_valid && out_.ing_ready;
  const bool eg_fire = out_.eg_valid && in.eg_ready;
  const bool mrx_fire = in.mac_rx_valid && out_.mac_rx_ready;
  const bool mtx_fire = in.mac_tx_valid && out_.mac_tx_ready;
  cycle_in_ = in.cycle;

  if (eg_fire) {
    if (out_.eg_cls == 0 && egq_retx_[egq_[0].head].on) {
      EgRetx& r = egq_retx_[egq_[0].head];
      --win_pend_[r.ep * params_.tx_window + r.slot];  // the window slot may be reused now
      r.on = false;
    }
    egq_[out_.eg_cls].pop();
  }
  rsp_valid_ = false;
  rsp_buf_ = false;
  rsp_buf_slot_ = 0;
  rsp_rdata_ = 0;
  rsp_status_ = 0;
  vd_valid_ = false;
  touched_.clear();
  touched_ckt_.clear();

  // Parity check first: every decision of this edge sees a faulted entry as FAULT.
  check_tables();
  // Then the key generator's seed or round: a command at this edge sees its result.
  if (in.entropy_valid || kg_.busy()) kg_edge(in);
  // Same-edge order (documented): the ingress commit stage first, then the
  // register port; each sees the other's effects as if sequential.
  // A strong header with payload waits in S1 for the RX MAC engine (strong-mode.md 11.6).
  const bool commit = s1_valid_ && (!s1_strong_ || (mrx_left_ == 0 && mrx_cd_ == 0));
  if (s1_valid_ && !commit) {
    if (mrx_left_ > 0) {
      if (mrx_fire) {
        absorb(mrx_buf_, mrx_got_, s1_.len, in.mac_rx_data);
        if (--mrx_left_ == 0) mrx_cd_ = params_.mac_latency_cycles;
      }
    } else {
      --mrx_cd_;
    }
  }
  if (commit) ingress(s1_);
  if (commit || !s1_valid_) {  // ing_ready was low otherwise: nothing was accepted
    s1_valid_ = ing_fire;
    s1_strong_ = false;
    if (ing_fire) {
      s1_ = in.ing_hdr.masked();
      if (strong_pkt(s1_) && s1_.len > 0 && s1_.len <= kMaxMsgBytes) {
        s1_strong_ = true;
        mrx_left_ = (s1_.len + params_.mac_bytes_per_cycle - 1) / params_.mac_bytes_per_cycle;
        mrx_cd_ = mrx_got_ = 0;
        // After this edge's ingress commit, before its register access.
        mrx_key_ = s1_.dst_ep < geo_.num_endpoints && ckt_[s1_.dst_ep].valid ? ckt_[s1_.dst_ep].key : Key{};
        if (s1_.dst_ep < geo_.num_endpoints && rekey_entry(s1_.dst_ep)) {  // the key of the packet's slot
          const Key* sk = slot_key(s1_.dst_ep, pkt_ks(s1_));
          mrx_key_ = sk ? *sk : Key{};
        }
      }
    }
  }
  // TX MAC engine: the doorbell's DATA leaves when its tag is ready.
  if (mtx_busy_) {
    bool done = false;
    if (mtx_left_ > 0) {
      if (mtx_fire) {
        absorb(mtx_buf_, mtx_got_, mtx_hdr_.len, in.mac_tx_data);
        if (--mtx_left_ == 0) {
          mtx_cd_ = params_.mac_latency_cycles;
          done = mtx_cd_ == 0;
        }
      }
    } else {
      done = --mtx_cd_ == 0;
    }
    if (done) {
      mtx_hdr_.key = mac(mtx_key_, mtx_hdr_, mtx_buf_.data(), mtx_hdr_.len);
      push_req(mtx_hdr_);  // room: the register port was not ready meanwhile
      if (mtx_rel_) {
        // Keep a copy until acknowledged (strong-mode.md 6): header with its tag, payload.
        const uint32_t ep = mtx_hdr_.src_ep;
        Rel& R = rel_[ep];
        if (reliable_entry(ep) && cst_[ep].state == u(State::kOpen) && mtx_hdr_.seq == R.pushed) {
          const uint32_t slot = mtx_hdr_.seq % params_.tx_window;
          win_hdr_[ep * params_.tx_window + slot] = mtx_hdr_;
          std::copy(mtx_buf_.begin(), mtx_buf_.begin() + mtx_hdr_.len, win_pay(ep, slot));
          if (R.base == R.pushed) {  // the window was empty: start the timer
            R.timeout = params_.retx_timeout_cycles;
            R.deadline = cycle_ + R.timeout;
            R.retries = 0;
          }
          R.pushed = static_cast<uint16_t>(R.pushed + 1u);
          rel_set(ep);
        }
        mtx_rel_ = false;
      }
      mtx_busy_ = false;
      mtx_key_ = Key{};
    }
  }
  if (reg_fire) reg_access(in);
  if (rel_active_) rel_edge();
  if (!touched_.empty() || !touched_ckt_.empty()) store_parity();
  // DV pin, after the update like the RTL's; before the fault, whose flip
  // applies to the moved sequence numbers as in the RTL.
  if (in.dv_preload) dv_preload_counters(regs::kDvPreloadMargin);
  if (in.fault_valid) inject_fault(in);  // after the edge's update, like an SEU

  ++cycle_;
  compute_outputs();
}

void CmmCore::compute_outputs() {
  out_.reg_req_ready = !egq_[0].full() && !mtx_busy_;
  // Room for the response of the header in S1 and of one more; S1 must commit at the next edge.
  const bool s1_moves = !s1_valid_ || !s1_strong_ || (mrx_left_ == 0 && mrx_cd_ == 0);
  out_.ing_ready = s1_moves && egq_[1].free() >= 1u + (s1_valid_ ? 1u : 0u);
  out_.mac_rx_ready = s1_valid_ && s1_strong_ && mrx_left_ > 0;
  out_.mac_tx_ready = mtx_busy_ && mtx_left_ > 0;
  out_.reg_rsp_valid = rsp_valid_;
  out_.reg_rsp_rdata = rsp_rdata_;
  out_.reg_rsp_status = rsp_status_;
  out_.reg_rsp_buf = rsp_buf_;
  out_.reg_rsp_buf_slot = rsp_buf_slot_;
  out_.eg_wrap = Key{};
  out_.eg_retx = false;
  if (!egq_[1].empty()) {
    out_.eg_valid = true;
    out_.eg_cls = 1;
    out_.eg_hdr = egq_[1].front();
  } else if (!egq_[0].empty()) {
    out_.eg_valid = true;
    out_.eg_cls = 0;
    out_.eg_hdr = egq_[0].front();
    out_.eg_wrap = egq_wrap_[egq_[0].head];
    out_.eg_retx = egq_retx_[egq_[0].head].on;
  } else {
    out_.eg_valid = false;
    out_.eg_cls = 0;
    out_.eg_hdr = Header{};
  }
  out_.vd_valid = vd_valid_;
  out_.vd_accept = vd_accept_;
  out_.vd_ep = vd_ep_;
  out_.vd_slot = vd_slot_;
  out_.vd_reason = vd_reason_;
  uint32_t irq = 0;
  for (uint32_t p = 0; p < geo_.num_partitions; ++p)
    if (part_[p].irq_status & part_[p].irq_enable) irq |= 1u << p;
  out_.irq = irq;
}

// ---------------------------------------------------------------- helpers

bool CmmCore::key_eq_ct(const Key& a, const Key& b) {
  uint32_t diff = 0;
  for (uint32_t i = 0; i < kKeyWords; ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

bool CmmCore::key_equals_for_test(uint32_t ep, const Key& k) const {
  return ep < geo_.num_endpoints && ckt_[ep].valid && key_eq_ct(ckt_[ep].key, k);
}

// ---------------------------------------------------------------- strong mode (strong-mode.md 11)

namespace {
constexpr uint8_t kStrongBit = 1u << kStrongAuxBit;
constexpr uint8_t kKsBit = 1u << kKeySlotAuxBit;  // rekey cores only (strong-mode.md 7)
void key_bytes(const Key& k, uint8_t out[16]) {
  for (uint32_t i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(k[i / 4] >> (8 * (i % 4)));
}
Key bytes_key(const uint8_t b[16]) {
  Key k{};
  for (uint32_t i = 0; i < 16; ++i) k[i / 4] |= uint32_t{b[i]} << (8 * (i % 4));
  return k;
}
Key sip_key(const Key& k, const uint8_t* msg, size_t n) {
  uint8_t kb[16];
  key_bytes(k, kb);
  const auto t = sip::hash128(kb, msg, n);
  return bytes_key(t.data());
}
}  // namespace

bool CmmCore::strong_pkt(const Header& h) const {
  return params_.strong && (h.aux & kStrongBit) != 0 &&
         ((h.opcode >= u(Opcode::kData) && h.opcode <= u(Opcode::kClose)) ||
          (params_.reliable && h.opcode == u(Opcode::kAck)));
}

// tag = SipHash-2-4-128(k, 32 header bytes with the key field zeroed || payload).
Key CmmCore::mac(const Key& k, const Header& h, const uint8_t* pay, uint32_t n) {
  std::array<uint8_t, 32 + kMaxMsgBytes> m{};
  Header z = h;
  z.key = Key{};
  const Header::Packed p = z.pack();
  for (uint32_t i = 0; i < 32; ++i) m[i] = i / 4 < p.size() ? static_cast<uint8_t>(p[i / 4] >> (8 * (i % 4))) : 0;
  if (n > kMaxMsgBytes) n = kMaxMsgBytes;
  for (uint32_t i = 0; i < n; ++i) m[32 + i] = pay[i];
  return sip_key(k, m.data(), 32 + n);
}

void CmmCore::seal(Header& h, const Key& k, uint8_t ks) const {
  h.aux = static_cast<uint8_t>(h.aux | kStrongBit);
  if (params_.rekey) h.aux = static_cast<uint8_t>((h.aux & ~kKsBit) | (ks & 1u) << kKeySlotAuxBit);
  h.key = mac(k, h, nullptr, 0);
}

Key CmmCore::wrap_subkey(const Key& lk, bool enc) {
  static const uint8_t kEnc[8] = {'w', 'r', 'a', 'p', '-', 'e', 'n', 'c'};
  static const uint8_t kMac[8] = {'w', 'r', 'a', 'p', '-', 'm', 'a', 'c'};
  return sip_key(lk, enc ? kEnc : kMac, 8);
}

Key CmmCore::wrap_stream(const Key& lk, const Header& h) {
  const uint32_t n = uint32_t{h.seq} | uint32_t{h.tag} << 16;  // the link's CONNECT counter
  // Node and endpoint ids: bits 7:0 in bytes 0/1 and 4/5, bits 15:8 in bytes 12/13
  // and 14/15 (the 8-bit-id layout unchanged).
  const uint8_t nonce[16] = {static_cast<uint8_t>(h.src_node), static_cast<uint8_t>(h.dst_node), h.src_part,
                             h.dst_part, static_cast<uint8_t>(h.src_ep), static_cast<uint8_t>(h.dst_ep), h.src_gen,
                             h.dst_gen, static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                             static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24),
                             static_cast<uint8_t>(h.src_node >> 8), static_cast<uint8_t>(h.dst_node >> 8),
                             static_cast<uint8_t>(h.src_ep >> 8), static_cast<uint8_t>(h.dst_ep >> 8)};
  return sip_key(wrap_subkey(lk, true), nonce, 16);
}

void CmmCore::push_req(const Header& h, const Key& wrap) {
  egq_wrap_[(egq_[0].head + egq_[0].count) % geo_.egq_depth] = wrap;
  egq_retx_[(egq_[0].head + egq_[0].count) % geo_.egq_depth] = EgRetx{};
  egq_[0].push(h);
}

void CmmCore::absorb(std::array<uint8_t, kMaxMsgBytes>& buf, uint32_t& got, uint32_t len, const MacBeat& b) const {
  for (uint32_t i = 0; i < params_.mac_bytes_per_cycle && got < len && got < kMaxMsgBytes; ++i) buf[got++] = b[i];
}

void CmmCore::count_reject(Reason r, const Header* pkt) {
  bump(reject_count_[u(r)]);
  if (obs_) obs_->on_reject(cycle_, r, pkt);
}

Header CmmCore::make_hdr(Opcode op, uint32_t src_part, uint32_t src_ep, uint32_t dst_node, uint32_t dst_part,
                         uint32_t dst_ep) const {
  Header h;
  h.opcode = static_cast<uint8_t>(op);
  h.src_node = straps_.node_id;
  h.src_part = static_cast<uint8_t>(src_part);
  h.src_ep = static_cast<uint16_t>(src_ep);
  h.dst_node = static_cast<uint16_t>(dst_node);
  h.dst_part = static_cast<uint8_t>(dst_part);
  h.dst_ep = static_cast<uint16_t>(dst_ep);
  return h;
}

Header CmmCore::response(const Header& req, Opcode op) const {
  Header r = make_hdr(op, req.dst_part, req.dst_ep, req.src_node, req.src_part, req.src_ep);
  r.tag = req.tag;
  r.src_gen = req.dst_gen;  // generations echoed swapped (security.md 1.2)
  r.dst_gen = req.src_gen;
  if (req.opcode == u(Opcode::kConnect)) r.seq = req.seq;  // the CONNECT attempt answered (security.md 1.4)
  return r;
}

Key CmmCore::nack_key(const Header& h) const {
  // A NACK proves the channel key only to the entry's own peer, and only for
  // the packets whose NACKs are believed with a key (DATA, CONNECT).
  if (h.opcode != u(Opcode::kData) && h.opcode != u(Opcode::kConnect)) return Key{};
  if (h.dst_node != straps_.node_id || h.dst_ep >= geo_.num_endpoints) return Key{};
  const Cst& c = cst_[h.dst_ep];
  if (c.state == u(State::kFree) || c.owner_part != h.dst_part || !ids_match(c, h)) return Key{};
  if (ckt_[h.dst_ep].valid) return ckt_[h.dst_ep].key;
  if (h.opcode == u(Opcode::kConnect) && c.dir == u(Dir::kSend)) return h.key;  // echo the CONNECT's own key
  return Key{};
}

void CmmCore::nack(const Header& h, Reason r, uint16_t gap) {
  count_reject(r, &h);
  // Never answer a response: that could ping-pong forever.
  if (h.opcode == u(Opcode::kNack) || h.opcode == u(Opcode::kConnectAck) ||
      (params_.reliable && h.opcode == u(Opcode::kAck)))
    return;
  Header n = response(h, Opcode::kNack);
  n.reason = static_cast<uint8_t>(r);
  n.aux = h.opcode;
  if (h.opcode == u(Opcode::kData)) {
    n.seq = h.seq;  // names the DATA: a duplicated NACK is recognised (SEQ_OLD) at the sender
    if (r == Reason::kSeqGap) n.tag = gap;
  }
  if (strong_pkt(h)) {
    // A strong request gets a strong answer: MAC'd with the key it proved, else no key (11.9).
    n.aux = static_cast<uint8_t>(h.opcode | kStrongBit);
    if (proof_valid_) seal(n, proof_key_, proof_ks_);
    else n.key = Key{};
  } else {
    n.key = nack_key(h);
  }
  egq_[1].push(n);  // room guaranteed by ing_ready
  bump(stat_[kStatNackSent]);
}

void CmmCore::log_error(uint32_t part, Reason r, uint32_t ep, uint32_t opcode, bool from_fabric, bool exception,
                        uint32_t src_node) {
  if (part >= geo_.num_partitions) return;
  Part& p = part_[part];
  uint32_t w = 0;
  w = field_set(w, CMM_ERRLOG_HEAD_REASON_LSB, CMM_ERRLOG_HEAD_REASON_MASK, u(r));
  w = field_set(w, CMM_ERRLOG_HEAD_EP_LSB, CMM_ERRLOG_HEAD_EP_MASK, ep);
  w = field_set(w, CMM_ERRLOG_HEAD_OPCODE_LSB, CMM_ERRLOG_HEAD_OPCODE_MASK, opcode);
  w = field_set(w, CMM_ERRLOG_HEAD_FROM_FABRIC_LSB, CMM_ERRLOG_HEAD_FROM_FABRIC_MASK, from_fabric);
  w = field_set(w, CMM_ERRLOG_HEAD_EXCEPTION_LSB, CMM_ERRLOG_HEAD_EXCEPTION_MASK, exception);
  w = field_set(w, CMM_ERRLOG_HEAD_SRC_NODE_LSB, CMM_ERRLOG_HEAD_SRC_NODE_MASK, src_node);
  // Coalescing key: an event equal in these fields to the newest entry only
  // bumps its repeat count, so a flood of one kind takes at most two slots.
  // Never into the head: the agent reads it (HEAD, REPEAT) and then pops it,
  // and a repeat added in between would be lost with the pop.
  constexpr uint32_t kSame = (CMM_ERRLOG_HEAD_REASON_MASK << CMM_ERRLOG_HEAD_REASON_LSB) |
                             (CMM_ERRLOG_HEAD_FROM_FABRIC_MASK << CMM_ERRLOG_HEAD_FROM_FABRIC_LSB) |
                             (CMM_ERRLOG_HEAD_EXCEPTION_MASK << CMM_ERRLOG_HEAD_EXCEPTION_LSB) |
                             (CMM_ERRLOG_HEAD_SRC_NODE_MASK << CMM_ERRLOG_HEAD_SRC_NODE_LSB);
  if (p.errlog.count >= 2 && ((p.errlog.back().word ^ w) & kSame) == 0) {
    if (p.errlog.back().repeat != 0xFFFF) ++p.errlog.back().repeat;
  } else if (p.errlog.full()) {
    if (p.errlog_lost != 0xFF) ++p.errlog_lost;
  } else {
    p.errlog.push(ErrEntry{w, 0});
  }
  if (exception) {
    uint32_t x = 0;
    x = CMM_FIELD_SET(x, CMM_EXC_LAST_REASON, u(r));
    x = CMM_FIELD_SET(x, CMM_EXC_LAST_EP, ep);
    x = CMM_FIELD_SET(x, CMM_EXC_LAST_SRC_NODE, src_node);
    x = CMM_FIELD_SET(x, CMM_EXC_LAST_VALID, 1u);
    if (!CMM_FIELD_GET(p.exc_first, CMM_EXC_FIRST_VALID)) p.exc_first = x;
    p.exc_last = x;
    if (p.exc_count != 0xFFFF) ++p.exc_count;
    raise(part, Irq::kExc);
  }
  alarm_event(part);
  raise(part, Irq::kErr);
}

void CmmCore::alarm_event(uint32_t part) {
  Part& p = part_[part];
  const uint32_t log2 = CMM_FIELD_GET(p.alarm_cfg, CMM_ALARM_CFG_WINDOW_LOG2);
  const uint32_t thresh = CMM_FIELD_GET(p.alarm_cfg, CMM_ALARM_CFG_THRESH);
  const uint32_t wid = cycle_in_ >> log2;  // log2 <= 31
  if (!p.alarm_win_valid || wid != p.alarm_win) {
    p.alarm_win_valid = true;
    p.alarm_win = wid;
    p.alarm_cnt = 0;
    p.alarm_fired = false;
  }
  if (p.alarm_cnt != 0xFFFF) ++p.alarm_cnt;
  if (thresh != 0 && !p.alarm_fired && p.alarm_cnt >= thresh) {
    p.alarm_fired = true;  // once per window
    if (p.alarm_count != 0xFFFF) ++p.alarm_count;
    raise(part, Irq::kAlarm);
  }
}

void CmmCore::raise(uint32_t part, Irq bit) {
  if (part < geo_.num_partitions) part_[part].irq_status |= 1u << static_cast<uint32_t>(bit);
}

void CmmCore::zeroize(uint32_t ep) {
  ckt_[ep] = Ckt{};
  Rk& q = rk_[ep];  // both slots (the slot bit stays: the next CONNECT names it)
  q.old = Key{};
  q.old_valid = q.pending = false;
}

uint32_t CmmCore::flush_rxq(uint32_t ep) {
  Cst& c = cst_[ep];
  uint32_t n = c.rxq_count;
  for (uint32_t i = 0; i < n; ++i) count_reject(Reason::kRxqFlushed);
  c.rxq_count = 0;
  c.rxq_head = 0;
  return n;
}

void CmmCore::reset_entry(uint32_t ep) {
  const uint8_t gen = cst_[ep].gen;  // the epoch survives FREE
  cst_[ep] = Cst{};
  rel_open(ep);
  cst_[ep].gen = gen;
  zeroize(ep);
  rk_[ep] = Rk{};
}

// ---------------------------------------------------------------- table integrity (security.md 1.11)

// Bit index order of the fault-injection port: state 0-2, dir 3, owner_part
// 4-7, owner_pid 8-23, rnode 24-39, rpart 40-43, rep 44-59, gen 60-67, rgen
// 68-75, tx_seq 76-91, rx_seq 92-107, parity 108 (kCst* in cmm_core.h).
uint32_t CmmCore::cst_parity(const Cst& c) {
  // Parity does not depend on bit positions: XOR of the fields, then fold.
  const uint32_t x = uint32_t{c.state} ^ c.dir ^ c.owner_part ^ c.owner_pid ^ c.rnode ^ c.rpart ^ c.rep ^ c.gen ^
                     c.rgen ^ c.tx_seq ^ c.rx_seq ^ c.mode;  // mode is 0 without strong mode
  return static_cast<uint32_t>(__builtin_parity(x));
}

// Key bits 0-127 (word i/32, bit i%32), valid 128, origin 129, parity 130.
uint32_t CmmCore::ckt_parity(const Ckt& k) {
  const uint32_t x = k.key[0] ^ k.key[1] ^ k.key[2] ^ k.key[3] ^ (k.valid ? 1u : 0u) ^ k.origin;
  return static_cast<uint32_t>(__builtin_parity(x));
}

void CmmCore::check_tables() {
  // Stored bits change only by writes (which store their parity) and by the
  // fault port: without a flip since the last edge every entry matches, so
  // the comparison (real parity, recomputed from the fields) is skipped.
  if (!fault_pending_ && !full_check_) return;
  for (uint32_t ep = 0; ep < geo_.num_endpoints; ++ep) {
    const bool bad_cst = cst_parity(cst_[ep]) != cst_[ep].par;
    const bool bad_ckt = ckt_parity(ckt_[ep]) != ckt_[ep].par;
    if (bad_cst || bad_ckt) fail_closed(ep, bad_ckt ? 1 : 0);
  }
  if (params_.strong) check_links();
  fault_pending_ = false;
}

void CmmCore::fail_closed(uint32_t ep, uint32_t table) {
  Cst& c = cst_[ep];
  count_reject(Reason::kTableFault);
  if (tf_count_ != CMM_TABLE_FAULT_COUNT_MASK) ++tf_count_;
  tf_last_ep_ = static_cast<uint16_t>(ep);
  tf_last_table_ = static_cast<uint8_t>(table);
  // A hardware fault concerns every kernel (and reveals nothing secret).
  for (uint32_t p = 0; p < geo_.num_partitions; ++p) {
    if (part_[p].alarm_count != 0xFFFF) ++part_[p].alarm_count;
    raise(p, Irq::kAlarm);
  }
  // The stored owner may be the flipped field: only a notification, no access.
  if (c.state != u(State::kFree) && c.owner_part < geo_.num_partitions)
    log_error(c.owner_part, Reason::kTableFault, ep, 0, false, true, straps_.node_id);
  c.rxq_count = 0;  // discarded (the exception tells the owner)
  c.rxq_head = 0;
  zeroize(ep);
  c.state = u(State::kFault);  // out of service until reset
  c.par = static_cast<uint8_t>(cst_parity(c));
  ckt_[ep].par = static_cast<uint8_t>(ckt_parity(ckt_[ep]));
}

void CmmCore::store_parity() {
  for (const uint32_t ep : touched_) cst_[ep].par = static_cast<uint8_t>(cst_parity(cst_[ep]));
  for (const uint32_t ep : touched_ckt_) ckt_[ep].par = static_cast<uint8_t>(ckt_parity(ckt_[ep]));
}

void CmmCore::inject_fault(const PinsIn& in) {
  if (in.fault_valid && in.fault_table == 2 && params_.strong) return inject_link_fault(in.fault_entry, in.fault_bit);
  if (!in.fault_valid || in.fault_entry >= geo_.num_endpoints) return;
  const uint32_t b = in.fault_bit;
  if ((in.fault_table & 1u) == 0) {
    if (b == kCstProtBits + 1 && params_.strong) {  // bit 109: CST_CTRL.MODE (strong cores only)
      cst_[in.fault_entry].mode ^= 1u;
      fault_pending_ = true;
      return;
    }
    if (b > kCstProtBits) return;
    Cst& c = cst_[in.fault_entry];
    auto flip8 = [&](uint8_t& f, uint32_t i) { f = static_cast<uint8_t>(f ^ (1u << i)); };
    auto flip16 = [&](uint16_t& f, uint32_t i) { f = static_cast<uint16_t>(f ^ (1u << i)); };
    if (b < 3) flip8(c.state, b);
    else if (b < 4) flip8(c.dir, 0);
    else if (b < 8) flip8(c.owner_part, b - 4);
    else if (b < 24) flip16(c.owner_pid, b - 8);
    else if (b < 40) flip16(c.rnode, b - 24);
    else if (b < kCstRepBit) flip8(c.rpart, b - 40);
    else if (b < kCstGenBit) flip16(c.rep, b - kCstRepBit);
    else if (b < kCstGenBit + 8) flip8(c.gen, b - kCstGenBit);
    else if (b < kCstGenBit + 16) flip8(c.rgen, b - kCstGenBit - 8);
    else if (b < kCstGenBit + 32) flip16(c.tx_seq, b - kCstGenBit - 16);
    else if (b < kCstProtBits) flip16(c.rx_seq, b - kCstGenBit - 32);
    else flip8(c.par, 0);
  } else {
    if (b > kCktProtBits) return;
    Ckt& k = ckt_[in.fault_entry];
    if (b < 128) k.key[b / 32] ^= 1u << (b % 32);
    else if (b == 128) k.valid = !k.valid;
    else if (b == 129) k.origin = static_cast<uint8_t>(k.origin ^ 1u);
    else k.par = static_cast<uint8_t>(k.par ^ 1u);
  }
  fault_pending_ = true;
}

// ---------------------------------------------------------------- link-key table integrity (security.md 1.11)

uint32_t CmmCore::link_parity(const Link& l) {
  const uint32_t x = l.key[0] ^ l.key[1] ^ l.key[2] ^ l.key[3] ^ (l.valid ? 1u : 0u) ^ l.ctr;
  return static_cast<uint32_t>(__builtin_parity(x));
}

// A flipped `valid` would expose the all-zero key, a flipped `ctr` would
// repeat a wrap nonce: a mismatching entry is zeroized (no link key: CONNECTs
// over it are refused NO_LINK_KEY until the firmware provisions a new key).
// Counted and alarmed as a CST/CKT fault; no exception (the entry has no owner).
void CmmCore::check_links() {
  for (uint32_t n = 0; n < regs::kLinkNodes; ++n) {
    if (link_parity(link_[n]) == link_[n].par) continue;
    link_[n] = Link{};
    count_reject(Reason::kTableFault);
    if (tf_count_ != CMM_TABLE_FAULT_COUNT_MASK) ++tf_count_;
    tf_last_ep_ = static_cast<uint16_t>(n);
    tf_last_table_ = 2;  // TABLE_FAULT.LAST_TABLE: 2 = link-key table (LAST_EP = node id)
    for (uint32_t p = 0; p < geo_.num_partitions; ++p) {
      if (part_[p].alarm_count != 0xFFFF) ++part_[p].alarm_count;
      raise(p, Irq::kAlarm);
    }
  }
}

void CmmCore::inject_link_fault(uint32_t node, uint32_t b) {
  if (node >= regs::kLinkNodes || b > 161) return;
  Link& l = link_[node];
  if (b < 128) l.key[b / 32] ^= 1u << (b % 32);
  else if (b == 128) l.valid = !l.valid;
  else if (b < 161) l.ctr ^= 1u << (b - 129);
  else l.par = static_cast<uint8_t>(l.par ^ 1u);
  fault_pending_ = true;
}

// ---------------------------------------------------------------- key generator (security.md 1.10)

void CmmCore::kg_start() {
  kg_.start(kg_k0_, kg_k1_, kg_ctr_, straps_.node_id);  // first round at the next edge
  kg_ready_ = false;
}

Key CmmCore::kg_draw() {
  const Key k = kg_result_;
  kg_result_ = Key{};
  ++kg_ctr_;
  kg_start();
  return k;
}

void CmmCore::kg_edge(const PinsIn& in) {
  if (in.entropy_valid) {
    // A new seed abandons everything in flight (a command at this edge sees it not ready).
    const Key& e = in.entropy;
    kg_k0_ = uint64_t{e[0]} | uint64_t{e[1]} << 32;
    kg_k1_ = uint64_t{e[2]} | uint64_t{e[3]} << 32;
    kg_ctr_ = 0;
    kg_ready_ = false;
    kg_result_ = Key{};
    kg_seeded_ = (kg_k0_ | kg_k1_) != 0;  // a zero key would be predictable
    if (kg_seeded_) kg_start();
    else kg_.clear();
    return;
  }
  if (!kg_.busy() || !kg_.step()) return;
  const Key r{static_cast<uint32_t>(kg_.out0()), static_cast<uint32_t>(kg_.out0() >> 32),
              static_cast<uint32_t>(kg_.out1()), static_cast<uint32_t>(kg_.out1() >> 32)};
  if (key_eq_ct(r, Key{})) {
    ++kg_ctr_;  // never hand out an all-zero key
    kg_start();
    return;
  }
  kg_result_ = r;
  kg_ready_ = true;
}

// ---------------------------------------------------------------- ingress (commit stage S2)

void CmmCore::ingress(const Header& h) {
  touch_cst(h.dst_ep);  // the CKT only where a key is stored
  proof_valid_ = false;
  proof_ks_ = 0;
  switch (static_cast<Opcode>(h.opcode)) {
    case Opcode::kData: ingress_data(h); return;
    case Opcode::kConnect: ingress_connect(h); return;
    case Opcode::kConnectAck: ingress_connect_ack(h); return;
    case Opcode::kNack: ingress_nack(h); return;
    case Opcode::kClose: ingress_close(h); return;
    case Opcode::kMgmt: ingress_mgmt(h); return;
    case Opcode::kAck:
      if (params_.reliable) return ingress_ack(h);
      break;  // unknown without reliable delivery
  }
  nack(h, Reason::kBadOpcode);
}

void CmmCore::ingress_data(const Header& h) {
  auto verdict = [&](Reason r, uint32_t slot) {
    vd_valid_ = true;
    vd_accept_ = r == Reason::kOk;
    vd_ep_ = h.dst_ep;
    vd_slot_ = static_cast<uint8_t>(slot);
    vd_reason_ = static_cast<uint8_t>(r);
  };
  auto reject = [&](Reason r, bool tell_owner) {
    verdict(r, 0);
    nack(h, r);
    if (tell_owner) log_error(cst_[h.dst_ep].owner_part, r, h.dst_ep, h.opcode, true, false, h.src_node);
  };
  if (h.dst_node != straps_.node_id) return reject(Reason::kMisrouted, false);
  if (h.len == 0 || h.len > kMaxMsgBytes) return reject(Reason::kBadLen, false);
  if (h.dst_ep >= geo_.num_endpoints) return reject(Reason::kBadEp, false);
  Cst& c = cst_[h.dst_ep];
  const Ckt& k = ckt_[h.dst_ep];
  if (faulted(h.dst_ep)) {
    // Out of service: dropped unanswered (nothing in the entry can be trusted).
    verdict(Reason::kTableFault, 0);
    return count_reject(Reason::kTableFault, &h);
  }
  const bool strong = strong_entry(h.dst_ep);
  if (strong) {
    // The MAC first (strong-mode.md 11.7): nothing unauthenticated is answered.
    auto drop = [&](Reason r) {
      verdict(r, 0);
      count_reject(r, &h);
      log_error(c.owner_part, r, h.dst_ep, h.opcode, true, false, h.src_node);
    };
    if (!k.valid) return drop(Reason::kNoKey);
    // Rekey (strong-mode.md 7): the key of the slot the packet names.
    const Key* sk = &k.key;
    if (rekey_entry(h.dst_ep) && strong_pkt(h)) {
      sk = slot_key(h.dst_ep, pkt_ks(h));
      if (!sk) return drop(Reason::kKeySlotStale);
    }
    // The engine's key (taken at the S1 load) must still be the entry's key.
    if (!strong_pkt(h) || !key_eq_ct(*sk, mrx_key_) || !mac_ok(mrx_key_, h, mrx_buf_.data(), h.len))
      return drop(Reason::kBadMac);
    proof_key_ = *sk;
    proof_valid_ = true;
    if (rekey_entry(h.dst_ep)) {
      proof_ks_ = pkt_ks(h);
      // The peer used the newest key: it has it, the old slot is retired.
      if (proof_ks_ == rk_[h.dst_ep].ks && rk_[h.dst_ep].old_valid) retire_old(h.dst_ep, false);
    }
  }
  if (c.state == u(State::kFree)) return reject(Reason::kNotOpen, false);
  if (h.dst_part != c.owner_part) return reject(Reason::kDstPartMismatch, true);
  if (c.dir != u(Dir::kRecv)) return reject(Reason::kWrongDir, true);
  if (c.state != u(State::kOpen)) return reject(Reason::kNotOpen, true);
  if (!k.valid) return reject(Reason::kNoKey, true);
  if (h.src_node != c.rnode) return reject(Reason::kSrcNodeMismatch, true);
  if (h.src_part != c.rpart) return reject(Reason::kSrcPartMismatch, true);
  if (h.src_ep != c.rep) return reject(Reason::kSrcEpMismatch, true);
  if (!gens_match(c, h)) return reject(Reason::kStaleGen, true);
  if (!strong && !key_eq_ct(h.key, k.key)) return reject(Reason::kBadKey, true);
  // Sequence: at most once, in order, gaps reported (security.md 1.5).
  const uint16_t d = static_cast<uint16_t>(h.seq - c.rx_seq);
  if (reliable_entry(h.dst_ep)) {
    // Reliable (strong-mode.md 6): only the expected DATA is delivered; every
    // answer is a MAC'd cumulative ACK naming the next expected seq.
    Rel& R = rel_[h.dst_ep];
    if (d >= 0x8000u) {  // duplicate or replay: re-acknowledged (its ACK may be lost)
      verdict(Reason::kSeqOld, 0);
      return ack(h, Reason::kSeqOld);
    }
    if (d != 0) {  // ahead: an earlier one is missing; the sender goes back once per expected seq
      verdict(Reason::kSeqAhead, 0);
      if (R.nak_sent) return count_reject(Reason::kSeqAhead, &h);
      R.nak_sent = true;
      return ack(h, Reason::kSeqAhead);
    }
    if (c.rxq_count >= geo_.rxq_depth) {  // not taken: the sender waits and resends
      verdict(Reason::kRxqFull, 0);
      return ack(h, Reason::kRxqFull);
    }
    R.nak_sent = false;
  }
  if (d >= 0x8000u) return reject(Reason::kSeqOld, false);  // the sender is told; not the owner's concern
  if (c.rxq_count >= geo_.rxq_depth) {
    c.rx_seq = static_cast<uint16_t>(h.seq + 1u);  // the sender is told about this one
    reject(Reason::kRxqFull, false);
    if (d != 0) {  // the gap before it is still reported to the receiving agent (I7)
      c.rx_lost = sat_add16(c.rx_lost, d);
      count_reject(Reason::kSeqGap, &h);
      log_error(c.owner_part, Reason::kSeqGap, h.dst_ep, h.opcode, true, false, h.src_node);
    }
    return;
  }
  c.rx_seq = static_cast<uint16_t>(h.seq + 1u);
  uint32_t slot = (c.rxq_head + c.rxq_count) % geo_.rxq_depth;
  c.rxq[slot] = RxSlot{h.len, h.tag};
  ++c.rxq_count;
  verdict(Reason::kOk, slot);
  raise(c.owner_part, Irq::kRx);
  bump(stat_[kStatDataDelivered]);
  if (obs_) obs_->on_deliver(cycle_, h);
  if (rekey_entry(h.dst_ep)) {
    // Forced rekey (strong-mode.md 7): the owner's agent is told once per key.
    Rk& q = rk_[h.dst_ep];
    if (q.use != 0xFFFFFFFFu) ++q.use;
    if (params_.rekey_soft_limit != 0 && !q.due && q.use >= params_.rekey_soft_limit) {
      q.due = true;
      count_reject(Reason::kRekeyDue, &h);
      log_error(c.owner_part, Reason::kRekeyDue, h.dst_ep, h.opcode, true, false, h.src_node);
    }
  }
  if (reliable_entry(h.dst_ep)) return ack(h, Reason::kOk);
  if (d != 0) {
    // d messages before this one are missing: tell the owner and the sender (one NACK).
    c.rx_lost = sat_add16(c.rx_lost, d);
    log_error(c.owner_part, Reason::kSeqGap, h.dst_ep, h.opcode, true, false, h.src_node);
    nack(h, Reason::kSeqGap, d);
  }
}

void CmmCore::ingress_connect(const Header& h) {
  if (h.dst_node != straps_.node_id) return nack(h, Reason::kMisrouted);
  if (h.dst_ep >= geo_.num_endpoints) return nack(h, Reason::kBadEp);
  if (faulted(h.dst_ep)) return count_reject(Reason::kTableFault, &h);  // out of service, unanswered
  Cst& c = cst_[h.dst_ep];
  Ckt& k = ckt_[h.dst_ep];
  if (c.state == u(State::kFree)) return nack(h, Reason::kNotOpen);
  auto reject = [&](Reason r, bool exception) {
    nack(h, r);
    log_error(c.owner_part, r, h.dst_ep, h.opcode, true, exception, h.src_node);
  };
  Key ckey = h.key;  // the key the CONNECT carries (strong: unwrapped)
  if (strong_pkt(h)) {
    // Unwrap (strong-mode.md 11.5/11.8): link key, tag over the ciphertext, then decrypt.
    auto drop = [&](Reason r) {
      count_reject(r, &h);
      if (h.dst_part == c.owner_part) log_error(c.owner_part, r, h.dst_ep, h.opcode, true, false, h.src_node);
    };
    if (h.src_node >= kLinkNodes || !link_[h.src_node].valid) return drop(Reason::kNoLinkKey);
    const Link& lk = link_[h.src_node];
    if (h.len != 16 || !mac_ok(wrap_subkey(lk.key, false), h, mrx_buf_.data(), 16)) return drop(Reason::kBadMac);
    const Key ks = wrap_stream(lk.key, h);
    const Key ct = bytes_key(mrx_buf_.data());
    for (uint32_t w = 0; w < kKeyWords; ++w) ckey[w] = ct[w] ^ ks[w];
    proof_key_ = ckey;
    proof_valid_ = true;
    if (params_.rekey) proof_ks_ = pkt_ks(h);  // its answers are MAC'd under the slot it names
  }
  if (params_.strong && strong_pkt(h) != (c.mode != 0)) return reject(Reason::kModeMismatch, false);
  if (h.dst_part != c.owner_part) return reject(Reason::kDstPartMismatch, false);
  if (c.dir == u(Dir::kRecv)) {
    // I6: a remote CONNECT must not change a key the local agent set.
    if (k.valid) return reject(Reason::kKeyLocked, true);
    return reject(Reason::kWrongDir, false);
  }
  if (k.valid) {
    // Rekey (strong-mode.md 7): a strong CONNECT at an OPEN entry may install a new key.
    if (rekey_entry(h.dst_ep) && strong_pkt(h) && c.state == u(State::kOpen) && k.origin == u(Origin::kRemote))
      return rekey_connect(h, ckey);
    // A duplicate of the CONNECT that opened the entry is answered again (its
    // first ACK may be lost or overtaken); any other key is I3's KEY_PRESENT.
    const bool same_key = key_eq_ct(ckey, k.key);
    if (c.state == u(State::kOpen) && k.origin == u(Origin::kRemote) && ids_match(c, h) && gens_match(c, h) &&
        same_key) {
      Header a = response(h, Opcode::kConnectAck);
      if (strong_pkt(h)) seal(a, k.key);
      else a.key = k.key;
      egq_[1].push(a);
      return;
    }
    return reject(Reason::kKeyPresent, false);
  }
  if (c.state != u(State::kAuthorized)) return reject(Reason::kNotOpen, false);
  if (h.src_node != c.rnode) return reject(Reason::kSrcNodeMismatch, false);
  if (h.src_part != c.rpart) return reject(Reason::kSrcPartMismatch, false);
  if (h.src_ep != c.rep) return reject(Reason::kSrcEpMismatch, false);
  if (!gens_match(c, h)) return reject(Reason::kStaleGen, false);  // a CONNECT of an earlier epoch
  if (key_eq_ct(ckey, Key{})) return reject(Reason::kKeyZero, false);  // keys are never all-zero
  k.key = ckey;
  k.valid = true;
  k.origin = static_cast<uint8_t>(Origin::kRemote);
  touch(h.dst_ep);
  if (rekey_entry(h.dst_ep)) {  // slot 'KS' holds the first key; a rekey must name a later CONNECT
    Rk& q = rk_[h.dst_ep];
    q = Rk{};
    q.ks = pkt_ks(h);
    q.ctr = uint32_t{h.seq} | uint32_t{h.tag} << 16;
  }
  c.state = u(State::kOpen);
  c.tx_seq = 0;
  c.nack_seq = 0;
  rel_open(h.dst_ep);
  c.last_reason = 0;
  raise(c.owner_part, Irq::kConn);
  bump(stat_[kStatConnectAccepted]);
  Header a = response(h, Opcode::kConnectAck);
  if (strong_pkt(h)) seal(a, k.key, rk_[h.dst_ep].ks);  // proves it by a MAC
  else a.key = k.key;  // proves to the receiver's CMM that this CMM stored its key
  egq_[1].push(a);
}

// A strong CONNECT at an OPEN send entry of a rekey core (strong-mode.md 7):
// after the unwrap and the mode check. Installs the key in the other slot
// if it comes from the peer, in this epoch, and later than the CONNECT that
// installed the current key; re-answers a duplicate of that one.
void CmmCore::rekey_connect(const Header& h, const Key& ckey) {
  const uint32_t ep = h.dst_ep;
  Cst& c = cst_[ep];
  Ckt& k = ckt_[ep];
  Rk& q = rk_[ep];
  auto reject = [&](Reason r) {
    nack(h, r);
    log_error(c.owner_part, r, ep, h.opcode, true, false, h.src_node);
  };
  if (h.dst_part != c.owner_part) return reject(Reason::kDstPartMismatch);
  if (h.src_node != c.rnode) return reject(Reason::kSrcNodeMismatch);
  if (h.src_part != c.rpart) return reject(Reason::kSrcPartMismatch);
  if (h.src_ep != c.rep) return reject(Reason::kSrcEpMismatch);
  if (!gens_match(c, h)) return reject(Reason::kStaleGen);
  const uint32_t n = uint32_t{h.seq} | uint32_t{h.tag} << 16;
  if (pkt_ks(h) == q.ks) {
    if (!key_eq_ct(ckey, k.key)) return reject(Reason::kKeyPresent);
    Header a = response(h, Opcode::kConnectAck);  // a duplicate: its first ACK may be lost
    seal(a, k.key, q.ks);
    egq_[1].push(a);
    return;
  }
  // The link counter only grows: an older CONNECT (a replay) never reinstalls a key.
  if (n <= q.ctr) return reject(Reason::kSeqOld);
  if (key_eq_ct(ckey, Key{})) return reject(Reason::kKeyZero);
  q.old = k.key;  // kept to check the receiver's answers MAC'd under it until one under the new key
  q.old_valid = true;
  k.key = ckey;
  touch(ep);
  q.ks = pkt_ks(h);
  q.ctr = n;
  q.use = 0;
  ++rekeys_installed_;
  if (obs_) obs_->on_rekey(cycle_, ep, true);
  Header a = response(h, Opcode::kConnectAck);
  seal(a, k.key, q.ks);
  egq_[1].push(a);
}

void CmmCore::dv_preload_counters(uint32_t margin) {
  auto near = [margin](uint32_t bits) {
    const uint32_t cap = mask(bits);
    return cap - (margin < cap ? margin : cap);
  };
  for (auto& r : reject_count_) r = near(32);
  for (auto& s : stat_) s = near(32);
  for (auto& c : cst_) {
    c.tx_sent = near(32);
    c.tx_nacks = static_cast<uint16_t>(near(CMM_CST_STATUS_TX_NACKS_BITS));
    c.tx_lost = static_cast<uint16_t>(near(16));
    c.rx_lost = static_cast<uint16_t>(near(16));
  }
  for (auto& p : part_) {
    p.exc_count = static_cast<uint16_t>(near(16));
    p.alarm_count = static_cast<uint16_t>(near(16));
    p.alarm_cnt = static_cast<uint16_t>(near(16));
    for (auto& e : p.errlog.e) e.repeat = static_cast<uint16_t>(near(16));
    p.cmd_status = CMM_FIELD_SET(p.cmd_status, CMM_CMD_STATUS_COUNT, near(CMM_CMD_STATUS_COUNT_BITS));
  }
  tf_count_ = static_cast<uint16_t>(near(CMM_TABLE_FAULT_COUNT_BITS));
  // Sequence numbers move back by the margin (mod 2^16): an entry at 0 lands
  // just below the wrap. Both ends of a loopback channel and nack_seq move
  // together, so what the entries compare is kept. The stored parity follows
  // the change (a pending fault stays a mismatch). Reliable entries (C++ only,
  // window slots keyed by seq) keep theirs.
  const uint16_t d = static_cast<uint16_t>(margin);
  for (uint32_t ep = 0; ep < cst_.size(); ++ep) {
    if (reliable_entry(ep)) continue;
    Cst& c = cst_[ep];
    const uint16_t tx = static_cast<uint16_t>(c.tx_seq - d), rx = static_cast<uint16_t>(c.rx_seq - d);
    c.par = static_cast<uint8_t>(c.par ^ __builtin_parity(uint32_t{static_cast<uint16_t>(c.tx_seq ^ tx ^ c.rx_seq ^ rx)}));
    c.tx_seq = tx;
    c.rx_seq = rx;
    c.nack_seq = static_cast<uint16_t>(c.nack_seq - d);
  }
}

const Key* CmmCore::slot_key(uint32_t ep, uint8_t ks) const {
  const Rk& q = rk_[ep];
  if (!ckt_[ep].valid) return nullptr;
  if (ks == q.ks) return &ckt_[ep].key;
  return q.old_valid ? &q.old : nullptr;
}

void CmmCore::retire_old(uint32_t ep, bool send_side) {
  Rk& q = rk_[ep];
  q.old = Key{};
  q.old_valid = false;
  if (!send_side) {
    ++rekeys_retired_;
    if (obs_) obs_->on_rekey(cycle_, ep, false);
  }
}

void CmmCore::ingress_connect_ack(const Header& h) {
  if (h.dst_node != straps_.node_id || h.dst_ep >= geo_.num_endpoints) return count_reject(Reason::kStrayResponse, &h);
  if (faulted(h.dst_ep)) return count_reject(Reason::kTableFault, &h);
  Cst& c = cst_[h.dst_ep];
  const Ckt& k = ckt_[h.dst_ep];
  if (rekey_entry(h.dst_ep) && rk_[h.dst_ep].pending && c.state == u(State::kOpen) && c.dir == u(Dir::kRecv) &&
      h.dst_part == c.owner_part && ids_match(c, h)) {
    // The sender's CMM installed the REKEY's key (strong-mode.md 7): MAC'd under it, in its slot.
    if (!k.valid || !strong_pkt(h) || pkt_ks(h) != rk_[h.dst_ep].ks || !mac_ok(k.key, h, nullptr, 0))
      return count_reject(Reason::kBadMac, &h);
    if (!gens_match(c, h)) return count_reject(Reason::kStaleGen, &h);
    rk_[h.dst_ep].pending = false;
    raise(c.owner_part, Irq::kConn);
    return;
  }
  if (c.state != u(State::kConnecting) || c.dir != u(Dir::kRecv) || h.dst_part != c.owner_part || !ids_match(c, h))
    return count_reject(Reason::kStrayResponse, &h);
  const bool strong = strong_entry(h.dst_ep);
  if (strong && (!k.valid || !strong_pkt(h) || !mac_ok(k.key, h, nullptr, 0)))
    return count_reject(Reason::kBadMac, &h);
  if (!gens_match(c, h)) return count_reject(Reason::kStaleGen, &h);
  if (!k.valid || (!strong && !key_eq_ct(h.key, k.key))) return count_reject(Reason::kUnauthResponse, &h);
  c.state = u(State::kOpen);
  c.last_reason = 0;
  raise(c.owner_part, Irq::kConn);
}

void CmmCore::ingress_nack(const Header& h) {
  // Strong cores: the original opcode is aux without the STRONG bit (strong-mode.md 11.2).
  const uint8_t nop = params_.strong ? static_cast<uint8_t>(h.aux & ~kStrongBit & (params_.rekey ? ~kKsBit : 0xFF))
                                     : h.aux;
  // NACKs of CLOSE and MGMT address a partition, every other one its entry.
  if (nop != u(Opcode::kClose) && nop != u(Opcode::kMgmt) && h.dst_node == straps_.node_id &&
      h.dst_ep < geo_.num_endpoints && faulted(h.dst_ep))
    return count_reject(Reason::kTableFault, &h);
  const bool owned = h.dst_node == straps_.node_id && h.dst_ep < geo_.num_endpoints &&
                     cst_[h.dst_ep].state != u(State::kFree) && cst_[h.dst_ep].owner_part == h.dst_part &&
                     ids_match(cst_[h.dst_ep], h);
  const Reason why = h.reason < kReasonCount ? static_cast<Reason>(h.reason) : Reason::kBadOpcode;
  // A NACK changes an entry only if it proves the key and the epochs.
  // Strong entry: the MAC first (11.7); then the generations prove the epoch.
  // Rekey cores: the key of the slot the NACK names (KEY_SLOT_STALE if retired).
  Reason mac_why = Reason::kBadMac;
  auto bad_mac = [&]() {
    const Ckt& k = ckt_[h.dst_ep];
    if (!strong_entry(h.dst_ep) || !k.valid) return false;
    if (!strong_pkt(h)) return true;
    const Key* sk = rekey_entry(h.dst_ep) ? slot_key(h.dst_ep, pkt_ks(h)) : &k.key;
    if (!sk) mac_why = Reason::kKeySlotStale;
    return !sk || !mac_ok(*sk, h, nullptr, 0);
  };
  auto proven = [&]() {
    const Cst& c = cst_[h.dst_ep];
    const Ckt& k = ckt_[h.dst_ep];
    return gens_match(c, h) && k.valid && (strong_entry(h.dst_ep) || key_eq_ct(h.key, k.key));
  };
  switch (static_cast<Opcode>(nop)) {
    case Opcode::kData: {
      if (!owned || cst_[h.dst_ep].dir != u(Dir::kSend)) break;
      if (bad_mac()) return count_reject(mac_why, &h);
      if (!proven()) return count_reject(Reason::kUnauthResponse, &h);
      Cst& c = cst_[h.dst_ep];
      if (rekey_entry(h.dst_ep) && pkt_ks(h) == rk_[h.dst_ep].ks && rk_[h.dst_ep].old_valid)
        retire_old(h.dst_ep, true);  // the receiver answers under the new key now
      if (why != Reason::kSeqOld) {
        // At most once: a NACK answers one DATA that was sent and not answered yet
        // (the receiver answers in order); a duplicate or replay is SEQ_OLD.
        // Believable: seq in [nack_seq, tx_seq - 1]; the send path keeps that
        // window at most 2^15 wide, so a long NACK-free run never wraps it.
        const uint16_t fresh = static_cast<uint16_t>(h.seq - c.nack_seq);
        const uint16_t window = static_cast<uint16_t>(c.tx_seq - c.nack_seq);
        if (fresh >= window) return count_reject(Reason::kSeqOld, &h);
        c.nack_seq = static_cast<uint16_t>(h.seq + 1u);
      }
      c.tx_last_reason = h.reason;
      if (why != Reason::kSeqGap) c.tx_last_tag = h.tag;  // a SEQ_GAP NACK's tag is the missing count
      c.last_reason = h.reason;
      raise(c.owner_part, Irq::kTxnack);
      // TX_NACKS counts refused messages only, so that every message is
      // delivered, refused or reported lost exactly once.
      if (why == Reason::kSeqGap) {
        // h.tag messages before DATA h.seq were lost (that one was
        // delivered): counted apart from the refusals, and logged.
        c.tx_lost = sat_add16(c.tx_lost, h.tag);
        log_error(c.owner_part, why, h.dst_ep, h.opcode, true, false, h.src_node);
      } else if (why != Reason::kSeqOld && c.tx_nacks != 0xFFFF) {
        ++c.tx_nacks;  // SEQ_OLD: a copy of one already delivered or already reported lost
      }
      return;
    }
    case Opcode::kConnect: {
      if (!owned) break;
      Cst& c = cst_[h.dst_ep];
      if (rekey_entry(h.dst_ep) && rk_[h.dst_ep].pending && c.state == u(State::kOpen) &&
          c.dir == u(Dir::kRecv)) {
        // The REKEY's CONNECT was refused (strong-mode.md 7): back to the old key, the agent is told.
        Rk& q = rk_[h.dst_ep];
        if (!strong_pkt(h) || pkt_ks(h) != q.ks || !mac_ok(ckt_[h.dst_ep].key, h, nullptr, 0))
          return count_reject(Reason::kBadMac, &h);
        if (!gens_match(c, h)) return count_reject(Reason::kUnauthResponse, &h);
        if (h.seq != c.tx_seq) break;  // an older attempt's NACK
        ckt_[h.dst_ep].key = q.old;
        touch(h.dst_ep);
        q.ks = static_cast<uint8_t>(q.ks ^ 1u);
        q.old = Key{};
        q.old_valid = q.pending = false;
        q.use = q.use_old;
        c.last_reason = h.reason;
        raise(c.owner_part, Irq::kConn);
        log_error(c.owner_part, why, h.dst_ep, h.opcode, true, false, h.src_node);
        return;
      }
      if (c.state != u(State::kConnecting) || c.dir != u(Dir::kRecv)) break;
      if (bad_mac()) return count_reject(mac_why, &h);
      if (!proven()) return count_reject(Reason::kUnauthResponse, &h);
      // Only the latest attempt's NACK: an older one may be overtaken by the
      // re-sent CONNECT's success (a half-open channel otherwise).
      if (h.seq != c.tx_seq) break;
      zeroize(h.dst_ep);
      c.state = u(State::kAuthorized);
      c.last_reason = h.reason;
      raise(c.owner_part, Irq::kConn);
      log_error(c.owner_part, why, h.dst_ep, h.opcode, true, false, h.src_node);
      return;
    }
    case Opcode::kClose:
    case Opcode::kMgmt:
      if (h.dst_node != straps_.node_id || h.dst_part >= geo_.num_partitions) break;
      log_error(h.dst_part, why, h.dst_ep, nop, true, false, h.src_node);
      return;
    default:
      break;
  }
  count_reject(Reason::kStrayResponse, &h);
}

void CmmCore::ingress_close(const Header& h) {
  if (h.dst_node != straps_.node_id) return nack(h, Reason::kMisrouted);
  if (h.dst_ep >= geo_.num_endpoints) return nack(h, Reason::kBadEp);
  if (faulted(h.dst_ep)) return count_reject(Reason::kTableFault, &h);  // out of service, unanswered
  Cst& c = cst_[h.dst_ep];
  const Ckt& k = ckt_[h.dst_ep];
  if (c.state == u(State::kFree)) return nack(h, Reason::kNotOpen);
  auto reject = [&](Reason r) {
    nack(h, r);  // a NACK of CLOSE never carries a key
    log_error(c.owner_part, r, h.dst_ep, h.opcode, true, false, h.src_node);
  };
  const bool strong = strong_entry(h.dst_ep) && k.valid;
  const Key* sk = strong && rekey_entry(h.dst_ep) && strong_pkt(h) ? slot_key(h.dst_ep, pkt_ks(h)) : &k.key;
  if (strong && (!strong_pkt(h) || !sk || !mac_ok(*sk, h, nullptr, 0))) {
    const Reason r = sk ? Reason::kBadMac : Reason::kKeySlotStale;
    count_reject(r, &h);  // never answered (11.7)
    return log_error(c.owner_part, r, h.dst_ep, h.opcode, true, false, h.src_node);
  }
  if (h.dst_part != c.owner_part) return reject(Reason::kDstPartMismatch);
  if (h.src_node != c.rnode) return reject(Reason::kSrcNodeMismatch);
  if (h.src_part != c.rpart) return reject(Reason::kSrcPartMismatch);
  if (h.src_ep != c.rep) return reject(Reason::kSrcEpMismatch);
  // Crossing CLOSEs: both entries already left the epoch; nothing to answer.
  if (c.state == u(State::kAllocated) || c.state == u(State::kClosed))
    return count_reject(Reason::kStrayResponse, &h);
  if (!gens_match(c, h)) return reject(Reason::kStaleGen);
  if (k.valid) {
    if (!strong && !key_eq_ct(h.key, k.key)) return reject(Reason::kBadKey);
    if (c.state != u(State::kConnecting) && c.state != u(State::kOpen))
      return count_reject(Reason::kStrayResponse, &h);
    zeroize(h.dst_ep);
    c.state = u(State::kClosed);  // queued messages stay readable
    raise(c.owner_part, Irq::kConn);
    return;
  }
  if (c.dir == u(Dir::kSend) && c.state == u(State::kAuthorized)) {
    // The CLOSE overtook its CONNECT: leave a tombstone so the late CONNECT
    // meets CLOSED (NOT_OPEN) instead of opening a channel nobody receives on.
    c.state = u(State::kClosed);
    raise(c.owner_part, Irq::kConn);
    return;
  }
  count_reject(Reason::kStrayResponse, &h);
}

// ---------------------------------------------------------------- reliable delivery (strong-mode.md 6)

void CmmCore::ack(const Header& d, Reason r) {
  if (r != Reason::kOk) count_reject(r, &d);
  Header a = response(d, Opcode::kAck);
  a.reason = static_cast<uint8_t>(r);
  a.seq = cst_[d.dst_ep].rx_seq;  // cumulative: every DATA before it was delivered
  seal(a, proof_key_, proof_ks_);  // the DATA's MAC passed: proof_key_ is the channel key (of its slot)
  egq_[1].push(a);                 // room guaranteed by ing_ready
  bump(stat_[u(Stat::kAckSent)]);
}

void CmmCore::rel_open(uint32_t ep) {
  rel_[ep] = Rel{};
  rel_clear(ep);
}

uint32_t CmmCore::window_used(uint32_t ep) const {
  if (ep >= geo_.num_endpoints || !rel_on(ep)) return 0;
  return static_cast<uint16_t>(rel_[ep].pushed - rel_[ep].base);
}

uint32_t CmmCore::eg_retx_payload(uint8_t* dst) const {
  if (!out_.eg_valid || out_.eg_cls != 0 || !out_.eg_retx) return 0;
  const EgRetx& r = egq_retx_[egq_[0].head];
  const uint32_t n = out_.eg_hdr.len <= kMaxMsgBytes ? out_.eg_hdr.len : kMaxMsgBytes;
  const uint8_t* src = &win_pay_[(r.ep * params_.tx_window + r.slot) * size_t{kMaxMsgBytes}];
  std::copy(src, src + n, dst);
  return n;
}

void CmmCore::ingress_ack(const Header& h) {
  if (h.dst_node != straps_.node_id || h.dst_ep >= geo_.num_endpoints) return count_reject(Reason::kStrayResponse, &h);
  if (faulted(h.dst_ep)) return count_reject(Reason::kTableFault, &h);
  Cst& c = cst_[h.dst_ep];
  const Ckt& k = ckt_[h.dst_ep];
  if (c.state == u(State::kFree) || c.owner_part != h.dst_part || !ids_match(c, h) || c.dir != u(Dir::kSend) ||
      !reliable_entry(h.dst_ep) || !k.valid)
    return count_reject(Reason::kStrayResponse, &h);
  // The MAC first: nothing unauthenticated moves the window (a forged ACK
  // would make the sender drop copies the receiver never got).
  const Key* sk = rekey_entry(h.dst_ep) && strong_pkt(h) ? slot_key(h.dst_ep, pkt_ks(h)) : &k.key;
  if (!sk) return count_reject(Reason::kKeySlotStale, &h);  // under a key slot retired by a rekey
  if (!strong_pkt(h) || !mac_ok(*sk, h, nullptr, 0)) return count_reject(Reason::kBadMac, &h);
  if (!gens_match(c, h)) return count_reject(Reason::kStaleGen, &h);
  if (c.state != u(State::kOpen)) return count_reject(Reason::kStrayResponse, &h);
  if (rekey_entry(h.dst_ep) && pkt_ks(h) == rk_[h.dst_ep].ks && rk_[h.dst_ep].old_valid)
    retire_old(h.dst_ep, true);  // the receiver answers under the new key now
  Rel& R = rel_[h.dst_ep];
  const uint16_t out = static_cast<uint16_t>(R.pushed - R.base);
  const uint16_t adv = static_cast<uint16_t>(h.seq - R.base);
  // An ACK beyond what was sent, or behind the window (a replay of an old one): changes nothing.
  if (adv > out) return count_reject(Reason::kSeqOld, &h);
  const Reason why = h.reason < kReasonCount ? static_cast<Reason>(h.reason) : Reason::kBadOpcode;
  if (adv > 0) {
    const uint16_t old = R.base;
    R.base = h.seq;
    R.retries = 0;
    R.timeout = params_.retx_timeout_cycles;
    R.deadline = cycle_ + R.timeout;
    if (static_cast<uint16_t>(R.retx_next - old) < adv) R.retx_next = R.base;  // no need to resend those
    if (static_cast<uint16_t>(R.retx_end - old) < adv) R.retx_end = R.base;
    if (R.base == R.pushed) rel_clear(h.dst_ep);  // all acknowledged: timer off
  }
  if (why == Reason::kSeqAhead && R.base != R.pushed) {
    // Go back: resend the window from the first unacknowledged DATA.
    R.retx_next = R.base;
    R.retx_end = R.pushed;
    R.deadline = cycle_ + R.timeout;
  } else if (why == Reason::kRxqFull && R.base != R.pushed) {
    // The receiver is full: resend after the timeout. The round still counts,
    // so a receiver that never drains ends in RETX_EXHAUSTED, not a livelock.
    R.deadline = cycle_ + R.timeout;
  } else if (adv == 0 && why == Reason::kOk) {
    count_reject(Reason::kSeqOld, &h);  // a duplicate acknowledgement
  }
}

void CmmCore::rel_edge() {
  for (uint32_t ep = 0; ep < geo_.num_endpoints; ++ep) {
    if (!rel_on(ep)) continue;
    Rel& R = rel_[ep];
    if (!reliable_entry(ep) || cst_[ep].state != u(State::kOpen) || R.base == R.pushed) {
      rel_clear(ep);  // closed meanwhile: the window is abandoned
      continue;
    }
    if (cycle_ < R.deadline) continue;
    if (R.retries >= params_.retx_max) {
      if (egq_[0].free() >= 2) rel_exhausted(ep);  // its CLOSE needs room; else at a later edge
      continue;
    }
    ++R.retries;
    R.timeout = R.timeout >= (1u << 20) ? R.timeout : R.timeout * 2;
    R.deadline = cycle_ + R.timeout;
    R.retx_next = R.base;
    R.retx_end = R.pushed;
  }
  // One retransmission per edge, round robin; one request slot stays free
  // for the TX engine's DATA (the register port may have taken the rest).
  if (egq_[0].free() < 2) return;
  for (uint32_t i = 0; i < geo_.num_endpoints; ++i) {
    const uint32_t ep = (rel_rr_ + i) % geo_.num_endpoints;
    if (!rel_on(ep)) continue;
    Rel& R = rel_[ep];
    if (R.retx_next == R.retx_end) continue;
    const uint32_t slot = R.retx_next % params_.tx_window;
    const uint32_t phys = (egq_[0].head + egq_[0].count) % geo_.egq_depth;
    Header& wh = win_hdr_[ep * params_.tx_window + slot];
    if (rekey_entry(ep) && pkt_ks(wh) != rk_[ep].ks) {
      // Sent under a key a rekey replaced: re-sealed under the newest key, same seq and
      // payload (the receiver retires the old slot at the first packet under the new one).
      wh.aux = static_cast<uint8_t>((wh.aux & ~kKsBit) | rk_[ep].ks << kKeySlotAuxBit);
      wh.key = mac(ckt_[ep].key, wh, win_pay(ep, slot), wh.len);
    }
    push_req(wh);
    egq_retx_[phys] = EgRetx{true, static_cast<uint16_t>(ep), static_cast<uint8_t>(slot)};
    ++win_pend_[ep * params_.tx_window + slot];
    R.retx_next = static_cast<uint16_t>(R.retx_next + 1u);
    bump(stat_[u(Stat::kRetxSent)]);
    rel_rr_ = ep + 1;
    return;
  }
}

void CmmCore::rel_exhausted(uint32_t ep) {
  // Bounded retries (strong-mode.md 6): every unacknowledged message is
  // reported to the sender (TX_NACKS, EP_TX_STATUS, log, IRQ), never silent;
  // the channel closes at both ends so nothing later overtakes the gap.
  Cst& c = cst_[ep];
  const uint16_t n = static_cast<uint16_t>(c.tx_seq - rel_[ep].base);
  count_reject(Reason::kRetxExhausted);
  c.tx_last_reason = static_cast<uint8_t>(Reason::kRetxExhausted);
  c.last_reason = static_cast<uint8_t>(Reason::kRetxExhausted);
  c.tx_nacks = sat_add16(c.tx_nacks, n);
  log_error(c.owner_part, Reason::kRetxExhausted, ep, u(Opcode::kData), false, false, c.rnode);
  raise(c.owner_part, Irq::kTxnack);
  raise(c.owner_part, Irq::kConn);
  Header h = make_hdr(Opcode::kClose, c.owner_part, ep, c.rnode, c.rpart, c.rep);
  h.src_gen = c.gen;
  h.dst_gen = c.rgen;
  seal(h, ckt_[ep].key, rk_[ep].ks);
  push_req(h);
  bump(stat_[kStatCloseSent]);
  zeroize(ep);
  c.state = u(State::kClosed);
  touch(ep);
  rel_open(ep);
}

void CmmCore::ingress_mgmt(const Header& h) {
  if (h.dst_node != straps_.node_id) return nack(h, Reason::kMisrouted);
  if (h.dst_part >= geo_.num_partitions) return nack(h, Reason::kBadPart);
  Part& p = part_[h.dst_part];
  if (p.mgmtq.full()) return nack(h, Reason::kMgmtqFull);
  p.mgmtq.push(MgmtMsg{h.src_node, h.src_part, h.key});
  raise(h.dst_part, Irq::kMgmt);
  bump(stat_[kStatMgmtReceived]);
}

// ---------------------------------------------------------------- register port

void CmmCore::reg_access(const PinsIn& in) {
  const uint32_t a = in.reg_req_addr & mask(addr_bits_);
  const uint32_t part = in.reg_req_part;
  const bool kernel = in.reg_req_priv == static_cast<uint8_t>(Priv::kKernel);
  const bool wr = in.reg_req_write;
  const uint32_t wd = in.reg_req_wdata;
  uint32_t rd = 0;
  uint8_t rsp = static_cast<uint8_t>(Rsp::kOk);

  auto finish = [&]() {
    rsp_valid_ = true;
    rsp_rdata_ = rsp == u(Rsp::kOk) ? rd : 0;
    rsp_status_ = rsp;
  };
  auto decerr = [&]() {
    count_reject(Reason::kBadAddr);
    log_error(part, Reason::kBadAddr, 0, 0, false, false, straps_.node_id);
    rsp = static_cast<uint8_t>(Rsp::kDecerr);
    finish();
  };
  auto denied = [&](uint32_t ep) {
    count_reject(Reason::kDenied);
    log_error(part, Reason::kDenied, ep, 0, false, false, straps_.node_id);
    rsp = static_cast<uint8_t>(Rsp::kDenied);
    finish();
  };
  auto refuse = [&](Reason r) {
    count_reject(r);
    rsp = static_cast<uint8_t>(Rsp::kReject);
  };
  // A write setting a bit outside the register's writable fields changes nothing.
  auto reserved = [&](uint32_t wmask) {
    if ((wd & ~wmask) == 0) return false;
    refuse(Reason::kReservedBits);
    finish();
    return true;
  };

  if (a & 3u) return decerr();
  if (part >= geo_.num_partitions) {
    count_reject(Reason::kDenied);
    rsp = static_cast<uint8_t>(Rsp::kDenied);
    return finish();
  }
  Part& P = part_[part];
  // The generated decode (hw/data/cmm.toml): register, word index, entry, and
  // the class of requester it admits.
  const RegHit hit = reg_decode(a, geo_.num_endpoints);
  const RegRule& rule = reg_rule(hit.id == RegId::kNone ? RegId::kId : hit.id);
  const Who who = hit.id == RegId::kNone ? Who::kAny : rule.who;
  const uint32_t i = hit.elem;

  // Management plane (strong-mode.md 11.3): the board-management port reaches
  // only the global and FIRMWARE registers; nobody else reaches FIRMWARE ones.
  if (params_.strong && hit.id != RegId::kNone) {
    const bool link = who == Who::kFirmware;
    if (in.reg_req_fw ? !(link || who == Who::kAny) : link) return denied(0);
    if (link) {
      link_access(in, a, rd, rsp);
      return finish();
    }
  } else if (params_.strong && in.reg_req_fw) {
    return denied(0);
  }
  // FIRMWARE registers exist only in strong-mode cores.
  if (hit.id == RegId::kNone || who == Who::kFirmware) return decerr();

  // Global registers readable by anyone.
  if (who == Who::kAny) {
    if (wr) {
      refuse(Reason::kReadOnly);
      return finish();
    }
    if (hit.id == RegId::kId) rd = kMagic;
    if (hit.id == RegId::kNodeId) rd = straps_.node_id;
    if (hit.id == RegId::kGeometry) {
      // The run-time geometry (NUM_EP is 17 bits: 1..65,536).
      rd = CMM_FIELD_SET(rd, CMM_GEOMETRY_NUM_EP, geo_.num_endpoints);
      rd = CMM_FIELD_SET(rd, CMM_GEOMETRY_NUM_PART, geo_.num_partitions);
      rd = CMM_FIELD_SET(rd, CMM_GEOMETRY_RXQ_DEPTH, geo_.rxq_depth);
      rd = CMM_FIELD_SET(rd, CMM_GEOMETRY_KEY_WORDS, kKeyWords);
    }
    return finish();
  }

  // Kernel bank (banked by requester partition) and node-wide counters.
  if (who == Who::kKernel) {
    const RegId id = hit.id;
    if (!kernel) return denied(0);
    if (wr && rule.access == Access::kRo) {
      refuse(Reason::kReadOnly);
      return finish();
    }
    if (!wr) {
      // The read mux has no CKT input and KEY staging is write-only: I1 by construction.
      if (id == RegId::kPartInfo) {
        rd = CMM_FIELD_SET(rd, CMM_PART_INFO_PART, part);
        rd = CMM_FIELD_SET(rd, CMM_PART_INFO_QUOTA, straps_.quota[part]);
      } else if (hit.id == RegId::kPartUsed) {
        rd = CMM_FIELD_SET(rd, CMM_PART_USED_USED, P.used);
      } else if (id == RegId::kCmdStatus) {
        rd = P.cmd_status;
      } else if (id == RegId::kIrqStatus) {
        rd = P.irq_status;
      } else if (id == RegId::kIrqEnable) {
        rd = P.irq_enable;
      } else if (id == RegId::kMgmtTx) {
        rd = P.mgmt_tx[i];
      } else if (id == RegId::kMgmtDst) {
        rd = P.mgmt_dst;
      } else if (id == RegId::kMgmtRxStatus) {
        rd = CMM_FIELD_SET(rd, CMM_MGMT_RX_STATUS_COUNT, P.mgmtq.count);
        if (!P.mgmtq.empty()) {
          rd = CMM_FIELD_SET(rd, CMM_MGMT_RX_STATUS_SRC_NODE, P.mgmtq.front().src_node);
          rd = CMM_FIELD_SET(rd, CMM_MGMT_RX_STATUS_SRC_PART, P.mgmtq.front().src_part);
        }
      } else if (id == RegId::kMgmtRx) {
        rd = P.mgmtq.empty() ? 0 : P.mgmtq.front().words[i];
      } else if (id == RegId::kErrlogStatus) {
        rd = CMM_FIELD_SET(rd, CMM_ERRLOG_STATUS_COUNT, P.errlog.count);
        rd = CMM_FIELD_SET(rd, CMM_ERRLOG_STATUS_LOST, P.errlog_lost);
      } else if (id == RegId::kErrlogHead) {
        rd = P.errlog.empty() ? 0 : P.errlog.front().word;
      } else if (id == RegId::kErrlogHeadRepeat) {
        rd = P.errlog.empty() ? 0 : P.errlog.front().repeat;
      } else if (id == RegId::kExcCount) {
        rd = P.exc_count;
      } else if (id == RegId::kExcFirst) {
        rd = P.exc_first;
      } else if (id == RegId::kExcLast) {
        rd = P.exc_last;
      } else if (id == RegId::kAlarmCfg) {
        rd = P.alarm_cfg;
      } else if (id == RegId::kAlarmCount) {
        rd = P.alarm_count;
      } else if (id == RegId::kKeygenStatus) {
        // Status only: nothing of K, the counter or the result has a read path (I1).
        rd = CMM_FIELD_SET(rd, CMM_KEYGEN_STATUS_READY, kg_ready_);
        rd = CMM_FIELD_SET(rd, CMM_KEYGEN_STATUS_SEEDED, kg_seeded_);
      } else if (id == RegId::kTableFault) {
        rd = CMM_FIELD_SET(rd, CMM_TABLE_FAULT_COUNT, tf_count_);
        rd = CMM_FIELD_SET(rd, CMM_TABLE_FAULT_LAST_EP, tf_last_ep_);
        rd = CMM_FIELD_SET(rd, CMM_TABLE_FAULT_LAST_TABLE, tf_last_table_);
      } else if (id == RegId::kRejectCount) {
        rd = i < kReasonCount ? reject_count_[i] : 0;
      } else if (id == RegId::kStat) {
        rd = stat_[i];
      }
      // KEY and CMD read as 0.
      return finish();
    }
    // Writes.
    if (id == RegId::kKey) {
      // Atomic staging: while partly written, the bank belongs to its first writer.
      if (P.key_written != 0 && P.key_pid != in.reg_req_pid) {
        refuse(Reason::kKeyStageBusy);
        return finish();
      }
      if (P.key_written == 0) P.key_pid = in.reg_req_pid;
      P.key_written = static_cast<uint8_t>(P.key_written | (1u << i));
      P.key_stage[i] = wd;
    } else if (id == RegId::kCmd) {
      if (reserved(rule.wmask)) return;
      const uint32_t op = CMM_FIELD_GET(wd, CMM_CMD_OP);
      if (CMM_FIELD_GET(wd, CMM_CMD_HWKEY) && op != static_cast<uint32_t>(Cmd::kConnect) &&
          op != static_cast<uint32_t>(Cmd::kSetKey) && !(params_.rekey && op == static_cast<uint32_t>(Cmd::kRekey))) {
        refuse(Reason::kReservedBits);  // HWKEY means nothing to any other command
        return finish();
      }
      command(part, in.reg_req_pid, wd, rsp);
    } else if (id == RegId::kIrqStatus) {
      if (reserved(rule.wmask)) return;
      P.irq_status &= ~wd;
    } else if (id == RegId::kIrqEnable) {
      if (reserved(rule.wmask)) return;
      P.irq_enable = wd;
    } else if (id == RegId::kMgmtDst) {
      if (reserved(rule.wmask)) return;
      P.mgmt_dst = wd;
    } else if (id == RegId::kAlarmCfg) {
      if (reserved(rule.wmask)) return;
      P.alarm_cfg = wd;
      P.alarm_win_valid = P.alarm_fired = false;  // a new configuration starts a new count
      P.alarm_cnt = 0;
    } else {
      if (reserved(rule.wmask)) return;
      P.mgmt_tx[i] = wd;
    }
    return finish();
  }

  // CST window: kernel agent of the owning partition (I5); a cst_ep_ro
  // register also gives the owner process a masked read-only view (claims 13/17).
  if (who == Who::kCst || who == Who::kCstEpRo) {
    const uint32_t ep = hit.ep;
    const RegId id = hit.id;
    if (wr) touch_cst(ep);
    // Before the owner check: a faulted entry's owner field cannot be trusted.
    if (faulted(ep)) {
      refuse(Reason::kTableFault);
      return finish();
    }
    Cst& c = cst_[ep];
    const bool view = !kernel && !wr && who == Who::kCstEpRo && in.reg_req_pid == c.owner_pid;
    if (!(kernel || view) || c.state == u(State::kFree) || c.owner_part != part) return denied(ep);
    if (!wr) {
      if (id == RegId::kCstCtrl) {
        rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_DIR, c.dir);
        if (params_.strong) rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_MODE, c.mode);
        rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_STATE, c.state);
        rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_KEY_VALID, ckt_[ep].valid);
        rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_KEY_ORIGIN, ckt_[ep].origin);
        rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_OWNER_PART, c.owner_part);
        if (params_.rekey) {
          const Rk& q = rk_[ep];
          rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_OLD_SLOT_VALID, q.old_valid);
          rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_KEY_SLOT, q.ks);
          rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_REKEY_PENDING, q.pending);
          rd = CMM_FIELD_SET(rd, CMM_CST_CTRL_KEY_USE, q.use > 0xFFFFu ? 0xFFFFu : q.use);
        }
      } else if (id == RegId::kCstOwner) {
        rd = c.owner_pid;
      } else if (id == RegId::kCstRemote) {
        rd = CMM_FIELD_SET(rd, CMM_CST_REMOTE_NODE, c.rnode);
        rd = CMM_FIELD_SET(rd, CMM_CST_REMOTE_PART, c.rpart);
        rd = CMM_FIELD_SET(rd, CMM_CST_REMOTE_EP, c.rep);  // bits 11:0
      } else if (id == RegId::kCstStatus) {
        rd = CMM_FIELD_SET(rd, CMM_CST_STATUS_RXQ_COUNT, c.rxq_count);
        rd = CMM_FIELD_SET(rd, CMM_CST_STATUS_LAST_REASON, c.last_reason);
        rd = CMM_FIELD_SET(rd, CMM_CST_STATUS_TX_NACKS, c.tx_nacks);
      } else if (id == RegId::kCstGen) {
        rd = CMM_FIELD_SET(rd, CMM_CST_GEN_LOCAL, c.gen);
        rd = CMM_FIELD_SET(rd, CMM_CST_GEN_REMOTE, c.rgen);
      } else if (id == RegId::kCstRemoteHi) {
        rd = CMM_FIELD_SET(rd, CMM_CST_REMOTE_HI_EP, c.rep >> CMM_CST_REMOTE_EP_BITS);
      } else if (id == RegId::kCstSeq) {
        rd = CMM_FIELD_SET(rd, CMM_CST_SEQ_TX, c.tx_seq);
        rd = CMM_FIELD_SET(rd, CMM_CST_SEQ_RX, c.rx_seq);
      } else {
        rd = CMM_FIELD_SET(rd, CMM_CST_LOST_TX, c.tx_lost);
        rd = CMM_FIELD_SET(rd, CMM_CST_LOST_RX, c.rx_lost);
      }
      if (!kernel) rd &= rule.vmask;  // the owner's view: state-level fields only, no key state but valid
      return finish();
    }
    if (rule.access == Access::kRo) {
      refuse(Reason::kReadOnly);
      return finish();
    }
    if (reserved(rule.wmask)) return;
    if (c.state != u(State::kAllocated)) {
      refuse(Reason::kNotOpen);
      return finish();
    }
    if (id == RegId::kCstCtrl) {
      c.dir = static_cast<uint8_t>(CMM_FIELD_GET(wd, CMM_CST_CTRL_DIR));
      if (params_.strong) c.mode = static_cast<uint8_t>(CMM_FIELD_GET(wd, CMM_CST_CTRL_MODE));  // else ignored
    } else if (id == RegId::kCstOwner) {
      c.owner_pid = static_cast<uint16_t>(CMM_FIELD_GET(wd, CMM_CST_OWNER_PID));
    } else if (id == RegId::kCstGen) {
      c.rgen = static_cast<uint8_t>(CMM_FIELD_GET(wd, CMM_CST_GEN_REMOTE));
    } else if (id == RegId::kCstRemoteHi) {
      // Bits 15:12 of the remote endpoint: refused if no id with them exists
      // (the low bits may be stale here; the CST_REMOTE write that follows checks the whole id).
      const uint32_t hi = CMM_FIELD_GET(wd, CMM_CST_REMOTE_HI_EP) << CMM_CST_REMOTE_EP_BITS;
      if (hi >= geo_.num_endpoints) {
        refuse(Reason::kBadField);
        return finish();
      }
      c.rep = static_cast<uint16_t>(hi | (c.rep & CMM_CST_REMOTE_EP_MASK));
    } else {
      const uint32_t rp = CMM_FIELD_GET(wd, CMM_CST_REMOTE_PART);
      const uint32_t re = (c.rep & ~CMM_CST_REMOTE_EP_MASK) | CMM_FIELD_GET(wd, CMM_CST_REMOTE_EP);
      if (rp >= geo_.num_partitions || re >= geo_.num_endpoints) {
        refuse(Reason::kBadField);
        return finish();
      }
      c.rnode = static_cast<uint16_t>(CMM_FIELD_GET(wd, CMM_CST_REMOTE_NODE));
      c.rpart = static_cast<uint8_t>(rp);
      c.rep = static_cast<uint16_t>(re);
    }
    return finish();
  }

  // Endpoint pages: the owning process, or the kernel agent of its partition (I5).
  {
    const uint32_t ep = hit.ep;
    const RegId id = hit.id;
    Cst& c = cst_[ep];
    const bool in_tx = id == RegId::kTxBuf;
    const bool in_rx = id == RegId::kRxBuf;
    if (wr) touch_cst(ep);
    if (faulted(ep)) {
      refuse(Reason::kTableFault);
      return finish();
    }
    if (c.state == u(State::kFree) || c.owner_part != part || (!kernel && in.reg_req_pid != c.owner_pid))
      return denied(ep);
    if (in_tx) {
      if (!wr) return decerr();
      rsp_buf_ = true;
      return finish();
    }
    if (in_rx) {
      if (wr) return decerr();
      if (c.rxq_count == 0) {
        refuse(Reason::kRxqEmpty);
        return finish();
      }
      rsp_buf_ = true;
      rsp_buf_slot_ = c.rxq_head;
      return finish();
    }
    const bool is_cmd = rule.access == Access::kCmd;
    if (wr != is_cmd) {
      if (wr) refuse(Reason::kReadOnly);
      // Command registers read as 0.
      return finish();
    }
    if (id == RegId::kEpDoorbell) {
      doorbell(ep, wd, rsp);
    } else if (id == RegId::kEpRxPop) {
      if (c.rxq_count == 0) {
        refuse(Reason::kRxqEmpty);
      } else {
        c.rxq_head = static_cast<uint8_t>((c.rxq_head + 1) % geo_.rxq_depth);
        --c.rxq_count;
      }
    } else if (id == RegId::kEpTxStatus) {
      rd = CMM_FIELD_SET(rd, CMM_EP_TX_STATUS_LAST_REASON, c.tx_last_reason);
      rd = CMM_FIELD_SET(rd, CMM_EP_TX_STATUS_NACKS, c.tx_nacks > 0xFF ? 0xFF : c.tx_nacks);
      rd = CMM_FIELD_SET(rd, CMM_EP_TX_STATUS_LAST_TAG, c.tx_last_tag);
    } else if (id == RegId::kEpTxSent) {
      rd = c.tx_sent;
    } else if (id == RegId::kEpRxStatus) {
      rd = CMM_FIELD_SET(rd, CMM_EP_RX_STATUS_COUNT, c.rxq_count);
      rd = CMM_FIELD_SET(rd, CMM_EP_RX_STATUS_SLOT, c.rxq_head);
      if (c.rxq_count) rd = CMM_FIELD_SET(rd, CMM_EP_RX_STATUS_LEN, c.rxq[c.rxq_head].len);
    } else if (id == RegId::kEpRxTag) {
      if (c.rxq_count) rd = c.rxq[c.rxq_head].tag;
    }
    return finish();
  }
}

// LINK_KEY / LINK_CMD / LINK_STATUS, FIRMWARE requester only (strong-mode.md 11.3).
// The read mux has no link-key input: I1 extends to the link keys.
void CmmCore::link_access(const PinsIn& in, uint32_t a, uint32_t& rd, uint8_t& rsp) {
  const bool wr = in.reg_req_write;
  const uint32_t wd = in.reg_req_wdata;
  auto refuse = [&](Reason r) {
    count_reject(r);
    rsp = static_cast<uint8_t>(Rsp::kReject);
  };
  if (a == CMM_LINK_STATUS_OFFSET) {
    if (wr) refuse(Reason::kReadOnly);
    else rd = link_status_;
    return;
  }
  if (!wr) return;  // LINK_KEY and LINK_CMD read as 0
  if (a != CMM_LINK_CMD_OFFSET) {
    const uint32_t i = (a - CMM_LINK_KEY_OFFSET) / CMM_LINK_KEY_STRIDE;
    link_stage_[i] = wd;
    link_written_ = static_cast<uint8_t>(link_written_ | (1u << i));
    return;
  }
  if (wd & ~CMM_LINK_CMD_WMASK) return refuse(Reason::kReservedBits);
  const uint32_t op = CMM_FIELD_GET(wd, CMM_LINK_CMD_OP);
  const uint32_t node = CMM_FIELD_GET(wd, CMM_LINK_CMD_NODE);
  Reason r = Reason::kOk;
  if (op == static_cast<uint32_t>(LinkOp::kSet)) {
    uint32_t any = 0;
    for (uint32_t w = 0; w < kKeyWords; ++w) any |= link_stage_[w];
    if (link_written_ != (1u << kKeyWords) - 1u) r = Reason::kKeyIncomplete;
    else if (any == 0) r = Reason::kKeyZero;
    else {
      link_[node] = Link{link_stage_, true, 0};
      link_[node].par = static_cast<uint8_t>(link_parity(link_[node]));
    }
  } else if (op == static_cast<uint32_t>(LinkOp::kClear)) {
    link_[node] = Link{};
  } else if (op != static_cast<uint32_t>(LinkOp::kNop)) {
    r = Reason::kBadCmd;
  }
  link_stage_ = Key{};  // a staged link key never outlives one command
  link_written_ = 0;
  const uint32_t count = (CMM_FIELD_GET(link_status_, CMM_LINK_STATUS_COUNT) + 1) & CMM_LINK_STATUS_COUNT_MASK;
  uint32_t st = 0;
  st = CMM_FIELD_SET(st, CMM_LINK_STATUS_REASON, u(r));
  st = CMM_FIELD_SET(st, CMM_LINK_STATUS_NODE, node);
  st = CMM_FIELD_SET(st, CMM_LINK_STATUS_COUNT, count);
  link_status_ = st;
  if (r != Reason::kOk) refuse(r);
}

void CmmCore::doorbell(uint32_t ep, uint32_t wd, uint8_t& rsp) {
  Cst& c = cst_[ep];
  const uint32_t len = CMM_FIELD_GET(wd, CMM_EP_DOORBELL_LEN);
  Reason r = Reason::kOk;
  if (c.dir != u(Dir::kSend)) r = Reason::kWrongDir;
  else if (c.state != u(State::kOpen)) r = Reason::kNotOpen;
  else if (!ckt_[ep].valid) r = Reason::kNoKey;
  else if (len == 0 || len > kMaxMsgBytes) r = Reason::kBadLen;
  else if (rekey_entry(ep) && rk_[ep].use >= params_.rekey_hard_limit)
    r = Reason::kKeyExhausted;  // one more would risk a (key, seq) pair twice: the receiver must rekey
  else if (reliable_entry(ep) && (static_cast<uint16_t>(c.tx_seq - rel_[ep].base) >= params_.tx_window ||
                                  win_pend_[ep * params_.tx_window + c.tx_seq % params_.tx_window] != 0))
    r = Reason::kTxWindowFull;  // the oldest unacknowledged copy is still needed
  if (r != Reason::kOk) {
    c.tx_last_reason = static_cast<uint8_t>(r);
    count_reject(r);
    rsp = static_cast<uint8_t>(Rsp::kReject);
    return;
  }
  // Egress key attach: key and source ids come from the CMM, never software (I4).
  Header h = make_hdr(Opcode::kData, c.owner_part, ep, c.rnode, c.rpart, c.rep);
  h.len = static_cast<uint16_t>(len);
  h.tag = static_cast<uint16_t>(CMM_FIELD_GET(wd, CMM_EP_DOORBELL_TAG));
  h.key = ckt_[ep].key;
  h.src_gen = c.gen;
  h.dst_gen = c.rgen;
  h.seq = c.tx_seq++;
  // NACKs are believed for the last 2^15 DATA at most (1.5): drag the window.
  if (static_cast<uint16_t>(c.tx_seq - c.nack_seq) > 0x8000u) c.nack_seq = static_cast<uint16_t>(c.tx_seq - 0x8000u);
  if (strong_entry(ep)) {
    // The tag replaces the key: the TX MAC engine takes the payload first (strong-mode.md 11.6).
    h.aux = kStrongBit;
    if (rekey_entry(ep)) {
      h.aux = static_cast<uint8_t>(h.aux | rk_[ep].ks << kKeySlotAuxBit);
      if (rk_[ep].use != 0xFFFFFFFFu) ++rk_[ep].use;
    }
    h.key = Key{};
    mtx_hdr_ = h;
    mtx_key_ = ckt_[ep].key;
    mtx_left_ = (len + params_.mac_bytes_per_cycle - 1) / params_.mac_bytes_per_cycle;
    mtx_cd_ = mtx_got_ = 0;
    mtx_busy_ = true;
    mtx_rel_ = reliable_entry(ep);
  } else {
    push_req(h);  // room guaranteed by reg_req_ready
  }
  ++c.tx_sent;
  bump(stat_[kStatDataSent]);
}

uint32_t CmmCore::command(uint32_t part, uint16_t pid, uint32_t wd, uint8_t& rsp) {
  Part& P = part_[part];
  const uint32_t op = CMM_FIELD_GET(wd, CMM_CMD_OP);
  uint32_t ep = CMM_FIELD_GET(wd, CMM_CMD_EP);
  const bool hwkey = CMM_FIELD_GET(wd, CMM_CMD_HWKEY) != 0;
  Reason r = Reason::kOk;
  bool exception = false;

  auto need_owned = [&]() -> bool {
    if (ep >= geo_.num_endpoints) {
      r = Reason::kBadEp;
      return false;
    }
    if (faulted(ep)) {
      r = Reason::kTableFault;  // before the owner check: the owner field cannot be trusted
      return false;
    }
    if (cst_[ep].state == u(State::kFree) || cst_[ep].owner_part != part) {
      r = Reason::kDenied;  // I5: another partition's entry
      return false;
    }
    return true;
  };
  // Strong: a link key must exist and its counter must not wrap (11.5);
  // checked before anything is stored or drawn.
  auto link_ok = [&]() -> bool {
    if (!strong_entry(ep)) return true;
    const Link& lk = link_[cst_[ep].rnode < kLinkNodes ? cst_[ep].rnode : 0];
    if (cst_[ep].rnode >= kLinkNodes || !lk.valid) r = Reason::kNoLinkKey;
    else if (lk.ctr == 0xFFFFFFFFu) r = Reason::kKeyExhausted;
    return r == Reason::kOk;
  };
  // Stores the staged key (or with HWKEY the generator's) into a receive
  // entry (SET_KEY, CONNECT). I6 on a send entry.
  auto store_local_key = [&](bool allow_existing) -> bool {
    Cst& c = cst_[ep];
    Ckt& k = ckt_[ep];
    if (c.dir == u(Dir::kSend)) {
      if (k.valid) {
        r = Reason::kKeyLocked;  // key set by a remote CONNECT
        exception = true;
      } else {
        r = Reason::kWrongDir;
      }
      return false;
    }
    if (c.state != u(State::kAuthorized)) {
      r = Reason::kNotOpen;
      return false;
    }
    if (k.valid) {
      if (allow_existing) return link_ok();
      r = Reason::kKeyPresent;
      return false;
    }
    if (hwkey) {
      // Software never sees this key (DESIGN.md "Keys"); the staging bank is not used.
      if (!kg_ready_) {
        r = Reason::kKeyGenNotReady;
        return false;
      }
      if (allow_existing && !link_ok()) return false;  // CONNECT only (SET_KEY sends nothing): before the draw
      k.key = kg_draw();
      k.valid = true;
      k.origin = static_cast<uint8_t>(Origin::kLocal);
      return true;
    }
    // Atomic staging: all four words, written by the commanding process alone, not zero.
    uint32_t any = 0;
    for (uint32_t w = 0; w < kKeyWords; ++w) any |= P.key_stage[w];
    if (P.key_written != 0 && P.key_pid != pid) r = Reason::kKeyStageBusy;
    else if (P.key_written != (1u << kKeyWords) - 1u) r = Reason::kKeyIncomplete;
    else if (any == 0) r = Reason::kKeyZero;
    if (r != Reason::kOk) return false;
    if (allow_existing && !link_ok()) return false;  // CONNECT only: before the store
    k.key = P.key_stage;
    k.valid = true;
    k.origin = static_cast<uint8_t>(Origin::kLocal);
    return true;
  };
  auto send_connect = [&]() {
    Cst& c = cst_[ep];
    Header h = make_hdr(Opcode::kConnect, part, ep, c.rnode, c.rpart, c.rep);
    h.key = ckt_[ep].key;
    h.src_gen = c.gen;
    h.dst_gen = c.rgen;
    h.seq = c.tx_seq;  // attempt number (a receive entry sends no DATA)
    Key wrap{};
    if (strong_entry(ep)) {
      // Key wrap: C = key ^ PRF(K_enc, nonce) as payload, T = MAC(K_mac, header || C) as key field.
      Link& lk = link_[c.rnode];
      const uint32_t n = lk.ctr++;
      lk.par = static_cast<uint8_t>(link_parity(lk));
      c.tx_seq = static_cast<uint16_t>(n);  // the counter doubles as the attempt number
      h.seq = static_cast<uint16_t>(n);
      h.tag = static_cast<uint16_t>(n >> 16);
      h.len = 16;
      h.aux = static_cast<uint8_t>(kStrongBit | (params_.rekey ? rk_[ep].ks << kKeySlotAuxBit : 0));
      const Key ks = wrap_stream(lk.key, h);
      for (uint32_t w = 0; w < kKeyWords; ++w) wrap[w] = ckt_[ep].key[w] ^ ks[w];
      uint8_t cb[16];
      key_bytes(wrap, cb);
      h.key = mac(wrap_subkey(lk.key, false), h, cb, 16);
    }
    push_req(h, wrap);  // room guaranteed by reg_req_ready
    bump(stat_[kStatConnectSent]);
  };

  switch (static_cast<Cmd>(op)) {
    case Cmd::kNop:
      break;
    case Cmd::kAlloc: {
      if (P.used >= straps_.quota[part]) {
        r = Reason::kQuotaExceeded;
        break;
      }
      // Quota reservation: the unused quota of every partition holding fewer
      // entries than this one stays free for it. (Counting all partitions
      // would deadlock over-committed quotas; with quotas that fit the table
      // the quota check alone already guarantees it.)
      uint32_t free_eps = 0, reserved = 0, e = geo_.num_endpoints;
      for (uint32_t i = geo_.num_endpoints; i-- > 0;) {
        if (cst_[i].state == u(State::kFree)) {
          ++free_eps;
          e = i;  // lowest free entry
        }
      }
      for (uint32_t q = 0; q < geo_.num_partitions; ++q)
        if (q != part && part_[q].used < P.used && straps_.quota[q] > part_[q].used)
          reserved += straps_.quota[q] - part_[q].used;
      if (free_eps == 0 || free_eps <= reserved) {
        r = Reason::kNoFreeEp;
        break;
      }
      reset_entry(e);
      cst_[e].state = u(State::kAllocated);
      cst_[e].owner_part = static_cast<uint8_t>(part);
      ++cst_[e].gen;  // a new epoch every time the entry enters ALLOCATED
      ++P.used;
      ep = e;
      break;
    }
    case Cmd::kAuthorize:
      if (!need_owned()) break;
      if (cst_[ep].state != u(State::kAllocated)) r = Reason::kNotOpen;
      else cst_[ep].state = u(State::kAuthorized);
      break;
    case Cmd::kSetKey:
      if (!need_owned()) break;
      store_local_key(false);
      break;
    case Cmd::kConnect: {
      if (!need_owned()) break;
      Cst& c = cst_[ep];
      if (c.dir == u(Dir::kRecv) && c.state == u(State::kConnecting)) {
        if (!link_ok()) break;
        ++c.tx_seq;  // a new attempt: only its NACK is believed
        send_connect();  // retry: the stored key again, the staged one is not used
        break;
      }
      if (!store_local_key(true)) break;
      c.tx_seq = 0;
      send_connect();
      c.state = u(State::kConnecting);
      c.rx_seq = 0;
      rel_open(ep);
      break;
    }
    case Cmd::kClose: {
      if (!need_owned()) break;
      Cst& c = cst_[ep];
      if (c.state == u(State::kAllocated)) {
        r = Reason::kNotOpen;
        break;
      }
      if (c.state == u(State::kConnecting) || c.state == u(State::kOpen)) {
        // Authenticated by the key and the current generations (before the bump below).
        Header h = make_hdr(Opcode::kClose, part, ep, c.rnode, c.rpart, c.rep);
        if (ckt_[ep].valid) h.key = ckt_[ep].key;
        h.src_gen = c.gen;
        h.dst_gen = c.rgen;
        if (strong_entry(ep)) {
          // A receive entry whose old slot is not retired yet seals under it:
          // the sender has that key in one of its slots, the new one maybe not yet.
          if (rekey_entry(ep) && rk_[ep].old_valid && c.dir == u(Dir::kRecv))
            seal(h, rk_[ep].old, static_cast<uint8_t>(rk_[ep].ks ^ 1u));
          else if (ckt_[ep].valid) seal(h, ckt_[ep].key, rk_[ep].ks);
          else h.aux = kStrongBit;
        }
        push_req(h);
        bump(stat_[kStatCloseSent]);
      }
      zeroize(ep);
      if (flush_rxq(ep)) log_error(part, Reason::kRxqFlushed, ep, 0, false, false, straps_.node_id);
      c.state = u(State::kAllocated);
      ++c.gen;
      break;
    }
    case Cmd::kFree: {
      if (!need_owned()) break;
      Cst& c = cst_[ep];
      if (c.state != u(State::kAllocated) && c.state != u(State::kClosed)) {
        r = Reason::kNotOpen;
        break;
      }
      if (flush_rxq(ep)) log_error(part, Reason::kRxqFlushed, ep, 0, false, false, straps_.node_id);
      reset_entry(ep);
      --P.used;
      break;
    }
    case Cmd::kMgmtSend: {
      const uint32_t dn = CMM_FIELD_GET(P.mgmt_dst, CMM_MGMT_DST_NODE);
      const uint32_t dp = CMM_FIELD_GET(P.mgmt_dst, CMM_MGMT_DST_PART);
      Header h = make_hdr(Opcode::kMgmt, part, 0, dn, dp, 0);
      h.key = P.mgmt_tx;
      push_req(h);
      bump(stat_[kStatMgmtSent]);
      break;
    }
    case Cmd::kMgmtPop:
      if (P.mgmtq.empty()) r = Reason::kRxqEmpty;
      else P.mgmtq.pop();
      break;
    case Cmd::kErrlogPop:
      if (P.errlog.empty()) r = Reason::kRxqEmpty;
      else P.errlog.pop();
      break;
    case Cmd::kExcClear:
      P.exc_count = 0;
      P.exc_first = P.exc_last = 0;
      break;
    case Cmd::kRekey: {
      // Rekey without drain (strong-mode.md 7). Without rekey: BAD_CMD as any unknown op.
      if (!params_.rekey) {
        r = Reason::kBadCmd;
        break;
      }
      if (!need_owned()) break;
      Cst& c = cst_[ep];
      Rk& q = rk_[ep];
      if (!strong_entry(ep)) r = Reason::kModeMismatch;
      else if (c.dir != u(Dir::kRecv)) r = Reason::kWrongDir;
      else if (c.state != u(State::kOpen) || !ckt_[ep].valid) r = Reason::kNotOpen;
      else if (!q.pending && q.old_valid) r = Reason::kKeyPresent;  // the sender has not used the last new key yet
      if (r != Reason::kOk) break;
      if (q.pending) {  // not acknowledged yet: the same key again under a fresh wrap counter
        if (!link_ok()) break;
        send_connect();
        break;
      }
      Key nk{};
      if (hwkey) {
        if (!kg_ready_) r = Reason::kKeyGenNotReady;
        else if (link_ok()) nk = kg_draw();
      } else {
        uint32_t any = 0;
        for (uint32_t w = 0; w < kKeyWords; ++w) any |= P.key_stage[w];
        if (P.key_written != 0 && P.key_pid != pid) r = Reason::kKeyStageBusy;
        else if (P.key_written != (1u << kKeyWords) - 1u) r = Reason::kKeyIncomplete;
        else if (any == 0) r = Reason::kKeyZero;
        else if (link_ok()) nk = P.key_stage;
      }
      if (r != Reason::kOk) break;
      q.old = ckt_[ep].key;  // still accepted until the first packet under the new key
      q.old_valid = true;
      q.use_old = q.use;
      q.use = 0;
      q.due = false;
      q.pending = true;
      q.ks = static_cast<uint8_t>(q.ks ^ 1u);
      ckt_[ep].key = nk;
      send_connect();
      break;
    }
    default:
      r = Reason::kBadCmd;
      break;
  }
  touch(ep);
  // A staged key never outlives one command.
  P.key_stage = Key{};
  P.key_written = 0;
  P.key_pid = 0;
  const uint32_t count = (CMM_FIELD_GET(P.cmd_status, CMM_CMD_STATUS_COUNT) + 1) & CMM_CMD_STATUS_COUNT_MASK;
  uint32_t st = 0;
  st = CMM_FIELD_SET(st, CMM_CMD_STATUS_REASON, u(r));
  st = CMM_FIELD_SET(st, CMM_CMD_STATUS_EP, ep);
  st = CMM_FIELD_SET(st, CMM_CMD_STATUS_COUNT, count);
  P.cmd_status = st;
  if (r != Reason::kOk) {
    count_reject(r);
    rsp = static_cast<uint8_t>(Rsp::kReject);
    if (exception || r == Reason::kDenied)
      log_error(part, r, ep & CMM_ERRLOG_HEAD_EP_MASK, 0, false, exception, straps_.node_id);
  }
  return u(r);
}

}  // namespace cmm
