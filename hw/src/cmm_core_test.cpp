// Unit tests of the cycle-accurate CMM core (label unit): register file,
// CST state machine and commands, ingress verification and its reject
// reasons, pipeline timing and hazards, receive queues, management messages,
// error log and interrupts. Every rejection is checked through its reason
// code and its counter (REJECT_COUNT[reason] on the register port and
// CmmCore::reject_count()).
#include <gtest/gtest.h>

#include <random>

#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

using namespace regs;

constexpr uint8_t kNode = 0x21;   // the core under test
constexpr uint8_t kPeer = 0x42;   // its usual peer node
constexpr uint8_t kOther = 0x63;  // a third node
const Key kKeyA{0x01234567u, 0x89ABCDEFu, 0xFEDCBA98u, 0x76543210u};
const Key kKeyB{0xA5A5F00Du, 0x5A5AC0DEu, 0x0BADCAFEu, 0xDEADBEEFu};

constexpr uint32_t kStatDataSent = CmmCore::kStatDataSent;
constexpr uint32_t kStatDelivered = CmmCore::kStatDataDelivered;
constexpr uint32_t kStatConnSent = CmmCore::kStatConnectSent;
constexpr uint32_t kStatConnAcc = CmmCore::kStatConnectAccepted;
constexpr uint32_t kStatCloseSent = CmmCore::kStatCloseSent;
constexpr uint32_t kStatMgmtSent = CmmCore::kStatMgmtSent;
constexpr uint32_t kStatMgmtRecv = CmmCore::kStatMgmtReceived;
constexpr uint32_t kStatNackSent = CmmCore::kStatNackSent;

PinsIn idle_in(bool eg_ready = true) {
  PinsIn in;
  in.eg_ready = eg_ready;
  return in;
}
PinsIn reg_in(Req who, bool write, uint32_t addr, uint32_t wdata = 0, bool eg_ready = true) {
  PinsIn in = idle_in(eg_ready);
  in.reg_req_valid = true;
  in.reg_req_write = write;
  in.reg_req_addr = addr;
  in.reg_req_wdata = wdata;
  in.reg_req_part = who.part;
  in.reg_req_priv = static_cast<uint8_t>(who.priv);
  in.reg_req_pid = who.pid;
  return in;
}

// The NACK a core at kNode must send back for `orig` (already masked):
// generations echoed swapped, `key` only when the source is the entry's peer.
Header expected_nack(const Header& orig, Reason r, const Key& key = Key{}) {
  Header n = make_header(Opcode::kNack, kNode, orig.dst_part, orig.dst_ep, orig.src_node, orig.src_part, orig.src_ep);
  n.reason = static_cast<uint8_t>(r);
  n.aux = orig.opcode;
  n.tag = orig.tag;
  if (orig.opcode == static_cast<uint8_t>(Opcode::kData)) n.seq = orig.seq;  // a NACK of DATA names it
  n.src_gen = orig.dst_gen;
  n.dst_gen = orig.src_gen;
  n.key = key;
  return n;
}

// Quotas summing to the table size (ALLOC reserves unused quota of others).
Straps test_straps(uint16_t node) {
  Straps s;
  s.node_id = node;
  s.quota = {4, 3, 2, 2, 2, 1, 1, 1};
  return s;
}

class CoreTest : public ::testing::Test {
 protected:
  CoreHarness h{test_straps(kNode)};

  // Open receive entry (DESIGN steps 2-3 from the receiver's side; the peer's
  // CONNECT_ACK is injected). Egress and interrupt state are cleared.
  uint32_t open_rx(uint8_t part, uint16_t pid, uint8_t rpart, uint8_t rep, const Key& k, uint16_t rnode = kPeer) {
    const int ep = h.make_entry(part, pid, Dir::kRecv, rnode, rpart, rep);
    h.stage_key(part, k);
    h.cmd_ok(part, Cmd::kConnect, static_cast<uint32_t>(ep));
    Header ack = make_header(Opcode::kConnectAck, rnode, rpart, rep, kNode, part, static_cast<uint8_t>(ep));
    ack.key = k;  // the sender's CMM proves it stored the key
    stamp(ack);
    h.inject(ack);
    EXPECT_EQ(h.core.ep_state(static_cast<uint32_t>(ep)), State::kOpen);
    h.take_egress();
    h.wr_ok(kernel(part), CMM_IRQ_STATUS_OFFSET, 0x1F);
    return static_cast<uint32_t>(ep);
  }
  // Open send entry (a CONNECT from the peer is injected).
  uint32_t open_tx(uint8_t part, uint16_t pid, uint8_t rpart, uint8_t rep, const Key& k, uint16_t rnode = kPeer) {
    const int ep = h.make_entry(part, pid, Dir::kSend, rnode, rpart, rep);
    Header c = make_header(Opcode::kConnect, rnode, rpart, rep, kNode, part, static_cast<uint8_t>(ep));
    c.key = k;
    stamp(c);
    h.inject(c);
    EXPECT_EQ(h.core.ep_state(static_cast<uint32_t>(ep)), State::kOpen);
    h.take_egress();
    h.wr_ok(kernel(part), CMM_IRQ_STATUS_OFFSET, 0x1F);
    return static_cast<uint32_t>(ep);
  }
  // A packet from the peer entry as its CMM would stamp it: dst_gen = the
  // addressed entry's generation, src_gen = its CST_GEN.REMOTE (0 here).
  Header& stamp(Header& p) const {
    if (p.dst_ep < kNumEndpoints) p.dst_gen = h.core.ep_gen(p.dst_ep);
    return p;
  }
  // DATA with the sequence number the entry expects next (+ ahead, for
  // headers built before earlier ones are delivered).
  Header data(uint8_t src_part, uint8_t src_ep, uint8_t dst_part, uint8_t dst_ep, const Key& k,
              uint16_t len = 64, uint16_t tag = 0, uint16_t src_node = kPeer, uint16_t ahead = 0) const {
    Header d = make_header(Opcode::kData, src_node, src_part, src_ep, kNode, dst_part, dst_ep);
    d.key = k;
    d.len = len;
    d.tag = tag;
    stamp(d);
    if (dst_ep < kNumEndpoints) d.seq = static_cast<uint16_t>(h.core.rx_seq(dst_ep) + ahead);
    return d;
  }

  // Injects h (alone) and checks the rejection: reason counter +1, NACK sent
  // back (or none for responses), a reject verdict for DATA, and an error-log
  // entry in log_part iff logged.
  void expect_ingress_reject(const Header& hdr, Reason r, bool logged, uint8_t log_part = 0, bool nacked = true,
                             const Key& nack_key = Key{}) {
    SCOPED_TRACE(std::string(opcode_name(hdr.opcode)) + " -> " + std::string(reason_name(u(r))));
    const Header m = hdr.masked();
    h.settle();
    h.take_egress();
    h.take_verdicts();
    h.clear_errlog(log_part);
    const uint32_t before = h.rejects(r);
    const uint32_t nacks_before = h.stat(kStatNackSent);
    h.inject(hdr);
    EXPECT_EQ(h.rejects(r), before + 1);
    std::vector<EgRec> eg = h.take_egress();
    if (nacked) {
      ASSERT_EQ(eg.size(), 1u);
      EXPECT_EQ(eg[0].cls, 1u);
      EXPECT_EQ(eg[0].hdr, expected_nack(m, r, nack_key));
      EXPECT_TRUE(eg[0].hdr.key == nack_key) << "NACK key bits";
      EXPECT_EQ(h.stat(kStatNackSent), nacks_before + 1);
    } else {
      EXPECT_TRUE(eg.empty()) << "a response must never be answered";
      EXPECT_EQ(h.stat(kStatNackSent), nacks_before);
    }
    std::vector<VdRec> vd = h.take_verdicts();
    if (m.opcode == u(Opcode::kData)) {
      ASSERT_EQ(vd.size(), 1u);
      EXPECT_FALSE(vd[0].accept);
      EXPECT_EQ(vd[0].reason, u(r));
      EXPECT_EQ(vd[0].ep, m.dst_ep);
      EXPECT_EQ(vd[0].slot, 0u);
    } else {
      EXPECT_TRUE(vd.empty());
    }
    if (logged) {
      ASSERT_EQ(h.errlog_count(log_part), 1u);
      ErrEntry e = h.pop_err(log_part);
      EXPECT_EQ(e.reason, u(r));
      EXPECT_EQ(e.ep, m.dst_ep);
      EXPECT_EQ(e.opcode, m.opcode);
      EXPECT_EQ(e.from_fabric, 1u);
      EXPECT_EQ(e.exception, r == Reason::kKeyLocked ? 1u : 0u);
      EXPECT_EQ(e.src_node, m.src_node & CMM_ERRLOG_HEAD_SRC_NODE_MASK);  // bits 7:0 (docs/scale.md)
    } else {
      EXPECT_EQ(h.errlog_count(log_part), 0u);
    }
  }
};

// =====================================================================
// Registers
// =====================================================================

// Header::pack()/unpack() (word at a time) against a bit-by-bit reference of
// the layout (field 0 at bit 0, widths from cmm.toml), for random headers.
TEST(HeaderLayout, PackMatchesABitByBitReferenceAndUnpackInvertsIt) {
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    Header h;
    h.opcode = static_cast<uint8_t>(rng());
    h.src_node = static_cast<uint8_t>(rng());
    h.src_part = static_cast<uint8_t>(rng());
    h.src_ep = static_cast<uint8_t>(rng());
    h.dst_node = static_cast<uint8_t>(rng());
    h.dst_part = static_cast<uint8_t>(rng());
    h.dst_ep = static_cast<uint8_t>(rng());
    h.len = static_cast<uint16_t>(rng());
    h.tag = static_cast<uint16_t>(rng());
    h.reason = static_cast<uint8_t>(rng());
    h.aux = static_cast<uint8_t>(rng());
    h.src_gen = static_cast<uint8_t>(rng());
    h.dst_gen = static_cast<uint8_t>(rng());
    h.seq = static_cast<uint16_t>(rng());
    for (auto& w : h.key) w = static_cast<uint32_t>(rng());
    Header::Packed ref{};
    auto put = [&](uint32_t lsb, uint32_t bits, uint32_t v) {
      for (uint32_t b = 0; b < bits; ++b)
        if ((v >> b) & 1u) ref[(lsb + b) / 32] |= 1u << ((lsb + b) % 32);
    };
    put(kHdrOpcodeLsb, kHdrOpcodeBits, h.opcode);
    put(kHdrSrcNodeLsb, kHdrSrcNodeBits, h.src_node);
    put(kHdrSrcPartLsb, kHdrSrcPartBits, h.src_part);
    put(kHdrSrcEpLsb, kHdrSrcEpBits, h.src_ep);
    put(kHdrDstNodeLsb, kHdrDstNodeBits, h.dst_node);
    put(kHdrDstPartLsb, kHdrDstPartBits, h.dst_part);
    put(kHdrDstEpLsb, kHdrDstEpBits, h.dst_ep);
    put(kHdrLenLsb, kHdrLenBits, h.len);
    put(kHdrTagLsb, kHdrTagBits, h.tag);
    put(kHdrReasonLsb, kHdrReasonBits, h.reason);
    put(kHdrAuxLsb, kHdrAuxBits, h.aux);
    put(kHdrSrcGenLsb, kHdrSrcGenBits, h.src_gen);
    put(kHdrDstGenLsb, kHdrDstGenBits, h.dst_gen);
    put(kHdrSeqLsb, kHdrSeqBits, h.seq);
    for (uint32_t w = 0; w < kKeyWords; ++w) put(kHdrKeyLsb + 32 * w, 32, h.key[w]);
    ASSERT_EQ(h.pack(), ref) << i;
    ASSERT_EQ(Header::unpack(ref), h.masked()) << i;
  }
}

TEST(CoreRegisters, ResetValuesOfEveryRegister) {
  Straps s;
  s.node_id = 0xB7;
  for (uint32_t p = 0; p < kNumPartitions; ++p) s.quota[p] = static_cast<uint8_t>(p + 1);
  CoreHarness h(s);
  const PinsOut& o = h.core.out();
  EXPECT_TRUE(o.reg_req_ready);
  EXPECT_TRUE(o.ing_ready);
  EXPECT_FALSE(o.reg_rsp_valid);
  EXPECT_FALSE(o.eg_valid);
  EXPECT_FALSE(o.vd_valid);
  EXPECT_EQ(o.irq, 0u);
  EXPECT_TRUE(h.core.quiescent());

  for (uint8_t p = 0; p < kNumPartitions; ++p) {
    SCOPED_TRACE(p);
    for (Req who : {kernel(p), user(p, 77)}) {
      EXPECT_EQ(h.rd_ok(who, CMM_ID_OFFSET), kMagic);
      EXPECT_EQ(h.rd_ok(who, CMM_NODE_ID_OFFSET), 0xB7u);
      const uint32_t g = h.rd_ok(who, CMM_GEOMETRY_OFFSET);
      EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_NUM_EP), kNumEndpoints);
      EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_NUM_PART), kNumPartitions);
      EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_RXQ_DEPTH), kRxqDepth);
      EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_KEY_WORDS), kKeyWords);
      EXPECT_EQ(g, 0x11100010u);
    }
    const Req k = kernel(p);
    const uint32_t pi = h.rd_ok(k, CMM_PART_INFO_OFFSET);
    EXPECT_EQ(CMM_FIELD_GET(pi, CMM_PART_INFO_PART), p);
    EXPECT_EQ(CMM_FIELD_GET(pi, CMM_PART_INFO_QUOTA), p + 1u);
    EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(k, CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 0u);
    // Every other register of the map, every word of every array, against
    // the generated reset value (CMM_<REG>_RESET = kRegRules[].reset).
    for (const RegRule& r : kRegRules) {
      if (r.win != RegWin::kGlobal || r.who == Who::kFirmware || !r.has_reset) continue;
      for (uint32_t i = 0; i < r.count; ++i)
        EXPECT_EQ(h.rd_ok(r.who == Who::kAny ? user(p, 77) : k, r.offset + i * r.stride), r.reset)
            << r.name << "[" << i << "]";
    }
  }
  // Spot checks that the table carries the toml's values.
  static_assert(reg_rule(RegId::kId).reset == CMM_ID_RESET && CMM_ID_RESET == kMagic);
  static_assert(reg_rule(RegId::kStat).has_reset && CMM_STAT_RESET == 0u);
  static_assert(!reg_rule(RegId::kNodeId).has_reset && !reg_rule(RegId::kGeometry).has_reset);
  // Window registers: every entry is FREE after reset, so nobody owns one.
  for (uint32_t e : {0u, kNumEndpoints - 1}) {
    for (const RegRule& r : kRegRules) {
      if (r.win == RegWin::kGlobal) continue;
      const uint32_t base = r.win == RegWin::kCst ? cst_addr(e, r.offset) : ep_addr(e, r.offset);
      EXPECT_EQ(h.rd(kernel(0), base).status, u(Rsp::kDenied)) << r.name;
    }
  }
  for (uint32_t e = 0; e < kNumEndpoints; ++e) {
    EXPECT_EQ(h.core.ep_state(e), State::kFree);
    EXPECT_FALSE(h.core.key_valid(e));
    EXPECT_EQ(h.core.rxq_count(e), 0u);
  }
  EXPECT_EQ(h.core.egress_occupancy(), 0u);
  for (uint32_t r = 0; r < kReasonCount; ++r)
    if (r != u(Reason::kDenied)) {
      EXPECT_EQ(h.core.reject_count(static_cast<Reason>(r)), 0u);
    }
  EXPECT_TRUE(h.egress.empty());
}

TEST(CoreRegisters, ResetClearsEverything) {
  CoreHarness h(kNode);
  const int ep = h.make_entry(2, 9, Dir::kRecv, kPeer, 1, 1);
  h.stage_key(2, kKeyA);
  h.cmd_ok(2, Cmd::kConnect, static_cast<uint32_t>(ep));
  h.wr_ok(kernel(2), CMM_IRQ_ENABLE_OFFSET, 0x1F);
  h.wr_ok(kernel(2), CMM_MGMT_TX_OFFSET, 0x1234);
  h.rd(user(2, 1), CMM_PART_INFO_OFFSET);  // DENIED: logged, IRQ ERR
  EXPECT_NE(h.core.out().irq, 0u);
  h.core.reset();
  h.take_egress();
  EXPECT_EQ(h.core.cycle(), 0u);
  EXPECT_EQ(h.core.ep_state(static_cast<uint32_t>(ep)), State::kFree);
  EXPECT_FALSE(h.core.key_valid(static_cast<uint32_t>(ep)));
  EXPECT_FALSE(h.core.key_equals_for_test(static_cast<uint32_t>(ep), kKeyA));
  EXPECT_EQ(h.core.out().irq, 0u);
  EXPECT_FALSE(h.core.out().eg_valid);
  EXPECT_EQ(h.core.reject_count(Reason::kDenied), 0u);
  EXPECT_EQ(h.rd_ok(kernel(2), CMM_IRQ_ENABLE_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(kernel(2), CMM_MGMT_TX_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(kernel(2), CMM_ERRLOG_STATUS_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(kernel(2), CMM_PART_INFO_OFFSET), CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_PART_INFO_PART, 2u),
                                                                    CMM_PART_INFO_QUOTA, 2u));
  EXPECT_EQ(h.core.ep_gen(static_cast<uint32_t>(ep)), 0u);  // generations are 0 only after reset
  EXPECT_EQ(h.stat(kStatConnSent), 0u);
}

TEST_F(CoreTest, GlobalRegistersAreReadOnlyForEveryone) {
  const uint32_t addrs[] = {CMM_ID_OFFSET, CMM_NODE_ID_OFFSET, CMM_GEOMETRY_OFFSET};
  uint32_t expected = 0;
  for (uint32_t a : addrs) {
    for (Req who : {kernel(0), kernel(7), user(3, 0), user(5, 0xFFFF)}) {
      RegRsp r = h.wr(who, a, 0xFFFFFFFFu);
      EXPECT_EQ(r.status, u(Rsp::kReject));
      EXPECT_EQ(r.rdata, 0u);
      ++expected;
    }
  }
  EXPECT_EQ(h.rejects(Reason::kReadOnly), expected);
  EXPECT_EQ(h.rd_ok(user(1, 1), CMM_ID_OFFSET), kMagic);
  EXPECT_EQ(h.rd_ok(user(1, 1), CMM_NODE_ID_OFFSET), kNode);
  // A refused write is not an I5 violation: nothing is logged.
  EXPECT_EQ(h.errlog_count(0), 0u);
  EXPECT_EQ(h.rejects(Reason::kDenied), 0u);
}

TEST_F(CoreTest, ReadOnlyKernelRegistersRefuseWrites) {
  std::vector<uint32_t> ro = {CMM_PART_INFO_OFFSET,     CMM_CMD_STATUS_OFFSET,         CMM_MGMT_RX_STATUS_OFFSET,
                              CMM_ERRLOG_STATUS_OFFSET, CMM_ERRLOG_HEAD_OFFSET,        CMM_ERRLOG_HEAD_REPEAT_OFFSET,
                              CMM_EXC_COUNT_OFFSET,     CMM_EXC_FIRST_OFFSET,          CMM_EXC_LAST_OFFSET,
                              CMM_ALARM_COUNT_OFFSET};
  for (uint32_t i = 0; i < CMM_MGMT_RX_COUNT; ++i) ro.push_back(CMM_MGMT_RX_OFFSET + 4 * i);
  for (uint32_t i = 0; i < CMM_REJECT_COUNT_COUNT; ++i) ro.push_back(CMM_REJECT_COUNT_OFFSET + 4 * i);
  for (uint32_t i = 0; i < CMM_STAT_COUNT; ++i) ro.push_back(stat_addr(i));
  uint32_t n = 0;
  for (uint32_t a : ro) {
    RegRsp r = h.wr(kernel(1), a, 0xFFFFFFFFu);
    EXPECT_EQ(r.status, u(Rsp::kReject)) << std::hex << a;
    ++n;
  }
  // Nothing changed (except the READ_ONLY counter itself).
  EXPECT_EQ(h.rejects(Reason::kReadOnly), n);
  EXPECT_EQ(h.rd_ok(kernel(1), CMM_CMD_STATUS_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(kernel(1), CMM_PART_INFO_OFFSET), 0x00000301u);
  EXPECT_EQ(h.rd_ok(kernel(1), CMM_ERRLOG_STATUS_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(kernel(1), CMM_MGMT_RX_STATUS_OFFSET), 0u);
  for (uint32_t i = 0; i < CMM_STAT_COUNT; ++i) EXPECT_EQ(h.stat(i), 0u);
  for (uint32_t r = 0; r < CMM_REJECT_COUNT_COUNT; ++r)
    if (r != u(Reason::kReadOnly)) {
      EXPECT_EQ(h.rd_ok(kernel(0), CMM_REJECT_COUNT_OFFSET + 4 * r), 0u) << r;
    }
  // REJECT_COUNT entries above the last reason code read 0.
  EXPECT_EQ(h.rd_ok(kernel(0), CMM_REJECT_COUNT_OFFSET + 4 * (CMM_REJECT_COUNT_COUNT - 1)), 0u);
}

TEST_F(CoreTest, ReadWriteWriteOnlyAndCommandRegisters) {
  const Req k = kernel(0);
  // rw: every writable bit; a bit outside the fields refuses the write (RESERVED_BITS).
  h.wr_ok(k, CMM_IRQ_ENABLE_OFFSET, CMM_IRQ_ENABLE_WMASK);
  EXPECT_EQ(h.rd_ok(k, CMM_IRQ_ENABLE_OFFSET), 0x7Fu);
  EXPECT_EQ(h.wr(k, CMM_IRQ_ENABLE_OFFSET, 0xFFFFFFFFu).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, CMM_IRQ_ENABLE_OFFSET), 0x7Fu);
  h.wr_ok(k, CMM_IRQ_ENABLE_OFFSET, 0x0Au);
  EXPECT_EQ(h.rd_ok(k, CMM_IRQ_ENABLE_OFFSET), 0x0Au);
  for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) h.wr_ok(k, CMM_MGMT_TX_OFFSET + 4 * i, 0xC0DE0000u + i);
  for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) EXPECT_EQ(h.rd_ok(k, CMM_MGMT_TX_OFFSET + 4 * i), 0xC0DE0000u + i);
  h.wr_ok(k, CMM_MGMT_DST_OFFSET, 0xFFFu);
  EXPECT_EQ(h.rd_ok(k, CMM_MGMT_DST_OFFSET), 0xFFFu);
  EXPECT_EQ(h.wr(k, CMM_MGMT_DST_OFFSET, 0xFFFFFFFFu).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, CMM_MGMT_DST_OFFSET), 0xFFFu);
  h.wr_ok(k, CMM_MGMT_DST_OFFSET, 0x00000342u);
  EXPECT_EQ(h.rd_ok(k, CMM_MGMT_DST_OFFSET), 0x342u);
  // wo: writes accepted, reads return 0.
  for (uint32_t i = 0; i < CMM_KEY_COUNT; ++i) {
    h.wr_ok(k, CMM_KEY_OFFSET + 4 * i, 0xFFFFFFFFu);
    EXPECT_EQ(h.rd_ok(k, CMM_KEY_OFFSET + 4 * i), 0u);
  }
  // cmd: reads return 0 and do nothing.
  EXPECT_EQ(h.rd_ok(k, CMM_CMD_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(k, CMM_CMD_STATUS_OFFSET), 0u);
  for (uint32_t r = 0; r < kReasonCount; ++r)
    EXPECT_EQ(h.core.reject_count(static_cast<Reason>(r)), r == u(Reason::kReservedBits) ? 2u : 0u);
}

