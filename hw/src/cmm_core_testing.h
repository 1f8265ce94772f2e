// Test harness for the cycle-accurate CMM core (unit and security tests only).
//
// CoreHarness drives one CmmCore through its pins: register reads/writes with
// a given requester id (stepping until the response, and checking it comes
// exactly one cycle after acceptance), ingress header injection, egress header
// and verdict collection. Net connects several harnesses back-to-back: every
// egress header is presented to the ingress of the core whose node id equals
// its dst_node, one cycle after it left.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "cmm_core.h"
#include "cmm_siphash.h"

namespace cmm {
// gtest printing of headers (never prints key bits).
inline void PrintTo(const Header& h, std::ostream* os) { *os << h.str(); }
}  // namespace cmm

namespace cmm::coretest {

using regs::Cmd;
using regs::Dir;
using regs::Irq;
using regs::Opcode;
using regs::Origin;
using regs::Priv;
using regs::Reason;
using regs::Rsp;
using regs::State;

constexpr uint32_t u(Reason r) { return static_cast<uint32_t>(r); }
constexpr uint32_t u(Opcode o) { return static_cast<uint32_t>(o); }
constexpr uint32_t u(State s) { return static_cast<uint32_t>(s); }
constexpr uint32_t u(Dir d) { return static_cast<uint32_t>(d); }
constexpr uint32_t u(Rsp r) { return static_cast<uint32_t>(r); }
constexpr uint32_t u(Cmd c) { return static_cast<uint32_t>(c); }
constexpr uint32_t u(regs::Origin o) { return static_cast<uint32_t>(o); }
constexpr uint32_t bit(Irq i) { return 1u << static_cast<uint32_t>(i); }

// Requester ID as the node bus stamps it.
struct Req {
  uint8_t part = 0;
  Priv priv = Priv::kKernel;
  uint16_t pid = 0;
  bool fw = false;  // the board-management port (FIRMWARE, strong-mode.md 11.3)
};
// The board-management port as the node bus stamps it (partition 0, user, pid 0, fw).
inline Req firmware() { return Req{0, Priv::kUser, 0, true}; }
inline Req kernel(uint8_t part) { return Req{part, Priv::kKernel, 0}; }
inline Req user(uint8_t part, uint16_t pid) { return Req{part, Priv::kUser, pid}; }

struct RegRsp {
  uint8_t status = 0xFF;
  uint32_t rdata = 0;
  bool buf = false;
  uint8_t buf_slot = 0;
  uint64_t accept_cycle = 0;  // core cycle count after the accepting edge
};

struct EgRec {
  uint64_t cycle = 0;  // core cycle count after the edge at which it left
  uint8_t cls = 0;
  Header hdr{};
  std::vector<uint8_t> payload;  // strong mode: DATA payload / CONNECT wrap (eg_wrap_o)
};

struct VdRec {
  uint64_t cycle = 0;  // core cycle count when the pulse was visible
  bool accept = false;
  uint16_t ep = 0;
  uint8_t slot = 0, reason = 0;
};

// Register addresses.
inline uint32_t cst_addr(uint32_t ep, uint32_t off) { return regs::CMM_CST_BASE + ep * regs::CMM_CST_STRIDE + off; }
inline uint32_t ep_addr(uint32_t ep, uint32_t off) { return regs::CMM_EP_BASE + ep * regs::CMM_EP_STRIDE + off; }
inline uint32_t reject_addr(Reason r) { return regs::CMM_REJECT_COUNT_OFFSET + regs::CMM_REJECT_COUNT_STRIDE * u(r); }
inline uint32_t stat_addr(uint32_t i) { return regs::CMM_STAT_OFFSET + regs::CMM_STAT_STRIDE * i; }
inline uint32_t cmd_word(Cmd op, uint32_t ep = 0) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CMD_OP, u(op));
  w = CMM_FIELD_SET(w, CMM_CMD_EP, ep);
  return w;
}
// CMD with HWKEY: the key comes from the hardware key generator (security.md 1.10).
inline uint32_t hw_cmd_word(Cmd op, uint32_t ep = 0) { return CMM_FIELD_SET(cmd_word(op, ep), CMM_CMD_HWKEY, 1u); }
// The key the generator of node `node` seeded with `entropy` yields for counter
// `ctr`: SipHash-2-4-128(K, le64(ctr) || le64(node)), computed independently
// of the core with the reference hash (libsodium-checked in cmm_siphash_test).
inline Key hw_key_ref(const Key& entropy, uint64_t ctr, uint16_t node) {
  uint8_t k[16], m[16];
  for (uint32_t i = 0; i < 16; ++i) {
    k[i] = static_cast<uint8_t>(entropy[i / 4] >> (8 * (i % 4)));
    m[i] = static_cast<uint8_t>((i < 8 ? ctr : uint64_t{node}) >> (8 * (i % 8)));
  }
  const auto out = sip::hash128(k, m, 16);
  Key key{};
  for (uint32_t i = 0; i < 16; ++i) key[i / 4] |= uint32_t{out[i]} << (8 * (i % 4));
  return key;
}
inline uint32_t remote_word(uint32_t node, uint32_t part, uint32_t ep) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_NODE, node);
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_PART, part);
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_EP, ep);
  return w;
}
inline uint32_t doorbell_word(uint32_t len, uint32_t tag) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_EP_DOORBELL_LEN, len);
  w = CMM_FIELD_SET(w, CMM_EP_DOORBELL_TAG, tag);
  return w;
}

