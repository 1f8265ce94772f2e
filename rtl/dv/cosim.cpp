#include "cosim.h"

#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <sstream>
#include <vector>

#include "cmm_core.h"
#include "cmm_seed.h"
#include "stimulus.h"
#include "strong_stimulus.h"

namespace cmm::dv {

using namespace regs;

namespace {

constexpr uint32_t kHistory = 16;  // stimulus events kept for the mismatch report
constexpr uint32_t kResetEdges = 2;

struct Event {
  uint64_t cycle = 0;
  PinsIn in{};
  bool rst_n = true;
  bool reg_fire = false, ing_fire = false, eg_fire = false;
  Header eg_hdr{};
};

class Coverage final : public CoreObserver {
 public:
  void on_reject(uint64_t, Reason r, const Header* pkt) override {
    reasons[static_cast<uint32_t>(r)]++;
    packet_rejects += pkt != nullptr;
    if (pkt != nullptr && edge_pkt_reason < 0) edge_pkt_reason = static_cast<int>(r);
  }
  std::array<uint64_t, kReasonCount> reasons{};
  uint64_t packet_rejects = 0;  // rejects of an ingress header
  int edge_pkt_reason = -1;     // first ingress-header reject of the current edge (reset by the harness)
};

// The register access of an edge: its cross hazard kind and entry (-1: none).
CrossCoverage::Hazard access_kind(const PinsIn& in, bool reg_fire, uint32_t ne, int& ep) {
  using H = CrossCoverage;
  ep = -1;
  if (!reg_fire) return H::kNone;
  const uint32_t a = in.reg_req_addr;
  if (a == CMM_CMD_OFFSET && in.reg_req_write) {
    ep = static_cast<int>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_EP));
    switch (static_cast<Cmd>(CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_OP))) {
      case Cmd::kClose: return H::kCmdClose;
      case Cmd::kFree: return H::kCmdFree;
      case Cmd::kConnect: return H::kCmdConnect;
      case Cmd::kSetKey: return H::kCmdSetKey;
      default: return H::kCmdOther;
    }
  }
  if (a >= CMM_CST_BASE && a < CMM_CST_BASE + ne * CMM_CST_STRIDE) {
    ep = static_cast<int>((a - CMM_CST_BASE) / CMM_CST_STRIDE);
    return in.reg_req_write ? H::kCstWrite : H::kCstRead;
  }
  if (a >= CMM_EP_BASE && a < CMM_EP_BASE + ne * CMM_EP_STRIDE) {
    ep = static_cast<int>((a - CMM_EP_BASE) / CMM_EP_STRIDE);
    const uint32_t off = (a - CMM_EP_BASE) % CMM_EP_STRIDE;
    if (off == CMM_EP_DOORBELL_OFFSET && in.reg_req_write) return H::kDoorbell;
    if (off == CMM_EP_RX_POP_OFFSET && in.reg_req_write) return H::kRxPop;
    if (off >= CMM_RX_BUF_OFFSET && off < CMM_RX_BUF_OFFSET + CMM_RX_BUF_BYTES) return H::kRxBuf;
    if (!in.reg_req_write) return H::kEpRead;
  }
  ep = -1;
  return H::kNone;
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string key_hex(const Key& k) {
  std::string s;
  for (uint32_t w = kKeyWords; w-- > 0;) {
    char b[12];
    std::snprintf(b, sizeof b, "%08x", k[w]);
    s += b;
  }
  return s;
}

}  // namespace