TEST_F(CoreTest, IrqStatusIsWriteOneToClear) {
  const Req k = kernel(0);
  // Writing ones when nothing is pending sets nothing.
  h.wr_ok(k, CMM_IRQ_STATUS_OFFSET, 0x1F);
  EXPECT_EQ(h.irq_status(0), 0u);
  // Raise ERR (a logged DENIED) and RX (a delivery).
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  h.rd(user(0, 99), ep_addr(rx, CMM_EP_RX_STATUS_OFFSET));  // DENIED -> ERR
  h.inject(data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA));
  EXPECT_EQ(h.irq_status(0), bit(Irq::kErr) | bit(Irq::kRx));
  // Writing 0 clears nothing; writing the RX bit clears only RX.
  h.wr_ok(k, CMM_IRQ_STATUS_OFFSET, 0);
  EXPECT_EQ(h.irq_status(0), bit(Irq::kErr) | bit(Irq::kRx));
  h.wr_ok(k, CMM_IRQ_STATUS_OFFSET, bit(Irq::kRx));
  EXPECT_EQ(h.irq_status(0), bit(Irq::kErr));
  h.wr_ok(k, CMM_IRQ_STATUS_OFFSET, CMM_IRQ_STATUS_WMASK);
  EXPECT_EQ(h.irq_status(0), 0u);
}

TEST_F(CoreTest, KernelRegistersAreBankedPerPartition) {
  const Req k0 = kernel(0), k1 = kernel(1);
  h.wr_ok(k0, CMM_IRQ_ENABLE_OFFSET, 0x15);
  for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) h.wr_ok(k0, CMM_MGMT_TX_OFFSET + 4 * i, 0xAAAA0000u | i);
  h.wr_ok(k0, CMM_MGMT_DST_OFFSET, 0x142);
  h.cmd_ok(0, Cmd::kNop);
  h.rd(user(0, 1), CMM_CMD_STATUS_OFFSET);  // DENIED, logged in partition 0

  // Partition 1 sees none of it.
  EXPECT_EQ(h.rd_ok(k1, CMM_IRQ_ENABLE_OFFSET), 0u);
  for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) EXPECT_EQ(h.rd_ok(k1, CMM_MGMT_TX_OFFSET + 4 * i), 0u);
  EXPECT_EQ(h.rd_ok(k1, CMM_MGMT_DST_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(k1, CMM_CMD_STATUS_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(k1, CMM_IRQ_STATUS_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(k1, CMM_ERRLOG_STATUS_OFFSET), 0u);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(k1, CMM_PART_INFO_OFFSET), CMM_PART_INFO_PART), 1u);

  // Partition 1's own values do not leak into partition 0.
  h.wr_ok(k1, CMM_IRQ_ENABLE_OFFSET, 0x02);
  h.wr_ok(k1, CMM_MGMT_TX_OFFSET, 0x11111111u);
  h.wr_ok(k1, CMM_MGMT_DST_OFFSET, 0x263);
  h.cmd_ok(1, Cmd::kNop);
  h.cmd_ok(1, Cmd::kNop);
  EXPECT_EQ(h.rd_ok(k0, CMM_IRQ_ENABLE_OFFSET), 0x15u);
  EXPECT_EQ(h.rd_ok(k0, CMM_MGMT_TX_OFFSET), 0xAAAA0000u);
  EXPECT_EQ(h.rd_ok(k0, CMM_MGMT_DST_OFFSET), 0x142u);
  EXPECT_EQ(CMM_FIELD_GET(h.cmd_status(0), CMM_CMD_STATUS_COUNT), 1u);
  EXPECT_EQ(CMM_FIELD_GET(h.cmd_status(1), CMM_CMD_STATUS_COUNT), 2u);
  EXPECT_EQ(h.irq_status(0), bit(Irq::kErr));
  EXPECT_EQ(h.errlog_count(0), 1u);
  EXPECT_EQ(h.rd_ok(k1, CMM_IRQ_ENABLE_OFFSET), 0x02u);

  // KEY staging is banked: partition 0's SET_KEY stores partition 0's staged
  // key, and partition 0's command does not zeroize partition 1's staging.
  const int e0 = h.make_entry(0, 3, Dir::kRecv, kPeer, 0, 0);
  const int e1 = h.make_entry(1, 3, Dir::kRecv, kPeer, 0, 1);
  h.stage_key(1, kKeyB);
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kSetKey, static_cast<uint32_t>(e0));
  EXPECT_TRUE(h.core.key_equals_for_test(static_cast<uint32_t>(e0), kKeyA));
  h.cmd_ok(1, Cmd::kSetKey, static_cast<uint32_t>(e1));
  EXPECT_TRUE(h.core.key_equals_for_test(static_cast<uint32_t>(e1), kKeyB));
}

TEST_F(CoreTest, KeyStagingIsZeroizedByEveryCommand) {
  const int ep = h.make_entry(0, 3, Dir::kRecv, kPeer, 0, 0);
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kNop);
  // The bank is empty again: nothing written since the last command.
  h.cmd_refused(0, Cmd::kSetKey, static_cast<uint32_t>(ep), Reason::kKeyIncomplete);
  EXPECT_FALSE(h.core.key_valid(static_cast<uint32_t>(ep)));
  // A refused command zeroizes too.
  const int ep2 = h.make_entry(0, 3, Dir::kRecv, kPeer, 0, 1);
  h.stage_key(0, kKeyB);
  h.cmd_refused(0, Cmd::kMgmtPop, 0, Reason::kRxqEmpty);
  h.cmd_refused(0, Cmd::kSetKey, static_cast<uint32_t>(ep2), Reason::kKeyIncomplete);
  EXPECT_FALSE(h.core.key_valid(static_cast<uint32_t>(ep2)));
  EXPECT_EQ(h.rejects(Reason::kKeyIncomplete), 2u);
  // Staged in full again, it is stored.
  h.stage_key(0, kKeyB);
  h.cmd_ok(0, Cmd::kSetKey, static_cast<uint32_t>(ep2));
  EXPECT_TRUE(h.core.key_equals_for_test(static_cast<uint32_t>(ep2), kKeyB));
}

TEST_F(CoreTest, MisalignedAndUnmappedAddressesGiveDecerr) {
  std::vector<uint32_t> bad = {0x1,    0x2,    0x3,    0x0E,   0x21,   0x80,   0x100,  0x7FC,  regs::CMM_STAT_OFFSET + regs::CMM_STAT_COUNT * regs::CMM_STAT_STRIDE,
                               0xFFC,  0x1200, 0x1204, 0x2000, 0xFFFC, 0x1001, 0x100E,
                               // misaligned in CST_REMOTE_HI of an allocated and a free entry (the
                               // window has no hole left since 16-bit endpoint ids)
                               0x101E, 0x11FD};
  // Endpoint page holes (for an allocated and a free endpoint) and beyond the pages.
  for (uint32_t off : {0x018u, 0x100u, 0x3FCu, 0xC00u, 0xFFCu}) {
    bad.push_back(ep_addr(0, off));
    bad.push_back(ep_addr(15, off));
  }
  bad.push_back(ep_addr(16, 0));
  bad.push_back(0xFFFFCu);
  bad.push_back(ep_addr(0, CMM_EP_DOORBELL_OFFSET) + 2);
  (void)h.alloc(0);  // endpoint 0 allocated: holes in its page are still holes
  uint32_t n = 0;
  for (uint32_t a : bad) {
    for (bool write : {false, true}) {
      for (Req who : {kernel(0), user(0, 0)}) {
        RegRsp r = h.access(who, write, a, 0xFFFFFFFFu);
        EXPECT_EQ(r.status, u(Rsp::kDecerr)) << std::hex << a << " write " << write;
        EXPECT_EQ(r.rdata, 0u);
        ++n;
      }
    }
  }
  EXPECT_EQ(h.rejects(Reason::kBadAddr), n);
  EXPECT_EQ(h.rejects(Reason::kDenied), 0u);
  // Logged in the requester partition's log, coalesced: the head entry and
  // a second one counting the repeats (never the head, which the agent reads).
  const uint32_t st = h.rd_ok(kernel(0), CMM_ERRLOG_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT), 2u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST), 0u);
  EXPECT_EQ(h.rd_ok(kernel(0), CMM_ERRLOG_HEAD_REPEAT_OFFSET), 0u);
  ErrEntry e = h.pop_err(0);
  EXPECT_EQ(h.rd_ok(kernel(0), CMM_ERRLOG_HEAD_REPEAT_OFFSET), n - 2);
  EXPECT_EQ(e.reason, u(Reason::kBadAddr));
  EXPECT_EQ(e.ep, 0u);
  EXPECT_EQ(e.opcode, 0u);
  EXPECT_EQ(e.from_fabric, 0u);
  EXPECT_EQ(e.exception, 0u);
  EXPECT_EQ(e.src_node, kNode);
  EXPECT_EQ(h.irq_status(0), bit(Irq::kErr));
  // Address bits above kAddrBits are not decoded.
  EXPECT_EQ(h.rd_ok(user(0, 0), (1u << kAddrBits) | CMM_ID_OFFSET), kMagic);
}

// The status a plain core must answer for an access, derived only from the
// generated access rules (hw/data/cmm.toml), never from the core's decode.
// kOk|kReject means "admitted": the operation itself may still refuse.
struct Predicted {
  uint8_t status;
  bool either_ok_or_reject;
};
Predicted predict_access(uint32_t a, Req who, bool wr, const CmmCore& core, uint8_t owner_part,
                         uint16_t owner_pid) {
  const auto ok = Predicted{u(Rsp::kOk), false};
  const auto admitted = Predicted{u(Rsp::kOk), true};
  const auto deny = Predicted{u(Rsp::kDenied), false};
  const auto rej = Predicted{u(Rsp::kReject), false};
  const auto dec = Predicted{u(Rsp::kDecerr), false};
  const RegHit hit = reg_decode(a);
  if (hit.id == RegId::kNone) return dec;
  const RegRule& r = reg_rule(hit.id);
  const bool kern = who.priv == Priv::kKernel;
  const bool owned = core.ep_state(hit.ep) != State::kFree && owner_part == who.part;
  switch (r.who) {
    case Who::kAny:
      return wr ? rej : ok;
    case Who::kFirmware:
      return dec;  // plain core: not mapped
    case Who::kKernel:
      if (!kern) return deny;
      if (wr) return r.access == Access::kRo ? rej : admitted;
      return ok;
    case Who::kCst:
    case Who::kCstEpRo: {
      const bool view = !kern && !wr && r.who == Who::kCstEpRo && who.pid == owner_pid;
      if (!owned || !(kern || view)) return deny;
      if (wr) return r.access == Access::kRo ? rej : admitted;
      return ok;
    }
    case Who::kEp:
      if (!owned || !(kern || who.pid == owner_pid)) return deny;
      if (r.buffer && wr != (r.access == Access::kWo)) return dec;
      if (hit.id == RegId::kRxBuf) return rej;  // empty receive queue
      if (wr) return r.access == Access::kRo ? rej : admitted;
      return ok;
  }
  return dec;
}

// Every word address of the global map, of two CST blocks and of two
// endpoint pages, read (and, where it cannot disturb the set-up, written) by
// every requester class: the core's answer must be the generated rule's.
TEST_F(CoreTest, DecodeFollowsTheGeneratedAccessRulesForEveryRequester) {
  constexpr uint16_t kPid = 7;
  const int mine = h.make_entry(0, kPid, Dir::kRecv, kPeer, 1, 1, false);  // ALLOCATED, partition 0
  const int theirs = h.make_entry(1, kPid, Dir::kSend, kPeer, 1, 2, false);  // same pid, partition 1
  ASSERT_GE(mine, 0);
  ASSERT_GE(theirs, 0);
  const Req classes[] = {
      user(3, 99),        // any requester (user of a partition owning nothing)
      kernel(0),          // kernel of the owning partition (of `mine`)
      kernel(2),          // kernel of another partition
      user(0, kPid),      // the owner process
      user(0, kPid + 1),  // another process of the owner's partition
      firmware(),         // the board-management pin (ignored by a plain core)
  };
  std::vector<uint32_t> addrs;
  for (uint32_t a = 0; a < CMM_CST_BASE; a += 4) addrs.push_back(a);
  for (int e : {mine, theirs}) {
    for (uint32_t o = 0; o < CMM_CST_STRIDE; o += 4) addrs.push_back(cst_addr(static_cast<uint32_t>(e), o));
    for (uint32_t o = 0; o < CMM_EP_STRIDE; o += 4) addrs.push_back(ep_addr(static_cast<uint32_t>(e), o));
  }
  addrs.push_back(CMM_CST_BASE + CMM_CST_COUNT * CMM_CST_STRIDE);  // between the windows
  addrs.push_back(CMM_EP_BASE + CMM_EP_COUNT * CMM_EP_STRIDE);     // past the last page
  auto owner_of = [&](uint32_t a, uint8_t& part, uint16_t& pid) {
    const uint32_t ep = reg_decode(a).ep;
    part = ep == static_cast<uint32_t>(theirs) ? 1 : 0;
    pid = kPid;
  };
  uint32_t checked = 0;
  for (const Req& who : classes) {
    for (uint32_t a : addrs) {
      uint8_t op;
      uint16_t opid;
      owner_of(a, op, opid);
      const Predicted want = predict_access(a, who, false, h.core, op, opid);
      const RegRsp got = h.rd(who, a);
      if (want.either_ok_or_reject) {
        EXPECT_TRUE(got.status == u(Rsp::kOk) || got.status == u(Rsp::kReject)) << std::hex << a;
      } else {
        EXPECT_EQ(got.status, want.status) << "read 0x" << std::hex << a << " by part " << +who.part << " priv "
                                           << +static_cast<uint8_t>(who.priv) << " pid " << who.pid;
      }
      ++checked;
    }
  }
  // Writes by every class but the owning kernel (its writes would change the set-up).
  for (const Req& who : classes) {
    if (who.priv == Priv::kKernel && who.part == 0) continue;
    for (uint32_t a : addrs) {
      uint8_t op;
      uint16_t opid;
      owner_of(a, op, opid);
      if (who.priv == Priv::kKernel && op == who.part) continue;
      const Predicted want = predict_access(a, who, true, h.core, op, opid);
      const RegRsp got = h.wr(who, a, 0);
      if (want.either_ok_or_reject) {
        EXPECT_TRUE(got.status == u(Rsp::kOk) || got.status == u(Rsp::kReject)) << std::hex << a;
      } else {
        EXPECT_EQ(got.status, want.status) << "write 0x" << std::hex << a << " by part " << +who.part << " priv "
                                           << +static_cast<uint8_t>(who.priv) << " pid " << who.pid;
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 6u * addrs.size());
  // The set-up survived: the owner's kernel still sees its entry.
  EXPECT_EQ(h.cst_state(0, static_cast<uint32_t>(mine)), u(State::kAllocated));
}

TEST_F(CoreTest, RequesterPartitionOutOfRangeIsDenied) {
  for (uint8_t p = kNumPartitions; p < 16; ++p) {
    RegRsp r = h.rd(kernel(p), CMM_ID_OFFSET);
    EXPECT_EQ(r.status, u(Rsp::kDenied));
    EXPECT_EQ(r.rdata, 0u);
  }
  EXPECT_EQ(h.rejects(Reason::kDenied), 16u - kNumPartitions);
  for (uint8_t p = 0; p < kNumPartitions; ++p) EXPECT_EQ(h.errlog_count(p), 0u);
}

TEST_F(CoreTest, CstWindowFieldsAndAccessModes) {
  const int ep = h.alloc(3);
  ASSERT_EQ(ep, 0);
  const Req k = kernel(3);
  const uint32_t ctrl = cst_addr(0, CMM_CST_CTRL_OFFSET), owner = cst_addr(0, CMM_CST_OWNER_OFFSET),
                 remote = cst_addr(0, CMM_CST_REMOTE_OFFSET), status = cst_addr(0, CMM_CST_STATUS_OFFSET);
  // After ALLOC: RECV, ALLOCATED, no key, owner partition 3.
  EXPECT_EQ(h.rd_ok(k, ctrl), (u(State::kAllocated) << CMM_CST_CTRL_STATE_LSB) | (3u << CMM_CST_CTRL_OWNER_PART_LSB));
  EXPECT_EQ(h.rd_ok(k, owner), 0u);
  EXPECT_EQ(h.rd_ok(k, remote), 0u);
  EXPECT_EQ(h.rd_ok(k, status), 0u);
  // DIR is the only writable CTRL field: any other bit refuses the write (RESERVED_BITS).
  EXPECT_EQ(h.wr(k, ctrl, 0xFFFFFFFFu).status, u(Rsp::kReject));
  EXPECT_EQ(h.wr(k, ctrl, 1u | (u(State::kOpen) << CMM_CST_CTRL_STATE_LSB)).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, ctrl), (u(State::kAllocated) << CMM_CST_CTRL_STATE_LSB) | (3u << CMM_CST_CTRL_OWNER_PART_LSB));
  h.wr_ok(k, ctrl, 1);
  EXPECT_EQ(h.rd_ok(k, ctrl), 1u | (u(State::kAllocated) << CMM_CST_CTRL_STATE_LSB) | (3u << CMM_CST_CTRL_OWNER_PART_LSB));
  EXPECT_EQ(h.core.ep_state(0), State::kAllocated);
  EXPECT_FALSE(h.core.key_valid(0));
  h.wr_ok(k, ctrl, 0);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(k, ctrl), CMM_CST_CTRL_DIR), 0u);
  EXPECT_EQ(h.wr(k, owner, 0xFFFF1234u).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, owner), 0u);
  h.wr_ok(k, owner, 0x1234u);
  EXPECT_EQ(h.rd_ok(k, owner), 0x1234u);
  // CST_REMOTE has no reserved bit since 16-bit endpoint ids; CST_REMOTE_HI (endpoint bits 15:12) has.
  const uint32_t remote_hi = cst_addr(0, CMM_CST_REMOTE_HI_OFFSET);
  EXPECT_EQ(h.wr(k, remote_hi, 0x10u).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, remote_hi), 0u);
  EXPECT_EQ(h.rd_ok(k, remote), 0u);
  h.wr_ok(k, remote, remote_word(0xEE, 7, 15));
  EXPECT_EQ(h.rd_ok(k, remote), remote_word(0xEE, 7, 15));
  // CST_GEN: LOCAL read-only (1 after the first ALLOC), REMOTE writable; CST_SEQ read-only.
  const uint32_t gen = cst_addr(0, CMM_CST_GEN_OFFSET), seq = cst_addr(0, CMM_CST_SEQ_OFFSET);
  EXPECT_EQ(h.rd_ok(k, gen), 1u);
  EXPECT_EQ(h.wr(k, gen, 0xAB05u).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, gen), 1u);
  h.wr_ok(k, gen, 0xAB00u);
  EXPECT_EQ(h.rd_ok(k, gen), 0xAB01u);
  EXPECT_EQ(h.rd_ok(k, seq), 0u);
  EXPECT_EQ(h.rejects(Reason::kReservedBits), 5u);
  // Out-of-range remote partition / endpoint: REJECT BAD_FIELD, unchanged.
  EXPECT_EQ(h.wr(k, remote, remote_word(1, 8, 0)).status, u(Rsp::kReject));
  EXPECT_EQ(h.wr(k, remote, remote_word(1, 0, 16)).status, u(Rsp::kReject));
  EXPECT_EQ(h.wr(k, remote, remote_word(1, 15, 255)).status, u(Rsp::kReject));
  // CST_REMOTE_HI after a valid CST_REMOTE: no id of a 16-entry table has bits 15:12 set.
  EXPECT_EQ(h.wr(k, remote_hi, 1).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(k, remote_hi), 0u);
  EXPECT_EQ(h.rejects(Reason::kBadField), 4u);
  EXPECT_EQ(h.rd_ok(k, remote), remote_word(0xEE, 7, 15));
  // CST_STATUS and CST_SEQ are read-only.
  EXPECT_EQ(h.wr(k, status, 0xFFFFFFFFu).status, u(Rsp::kReject));
  EXPECT_EQ(h.wr(k, seq, 0).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kReadOnly), 2u);
  EXPECT_EQ(h.rd_ok(k, status), 0u);
  // After AUTHORIZE the fields are frozen: REJECT NOT_OPEN.
  h.cmd_ok(3, Cmd::kAuthorize, 0);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(k, ctrl), CMM_CST_CTRL_STATE), u(State::kAuthorized));
  for (uint32_t a : {ctrl, owner, remote}) EXPECT_EQ(h.wr(k, a, 1).status, u(Rsp::kReject));
  EXPECT_EQ(h.wr(k, gen, 0x100u).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kNotOpen), 4u);
  EXPECT_EQ(h.rd_ok(k, gen), 0xAB01u);
  EXPECT_EQ(h.rd_ok(k, ctrl), (u(State::kAuthorized) << CMM_CST_CTRL_STATE_LSB) | (3u << CMM_CST_CTRL_OWNER_PART_LSB));
  EXPECT_EQ(h.rd_ok(k, owner), 0x1234u);
  EXPECT_EQ(h.rd_ok(k, remote), remote_word(0xEE, 7, 15));
  // Refused writes are not I5 violations: nothing logged.
  EXPECT_EQ(h.errlog_count(3), 0u);
}