// Decoded ERRLOG_HEAD.
struct ErrEntry {
  uint32_t reason = 0, ep = 0, opcode = 0, from_fabric = 0, exception = 0, src_node = 0;
  static ErrEntry decode(uint32_t w) {
    ErrEntry e;
    e.reason = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_REASON);
    e.ep = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_EP);
    e.opcode = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_OPCODE);
    e.from_fabric = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_FROM_FABRIC);
    e.exception = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_EXCEPTION);
    e.src_node = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_SRC_NODE);
    return e;
  }
};

inline Header make_header(Opcode op, uint16_t src_node, uint8_t src_part, uint8_t src_ep, uint16_t dst_node,
                          uint8_t dst_part, uint8_t dst_ep) {
  Header h;
  h.opcode = static_cast<uint8_t>(op);
  h.src_node = src_node;
  h.src_part = src_part;
  h.src_ep = src_ep;
  h.dst_node = dst_node;
  h.dst_part = dst_part;
  h.dst_ep = dst_ep;
  return h;
}

class Net;
class CoreHarness;

// Optional observer of every CoreHarness edge (edge() and step()), called
// right after core.step() with the inputs and the outputs before the edge
// (core.out() holds the ones after it). rtl/ sets it to replay every directed
// test on the RTL core in lockstep; unset, it costs one test of an empty
// std::function. Tests step their cores only through the harness, so that
// the replay sees every edge (it fails a core stepped behind its back).
using EdgeHook = std::function<void(const CoreHarness&, const PinsIn&, const PinsOut& before)>;
inline EdgeHook& edge_hook() {
  static EdgeHook hook;
  return hook;
}
// Optional observer of the end of every CoreHarness (its destructor): the
// replay checks there that no edge of the core escaped it.
using EndHook = std::function<void(const CoreHarness&)>;
inline EndHook& end_hook() {
  static EndHook hook;
  return hook;
}

class CoreHarness {
 public:
  // Default quota 2 per partition: the quotas of all partitions sum to the
  // table size (ALLOC reserves the other partitions' unused quota).
  // Every edge compares every entry's parity (a write that forgot its parity would fail closed).
  explicit CoreHarness(uint16_t node_id, uint8_t quota = 2) : core(make_straps(node_id, quota)) {
    core.set_full_parity_check(true);
  }
  explicit CoreHarness(const Straps& s) : core(s) { core.set_full_parity_check(true); }
  CoreHarness(const Straps& s, const CoreParams& p) : core(s, p) { core.set_full_parity_check(true); }
  // Strong-mode core (strong-mode.md 11): the harness also plays the packet
  // buffer of the MAC payload streams.
  CoreHarness(uint16_t node_id, const CoreParams& p, uint8_t quota = 2) : core(make_straps(node_id, quota), p) {
    core.set_full_parity_check(true);
  }
  ~CoreHarness() {
    if (end_hook()) end_hook()(*this);
  }
  CoreHarness(const CoreHarness&) = delete;
  CoreHarness& operator=(const CoreHarness&) = delete;

