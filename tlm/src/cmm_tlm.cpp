#include "cmm_tlm/cmm_tlm.h"

#include "cmm_tlm/node_bus.h"

#include <algorithm>
#include <cstring>

namespace cmm::tlmshell {

using namespace sc_core;
using namespace regs;

namespace {
constexpr size_t kMaxLtWaiters = 64;       // b_transport callers waiting at once (back-pressure only)
constexpr uint64_t kMaxCatchupStall = 4096;  // safety net: edges without accepting the request

tlm::tlm_response_status map_status(Rsp r) {
  switch (r) {
    case Rsp::kOk: return tlm::TLM_OK_RESPONSE;
    case Rsp::kDenied: return tlm::TLM_GENERIC_ERROR_RESPONSE;
    case Rsp::kDecerr: return tlm::TLM_ADDRESS_ERROR_RESPONSE;
    case Rsp::kReject: return tlm::TLM_COMMAND_ERROR_RESPONSE;
  }
  return tlm::TLM_GENERIC_ERROR_RESPONSE;
}
}  // namespace

void CmmTlm::Obs::on_reject(uint64_t c, Reason r, const Header* p) {
  const auto i = static_cast<uint32_t>(r);
  if (i < kReasonCount) ++m_.stats_.rejects[i];
  if (m_.user_obs_) m_.user_obs_->on_reject(c, r, p);
}

// Deliveries are reported from the verdict pins (CmmTlm::on_edge), the same
// way for every core implementation.
void CmmTlm::Obs::on_deliver(uint64_t, const Header&) {}

const CmmCore& CmmTlm::core() const {
  if (ext_) SC_REPORT_FATAL("cmm/tlm", "core(): this CMM runs another core implementation (no C++ core)");
  return core_;
}

CmmTlm::CmmTlm(sc_module_name name, const CmmTlmConfig& cfg)
    : sc_module(name),
      reg_tsock("reg_tsock"),
      eg_isock("eg_isock"),
      ing_tsock("ing_tsock"),
      irq("irq", 0u),
      cfg_(cfg),
      core_(cfg.straps, cfg.core_params),
      obs_(*this) {
  core_.set_observer(&obs_);
  if (cfg_.core_factory) ext_ = cfg_.core_factory(cfg_.straps);
  strong_ = !ext_ && core_.params().strong;
  mac_bpc_ = core_.params().mac_bytes_per_cycle;
  period_ticks_ = cfg_.clock_period.value();
  if (period_ticks_ == 0) SC_REPORT_FATAL("cmm/tlm", "clock period below the time resolution");
  if (cfg_.buf_bytes_per_cycle == 0) cfg_.buf_bytes_per_cycle = 1;
  if (cfg_.reg_queue_depth == 0) cfg_.reg_queue_depth = 1;
  if (cfg_.ingress_slots_per_class == 0) cfg_.ingress_slots_per_class = 1;

  reg_tsock.register_nb_transport_fw(this, &CmmTlm::reg_fw);
  reg_tsock.register_b_transport(this, &CmmTlm::reg_b);
  reg_tsock.register_get_direct_mem_ptr(this, &CmmTlm::reg_dmi);
  ing_tsock.register_nb_transport_fw(this, &CmmTlm::ing_fw);
  eg_isock.register_nb_transport_bw(this, &CmmTlm::eg_bw);

  // Room for a parked nb request and the b_transport requests of waiting callers.
  reg_q_.reset(cfg_.reg_queue_depth + 2 + kMaxLtWaiters);
  reg_inflight_.reset(4);
  tx_stage_.reset(core_.geometry().num_endpoints);
  tx_hi_.assign(core_.geometry().num_endpoints, 0);
  ep_base_ = core_.geometry().ep_base();
  ep_end_ = core_.geometry().ep_page(core_.geometry().num_endpoints);
  tx_fifo_.reset(core_.geometry().egq_depth + 1);
  rx_buf_.reset(size_t{core_.geometry().num_endpoints} * core_.geometry().rxq_depth);
  rx_len_.assign(core_.geometry().num_endpoints * core_.geometry().rxq_depth, 0);
  const uint32_t n = cfg_.ingress_slots_per_class;
  ing_slots_.resize(2 * n);
  for (uint32_t i = 0; i < 2 * n; ++i) ing_free_.push_back(2 * n - 1 - i);
  ing_q_[0].reset(n);
  ing_q_[1].reset(n);
  vd_pending_.reset(n);

  eg_ext_ = new LinkExt;
  eg_gp_.set_extension(eg_ext_);  // owned by the payload
  credit_ext_ = new LinkExt;
  credit_ext_->kind = LinkExt::kCredit;
  credit_gp_.set_extension(credit_ext_);

  clk_ = cfg_.clock;
  if (!clk_) {
    own_clock_ = std::make_unique<ClockDomain>("clock", cfg_.clock_period);
    clk_ = own_clock_.get();
  }
  if (clk_->period() != cfg_.clock_period) SC_REPORT_FATAL("cmm/tlm", "clock domain period differs from clock_period");
  clk_id_ = clk_->attach(*this);
  note_reg_target(&reg_tsock.get_base_interface(), this);  // a NodeBus bound to it calls it directly
  for (uint32_t w : cfg_.entropy) seed_pending_ |= w != 0;
  SC_METHOD(grant_initial_credits);  // runs once at time 0
  SC_METHOD(apply_irq);
  sensitive << irq_ev_;
  dont_initialize();
}

CmmTlm::~CmmTlm() { forget_reg_target(&reg_tsock.get_base_interface()); }

uint64_t CmmTlm::cycle_now() const { return sc_time_stamp().value() / period_ticks_; }

sc_time CmmTlm::edge_after(const sc_time& t) const {
  return sc_time::from_value((t.value() / period_ticks_ + 1) * period_ticks_);
}

// Never for an edge already evaluated by a catch-up (it would be skipped).
void CmmTlm::wake(const sc_time& t) { clk_->wake_at(clk_id_, std::max(clk_->cycle_after(t), last_cycle_ + 1)); }

void CmmTlm::grant_initial_credits() {
  if (seed_pending_) clk_->wake_at(clk_id_, 1);  // the first edge after reset seeds the key generator
  for (uint8_t c = 0; c < 2; ++c) {
    credit_ext_->cls = c;
    credit_ext_->credits = static_cast<uint16_t>(cfg_.ingress_slots_per_class);
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_time d = SC_ZERO_TIME;
    ing_tsock->nb_transport_bw(credit_gp_, ph, d);
  }
}

void CmmTlm::return_ing_credit(uint8_t cls) {
  credit_ext_->cls = cls;
  credit_ext_->credits = 1;
  tlm::tlm_phase ph = tlm::BEGIN_RESP;
  sc_time d = eval_off_;  // freed at the evaluated edge
  ing_tsock->nb_transport_bw(credit_gp_, ph, d);
}

void CmmTlm::free_ing_slot(uint32_t idx, uint8_t cls) {
  ing_free_.push_back(idx);
  --ing_used_[cls];
  return_ing_credit(cls);
}

// ------------------------------------------------------------ register target

void CmmTlm::shell_error(tlm::tlm_generic_payload& gp, tlm::tlm_response_status s) {
  ++stats_.reg_shell_errors;
  gp.set_response_status(s);
  RegResponse* rr = nullptr;
  gp.get_extension(rr);
  if (rr) {
    rr->status = Rsp::kDecerr;
    rr->shell_error = true;
    rr->buf = false;
  }
}

tlm::tlm_sync_enum CmmTlm::reg_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  if (ph == tlm::END_RESP) return tlm::TLM_COMPLETED;
  if (ph != tlm::BEGIN_REQ) {
    SC_REPORT_ERROR("cmm/tlm", "register socket: unexpected phase");
    return tlm::TLM_COMPLETED;
  }
  RegReq r;
  if (!decode(gp, sc_time_stamp() + d, r)) return tlm::TLM_COMPLETED;
  const bool park = reg_q_.size() >= cfg_.reg_queue_depth;
  reg_q_.push(r);
  wake(r.ready);
  if (park) {
    end_req_pending_ = &gp;
    return tlm::TLM_ACCEPTED;
  }
  ph = tlm::END_REQ;
  return tlm::TLM_UPDATED;
}