TEST_F(CoreTest, EndpointPageAccessModes) {
  const int ep = h.make_entry(2, 0x321, Dir::kRecv, kPeer, 1, 1);
  ASSERT_EQ(ep, 0);
  for (Req who : {user(2, 0x321), kernel(2)}) {
    SCOPED_TRACE(static_cast<int>(who.priv));
    EXPECT_EQ(h.rd_ok(who, ep_addr(0, CMM_EP_TX_STATUS_OFFSET)), 0u);
    EXPECT_EQ(h.rd_ok(who, ep_addr(0, CMM_EP_TX_SENT_OFFSET)), 0u);
    EXPECT_EQ(h.rd_ok(who, ep_addr(0, CMM_EP_RX_STATUS_OFFSET)), 0u);
    EXPECT_EQ(h.rd_ok(who, ep_addr(0, CMM_EP_RX_TAG_OFFSET)), 0u);
    // Command registers read as 0.
    EXPECT_EQ(h.rd_ok(who, ep_addr(0, CMM_EP_DOORBELL_OFFSET)), 0u);
    EXPECT_EQ(h.rd_ok(who, ep_addr(0, CMM_EP_RX_POP_OFFSET)), 0u);
    // TX_BUF: write granted (the packet buffer serves it), every word of it.
    for (uint32_t off : {CMM_TX_BUF_OFFSET, CMM_TX_BUF_OFFSET + 4, CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES - 4}) {
      RegRsp r = h.wr(who, ep_addr(0, off), 0xDEADBEEF);
      EXPECT_EQ(r.status, u(Rsp::kOk));
      EXPECT_TRUE(r.buf);
      EXPECT_EQ(r.buf_slot, 0u);
    }
    // Plain register accesses never assert reg_rsp_buf.
    EXPECT_FALSE(h.rd(who, ep_addr(0, CMM_EP_TX_SENT_OFFSET)).buf);
  }
  const uint32_t badaddr = h.rejects(Reason::kBadAddr);
  const uint32_t ro = h.rejects(Reason::kReadOnly);
  const uint32_t empty = h.rejects(Reason::kRxqEmpty);
  const Req own = user(2, 0x321);
  // TX_BUF read and RX_BUF write: DECERR.
  EXPECT_EQ(h.rd(own, ep_addr(0, CMM_TX_BUF_OFFSET)).status, u(Rsp::kDecerr));
  EXPECT_EQ(h.wr(own, ep_addr(0, CMM_RX_BUF_OFFSET), 0).status, u(Rsp::kDecerr));
  EXPECT_EQ(h.rejects(Reason::kBadAddr), badaddr + 2);
  // RX_BUF read and RX_POP on an empty queue: REJECT RXQ_EMPTY, no grant.
  RegRsp r = h.rd(own, ep_addr(0, CMM_RX_BUF_OFFSET));
  EXPECT_EQ(r.status, u(Rsp::kReject));
  EXPECT_FALSE(r.buf);
  EXPECT_EQ(h.wr(own, ep_addr(0, CMM_EP_RX_POP_OFFSET), 0).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kRxqEmpty), empty + 2);
  // Writes to the read-only endpoint registers.
  for (uint32_t off : {CMM_EP_TX_STATUS_OFFSET, CMM_EP_TX_SENT_OFFSET, CMM_EP_RX_STATUS_OFFSET, CMM_EP_RX_TAG_OFFSET})
    EXPECT_EQ(h.wr(own, ep_addr(0, off), 0xFFFFFFFFu).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kReadOnly), ro + 4);
  EXPECT_EQ(h.rd_ok(own, ep_addr(0, CMM_EP_TX_SENT_OFFSET)), 0u);
  // A doorbell on a receive entry: REJECT WRONG_DIR, recorded in EP_TX_STATUS.
  EXPECT_EQ(h.doorbell(own, 0, 16, 1).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kWrongDir), 1u);
  EXPECT_EQ(h.rd_ok(own, ep_addr(0, CMM_EP_TX_STATUS_OFFSET)), u(Reason::kWrongDir));
  EXPECT_TRUE(h.take_egress().empty());
}

// =====================================================================
// CST state machine and commands
// =====================================================================

TEST_F(CoreTest, ReceiveEntryLifecycle) {
  const Req k = kernel(1);
  // FREE -> ALLOCATED
  RegRsp r = h.cmd(1, Cmd::kAlloc);
  EXPECT_EQ(r.status, u(Rsp::kOk));
  uint32_t st = h.cmd_status(1);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON), 0u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_CMD_STATUS_EP), 0u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_CMD_STATUS_COUNT), 1u);
  EXPECT_EQ(h.core.ep_state(0), State::kAllocated);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(k, CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 1u);
  h.wr_ok(k, cst_addr(0, CMM_CST_CTRL_OFFSET), u(Dir::kRecv));
  h.wr_ok(k, cst_addr(0, CMM_CST_OWNER_OFFSET), 216);
  h.wr_ok(k, cst_addr(0, CMM_CST_REMOTE_OFFSET), remote_word(kPeer, 4, 9));
  // ALLOCATED -> AUTHORIZED
  h.cmd_ok(1, Cmd::kAuthorize, 0);
  EXPECT_EQ(h.cst_state(1, 0), u(State::kAuthorized));
  EXPECT_EQ(CMM_FIELD_GET(h.cmd_status(1), CMM_CMD_STATUS_COUNT), 2u);
  // AUTHORIZED -> CONNECTING: key stored (local) and CONNECT sent.
  h.stage_key(1, kKeyA);
  h.cmd_ok(1, Cmd::kConnect, 0);
  h.settle();
  EXPECT_EQ(h.cst_state(1, 0), u(State::kConnecting));
  uint32_t ctrl = h.cst_ctrl(1, 0);
  EXPECT_EQ(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_VALID), 1u);
  EXPECT_EQ(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_ORIGIN), u(Origin::kLocal));
  EXPECT_TRUE(h.core.key_equals_for_test(0, kKeyA));
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  Header c = make_header(Opcode::kConnect, kNode, 1, 0, kPeer, 4, 9);
  c.key = kKeyA;
  c.src_gen = 1;  // the entry's generation (first ALLOC); dst_gen = CST_GEN.REMOTE = 0
  EXPECT_EQ(eg[0].cls, 0u);
  EXPECT_EQ(eg[0].hdr, c);
  EXPECT_EQ(h.stat(kStatConnSent), 1u);
  // CONNECTING -> OPEN on the peer's CONNECT_ACK (key and generations echoed).
  Header ack = make_header(Opcode::kConnectAck, kPeer, 4, 9, kNode, 1, 0);
  ack.key = kKeyA;
  ack.dst_gen = 1;
  h.inject(ack);
  EXPECT_EQ(h.cst_state(1, 0), u(State::kOpen));
  EXPECT_EQ(h.irq_status(1), bit(Irq::kConn));
  EXPECT_TRUE(h.take_egress().empty());
  // DATA delivered.
  h.inject(data(4, 9, 1, 0, kKeyA, 100, 0x77));
  EXPECT_EQ(h.core.rxq_count(0), 1u);
  // OPEN -> CLOSED on the peer's CLOSE: key zeroized, message still readable.
  h.wr_ok(k, CMM_IRQ_STATUS_OFFSET, 0x1F);
  Header close = make_header(Opcode::kClose, kPeer, 4, 9, kNode, 1, 0);
  close.key = kKeyA;
  h.inject(stamp(close));
  EXPECT_EQ(h.cst_state(1, 0), u(State::kClosed));
  EXPECT_FALSE(h.core.key_valid(0));
  EXPECT_EQ(CMM_FIELD_GET(h.cst_ctrl(1, 0), CMM_CST_CTRL_KEY_VALID), 0u);
  EXPECT_EQ(h.irq_status(1), bit(Irq::kConn));
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(user(1, 216), ep_addr(0, CMM_EP_RX_STATUS_OFFSET)), CMM_EP_RX_STATUS_COUNT), 1u);
  EXPECT_EQ(h.rd_ok(user(1, 216), ep_addr(0, CMM_EP_RX_TAG_OFFSET)), 0x77u);
  // CLOSED -> ALLOCATED by CLOSE: no packet (the peer closed), the queued message is flushed.
  h.cmd_ok(1, Cmd::kClose, 0);
  h.settle();
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.stat(kStatCloseSent), 0u);
  EXPECT_EQ(h.cst_state(1, 0), u(State::kAllocated));
  EXPECT_EQ(h.core.rxq_count(0), 0u);
  EXPECT_EQ(h.rejects(Reason::kRxqFlushed), 1u);
  ASSERT_EQ(h.errlog_count(1), 1u);
  ErrEntry e = h.pop_err(1);
  EXPECT_EQ(e.reason, u(Reason::kRxqFlushed));
  EXPECT_EQ(e.ep, 0u);
  EXPECT_EQ(e.opcode, 0u);
  EXPECT_EQ(e.from_fabric, 0u);
  EXPECT_EQ(e.src_node, kNode);
  // The fields are writable again (ALLOCATED).
  h.wr_ok(k, cst_addr(0, CMM_CST_OWNER_OFFSET), 217);
  // ALLOCATED -> FREE
  h.cmd_ok(1, Cmd::kFree, 0);
  EXPECT_EQ(h.core.ep_state(0), State::kFree);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(k, CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 0u);
  // A freed entry belongs to nobody: its CST window is denied.
  EXPECT_EQ(h.rd(k, cst_addr(0, CMM_CST_CTRL_OFFSET)).status, u(Rsp::kDenied));
  // Re-allocation starts from a clean entry in a new epoch (ALLOC, CLOSE, ALLOC: generation 3).
  EXPECT_EQ(h.alloc(1), 0);
  EXPECT_EQ(h.rd_ok(k, cst_addr(0, CMM_CST_OWNER_OFFSET)), 0u);
  EXPECT_EQ(h.rd_ok(k, cst_addr(0, CMM_CST_REMOTE_OFFSET)), 0u);
  EXPECT_EQ(h.rd_ok(k, cst_addr(0, CMM_CST_GEN_OFFSET)), 3u);
}

TEST_F(CoreTest, SendEntryLifecycle) {
  const int ep = h.make_entry(2, 2202, Dir::kSend, kPeer, 3, 7, /*authorize=*/false);
  ASSERT_EQ(ep, 0);
  EXPECT_EQ(h.cst_ctrl(2, 0), 1u | (u(State::kAllocated) << 4) | (2u << 12));
  h.set_remote_gen(2, 0, 0x5A);  // the receiver entry's epoch, from the id exchange
  h.cmd_ok(2, Cmd::kAuthorize, 0);
  // AUTHORIZED -> OPEN by a matching CONNECT; CONNECT_ACK with the tag echoed.
  Header c = make_header(Opcode::kConnect, kPeer, 3, 7, kNode, 2, 0);
  c.key = kKeyB;
  c.tag = 0x5150;
  c.src_gen = 0x5A;
  h.inject(stamp(c));
  EXPECT_EQ(h.cst_state(2, 0), u(State::kOpen));
  const uint32_t ctrl = h.cst_ctrl(2, 0);
  EXPECT_EQ(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_VALID), 1u);
  EXPECT_EQ(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_ORIGIN), u(Origin::kRemote));
  EXPECT_TRUE(h.core.key_equals_for_test(0, kKeyB));
  EXPECT_EQ(h.core.key_origin(0), u(Origin::kRemote));
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  Header ack = make_header(Opcode::kConnectAck, kNode, 2, 0, kPeer, 3, 7);
  ack.tag = 0x5150;
  ack.key = kKeyB;
  ack.src_gen = 1;
  ack.dst_gen = 0x5A;
  EXPECT_EQ(eg[0].cls, 1u);
  EXPECT_EQ(eg[0].hdr, ack);
  EXPECT_EQ(h.irq_status(2), bit(Irq::kConn));
  EXPECT_EQ(h.stat(kStatConnAcc), 1u);
  EXPECT_EQ(h.cst_status(2, 0), 0u);
  // Doorbell: DATA with the stored key and hardware ids.
  EXPECT_EQ(h.doorbell(user(2, 2202), 0, 512, 0xABCD).status, u(Rsp::kOk));
  h.settle();
  eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  Header d = make_header(Opcode::kData, kNode, 2, 0, kPeer, 3, 7);
  d.len = 512;
  d.tag = 0xABCD;
  d.key = kKeyB;
  d.src_gen = 1;
  d.dst_gen = 0x5A;
  d.seq = 0;  // the first DATA of the channel
  EXPECT_EQ(eg[0].cls, 0u);
  EXPECT_EQ(eg[0].hdr, d);
  EXPECT_EQ(h.rd_ok(user(2, 2202), ep_addr(0, CMM_EP_TX_SENT_OFFSET)), 1u);
  EXPECT_EQ(h.stat(kStatDataSent), 1u);
  // OPEN -> ALLOCATED by CLOSE: the peer is told, key zeroized.
  h.cmd_ok(2, Cmd::kClose, 0);
  h.settle();
  eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].cls, 0u);
  Header cl = make_header(Opcode::kClose, kNode, 2, 0, kPeer, 3, 7);
  cl.key = kKeyB;  // authenticated by the key and the generations before the close
  cl.src_gen = 1;
  cl.dst_gen = 0x5A;
  EXPECT_EQ(eg[0].hdr, cl);
  EXPECT_EQ(h.stat(kStatCloseSent), 1u);
  EXPECT_EQ(h.cst_state(2, 0), u(State::kAllocated));
  EXPECT_FALSE(h.core.key_valid(0));
  EXPECT_FALSE(h.core.key_equals_for_test(0, kKeyB));
  // Doorbell after the close: REJECT NOT_OPEN.
  EXPECT_EQ(h.doorbell(user(2, 2202), 0, 8, 1).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kNotOpen), 1u);
  h.cmd_ok(2, Cmd::kFree, 0);
  EXPECT_EQ(h.core.ep_state(0), State::kFree);
}

TEST_F(CoreTest, SendEntryClosedByPeerThenFreed) {
  const uint32_t tx = open_tx(0, 9, 1, 1, kKeyA);
  Header close = make_header(Opcode::kClose, kPeer, 1, 1, kNode, 0, static_cast<uint8_t>(tx));
  close.key = kKeyA;
  h.inject(stamp(close));
  EXPECT_EQ(h.cst_state(0, tx), u(State::kClosed));
  EXPECT_FALSE(h.core.key_valid(tx));
  EXPECT_EQ(h.irq_status(0), bit(Irq::kConn));
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.doorbell(user(0, 9), tx, 8, 1).status, u(Rsp::kReject));
  EXPECT_EQ(h.rd_ok(user(0, 9), ep_addr(tx, CMM_EP_TX_STATUS_OFFSET)), u(Reason::kNotOpen));
  // A second CLOSE from the peer changes nothing and is not answered (counted stray).
  h.inject(close);
  EXPECT_EQ(h.core.ep_state(tx), State::kClosed);
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.rejects(Reason::kStrayResponse), 1u);
  // CLOSED -> FREE directly.
  h.cmd_ok(0, Cmd::kFree, tx);
  EXPECT_EQ(h.core.ep_state(tx), State::kFree);
}