  static Straps make_straps(uint16_t node_id, uint8_t quota) {
    Straps s;
    s.node_id = node_id;
    s.quota.fill(quota);
    return s;
  }
  uint16_t node() const { return core.straps().node_id; }

  CmmCore core;
  std::deque<Header> ingress;  // headers waiting to be presented on ing_*
  // Presented at the next edge of this core only (entropy_*, fault_* pins).
  bool entropy_next = false;
  Key entropy_value{};
  bool fault_next = false;
  uint8_t fault_table = 0, fault_entry = 0, fault_bit = 0;
  bool eg_ready = true;
  std::vector<EgRec> egress;   // every header that left, in order
  std::vector<VdRec> verdicts; // every verdict pulse, in order
  size_t routed = 0;           // egress entries already handed to the Net
  Net* net = nullptr;
  // Strong mode packet buffer: payload of the next doorbell (TX staging), and
  // payloads of ingress strong headers with len > 0, in arrival order.
  std::vector<uint8_t> tx_payload;
  std::deque<std::vector<uint8_t>> strong_payloads;
  uint32_t mac_beats_tx = 0, mac_beats_rx = 0;  // beats transferred
  // Inputs of the last edge (e.g. to check that the strong-mode pins stay idle).
  PinsIn last_in{};

  // A test about to change the C++ core through a test-only back door (no
  // pin does that to the RTL, e.g. set_link_ctr_for_test) says so first: the
  // RTL replay of this core stops at its next edge (reported, not failed).
  void note_backdoor(const char* what) { backdoor_ = what; }
  const char* backdoor() const { return backdoor_; }

  // One edge with inputs the test built itself (pin level): e.g. an ingress
  // header and a register access at the same edge, back-to-back requests, or
  // a request held while reg_req_ready is low. Recorded like edge() (egress,
  // verdicts, the response exactly one cycle after acceptance) and seen by
  // the edge hook, so the RTL replay covers it. The harness's own pins wait
  // (queued headers stay queued). Weak cores only (the MAC payload streams
  // are the harness's job).
  void step(const PinsIn& in) {
    EXPECT_FALSE(core.params().strong) << "CoreHarness::step: weak cores only";
    const PinsOut before = core.out();
    core.step(in);
    last_in = in;
    if (edge_hook()) edge_hook()(*this, in, before);
    if (before.eg_valid && in.eg_ready) egress.push_back(EgRec{core.cycle(), before.eg_cls, before.eg_hdr, {}});
    record(in.reg_req_valid && before.reg_req_ready);
  }