namespace {
// Every field first_output_diff compares, without building strings: the
// per-cycle check; first_output_diff runs only on a difference.
bool same_header(const Header& x, const Header& y) {
  return x.opcode == y.opcode && x.src_node == y.src_node && x.src_part == y.src_part && x.src_ep == y.src_ep &&
         x.dst_node == y.dst_node && x.dst_part == y.dst_part && x.dst_ep == y.dst_ep && x.len == y.len &&
         x.tag == y.tag && x.reason == y.reason && x.aux == y.aux && x.src_gen == y.src_gen &&
         x.dst_gen == y.dst_gen && x.seq == y.seq && x.key == y.key;
}
bool same_outputs(const PinsOut& a, const PinsOut& b) {
  return a.reg_req_ready == b.reg_req_ready && a.reg_rsp_valid == b.reg_rsp_valid &&
         a.reg_rsp_rdata == b.reg_rsp_rdata && a.reg_rsp_status == b.reg_rsp_status &&
         a.reg_rsp_buf == b.reg_rsp_buf && a.reg_rsp_buf_slot == b.reg_rsp_buf_slot && a.ing_ready == b.ing_ready &&
         a.eg_valid == b.eg_valid && a.eg_cls == b.eg_cls && same_header(a.eg_hdr, b.eg_hdr) &&
         a.vd_valid == b.vd_valid && a.vd_accept == b.vd_accept && a.vd_ep == b.vd_ep && a.vd_slot == b.vd_slot &&
         a.vd_reason == b.vd_reason && a.irq == b.irq && a.mac_tx_ready == b.mac_tx_ready &&
         a.mac_rx_ready == b.mac_rx_ready && a.eg_wrap == b.eg_wrap;
}
}  // namespace

// First differing output port (all ports, every cycle), empty if none.
// all: every differing port, comma separated.
bool first_output_diff(const PinsOut& a, const PinsOut& b, std::string& port, std::string& va, std::string& vb,
                std::string& all) {
  auto chk = [&](const char* name, uint64_t x, uint64_t y) {
    if (x == y) return;
    all += all.empty() ? name : std::string(", ") + name;
    if (!port.empty()) return;
    port = name;
    va = hex(x);
    vb = hex(y);
  };
  chk("reg_req_ready_o", a.reg_req_ready, b.reg_req_ready);
  chk("reg_rsp_valid_o", a.reg_rsp_valid, b.reg_rsp_valid);
  chk("reg_rsp_rdata_o", a.reg_rsp_rdata, b.reg_rsp_rdata);
  chk("reg_rsp_status_o", a.reg_rsp_status, b.reg_rsp_status);
  chk("reg_rsp_buf_o", a.reg_rsp_buf, b.reg_rsp_buf);
  chk("reg_rsp_buf_slot_o", a.reg_rsp_buf_slot, b.reg_rsp_buf_slot);
  chk("ing_ready_o", a.ing_ready, b.ing_ready);
  chk("eg_valid_o", a.eg_valid, b.eg_valid);
  chk("eg_cls_o", a.eg_cls, b.eg_cls);
  const Header& x = a.eg_hdr;
  const Header& y = b.eg_hdr;
  chk("eg_hdr_o.opcode", x.opcode, y.opcode);
  chk("eg_hdr_o.src_node", x.src_node, y.src_node);
  chk("eg_hdr_o.src_part", x.src_part, y.src_part);
  chk("eg_hdr_o.src_ep", x.src_ep, y.src_ep);
  chk("eg_hdr_o.dst_node", x.dst_node, y.dst_node);
  chk("eg_hdr_o.dst_part", x.dst_part, y.dst_part);
  chk("eg_hdr_o.dst_ep", x.dst_ep, y.dst_ep);
  chk("eg_hdr_o.len", x.len, y.len);
  chk("eg_hdr_o.tag", x.tag, y.tag);
  chk("eg_hdr_o.reason", x.reason, y.reason);
  chk("eg_hdr_o.aux", x.aux, y.aux);
  chk("eg_hdr_o.src_gen", x.src_gen, y.src_gen);
  chk("eg_hdr_o.dst_gen", x.dst_gen, y.dst_gen);
  chk("eg_hdr_o.seq", x.seq, y.seq);
  if (x.key != y.key) {
    all += all.empty() ? "eg_hdr_o.key" : ", eg_hdr_o.key";
    if (port.empty()) {
      port = "eg_hdr_o.key";
      va = key_hex(x.key);
      vb = key_hex(y.key);
    }
  }
  chk("vd_valid_o", a.vd_valid, b.vd_valid);
  chk("vd_accept_o", a.vd_accept, b.vd_accept);
  chk("vd_ep_o", a.vd_ep, b.vd_ep);
  chk("vd_slot_o", a.vd_slot, b.vd_slot);
  chk("vd_reason_o", a.vd_reason, b.vd_reason);
  chk("irq_o", a.irq, b.irq);
  // Strong-mode outputs: the RTL has none (they read 0); the C++ core with
  // strong mode off must keep them idle.
  chk("mac_tx_ready (strong only)", a.mac_tx_ready, b.mac_tx_ready);
  chk("mac_rx_ready (strong only)", a.mac_rx_ready, b.mac_rx_ready);
  if (a.eg_wrap != b.eg_wrap) {
    all += all.empty() ? "eg_wrap (strong only)" : ", eg_wrap (strong only)";
    if (port.empty()) {
      port = "eg_wrap (strong only)";
      va = key_hex(a.eg_wrap);
      vb = key_hex(b.eg_wrap);
    }
  }
  return !port.empty();
}