TEST_F(CoreTest, ConnectNackedReturnsEntryToAuthorized) {
  const int ep = h.make_entry(0, 5, Dir::kRecv, kPeer, 2, 3);
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kConnect, static_cast<uint32_t>(ep));
  h.settle();
  h.take_egress();
  Header n = make_header(Opcode::kNack, kPeer, 2, 3, kNode, 0, static_cast<uint8_t>(ep));
  n.reason = u(Reason::kSrcEpMismatch);
  n.aux = u(Opcode::kConnect);
  n.key = kKeyA;  // the CONNECT's key echoed by the peer's CMM
  h.inject(stamp(n));
  EXPECT_EQ(h.cst_state(0, 0), u(State::kAuthorized));
  EXPECT_FALSE(h.core.key_valid(0));
  EXPECT_EQ(CMM_FIELD_GET(h.cst_status(0, 0), CMM_CST_STATUS_LAST_REASON), u(Reason::kSrcEpMismatch));
  EXPECT_EQ(h.irq_status(0), bit(Irq::kConn) | bit(Irq::kErr));
  ASSERT_EQ(h.errlog_count(0), 1u);
  ErrEntry e = h.pop_err(0);
  EXPECT_EQ(e.reason, u(Reason::kSrcEpMismatch));
  EXPECT_EQ(e.ep, 0u);
  EXPECT_EQ(e.opcode, u(Opcode::kNack));
  EXPECT_EQ(e.from_fabric, 1u);
  EXPECT_EQ(e.exception, 0u);
  EXPECT_EQ(e.src_node, kPeer);
  EXPECT_TRUE(h.take_egress().empty());  // never answered
  EXPECT_EQ(h.rejects(Reason::kStrayResponse), 0u);
  // The agent can retry with a fresh key; LAST_REASON is cleared by the ACK.
  h.stage_key(0, kKeyB);
  h.cmd_ok(0, Cmd::kConnect, 0);
  Header ack = make_header(Opcode::kConnectAck, kPeer, 2, 3, kNode, 0, 0);
  ack.key = kKeyB;
  h.inject(stamp(ack));
  EXPECT_EQ(h.cst_state(0, 0), u(State::kOpen));
  EXPECT_TRUE(h.core.key_equals_for_test(0, kKeyB));
  EXPECT_EQ(CMM_FIELD_GET(h.cst_status(0, 0), CMM_CST_STATUS_LAST_REASON), 0u);
}

TEST_F(CoreTest, CloseWhileConnectingThenLateAckIsStray) {
  const int ep = h.make_entry(0, 5, Dir::kRecv, kPeer, 2, 3);
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kConnect, static_cast<uint32_t>(ep));
  h.cmd_ok(0, Cmd::kClose, 0);
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 2u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kConnect));
  Header cl = make_header(Opcode::kClose, kNode, 0, 0, kPeer, 2, 3);
  cl.key = kKeyA;
  cl.src_gen = 1;
  EXPECT_EQ(eg[1].hdr, cl);
  EXPECT_EQ(h.cst_state(0, 0), u(State::kAllocated));
  EXPECT_FALSE(h.core.key_valid(0));
  Header ack = make_header(Opcode::kConnectAck, kPeer, 2, 3, kNode, 0, 0);
  ack.key = kKeyA;
  ack.dst_gen = 1;  // the ACK of the old epoch
  h.inject(ack);
  EXPECT_EQ(h.rejects(Reason::kStrayResponse), 1u);
  EXPECT_EQ(h.cst_state(0, 0), u(State::kAllocated));
  EXPECT_TRUE(h.take_egress().empty());
}

TEST_F(CoreTest, CloseFromAuthorizedSendsNothingAndZeroizesSetKey) {
  const int ep = h.make_entry(0, 5, Dir::kRecv, kPeer, 2, 3);
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kSetKey, static_cast<uint32_t>(ep));
  EXPECT_EQ(h.cst_state(0, 0), u(State::kAuthorized));
  EXPECT_TRUE(h.core.key_equals_for_test(0, kKeyA));
  EXPECT_EQ(h.core.key_origin(0), u(Origin::kLocal));
  h.cmd_ok(0, Cmd::kClose, 0);
  h.settle();
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.cst_state(0, 0), u(State::kAllocated));
  EXPECT_FALSE(h.core.key_valid(0));
  EXPECT_EQ(h.rejects(Reason::kRxqFlushed), 0u);
  EXPECT_EQ(h.errlog_count(0), 0u);
}

TEST_F(CoreTest, ConnectUsesKeyAlreadySetBySetKey) {
  const int ep = h.make_entry(0, 5, Dir::kRecv, kPeer, 2, 3);
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kSetKey, static_cast<uint32_t>(ep));
  h.stage_key(0, kKeyB);  // ignored: the entry already holds a key
  h.cmd_ok(0, Cmd::kConnect, 0);
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].hdr.key, kKeyA);
  EXPECT_TRUE(h.core.key_equals_for_test(0, kKeyA));
  EXPECT_EQ(h.cst_state(0, 0), u(State::kConnecting));
}

TEST_F(CoreTest, CommandStatusContentsAndCountWrap) {
  h.cmd_ok(4, Cmd::kNop);
  EXPECT_EQ(h.cmd_status(4), 1u << CMM_CMD_STATUS_COUNT_LSB);
  h.cmd_ok(4, Cmd::kAlloc);
  h.cmd_ok(4, Cmd::kAlloc);
  EXPECT_EQ(h.cmd_status(4), (3u << CMM_CMD_STATUS_COUNT_LSB) | (1u << CMM_CMD_STATUS_EP_LSB));
  h.cmd_refused(4, Cmd::kAuthorize, 9, Reason::kDenied);  // endpoint 9 is FREE
  EXPECT_EQ(h.cmd_status(4), (4u << CMM_CMD_STATUS_COUNT_LSB) | (9u << CMM_CMD_STATUS_EP_LSB) | u(Reason::kDenied));
  // COUNT is 8 bits since 16-bit endpoint ids, and wraps.
  for (uint32_t i = 4; i <= CMM_CMD_STATUS_COUNT_MASK; ++i) h.wr(kernel(4), CMM_CMD_OFFSET, cmd_word(Cmd::kNop));
  EXPECT_EQ(h.cmd_status(4), 0u);
  h.cmd_ok(4, Cmd::kNop);
  EXPECT_EQ(h.cmd_status(4), 1u << CMM_CMD_STATUS_COUNT_LSB);
}

TEST_F(CoreTest, BadCommands) {
  // Unknown ops.
  for (uint32_t op = kCmdCount; op < 16; ++op) {
    RegRsp r = h.wr(kernel(0), CMM_CMD_OFFSET, op);
    EXPECT_EQ(r.status, u(Rsp::kReject));
    EXPECT_EQ(h.cmd_reason(0), u(Reason::kBadCmd));
  }
  EXPECT_EQ(h.rejects(Reason::kBadCmd), 16u - kCmdCount);
  // Endpoint operand out of range.
  uint32_t n = 0;
  for (Cmd op : {Cmd::kAuthorize, Cmd::kSetKey, Cmd::kConnect, Cmd::kClose, Cmd::kFree}) {
    for (uint32_t ep : {kNumEndpoints, 0x80u, 0xFFu}) {
      h.cmd_refused(0, op, ep, Reason::kBadEp);
      EXPECT_EQ(CMM_FIELD_GET(h.cmd_status(0), CMM_CMD_STATUS_EP), ep);
      ++n;
    }
  }
  EXPECT_EQ(h.rejects(Reason::kBadEp), n);
  // Pops of empty queues.
  h.cmd_refused(0, Cmd::kMgmtPop, 0, Reason::kRxqEmpty);
  h.cmd_refused(0, Cmd::kErrlogPop, 0, Reason::kRxqEmpty);
  EXPECT_EQ(h.rejects(Reason::kRxqEmpty), 2u);
  // None of these is an I5 violation or exception: nothing logged, nothing sent.
  EXPECT_EQ(h.errlog_count(0), 0u);
  EXPECT_TRUE(h.take_egress().empty());
}

TEST_F(CoreTest, CommandsInTheWrongState) {
  const int rx = h.make_entry(0, 1, Dir::kRecv, kPeer, 1, 1, /*authorize=*/false);
  const int tx = h.make_entry(0, 1, Dir::kSend, kPeer, 1, 2, /*authorize=*/false);
  const uint32_t r = static_cast<uint32_t>(rx), t = static_cast<uint32_t>(tx);
  // ALLOCATED: SET_KEY/CONNECT/CLOSE refused.
  h.cmd_refused(0, Cmd::kSetKey, r, Reason::kNotOpen);
  h.cmd_refused(0, Cmd::kConnect, r, Reason::kNotOpen);
  h.cmd_refused(0, Cmd::kClose, r, Reason::kNotOpen);
  // Send entries never take a local key.
  h.cmd_refused(0, Cmd::kSetKey, t, Reason::kWrongDir);
  h.cmd_refused(0, Cmd::kConnect, t, Reason::kWrongDir);
  EXPECT_EQ(h.rejects(Reason::kNotOpen), 3u);
  EXPECT_EQ(h.rejects(Reason::kWrongDir), 2u);
  h.cmd_ok(0, Cmd::kAuthorize, r);
  h.cmd_ok(0, Cmd::kAuthorize, t);
  // AUTHORIZED: AUTHORIZE again and FREE refused.
  h.cmd_refused(0, Cmd::kAuthorize, r, Reason::kNotOpen);
  h.cmd_refused(0, Cmd::kFree, r, Reason::kNotOpen);
  h.cmd_refused(0, Cmd::kFree, t, Reason::kNotOpen);
  // SET_KEY twice: KEY_PRESENT (same origin, no exception).
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kSetKey, r);
  h.stage_key(0, kKeyB);
  h.cmd_refused(0, Cmd::kSetKey, r, Reason::kKeyPresent);
  EXPECT_TRUE(h.core.key_equals_for_test(r, kKeyA));
  EXPECT_EQ(h.rejects(Reason::kKeyPresent), 1u);
  // CONNECTING: SET_KEY/FREE/AUTHORIZE refused; CONNECT re-sends (a retry).
  h.cmd_ok(0, Cmd::kConnect, r);
  h.cmd_refused(0, Cmd::kSetKey, r, Reason::kNotOpen);
  h.cmd_ok(0, Cmd::kConnect, r);
  h.cmd_refused(0, Cmd::kFree, r, Reason::kNotOpen);
  h.cmd_refused(0, Cmd::kAuthorize, r, Reason::kNotOpen);
  EXPECT_EQ(h.rejects(Reason::kNotOpen), 3u + 3u + 3u);
  EXPECT_TRUE(h.core.key_equals_for_test(r, kKeyA));
  EXPECT_EQ(h.core.ep_state(r), State::kConnecting);
  // None of these is logged (only DENIED and exceptions are).
  EXPECT_EQ(h.errlog_count(0), 0u);
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 2u);  // the CONNECT and its retry, identical but for the attempt number
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kConnect));
  EXPECT_EQ(eg[0].hdr.seq, 0u);
  Header retry = eg[1].hdr;
  EXPECT_EQ(retry.seq, 1u);
  retry.seq = 0;
  EXPECT_EQ(retry, eg[0].hdr);
  EXPECT_EQ(h.stat(kStatConnSent), 2u);
}

TEST(CoreCommands, QuotaExceededAndNoFreeEndpoint) {
  Straps s;
  s.node_id = kNode;
  s.quota = {4, 4, 1, 0, 0, 0, 7, 0};  // sums to the table size
  CoreHarness h(s);
  // Partition 5 has no quota at all.
  h.cmd_refused(5, Cmd::kAlloc, 0, Reason::kQuotaExceeded);
  // Lowest free endpoint first.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.alloc(0), i);
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kQuotaExceeded);
  EXPECT_EQ(h.rejects(Reason::kQuotaExceeded), 2u);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 4u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(h.alloc(6), 4 + i);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.alloc(1), 11 + i);
  EXPECT_EQ(h.alloc(2), 15);
  // Freeing one makes it the next allocated.
  h.cmd_ok(6, Cmd::kFree, 7);
  h.cmd_refused(2, Cmd::kAlloc, 0, Reason::kQuotaExceeded);
  EXPECT_EQ(h.alloc(6), 7);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(6), CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 7u);
  EXPECT_EQ(h.cst_ctrl(6, 7), (u(State::kAllocated) << 4) | (6u << 12));
  EXPECT_EQ(h.rejects(Reason::kNoFreeEp), 0u);
}

TEST(CoreCommands, NoFreeEndpointWhenTheRestIsReservedForOtherQuotas) {
  Straps s;
  s.node_id = kNode;
  s.quota = {4, 13, 0, 0, 0, 0, 0, 0};  // over-committed by one
  CoreHarness h(s);
  // Partition 0 may take only what partition 1's unused quota leaves free.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.alloc(0), i);
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kNoFreeEp);
  // Partition 1 may take all but partition 0's last reserved entry.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(h.alloc(1), 3 + i);
  h.cmd_refused(1, Cmd::kAlloc, 0, Reason::kNoFreeEp);
  // Partition 0 holds fewer: nothing is reserved against it, it gets its quota.
  EXPECT_EQ(h.alloc(0), 15);
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kQuotaExceeded);
  // All 16 taken: NO_FREE_EP for a partition still under its quota.
  h.cmd_refused(1, Cmd::kAlloc, 0, Reason::kNoFreeEp);
  EXPECT_EQ(h.rejects(Reason::kNoFreeEp), 3u);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 4u);
}

// =====================================================================
// Ingress verification: every reject reason, NACK contents, error log
// =====================================================================

class IngressTest : public CoreTest {
 protected:
  uint32_t rx0 = 0, tx1 = 0, rx_alloc = 0, tx_auth = 0, rx_auth = 0, tx_alloc = 0, rx_connecting = 0;
  void SetUp() override {
    rx0 = open_rx(0, 100, 1, 5, kKeyA);                                                     // ep 0
    tx1 = open_tx(0, 101, 2, 6, kKeyB);                                                     // ep 1
    rx_alloc = static_cast<uint32_t>(h.make_entry(1, 102, Dir::kRecv, kPeer, 1, 7, false));  // ep 2
    tx_auth = static_cast<uint32_t>(h.make_entry(1, 103, Dir::kSend, kPeer, 3, 8));         // ep 3
    rx_auth = static_cast<uint32_t>(h.make_entry(2, 104, Dir::kRecv, kPeer, 1, 9));         // ep 4
    tx_alloc = static_cast<uint32_t>(h.make_entry(1, 105, Dir::kSend, kPeer, 3, 10, false));  // ep 5
    rx_connecting = static_cast<uint32_t>(h.make_entry(3, 106, Dir::kRecv, kPeer, 4, 11));   // ep 6
    h.stage_key(3, kKeyB);
    h.cmd_ok(3, Cmd::kConnect, rx_connecting);
    h.settle();
    h.take_egress();
    ASSERT_EQ(rx0, 0u);
    ASSERT_EQ(tx1, 1u);
    ASSERT_EQ(rx_connecting, 6u);
    for (uint8_t p = 0; p < kNumPartitions; ++p) h.wr_ok(kernel(p), CMM_IRQ_STATUS_OFFSET, 0x1F);
  }
  Header good_data(uint16_t tag = 0) const { return data(1, 5, 0, 0, kKeyA, 64, tag); }
  Header connect_to(uint32_t ep, uint8_t dst_part, uint8_t sp, uint8_t se, uint8_t sn = kPeer) const {
    Header c = make_header(Opcode::kConnect, sn, sp, se, kNode, dst_part, static_cast<uint8_t>(ep));
    c.key = kKeyB;
    c.tag = 0x1111;
    return stamp(c);
  }
  // The legitimate channel still delivers.
  void expect_channel_works(uint16_t tag) {
    h.take_verdicts();
    const uint32_t before = h.core.rxq_count(rx0);
    h.inject(good_data(tag));
    std::vector<VdRec> vd = h.take_verdicts();
    ASSERT_EQ(vd.size(), 1u);
    EXPECT_TRUE(vd[0].accept);
    EXPECT_EQ(h.core.rxq_count(rx0), before + 1);
    h.wr_ok(user(0, 100), ep_addr(rx0, CMM_EP_RX_POP_OFFSET), 0);
    EXPECT_TRUE(h.take_egress().empty());
  }
};

TEST_F(IngressTest, ValidDataIsDelivered) {
  Header d = good_data(0x4242);
  d.len = kMaxMsgBytes;
  h.inject(d);
  std::vector<VdRec> vd = h.take_verdicts();
  ASSERT_EQ(vd.size(), 1u);
  EXPECT_TRUE(vd[0].accept);
  EXPECT_EQ(vd[0].ep, 0u);
  EXPECT_EQ(vd[0].slot, 0u);
  EXPECT_EQ(vd[0].reason, 0u);
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.stat(kStatDelivered), 1u);
  EXPECT_EQ(h.irq_status(0), bit(Irq::kRx));
  const uint32_t st = h.rd_ok(user(0, 100), ep_addr(0, CMM_EP_RX_STATUS_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_EP_RX_STATUS_COUNT), 1u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_EP_RX_STATUS_SLOT), 0u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_EP_RX_STATUS_LEN), kMaxMsgBytes);
  EXPECT_EQ(h.rd_ok(user(0, 100), ep_addr(0, CMM_EP_RX_TAG_OFFSET)), 0x4242u);
  for (uint32_t r = 1; r < kReasonCount; ++r) EXPECT_EQ(h.core.reject_count(static_cast<Reason>(r)), 0u) << r;
}

TEST_F(IngressTest, DataRejectReasons) {
  Header d;
  d = good_data(1);
  d.dst_node = kOther;
  expect_ingress_reject(d, Reason::kMisrouted, false);
  // From the peer to its entry: the NACK carries the entry's key (it proves itself).
  d = good_data(2);
  d.len = 0;
  expect_ingress_reject(d, Reason::kBadLen, false, 0, true, kKeyA);
  d = good_data(3);
  d.len = kMaxMsgBytes + 1;
  expect_ingress_reject(d, Reason::kBadLen, false, 0, true, kKeyA);
  d = good_data(4);
  d.len = 0xFFFF;
  expect_ingress_reject(d, Reason::kBadLen, false, 0, true, kKeyA);
  d = good_data(5);
  d.dst_ep = kNumEndpoints;
  expect_ingress_reject(d, Reason::kBadEp, false);
  d = good_data(6);
  d.dst_ep = 0xFF;
  expect_ingress_reject(d, Reason::kBadEp, false);
  d = good_data(7);
  d.dst_ep = 12;  // FREE: nobody to tell
  expect_ingress_reject(d, Reason::kNotOpen, false);
  d = good_data(8);
  d.dst_part = 3;
  expect_ingress_reject(d, Reason::kDstPartMismatch, true, 0);
  d = good_data(9);
  d.dst_ep = static_cast<uint8_t>(tx1);
  expect_ingress_reject(d, Reason::kWrongDir, true, 0);
  d = good_data(10);
  d.dst_part = 1;
  d.dst_ep = static_cast<uint8_t>(rx_alloc);
  expect_ingress_reject(d, Reason::kNotOpen, true, 1);
  d = good_data(11);
  d.dst_part = 2;
  d.dst_ep = static_cast<uint8_t>(rx_auth);
  expect_ingress_reject(d, Reason::kNotOpen, true, 2);
  d = good_data(12);
  d.dst_part = 3;
  d.dst_ep = static_cast<uint8_t>(rx_connecting);
  d.src_part = 4, d.src_ep = 11, d.key = kKeyB;
  expect_ingress_reject(d, Reason::kNotOpen, true, 3, true, kKeyB);
  d = good_data(13);
  d.src_node = kOther;
  expect_ingress_reject(d, Reason::kSrcNodeMismatch, true, 0);
  d = good_data(14);
  d.src_part = 2;
  expect_ingress_reject(d, Reason::kSrcPartMismatch, true, 0);
  d = good_data(15);
  d.src_ep = 6;
  expect_ingress_reject(d, Reason::kSrcEpMismatch, true, 0);
  for (uint32_t w = 0; w < kKeyWords; ++w) {
    d = good_data(static_cast<uint16_t>(16 + w));
    d.key[w] ^= 0x80000000u >> w;
    expect_ingress_reject(d, Reason::kBadKey, true, 0, true, kKeyA);
  }
  d = good_data(20);
  d.key = Key{};
  expect_ingress_reject(d, Reason::kBadKey, true, 0, true, kKeyA);
  // Generations of another epoch (checked before the key).
  d = good_data(21);
  d.dst_gen ^= 1;
  expect_ingress_reject(d, Reason::kStaleGen, true, 0, true, kKeyA);
  d = good_data(22);
  d.src_gen = 7;
  d.key = kKeyB;
  expect_ingress_reject(d, Reason::kStaleGen, true, 0, true, kKeyA);
  EXPECT_EQ(h.rejects(Reason::kStaleGen), 2u);
  EXPECT_EQ(h.rejects(Reason::kBadKey), 5u);
  EXPECT_EQ(h.rejects(Reason::kNotOpen), 4u);
  EXPECT_EQ(h.rejects(Reason::kBadLen), 3u);
  EXPECT_EQ(h.stat(kStatDelivered), 0u);
  EXPECT_EQ(h.core.rxq_count(rx0), 0u);
  // RXQ_FULL: NACKed to the sender, not logged for the receiver's agent.
  for (uint16_t i = 0; i < kRxqDepth; ++i) h.inject(good_data(static_cast<uint16_t>(30 + i)));
  EXPECT_EQ(h.core.rxq_count(rx0), kRxqDepth);
  expect_ingress_reject(good_data(34), Reason::kRxqFull, false, 0, true, kKeyA);
  EXPECT_EQ(h.core.rxq_count(rx0), kRxqDepth);
  for (uint16_t i = 0; i < kRxqDepth; ++i) {
    EXPECT_EQ(h.rd_ok(user(0, 100), ep_addr(rx0, CMM_EP_RX_TAG_OFFSET)), 30u + i);
    h.wr_ok(user(0, 100), ep_addr(rx0, CMM_EP_RX_POP_OFFSET), 0);
  }
  // The refused one counted as told (rx_seq past it); an old number is SEQ_OLD, not logged.
  EXPECT_EQ(h.core.rx_seq(rx0), 5u);
  d = good_data(35);
  d.seq = 4;
  expect_ingress_reject(d, Reason::kSeqOld, false, 0, true, kKeyA);
  expect_channel_works(99);
}