  // One rising edge of this core only (inputs from the pending request, the
  // ingress queue and eg_ready); records what left, responses and verdicts.
  void edge() {
    PinsIn in;
    in.eg_ready = eg_ready;
    in.cycle = static_cast<uint32_t>(core.cycle());  // the platform timebase (cycle_i)
    if (!ingress.empty()) {
      in.ing_valid = true;
      in.ing_hdr = ingress.front();
    }
    if (entropy_next) {
      in.entropy_valid = true;
      in.entropy = entropy_value;
      entropy_next = false;
    }
    if (fault_next) {
      in.fault_valid = true;
      in.fault_table = fault_table;
      in.fault_entry = fault_entry;
      in.fault_bit = fault_bit;
      fault_next = false;
    }
    const PinsOut& pre = core.out();
    const uint32_t B = core.params().mac_bytes_per_cycle;
    if (pre.mac_tx_ready) {
      in.mac_tx_valid = true;
      for (uint32_t i = 0; i < B; ++i)
        in.mac_tx_data[i] = tx_off_ + i < tx_snap_.size() ? tx_snap_[tx_off_ + i] : 0;
      tx_off_ += B;
      ++mac_beats_tx;
    }
    if (pre.mac_rx_ready) {
      in.mac_rx_valid = true;
      for (uint32_t i = 0; i < B; ++i) in.mac_rx_data[i] = rx_off_ + i < rx_pay_.size() ? rx_pay_[rx_off_ + i] : 0;
      rx_off_ += B;
      ++mac_beats_rx;
    }
    if (req_pending_) {
      in.reg_req_fw = req_.fw;
      in.reg_req_valid = true;
      in.reg_req_write = req_write_;
      in.reg_req_addr = req_addr_;
      in.reg_req_wdata = req_wdata_;
      in.reg_req_part = req_.part;
      in.reg_req_priv = static_cast<uint8_t>(req_.priv);
      in.reg_req_pid = req_.pid;
    }
    const PinsOut before = core.out();
    const bool ing_fire = in.ing_valid && before.ing_ready;
    const bool reg_fire = in.reg_req_valid && before.reg_req_ready;
    const bool eg_fire = before.eg_valid && in.eg_ready;
    const bool strong = core.params().strong;
    // A retransmission's payload comes from the core's window (strong-mode.md 6).
    std::vector<uint8_t> retx_pay;
    if (eg_fire && before.eg_retx) {
      retx_pay.resize(regs::kMaxMsgBytes);
      retx_pay.resize(core.eg_retx_payload(retx_pay.data()));
    }
    if (strong && reg_fire && req_write_ && (req_addr_ - core.geometry().ep_base()) % regs::CMM_EP_STRIDE ==
                                                regs::CMM_EP_DOORBELL_OFFSET && req_addr_ >= core.geometry().ep_base()) {
      tx_snap_ = tx_payload;  // the doorbell's snapshot feeds the TX engine
      tx_off_ = 0;
    }
    core.step(in);
    last_in = in;
    if (edge_hook()) edge_hook()(*this, in, before);
    const PinsOut& o = core.out();
    if (ing_fire) {
      const Header m = ingress.front().masked();
      const bool sp = strong && (m.aux & (1u << regs::kStrongAuxBit)) && m.opcode >= u(Opcode::kData) &&
                      m.opcode <= u(Opcode::kClose) && m.len > 0 && m.len <= regs::kMaxMsgBytes;
      if (sp) {
        rx_pay_.clear();
        if (!strong_payloads.empty()) {
          rx_pay_ = strong_payloads.front();
          strong_payloads.pop_front();
        }
        rx_off_ = 0;
      }
      ingress.pop_front();
    }
    if (eg_fire) {
      EgRec e{core.cycle(), before.eg_cls, before.eg_hdr, {}};
      if (before.eg_retx) {
        e.payload = retx_pay;
      } else if (strong && before.eg_hdr.opcode == u(Opcode::kData) && before.eg_cls == 0) {
        e.payload = tx_fifo_.empty() ? std::vector<uint8_t>{} : tx_fifo_.front();
        if (!tx_fifo_.empty()) tx_fifo_.pop_front();
      } else if (strong && before.eg_hdr.opcode == u(Opcode::kConnect) &&
                 (before.eg_hdr.aux & (1u << regs::kStrongAuxBit))) {
        for (uint32_t i = 0; i < 16; ++i) e.payload.push_back(static_cast<uint8_t>(before.eg_wrap[i / 4] >> (8 * (i % 4))));
      }
      egress.push_back(std::move(e));
    }
    if (reg_fire) {
      req_pending_ = false;
      if (strong && o.reg_rsp_status == u(Rsp::kOk) && req_write_ && req_addr_ >= core.geometry().ep_base() &&
          (req_addr_ - core.geometry().ep_base()) % regs::CMM_EP_STRIDE == regs::CMM_EP_DOORBELL_OFFSET) {
        std::vector<uint8_t> snap = tx_payload;
        snap.resize(CMM_FIELD_GET(req_wdata_, CMM_EP_DOORBELL_LEN), 0);
        tx_fifo_.push_back(snap);  // the DATA's payload when it leaves
      }
    }
    record(reg_fire);
  }

  // One cycle of the whole world (the Net if attached, else this core).
  inline void tick(uint32_t n = 1);
  // Ticks until nothing is in flight anywhere (bounded).
  inline void settle(uint32_t max_cycles = 2000);
  bool idle() const { return ingress.empty() && core.quiescent() && routed == egress.size(); }