bool CmmTlm::decode(tlm::tlm_generic_payload& gp, const sc_time& ready, RegReq& r) {
  ++stats_.reg_requests;
  RequesterId* rid = nullptr;
  gp.get_extension(rid);
  const uint64_t addr = gp.get_address();
  const uint32_t len = gp.get_data_length();
  if (!rid) {
    shell_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE);
    return false;
  }
  if (gp.is_read() == gp.is_write()) {  // TLM_IGNORE_COMMAND
    shell_error(gp, tlm::TLM_COMMAND_ERROR_RESPONSE);
    return false;
  }
  if (addr >= (uint64_t{1} << core_.geometry().addr_bits())) {
    shell_error(gp, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (gp.get_byte_enable_ptr() != nullptr) {
    shell_error(gp, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (gp.get_streaming_width() != len || len == 0 || gp.get_data_ptr() == nullptr) {
    shell_error(gp, tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  r.gp = &gp;
  r.ready = ready;
  r.addr = static_cast<uint32_t>(addr);
  r.write = gp.is_write();
  r.part = rid->part;
  r.priv = static_cast<uint8_t>(rid->priv);
  r.pid = rid->pid;
  r.fw = rid->fw;
  if (r.addr >= ep_base_ && r.addr < ep_end_) {
    const uint32_t off = (r.addr - ep_base_) % CMM_EP_STRIDE;
    r.ep = static_cast<uint16_t>((r.addr - ep_base_) / CMM_EP_STRIDE);
    if (off >= CMM_TX_BUF_OFFSET && off < CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES) {
      r.win = kTxWin;
      r.off = static_cast<uint16_t>(off - CMM_TX_BUF_OFFSET);
      if (r.off + len > CMM_TX_BUF_BYTES) r.win = kNoWin;
    } else if (off >= CMM_RX_BUF_OFFSET && off < CMM_RX_BUF_OFFSET + CMM_RX_BUF_BYTES) {
      r.win = kRxWin;
      r.off = static_cast<uint16_t>(off - CMM_RX_BUF_OFFSET);
      if (r.off + len > CMM_RX_BUF_BYTES) r.win = kNoWin;
    }
    if (r.win == kNoWin && len != 4) {  // burst outside / across a window
      shell_error(gp, tlm::TLM_BURST_ERROR_RESPONSE);
      return false;
    }
    r.len = static_cast<uint16_t>(len);
  } else if (len != 4) {
    shell_error(gp, tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  // The core sees one request: the first word's address (misalignment is the core's DECERR).
  if (r.win == kNoWin && r.write) std::memcpy(&r.wdata, gp.get_data_ptr(), 4);
  gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  return true;
}

tlm::tlm_sync_enum CmmTlm::reg_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  if (reg_direct_) return reg_direct_->bw(gp, ph, d);
  return reg_tsock->nb_transport_bw(gp, ph, d);
}

// ------------------------------------------------------------ loosely-timed register path

// b_transport (docs/embedding.md "Loosely-timed register access"): the request joins
// the register queue at the caller's local time, and the CMM evaluates its own
// clock edges ahead of the dispatcher (the same evaluate() with the inputs it
// has) until the core answered; the response time goes into the annotated
// delay. Only a register port back-pressured by missing fabric credits makes
// it wait() for simulated time.
void CmmTlm::reg_b(tlm::tlm_generic_payload& gp, sc_time& d) {
  ++stats_.lt_requests;
  gp.set_dmi_allowed(false);
  RegReq r;
  const sc_time now = sc_time_stamp();
  if (!decode(gp, now + d, r)) return;  // answered at once, no latency
  LtDone done;
  r.lt = &done;
  if (reg_q_.full() || lt_waiters_ >= kMaxLtWaiters) {
    SC_REPORT_ERROR("cmm/tlm", "register queue full: too many b_transport callers waiting");
    shell_error(gp, tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  reg_q_.push(r);
  // Requests queued before this one are ahead of it (FIFO): when a caller
  // already waits for back-pressure, this one waits behind it.
  if (lt_waiters_ == 0 && catch_up(done)) {
    d = done.t_resp - now;
    return;
  }
  ++stats_.lt_syncs;
  ++lt_waiters_;
  schedule_next();
  while (!done.done) wait(lt_ev_);
  --lt_waiters_;
  const sc_time t = sc_time_stamp();
  d = done.t_resp > t ? done.t_resp - t : SC_ZERO_TIME;
}

bool CmmTlm::catch_up(const LtDone& done) {
  const uint64_t period = period_ticks_;
  // Edges before the current time were evaluated by the dispatcher; one at
  // the current time may still be due.
  const uint64_t first = (sc_time_stamp().value() + period - 1) / period;
  uint64_t stalled = 0;
  while (!done.done) {
    uint64_t e = next_needed();
    if (e == ClockDomain::kNever) {
      SC_REPORT_ERROR("cmm/tlm", "b_transport: no edge to evaluate for a queued request");
      return false;
    }
    e = std::max(e, first);
    const PinsOut& o = pins();
    const sc_time te = sc_time::from_value(e * period);
    if (!reg_q_.empty() && reg_q_.front().ready < te && !o.reg_req_ready) {
      // The request egress queue is full: it drains only with fabric credits.
      if (o.eg_valid && eg_credits_[o.eg_cls & 1u] == 0) return false;
      if (++stalled > kMaxCatchupStall) return false;
    }
    evaluate(e);
    ++stats_.lt_catchup_edges;
  }
  schedule_next();
  return true;
}

bool CmmTlm::reg_dmi(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
  (void)gp;
  ++stats_.lt_dmi_refused;
  // Registers have side effects: no direct pointer, for the whole register space.
  dmi.allow_read_write();
  dmi.set_start_address(0);
  dmi.set_end_address((uint64_t{1} << core_.geometry().addr_bits()) - 1);
  return false;
}

void CmmTlm::set_irq(uint32_t iv) {
  const uint32_t rise = iv & ~irq_prev_;
  irq_prev_ = iv;
  if (eval_off_ == SC_ZERO_TIME) {
    if (irq_head_ < irq_pending_.size()) apply_irq();  // earlier caught-up changes first
    irq.write(iv);
  } else {
    // A caught-up edge: the line changes at its edge time, not now.
    if (irq_head_ == irq_pending_.size()) irq_ev_.notify(eval_off_);
    irq_pending_.push_back(IrqChange{sc_time_stamp() + eval_off_, iv});
  }
  for (uint32_t p = 0; p < core_.geometry().num_partitions; ++p)
    if ((rise >> p) & 1u) irq_rise_[p].notify(eval_off_);
}

void CmmTlm::apply_irq() {
  const sc_time now = sc_time_stamp();
  uint32_t v = 0;
  bool any = false;
  while (irq_head_ < irq_pending_.size() && irq_pending_[irq_head_].t <= now) {
    v = irq_pending_[irq_head_++].v;
    any = true;
  }
  if (any) irq.write(v);
  if (irq_head_ == irq_pending_.size()) {
    irq_pending_.clear();
    irq_head_ = 0;
  } else {
    irq_ev_.notify(irq_pending_[irq_head_].t - now);
  }
}

void CmmTlm::complete_reg(RegReq& r, const PinsOut& o) {
  tlm::tlm_generic_payload& gp = *r.gp;
  const auto st = static_cast<Rsp>(o.reg_rsp_status & 3u);
  ++stats_.reg_status[static_cast<uint32_t>(st)];
  sc_time delay = SC_ZERO_TIME;
  const sc_time now = sc_time_stamp() + eval_off_;  // the evaluated edge
  bool buf = false;
  if (st == Rsp::kOk) {
    if (r.win != kNoWin) {
      if (!o.reg_rsp_buf) {
        SC_REPORT_ERROR("cmm/tlm", "core answered OK to a window access without a buffer grant");
      } else {
        buf = true;
        ++stats_.reg_bursts;
        stats_.buf_bytes += r.len;
        uint8_t* data = gp.get_data_ptr();
        if (r.win == kTxWin) {
          std::memcpy(tx_stage_[r.ep] + r.off, data, r.len);
          tx_hi_[r.ep] = std::max<uint16_t>(tx_hi_[r.ep], static_cast<uint16_t>(r.off + r.len));
        } else {
          const uint32_t slot = o.reg_rsp_buf_slot % core_.geometry().rxq_depth;
          const uint32_t i = r.ep * core_.geometry().rxq_depth + slot;
          const uint32_t valid = rx_len_[i] > r.off ? std::min<uint32_t>(rx_len_[i] - r.off, r.len) : 0;
          std::memcpy(data, rx_buf_[i] + r.off, valid);
          std::memset(data + valid, 0, r.len - valid);  // bytes beyond the message read as 0
        }
        // The packet-buffer port moves buf_bytes_per_cycle bytes per cycle, one burst at a time.
        const sc_time start = std::max(now, buf_free_);
        buf_free_ = start + cfg_.clock_period * static_cast<double>(ceil_div(r.len, cfg_.buf_bytes_per_cycle));
        delay = buf_free_ - now;
      }
    } else if (!r.write) {
      std::memcpy(gp.get_data_ptr(), &o.reg_rsp_rdata, 4);
    } else if (r.addr >= ep_base_ && r.addr < ep_end_ &&
               (r.addr - ep_base_) % CMM_EP_STRIDE == CMM_EP_DOORBELL_OFFSET) {
      // Doorbell accepted: the DATA header is in the core's request queue;
      // snapshot the staged payload for it (consumed: staging is cleared).
      const uint32_t len = std::min<uint32_t>(CMM_FIELD_GET(r.wdata, CMM_EP_DOORBELL_LEN), kMaxMsgBytes);
      if (tx_fifo_.full()) {
        SC_REPORT_ERROR("cmm/tlm", "TX payload FIFO overflow");
      } else {
        // Only the first len bytes of a snapshot are ever read (egress copy,
        // MAC beats): no 1 KiB zero-fill and copy per doorbell.
        TxSnap& s = tx_fifo_.push_slot();
        s.len = static_cast<uint16_t>(len);
        std::memcpy(s.bytes.data(), tx_stage_[r.ep], len);
        mtx_off_ = 0;  // a strong doorbell's TX MAC engine streams this snapshot
      }
      // Zeroed after each DATA: bytes past tx_hi_ are zero already (invariant).
      std::memset(tx_stage_[r.ep], 0, std::max<uint32_t>(tx_hi_[r.ep], len));
      tx_hi_[r.ep] = 0;
    } else {
      after_write(r);
    }
  } else if (!r.write && r.win == kNoWin) {
    std::memset(gp.get_data_ptr(), 0, 4);
  }
  RegResponse* rr = nullptr;
  gp.get_extension(rr);
  if (rr) {
    rr->status = st;
    rr->shell_error = false;
    rr->buf = buf;
  }
  gp.set_response_status(map_status(st));
  if (r.lt) {  // b_transport: the caller returns with this response time
    r.lt->done = true;
    r.lt->t_resp = now + delay;
    if (lt_waiters_) lt_ev_.notify(now + delay - sc_time_stamp());
    return;
  }
  tlm::tlm_phase ph = tlm::BEGIN_RESP;
  delay += eval_off_;
  reg_bw(gp, ph, delay);  // initiators complete at once (docs/tlm.md)
}

// TX staging scrub (docs/security.md 1.8): an endpoint whose owner may
// change (FREE, local CLOSE, CST_OWNER write) loses its staged bytes, so a
// later owner's doorbell with a long LEN never sends an earlier owner's data.
void CmmTlm::scrub_tx(uint32_t ep) {
  if (ep >= core_.geometry().num_endpoints) return;
  std::memset(tx_stage_[ep], 0, regs::kMaxMsgBytes);
  tx_hi_[ep] = 0;
  ++stats_.tx_scrubs;
}

// A register write the core answered OK (not a payload window, not a doorbell).
void CmmTlm::after_write(const RegReq& r) {
  if (r.addr == CMM_CMD_OFFSET) {
    const uint32_t op = CMM_FIELD_GET(r.wdata, CMM_CMD_OP);
    if (op == static_cast<uint32_t>(Cmd::kFree) || op == static_cast<uint32_t>(Cmd::kClose))
      scrub_tx(CMM_FIELD_GET(r.wdata, CMM_CMD_EP));
  } else if (r.addr >= CMM_CST_BASE && r.addr < CMM_CST_BASE + core_.geometry().num_endpoints * CMM_CST_STRIDE &&
             (r.addr - CMM_CST_BASE) % CMM_CST_STRIDE == CMM_CST_OWNER_OFFSET) {
    scrub_tx((r.addr - CMM_CST_BASE) / CMM_CST_STRIDE);
  }
}

// ------------------------------------------------------------ fabric

tlm::tlm_sync_enum CmmTlm::ing_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  LinkExt* e = nullptr;
  gp.get_extension(e);
  if (ph != tlm::BEGIN_REQ || !e || e->kind != LinkExt::kPacket || !e->pkt) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/tlm", "ingress link: not a packet");
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return tlm::TLM_COMPLETED;
  }
  const uint8_t cls = e->pkt->cls & 1u;
  if (ing_used_[cls] >= cfg_.ingress_slots_per_class || ing_free_.empty()) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/tlm", "ingress link: packet without credit");
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return tlm::TLM_COMPLETED;
  }
  // The CRC is checked before anything else, then the lengths (never
  // trusted); a failing packet takes no slot and is never seen by the core.
  const Packet& in = *e->pkt;
  const bool crc_good = crc_ok(in);
  if (!crc_good || !length_ok(in)) {
    const Reason why = crc_good ? Reason::kBadLen : Reason::kBadCrc;
    stats_.drops.add(why);
    if (user_obs_) user_obs_->on_drop(sc_time_stamp() + d, in, why);
    return_ing_credit(cls);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    return tlm::TLM_COMPLETED;
  }
  const uint32_t idx = ing_free_.back();
  ing_free_.pop_back();
  ++ing_used_[cls];
  IngSlot& s = ing_slots_[idx];
  s.pkt.copy_from(*e->pkt);
  s.pkt.cls = cls;
  s.arrival = sc_time_stamp() + d;
  ing_q_[cls].push(idx);
  wake(s.arrival);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  return tlm::TLM_COMPLETED;
}

tlm::tlm_sync_enum CmmTlm::eg_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  (void)d;
  LinkExt* e = nullptr;
  gp.get_extension(e);
  if (ph != tlm::BEGIN_RESP || !e || e->kind != LinkExt::kCredit) {
    ++stats_.link_errors;
    SC_REPORT_ERROR("cmm/tlm", "egress link: not a credit");
    return tlm::TLM_COMPLETED;
  }
  eg_credits_[e->cls & 1u] += e->credits;
  // A header waiting for this credit keeps the core non-quiescent, so the
  // clock is already running; nothing to wake.
  return tlm::TLM_COMPLETED;
}

// ------------------------------------------------------------ clock edge

// The dispatcher calls it at the edge of edge_cycle (on the clock grid). An
// edge a b_transport already evaluated (caught up) is not evaluated again.
void CmmTlm::on_edge(uint64_t edge_cycle) {
  if (edge_cycle > last_cycle_) evaluate(edge_cycle);
  schedule_next();
}

// One rising edge at time edge_cycle * period: now, from the dispatcher, or
// ahead of simulation time inside b_transport (eval_off_ > 0: every output
// then carries its edge time as an annotated delay).
void CmmTlm::evaluate(uint64_t edge_cycle) {
  const sc_time now = sc_time::from_value(edge_cycle * period_ticks_);
  eval_off_ = now - sc_time_stamp();
  const uint64_t core_cycle = ext_ ? ext_->cycle() : core_.cycle();
  if (core_cycle + 1 < edge_cycle) {
    const uint64_t n = edge_cycle - 1 - core_cycle;
    // Only a quiescent core may skip edges: a busy one would lose pulses
    // (a register response, a verdict) in them.
    if (!(ext_ ? ext_->quiescent() : core_.quiescent()))
      SC_REPORT_ERROR("cmm/tlm", "idle edges skipped while the core was busy (a missed clock edge)");
    if (ext_) ext_->skip_idle(n);
    else core_.skip_idle(n);
    stats_.skipped_cycles += n;
  } else if (core_cycle + 1 > edge_cycle) {
    SC_REPORT_ERROR("cmm/tlm", "core stepped ahead of simulation time");
  }
  const PinsOut& o = pins();

  // 1. Delivery verdict of the oldest pending ingress DATA payload.
  if (o.vd_valid) {
    if (vd_pending_.empty()) {
      SC_REPORT_ERROR("cmm/tlm", "verdict without a pending payload");
    } else {
      const uint32_t idx = vd_pending_.front();
      vd_pending_.pop();
      IngSlot& s = ing_slots_[idx];
      if (o.vd_accept) {
        const uint32_t i = (o.vd_ep % core_.geometry().num_endpoints) * core_.geometry().rxq_depth + (o.vd_slot % core_.geometry().rxq_depth);
        const uint32_t len = std::min<uint32_t>(s.pkt.hdr.len, kMaxMsgBytes);
        const uint32_t n = std::min<uint32_t>(len, s.pkt.payload_len);
        std::memcpy(rx_buf_[i], s.pkt.payload.data(), n);
        std::memset(rx_buf_[i] + n, 0, len - n);
        rx_len_[i] = static_cast<uint16_t>(len);
        stats_.buf_bytes += len;
        ++stats_.data_delivered;
        if (user_obs_) user_obs_->on_deliver(edge_cycle, s.pkt.hdr.masked());
      } else {
        ++stats_.data_discarded;
      }
      free_ing_slot(idx, s.pkt.cls);
    }
  }
  // 2. Register response (before egress: a doorbell's payload snapshot).
  if (o.reg_rsp_valid) {
    if (reg_inflight_.empty()) {
      SC_REPORT_ERROR("cmm/tlm", "register response without a request");
    } else {
      RegReq r = reg_inflight_.front();
      reg_inflight_.pop();
      complete_reg(r, o);
    }
  }

  PinsIn in{};
  // Cycles elapsed before this edge, skipped idle ones included (the core's
  // own count after skip_idle, as the core's test harness drives it).
  in.cycle = static_cast<uint32_t>(edge_cycle - 1);
  if (seed_pending_) {
    in.entropy_valid = true;
    in.entropy = cfg_.entropy;
    seed_pending_ = false;
  }
  // MAC payload streams (strong mode): a beat whenever an engine is ready.
  if (strong_ && o.mac_tx_ready && !tx_fifo_.empty()) {
    const TxSnap& s = tx_fifo_.at(tx_fifo_.size() - 1);  // the doorbell in the engine
    in.mac_tx_valid = true;
    for (uint32_t i = 0; i < mac_bpc_; ++i) in.mac_tx_data[i] = mtx_off_ + i < s.len ? s.bytes[mtx_off_ + i] : 0;
    mtx_off_ += mac_bpc_;
    stats_.mac_bytes += mac_bpc_;
  }
  if (strong_ && o.mac_rx_ready) {
    in.mac_rx_valid = true;
    for (uint32_t i = 0; i < mac_bpc_; ++i) in.mac_rx_data[i] = mrx_off_ + i < mrx_len_ ? mrx_buf_[mrx_off_ + i] : 0;
    mrx_off_ += mac_bpc_;
    stats_.mac_bytes += mac_bpc_;
  }
  // 3. Egress: take the shown header if the fabric granted a credit for its class.
  if (o.eg_valid && eg_credits_[o.eg_cls & 1u] == 0) ++stats_.eg_credit_stall_cycles;
  if (o.eg_valid && eg_credits_[o.eg_cls & 1u] > 0) {
    in.eg_ready = true;
    const uint8_t cls = o.eg_cls & 1u;
    --eg_credits_[cls];
    eg_pkt_.hdr = o.eg_hdr;
    eg_pkt_.cls = cls;
    eg_pkt_.payload_len = 0;
    eg_pkt_.id = (uint64_t{cfg_.straps.node_id} << 48) | (eg_seq_++ & 0xFFFFFFFFFFFFull);
    if (cls == 0 && o.eg_hdr.opcode == static_cast<uint8_t>(Opcode::kData)) {
      if (o.eg_retx) {
        // Reliable delivery: a retransmission; its payload is the core's
        // window copy, not a doorbell snapshot (strong-mode.md 6). Only the
        // C++ core retransmits (the RTL drives eg_retx low).
        eg_pkt_.payload_len = static_cast<uint16_t>(core_.eg_retx_payload(eg_pkt_.payload.data()));
        stats_.buf_bytes += eg_pkt_.payload_len;
        ++stats_.data_retx;
      } else if (tx_fifo_.empty()) {
        SC_REPORT_ERROR("cmm/tlm", "DATA header without a payload snapshot");
      } else {
        const TxSnap& s = tx_fifo_.front();
        eg_pkt_.payload_len = s.len;
        stats_.buf_bytes += s.len;
        std::memcpy(eg_pkt_.payload.data(), s.bytes.data(), s.len);
        tx_fifo_.pop();
      }
      if (!o.eg_retx) ++stats_.data_sent;
    } else if (strong_ && cls == 0 && o.eg_hdr.opcode == static_cast<uint8_t>(Opcode::kConnect) &&
               (o.eg_hdr.aux & (1u << kStrongAuxBit))) {
      // Strong CONNECT: the wrapped key is its 16-byte payload (strong-mode.md 11.5).
      eg_pkt_.payload_len = 16;
      for (uint32_t i = 0; i < 16; ++i) eg_pkt_.payload[i] = static_cast<uint8_t>(o.eg_wrap[i / 4] >> (8 * (i % 4)));
    }
    seal(eg_pkt_);
    ++stats_.eg_packets[cls];
    if (user_obs_) user_obs_->on_egress(now, eg_pkt_);
    eg_ext_->kind = LinkExt::kPacket;
    eg_ext_->pkt = &eg_pkt_;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_time d = eval_off_;
    eg_isock->nb_transport_fw(eg_gp_, ph, d);
  }

  // 4. Ingress: present the oldest arrived header, response class first.
  int icls = -1;
  for (int c = 1; c >= 0 && icls < 0; --c)
    if (!ing_q_[c].empty() && ing_slots_[ing_q_[c].front()].arrival < now) icls = c;
  if (icls >= 0) {
    const uint32_t idx = ing_q_[icls].front();
    in.ing_valid = true;
    in.ing_hdr = ing_slots_[idx].pkt.hdr;
    if (!o.ing_ready) ++stats_.ing_stall_cycles;
    if (o.ing_ready) {
      ++stats_.ing_headers;
      ing_q_[icls].pop();
      ++stats_.ing_packets[icls];
      if (user_obs_) user_obs_->on_ingress_accept(now, ing_slots_[idx].pkt);
      const Header m = in.ing_hdr.masked();
      if (strong_ && (m.aux & (1u << kStrongAuxBit)) && m.opcode >= static_cast<uint8_t>(Opcode::kData) &&
          m.opcode <= static_cast<uint8_t>(Opcode::kClose) && m.len > 0 && m.len <= kMaxMsgBytes) {
        // The RX MAC engine takes this payload from the next edge on (strong-mode.md 11.6).
        const Packet& p = ing_slots_[idx].pkt;
        mrx_len_ = m.len;
        const uint32_t n = std::min<uint32_t>(mrx_len_, p.payload_len);
        std::memcpy(mrx_buf_.data(), p.payload.data(), n);
        std::memset(mrx_buf_.data() + n, 0, mrx_len_ - n);
        mrx_off_ = 0;
      }
      if (m.opcode == static_cast<uint8_t>(Opcode::kData)) {
        vd_pending_.push(idx);  // payload waits for its verdict
      } else {
        free_ing_slot(idx, static_cast<uint8_t>(icls));
      }
    }
  }

  // 5. Register request.
  if (!reg_q_.empty() && reg_q_.front().ready < now) {
    const RegReq& r = reg_q_.front();
    in.reg_req_valid = true;
    in.reg_req_write = r.write;
    in.reg_req_addr = r.addr;
    in.reg_req_wdata = r.wdata;
    in.reg_req_part = r.part;
    in.reg_req_priv = r.priv;
    in.reg_req_pid = r.pid;
    in.reg_req_fw = r.fw;
    if (!o.reg_req_ready) ++stats_.reg_stall_cycles;
    if (o.reg_req_ready) {
      reg_inflight_.push(r);
      reg_q_.pop();
      if (end_req_pending_ && reg_q_.size() < cfg_.reg_queue_depth) {
        tlm::tlm_generic_payload* p = end_req_pending_;
        end_req_pending_ = nullptr;
        tlm::tlm_phase ph = tlm::END_REQ;
        sc_time d = eval_off_;
        reg_bw(*p, ph, d);
      }
    }
  }

  if (user_obs_) user_obs_->on_pins(now, in, o);
  if (ext_) ext_->step(in);
  else core_.step(in);
  ++stats_.steps;
  last_cycle_ = edge_cycle;

  const uint32_t iv = pins().irq;
  if (iv != irq_prev_) set_irq(iv);
  eval_off_ = SC_ZERO_TIME;
}

// Every edge while anything is in flight; otherwise the edge after the next
// queued arrival; otherwise none (idle costs nothing).
uint64_t CmmTlm::next_needed() const {
  const bool core_busy = !(ext_ ? ext_->quiescent() : core_.quiescent());
  if (core_busy || !reg_inflight_.empty() || !vd_pending_.empty() || seed_pending_) return last_cycle_ + 1;
  uint64_t next = ClockDomain::kNever;
  if (!reg_q_.empty()) next = clk_->cycle_after(reg_q_.front().ready);
  for (int c = 0; c < 2; ++c)
    if (!ing_q_[c].empty()) next = std::min(next, clk_->cycle_after(ing_slots_[ing_q_[c].front()].arrival));
  return next == ClockDomain::kNever ? next : std::max(next, last_cycle_ + 1);
}

void CmmTlm::schedule_next() {
  const uint64_t next = next_needed();
  if (next != ClockDomain::kNever) clk_->wake_at(clk_id_, next);
}

}  // namespace cmm::tlmshell