namespace {

std::string describe(const Event& e) {
  std::ostringstream o;
  o << "  cycle " << e.cycle << ":";
  if (!e.rst_n) o << " RESET";
  const PinsIn& in = e.in;
  if (in.reg_req_valid) {
    o << " REG " << (in.reg_req_write ? "W" : "R") << " addr=" << hex(in.reg_req_addr);
    if (in.reg_req_write) o << " wdata=" << hex(in.reg_req_wdata);
    o << " part=" << unsigned(in.reg_req_part) << " priv=" << priv_name(in.reg_req_priv)
      << " pid=" << in.reg_req_pid << (e.reg_fire ? " [accepted]" : " [stalled]");
  }
  if (in.ing_valid)
    o << " | ING " << in.ing_hdr.str() << " key=" << key_hex(in.ing_hdr.key)
      << (e.ing_fire ? " [accepted]" : " [stalled]");
  if (in.entropy_valid) o << " | ENTROPY " << (in.entropy == Key{} ? "zero" : "seed");
  if (in.fault_valid)
    o << " | FAULT " << (in.fault_table & 1u ? "CKT" : "CST") << " ep=" << unsigned(in.fault_entry)
      << " bit=" << unsigned(in.fault_bit);
  if (in.dv_preload) o << " | DV_PRELOAD";
  if (e.eg_fire) o << " | EG pop " << e.eg_hdr.str();
  else if (!in.eg_ready) o << " | eg_ready=0";
  return o.str();
}

std::string out_str(const PinsOut& p) {
  std::ostringstream o;
  o << "reg_req_ready=" << p.reg_req_ready << " rsp_valid=" << p.reg_rsp_valid << " rdata=" << hex(p.reg_rsp_rdata)
    << " status=" << rsp_name(p.reg_rsp_status) << " buf=" << p.reg_rsp_buf << " slot=" << unsigned(p.reg_rsp_buf_slot)
    << " ing_ready=" << p.ing_ready << " eg_valid=" << p.eg_valid << " eg_cls=" << unsigned(p.eg_cls)
    << " eg_hdr={" << p.eg_hdr.str() << " key=" << key_hex(p.eg_hdr.key) << "} vd_valid=" << p.vd_valid
    << " vd_accept=" << p.vd_accept << " vd_ep=" << unsigned(p.vd_ep) << " vd_slot=" << unsigned(p.vd_slot)
    << " vd_reason=" << reason_name(p.vd_reason) << " irq=" << hex(p.irq);
  return o.str();
}

// One edge: rst_n low is a synchronous reset. The stimulus's inputs stay on
// the pins under reset (both models must ignore them).
void step(CorePinsModel& m, const PinsIn& in, bool rst_n) {
  if (rst_n) m.step(in);
  else m.reset(in);
}

CosimResult run_once(const CosimConfig& cfg, const RtlTrace& trace) {
  CosimResult res;
  const Geometry& geo = cfg.params.geo;
  const uint32_t ne = geo.num_endpoints;
  const Straps straps = straps_for_seed(cfg.seed, geo);
  CppCoreModel ref(straps, cfg.params);
  std::unique_ptr<CorePinsModel> dut = cfg.make_dut ? cfg.make_dut(straps, trace) : make_rtl_model(straps, trace);
  Coverage cov;
  ref.core().set_observer(&cov);
  Stimulus stim(cfg.seed, straps, geo);
  stim.set_preload_period(cfg.preload_period);
  if (cfg.wide) stim.set_wide(true);
  StrongStimulus sstim(cfg.seed, straps);  // used instead with cfg.params.strong
  const bool strong = cfg.params.strong;
  std::array<Event, kHistory> hist{};
  uint64_t nhist = 0;
  std::array<bool, kStateCount> states{};
  const auto t0 = std::chrono::steady_clock::now();

  uint64_t cycle = 0;
  auto compare = [&](const PinsOut& r, const PinsOut& d) -> bool {
    if (same_outputs(r, d)) return true;
    std::string port, vr, vd, all;
    if (!first_output_diff(r, d, port, vr, vd, all)) return true;
    std::ostringstream o;
    o << "LOCKSTEP MISMATCH (seed " << cfg.seed << ") at cycle " << cycle << " (outputs after edge " << cycle
      << "), first port " << port << ":\n"
      << "  " << ref.kind() << ": " << vr << "\n"
      << "  " << dut->kind() << ": " << vd << "\n"
      << "all differing ports: " << all << "\n"
      << "all outputs:\n  ref: " << out_str(r) << "\n  dut: " << out_str(d) << "\n"
      << "last " << std::min<uint64_t>(nhist, kHistory) << " stimulus events (oldest first):\n";
    for (uint64_t i = nhist > kHistory ? nhist - kHistory : 0; i < nhist; ++i) o << describe(hist[i % kHistory]) << "\n";
    res.pass = false;
    res.fail_cycle = cycle;
    res.fail_port = port;
    res.report = o.str();
    return false;
  };

  // Power-up: both models in reset for a few edges.
  PinsIn in{};
  for (uint32_t i = 0; i < kResetEdges; ++i) {
    ref.reset();
    dut->reset();
    ++cycle;
  }
  if (!compare(ref.out(), dut->out())) return res;

  // Hardening paths that no reject reason shows, seen in the C++ core's CST
  // states (coverage only): the CLOSE tombstone (AUTHORIZED -> CLOSED), the
  // CONNECT re-send (CMD CONNECT OK on a CONNECTING entry), the duplicate
  // CONNECT answered again (a CONNECT committed at an OPEN entry, no reject).
  uint64_t tombstones = 0, resends = 0, reacks = 0;
  bool s1_valid = false;
  Header s1{};
  std::vector<State> prev_state(ne);
  for (uint64_t n = 0; n < cfg.cycles; ++n) {
    const PinsOut before = ref.out();
    bool rst_n = true;
    if (strong) sstim.next(before, in, rst_n);
    else stim.next(before, in, rst_n);
    for (uint32_t e = 0; e < ne; ++e) prev_state[e] = ref.core().ep_state(e);
    const uint64_t rejects_before = cov.packet_rejects;
    cov.edge_pkt_reason = -1;
    step(ref, in, rst_n);
    step(*dut, in, rst_n);
    ++cycle;
    const PinsOut ro = ref.out();
    const bool reg_fire = rst_n && in.reg_req_valid && before.reg_req_ready;
    const bool ing_fire = rst_n && in.ing_valid && before.ing_ready;
    const bool eg_fire = rst_n && before.eg_valid && in.eg_ready;
    if (!rst_n || in.reg_req_valid || in.ing_valid || eg_fire || in.entropy_valid || in.fault_valid ||
        in.dv_preload) {
      Event& e = hist[nhist++ % kHistory];
      e.cycle = cycle;
      e.in = in;
      e.rst_n = rst_n;
      e.reg_fire = reg_fire;
      e.ing_fire = ing_fire;
      e.eg_fire = eg_fire;
      e.eg_hdr = before.eg_hdr;
    }
    if (!compare(ro, dut->out())) return res;
    if (strong) sstim.observe(in, rst_n, before, ro);
    else stim.observe(in, rst_n, before, ro);
    if (rst_n) {
      for (uint32_t e = 0; e < ne; ++e)
        tombstones += prev_state[e] == State::kAuthorized && ref.core().ep_state(e) == State::kClosed;
      if (reg_fire && in.reg_req_write && in.reg_req_addr == CMM_CMD_OFFSET && ro.reg_rsp_status == 0 &&
          CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_OP) == static_cast<uint32_t>(Cmd::kConnect)) {
        const uint32_t e = CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_EP);
        resends += e < ne && prev_state[e] == State::kConnecting;
      }
      if (s1_valid && s1.opcode == static_cast<uint8_t>(Opcode::kConnect) && s1.dst_ep < ne &&
          s1.dst_node == straps.node_id && prev_state[s1.dst_ep] == State::kOpen &&
          cov.packet_rejects == rejects_before)
        ++reacks;
      if (s1_valid && cfg.collect_cross) {
        const bool mine = s1.dst_node == straps.node_id && s1.dst_ep < ne;
        int hep = -1;
        const CrossCoverage::Hazard hk = access_kind(in, reg_fire, ne, hep);
        const uint32_t outcome = cov.edge_pkt_reason >= 0 ? static_cast<uint32_t>(cov.edge_pkt_reason)
                                 : ro.vd_valid && ro.vd_accept ? CrossCoverage::kOutcomeAccept
                                                               : CrossCoverage::kOutcomeOk;
        res.cross.bins[CrossCoverage::key(
            s1.opcode, mine ? static_cast<uint32_t>(prev_state[s1.dst_ep]) : CrossCoverage::kNoEntry,
            mine && hep == static_cast<int>(s1.dst_ep) ? hk : CrossCoverage::kNone, outcome)]++;
      }
    }
    s1_valid = ing_fire;
    if (ing_fire) s1 = in.ing_hdr.masked();
    res.reg_accesses += reg_fire;
    res.ing_headers += ing_fire;
    res.eg_headers += eg_fire;
    res.verdicts += ro.vd_valid;
    res.high_ep_verdicts += ro.vd_valid && ro.vd_ep >= regs::kNumEndpoints;
    res.delivered += ro.vd_valid && ro.vd_accept;
    res.resets += !rst_n;
    if (rst_n && in.dv_preload) ++res.preloads;
    res.cst_top_faults += rst_n && in.fault_valid && !in.fault_table && in.fault_bit + 8u > CmmCore::kCstProtBits &&
                          in.fault_bit <= CmmCore::kCstProtBits;
    if (cfg.preload_period != 0 && rst_n) {
      // Counter preload runs: cycles with a reject count saturated (the reference's view).
      bool cap = false;
      for (uint32_t r = 0; r < regs::kReasonCount && !cap; ++r)
        cap = ref.core().reject_count(static_cast<Reason>(r)) == 0xFFFFFFFFu;
      res.reject_cap_cycles += cap;
    }
    // A fault flip may leave an invalid state code for the one cycle before
    // the parity check fails the entry closed: not a state, not an index.
    for (uint32_t e = 0; e < ne; ++e) {
      const uint32_t st = static_cast<uint32_t>(ref.core().ep_state(e));
      if (st < kStateCount) states[st] = true;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.pass = true;
  res.cycles = cycle;

  // Summary and coverage.
  const StimCoverage& sc = stim.coverage();
  std::ostringstream o;
  o << "cosim PASS seed " << cfg.seed << " (node " << unsigned(straps.node_id) << "): " << cycle
    << " cycles matched, every output every cycle; " << res.reg_accesses << " register accesses, " << res.ing_headers
    << " ingress headers, " << res.eg_headers << " egress headers, " << res.verdicts << " verdicts (" << res.delivered << " deliveries), " << res.resets
    << " reset cycles; " << sc.script_channels << " channel-setup scripts; " << res.seconds << " s ("
    << static_cast<uint64_t>(static_cast<double>(cycle) / (res.seconds > 0 ? res.seconds : 1)) << " cycles/s)\n";
  if (strong) {
    o << "strong stimulus: " << sstim.counts().str() << "\nstrong reasons (reference core):";
    for (uint32_t i = 0; i < 4; ++i) {
      const uint32_t rc = static_cast<uint32_t>(Reason::kModeMismatch) + i;
      res.strong_reasons[i] = cov.reasons[rc];
      o << " " << reason_name(rc) << "=" << cov.reasons[rc];
    }
    o << "\n";
  }
  o << "node STAT at the end (since the last reset): DATA sent " << ref.core().stat(CmmCore::kStatDataSent)
    << ", delivered " << ref.core().stat(CmmCore::kStatDataDelivered) << ", CONNECT sent "
    << ref.core().stat(CmmCore::kStatConnectSent) << ", accepted " << ref.core().stat(CmmCore::kStatConnectAccepted)
    << ", CLOSE sent " << ref.core().stat(CmmCore::kStatCloseSent) << ", NACK sent "
    << ref.core().stat(CmmCore::kStatNackSent) << "\n";
  o << "coverage, reject reasons (events):";
  for (uint32_t r = 1; r < kReasonCount; ++r) {
    o << " " << reason_name(r) << "=" << cov.reasons[r];
    res.reasons_hit += cov.reasons[r] != 0;
  }
  o << "\n  -> " << res.reasons_hit << "/" << (kReasonCount - 1)
    << " reasons hit (the core never raises NO_KEY, nor the shell/fabric codes BAD_CRC, SRC_SPOOFED, HOL_TIMEOUT, "
       "nor, in plain mode, the strong-mode codes)";
  o << "\ncoverage, hardening reasons (docs/security.md 1.2-1.7, 1.10, 1.11):";
  for (Reason r : {Reason::kStaleGen, Reason::kUnauthResponse, Reason::kSeqOld, Reason::kSeqGap, Reason::kReservedBits,
                   Reason::kKeyZero, Reason::kKeyIncomplete, Reason::kKeyStageBusy, Reason::kKeyGenNotReady,
                   Reason::kTableFault}) {
    o << " " << reason_name(static_cast<uint32_t>(r)) << "=" << cov.reasons[static_cast<uint32_t>(r)];
    res.new_reasons_hit += cov.reasons[static_cast<uint32_t>(r)] != 0;
  }
  o << "\n  -> " << res.new_reasons_hit << "/10 hardening reasons hit";
  o << "\nhardening paths without a reason: CLOSE tombstones " << tombstones << ", CONNECT re-sends " << resends
    << ", duplicate CONNECTs answered again " << reacks;
  res.tombstones = tombstones;
  res.resends = resends;
  res.reacks = reacks;
  o << "\nstimulus of the hardening:";
  for (const auto& [k, v] : sc.features) o << " " << k << "=" << v;
  o << "\ncoverage, CST states seen:";
  for (uint32_t s = 0; s < kStateCount; ++s) {
    o << " " << state_name(s) << (states[s] ? "" : "(MISSED)");
    res.states_hit += states[s];
  }
  o << "\ncoverage, commands [OK/DENIED/DECERR/REJECT]:";
  for (uint32_t c = 0; c < 16; ++c) {
    const auto& v = sc.cmd[c];
    if (c < kCmdCount) res.cmds_hit += (v[0] + v[3]) != 0;
    o << " " << (c < kCmdCount ? std::string(cmd_name(c)) : "op" + std::to_string(c)) << "=" << v[0] << "/" << v[1]
      << "/" << v[2] << "/" << v[3];
  }
  o << "\n  -> " << res.cmds_hit << "/" << kCmdCount << " commands executed";
  o << "\ncoverage, same-edge hazards (ingress commit + register access on one entry):";
  for (const auto& [k, v] : sc.hazards) o << " " << k << "=" << v;
  res.hazard_kinds = static_cast<uint32_t>(sc.hazards.size());
  o << "\n  -> " << res.hazard_kinds << " hazard kinds\n";
  res.report = o.str();
  return res;
}

}  // namespace