  // One edge (of the whole Net) with entropy_valid_i and this seed.
  void seed(const Key& e) {
    entropy_next = true;
    entropy_value = e;
    tick();
  }
  // One edge with the fault-injection port inverting bit `b` of entry `ep`
  // of table t (0 CST, 1 CKT) after the edge's update.
  void flip(uint8_t t, uint32_t ep, uint32_t b) {
    fault_next = true;
    fault_table = t;
    fault_entry = static_cast<uint8_t>(ep);
    fault_bit = static_cast<uint8_t>(b);
    tick();
  }
  // Ticks until the core's cycle count is `c` (no-op if already there or past).
  void run_to(uint64_t c) {
    while (core.cycle() < c) tick();
  }

  // ------------------------------------------------------------ register port
  RegRsp access(Req who, bool write, uint32_t addr, uint32_t wdata = 0) {
    req_pending_ = true;
    req_ = who;
    req_write_ = write;
    req_addr_ = addr;
    req_wdata_ = wdata;
    for (uint32_t i = 0; req_pending_; ++i) {
      if (i > 5000) {
        ADD_FAILURE() << "register request never accepted (addr 0x" << std::hex << addr << ")";
        req_pending_ = false;
        return RegRsp{};
      }
      tick();
    }
    return rsp_;
  }
  RegRsp rd(Req who, uint32_t addr) { return access(who, false, addr); }
  RegRsp wr(Req who, uint32_t addr, uint32_t data) { return access(who, true, addr, data); }
  // Read that must succeed; returns the data.
  uint32_t rd_ok(Req who, uint32_t addr) {
    RegRsp r = rd(who, addr);
    EXPECT_EQ(r.status, u(Rsp::kOk)) << "read 0x" << std::hex << addr;
    return r.rdata;
  }
  void wr_ok(Req who, uint32_t addr, uint32_t data) {
    RegRsp r = wr(who, addr, data);
    EXPECT_EQ(r.status, u(Rsp::kOk)) << "write 0x" << std::hex << addr;
  }