TEST_F(IngressTest, DataCheckOrderFollowsTheDocumentedSequence) {
  // Several faults at once: the first check in the documented order wins.
  Header d = good_data(1);
  d.dst_node = kOther;
  d.len = 0;
  d.dst_ep = 0xFF;
  expect_ingress_reject(d, Reason::kMisrouted, false);
  d = good_data(2);
  d.len = 0;
  d.dst_ep = 0xFF;
  expect_ingress_reject(d, Reason::kBadLen, false);
  d = good_data(3);
  d.dst_part = 5;
  d.src_node = kOther;
  d.key = kKeyB;
  expect_ingress_reject(d, Reason::kDstPartMismatch, true, 0);
  d = good_data(4);
  d.src_node = kOther;
  d.src_part = 7;
  d.key = kKeyB;
  expect_ingress_reject(d, Reason::kSrcNodeMismatch, true, 0);
  d = good_data(5);
  d.src_ep = 1;
  d.key = kKeyB;
  expect_ingress_reject(d, Reason::kSrcEpMismatch, true, 0);
}

TEST_F(IngressTest, NoKeyIsUnreachableForAnOpenEntry) {
  // NO_KEY guards OPEN entries without a key. Every path into OPEN stores a
  // key and every zeroization leaves OPEN, so it can never be observed
  // through the pins; check that invariant over the life of a channel.
  for (uint32_t e = 0; e < kNumEndpoints; ++e)
    if (h.core.ep_state(e) == State::kOpen || h.core.ep_state(e) == State::kConnecting) {
      EXPECT_TRUE(h.core.key_valid(e));
    }
  Header close = make_header(Opcode::kClose, kPeer, 1, 5, kNode, 0, 0);
  close.key = kKeyA;
  h.inject(stamp(close));
  EXPECT_EQ(h.core.ep_state(rx0), State::kClosed);
  EXPECT_FALSE(h.core.key_valid(rx0));
  expect_ingress_reject(good_data(1), Reason::kNotOpen, true, 0);
  EXPECT_EQ(h.rejects(Reason::kNoKey), 0u);
}

TEST_F(IngressTest, ConnectRejectReasons) {
  Header c;
  c = connect_to(tx_auth, 1, 3, 8);
  c.dst_node = kOther;
  expect_ingress_reject(c, Reason::kMisrouted, false);
  c = connect_to(kNumEndpoints, 1, 3, 8);
  expect_ingress_reject(c, Reason::kBadEp, false);
  c = connect_to(12, 1, 3, 8);  // FREE: nobody to tell
  expect_ingress_reject(c, Reason::kNotOpen, false);
  // From here on the entry's owner is told of every refused CONNECT.
  c = connect_to(tx_auth, 0, 3, 8);
  expect_ingress_reject(c, Reason::kDstPartMismatch, true, 1);
  c = connect_to(rx_auth, 2, 1, 9);  // receive entry without a key
  expect_ingress_reject(c, Reason::kWrongDir, true, 2);
  c = connect_to(tx1, 0, 2, 6);  // open send entry: its key proves the NACK
  c.key = kKeyA;
  expect_ingress_reject(c, Reason::kKeyPresent, true, 0, true, kKeyB);
  c = connect_to(tx_alloc, 1, 3, 10);  // never authorized: the CONNECT's own key echoed
  expect_ingress_reject(c, Reason::kNotOpen, true, 1, true, kKeyB);
  c = connect_to(tx_auth, 1, 3, 8, kOther);
  expect_ingress_reject(c, Reason::kSrcNodeMismatch, true, 1);
  c = connect_to(tx_auth, 1, 2, 8);
  expect_ingress_reject(c, Reason::kSrcPartMismatch, true, 1);
  c = connect_to(tx_auth, 1, 3, 9);
  expect_ingress_reject(c, Reason::kSrcEpMismatch, true, 1);
  c = connect_to(tx_auth, 1, 3, 8);  // an earlier epoch of the peer or of the entry
  c.src_gen = 9;
  expect_ingress_reject(c, Reason::kStaleGen, true, 1, true, kKeyB);
  c = connect_to(tx_auth, 1, 3, 8);
  c.dst_gen ^= 0x80;
  expect_ingress_reject(c, Reason::kStaleGen, true, 1, true, kKeyB);
  c = connect_to(rx0, 0, 1, 5);  // receive entry with a local key: I6 exception
  expect_ingress_reject(c, Reason::kKeyLocked, true, 0, true, kKeyA);
  // Nothing stored anywhere.
  EXPECT_FALSE(h.core.key_valid(tx_auth));
  EXPECT_FALSE(h.core.key_valid(tx_alloc));
  EXPECT_FALSE(h.core.key_valid(rx_auth));
  EXPECT_TRUE(h.core.key_equals_for_test(tx1, kKeyB));
  EXPECT_TRUE(h.core.key_equals_for_test(rx0, kKeyA));
  EXPECT_EQ(h.core.ep_state(tx_auth), State::kAuthorized);
  EXPECT_EQ(h.core.ep_state(tx_alloc), State::kAllocated);
  EXPECT_EQ(h.stat(kStatConnAcc), 1u);  // the one of SetUp
  // The right CONNECT still opens tx_auth.
  h.inject(connect_to(tx_auth, 1, 3, 8));
  EXPECT_EQ(h.core.ep_state(tx_auth), State::kOpen);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kConnectAck));
  expect_channel_works(1);
}

TEST_F(IngressTest, CloseRejectReasons) {
  Header c = make_header(Opcode::kClose, kPeer, 1, 5, kNode, 0, 0);
  c.key = kKeyA;
  stamp(c);
  Header x = c;
  x.dst_node = kOther;
  expect_ingress_reject(x, Reason::kMisrouted, false);
  x = c;
  x.dst_ep = kNumEndpoints;
  expect_ingress_reject(x, Reason::kBadEp, false);
  x = c;
  x.dst_ep = 12;
  expect_ingress_reject(x, Reason::kNotOpen, false);
  x = c;
  x.dst_part = 1;
  expect_ingress_reject(x, Reason::kDstPartMismatch, true, 0);
  x = c;
  x.src_node = kOther;
  expect_ingress_reject(x, Reason::kSrcNodeMismatch, true, 0);
  x = c;
  x.src_part = 0;
  expect_ingress_reject(x, Reason::kSrcPartMismatch, true, 0);
  x = c;
  x.src_ep = 4;
  expect_ingress_reject(x, Reason::kSrcEpMismatch, true, 0);
  // Authenticated: generations, then the key (a NACK of CLOSE never carries a key).
  x = c;
  x.src_gen = 3;
  expect_ingress_reject(x, Reason::kStaleGen, true, 0);
  x = c;
  x.key[2] ^= 4;
  expect_ingress_reject(x, Reason::kBadKey, true, 0);
  x = c;
  x.key = Key{};
  expect_ingress_reject(x, Reason::kBadKey, true, 0);
  EXPECT_EQ(h.core.ep_state(rx0), State::kOpen);
  EXPECT_TRUE(h.core.key_equals_for_test(rx0, kKeyA));
  expect_channel_works(2);
  // A CLOSE to an ALLOCATED entry or a receive entry that never connected:
  // counted STRAY_RESPONSE, never answered, nothing changes.
  x = make_header(Opcode::kClose, kPeer, 1, 7, kNode, 1, static_cast<uint8_t>(rx_alloc));
  expect_ingress_reject(stamp(x), Reason::kStrayResponse, false, 1, false);
  x = make_header(Opcode::kClose, kPeer, 1, 9, kNode, 2, static_cast<uint8_t>(rx_auth));
  expect_ingress_reject(stamp(x), Reason::kStrayResponse, false, 2, false);
  EXPECT_EQ(h.core.ep_state(rx_alloc), State::kAllocated);
  EXPECT_EQ(h.core.ep_state(rx_auth), State::kAuthorized);
}

TEST_F(IngressTest, PeerCloseOfAConnectingEntry) {
  // CONNECTING -> CLOSED by the peer's CLOSE (crossing with our CONNECT).
  Header close = make_header(Opcode::kClose, kPeer, 4, 11, kNode, 3, static_cast<uint8_t>(rx_connecting));
  close.key = kKeyB;  // the peer's CMM stored the CONNECT's key
  h.inject(stamp(close));
  EXPECT_EQ(h.core.ep_state(rx_connecting), State::kClosed);
  EXPECT_FALSE(h.core.key_valid(rx_connecting));
  EXPECT_EQ(h.irq_status(3), bit(Irq::kConn));
  EXPECT_TRUE(h.take_egress().empty());
  // The ACK that crossed it is stray now.
  Header ack = make_header(Opcode::kConnectAck, kPeer, 4, 11, kNode, 3, static_cast<uint8_t>(rx_connecting));
  ack.key = kKeyB;
  expect_ingress_reject(stamp(ack), Reason::kStrayResponse, false, 3, false);
  EXPECT_EQ(h.core.ep_state(rx_connecting), State::kClosed);
  // CLOSE command from CLOSED: no packet; then the entry can be reused.
  h.cmd_ok(3, Cmd::kClose, rx_connecting);
  h.settle();
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.core.ep_state(rx_connecting), State::kAllocated);
}

TEST_F(IngressTest, DataIntoAFullQueueAfterAGapIsNackedRxqFullAndTheGapLogged) {
  for (uint16_t i = 0; i < kRxqDepth; ++i) h.inject(good_data(static_cast<uint16_t>(0x40 + i)));
  ASSERT_EQ(h.core.rxq_count(rx0), kRxqDepth);
  h.clear_errlog(0);
  // Two messages missing before this one, and no room: one response only (RXQ_FULL).
  Header d = data(1, 5, 0, 0, kKeyA, 64, 0x50, kPeer, /*ahead=*/2);
  h.take_egress();
  h.take_verdicts();
  h.inject(d);
  EXPECT_EQ(h.rejects(Reason::kRxqFull), 1u);
  EXPECT_EQ(h.rejects(Reason::kSeqGap), 1u);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].hdr, expected_nack(d.masked(), Reason::kRxqFull, kKeyA));
  std::vector<VdRec> vd = h.take_verdicts();
  ASSERT_EQ(vd.size(), 1u);
  EXPECT_EQ(vd[0].reason, u(Reason::kRxqFull));
  // RXQ_FULL is the sender's concern; the gap is logged for the receiver's agent.
  ASSERT_EQ(h.errlog_count(0), 1u);
  EXPECT_EQ(h.pop_err(0).reason, u(Reason::kSeqGap));
  EXPECT_EQ(h.core.rx_seq(rx0), kRxqDepth + 3u);  // past the refused one: its sender was told
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(rx0, CMM_CST_LOST_OFFSET)), CMM_CST_LOST_RX), 2u);
}

TEST_F(IngressTest, DeliveryAfterAGapSendsOneSeqGapNackWithTheMissingCount) {
  Header d = data(1, 5, 0, 0, kKeyA, 64, 0x60, kPeer, /*ahead=*/3);
  h.take_verdicts();
  h.inject(d);
  std::vector<VdRec> vd = h.take_verdicts();
  ASSERT_EQ(vd.size(), 1u);
  EXPECT_TRUE(vd[0].accept);
  EXPECT_EQ(vd[0].reason, 0u);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  Header n = expected_nack(d.masked(), Reason::kSeqGap, kKeyA);
  n.tag = 3;  // the missing count
  EXPECT_EQ(eg[0].hdr, n);
  EXPECT_EQ(h.rejects(Reason::kSeqGap), 1u);
  EXPECT_EQ(h.stat(kStatDelivered), 1u);
  EXPECT_EQ(h.stat(kStatNackSent), 1u);
  ErrEntry e = h.pop_err(0);
  EXPECT_EQ(e.reason, u(Reason::kSeqGap));
  EXPECT_EQ(e.opcode, u(Opcode::kData));
  EXPECT_EQ(h.irq_status(0), bit(Irq::kRx) | bit(Irq::kErr));
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(rx0, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_RX), 4u);
  EXPECT_EQ(h.rd_ok(kernel(0), cst_addr(rx0, CMM_CST_LOST_OFFSET)), CMM_FIELD_SET(0u, CMM_CST_LOST_RX, 3u));
  EXPECT_EQ(h.wr(kernel(0), cst_addr(rx0, CMM_CST_LOST_OFFSET), 0).status, u(Rsp::kReject));  // READ_ONLY
  // The sequence wraps modulo 2^16: half the space ahead is new, half is old.
  d = good_data(0x61);
  d.seq = static_cast<uint16_t>(d.seq + 0x8000u);
  expect_ingress_reject(d, Reason::kSeqOld, false, 0, true, kKeyA);
}

TEST_F(IngressTest, MgmtRejectReasonsAndBadOpcode) {
  Header m = make_header(Opcode::kMgmt, kPeer, 2, 0, kNode, 0, 0);
  m.key = kKeyA;
  Header x = m;
  x.dst_node = kOther;
  expect_ingress_reject(x, Reason::kMisrouted, false);
  for (uint8_t p : {uint8_t{8}, uint8_t{9}, uint8_t{15}}) {
    x = m;
    x.dst_part = p;
    expect_ingress_reject(x, Reason::kBadPart, false);
  }
  // Fields wider than the wire are masked at acceptance: dst_part 0x18 -> 8.
  x = m;
  x.dst_part = 0x18;
  expect_ingress_reject(x, Reason::kBadPart, false);
  EXPECT_EQ(h.rejects(Reason::kBadPart), 4u);
  for (uint8_t op : {uint8_t{0}, uint8_t{7}, uint8_t{8}, uint8_t{15}}) {
    Header b = good_data(static_cast<uint16_t>(0x700 + op));
    b.opcode = op;
    expect_ingress_reject(b, Reason::kBadOpcode, false);
  }
  EXPECT_EQ(h.rejects(Reason::kBadOpcode), 4u);
  EXPECT_EQ(h.stat(kStatMgmtRecv), 0u);
  expect_channel_works(3);
}

TEST_F(IngressTest, StrayResponsesAreCountedAndNeverAnswered) {
  auto stray = [&](const Header& hdr) { expect_ingress_reject(hdr, Reason::kStrayResponse, false, 0, false); };
  const uint8_t conn = static_cast<uint8_t>(rx_connecting);
  Header ack = make_header(Opcode::kConnectAck, kPeer, 4, 11, kNode, 3, conn);  // would be valid
  ack.key = kKeyB;
  stamp(ack);
  Header x = ack;
  x.dst_node = kOther;
  stray(x);
  x = ack;
  x.dst_ep = kNumEndpoints;
  stray(x);
  x = ack;
  x.dst_part = 2;
  stray(x);
  x = ack;
  x.src_node = kOther;
  stray(x);
  x = ack;
  x.src_part = 3;
  stray(x);
  x = ack;
  x.src_ep = 10;
  stray(x);
  stray(make_header(Opcode::kConnectAck, kPeer, 1, 5, kNode, 0, 0));   // OPEN, not waiting
  stray(make_header(Opcode::kConnectAck, kPeer, 3, 8, kNode, 1, static_cast<uint8_t>(tx_auth)));  // send entry
  EXPECT_EQ(h.core.ep_state(rx_connecting), State::kConnecting);

  auto nack = [](uint8_t aux, uint8_t reason, uint8_t dst_part, uint8_t dst_ep) {
    Header n = make_header(Opcode::kNack, kPeer, 1, 5, kNode, dst_part, dst_ep);
    n.aux = aux;
    n.reason = reason;
    return n;
  };
  stray(nack(u(Opcode::kData), u(Reason::kRxqFull), 0, 0));                        // receive entry
  stray(nack(u(Opcode::kData), u(Reason::kRxqFull), 0, 12));                       // FREE
  stray(nack(u(Opcode::kData), u(Reason::kRxqFull), 1, 1));                        // wrong partition
  stray(nack(u(Opcode::kData), u(Reason::kRxqFull), 0, kNumEndpoints));            // out of range
  stray(nack(u(Opcode::kConnect), u(Reason::kNotOpen), 0, 0));                     // OPEN, not CONNECTING
  stray(nack(u(Opcode::kConnect), u(Reason::kNotOpen), 0, 1));                     // send entry
  stray(nack(u(Opcode::kNack), u(Reason::kBadOpcode), 0, 0));                      // NACK of a NACK
  stray(nack(u(Opcode::kConnectAck), u(Reason::kBadOpcode), 0, 0));
  stray(nack(9, u(Reason::kBadOpcode), 0, 0));                                      // unknown aux
  stray(nack(u(Opcode::kMgmt), u(Reason::kMgmtqFull), 9, 0));                      // bad partition
  x = nack(u(Opcode::kClose), u(Reason::kNotOpen), 0, 0);
  x.dst_node = kOther;
  stray(x);
  x = nack(u(Opcode::kData), u(Reason::kRxqFull), 0, 1);
  x.dst_node = kOther;
  stray(x);
  EXPECT_EQ(h.rejects(Reason::kStrayResponse), 20u);
  EXPECT_EQ(h.core.ep_state(rx_connecting), State::kConnecting);
  EXPECT_TRUE(h.core.key_equals_for_test(rx_connecting, kKeyB));
  EXPECT_EQ(h.cst_status(0, tx1), 0u);
  EXPECT_EQ(h.stat(kStatNackSent), 0u);
  for (uint8_t p = 0; p < kNumPartitions; ++p) EXPECT_EQ(h.irq_status(p), 0u) << int(p);
  // The unmodified ACK is believed.
  h.inject(ack);
  EXPECT_EQ(h.core.ep_state(rx_connecting), State::kOpen);
  expect_channel_works(4);
}

TEST_F(IngressTest, NackOfCloseOrMgmtIsLoggedForTheSendingPartition) {
  Header n = make_header(Opcode::kNack, kPeer, 5, 0, kNode, 2, 0);
  n.aux = u(Opcode::kMgmt);
  n.reason = u(Reason::kMgmtqFull);
  h.inject(n);
  ASSERT_EQ(h.errlog_count(2), 1u);
  ErrEntry e = h.pop_err(2);
  EXPECT_EQ(e.reason, u(Reason::kMgmtqFull));
  EXPECT_EQ(e.ep, 0u);
  EXPECT_EQ(e.opcode, u(Opcode::kMgmt));  // the refused message's opcode
  EXPECT_EQ(e.from_fabric, 1u);
  EXPECT_EQ(e.exception, 0u);
  EXPECT_EQ(e.src_node, kPeer);
  EXPECT_EQ(h.irq_status(2), bit(Irq::kErr));
  n.aux = u(Opcode::kClose);
  n.reason = u(Reason::kSrcEpMismatch);
  n.dst_part = 0;
  n.dst_ep = 1;
  h.inject(n);
  ASSERT_EQ(h.errlog_count(0), 1u);
  e = h.pop_err(0);
  EXPECT_EQ(e.reason, u(Reason::kSrcEpMismatch));
  EXPECT_EQ(e.ep, 1u);
  EXPECT_EQ(e.opcode, u(Opcode::kClose));
  EXPECT_TRUE(h.take_egress().empty());
  EXPECT_EQ(h.rejects(Reason::kStrayResponse), 0u);
}