const char* CrossCoverage::hazard_name(uint32_t h) {
  static const char* const names[kHazardCount] = {"NONE",     "DOORBELL", "RX_POP",      "EP_READ",
                                                  "RX_BUF",   "CMD_CLOSE", "CMD_FREE",   "CMD_CONNECT",
                                                  "CMD_SET_KEY", "CMD_OTHER", "CST_READ", "CST_WRITE"};
  return h < kHazardCount ? names[h] : "?";
}

std::string CrossCoverage::outcome_name(uint32_t o) {
  if (o == kOutcomeOk) return "OK";
  if (o == kOutcomeAccept) return "ACCEPT";
  return o < kReasonCount ? std::string(reason_name(o)) : "REASON_" + std::to_string(o);
}

std::string CrossCoverage::json() const {
  uint64_t total = 0;
  for (const auto& [k, n] : bins) total += n;
  std::ostringstream o;
  o << "{\"commits\": " << total << ", \"bins\": [";
  bool first = true;
  for (const auto& [k, n] : bins) {
    const uint32_t op = k >> 24, st = (k >> 16) & 0xFFu, hz = (k >> 8) & 0xFFu, oc = k & 0xFFu;
    const std::string opn = op >= 1 && op < kOpcodeCount ? std::string(opcode_name(op)) : "BAD_OPCODE";
    const std::string stn = st < kStateCount ? std::string(state_name(st)) : st == kNoEntry ? "NO_ENTRY" : "BAD_STATE";
    o << (first ? "" : ",") << "\n  {\"opcode\": \"" << opn << "\", \"state\": \"" << stn << "\", \"hazard\": \""
      << hazard_name(hz) << "\", \"outcome\": \"" << outcome_name(oc) << "\", \"n\": " << n << "}";
    first = false;
  }
  o << "\n]}\n";
  return o.str();
}