  // ------------------------------------------------------------ kernel agent helpers
  RegRsp cmd(uint8_t part, Cmd op, uint32_t ep = 0) { return wr(kernel(part), regs::CMM_CMD_OFFSET, cmd_word(op, ep)); }
  uint32_t cmd_status(uint8_t part) { return rd_ok(kernel(part), regs::CMM_CMD_STATUS_OFFSET); }
  uint32_t cmd_reason(uint8_t part) { return CMM_FIELD_GET(cmd_status(part), CMM_CMD_STATUS_REASON); }
  // Command that must succeed (status OK and CMD_STATUS.REASON OK).
  void cmd_ok(uint8_t part, Cmd op, uint32_t ep = 0) {
    RegRsp r = cmd(part, op, ep);
    EXPECT_EQ(r.status, u(Rsp::kOk)) << regs::cmd_name(u(op)) << " reason "
                                     << regs::reason_name(cmd_reason(part));
  }
  // Command that must be refused with this reason (REJECT + CMD_STATUS.REASON).
  void cmd_refused(uint8_t part, Cmd op, uint32_t ep, Reason why) {
    RegRsp r = cmd(part, op, ep);
    EXPECT_EQ(r.status, u(Rsp::kReject)) << regs::cmd_name(u(op));
    EXPECT_EQ(cmd_reason(part), u(why)) << regs::cmd_name(u(op));
  }
  int alloc(uint8_t part) {
    if (cmd(part, Cmd::kAlloc).status != u(Rsp::kOk)) return -1;
    return static_cast<int>(CMM_FIELD_GET(cmd_status(part), CMM_CMD_STATUS_EP));
  }
  // KEY0..3 written by the kernel agent thread `pid` of the partition.
  void stage_key(uint8_t part, const Key& k, uint16_t pid = 0) {
    for (uint32_t w = 0; w < regs::kKeyWords; ++w)
      wr_ok(Req{part, Priv::kKernel, pid}, regs::CMM_KEY_OFFSET + regs::CMM_KEY_STRIDE * w, k[w]);
  }
  // CST_GEN.LOCAL: the entry's generation (epoch).
  uint8_t gen(uint8_t part, uint32_t ep) {
    return static_cast<uint8_t>(CMM_FIELD_GET(rd_ok(kernel(part), cst_addr(ep, regs::CMM_CST_GEN_OFFSET)),
                                              CMM_CST_GEN_LOCAL));
  }
  // CST_GEN.REMOTE: the peer entry's generation (writable while ALLOCATED).
  void set_remote_gen(uint8_t part, uint32_t ep, uint8_t g) {
    wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_GEN_OFFSET), CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, g));
  }
  // ALLOC + CST fields (+ AUTHORIZE): returns the endpoint. rgen: the peer
  // entry's generation (CST_GEN.REMOTE, written only if non-zero).
  int make_entry(uint8_t part, uint16_t pid, Dir dir, uint16_t rnode, uint8_t rpart, uint8_t rep,
                 bool authorize = true, uint8_t rgen = 0) {
    const int ep = alloc(part);
    EXPECT_GE(ep, 0) << "ALLOC failed";
    if (ep < 0) return ep;
    const uint32_t e = static_cast<uint32_t>(ep);
    wr_ok(kernel(part), cst_addr(e, regs::CMM_CST_CTRL_OFFSET), u(dir));
    wr_ok(kernel(part), cst_addr(e, regs::CMM_CST_OWNER_OFFSET), pid);
    if (rep >> regs::CMM_CST_REMOTE_EP_BITS)  // endpoint bits 15:12 first (16-bit ids)
      wr_ok(kernel(part), cst_addr(e, regs::CMM_CST_REMOTE_HI_OFFSET), rep >> regs::CMM_CST_REMOTE_EP_BITS);
    wr_ok(kernel(part), cst_addr(e, regs::CMM_CST_REMOTE_OFFSET), remote_word(rnode, rpart, rep));
    if (rgen != 0) set_remote_gen(part, e, rgen);
    if (authorize) cmd_ok(part, Cmd::kAuthorize, e);
    return ep;
  }
  uint32_t cst_ctrl(uint8_t part, uint32_t ep) { return rd_ok(kernel(part), cst_addr(ep, regs::CMM_CST_CTRL_OFFSET)); }
  uint32_t cst_state(uint8_t part, uint32_t ep) { return CMM_FIELD_GET(cst_ctrl(part, ep), CMM_CST_CTRL_STATE); }
  uint32_t cst_status(uint8_t part, uint32_t ep) {
    return rd_ok(kernel(part), cst_addr(ep, regs::CMM_CST_STATUS_OFFSET));
  }
  // REJECT_COUNT[r] read through the register port (kernel of partition 0);
  // also checks it equals core.reject_count(r).
  uint32_t rejects(Reason r) {
    const uint32_t v = rd_ok(kernel(0), reject_addr(r));
    EXPECT_EQ(v, core.reject_count(r)) << regs::reason_name(u(r));
    return v;
  }
  uint32_t stat(uint32_t i) { return rd_ok(kernel(0), stat_addr(i)); }
  uint32_t irq_status(uint8_t part) { return rd_ok(kernel(part), regs::CMM_IRQ_STATUS_OFFSET); }
  uint32_t errlog_count(uint8_t part) {
    return CMM_FIELD_GET(rd_ok(kernel(part), regs::CMM_ERRLOG_STATUS_OFFSET), CMM_ERRLOG_STATUS_COUNT);
  }
  // Head entry of the error log, then ERRLOG_POP.
  ErrEntry pop_err(uint8_t part) {
    ErrEntry e = ErrEntry::decode(rd_ok(kernel(part), regs::CMM_ERRLOG_HEAD_OFFSET));
    cmd_ok(part, Cmd::kErrlogPop);
    return e;
  }
  void clear_errlog(uint8_t part) {
    while (errlog_count(part) != 0) cmd_ok(part, Cmd::kErrlogPop);
  }
  RegRsp doorbell(Req who, uint32_t ep, uint32_t len, uint32_t tag) {
    return wr(who, core.geometry().ep_page(ep) + regs::CMM_EP_DOORBELL_OFFSET, doorbell_word(len, tag));
  }

  // ------------------------------------------------------------ fabric helpers
  // Presents h and runs until it has been committed (2 edges after acceptance).
  void inject(const Header& h) {
    ingress.push_back(h);
    settle();
  }
  // Removes and returns everything that left on egress so far.
  std::vector<EgRec> take_egress() {
    std::vector<EgRec> v;
    v.swap(egress);
    routed = 0;
    return v;
  }
  std::vector<VdRec> take_verdicts() {
    std::vector<VdRec> v;
    v.swap(verdicts);
    return v;
  }

 private:
  // After an edge: the register response (reg_fire: a request was accepted
  // at it) and the verdict pulse.
  void record(bool reg_fire) {
    const PinsOut& o = core.out();
    if (reg_fire) {
      EXPECT_TRUE(o.reg_rsp_valid) << "register response not 1 cycle after acceptance";
      rsp_ = RegRsp{o.reg_rsp_status, o.reg_rsp_rdata, o.reg_rsp_buf, o.reg_rsp_buf_slot, core.cycle()};
      if (o.reg_rsp_status != u(Rsp::kOk)) {
        EXPECT_EQ(o.reg_rsp_rdata, 0u) << "rdata must be 0 unless OK";
      }
    } else {
      EXPECT_FALSE(o.reg_rsp_valid) << "response without a request";
    }
    if (o.vd_valid) verdicts.push_back(VdRec{core.cycle(), o.vd_accept, o.vd_ep, o.vd_slot, o.vd_reason});
  }

  const char* backdoor_ = nullptr;
  bool req_pending_ = false;
  std::vector<uint8_t> tx_snap_, rx_pay_;
  uint32_t tx_off_ = 0, rx_off_ = 0;
  std::deque<std::vector<uint8_t>> tx_fifo_;
  Req req_{};
  bool req_write_ = false;
  uint32_t req_addr_ = 0, req_wdata_ = 0;
  RegRsp rsp_{};
};