// =====================================================================
// Timing
// =====================================================================

TEST_F(CoreTest, RegisterResponseExactlyOneCycleAfterAcceptance) {
  CmmCore& c = h.core;
  ASSERT_TRUE(c.out().reg_req_ready);
  ASSERT_FALSE(c.out().reg_rsp_valid);
  h.step(reg_in(user(0, 0), false, CMM_ID_OFFSET));
  EXPECT_TRUE(c.out().reg_rsp_valid);
  EXPECT_EQ(c.out().reg_rsp_rdata, kMagic);
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));
  h.step(idle_in());
  EXPECT_FALSE(c.out().reg_rsp_valid);
  EXPECT_EQ(c.out().reg_rsp_rdata, 0u);
  // Back-to-back requests: one response per cycle, each for its own request.
  const uint32_t addrs[] = {CMM_ID_OFFSET, CMM_NODE_ID_OFFSET, CMM_GEOMETRY_OFFSET, 0x3, CMM_ID_OFFSET};
  const uint32_t expect_data[] = {kMagic, kNode, 0x11100010u, 0, kMagic};
  const uint8_t expect_st[] = {0, 0, 0, u(Rsp::kDecerr), 0};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.out().reg_req_ready);
    h.step(reg_in(user(0, 0), false, addrs[i]));
    EXPECT_TRUE(c.out().reg_rsp_valid) << i;
    EXPECT_EQ(c.out().reg_rsp_rdata, expect_data[i]) << i;
    EXPECT_EQ(c.out().reg_rsp_status, expect_st[i]) << i;
  }
  // A write command too (response in the next cycle, its effect visible then).
  h.step(reg_in(kernel(0), true, CMM_CMD_OFFSET, cmd_word(Cmd::kAlloc)));
  EXPECT_TRUE(c.out().reg_rsp_valid);
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));
  EXPECT_EQ(c.ep_state(0), State::kAllocated);
  // A request not accepted (valid low) gives no response.
  h.step(idle_in());
  EXPECT_FALSE(c.out().reg_rsp_valid);
}

TEST_F(CoreTest, DataVerdictTwoCyclesAfterAcceptance) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  CmmCore& c = h.core;
  PinsIn in = idle_in();
  in.ing_valid = true;
  in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 32, 7);
  ASSERT_TRUE(c.out().ing_ready);
  h.step(in);  // edge t: accepted into S1
  EXPECT_FALSE(c.out().vd_valid);
  EXPECT_TRUE(c.s1_busy());
  EXPECT_EQ(c.rxq_count(rx), 0u);
  h.step(idle_in());  // edge t+1: committed
  EXPECT_TRUE(c.out().vd_valid);
  EXPECT_TRUE(c.out().vd_accept);
  EXPECT_EQ(c.out().vd_ep, rx);
  EXPECT_EQ(c.out().vd_slot, 0u);
  EXPECT_EQ(c.out().vd_reason, 0u);
  EXPECT_EQ(c.rxq_count(rx), 1u);
  EXPECT_FALSE(c.s1_busy());
  h.step(idle_in());  // one-cycle pulse
  EXPECT_FALSE(c.out().vd_valid);
  EXPECT_TRUE(c.quiescent());

  // A rejected DATA: verdict and NACK on egress in the same cycle, 2 after acceptance.
  in.ing_hdr.key[0] ^= 1;
  h.step(in);
  EXPECT_FALSE(c.out().vd_valid);
  EXPECT_FALSE(c.out().eg_valid);
  h.step(idle_in(false));
  EXPECT_TRUE(c.out().vd_valid);
  EXPECT_FALSE(c.out().vd_accept);
  EXPECT_EQ(c.out().vd_reason, u(Reason::kBadKey));
  EXPECT_TRUE(c.out().eg_valid);
  EXPECT_EQ(c.out().eg_cls, 1u);
  EXPECT_EQ(c.out().eg_hdr, expected_nack(in.ing_hdr, Reason::kBadKey, kKeyA));  // from the peer: keyed
  h.step(idle_in(true));  // taken by the fabric at this edge
  EXPECT_FALSE(c.out().eg_valid);
  EXPECT_FALSE(c.out().vd_valid);
}

TEST_F(CoreTest, ConnectAckAndDoorbellLatency) {
  const int tx = h.make_entry(0, 9, Dir::kSend, kPeer, 1, 3);
  CmmCore& c = h.core;
  PinsIn in = idle_in();
  in.ing_valid = true;
  in.ing_hdr = make_header(Opcode::kConnect, kPeer, 1, 3, kNode, 0, static_cast<uint8_t>(tx));
  in.ing_hdr.key = kKeyA;
  stamp(in.ing_hdr);
  h.step(in);
  EXPECT_FALSE(c.out().eg_valid);
  h.step(idle_in());
  ASSERT_TRUE(c.out().eg_valid);  // CONNECT -> CONNECT_ACK: 2 cycles
  EXPECT_EQ(c.out().eg_hdr.opcode, u(Opcode::kConnectAck));
  h.step(idle_in());
  EXPECT_FALSE(c.out().eg_valid);
  // Doorbell -> DATA on egress in the cycle after the accepting edge.
  h.step(reg_in(user(0, 9), true, ep_addr(static_cast<uint32_t>(tx), CMM_EP_DOORBELL_OFFSET), doorbell_word(4, 1)));
  EXPECT_TRUE(c.out().reg_rsp_valid);
  ASSERT_TRUE(c.out().eg_valid);
  EXPECT_EQ(c.out().eg_cls, 0u);
  EXPECT_EQ(c.out().eg_hdr.opcode, u(Opcode::kData));
  EXPECT_EQ(c.out().eg_hdr.key, kKeyA);
  h.step(idle_in());
  EXPECT_FALSE(c.out().eg_valid);
}

TEST_F(CoreTest, OneDataHeaderPerCycleSustained) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  CmmCore& c = h.core;
  constexpr int kN = 100;
  int sent = 0, verdicts = 0, accepted = 0;
  uint64_t edges = 0;
  PinsIn in = reg_in(user(0, 5), true, ep_addr(rx, CMM_EP_RX_POP_OFFSET));
  in.reg_req_valid = false;  // first pop one edge after the first header
  while (verdicts < kN && edges < 300) {
    in.ing_valid = sent < kN;
    in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 64, static_cast<uint16_t>(sent));
    in.ing_hdr.seq = static_cast<uint16_t>(sent);  // back to back: the sender's numbering
    if (in.ing_valid) {
      EXPECT_TRUE(c.out().ing_ready) << "stalled at edge " << edges;
    }
    EXPECT_TRUE(c.out().reg_req_ready);
    const bool fire = in.ing_valid && c.out().ing_ready;
    h.step(in);
    ++edges;
    in.reg_req_valid = true;
    if (fire) ++sent;
    if (c.out().vd_valid) {
      EXPECT_EQ(c.out().vd_slot, static_cast<uint32_t>(verdicts % kRxqDepth));
      ++verdicts;
      accepted += c.out().vd_accept;
    }
  }
  EXPECT_EQ(edges, static_cast<uint64_t>(kN + 1));  // 100 acceptances + 1 commit
  EXPECT_EQ(accepted, kN);
  EXPECT_EQ(c.stat(CmmCore::kStatDataDelivered), static_cast<uint32_t>(kN));
  EXPECT_EQ(c.rxq_count(rx), 0u);
  EXPECT_EQ(c.reject_count(Reason::kRxqEmpty), 0u);
  EXPECT_EQ(c.reject_count(Reason::kRxqFull), 0u);
}

TEST_F(CoreTest, OneNackPerCycleSustainedWhenEgressDrains) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  CmmCore& c = h.core;
  constexpr int kN = 100;
  int sent = 0, verdicts = 0, nacks = 0;
  uint64_t edges = 0;
  PinsIn in = idle_in(true);
  while (nacks < kN && edges < 300) {
    in.ing_valid = sent < kN;
    in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyB, 64, static_cast<uint16_t>(sent));
    if (in.ing_valid) {
      EXPECT_TRUE(c.out().ing_ready) << "stalled at edge " << edges;
    }
    const bool fire = in.ing_valid && c.out().ing_ready;
    if (c.out().eg_valid) {
      EXPECT_EQ(c.out().eg_hdr.opcode, u(Opcode::kNack));
      EXPECT_EQ(c.out().eg_hdr.tag, nacks);
      ++nacks;
    }
    h.step(in);
    ++edges;
    if (fire) ++sent;
    if (c.out().vd_valid) ++verdicts;
  }
  EXPECT_EQ(edges, static_cast<uint64_t>(kN + 2));  // + commit + egress
  EXPECT_EQ(verdicts, kN);
  EXPECT_EQ(c.reject_count(Reason::kBadKey), static_cast<uint32_t>(kN));
}

TEST_F(CoreTest, BackpressureFillsQueuesThenNothingIsLost) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  const uint32_t tx = open_tx(0, 6, 3, 4, kKeyB);
  h.eg_ready = false;
  // Ten rejected DATA headers: each needs a NACK in the response queue.
  for (int i = 0; i < 10; ++i) h.ingress.push_back(data(1, 2, 0, static_cast<uint8_t>(rx), kKeyB, 8, static_cast<uint16_t>(i)));
  h.tick(20);
  EXPECT_FALSE(h.core.out().ing_ready);
  EXPECT_EQ(h.ingress.size(), 10u - kEgqDepth);
  EXPECT_EQ(h.verdicts.size(), kEgqDepth);
  EXPECT_TRUE(h.core.out().reg_req_ready);
  // Doorbells fill the request queue, then the register port stalls.
  for (uint32_t i = 0; i < kEgqDepth; ++i) EXPECT_EQ(h.doorbell(user(0, 6), tx, 16, 100 + i).status, u(Rsp::kOk));
  EXPECT_FALSE(h.core.out().reg_req_ready);
  EXPECT_EQ(h.core.egress_occupancy(), 2 * kEgqDepth);
  CmmCore& c = h.core;
  PinsIn blocked = reg_in(user(0, 6), true, ep_addr(tx, CMM_EP_DOORBELL_OFFSET), doorbell_word(16, 200), false);
  for (int i = 0; i < 5; ++i) {
    h.step(blocked);  // not accepted: no response, nothing changes
    EXPECT_FALSE(c.out().reg_rsp_valid);
    EXPECT_FALSE(c.out().reg_req_ready);
    EXPECT_FALSE(c.out().ing_ready);
    EXPECT_TRUE(c.out().eg_valid);
    EXPECT_EQ(c.out().eg_cls, 1u);
  }
  // Release: everything comes out, responses first, in order.
  h.eg_ready = true;
  EXPECT_EQ(h.doorbell(user(0, 6), tx, 16, 200).status, u(Rsp::kOk));
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 10u + kEgqDepth + 1u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(eg[i].cls, 1u);
    EXPECT_EQ(eg[i].hdr.opcode, u(Opcode::kNack));
    EXPECT_EQ(eg[i].hdr.tag, i);
    EXPECT_EQ(eg[i].hdr.reason, u(Reason::kBadKey));
  }
  for (uint32_t i = 0; i <= kEgqDepth; ++i) {
    const EgRec& e = eg[10 + i];
    EXPECT_EQ(e.cls, 0u);
    EXPECT_EQ(e.hdr.opcode, u(Opcode::kData));
    EXPECT_EQ(e.hdr.tag, i < kEgqDepth ? 100 + i : 200u);
  }
  EXPECT_EQ(h.verdicts.size(), 10u);
  EXPECT_EQ(h.rejects(Reason::kBadKey), 10u);
  EXPECT_EQ(h.stat(kStatDataSent), kEgqDepth + 1);
  EXPECT_EQ(h.stat(kStatNackSent), 10u);
  EXPECT_EQ(h.rd_ok(user(0, 6), ep_addr(tx, CMM_EP_TX_SENT_OFFSET)), kEgqDepth + 1);
  EXPECT_TRUE(h.core.out().ing_ready);
  EXPECT_TRUE(h.core.out().reg_req_ready);
}

TEST_F(CoreTest, ResponseClassLeavesBeforeRequestClass) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  const uint32_t tx = open_tx(0, 6, 3, 4, kKeyB);
  h.eg_ready = false;
  EXPECT_EQ(h.doorbell(user(0, 6), tx, 16, 1).status, u(Rsp::kOk));  // request class first in time
  h.ingress.push_back(data(1, 2, 0, static_cast<uint8_t>(rx), kKeyB, 8, 2));
  h.tick(4);
  EXPECT_EQ(h.core.egress_occupancy(), 2u);
  EXPECT_EQ(h.core.out().eg_cls, 1u);
  h.eg_ready = true;
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 2u);
  EXPECT_EQ(eg[0].cls, 1u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kNack));
  EXPECT_EQ(eg[1].cls, 0u);
  EXPECT_EQ(eg[1].hdr.opcode, u(Opcode::kData));
}

// =====================================================================
// Pipeline hazards: same-edge order is ingress commit, then register access
// =====================================================================

TEST_F(CoreTest, HazardConnectCommitAndDoorbellAtTheSameEdge) {
  const uint32_t tx = static_cast<uint32_t>(h.make_entry(0, 9, Dir::kSend, kPeer, 1, 3));
  CmmCore& c = h.core;
  Header conn = make_header(Opcode::kConnect, kPeer, 1, 3, kNode, 0, static_cast<uint8_t>(tx));
  conn.key = kKeyA;
  stamp(conn);
  PinsIn in = idle_in(false);
  in.ing_valid = true;
  in.ing_hdr = conn;
  h.step(in);  // edge t-1: CONNECT into S1
  h.step(reg_in(user(0, 9), true, ep_addr(tx, CMM_EP_DOORBELL_OFFSET), doorbell_word(8, 0x77), false));  // edge t
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));  // the doorbell saw the stored key
  EXPECT_EQ(c.ep_state(tx), State::kOpen);
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 2u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kConnectAck));
  Header d = make_header(Opcode::kData, kNode, 0, static_cast<uint8_t>(tx), kPeer, 1, 3);
  d.len = 8;
  d.tag = 0x77;
  d.key = kKeyA;
  d.src_gen = 1;
  EXPECT_EQ(eg[1].hdr, d);
}

TEST_F(CoreTest, HazardDoorbellOneEdgeBeforeConnectCommitIsRefused) {
  const uint32_t tx = static_cast<uint32_t>(h.make_entry(0, 9, Dir::kSend, kPeer, 1, 3));
  CmmCore& c = h.core;
  Header conn = make_header(Opcode::kConnect, kPeer, 1, 3, kNode, 0, static_cast<uint8_t>(tx));
  conn.key = kKeyA;
  stamp(conn);
  PinsIn in = reg_in(user(0, 9), true, ep_addr(tx, CMM_EP_DOORBELL_OFFSET), doorbell_word(8, 0x77), false);
  in.ing_valid = true;
  in.ing_hdr = conn;
  h.step(in);  // CONNECT accepted and doorbell executed at the same edge: not committed yet
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kReject));
  h.step(idle_in(false));
  EXPECT_EQ(c.ep_state(tx), State::kOpen);
  h.settle();
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kConnectAck));
  EXPECT_EQ(h.rd_ok(user(0, 9), ep_addr(tx, CMM_EP_TX_STATUS_OFFSET)), u(Reason::kNotOpen));
  EXPECT_EQ(h.rejects(Reason::kNotOpen), 1u);
}

TEST_F(CoreTest, HazardConnectCommandAndDataCommitAtTheSameEdge) {
  // Receiver side: the CONNECT command stores the key at the edge where a
  // DATA for the entry commits. Ingress first: the entry is AUTHORIZED, the
  // DATA is refused (NOT_OPEN), never delivered with a half-stored key.
  const uint32_t rx = static_cast<uint32_t>(h.make_entry(0, 5, Dir::kRecv, kPeer, 1, 2));
  h.stage_key(0, kKeyA);
  CmmCore& c = h.core;
  PinsIn in = idle_in(false);
  in.ing_valid = true;
  in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 8, 1);
  h.step(in);                                                                               // DATA into S1
  h.step(reg_in(kernel(0), true, CMM_CMD_OFFSET, cmd_word(Cmd::kConnect, rx), false));     // commit + CONNECT
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));
  ASSERT_TRUE(c.out().vd_valid);
  EXPECT_FALSE(c.out().vd_accept);
  EXPECT_EQ(c.out().vd_reason, u(Reason::kNotOpen));
  EXPECT_EQ(c.rxq_count(rx), 0u);
  EXPECT_EQ(c.ep_state(rx), State::kConnecting);
  EXPECT_TRUE(c.key_equals_for_test(rx, kKeyA));
  // DATA accepted while the CONNECT_ACK commits: the DATA commits one edge
  // later and sees OPEN.
  in.ing_hdr = make_header(Opcode::kConnectAck, kPeer, 1, 2, kNode, 0, static_cast<uint8_t>(rx));
  in.ing_hdr.key = kKeyA;
  stamp(in.ing_hdr);
  h.step(in);
  in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 8, 2);
  h.step(in);  // ACK commits, DATA into S1
  EXPECT_EQ(c.ep_state(rx), State::kOpen);
  h.step(idle_in(false));
  ASSERT_TRUE(c.out().vd_valid);
  EXPECT_TRUE(c.out().vd_accept);
  EXPECT_EQ(c.rxq_count(rx), 1u);
}

TEST_F(CoreTest, HazardSecondConnectInFlightBehindTheFirst) {
  // Two CONNECTs back to back for one send entry: the second commits after
  // the first stored the key and is refused KEY_PRESENT; the key is the first's.
  const uint32_t tx = static_cast<uint32_t>(h.make_entry(0, 9, Dir::kSend, kPeer, 1, 3));
  Header c1 = make_header(Opcode::kConnect, kPeer, 1, 3, kNode, 0, static_cast<uint8_t>(tx));
  c1.key = kKeyA;
  stamp(c1);
  Header c2 = c1;
  c2.key = kKeyB;
  h.ingress.push_back(c1);
  h.ingress.push_back(c2);
  h.settle();
  EXPECT_TRUE(h.core.key_equals_for_test(tx, kKeyA));
  EXPECT_EQ(h.rejects(Reason::kKeyPresent), 1u);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 2u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kConnectAck));
  EXPECT_EQ(eg[1].hdr, expected_nack(c2, Reason::kKeyPresent, kKeyA));  // the peer learns no new key
  EXPECT_EQ(eg[0].cycle + 1, eg[1].cycle);
}

TEST_F(CoreTest, HazardCloseCommandAtTheEdgeOfADataCommit) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  CmmCore& c = h.core;
  PinsIn in = idle_in(false);
  in.ing_valid = true;
  in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 8, 1);
  h.step(in);
  h.step(reg_in(kernel(0), true, CMM_CMD_OFFSET, cmd_word(Cmd::kClose, rx), false));
  // Delivered first, then flushed by the CLOSE.
  ASSERT_TRUE(c.out().vd_valid);
  EXPECT_TRUE(c.out().vd_accept);
  EXPECT_EQ(c.out().vd_slot, 0u);
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));
  EXPECT_EQ(c.rxq_count(rx), 0u);
  EXPECT_EQ(c.ep_state(rx), State::kAllocated);
  EXPECT_FALSE(c.key_valid(rx));
  h.settle();
  EXPECT_EQ(h.rejects(Reason::kRxqFlushed), 1u);
  EXPECT_EQ(h.stat(kStatDelivered), 1u);
  ASSERT_EQ(h.errlog_count(0), 1u);
  ErrEntry e = h.pop_err(0);
  EXPECT_EQ(e.reason, u(Reason::kRxqFlushed));
  EXPECT_EQ(e.ep, rx);
  EXPECT_EQ(e.from_fabric, 0u);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  Header cl = make_header(Opcode::kClose, kNode, 0, static_cast<uint8_t>(rx), kPeer, 1, 2);
  cl.key = kKeyA;
  cl.src_gen = 1;
  EXPECT_EQ(eg[0].hdr, cl);
}