Straps straps_for_seed(uint64_t seed, const Geometry& geo) {
  std::mt19937_64 g(seed * cmm::seed::kGolden + 1);  // same arithmetic as before cmm_seed.h: same straps per seed
  Straps s;
  s.node_id = static_cast<uint8_t>(g());  // below link_nodes: strong stimulus loops channels back to its own node
  // Quotas: mixed, one partition with none. Even seeds: the sum equals the
  // table size (what the scenario validator allows); odd seeds: 2 above it,
  // so ALLOC's quota reservation refuses partitions with small quotas.
  static const uint8_t q[2][8] = {{4, 3, 2, 1, 1, 0, 2, 3}, {4, 3, 2, 5, 1, 0, 2, 1}};
  const uint32_t np = geo.num_partitions, ne = geo.num_endpoints;
  if (np == 8 && ne == 16) {  // the TOML geometry: the tables above, as every seed's stream was recorded with
    for (uint32_t p = 0; p < np; ++p) s.quota[p] = q[seed & 1][(p + seed) % np];
    return s;
  }
  // Other geometries: the same shape scaled to the table. Partition
  // (seed mod np) gets none (with one partition: all of the table), the
  // others the even table's weights, the rounding to the first; odd seeds
  // put 2 more on the last.
  uint32_t w[regs::kMaxNumPartitions] = {}, sum = 0;
  const uint32_t none = np > 1 ? static_cast<uint32_t>(seed % np) : np;
  for (uint32_t p = 0; p < np; ++p) sum += w[p] = p == none ? 0 : q[0][p % 8] + 1u;
  uint32_t given = 0;
  for (uint32_t p = 0; p < np; ++p) given += s.quota[p] = w[p] * ne / sum;
  s.quota[none == 0 && np > 1 ? 1 : 0] += ne - given;
  if (seed & 1) s.quota[none == np - 1 && np > 1 ? np - 2 : np - 1] += 2;
  return s;
}

CosimResult run_cosim(const CosimConfig& cfg) {
  CosimResult res = run_once(cfg, RtlTrace{});
  if (!res.pass && !cfg.fst_path.empty()) {
    // Deterministic: the same seed reproduces the run; dump the window before the mismatch.
    RtlTrace tr;
    tr.fst_path = cfg.fst_path;
    tr.from_cycle = res.fail_cycle > cfg.fst_window ? res.fail_cycle - cfg.fst_window : 0;
    tr.to_cycle = res.fail_cycle + 1;
    CosimConfig c2 = cfg;
    (void)run_once(c2, tr);
    res.report += "FST of cycles " + std::to_string(tr.from_cycle) + ".." + std::to_string(tr.to_cycle) +
                  " written to " + cfg.fst_path + "\n";
  }
  if (cfg.verbose) std::fputs(res.report.c_str(), res.pass ? stdout : stderr);
  return res;
}

}  // namespace cmm::dv