// Board-management port (strong cores, docs/strong-mode.md 11.3).
inline uint32_t link_cmd_word(regs::LinkOp op, uint32_t node) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_LINK_CMD_OP, static_cast<uint32_t>(op)), CMM_LINK_CMD_NODE, node);
}
// LINK_KEY0..3, then LINK_CMD SET for `node`.
inline void provision_link(CoreHarness& h, uint16_t node, const Key& lk) {
  for (uint32_t w = 0; w < regs::kKeyWords; ++w)
    h.wr_ok(firmware(), regs::CMM_LINK_KEY_OFFSET + regs::CMM_LINK_KEY_STRIDE * w, lk[w]);
  h.wr_ok(firmware(), regs::CMM_LINK_CMD_OFFSET, link_cmd_word(regs::LinkOp::kSet, node));
}
// Records every delivery (header) of a core.
struct DeliveryLog : CoreObserver {
  std::vector<Header> got;
  void on_deliver(uint64_t, const Header& h) override { got.push_back(h); }
};

// Back-to-back connection of cores: headers are routed by dst_node.
class Net {
 public:
  explicit Net(std::vector<CoreHarness*> nodes) : nodes_(std::move(nodes)) {
    for (CoreHarness* n : nodes_) n->net = this;
  }
  ~Net() {
    for (CoreHarness* n : nodes_) n->net = nullptr;
  }
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  // Called for each routed header; may modify it; return false to drop it
  // (the dropped header is kept in `dropped`).
  std::function<bool(Header&)> filter;
  // Strong mode: may modify the payload of a routed packet (after filter).
  std::function<void(const Header&, std::vector<uint8_t>&)> pay_filter;
  // Sees every routed packet with its payload first; returning false takes it
  // off the wire (the test delivers it later, or never, with deliver()).
  std::function<bool(const Header&, const std::vector<uint8_t>&)> tap;
  // Called at the end of every tick (e.g. to release held packets).
  std::function<void()> after_tick;
  std::vector<Header> dropped;    // filtered out
  std::vector<Header> unroutable; // no core with that node id