TEST_F(CoreTest, HazardCloseCommandAtTheEdgeOfAConnectAck) {
  const uint32_t rx = static_cast<uint32_t>(h.make_entry(0, 5, Dir::kRecv, kPeer, 1, 2));
  h.stage_key(0, kKeyA);
  h.cmd_ok(0, Cmd::kConnect, rx);
  h.settle();
  h.take_egress();
  CmmCore& c = h.core;
  PinsIn in = idle_in(false);
  in.ing_valid = true;
  in.ing_hdr = make_header(Opcode::kConnectAck, kPeer, 1, 2, kNode, 0, static_cast<uint8_t>(rx));
  in.ing_hdr.key = kKeyA;
  stamp(in.ing_hdr);
  h.step(in);
  h.step(reg_in(kernel(0), true, CMM_CMD_OFFSET, cmd_word(Cmd::kClose, rx), false));
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));
  EXPECT_EQ(c.ep_state(rx), State::kAllocated);
  h.settle();
  EXPECT_EQ(h.rejects(Reason::kStrayResponse), 0u);  // the ACK matched (it committed first)
  EXPECT_EQ(h.rejects(Reason::kStaleGen) + h.rejects(Reason::kUnauthResponse), 0u);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].hdr.opcode, u(Opcode::kClose));  // the peer is told
}

TEST_F(CoreTest, HazardRxPopAndDataToAFullQueueAtTheSameEdge) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  for (int i = 0; i < 4; ++i) h.inject(data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 8, static_cast<uint16_t>(i)));
  ASSERT_EQ(h.core.rxq_count(rx), kRxqDepth);
  h.take_verdicts();
  CmmCore& c = h.core;
  PinsIn in = idle_in(false);
  in.ing_valid = true;
  in.ing_hdr = data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, 8, 4);
  h.step(in);
  h.step(reg_in(user(0, 5), true, ep_addr(rx, CMM_EP_RX_POP_OFFSET), 0, false));
  ASSERT_TRUE(c.out().vd_valid);
  EXPECT_FALSE(c.out().vd_accept);
  EXPECT_EQ(c.out().vd_reason, u(Reason::kRxqFull));
  EXPECT_EQ(c.out().reg_rsp_status, u(Rsp::kOk));
  EXPECT_EQ(c.rxq_count(rx), kRxqDepth - 1);
  h.settle();
  EXPECT_EQ(h.rejects(Reason::kRxqFull), 1u);
  std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), 1u);
  EXPECT_EQ(eg[0].hdr, expected_nack(in.ing_hdr, Reason::kRxqFull, kKeyA));
  // RXQ_FULL is the sender's concern: not in the receiver's log.
  EXPECT_EQ(h.errlog_count(0), 0u);
}

// =====================================================================
// Receive queue
// =====================================================================

TEST_F(CoreTest, ReceiveQueueSlotsRotate) {
  const uint32_t rx = open_rx(0, 5, 1, 2, kKeyA);
  const Req own = user(0, 5);
  auto rx_status = [&] { return h.rd_ok(own, ep_addr(rx, CMM_EP_RX_STATUS_OFFSET)); };
  auto status_word = [](uint32_t count, uint32_t slot, uint32_t len) {
    return CMM_FIELD_SET(CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_EP_RX_STATUS_COUNT, count), CMM_EP_RX_STATUS_SLOT, slot),
                         CMM_EP_RX_STATUS_LEN, len);
  };
  // 4 messages fill slots 0..3.
  for (uint32_t i = 0; i < 4; ++i) h.inject(data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, static_cast<uint16_t>(10 + i), static_cast<uint16_t>(0x100 + i)));
  std::vector<VdRec> vd = h.take_verdicts();
  ASSERT_EQ(vd.size(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(vd[i].accept);
    EXPECT_EQ(vd[i].slot, i);
  }
  EXPECT_EQ(rx_status(), status_word(4, 0, 10));
  EXPECT_EQ(h.rd_ok(own, ep_addr(rx, CMM_EP_RX_TAG_OFFSET)), 0x100u);
  EXPECT_EQ(CMM_FIELD_GET(h.cst_status(0, rx), CMM_CST_STATUS_RXQ_COUNT), 4u);
  RegRsp b = h.rd(own, ep_addr(rx, CMM_RX_BUF_OFFSET + 8));
  EXPECT_EQ(b.status, u(Rsp::kOk));
  EXPECT_TRUE(b.buf);
  EXPECT_EQ(b.buf_slot, 0u);
  // Pop two; deliver two more: they go to slots 0 and 1.
  h.wr_ok(own, ep_addr(rx, CMM_EP_RX_POP_OFFSET), 0);
  h.wr_ok(own, ep_addr(rx, CMM_EP_RX_POP_OFFSET), 0xFFFFFFFFu);
  EXPECT_EQ(rx_status(), status_word(2, 2, 12));
  EXPECT_EQ(h.rd_ok(own, ep_addr(rx, CMM_EP_RX_TAG_OFFSET)), 0x102u);
  EXPECT_EQ(h.rd(own, ep_addr(rx, CMM_RX_BUF_OFFSET)).buf_slot, 2u);
  for (uint32_t i = 4; i < 6; ++i) h.inject(data(1, 2, 0, static_cast<uint8_t>(rx), kKeyA, static_cast<uint16_t>(10 + i), static_cast<uint16_t>(0x100 + i)));
  vd = h.take_verdicts();
  ASSERT_EQ(vd.size(), 2u);
  EXPECT_EQ(vd[0].slot, 0u);
  EXPECT_EQ(vd[1].slot, 1u);
  // Drain in order: tags 0x102..0x105, slots 2,3,0,1.
  const uint32_t slots[] = {2, 3, 0, 1};
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rx_status(), status_word(4 - i, slots[i], 12 + i));
    EXPECT_EQ(h.rd_ok(own, ep_addr(rx, CMM_EP_RX_TAG_OFFSET)), 0x102u + i);
    EXPECT_EQ(h.rd(own, ep_addr(rx, CMM_RX_BUF_OFFSET)).buf_slot, slots[i]);
    h.wr_ok(own, ep_addr(rx, CMM_EP_RX_POP_OFFSET), 0);
  }
  // Empty: COUNT 0, SLOT shows where the next message goes, LEN and TAG 0.
  EXPECT_EQ(rx_status(), status_word(0, 2, 0));
  EXPECT_EQ(h.rd_ok(own, ep_addr(rx, CMM_EP_RX_TAG_OFFSET)), 0u);
  EXPECT_EQ(h.wr(own, ep_addr(rx, CMM_EP_RX_POP_OFFSET), 0).status, u(Rsp::kReject));
  EXPECT_EQ(h.rejects(Reason::kRxqEmpty), 1u);
  EXPECT_EQ(h.stat(kStatDelivered), 6u);
}

TEST(CoreNet, RxqFullIsReportedToTheSender) {
  CoreHarness rn(kNode), sn(kPeer);
  Net net({&rn, &sn});
  Channel ch = open_channel(rn, 2, 216, sn, 1, 2202, kKeyA);
  const Req sender = user(1, 2202), receiver = user(2, 216);
  sn.wr_ok(kernel(1), CMM_IRQ_STATUS_OFFSET, 0x1F);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(sn.doorbell(sender, ch.tx_ep, 32, 0x50 + i).status, u(Rsp::kOk));
  sn.settle();
  EXPECT_EQ(rn.core.rxq_count(ch.rx_ep), kRxqDepth);
  EXPECT_EQ(rn.rejects(Reason::kRxqFull), 1u);
  EXPECT_EQ(rn.errlog_count(2), 0u);
  // The sender's CMM recorded the NACK.
  const uint32_t ts = sn.rd_ok(sender, ep_addr(ch.tx_ep, CMM_EP_TX_STATUS_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kRxqFull));
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_NACKS), 1u);
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_TAG), 0x54u);
  const uint32_t cs = sn.cst_status(1, ch.tx_ep);
  EXPECT_EQ(CMM_FIELD_GET(cs, CMM_CST_STATUS_LAST_REASON), u(Reason::kRxqFull));
  EXPECT_EQ(CMM_FIELD_GET(cs, CMM_CST_STATUS_TX_NACKS), 1u);
  EXPECT_EQ(sn.irq_status(1), bit(Irq::kTxnack));
  EXPECT_EQ(sn.rd_ok(sender, ep_addr(ch.tx_ep, CMM_EP_TX_SENT_OFFSET)), 5u);
  // Nothing lost: sent = delivered + NACKed.
  EXPECT_EQ(sn.stat(kStatDataSent), rn.stat(kStatDelivered) + rn.stat(kStatNackSent));
  // Make room and resend the refused message.
  rn.wr_ok(receiver, ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
  EXPECT_EQ(sn.doorbell(sender, ch.tx_ep, 32, 0x54).status, u(Rsp::kOk));
  sn.settle();
  EXPECT_EQ(rn.core.rxq_count(ch.rx_ep), kRxqDepth);
  EXPECT_EQ(rn.rejects(Reason::kRxqFull), 1u);
  EXPECT_EQ(CMM_FIELD_GET(sn.cst_status(1, ch.tx_ep), CMM_CST_STATUS_TX_NACKS), 1u);
  // The queue holds tags 0x51..0x54 in order.
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rn.rd_ok(receiver, ep_addr(ch.rx_ep, CMM_EP_RX_TAG_OFFSET)), 0x51u + i);
    rn.wr_ok(receiver, ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
  }
}

TEST(CoreNet, TxNackCountersSaturate) {
  CoreHarness h(kNode);
  const int tx = h.make_entry(0, 9, Dir::kSend, kPeer, 1, 3);
  const uint8_t gen = h.core.ep_gen(static_cast<uint32_t>(tx));
  Header c = make_header(Opcode::kConnect, kPeer, 1, 3, kNode, 0, static_cast<uint8_t>(tx));
  c.key = kKeyA;
  c.dst_gen = gen;
  h.inject(c);
  Header n = make_header(Opcode::kNack, kPeer, 1, 3, kNode, 0, static_cast<uint8_t>(tx));
  n.aux = u(Opcode::kData);
  n.reason = u(Reason::kRxqFull);
  n.key = kKeyA;  // believed: the receiver's CMM proves the channel key
  n.dst_gen = gen;
  // 300 DATA sent, each refused by a NACK naming it (a NACK of a DATA never sent is SEQ_OLD).
  for (uint32_t i = 0; i < 300; ++i)
    ASSERT_EQ(h.doorbell(kernel(0), static_cast<uint32_t>(tx), 8, i).status, u(Rsp::kOk));
  for (uint32_t i = 0; i < 300; ++i) {
    n.tag = static_cast<uint16_t>(i);
    n.seq = static_cast<uint16_t>(i);
    h.ingress.push_back(n);
  }
  h.settle();
  const uint32_t ts = h.rd_ok(kernel(0), ep_addr(static_cast<uint32_t>(tx), CMM_EP_TX_STATUS_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_NACKS), 0xFFu);
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_TAG), 299u);
  EXPECT_EQ(CMM_FIELD_GET(h.cst_status(0, static_cast<uint32_t>(tx)), CMM_CST_STATUS_TX_NACKS), 300u);
}

// =====================================================================
// Management messages
// =====================================================================

TEST(CoreNet, ManagementMessageWithHardwareStampedSource) {
  CoreHarness a(kNode), b(kPeer);
  Net net({&a, &b});
  const Key words{0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
  for (uint32_t i = 0; i < kMgmtWords; ++i) a.wr_ok(kernel(2), CMM_MGMT_TX_OFFSET + 4 * i, words[i]);
  // The destination register has no source fields: software cannot choose the source.
  a.wr_ok(kernel(2), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kPeer), CMM_MGMT_DST_PART, 5u));
  a.cmd_ok(2, Cmd::kMgmtSend);
  EXPECT_EQ(a.cmd_reason(2), 0u);
  a.settle();
  ASSERT_EQ(a.egress.size(), 1u);
  Header m = make_header(Opcode::kMgmt, kNode, 2, 0, kPeer, 5, 0);
  m.key = words;
  EXPECT_EQ(a.egress[0].cls, 0u);
  EXPECT_EQ(a.egress[0].hdr, m);
  EXPECT_EQ(a.stat(kStatMgmtSent), 1u);
  // MGMT_TX is kept (software may resend).
  EXPECT_EQ(a.rd_ok(kernel(2), CMM_MGMT_TX_OFFSET), words[0]);
  // Received by partition 5 of node B only.
  const uint32_t st = b.rd_ok(kernel(5), CMM_MGMT_RX_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_COUNT), 1u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE), kNode);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART), 2u);
  for (uint32_t i = 0; i < kMgmtWords; ++i) EXPECT_EQ(b.rd_ok(kernel(5), CMM_MGMT_RX_OFFSET + 4 * i), words[i]);
  EXPECT_EQ(b.irq_status(5), bit(Irq::kMgmt));
  EXPECT_EQ(b.stat(kStatMgmtRecv), 1u);
  for (uint8_t p = 0; p < kNumPartitions; ++p) {
    if (p == 5) continue;
    EXPECT_EQ(b.rd_ok(kernel(p), CMM_MGMT_RX_STATUS_OFFSET), 0u);
    EXPECT_EQ(b.rd_ok(kernel(p), CMM_MGMT_RX_OFFSET), 0u);
    EXPECT_EQ(b.irq_status(p), 0u);
  }
  // Users cannot read it.
  EXPECT_EQ(b.rd(user(5, 0), CMM_MGMT_RX_OFFSET).status, u(Rsp::kDenied));
  // A second message from partition 3 queues behind; pop in order.
  a.wr_ok(kernel(3), CMM_MGMT_TX_OFFSET, 0xFACE);
  a.wr_ok(kernel(3), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kPeer), CMM_MGMT_DST_PART, 5u));
  a.cmd_ok(3, Cmd::kMgmtSend);
  a.settle();
  EXPECT_EQ(CMM_FIELD_GET(b.rd_ok(kernel(5), CMM_MGMT_RX_STATUS_OFFSET), CMM_MGMT_RX_STATUS_COUNT), 2u);
  b.cmd_ok(5, Cmd::kMgmtPop);
  const uint32_t st2 = b.rd_ok(kernel(5), CMM_MGMT_RX_STATUS_OFFSET);
  EXPECT_EQ(st2, CMM_FIELD_SET(CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_RX_STATUS_COUNT, 1u), CMM_MGMT_RX_STATUS_SRC_NODE, kNode),
                               CMM_MGMT_RX_STATUS_SRC_PART, 3u));
  EXPECT_EQ(b.rd_ok(kernel(5), CMM_MGMT_RX_OFFSET), 0xFACEu);
  EXPECT_EQ(b.rd_ok(kernel(5), CMM_MGMT_RX_OFFSET + 4), 0u);
  b.cmd_ok(5, Cmd::kMgmtPop);
  EXPECT_EQ(b.rd_ok(kernel(5), CMM_MGMT_RX_STATUS_OFFSET), 0u);
  EXPECT_EQ(b.rd_ok(kernel(5), CMM_MGMT_RX_OFFSET), 0u);
  b.cmd_refused(5, Cmd::kMgmtPop, 0, Reason::kRxqEmpty);
  // Loopback: a message to a partition of the same node.
  a.wr_ok(kernel(0), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kNode), CMM_MGMT_DST_PART, 1u));
  a.cmd_ok(0, Cmd::kMgmtSend);
  a.settle();
  EXPECT_EQ(a.rd_ok(kernel(1), CMM_MGMT_RX_STATUS_OFFSET),
            CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_RX_STATUS_COUNT, 1u), CMM_MGMT_RX_STATUS_SRC_NODE, kNode));
}

// 16-bit node ids (docs/scale.md): every bit of a node id is stored, stamped
// and compared; ids that share their low byte are different nodes.
TEST_F(CoreTest, SixteenBitNodeIdsAreStoredAndComparedInFull) {
  constexpr uint16_t kWide = 0x1234;
  const uint32_t ep = open_rx(0, 100, 1, 5, kKeyA, kWide);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(ep, CMM_CST_REMOTE_OFFSET)), CMM_CST_REMOTE_NODE), kWide);
  expect_ingress_reject(data(1, 5, 0, static_cast<uint8_t>(ep), kKeyA, 64, 0, kWide ^ 0x0100),
                        Reason::kSrcNodeMismatch, true, 0);
  Header m = data(1, 5, 0, static_cast<uint8_t>(ep), kKeyA, 64, 0, kWide);
  m.dst_node = kNode | 0x0100;
  expect_ingress_reject(m, Reason::kMisrouted, false);
  h.inject(data(1, 5, 0, static_cast<uint8_t>(ep), kKeyA, 64, 0, kWide));
  EXPECT_EQ(h.core.rxq_count(ep), 1u);
}

TEST(CoreNet, ManagementBetweenSixteenBitNodeIdsIsStampedInFull) {
  constexpr uint16_t kA = 0xBE21, kB = 0x0142;
  CoreHarness a(kA), b(kB);
  Net net({&a, &b});
  EXPECT_EQ(a.rd_ok(kernel(0), CMM_NODE_ID_OFFSET), kA);
  a.wr_ok(kernel(2), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kB), CMM_MGMT_DST_PART, 5u));
  a.cmd_ok(2, Cmd::kMgmtSend);
  a.settle();
  ASSERT_EQ(a.egress.size(), 1u);
  EXPECT_EQ(a.egress[0].hdr.src_node, kA);
  EXPECT_EQ(a.egress[0].hdr.dst_node, kB);
  const uint32_t st = b.rd_ok(kernel(5), CMM_MGMT_RX_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE), kA);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART), 2u);
  EXPECT_TRUE(net.unroutable.empty());
}

TEST(CoreNet, ManagementQueueFullIsNackedAndLoggedAtTheSender) {
  CoreHarness a(kNode), b(kPeer);
  Net net({&a, &b});
  a.wr_ok(kernel(4), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kPeer), CMM_MGMT_DST_PART, 6u));
  for (uint32_t i = 0; i < kMgmtqDepth + 1; ++i) {
    a.wr_ok(kernel(4), CMM_MGMT_TX_OFFSET, i);
    a.cmd_ok(4, Cmd::kMgmtSend);
  }
  a.settle();
  EXPECT_EQ(CMM_FIELD_GET(b.rd_ok(kernel(6), CMM_MGMT_RX_STATUS_OFFSET), CMM_MGMT_RX_STATUS_COUNT), kMgmtqDepth);
  EXPECT_EQ(b.rejects(Reason::kMgmtqFull), 1u);
  EXPECT_EQ(b.stat(kStatMgmtRecv), kMgmtqDepth);
  EXPECT_EQ(b.stat(kStatNackSent), 1u);
  ASSERT_EQ(b.egress.size(), 1u);
  Header n = make_header(Opcode::kNack, kPeer, 6, 0, kNode, 4, 0);
  n.reason = u(Reason::kMgmtqFull);
  n.aux = u(Opcode::kMgmt);
  EXPECT_EQ(b.egress[0].hdr, n);
  // The sending agent learns it from its error log.
  ASSERT_EQ(a.errlog_count(4), 1u);
  ErrEntry e = a.pop_err(4);
  EXPECT_EQ(e.reason, u(Reason::kMgmtqFull));
  EXPECT_EQ(e.opcode, u(Opcode::kMgmt));
  EXPECT_EQ(e.from_fabric, 1u);
  EXPECT_EQ(e.src_node, kPeer);
  EXPECT_EQ(a.irq_status(4), bit(Irq::kErr));
  // Order kept: the head is message 0.
  EXPECT_EQ(b.rd_ok(kernel(6), CMM_MGMT_RX_OFFSET), 0u);
  b.cmd_ok(6, Cmd::kMgmtPop);
  EXPECT_EQ(b.rd_ok(kernel(6), CMM_MGMT_RX_OFFSET), 1u);
}

TEST(CoreNet, ManagementToABadPartitionIsNacked) {
  CoreHarness a(kNode), b(kPeer);
  Net net({&a, &b});
  a.wr_ok(kernel(1), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kPeer), CMM_MGMT_DST_PART, 12u));
  a.cmd_ok(1, Cmd::kMgmtSend);
  a.settle();
  EXPECT_EQ(b.rejects(Reason::kBadPart), 1u);
  ASSERT_EQ(a.errlog_count(1), 1u);
  EXPECT_EQ(a.pop_err(1).reason, u(Reason::kBadPart));
  // To a node that does not exist: the fabric's problem, not the core's.
  a.wr_ok(kernel(1), CMM_MGMT_DST_OFFSET, 0x0FF);
  a.cmd_ok(1, Cmd::kMgmtSend);
  a.settle();
  EXPECT_EQ(net.unroutable.size(), 1u);
}