  void tick() {
    for (CoreHarness* n : nodes_) n->edge();
    for (CoreHarness* n : nodes_) {
      for (; n->routed < n->egress.size(); ++n->routed) {
        Header h = n->egress[n->routed].hdr;
        std::vector<uint8_t> pay = n->egress[n->routed].payload;
        if (tap && !tap(h, pay)) continue;
        if (filter && !filter(h)) {
          dropped.push_back(h);
          continue;
        }
        if (pay_filter) pay_filter(h, pay);
        deliver(h, pay);
      }
    }
    if (after_tick) after_tick();
  }
  // Puts a packet on the ingress of the core it is addressed to.
  void deliver(const Header& h, const std::vector<uint8_t>& pay) {
    CoreHarness* dst = nullptr;
    for (CoreHarness* m : nodes_)
      if (m->node() == h.dst_node) dst = m;
    if (!dst) {
      unroutable.push_back(h);
      return;
    }
    dst->ingress.push_back(h);
    const Header m = h.masked();
    if (!pay.empty() && (m.aux & (1u << regs::kStrongAuxBit)) && m.len > 0 && m.len <= regs::kMaxMsgBytes)
      dst->strong_payloads.push_back(pay);
  }
  bool idle() const {
    for (const CoreHarness* n : nodes_)
      if (!n->idle()) return false;
    return true;
  }

 private:
  std::vector<CoreHarness*> nodes_;
};

inline void CoreHarness::tick(uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    if (net) net->tick();
    else edge();
  }
}

inline void CoreHarness::settle(uint32_t max_cycles) {
  for (uint32_t i = 0; i < max_cycles; ++i) {
    if (net ? net->idle() : (ingress.empty() && core.quiescent())) return;
    tick();
  }
  ADD_FAILURE() << "not settled after " << max_cycles << " cycles";
}

// A channel between two cores of a Net, opened through real commands and
// packets (DESIGN steps 1-3; ids exchanged by the test instead of MGMT).
struct Channel {
  uint32_t rx_ep = 0, tx_ep = 0;
  uint8_t rx_part = 0, tx_part = 0;
  uint16_t rx_pid = 0, tx_pid = 0;
  uint8_t rx_gen = 0, tx_gen = 0;  // CST_GEN.LOCAL of each end, exchanged with the ids
  Key key{};
};

inline Channel open_channel(CoreHarness& rx, uint8_t rx_part, uint16_t rx_pid, CoreHarness& tx, uint8_t tx_part,
                            uint16_t tx_pid, const Key& key) {
  Channel c;
  c.rx_part = rx_part;
  c.tx_part = tx_part;
  c.rx_pid = rx_pid;
  c.tx_pid = tx_pid;
  c.key = key;
  // Allocate both, then fill in the remote ids.
  const int rx_ep = rx.alloc(rx_part);
  const int tx_ep = tx.alloc(tx_part);
  EXPECT_GE(rx_ep, 0);
  EXPECT_GE(tx_ep, 0);
  if (rx_ep < 0 || tx_ep < 0) return c;
  c.rx_ep = static_cast<uint32_t>(rx_ep);
  c.tx_ep = static_cast<uint32_t>(tx_ep);
  // The id exchange carries each entry's generation (security.md 1.9).
  c.rx_gen = rx.gen(rx_part, c.rx_ep);
  c.tx_gen = tx.gen(tx_part, c.tx_ep);
  auto fill = [](CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, uint8_t rn, uint8_t rp,
                 uint32_t re, uint8_t rgen) {
    h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), u(dir));
    h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), pid);
    if (re >> regs::CMM_CST_REMOTE_EP_BITS)  // endpoint bits 15:12 first (16-bit ids)
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_REMOTE_HI_OFFSET), re >> regs::CMM_CST_REMOTE_EP_BITS);
    h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote_word(rn, rp, re));
    h.set_remote_gen(part, ep, rgen);
    h.cmd_ok(part, Cmd::kAuthorize, ep);
  };
  fill(tx, tx_part, c.tx_ep, tx_pid, Dir::kSend, rx.node(), rx_part, c.rx_ep, c.rx_gen);
  fill(rx, rx_part, c.rx_ep, rx_pid, Dir::kRecv, tx.node(), tx_part, c.tx_ep, c.tx_gen);
  rx.stage_key(rx_part, key);
  rx.cmd_ok(rx_part, Cmd::kConnect, c.rx_ep);
  rx.settle();
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  return c;
}

}  // namespace cmm::coretest