// =====================================================================
// Error log and interrupts
// =====================================================================

TEST_F(CoreTest, ErrorLogEntriesLostCountAndPop) {
  const int ep = h.make_entry(3, 42, Dir::kRecv, kPeer, 1, 1);
  ASSERT_EQ(ep, 0);
  h.wr_ok(kernel(3), CMM_IRQ_STATUS_OFFSET, 0x1F);
  // Entries of different kinds.
  h.rd(user(3, 41), ep_addr(0, CMM_EP_RX_STATUS_OFFSET));  // DENIED, ep 0
  h.wr(kernel(3), 0x61, 0);                                // BAD_ADDR
  h.cmd_refused(3, Cmd::kClose, 7, Reason::kDenied);       // DENIED command, ep 7
  h.inject(data(1, 1, 3, 0, kKeyA, 8, 0));                  // NOT_OPEN from the fabric
  const uint32_t words[] = {
      CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ERRLOG_HEAD_REASON, u(Reason::kDenied)), CMM_ERRLOG_HEAD_SRC_NODE, kNode),
      CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ERRLOG_HEAD_REASON, u(Reason::kBadAddr)), CMM_ERRLOG_HEAD_SRC_NODE, kNode),
      CMM_FIELD_SET(CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ERRLOG_HEAD_REASON, u(Reason::kDenied)), CMM_ERRLOG_HEAD_EP, 7u),
                    CMM_ERRLOG_HEAD_SRC_NODE, kNode),
      (u(Reason::kNotOpen) << 0) | (0u << 8) | (u(Opcode::kData) << 16) | (1u << 20) | (0u << 21) |
          (static_cast<uint32_t>(kPeer) << 24),
  };
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_STATUS_OFFSET), 4u);
  EXPECT_EQ(h.irq_status(3), bit(Irq::kErr));
  // Two more: lost.
  h.rd(user(3, 41), ep_addr(0, CMM_EP_RX_STATUS_OFFSET));
  h.rd(user(3, 41), ep_addr(0, CMM_EP_RX_STATUS_OFFSET));
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_STATUS_OFFSET), 4u | (2u << 8));
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_HEAD_OFFSET), words[i]) << i;
    h.cmd_ok(3, Cmd::kErrlogPop);
    EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_STATUS_OFFSET), (3u - i) | (2u << 8));
  }
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_HEAD_OFFSET), 0u);
  h.cmd_refused(3, Cmd::kErrlogPop, 0, Reason::kRxqEmpty);
  EXPECT_EQ(h.errlog_count(3), 0u);  // the refused pop is not logged
  // The log wraps around its ring correctly.
  h.rd(user(3, 41), CMM_PART_INFO_OFFSET);
  EXPECT_EQ(ErrEntry::decode(h.rd_ok(kernel(3), CMM_ERRLOG_HEAD_OFFSET)).reason, u(Reason::kDenied));
  // The same kind again is not coalesced into a lone head entry (the agent
  // may be reading it) but takes a slot; a third goes into that newest entry.
  h.rd(user(3, 41), CMM_PART_INFO_OFFSET);
  EXPECT_EQ(h.errlog_count(3), 2u);
  h.rd(user(3, 41), CMM_PART_INFO_OFFSET);
  EXPECT_EQ(h.errlog_count(3), 2u);
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_HEAD_REPEAT_OFFSET), 0u);
  // Alternating kinds fill it; once full, an event of another kind than the
  // newest entry is lost. LOST saturates at 255.
  h.wr(kernel(3), 0x61, 0);                 // BAD_ADDR: third slot
  h.rd(user(3, 41), CMM_PART_INFO_OFFSET);  // DENIED: fourth, full
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_STATUS_OFFSET), 4u | (2u << 8));
  for (int i = 0; i < 300; ++i) h.wr(kernel(3), 0x61, 0);
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_STATUS_OFFSET), 4u | (0xFFu << 8));
  h.cmd_ok(3, Cmd::kErrlogPop);
  EXPECT_EQ(h.rd_ok(kernel(3), CMM_ERRLOG_HEAD_REPEAT_OFFSET), 1u);
  EXPECT_EQ(h.rejects(Reason::kDenied), 2u + 2u + 1u + 2u + 1u);
  EXPECT_EQ(h.rejects(Reason::kBadAddr), 1u + 1u + 300u);
  // Other partitions' logs are untouched.
  for (uint8_t p = 0; p < kNumPartitions; ++p)
    if (p != 3) {
      EXPECT_EQ(h.rd_ok(kernel(p), CMM_ERRLOG_STATUS_OFFSET), 0u);
    }
}

TEST_F(CoreTest, AlarmIsOffAtThresholdZeroAndRestartedByAConfigWrite) {
  const Req k = kernel(1);
  auto event = [&] { h.rd(user(1, 9), CMM_PART_INFO_OFFSET); };  // DENIED, logged for partition 1
  for (int i = 0; i < 10; ++i) event();
  EXPECT_EQ(h.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 0u);  // THRESH 0: off
  // Window of 2^31 cycles: everything below is in one window.
  uint32_t cfg = CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ALARM_CFG_THRESH, 4u), CMM_ALARM_CFG_WINDOW_LOG2, 31u);
  h.wr_ok(k, CMM_ALARM_CFG_OFFSET, cfg);  // restarts the count: the 10 above do not count
  for (int i = 0; i < 3; ++i) event();
  EXPECT_EQ(h.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 0u);
  h.wr_ok(k, CMM_ALARM_CFG_OFFSET, cfg);  // again: 3 forgotten
  for (int i = 0; i < 3; ++i) event();
  EXPECT_EQ(h.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 0u);
  event();
  EXPECT_EQ(h.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 1u);
  EXPECT_EQ(h.irq_status(1), bit(Irq::kErr) | bit(Irq::kAlarm));
  EXPECT_EQ(h.rd_ok(kernel(0), CMM_ALARM_COUNT_OFFSET), 0u);
  // Reset clears the alarm, the exception register and the generations.
  h.core.reset();
  EXPECT_EQ(h.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 0u);
  EXPECT_EQ(h.rd_ok(k, CMM_ALARM_CFG_OFFSET), 0u);
}

TEST_F(CoreTest, InterruptLinesAreGatedByIrqEnable) {
  CmmCore& c = h.core;
  const uint32_t rx = open_rx(5, 1, 1, 2, kKeyA);
  EXPECT_EQ(c.out().irq, 0u);
  // RX pending but not enabled: line low.
  h.inject(data(1, 2, 5, static_cast<uint8_t>(rx), kKeyA, 8, 0));
  EXPECT_EQ(h.irq_status(5), bit(Irq::kRx));
  EXPECT_EQ(c.out().irq, 0u);
  // Enabling another cause only: still low.
  h.wr_ok(kernel(5), CMM_IRQ_ENABLE_OFFSET, bit(Irq::kErr) | bit(Irq::kMgmt));
  EXPECT_EQ(c.out().irq, 0u);
  // Enabling RX: line p=5 high, visible in the cycle after the write.
  h.step(reg_in(kernel(5), true, CMM_IRQ_ENABLE_OFFSET, bit(Irq::kRx)));
  EXPECT_EQ(c.out().irq, 1u << 5);
  // An ERR in partition 5 while only RX is enabled: no change; clearing RX drops the line.
  h.rd(user(5, 9), CMM_PART_INFO_OFFSET);
  EXPECT_EQ(h.irq_status(5), bit(Irq::kRx) | bit(Irq::kErr));
  h.step(reg_in(kernel(5), true, CMM_IRQ_STATUS_OFFSET, bit(Irq::kRx)));
  EXPECT_EQ(c.out().irq, 0u);
  h.wr_ok(kernel(5), CMM_IRQ_ENABLE_OFFSET, 0x1F);
  EXPECT_EQ(c.out().irq, 1u << 5);
  // Another partition's line is independent.
  h.wr_ok(kernel(0), CMM_IRQ_ENABLE_OFFSET, 0x1F);
  h.rd(user(0, 9), CMM_PART_INFO_OFFSET);
  EXPECT_EQ(c.out().irq, (1u << 5) | 1u);
  h.wr_ok(kernel(5), CMM_IRQ_STATUS_OFFSET, 0x1F);
  EXPECT_EQ(c.out().irq, 1u);
  h.wr_ok(kernel(0), CMM_IRQ_ENABLE_OFFSET, 0);
  EXPECT_EQ(c.out().irq, 0u);
  EXPECT_EQ(h.irq_status(0), bit(Irq::kErr));  // still pending, only masked
}

TEST(CoreNet, EveryInterruptCause) {
  CoreHarness rn(kNode), sn(kPeer);
  Net net({&rn, &sn});
  for (uint8_t p = 0; p < kNumPartitions; ++p) {
    rn.wr_ok(kernel(p), CMM_IRQ_ENABLE_OFFSET, 0x1F);
    sn.wr_ok(kernel(p), CMM_IRQ_ENABLE_OFFSET, 0x1F);
  }
  Channel ch = open_channel(rn, 1, 10, sn, 2, 20, kKeyB);
  // CONN on both sides (ACK at the receiver, CONNECT at the sender).
  EXPECT_EQ(rn.irq_status(1), bit(Irq::kConn));
  EXPECT_EQ(sn.irq_status(2), bit(Irq::kConn));
  EXPECT_EQ(rn.core.out().irq, 1u << 1);
  EXPECT_EQ(sn.core.out().irq, 1u << 2);
  rn.wr_ok(kernel(1), CMM_IRQ_STATUS_OFFSET, 0x1F);
  sn.wr_ok(kernel(2), CMM_IRQ_STATUS_OFFSET, 0x1F);
  EXPECT_EQ(rn.core.out().irq | sn.core.out().irq, 0u);
  // RX at the receiver.
  EXPECT_EQ(sn.doorbell(user(2, 20), ch.tx_ep, 8, 1).status, u(Rsp::kOk));
  sn.settle();
  EXPECT_EQ(rn.irq_status(1), bit(Irq::kRx));
  EXPECT_EQ(sn.irq_status(2), 0u);
  rn.wr_ok(kernel(1), CMM_IRQ_STATUS_OFFSET, 0x1F);
  // TXNACK at the sender (the receiver's queue is full after 4 more).
  for (int i = 0; i < 4; ++i) sn.doorbell(user(2, 20), ch.tx_ep, 8, 2);
  sn.settle();
  EXPECT_EQ(sn.irq_status(2), bit(Irq::kTxnack));
  EXPECT_EQ(sn.core.out().irq, 1u << 2);
  // MGMT.
  sn.wr_ok(kernel(2), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kNode), CMM_MGMT_DST_PART, 7u));
  sn.cmd_ok(2, Cmd::kMgmtSend);
  sn.settle();
  EXPECT_EQ(rn.irq_status(7), bit(Irq::kMgmt));
  EXPECT_EQ(rn.core.out().irq, (1u << 1) | (1u << 7));
  // ERR: the receiver closes; the peer's entry becomes CLOSED (CONN); its flushed queue logs ERR.
  sn.wr_ok(kernel(2), CMM_IRQ_STATUS_OFFSET, 0x1F);
  rn.wr_ok(kernel(1), CMM_IRQ_STATUS_OFFSET, 0x1F);
  rn.cmd_ok(1, Cmd::kClose, ch.rx_ep);
  rn.settle();
  EXPECT_EQ(rn.irq_status(1), bit(Irq::kErr));
  EXPECT_EQ(rn.rejects(Reason::kRxqFlushed), kRxqDepth);
  EXPECT_EQ(sn.irq_status(2), bit(Irq::kConn));
  EXPECT_EQ(sn.core.ep_state(ch.tx_ep), State::kClosed);
  EXPECT_FALSE(sn.core.key_valid(ch.tx_ep));
}

// =====================================================================
// Whole channel on two cores
// =====================================================================

TEST(CoreNet, ChannelBetweenTwoCoresCarriesMessagesBothWays) {
  CoreHarness a(kNode), b(kPeer);
  Net net({&a, &b});
  Channel ab = open_channel(b, 0, 1000, a, 3, 3000, kKeyA);  // a sends to b
  Channel ba = open_channel(a, 3, 3001, b, 0, 1001, kKeyB);  // b sends to a
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.doorbell(user(3, 3000), ab.tx_ep, 100 + i, i).status, u(Rsp::kOk));
    EXPECT_EQ(b.doorbell(user(0, 1001), ba.tx_ep, 200 + i, i).status, u(Rsp::kOk));
  }
  a.settle();
  EXPECT_EQ(b.core.rxq_count(ab.rx_ep), 3u);
  EXPECT_EQ(a.core.rxq_count(ba.rx_ep), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    const uint32_t st = b.rd_ok(user(0, 1000), ep_addr(ab.rx_ep, CMM_EP_RX_STATUS_OFFSET));
    EXPECT_EQ(CMM_FIELD_GET(st, CMM_EP_RX_STATUS_LEN), 100u + i);
    b.wr_ok(user(0, 1000), ep_addr(ab.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
  }
  for (Reason r : {Reason::kBadKey, Reason::kSrcNodeMismatch, Reason::kNotOpen, Reason::kStrayResponse}) {
    EXPECT_EQ(a.rejects(r), 0u);
    EXPECT_EQ(b.rejects(r), 0u);
  }
  // Sender closes: receiver entry CLOSED, messages still readable, then FREE.
  b.cmd_ok(0, Cmd::kClose, ba.tx_ep);
  b.settle();
  EXPECT_EQ(b.core.ep_state(ba.tx_ep), State::kAllocated);
  EXPECT_EQ(a.core.ep_state(ba.rx_ep), State::kClosed);
  EXPECT_EQ(a.core.rxq_count(ba.rx_ep), 3u);
  a.cmd_ok(3, Cmd::kFree, ba.rx_ep);
  EXPECT_EQ(a.rejects(Reason::kRxqFlushed), 3u);
  EXPECT_EQ(a.core.ep_state(ba.rx_ep), State::kFree);
  EXPECT_TRUE(net.unroutable.empty());
}

// The counter preload pin (DV only, dv_preload_i; PinsIn::dv_preload): after
// its edge every statistic counter is kDvPreloadMargin below its cap, then
// the core counts on and saturates (REJECT_COUNT) or wraps (CMD_STATUS.COUNT).
// Pin level, so the RTL replay (cmm_rtl_directed) plays it.
TEST(CoreDvPreload, CountersLandBelowTheirCapsThenSaturateOrWrap) {
  CoreHarness h{1};
  const uint32_t m = regs::kDvPreloadMargin;
  PinsIn in;
  in.eg_ready = true;
  in.cycle = static_cast<uint32_t>(h.core.cycle());
  in.dv_preload = true;
  h.step(in);
  EXPECT_EQ(h.core.reject_count(Reason::kBadCmd), 0xFFFFFFFFu - m);
  EXPECT_EQ(h.core.table_faults(), regs::CMM_TABLE_FAULT_COUNT_MASK - m);
  EXPECT_EQ(CMM_FIELD_GET(h.cmd_status(1), CMM_CMD_STATUS_COUNT), regs::CMM_CMD_STATUS_COUNT_MASK - m);
  for (uint32_t i = 0; i <= m + 1; ++i) {
    const RegRsp r = h.wr(kernel(1), regs::CMM_CMD_OFFSET, CMM_FIELD_SET(0u, CMM_CMD_OP, 15u));
    EXPECT_EQ(r.status, u(Rsp::kReject));
  }
  EXPECT_EQ(h.core.reject_count(Reason::kBadCmd), 0xFFFFFFFFu);  // saturated, not wrapped
  const uint32_t bad_cmd = regs::CMM_REJECT_COUNT_OFFSET + 4 * static_cast<uint32_t>(Reason::kBadCmd);
  EXPECT_EQ(h.rd_ok(kernel(0), bad_cmd), 0xFFFFFFFFu);  // read through the pins: the RTL replay compares it
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), regs::CMM_TABLE_FAULT_OFFSET), CMM_TABLE_FAULT_COUNT),
            regs::CMM_TABLE_FAULT_COUNT_MASK - m);
  EXPECT_EQ(CMM_FIELD_GET(h.cmd_status(1), CMM_CMD_STATUS_COUNT), 1u);  // cap - m + (m + 2) wrapped
  EXPECT_EQ(h.core.table_faults(), regs::CMM_TABLE_FAULT_COUNT_MASK - m);  // no fault meanwhile
  h.core.reset();  // replayed as reset edges: every counter 0
  EXPECT_EQ(h.core.reject_count(Reason::kBadCmd), 0u);
  in.cycle = static_cast<uint32_t>(h.core.cycle());
  h.step(in);
  EXPECT_EQ(h.core.reject_count(Reason::kBadCmd), 0xFFFFFFFFu - m);
}

// The preload pin moves every sequence number back by the margin, so a run
// wraps them: a channel's two ends (here the test and the core) stay in step,
// nack_seq moves with tx_seq (a NACK of a DATA sent just before the wrap is
// believed) and the stored parity follows (no table fault on the next access).
TEST_F(CoreTest, DvPreloadMovesSequenceNumbersBackAcrossTheWrap) {
  const uint16_t m = static_cast<uint16_t>(regs::kDvPreloadMargin);
  static_assert(1 + regs::kDvPreloadMargin <= regs::kRxqDepth, "the DATA below fit the receive queue");
  const uint32_t rx = open_rx(0, 100, 1, 5, kKeyA);
  const uint32_t tx = open_tx(0, 101, 1, 6, kKeyB);
  h.inject(data(1, 5, 0, static_cast<uint8_t>(rx), kKeyA));
  ASSERT_EQ(h.doorbell(kernel(0), tx, 8, 0).status, u(Rsp::kOk));
  h.settle();
  h.take_egress();
  PinsIn in;
  in.eg_ready = true;
  in.cycle = static_cast<uint32_t>(h.core.cycle());
  in.dv_preload = true;
  h.step(in);
  // The counters are preloaded too: from here on, differences.
  const uint32_t nacks0 = CMM_FIELD_GET(h.cst_status(0, tx), CMM_CST_STATUS_TX_NACKS);
  const uint32_t old0 = h.rejects(Reason::kSeqOld), gap0 = h.rejects(Reason::kSeqGap);
  const uint32_t faults0 = h.core.table_faults();
  const uint16_t back = static_cast<uint16_t>(1u - m);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(rx, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_RX), back);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(tx, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_TX), back);
  // Receive side: the next m DATA in sequence cross the wrap and are queued.
  for (uint32_t i = 0; i < m; ++i) h.inject(data(1, 5, 0, static_cast<uint8_t>(rx), kKeyA));
  EXPECT_EQ(h.core.rxq_count(rx), 1u + m);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(rx, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_RX), 1u);
  // Send side: m DATA numbered back .. 0.
  for (uint32_t i = 0; i < m; ++i) ASSERT_EQ(h.doorbell(kernel(0), tx, 8, 1 + i).status, u(Rsp::kOk));
  h.settle();
  const std::vector<EgRec> eg = h.take_egress();
  ASSERT_EQ(eg.size(), m);
  for (uint32_t i = 0; i < m; ++i) EXPECT_EQ(eg[i].hdr.seq, static_cast<uint16_t>(back + i));
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(0), cst_addr(tx, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_TX), 1u);
  Header n = make_header(Opcode::kNack, kPeer, 1, 6, kNode, 0, static_cast<uint8_t>(tx));
  n.aux = u(Opcode::kData);
  n.reason = u(Reason::kRxqFull);
  n.key = kKeyB;
  n.seq = static_cast<uint16_t>(back + 1);
  n.tag = 2;
  h.inject(stamp(n));
  EXPECT_EQ(CMM_FIELD_GET(h.cst_status(0, tx), CMM_CST_STATUS_TX_NACKS), nacks0 + 1);
  EXPECT_EQ(h.rejects(Reason::kSeqOld), old0);
  EXPECT_EQ(h.rejects(Reason::kSeqGap), gap0);
  EXPECT_EQ(h.core.table_faults(), faults0);
  EXPECT_EQ(h.core.ep_state(rx), State::kOpen);
  EXPECT_EQ(h.core.ep_state(tx), State::kOpen);
}

}  // namespace
}  // namespace cmm::coretest
