// Security tests of the cycle-accurate CMM core (labels unit;security): the
// invariants I1-I7 of DESIGN.md attacked directly at the pins. Every attack
// checks the expected reason code, its counter (REJECT_COUNT on the register
// port and CmmCore::reject_count()), what is logged/raised for the owning
// agent, that nothing changed, and that the legitimate channel still works.
//
// Topology: receiver node 202 (partition 3, process 216) and sender node 204
// (partition 0, process 2202) as in the patent's FIG. 1; node 66 is an
// attacker's CMM (a real core driven by a malicious kernel agent) and the
// fabric can also be injected with arbitrary headers.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

using namespace regs;

constexpr uint8_t kR = 202, kS = 204, kX = 66;
constexpr uint8_t kRPart = 3, kSPart = 0;
constexpr uint16_t kRPid = 216, kSPid = 2202;

Key random_key(std::mt19937& rng) {
  Key k;
  for (auto& w : k) {
    // Large random words: never confusable with a legitimate small register value.
    do {
      w = static_cast<uint32_t>(rng());
    } while (w < 0x01000000u || w == kMagic);
  }
  return k;
}

void expect_log(CoreHarness& h, uint8_t part, Reason r, uint32_t ep, uint32_t opcode, bool fabric, bool exception,
                uint16_t src_node) {
  SCOPED_TRACE(std::string("errlog ") + std::string(reason_name(u(r))));
  ASSERT_GE(h.errlog_count(part), 1u);
  const ErrEntry e = h.pop_err(part);
  EXPECT_EQ(e.reason, u(r));
  EXPECT_EQ(e.ep, ep);
  EXPECT_EQ(e.opcode, opcode);
  EXPECT_EQ(e.from_fabric, fabric ? 1u : 0u);
  EXPECT_EQ(e.exception, exception ? 1u : 0u);
  EXPECT_EQ(e.src_node, src_node);
}

// Quotas summing to the table size (ALLOC reserves the others' unused quota).
Straps straps(uint16_t node) {
  Straps st;
  st.node_id = node;
  st.quota = {3, 3, 2, 4, 2, 1, 1, 0};
  return st;
}

// The packet a peer CMM would send to entry `ep` of `at`: generations stamped
// (dst_gen = the entry's, src_gen = its CST_GEN.REMOTE, 0 unless set).
Header stamped(const CoreHarness& at, Header h, uint8_t src_gen = 0) {
  if (h.dst_ep < kNumEndpoints) h.dst_gen = at.core.ep_gen(h.dst_ep);
  h.src_gen = src_gen;
  return h;
}

// A flood of one kind of event: the head entry and one more holding the repeats.
void expect_coalesced(CoreHarness& h, uint8_t part, uint32_t events) {
  const uint32_t st = h.rd_ok(kernel(part), CMM_ERRLOG_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT), 2u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST), 0u);
  EXPECT_EQ(h.rd_ok(kernel(part), CMM_ERRLOG_HEAD_REPEAT_OFFSET), 0u);  // never coalesced into the head
  const ErrEntry head = ErrEntry::decode(h.rd_ok(kernel(part), CMM_ERRLOG_HEAD_OFFSET));
  h.cmd_ok(part, Cmd::kErrlogPop);
  EXPECT_EQ(h.rd_ok(kernel(part), CMM_ERRLOG_HEAD_REPEAT_OFFSET), events - 2);
  EXPECT_EQ(ErrEntry::decode(h.rd_ok(kernel(part), CMM_ERRLOG_HEAD_OFFSET)).reason, head.reason);
}

class Security : public ::testing::Test {
 protected:
  CoreHarness r{straps(kR)}, s{straps(kS)}, x{straps(kX)};
  Net net{{&r, &s, &x}};
  std::mt19937 rng{0x5EC0DE};
  Channel ch;

  void SetUp() override {
    ch = open_channel(r, kRPart, kRPid, s, kSPart, kSPid, random_key(rng));
    ASSERT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
    ASSERT_EQ(s.core.ep_state(ch.tx_ep), State::kOpen);
    for (uint8_t p = 0; p < kNumPartitions; ++p) {
      r.wr_ok(kernel(p), CMM_IRQ_STATUS_OFFSET, 0x1F);
      s.wr_ok(kernel(p), CMM_IRQ_STATUS_OFFSET, 0x1F);
    }
  }
  Req rx_user() const { return user(kRPart, kRPid); }
  Req tx_user() const { return user(kSPart, kSPid); }

  // A header injected straight into a node's ingress (an attacker on the fabric).
  void inject(CoreHarness& at, const Header& h) {
    at.ingress.push_back(h);
    at.settle();
  }
  Header data_to_rx(const Key& k, uint16_t tag = 0) const {
    Header d = make_header(Opcode::kData, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart,
                           static_cast<uint8_t>(ch.rx_ep));
    d.len = 64;
    d.tag = tag;
    d.key = k;
    d.src_gen = ch.tx_gen;
    d.dst_gen = ch.rx_gen;
    d.seq = r.core.rx_seq(ch.rx_ep);  // the next one the receiver expects
    return d;
  }
  // The legitimate process pair still exchanges a message end to end, and the
  // DATA on the wire carries the channel's key and hardware source ids.
  void expect_channel_works(uint16_t tag) {
    SCOPED_TRACE("legitimate channel");
    r.take_verdicts();
    const size_t eg_before = s.egress.size();
    const uint32_t q = r.core.rxq_count(ch.rx_ep);
    ASSERT_LT(q, kRxqDepth);
    const uint16_t seq = s.core.tx_seq(ch.tx_ep);
    ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 40, tag).status, u(Rsp::kOk));
    s.settle();
    ASSERT_EQ(s.egress.size(), eg_before + 1);
    Header d = make_header(Opcode::kData, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart,
                           static_cast<uint8_t>(ch.rx_ep));
    d.len = 40;
    d.tag = tag;
    d.key = ch.key;
    d.src_gen = ch.tx_gen;
    d.dst_gen = ch.rx_gen;
    d.seq = seq;
    EXPECT_EQ(s.egress.back().hdr, d);
    std::vector<VdRec> vd = r.take_verdicts();
    ASSERT_EQ(vd.size(), 1u);
    EXPECT_TRUE(vd[0].accept);
    EXPECT_EQ(vd[0].reason, 0u);
    ASSERT_EQ(r.core.rxq_count(ch.rx_ep), q + 1);
    // Drain so the queue is empty again; the last message is ours.
    for (uint32_t i = 0; i < q; ++i) r.wr_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
    EXPECT_EQ(r.rd_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_TAG_OFFSET)), tag);
    r.wr_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
    EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 0u);
  }
};

// =====================================================================
// I1: no register read, at any address and privilege, returns key bits
// =====================================================================

// Puts keys of every kind into a core at node kR (peer kS simulated):
// local keys (CONNECT, SET_KEY), remote keys (accepted CONNECT), a key that
// was refused (KEY_PRESENT), and a staged key in every partition.
// keys[0..6] entry keys, keys[7..14] staged keys.
void plant_keys(CoreHarness& h, const std::vector<Key>& keys) {
  auto pid = [](uint8_t p) { return static_cast<uint16_t>(0x100 + p); };
  // p0: receive entry OPEN with a local key.
  int e = h.make_entry(0, pid(0), Dir::kRecv, kS, 0, 0);
  h.stage_key(0, keys[0]);
  h.cmd_ok(0, Cmd::kConnect, static_cast<uint32_t>(e));
  Header a = make_header(Opcode::kConnectAck, kS, 0, 0, kR, 0, static_cast<uint8_t>(e));
  a.key = keys[0];
  h.inject(stamped(h, a));
  // p1: receive entry AUTHORIZED with a key from SET_KEY.
  e = h.make_entry(1, pid(1), Dir::kRecv, kS, 1, 1);
  h.stage_key(1, keys[1]);
  h.cmd_ok(1, Cmd::kSetKey, static_cast<uint32_t>(e));
  // p2: send entry OPEN with a remote key.
  e = h.make_entry(2, pid(2), Dir::kSend, kS, 2, 2);
  Header c = make_header(Opcode::kConnect, kS, 2, 2, kR, 2, static_cast<uint8_t>(e));
  c.key = keys[2];
  h.inject(stamped(h, c));
  // p3: receive entry CONNECTING.
  e = h.make_entry(3, pid(3), Dir::kRecv, kS, 3, 3);
  h.stage_key(3, keys[3]);
  h.cmd_ok(3, Cmd::kConnect, static_cast<uint32_t>(e));
  // p4: send entry OPEN, then a second CONNECT with another key (refused).
  e = h.make_entry(4, pid(4), Dir::kSend, kS, 4, 4);
  c = stamped(h, make_header(Opcode::kConnect, kS, 4, 4, kR, 4, static_cast<uint8_t>(e)));
  c.key = keys[4];
  h.inject(c);
  c.key = keys[5];
  h.inject(c);
  // p5: receive entry OPEN holding a delivered message.
  e = h.make_entry(5, pid(5), Dir::kRecv, kS, 5, 5);
  h.stage_key(5, keys[6]);
  h.cmd_ok(5, Cmd::kConnect, static_cast<uint32_t>(e));
  a = make_header(Opcode::kConnectAck, kS, 5, 5, kR, 5, static_cast<uint8_t>(e));
  a.key = keys[6];
  h.inject(stamped(h, a));
  Header d = stamped(h, make_header(Opcode::kData, kS, 5, 5, kR, 5, static_cast<uint8_t>(e)));
  d.len = 16;
  d.key = keys[6];
  h.inject(d);
  // p6: a receive entry holding a key made by the hardware generator (seed keys[15]).
  h.seed(keys[15]);
  e = h.make_entry(6, pid(6), Dir::kRecv, kS, 6, 6);
  h.tick(regs::kKeygenCycles);
  h.wr_ok(kernel(6), CMM_CMD_OFFSET, hw_cmd_word(Cmd::kSetKey, static_cast<uint32_t>(e)));
  // Every partition: a keyless AUTHORIZED receive entry and a staged key.
  for (uint8_t p = 0; p < kNumPartitions; ++p) {
    h.make_entry(p, pid(p), Dir::kRecv, kS, p, static_cast<uint8_t>(8 + p));
    h.stage_key(p, keys[7 + p]);
  }
  h.settle();
  h.take_egress();  // CONNECT headers carry keys on the fabric: that is their job
  h.take_verdicts();
}

TEST(SecurityI1, NoReadAnywhereReturnsKeyBitsAndReadsDoNotDependOnKeys) {
  std::mt19937 rng(0x1111);
  std::vector<Key> ka, kb;
  for (int i = 0; i < 16; ++i) ka.push_back(random_key(rng));
  for (int i = 0; i < 16; ++i) kb.push_back(random_key(rng));
  // Two cores, same history, different keys.
  CoreHarness a(kR), b(kR);
  plant_keys(a, ka);
  plant_keys(b, kb);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(a.core.out(), b.core.out());
  ASSERT_EQ(a.core.cycle(), b.core.cycle());
  EXPECT_EQ(a.rejects(Reason::kKeyPresent), 1u);
  std::vector<uint32_t> words;
  for (const auto* set : {&ka, &kb}) {
    for (const Key& k : *set) words.insert(words.end(), k.begin(), k.end());
    const Key hw = hw_key_ref((*set)[15], 0, kR);  // the generator's key: never readable either
    words.insert(words.end(), hw.begin(), hw.end());
  }
  std::sort(words.begin(), words.end());

  // Every word address of the register space, read by the kernel agent and by
  // a user process (owning that partition's endpoints) of every partition,
  // back to back (one request per cycle). Both cores get the same inputs.
  uint64_t reads = 0, ok = 0, key_hits = 0, mismatches = 0;
  uint32_t first_bad = 0xFFFFFFFFu;
  PinsIn in;
  in.eg_ready = true;
  in.reg_req_valid = true;
  in.reg_req_write = false;
  for (uint8_t p = 0; p < kNumPartitions; ++p) {
    for (Priv priv : {Priv::kKernel, Priv::kUser}) {
      in.reg_req_part = p;
      in.reg_req_priv = static_cast<uint8_t>(priv);
      in.reg_req_pid = static_cast<uint16_t>(0x100 + p);
      for (uint32_t addr = 0; addr < (1u << kAddrBits); addr += 4) {
        in.reg_req_addr = addr;
        a.step(in);
        b.step(in);
        const PinsOut& oa = a.core.out();
        ++reads;
        ok += oa.reg_rsp_valid && oa.reg_rsp_status == u(Rsp::kOk);
        const bool hit = std::binary_search(words.begin(), words.end(), oa.reg_rsp_rdata) ||
                         std::binary_search(words.begin(), words.end(), b.core.out().reg_rsp_rdata);
        const bool diff = !(oa == b.core.out()) || !oa.reg_rsp_valid;
        key_hits += hit;
        mismatches += diff;
        if ((hit || diff) && first_bad == 0xFFFFFFFFu) first_bad = addr;
      }
    }
  }
  EXPECT_EQ(reads, 16ull << (kAddrBits - 2));
  EXPECT_EQ(key_hits, 0u) << "first at 0x" << std::hex << first_bad;
  EXPECT_EQ(mismatches, 0u) << "first at 0x" << std::hex << first_bad;
  // Not vacuous: kernel bank + counters + own CST entries + own pages are readable.
  EXPECT_GT(ok, kNumPartitions * 64u);
  EXPECT_EQ(a.core.reject_count(Reason::kBadAddr), b.core.reject_count(Reason::kBadAddr));
  EXPECT_GT(a.core.reject_count(Reason::kBadAddr), 1000000u);
  EXPECT_GT(a.core.reject_count(Reason::kDenied), 1000u);

  // Reads changed no key: every stored key is still there, every staged key
  // is still staged (SET_KEY on the keyless entry of each partition stores it).
  auto check_keys = [](CoreHarness& h, const std::vector<Key>& k) {
    EXPECT_TRUE(h.core.key_equals_for_test(0, k[0]));
    EXPECT_TRUE(h.core.key_equals_for_test(1, k[1]));
    EXPECT_TRUE(h.core.key_equals_for_test(2, k[2]));
    EXPECT_TRUE(h.core.key_equals_for_test(3, k[3]));
    EXPECT_TRUE(h.core.key_equals_for_test(4, k[4]));
    EXPECT_TRUE(h.core.key_equals_for_test(5, k[6]));
    for (uint32_t e = 0; e < kNumEndpoints; ++e) EXPECT_FALSE(h.core.key_equals_for_test(e, k[5]));
    EXPECT_TRUE(h.core.key_equals_for_test(6, hw_key_ref(k[15], 0, kR)));
    for (uint8_t p = 0; p < kNumPartitions; ++p) {
      h.cmd_ok(p, Cmd::kSetKey, 7u + p);
      EXPECT_TRUE(h.core.key_equals_for_test(7u + p, k[7 + p])) << int(p);
    }
  };
  check_keys(a, ka);
  check_keys(b, kb);
}

TEST(SecurityI1, KeyStagingAndCommandRegistersReadZero) {
  CoreHarness h(kR);
  std::mt19937 rng(7);
  for (uint8_t p = 0; p < kNumPartitions; ++p) {
    const Key k = random_key(rng);
    h.stage_key(p, k);
    for (uint32_t i = 0; i < kKeyWords; ++i) {
      RegRsp rk = h.rd(kernel(p), CMM_KEY_OFFSET + 4 * i);
      EXPECT_EQ(rk.status, u(Rsp::kOk));
      EXPECT_EQ(rk.rdata, 0u);
      RegRsp ru = h.rd(user(p, 1), CMM_KEY_OFFSET + 4 * i);
      EXPECT_EQ(ru.status, u(Rsp::kDenied));
      EXPECT_EQ(ru.rdata, 0u);
    }
    EXPECT_EQ(h.rd_ok(kernel(p), CMM_CMD_OFFSET), 0u);
  }
  EXPECT_EQ(h.rejects(Reason::kDenied), kNumPartitions * kKeyWords);
}

TEST_F(Security, I1ChannelRegistersShowKeyStateButNoKeyBits) {
  // The only key-related bits readable are valid and origin.
  const uint32_t rc = r.cst_ctrl(kRPart, ch.rx_ep);
  EXPECT_EQ(rc, (u(State::kOpen) << CMM_CST_CTRL_STATE_LSB) | (1u << CMM_CST_CTRL_KEY_VALID_LSB) |
                    (u(Origin::kLocal) << CMM_CST_CTRL_KEY_ORIGIN_LSB) |
                    (static_cast<uint32_t>(kRPart) << CMM_CST_CTRL_OWNER_PART_LSB));
  const uint32_t sc = s.cst_ctrl(kSPart, ch.tx_ep);
  EXPECT_EQ(sc, u(Dir::kSend) | (u(State::kOpen) << CMM_CST_CTRL_STATE_LSB) | (1u << CMM_CST_CTRL_KEY_VALID_LSB) |
                    (u(Origin::kRemote) << CMM_CST_CTRL_KEY_ORIGIN_LSB));
}

// =====================================================================
// I2: DATA is delivered only when ids and key match
// =====================================================================

TEST_F(Security, I2ForgedKeysAreRefused) {
  std::vector<Key> forged;
  forged.push_back(random_key(rng));
  forged.push_back(Key{});
  for (uint32_t w = 0; w < kKeyWords; ++w) {
    Key k = ch.key;
    k[w] ^= 1u << (7 * w);  // one bit
    forged.push_back(k);
  }
  // The key of another channel of the same pair of partitions.
  Channel other = open_channel(r, kRPart, kRPid, s, kSPart, kSPid, random_key(rng));
  forged.push_back(other.key);
  r.wr_ok(kernel(kRPart), CMM_IRQ_STATUS_OFFSET, 0x1F);
  r.wr_ok(kernel(kRPart), CMM_IRQ_ENABLE_OFFSET, bit(Irq::kErr));
  s.wr_ok(kernel(kSPart), CMM_IRQ_STATUS_OFFSET, 0x1F);
  uint32_t n = 0;
  for (const Key& k : forged) {
    SCOPED_TRACE(n);
    r.take_verdicts();
    inject(r, data_to_rx(k, static_cast<uint16_t>(0xF00 + n)));
    ++n;
    std::vector<VdRec> vd = r.take_verdicts();
    ASSERT_EQ(vd.size(), 1u);
    EXPECT_FALSE(vd[0].accept);
    EXPECT_EQ(vd[0].reason, u(Reason::kBadKey));
    EXPECT_EQ(r.rejects(Reason::kBadKey), n);
    expect_log(r, kRPart, Reason::kBadKey, ch.rx_ep, u(Opcode::kData), true, false, kS);
    EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 0u);
    EXPECT_EQ(r.core.out().irq, 1u << kRPart);
    // The NACK went to the claimed source, whose CMM sees it names a DATA it
    // never sent (SEQ_OLD): the forgery does not count as the sender's refusal.
    const uint32_t ts = s.rd_ok(tx_user(), ep_addr(ch.tx_ep, CMM_EP_TX_STATUS_OFFSET));
    EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_REASON), 0u);
    EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_NACKS), 0u);
    EXPECT_EQ(s.rejects(Reason::kSeqOld), n);
  }
  EXPECT_EQ(r.stat(CmmCore::kStatDataDelivered), 0u);
  EXPECT_EQ(s.irq_status(kSPart), 0u);
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  expect_channel_works(1);
  EXPECT_EQ(r.rejects(Reason::kBadKey), n);
}

TEST_F(Security, I2RightKeyFromTheWrongSourceIsRefused) {
  // Even with the channel key (say it leaked), a DATA whose hardware-stamped
  // source is not the CST's remote is refused.
  struct Case {
    uint16_t node;
    uint8_t part, ep;
    Reason why;
  };
  const uint8_t sep = static_cast<uint8_t>(ch.tx_ep);
  const Case cases[] = {
      {kX, kSPart, sep, Reason::kSrcNodeMismatch},
      {kR, kSPart, sep, Reason::kSrcNodeMismatch},  // a partition of the receiver's own node
      {kS, 1, sep, Reason::kSrcPartMismatch},
      {kS, 15, sep, Reason::kSrcPartMismatch},
      {kS, kSPart, static_cast<uint8_t>(sep + 1), Reason::kSrcEpMismatch},
  };
  uint16_t tag = 0x500;
  for (const Case& c : cases) {
    SCOPED_TRACE(reason_name(u(c.why)));
    const uint32_t before = r.rejects(c.why);
    Header d = data_to_rx(ch.key, tag++);
    d.src_node = c.node, d.src_part = c.part, d.src_ep = c.ep;
    r.take_verdicts();
    inject(r, d);
    EXPECT_EQ(r.rejects(c.why), before + 1);
    std::vector<VdRec> vd = r.take_verdicts();
    ASSERT_EQ(vd.size(), 1u);
    EXPECT_FALSE(vd[0].accept);
    EXPECT_EQ(vd[0].reason, u(c.why));
    expect_log(r, kRPart, c.why, ch.rx_ep, u(Opcode::kData), true, false, c.node);
    EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 0u);
  }
  EXPECT_EQ(r.irq_status(kRPart), bit(Irq::kErr));
  // A real attacker CMM cannot even produce such a DATA: its agent's send
  // entry pointing at the receiver never gets a key (I3), so the doorbell fails.
  const int xe = x.make_entry(1, 7, Dir::kSend, kR, kRPart, static_cast<uint8_t>(ch.rx_ep));
  ASSERT_GE(xe, 0);
  EXPECT_EQ(x.doorbell(user(1, 7), static_cast<uint32_t>(xe), 64, 1).status, u(Rsp::kReject));
  EXPECT_EQ(x.rd_ok(user(1, 7), ep_addr(static_cast<uint32_t>(xe), CMM_EP_TX_STATUS_OFFSET)), u(Reason::kNotOpen));
  x.stage_key(1, ch.key);
  x.cmd_refused(1, Cmd::kSetKey, static_cast<uint32_t>(xe), Reason::kWrongDir);
  x.stage_key(1, ch.key);
  x.cmd_refused(1, Cmd::kConnect, static_cast<uint32_t>(xe), Reason::kWrongDir);
  EXPECT_FALSE(x.core.key_valid(static_cast<uint32_t>(xe)));
  EXPECT_EQ(x.stat(CmmCore::kStatDataSent), 0u);
  expect_channel_works(2);
}

TEST_F(Security, I2OldKeyIsUselessAfterCloseAndReopen) {
  const Key old = ch.key;
  r.cmd_ok(kRPart, Cmd::kClose, ch.rx_ep);
  r.settle();
  EXPECT_EQ(s.core.ep_state(ch.tx_ep), State::kClosed);
  EXPECT_FALSE(s.core.key_valid(ch.tx_ep));
  EXPECT_FALSE(r.core.key_valid(ch.rx_ep));
  // Replay of the old key while the entry is ALLOCATED.
  inject(r, data_to_rx(old, 1));
  EXPECT_EQ(r.rejects(Reason::kNotOpen), 1u);
  expect_log(r, kRPart, Reason::kNotOpen, ch.rx_ep, u(Opcode::kData), true, false, kS);
  // The sender cannot send on a closed channel.
  EXPECT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 2).status, u(Rsp::kReject));
  EXPECT_EQ(s.rd_ok(tx_user(), ep_addr(ch.tx_ep, CMM_EP_TX_STATUS_OFFSET)) & 0xFF, u(Reason::kNotOpen));
  // Both agents release and a new channel is built with a new key.
  r.cmd_ok(kRPart, Cmd::kFree, ch.rx_ep);
  s.cmd_ok(kSPart, Cmd::kFree, ch.tx_ep);
  ch = open_channel(r, kRPart, kRPid, s, kSPart, kSPid, random_key(rng));
  inject(r, data_to_rx(old, 3));
  EXPECT_EQ(r.rejects(Reason::kBadKey), 1u);
  expect_channel_works(4);
}

// =====================================================================
// I3: a key enters a send entry only through a matching CONNECT, only when empty
// =====================================================================

TEST_F(Security, I3ConnectToAnEntryItsAgentNeverAuthorized) {
  // The sender's agent allocated s2 (naming the receiver) but has not authorized it.
  const int s2 = s.make_entry(1, 3000, Dir::kSend, kR, kRPart, 0, /*authorize=*/false);
  ASSERT_GE(s2, 0);
  const int r2 = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, 1, static_cast<uint8_t>(s2), true,
                              s.gen(1, static_cast<uint32_t>(s2)));
  ASSERT_GE(r2, 0);
  s.wr_ok(kernel(1), cst_addr(static_cast<uint32_t>(s2), CMM_CST_REMOTE_OFFSET),
          remote_word(kR, kRPart, static_cast<uint8_t>(r2)));
  s.set_remote_gen(1, static_cast<uint32_t>(s2), r.gen(kRPart, static_cast<uint32_t>(r2)));
  const Key k = random_key(rng);
  r.stage_key(kRPart, k);
  r.cmd_ok(kRPart, Cmd::kConnect, static_cast<uint32_t>(r2));
  r.settle();
  // Refused at the sender: NOT_OPEN, nothing stored, the agent told.
  EXPECT_EQ(s.rejects(Reason::kNotOpen), 1u);
  EXPECT_FALSE(s.core.key_valid(static_cast<uint32_t>(s2)));
  EXPECT_EQ(s.core.ep_state(static_cast<uint32_t>(s2)), State::kAllocated);
  expect_log(s, 1, Reason::kNotOpen, static_cast<uint32_t>(s2), u(Opcode::kConnect), true, false, kR);
  // The receiver's entry is back to AUTHORIZED without key, reason recorded.
  EXPECT_EQ(r.core.ep_state(static_cast<uint32_t>(r2)), State::kAuthorized);
  EXPECT_FALSE(r.core.key_valid(static_cast<uint32_t>(r2)));
  EXPECT_EQ(CMM_FIELD_GET(r.cst_status(kRPart, static_cast<uint32_t>(r2)), CMM_CST_STATUS_LAST_REASON),
            u(Reason::kNotOpen));
  EXPECT_EQ(r.irq_status(kRPart), bit(Irq::kConn) | bit(Irq::kErr));
  expect_log(r, kRPart, Reason::kNotOpen, static_cast<uint32_t>(r2), u(Opcode::kNack), true, false, kS);
  // Once authorized, the same CONNECT works.
  s.cmd_ok(1, Cmd::kAuthorize, static_cast<uint32_t>(s2));
  r.stage_key(kRPart, k);
  r.cmd_ok(kRPart, Cmd::kConnect, static_cast<uint32_t>(r2));
  r.settle();
  EXPECT_EQ(s.core.ep_state(static_cast<uint32_t>(s2)), State::kOpen);
  EXPECT_TRUE(s.core.key_equals_for_test(static_cast<uint32_t>(s2), k));
  EXPECT_EQ(r.core.ep_state(static_cast<uint32_t>(r2)), State::kOpen);
  EXPECT_EQ(s.doorbell(user(1, 3000), static_cast<uint32_t>(s2), 8, 9).status, u(Rsp::kOk));
  s.settle();
  EXPECT_EQ(r.core.rxq_count(static_cast<uint32_t>(r2)), 1u);
  expect_channel_works(5);
}

TEST_F(Security, I3ConnectFromTheWrongSourceStoresNothing) {
  // Sender partition 1 authorized s3 for receiver endpoint r3 of partition 3 on node 202.
  const int r3 = r.alloc(kRPart);
  ASSERT_GE(r3, 0);
  const int s3 = s.make_entry(1, 3001, Dir::kSend, kR, kRPart, static_cast<uint8_t>(r3), true,
                              r.gen(kRPart, static_cast<uint32_t>(r3)));
  ASSERT_GE(s3, 0);
  const uint8_t se = static_cast<uint8_t>(s3);
  struct Attempt {
    CoreHarness* node;
    uint8_t part;
    Reason why;
  };
  // Real CMMs of attackers (their CONNECT carries their hardware-stamped ids).
  const Attempt attempts[] = {
      {&x, kRPart, Reason::kSrcNodeMismatch},  // another node
      {&r, 4, Reason::kSrcPartMismatch},       // another partition of the right node
      {&r, kRPart, Reason::kSrcEpMismatch},    // the right partition, another endpoint
  };
  for (const Attempt& a : attempts) {
    SCOPED_TRACE(reason_name(u(a.why)));
    const int ae = a.node->make_entry(a.part, 1, Dir::kRecv, kS, 1, se);
    ASSERT_GE(ae, 0);
    const Key k = random_key(rng);
    a.node->stage_key(a.part, k);
    a.node->cmd_ok(a.part, Cmd::kConnect, static_cast<uint32_t>(ae));
    a.node->settle();
    EXPECT_EQ(s.rejects(a.why), 1u);
    EXPECT_FALSE(s.core.key_valid(static_cast<uint32_t>(s3)));
    EXPECT_EQ(s.core.ep_state(static_cast<uint32_t>(s3)), State::kAuthorized);
    expect_log(s, 1, a.why, static_cast<uint32_t>(s3), u(Opcode::kConnect), true, false, a.node->node());
    // The NACK went to the attacker without a key (it is not the entry's
    // peer): its CMM cannot believe it and the entry stays CONNECTING.
    const uint32_t unauth = a.node->rejects(Reason::kUnauthResponse);
    EXPECT_GE(unauth, 1u);
    EXPECT_EQ(a.node->core.ep_state(static_cast<uint32_t>(ae)), State::kConnecting);
    // Its CLOSE is refused the same way (ids), and logged again.
    a.node->cmd_ok(a.part, Cmd::kClose, static_cast<uint32_t>(ae));
    a.node->settle();
    EXPECT_EQ(s.rejects(a.why), 2u);
    expect_log(s, 1, a.why, static_cast<uint32_t>(s3), u(Opcode::kClose), true, false, a.node->node());
    EXPECT_EQ(s.core.ep_state(static_cast<uint32_t>(s3)), State::kAuthorized);
    a.node->cmd_ok(a.part, Cmd::kFree, static_cast<uint32_t>(ae));
    a.node->clear_errlog(a.part);
  }
  // The legitimate receiver endpoint r3 connects.
  const Key k = random_key(rng);
  r.wr_ok(kernel(kRPart), cst_addr(static_cast<uint32_t>(r3), CMM_CST_REMOTE_OFFSET), remote_word(kS, 1, se));
  r.set_remote_gen(kRPart, static_cast<uint32_t>(r3), s.gen(1, static_cast<uint32_t>(s3)));
  r.cmd_ok(kRPart, Cmd::kAuthorize, static_cast<uint32_t>(r3));
  r.stage_key(kRPart, k);
  r.cmd_ok(kRPart, Cmd::kConnect, static_cast<uint32_t>(r3));
  r.settle();
  EXPECT_EQ(s.core.ep_state(static_cast<uint32_t>(s3)), State::kOpen);
  EXPECT_TRUE(s.core.key_equals_for_test(static_cast<uint32_t>(s3), k));
  EXPECT_EQ(r.core.ep_state(static_cast<uint32_t>(r3)), State::kOpen);
  expect_channel_works(6);
}

TEST_F(Security, I3SecondConnectToAnOpenSendEntryIsKeyPresent) {
  const uint8_t se = static_cast<uint8_t>(ch.tx_ep), re = static_cast<uint8_t>(ch.rx_ep);
  // From the right source ids (a replay, or a forged re-key) and from another node.
  Header c = make_header(Opcode::kConnect, kR, kRPart, re, kS, kSPart, se);
  c.key = random_key(rng);
  c.tag = 0x77;
  inject(s, c);
  c.src_node = kX;
  c.key = random_key(rng);
  inject(s, c);
  EXPECT_EQ(s.rejects(Reason::kKeyPresent), 2u);
  EXPECT_TRUE(s.core.key_equals_for_test(ch.tx_ep, ch.key));
  EXPECT_EQ(s.core.key_origin(ch.tx_ep), u(Origin::kRemote));
  EXPECT_EQ(s.core.ep_state(ch.tx_ep), State::kOpen);
  expect_log(s, kSPart, Reason::kKeyPresent, ch.tx_ep, u(Opcode::kConnect), true, false, kR);
  expect_log(s, kSPart, Reason::kKeyPresent, ch.tx_ep, u(Opcode::kConnect), true, false, kX);
  // The first NACK reached the receiver's open entry: not waiting, a stray response.
  EXPECT_EQ(r.rejects(Reason::kStrayResponse), 1u);
  EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
  // The second went to node 66.
  EXPECT_EQ(x.rejects(Reason::kStrayResponse), 1u);
  expect_channel_works(7);
}

// =====================================================================
// I6: valid-bit exclusion
// =====================================================================

TEST_F(Security, I6RemoteConnectOntoALocalKeyRaisesAnException) {
  r.wr_ok(kernel(kRPart), CMM_IRQ_ENABLE_OFFSET, bit(Irq::kErr));
  // The attacker's agent on node 66 builds a receive entry naming the victim's
  // receive endpoint and has its CMM send CONNECT{its key}.
  const int xe = x.make_entry(2, 1, Dir::kRecv, kR, kRPart, static_cast<uint8_t>(ch.rx_ep));
  const Key evil = random_key(rng);
  x.stage_key(2, evil);
  x.cmd_ok(2, Cmd::kConnect, static_cast<uint32_t>(xe));
  x.settle();
  EXPECT_EQ(r.rejects(Reason::kKeyLocked), 1u);
  expect_log(r, kRPart, Reason::kKeyLocked, ch.rx_ep, u(Opcode::kConnect), true, /*exception=*/true, kX);
  EXPECT_EQ(r.irq_status(kRPart), bit(Irq::kErr) | bit(Irq::kExc));
  EXPECT_EQ(r.core.out().irq, 1u << kRPart);
  // Entry unchanged.
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  EXPECT_FALSE(r.core.key_equals_for_test(ch.rx_ep, evil));
  EXPECT_EQ(r.core.key_origin(ch.rx_ep), u(Origin::kLocal));
  EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_REMOTE_OFFSET)),
            remote_word(kS, kSPart, static_cast<uint8_t>(ch.tx_ep)));
  // The attacker was NACKed, without the victim's key (it is not the peer).
  EXPECT_EQ(x.core.ep_state(static_cast<uint32_t>(xe)), State::kConnecting);
  EXPECT_EQ(x.rejects(Reason::kUnauthResponse), 1u);
  // The same from forged fabric headers with the legitimate peer's ids: still KEY_LOCKED.
  Header c = make_header(Opcode::kConnect, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart,
                         static_cast<uint8_t>(ch.rx_ep));
  c.key = evil;
  inject(r, c);
  EXPECT_EQ(r.rejects(Reason::kKeyLocked), 2u);
  expect_log(r, kRPart, Reason::kKeyLocked, ch.rx_ep, u(Opcode::kConnect), true, true, kS);
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  // The old key still delivers; the attacker's key does not.
  expect_channel_works(8);
  inject(r, data_to_rx(evil, 9));
  EXPECT_EQ(r.rejects(Reason::kBadKey), 1u);
  EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 0u);
  // A receive entry whose key came from SET_KEY (not yet connected) is protected too.
  const int r2 = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, kSPart, 9);
  const Key k2 = random_key(rng);
  r.stage_key(kRPart, k2);
  r.cmd_ok(kRPart, Cmd::kSetKey, static_cast<uint32_t>(r2));
  c.dst_ep = static_cast<uint8_t>(r2);
  c.src_ep = 9;
  inject(r, c);
  EXPECT_EQ(r.rejects(Reason::kKeyLocked), 3u);
  EXPECT_TRUE(r.core.key_equals_for_test(static_cast<uint32_t>(r2), k2));
  EXPECT_EQ(r.core.ep_state(static_cast<uint32_t>(r2)), State::kAuthorized);
}

TEST_F(Security, I6LocalKeyCommandOnARemoteKeyRaisesAnException) {
  s.wr_ok(kernel(kSPart), CMM_IRQ_ENABLE_OFFSET, 0x1F);
  const size_t eg_before = s.egress.size();
  uint32_t n = 0;
  for (Cmd op : {Cmd::kSetKey, Cmd::kConnect}) {
    SCOPED_TRACE(cmd_name(u(op)));
    s.stage_key(kSPart, random_key(rng));
    RegRsp rsp = s.cmd(kSPart, op, ch.tx_ep);
    ++n;
    EXPECT_EQ(rsp.status, u(Rsp::kReject));
    const uint32_t st = s.cmd_status(kSPart);
    EXPECT_EQ(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON), u(Reason::kKeyLocked));
    EXPECT_EQ(CMM_FIELD_GET(st, CMM_CMD_STATUS_EP), ch.tx_ep);
    EXPECT_EQ(s.rejects(Reason::kKeyLocked), n);
    expect_log(s, kSPart, Reason::kKeyLocked, ch.tx_ep, 0, false, /*exception=*/true, kS);
    EXPECT_EQ(s.irq_status(kSPart), bit(Irq::kErr) | bit(Irq::kExc));
    EXPECT_EQ(s.core.out().irq, 1u << kSPart);
    EXPECT_EQ(s.rd_ok(kernel(kSPart), CMM_EXC_COUNT_OFFSET), n);
    s.wr_ok(kernel(kSPart), CMM_IRQ_STATUS_OFFSET, bit(Irq::kErr) | bit(Irq::kExc));
    // Entry unchanged.
    EXPECT_TRUE(s.core.key_equals_for_test(ch.tx_ep, ch.key));
    EXPECT_EQ(s.core.key_origin(ch.tx_ep), u(Origin::kRemote));
    EXPECT_EQ(s.core.ep_state(ch.tx_ep), State::kOpen);
  }
  s.settle();
  EXPECT_EQ(s.egress.size(), eg_before);  // no CONNECT went out
  EXPECT_EQ(s.stat(CmmCore::kStatConnectSent), 0u);
  // DATA still carries the old key and is delivered.
  expect_channel_works(10);
}

// =====================================================================
// I5: agents and processes are confined
// =====================================================================

TEST_F(Security, I5UserProcessCannotTouchAnotherProcesssEndpoint) {
  // One message waiting for process 216.
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 12, 0x33).status, u(Rsp::kOk));
  s.settle();
  ASSERT_EQ(r.core.rxq_count(ch.rx_ep), 1u);
  struct Acc {
    uint32_t off;
    bool write;
  };
  const Acc accs[] = {{CMM_EP_DOORBELL_OFFSET, true},   {CMM_EP_TX_STATUS_OFFSET, false},
                      {CMM_EP_TX_SENT_OFFSET, false},   {CMM_EP_RX_STATUS_OFFSET, false},
                      {CMM_EP_RX_TAG_OFFSET, false},    {CMM_EP_RX_POP_OFFSET, true},
                      {CMM_TX_BUF_OFFSET, true},        {CMM_RX_BUF_OFFSET, false},
                      {CMM_RX_BUF_OFFSET + 0x3FC, false}};
  const uint32_t nacc = sizeof accs / sizeof accs[0];
  // Another process of the same partition, and the same pid in another partition.
  for (Req intruder : {user(kRPart, 999), user(5, kRPid), user(kRPart, 0)}) {
    SCOPED_TRACE(intruder.pid);
    const uint32_t before = r.rejects(Reason::kDenied);
    r.clear_errlog(intruder.part);
    for (const Acc& a : accs) {
      RegRsp rsp = r.access(intruder, a.write, ep_addr(ch.rx_ep, a.off), doorbell_word(8, 1));
      EXPECT_EQ(rsp.status, u(Rsp::kDenied)) << std::hex << a.off;
      EXPECT_EQ(rsp.rdata, 0u);
      EXPECT_FALSE(rsp.buf);
    }
    EXPECT_EQ(r.rejects(Reason::kDenied), before + nacc);
    // The flood of one kind is coalesced.
    expect_coalesced(r, intruder.part, nacc);
    expect_log(r, intruder.part, Reason::kDenied, ch.rx_ep, 0, false, false, kR);
    EXPECT_EQ(r.irq_status(intruder.part) & bit(Irq::kErr), bit(Irq::kErr));
    EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 1u);  // the RX_POP did nothing
  }
  // The owner still reads its message.
  EXPECT_EQ(r.rd_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_TAG_OFFSET)), 0x33u);
  r.wr_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
  // Sender side: another process rings the doorbell: DENIED, nothing sent.
  const size_t eg_before = s.egress.size();
  EXPECT_EQ(s.doorbell(user(kSPart, kSPid + 1), ch.tx_ep, 8, 1).status, u(Rsp::kDenied));
  EXPECT_EQ(s.doorbell(user(1, kSPid), ch.tx_ep, 8, 1).status, u(Rsp::kDenied));
  s.settle();
  EXPECT_EQ(s.egress.size(), eg_before);
  EXPECT_EQ(s.rejects(Reason::kDenied), 2u);
  EXPECT_EQ(s.rd_ok(tx_user(), ep_addr(ch.tx_ep, CMM_EP_TX_SENT_OFFSET)), 1u);
  expect_log(s, kSPart, Reason::kDenied, ch.tx_ep, 0, false, false, kS);
  expect_log(s, 1, Reason::kDenied, ch.tx_ep, 0, false, false, kS);
  expect_channel_works(11);
}

TEST_F(Security, I5KernelAgentCannotTouchAnotherPartitionsEntries) {
  const Req k5 = kernel(5);
  const uint32_t e = ch.rx_ep;
  const uint32_t ctrl_before = r.cst_ctrl(kRPart, e);
  const uint32_t before = r.rejects(Reason::kDenied);
  uint32_t n = 0;
  // CST window: reads and writes.
  for (uint32_t off : {CMM_CST_CTRL_OFFSET, CMM_CST_OWNER_OFFSET, CMM_CST_REMOTE_OFFSET, CMM_CST_STATUS_OFFSET}) {
    RegRsp rd = r.rd(k5, cst_addr(e, off));
    EXPECT_EQ(rd.status, u(Rsp::kDenied));
    EXPECT_EQ(rd.rdata, 0u);
    EXPECT_EQ(r.wr(k5, cst_addr(e, off), 0xFFFFFFFFu).status, u(Rsp::kDenied));
    n += 2;
  }
  EXPECT_EQ(r.rejects(Reason::kDenied), before + n);
  // Commands on the foreign endpoint: REJECT with CMD_STATUS DENIED, logged.
  for (Cmd op : {Cmd::kAuthorize, Cmd::kSetKey, Cmd::kConnect, Cmd::kClose, Cmd::kFree}) {
    r.stage_key(5, random_key(rng));
    r.cmd_refused(5, op, e, Reason::kDenied);
    EXPECT_EQ(CMM_FIELD_GET(r.cmd_status(5), CMM_CMD_STATUS_EP), e);
    ++n;
  }
  // Its endpoint page.
  EXPECT_EQ(r.rd(k5, ep_addr(e, CMM_EP_RX_STATUS_OFFSET)).status, u(Rsp::kDenied));
  EXPECT_EQ(r.wr(k5, ep_addr(e, CMM_EP_RX_POP_OFFSET), 0).status, u(Rsp::kDenied));
  EXPECT_EQ(r.rd(k5, ep_addr(e, CMM_RX_BUF_OFFSET)).status, u(Rsp::kDenied));
  n += 3;
  // A free entry belongs to no partition: denied too.
  EXPECT_EQ(r.rd(k5, cst_addr(15, CMM_CST_CTRL_OFFSET)).status, u(Rsp::kDenied));
  n += 1;
  EXPECT_EQ(r.rejects(Reason::kDenied), before + n);
  expect_coalesced(r, 5, n);
  expect_log(r, 5, Reason::kDenied, e, 0, false, false, kR);
  EXPECT_EQ(r.irq_status(5), bit(Irq::kErr));
  // Nothing changed for the owner, who was not disturbed.
  EXPECT_EQ(r.cst_ctrl(kRPart, e), ctrl_before);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(e, CMM_CST_OWNER_OFFSET)), kRPid);
  EXPECT_TRUE(r.core.key_equals_for_test(e, ch.key));
  EXPECT_EQ(r.errlog_count(kRPart), 0u);
  EXPECT_EQ(r.irq_status(kRPart), 0u);
  // Sender side: another partition's agent tries to close or re-point the send entry.
  const size_t eg_before = s.egress.size();
  s.cmd_refused(1, Cmd::kClose, ch.tx_ep, Reason::kDenied);
  s.cmd_refused(1, Cmd::kFree, ch.tx_ep, Reason::kDenied);
  EXPECT_EQ(s.wr(kernel(1), cst_addr(ch.tx_ep, CMM_CST_REMOTE_OFFSET), remote_word(kX, 1, 1)).status,
            u(Rsp::kDenied));
  EXPECT_EQ(s.rejects(Reason::kDenied), 3u);
  s.settle();
  EXPECT_EQ(s.core.ep_state(ch.tx_ep), State::kOpen);
  EXPECT_EQ(s.egress.size(), eg_before);  // no CLOSE went out
  expect_channel_works(12);
}

TEST_F(Security, I5UserProcessCannotUseKernelRegisters) {
  const Req u3 = rx_user();
  std::vector<uint32_t> kregs = {CMM_PART_INFO_OFFSET,      CMM_CMD_OFFSET,           CMM_CMD_STATUS_OFFSET,
                                 CMM_IRQ_STATUS_OFFSET,     CMM_IRQ_ENABLE_OFFSET,    CMM_MGMT_DST_OFFSET,
                                 CMM_MGMT_RX_STATUS_OFFSET, CMM_ERRLOG_STATUS_OFFSET, CMM_ERRLOG_HEAD_OFFSET};
  for (uint32_t i = 0; i < CMM_KEY_COUNT; ++i) kregs.push_back(CMM_KEY_OFFSET + CMM_KEY_STRIDE * i);
  for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) kregs.push_back(CMM_MGMT_TX_OFFSET + CMM_MGMT_TX_STRIDE * i);
  for (uint32_t i = 0; i < CMM_MGMT_RX_COUNT; ++i) kregs.push_back(CMM_MGMT_RX_OFFSET + CMM_MGMT_RX_STRIDE * i);
  for (uint32_t i = 0; i < CMM_REJECT_COUNT_COUNT; ++i)
    kregs.push_back(CMM_REJECT_COUNT_OFFSET + CMM_REJECT_COUNT_STRIDE * i);
  for (uint32_t i = 0; i < CMM_STAT_COUNT; ++i) kregs.push_back(stat_addr(i));
  // Its own endpoint's CST entry is kernel-only too, but for the read-only
  // view of the cst_ep_ro registers (checked below and in I5ChannelView*).
  for (const RegRule& rr : kRegRules)
    if (rr.win == RegWin::kCst && rr.who == Who::kCst) kregs.push_back(cst_addr(ch.rx_ep, rr.offset));
  ASSERT_GE(kregs.size(), 4u);
  r.wr_ok(kernel(kRPart), CMM_IRQ_ENABLE_OFFSET, bit(Irq::kErr) | bit(Irq::kRx));
  const uint32_t cmd_status_before = r.cmd_status(kRPart);
  const uint32_t before = r.rejects(Reason::kDenied);
  for (uint32_t a : kregs) {
    RegRsp rd = r.rd(u3, a);
    EXPECT_EQ(rd.status, u(Rsp::kDenied)) << std::hex << a;
    EXPECT_EQ(rd.rdata, 0u);
    // Writes with data that would do damage: CLOSE its endpoint, clear IRQs, ...
    EXPECT_EQ(r.wr(u3, a, a == CMM_CMD_OFFSET ? cmd_word(Cmd::kClose, ch.rx_ep) : 0xFFFFFFFFu).status,
              u(Rsp::kDenied))
        << std::hex << a;
  }
  uint32_t n = 2 * static_cast<uint32_t>(kregs.size());
  // The owner's view of its CST entry is read-only: every write is DENIED.
  for (uint32_t off : {CMM_CST_CTRL_OFFSET, CMM_CST_REMOTE_OFFSET, CMM_CST_STATUS_OFFSET}) {
    EXPECT_EQ(r.wr(u3, cst_addr(ch.rx_ep, off), 0).status, u(Rsp::kDenied)) << std::hex << off;
    ++n;
  }
  EXPECT_EQ(r.rejects(Reason::kDenied), before + n);
  // Nothing happened.
  EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
  EXPECT_EQ(r.cmd_status(kRPart), cmd_status_before);  // no command executed
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_IRQ_ENABLE_OFFSET), bit(Irq::kErr) | bit(Irq::kRx));
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_REMOTE_OFFSET)),
            remote_word(kS, kSPart, static_cast<uint8_t>(ch.tx_ep)));
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_MGMT_TX_OFFSET), 0u);
  // The agent is told (ERR, enabled), and the user's W1C write did not clear it.
  EXPECT_EQ(r.irq_status(kRPart), bit(Irq::kErr));
  EXPECT_EQ(r.core.out().irq, 1u << kRPart);
  expect_coalesced(r, kRPart, n);
  expect_log(r, kRPart, Reason::kDenied, 0, 0, false, false, kR);
  expect_channel_works(13);
}

// ---------------------------------------------------------------------
// The owner's read-only view of its CST entry (claims 13/17; who =
// "cst_ep_ro" in hw/data/cmm.toml): nobody else gets it, nobody writes
// through it, and it never shows key state beyond KEY_VALID.

// The view registers, from the generated rules.
std::vector<uint32_t> view_offsets() {
  std::vector<uint32_t> v;
  for (const RegRule& rr : kRegRules)
    if (rr.who == Who::kCstEpRo) v.push_back(rr.offset);
  return v;
}

TEST_F(Security, I5ChannelViewOfAnotherProcesssEndpointIsDenied) {
  const std::vector<uint32_t> offs = view_offsets();
  ASSERT_EQ(offs.size(), 4u);  // CST_CTRL, CST_REMOTE, CST_STATUS, CST_REMOTE_HI
  const Req intruder = user(kRPart, kRPid + 1);  // another process of the owner's partition
  const uint32_t before = r.rejects(Reason::kDenied);
  r.clear_errlog(kRPart);
  for (uint32_t off : offs) {
    const RegRsp rsp = r.rd(intruder, cst_addr(ch.rx_ep, off));
    EXPECT_EQ(rsp.status, u(Rsp::kDenied)) << std::hex << off;
    EXPECT_EQ(rsp.rdata, 0u);
  }
  EXPECT_EQ(r.rejects(Reason::kDenied), before + offs.size());
  EXPECT_EQ(r.core.reject_count(Reason::kDenied), before + offs.size());
  expect_log(r, kRPart, Reason::kDenied, ch.rx_ep, 0, false, false, kR);
  // The owner's view still works.
  const uint32_t v = r.rd_ok(rx_user(), cst_addr(ch.rx_ep, CMM_CST_CTRL_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_STATE), u(State::kOpen));
  expect_channel_works(21);
}

TEST_F(Security, I5ChannelViewOfAnotherPartitionsEndpointIsDenied) {
  // The same pid in another partition, and that partition's own entry with
  // the owner's pid: ids are per partition, the view never crosses one.
  const int other = r.make_entry(5, kRPid, Dir::kRecv, kS, 1, 1);
  ASSERT_GE(other, 0);
  const uint32_t before = r.rejects(Reason::kDenied);
  r.clear_errlog(5);
  r.clear_errlog(kRPart);
  uint32_t n = 0;
  for (uint32_t off : view_offsets()) {
    RegRsp rsp = r.rd(user(5, kRPid), cst_addr(ch.rx_ep, off));
    EXPECT_EQ(rsp.status, u(Rsp::kDenied)) << std::hex << off;
    EXPECT_EQ(rsp.rdata, 0u);
    rsp = r.rd(rx_user(), cst_addr(static_cast<uint32_t>(other), off));
    EXPECT_EQ(rsp.status, u(Rsp::kDenied)) << std::hex << off;
    EXPECT_EQ(rsp.rdata, 0u);
    n += 2;
  }
  // A free entry belongs to nobody.
  EXPECT_EQ(r.rd(rx_user(), cst_addr(kNumEndpoints - 1, CMM_CST_CTRL_OFFSET)).status, u(Rsp::kDenied));
  ++n;
  EXPECT_EQ(r.rejects(Reason::kDenied), before + n);
  expect_log(r, 5, Reason::kDenied, ch.rx_ep, 0, false, false, kR);
  expect_log(r, kRPart, Reason::kDenied, static_cast<uint32_t>(other), 0, false, false, kR);
  // Each owner still sees its own entry.
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(user(5, kRPid), cst_addr(static_cast<uint32_t>(other), CMM_CST_CTRL_OFFSET)),
                          CMM_CST_CTRL_STATE),
            u(State::kAuthorized));
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(rx_user(), cst_addr(ch.rx_ep, CMM_CST_CTRL_OFFSET)), CMM_CST_CTRL_STATE),
            u(State::kOpen));
  expect_channel_works(22);
}

TEST_F(Security, I5ChannelViewIsReadOnly) {
  const uint32_t ctrl = r.cst_ctrl(kRPart, ch.rx_ep);
  const uint32_t remote = r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_REMOTE_OFFSET));
  const uint32_t before = r.rejects(Reason::kDenied);
  const uint32_t ro_before = r.rejects(Reason::kReadOnly);
  r.clear_errlog(kRPart);
  uint32_t n = 0;
  // The owner writes what would re-point or re-open its channel, then every
  // other CST register; values inside and outside the writable fields.
  for (uint32_t off = 0; off < CMM_CST_STRIDE; off += 4) {
    if (reg_decode(cst_addr(ch.rx_ep, off)).id == RegId::kNone) continue;
    for (uint32_t wd : {remote_word(kX, 1, 1), 0u, 0xFFFFFFFFu}) {
      EXPECT_EQ(r.wr(rx_user(), cst_addr(ch.rx_ep, off), wd).status, u(Rsp::kDenied)) << std::hex << off;
      ++n;
    }
  }
  EXPECT_EQ(r.rejects(Reason::kDenied), before + n);
  EXPECT_EQ(r.rejects(Reason::kReadOnly), ro_before);  // DENIED before any access-kind check
  expect_coalesced(r, kRPart, n);
  expect_log(r, kRPart, Reason::kDenied, ch.rx_ep, 0, false, false, kR);
  // Nothing changed.
  EXPECT_EQ(r.cst_ctrl(kRPart, ch.rx_ep), ctrl);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_REMOTE_OFFSET)), remote);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_OWNER_OFFSET)), kRPid);
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  // ... and the view still reads.
  EXPECT_EQ(r.rd_ok(rx_user(), cst_addr(ch.rx_ep, CMM_CST_REMOTE_OFFSET)), remote);
  expect_channel_works(23);
}

TEST_F(Security, I1ChannelViewShowsKeyValidAndNoOtherKeyState) {
  const uint32_t before = r.rejects(Reason::kDenied);
  // Receive entry (key of origin LOCAL) and send entry (origin REMOTE): the
  // view is the kernel's value with KEY_ORIGIN and OWNER_PART masked.
  struct Side {
    CoreHarness* h;
    uint8_t part;
    uint32_t ep;
    Req owner;
  };
  for (const Side& sd : {Side{&r, kRPart, ch.rx_ep, rx_user()}, Side{&s, kSPart, ch.tx_ep, tx_user()}}) {
    const uint32_t k = sd.h->cst_ctrl(sd.part, sd.ep);
    const uint32_t v = sd.h->rd_ok(sd.owner, cst_addr(sd.ep, CMM_CST_CTRL_OFFSET));
    EXPECT_EQ(v, k & CMM_CST_CTRL_VMASK);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_KEY_VALID), 1u);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_KEY_ORIGIN), 0u);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_OWNER_PART), 0u);
    EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_STATE), u(State::kOpen));
    // No word of the view equals a key word.
    for (uint32_t off : view_offsets()) {
      const uint32_t w = sd.h->rd_ok(sd.owner, cst_addr(sd.ep, off));
      for (uint32_t kw : ch.key) EXPECT_NE(w, kw);
    }
  }
  EXPECT_EQ(CMM_CST_CTRL_VMASK & (((1u << CMM_CST_CTRL_KEY_ORIGIN_BITS) - 1) << CMM_CST_CTRL_KEY_ORIGIN_LSB), 0u);
  // Generations, sequence numbers, loss counts and the owner field stay kernel-only.
  r.clear_errlog(kRPart);
  uint32_t n = 0;
  for (uint32_t off : {CMM_CST_OWNER_OFFSET, CMM_CST_GEN_OFFSET, CMM_CST_SEQ_OFFSET, CMM_CST_LOST_OFFSET}) {
    const RegRsp rsp = r.rd(rx_user(), cst_addr(ch.rx_ep, off));
    EXPECT_EQ(rsp.status, u(Rsp::kDenied)) << std::hex << off;
    EXPECT_EQ(rsp.rdata, 0u);
    ++n;
  }
  EXPECT_EQ(r.rejects(Reason::kDenied), before + n);
  expect_log(r, kRPart, Reason::kDenied, ch.rx_ep, 0, false, false, kR);
  // After CLOSE the key is gone and the view says so.
  expect_channel_works(24);
  r.cmd_ok(kRPart, Cmd::kClose, ch.rx_ep);
  const uint32_t v = r.rd_ok(rx_user(), cst_addr(ch.rx_ep, CMM_CST_CTRL_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_KEY_VALID), 0u);
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_CST_CTRL_STATE), u(State::kAllocated));
}

// =====================================================================
// I4: source ids in packets come from hardware
// =====================================================================

TEST_F(Security, I4DataHeadersCarryHardwareIdsWhateverSoftwareDoes) {
  Header expect = make_header(Opcode::kData, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart,
                              static_cast<uint8_t>(ch.rx_ep));
  expect.key = ch.key;
  expect.src_gen = ch.tx_gen;
  expect.dst_gen = ch.rx_gen;
  // The agent cannot re-point or re-own the open entry, nor change its epochs.
  EXPECT_EQ(s.wr(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_CTRL_OFFSET), 0).status, u(Rsp::kReject));
  EXPECT_EQ(s.wr(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_OWNER_OFFSET), 7).status, u(Rsp::kReject));
  EXPECT_EQ(s.wr(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_REMOTE_OFFSET), remote_word(kX, 7, 7)).status,
            u(Rsp::kReject));
  EXPECT_EQ(s.wr(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_GEN_OFFSET), 0x4200).status, u(Rsp::kReject));
  EXPECT_EQ(s.rejects(Reason::kNotOpen), 4u);
  // Doorbells by the owner process and by its kernel agent, with every
  // writable bit set: only LEN and TAG come from software.
  struct Ring {
    Req who;
    uint32_t len, tag;
  };
  const Ring rings[] = {{tx_user(), 1, 0xFFFF}, {kernel(kSPart), kMaxMsgBytes, 0}, {tx_user(), 77, 0x1234}};
  uint16_t n = 0;
  for (const Ring& g : rings) {
    const size_t before = s.egress.size();
    ASSERT_EQ(s.doorbell(g.who, ch.tx_ep, g.len, g.tag).status, u(Rsp::kOk));
    s.settle();
    ASSERT_EQ(s.egress.size(), before + 1);
    Header e = expect;
    e.len = static_cast<uint16_t>(g.len);
    e.tag = static_cast<uint16_t>(g.tag);
    e.seq = n;  // numbered by the CMM
    EXPECT_EQ(s.egress.back().hdr, e);
    EXPECT_EQ(s.egress.back().cls, 0u);
    ++n;
    EXPECT_EQ(r.core.rxq_count(ch.rx_ep), n);
  }
  for (uint16_t i = 0; i < n; ++i) r.wr_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
  // MGMT: the source partition is the requester's, stamped by the bus; the
  // payload can claim anything, it stays payload.
  for (uint8_t p : {kSPart, uint8_t{6}}) {
    const Key fake{0xCA030000u, 0xFFFFFFFFu, 0u, 0x12345678u};
    for (uint32_t i = 0; i < kMgmtWords; ++i) s.wr_ok(kernel(p), CMM_MGMT_TX_OFFSET + 4 * i, fake[i]);
    EXPECT_EQ(s.wr(kernel(p), CMM_MGMT_DST_OFFSET, 0xFFFFF000u | remote_word(kR, kRPart, 0)).status,
              u(Rsp::kReject));  // RESERVED_BITS
    s.wr_ok(kernel(p), CMM_MGMT_DST_OFFSET, remote_word(kR, kRPart, 0));
    s.cmd_ok(p, Cmd::kMgmtSend);
    s.settle();
    Header m = make_header(Opcode::kMgmt, kS, p, 0, kR, kRPart, 0);
    m.key = fake;
    EXPECT_EQ(s.egress.back().hdr, m);
    const uint32_t st = r.rd_ok(kernel(kRPart), CMM_MGMT_RX_STATUS_OFFSET);
    EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE), kS);
    EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART), p);
    r.cmd_ok(kRPart, Cmd::kMgmtPop);
  }
  expect_channel_works(14);
}


// =====================================================================
// Hardened protocol (docs/security.md 1.2-1.7): one test per attack
// =====================================================================

// Two fresh entries, ids and generations exchanged and AUTHORIZED on both
// sides, no CONNECT yet (open_channel without its last step).
struct Pair {
  uint32_t rx = 0, tx = 0;
  uint8_t rx_gen = 0, tx_gen = 0;
};

class SecurityHardened : public Security {
 protected:
  Pair authorize_pair(uint8_t rpart, uint16_t rpid, uint8_t spart, uint16_t spid) {
    Pair p;
    const int re = r.alloc(rpart), se = s.alloc(spart);
    EXPECT_GE(re, 0);
    EXPECT_GE(se, 0);
    if (re < 0 || se < 0) return p;
    p.rx = static_cast<uint32_t>(re);
    p.tx = static_cast<uint32_t>(se);
    p.rx_gen = r.gen(rpart, p.rx);
    p.tx_gen = s.gen(spart, p.tx);
    auto fill = [](CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, uint8_t rn, uint8_t rp,
                   uint32_t re2, uint8_t rgen) {
      h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_CTRL_OFFSET), u(dir));
      h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_OWNER_OFFSET), pid);
      h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_REMOTE_OFFSET), remote_word(rn, rp, re2));
      h.set_remote_gen(part, ep, rgen);
      h.cmd_ok(part, Cmd::kAuthorize, ep);
    };
    fill(s, spart, p.tx, spid, Dir::kSend, kR, rpart, p.rx, p.rx_gen);
    fill(r, rpart, p.rx, rpid, Dir::kRecv, kS, spart, p.tx, p.tx_gen);
    return p;
  }
  // Headers as the peer CMMs of the open channel would build them.
  Header from_s(Opcode op) const {
    Header h = make_header(op, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart, static_cast<uint8_t>(ch.rx_ep));
    h.src_gen = ch.tx_gen;
    h.dst_gen = ch.rx_gen;
    return h;
  }
  Header from_r(Opcode op) const {
    Header h = make_header(op, kR, kRPart, static_cast<uint8_t>(ch.rx_ep), kS, kSPart, static_cast<uint8_t>(ch.tx_ep));
    h.src_gen = ch.rx_gen;
    h.dst_gen = ch.tx_gen;
    return h;
  }
  uint32_t tx_status() { return s.rd_ok(tx_user(), ep_addr(ch.tx_ep, CMM_EP_TX_STATUS_OFFSET)); }
  // The last header a node sent with this opcode.
  static Header last_sent(const CoreHarness& h, Opcode op) {
    for (auto it = h.egress.rbegin(); it != h.egress.rend(); ++it)
      if (it->hdr.opcode == u(op)) return it->hdr;
    ADD_FAILURE() << "nothing sent with opcode " << opcode_name(u(op));
    return Header{};
  }
  void drain_rx() {
    while (r.core.rxq_count(ch.rx_ep) != 0) r.wr_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
  }
};

TEST_F(SecurityHardened, ForgedCloseWithoutKeyDoesNothing) {
  // A CLOSE with the peer's ids and generations (all a rogue node on the path
  // sees) but no key, or a wrong one, at either end of the open channel.
  uint32_t n = 0;
  for (const Key& k : {Key{}, random_key(rng)}) {
    SCOPED_TRACE(n);
    Header at_r = from_s(Opcode::kClose);
    at_r.key = k;
    inject(r, at_r);
    Header at_s = from_r(Opcode::kClose);
    at_s.key = k;
    inject(s, at_s);
    ++n;
    EXPECT_EQ(r.rejects(Reason::kBadKey), n);
    EXPECT_EQ(s.rejects(Reason::kBadKey), n);
    // Answered by a NACK that proves nothing (no key) and logged for the owners.
    const Header nk = last_sent(r, Opcode::kNack);
    EXPECT_EQ(nk.reason, u(Reason::kBadKey));
    EXPECT_EQ(nk.aux, u(Opcode::kClose));
    EXPECT_TRUE(nk.key == Key{});
    EXPECT_EQ(ErrEntry::decode(r.rd_ok(kernel(kRPart), CMM_ERRLOG_HEAD_OFFSET)).reason, u(Reason::kBadKey));
    EXPECT_EQ(ErrEntry::decode(s.rd_ok(kernel(kSPart), CMM_ERRLOG_HEAD_OFFSET)).reason, u(Reason::kBadKey));
    r.clear_errlog(kRPart);
    s.clear_errlog(kSPart);
    // Nothing closed.
    EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
    EXPECT_EQ(s.core.ep_state(ch.tx_ep), State::kOpen);
    EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
    EXPECT_TRUE(s.core.key_equals_for_test(ch.tx_ep, ch.key));
    EXPECT_EQ(r.irq_status(kRPart) & bit(Irq::kConn), 0u);
    EXPECT_EQ(s.irq_status(kSPart) & bit(Irq::kConn), 0u);
  }
  expect_channel_works(0x11);
  // The agent's own CLOSE (with the key) does close the peer.
  r.cmd_ok(kRPart, Cmd::kClose, ch.rx_ep);
  r.settle();
  EXPECT_EQ(s.core.ep_state(ch.tx_ep), State::kClosed);
}

TEST_F(SecurityHardened, ForgedNackIsBelievedNowhere) {
  // NACKs of DATA claiming to come from the receiver entry: no key, a wrong
  // key, the right key with a stale generation.
  Header base = from_r(Opcode::kNack);
  base.aux = u(Opcode::kData);
  base.reason = u(Reason::kRxqFull);
  base.tag = 0x99;
  std::vector<Header> forged;
  forged.push_back(base);
  forged.push_back(base);
  forged.back().key = random_key(rng);
  forged.push_back(base);
  forged.back().key = ch.key;
  forged.back().src_gen ^= 1;
  forged.push_back(base);
  forged.back().key = ch.key;
  forged.back().dst_gen ^= 0x10;
  uint32_t n = 0;
  for (const Header& f : forged) {
    SCOPED_TRACE(n);
    inject(s, f);
    ++n;
    EXPECT_EQ(s.rejects(Reason::kUnauthResponse), n);
    EXPECT_EQ(tx_status(), 0u);  // no NACK recorded
    EXPECT_EQ(s.cst_status(kSPart, ch.tx_ep), 0u);
    EXPECT_EQ(s.irq_status(kSPart), 0u);
    EXPECT_EQ(s.errlog_count(kSPart), 0u);
  }
  // Counted, never answered.
  EXPECT_EQ(s.stat(CmmCore::kStatNackSent), 0u);
  // A NACK of CONNECT to the open receive entry is not waited for: stray.
  Header nc = from_s(Opcode::kNack);
  nc.aux = u(Opcode::kConnect);
  nc.key = ch.key;
  inject(r, nc);
  EXPECT_EQ(r.rejects(Reason::kStrayResponse), 1u);
  EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
  // The genuine NACK (key and generations proven) of a DATA that was sent is believed.
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x99).status, u(Rsp::kOk));
  s.settle();
  Header real = base;
  real.key = ch.key;
  real.seq = 0;  // names that DATA
  inject(s, real);
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kRxqFull));
  EXPECT_EQ(s.rejects(Reason::kUnauthResponse), n);
  expect_channel_works(0x12);
}

// More than 2^15 DATA without a NACK, then a genuine NACK: still believed
// (nack_seq is dragged along with tx_seq, 1.5). Before the drag, the first
// NACK after 2^15 NACK-free messages was refused SEQ_OLD and the sender's
// agent never heard of the refusal (found by a 10^6-message system run).
TEST_F(SecurityHardened, GenuineNackAfterMoreThan32kNackFreeDataIsBelieved) {
  net.filter = [](Header& h) { return h.opcode != u(Opcode::kData); };  // none reach the receiver
  constexpr uint32_t kSent = 0x8000u + 5u;
  for (uint32_t i = 0; i < kSent; ++i) ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x77).status, u(Rsp::kOk));
  s.settle();
  net.filter = nullptr;
  Header nack = from_r(Opcode::kNack);
  nack.aux = u(Opcode::kData);
  nack.reason = u(Reason::kRxqFull);
  nack.key = ch.key;
  nack.tag = 0x77;
  nack.seq = static_cast<uint16_t>(kSent - 1u);  // names the last DATA sent
  inject(s, nack);
  EXPECT_EQ(s.rejects(Reason::kSeqOld), 0u);
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_NACKS), 1u);
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kRxqFull));
  // The same NACK again is a duplicate; one naming a DATA 2^15 or more back is too old.
  inject(s, nack);
  EXPECT_EQ(s.rejects(Reason::kSeqOld), 1u);
  nack.seq = static_cast<uint16_t>(kSent - 1u - 0x8000u);
  inject(s, nack);
  EXPECT_EQ(s.rejects(Reason::kSeqOld), 2u);
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_NACKS), 1u);
}

TEST_F(SecurityHardened, ForgedConnectAckAndConnectNackAreBelievedNowhere) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  // The fabric loses the CONNECT: the receive entry waits in CONNECTING.
  net.filter = [](Header& h) { return h.opcode != u(Opcode::kConnect); };
  const Key k = random_key(rng);
  r.stage_key(kRPart, k);
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  ASSERT_EQ(net.dropped.size(), 1u);
  ASSERT_EQ(r.core.ep_state(p.rx), State::kConnecting);
  Header ack = make_header(Opcode::kConnectAck, kS, 1, static_cast<uint8_t>(p.tx), kR, kRPart,
                           static_cast<uint8_t>(p.rx));
  ack.src_gen = p.tx_gen;
  ack.dst_gen = p.rx_gen;
  Header nack = ack;
  nack.opcode = u(Opcode::kNack);
  nack.aux = u(Opcode::kConnect);
  nack.reason = u(Reason::kNotOpen);
  struct Forgery {
    Header h;
    Reason why;
  };
  std::vector<Forgery> forged;
  auto add = [&](Header h, const Key& key, int dsrc, int ddst, Reason why) {
    h.key = key;
    h.src_gen = static_cast<uint8_t>(h.src_gen + dsrc);
    h.dst_gen = static_cast<uint8_t>(h.dst_gen + ddst);
    forged.push_back({h, why});
  };
  add(ack, Key{}, 0, 0, Reason::kUnauthResponse);
  add(ack, random_key(rng), 0, 0, Reason::kUnauthResponse);
  add(ack, k, 1, 0, Reason::kStaleGen);
  add(ack, k, 0, 1, Reason::kStaleGen);
  add(nack, Key{}, 0, 0, Reason::kUnauthResponse);
  add(nack, random_key(rng), 0, 0, Reason::kUnauthResponse);
  add(nack, k, 0, 1, Reason::kUnauthResponse);
  for (const Forgery& f : forged) {
    SCOPED_TRACE(std::string(opcode_name(f.h.opcode)) + " " + std::string(reason_name(u(f.why))));
    const uint32_t before = r.rejects(f.why);
    inject(r, f.h);
    EXPECT_EQ(r.rejects(f.why), before + 1);
    EXPECT_EQ(r.core.ep_state(p.rx), State::kConnecting);
    EXPECT_TRUE(r.core.key_equals_for_test(p.rx, k));
    EXPECT_EQ(CMM_FIELD_GET(r.cst_status(kRPart, p.rx), CMM_CST_STATUS_LAST_REASON), 0u);
    EXPECT_EQ(r.irq_status(kRPart), 0u);
  }
  EXPECT_EQ(r.rejects(Reason::kUnauthResponse), 5u);
  EXPECT_EQ(r.rejects(Reason::kStaleGen), 2u);
  EXPECT_EQ(r.stat(CmmCore::kStatNackSent), 0u);
  // The agent's retry re-sends the stored key (nothing staged) and the channel opens.
  net.filter = nullptr;
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  EXPECT_EQ(r.stat(CmmCore::kStatConnectSent), 3u);  // SetUp's, the lost one, the retry
  EXPECT_EQ(r.core.ep_state(p.rx), State::kOpen);
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  EXPECT_TRUE(s.core.key_equals_for_test(p.tx, k));
  expect_channel_works(0x13);
}

TEST_F(SecurityHardened, OldConnectReplayedOntoAReallocatedEntryIsStaleGen) {
  // The CONNECT that opened the channel, recorded on the wire.
  const Header old = last_sent(r, Opcode::kConnect);
  ASSERT_TRUE(old.key == ch.key);
  // The channel is closed and both entries freed; the same endpoints are
  // allocated again for a new channel (new epochs) and the sender's entry
  // waits for its CONNECT.
  r.cmd_ok(kRPart, Cmd::kClose, ch.rx_ep);
  r.settle();
  s.cmd_ok(kSPart, Cmd::kClose, ch.tx_ep);
  r.cmd_ok(kRPart, Cmd::kFree, ch.rx_ep);
  s.cmd_ok(kSPart, Cmd::kFree, ch.tx_ep);
  const Pair p = authorize_pair(kRPart, kRPid, kSPart, kSPid);
  ASSERT_EQ(p.rx, ch.rx_ep);
  ASSERT_EQ(p.tx, ch.tx_ep);
  EXPECT_NE(p.rx_gen, ch.rx_gen);
  EXPECT_NE(p.tx_gen, ch.tx_gen);
  s.clear_errlog(kSPart);
  // The replay: ids right, generations of the old epoch.
  inject(s, old);
  EXPECT_EQ(s.rejects(Reason::kStaleGen), 1u);
  EXPECT_FALSE(s.core.key_valid(p.tx));
  EXPECT_EQ(s.core.ep_state(p.tx), State::kAuthorized);
  expect_log(s, kSPart, Reason::kStaleGen, p.tx, u(Opcode::kConnect), true, false, kR);
  // The new channel opens with its own key.
  ch.key = random_key(rng);
  ch.rx_gen = p.rx_gen;
  ch.tx_gen = p.tx_gen;
  r.stage_key(kRPart, ch.key);
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  EXPECT_TRUE(s.core.key_equals_for_test(p.tx, ch.key));
  EXPECT_FALSE(s.core.key_equals_for_test(p.tx, old.key));
  expect_channel_works(0x14);
}

TEST_F(SecurityHardened, CloseOvertakingItsConnectLeavesNoOpenSender) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  // The CONNECT is delayed on the fabric; the receiver's agent gives up and
  // CLOSEs, and that CLOSE arrives first.
  net.filter = [](Header& h) { return h.opcode != u(Opcode::kConnect); };
  r.stage_key(kRPart, random_key(rng));
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.cmd_ok(kRPart, Cmd::kClose, p.rx);
  r.settle();
  ASSERT_EQ(net.dropped.size(), 1u);
  const Header late = net.dropped.back();
  // Tombstone: the keyless AUTHORIZED send entry is CLOSED.
  EXPECT_EQ(s.core.ep_state(p.tx), State::kClosed);
  EXPECT_FALSE(s.core.key_valid(p.tx));
  EXPECT_EQ(s.irq_status(1), bit(Irq::kConn));
  // The late CONNECT meets CLOSED: NOT_OPEN, nothing stored.
  net.filter = nullptr;
  inject(s, late);
  EXPECT_EQ(s.rejects(Reason::kNotOpen), 1u);
  EXPECT_EQ(s.core.ep_state(p.tx), State::kClosed);
  EXPECT_FALSE(s.core.key_valid(p.tx));
  expect_log(s, 1, Reason::kNotOpen, p.tx, u(Opcode::kConnect), true, false, kR);
  EXPECT_EQ(s.doorbell(user(1, 3000), p.tx, 8, 1).status, u(Rsp::kReject));
  // Its NACK finds the receiver's entry already ALLOCATED: stray.
  EXPECT_EQ(r.rejects(Reason::kStrayResponse), 1u);
  EXPECT_EQ(r.core.ep_state(p.rx), State::kAllocated);
  expect_channel_works(0x15);
}

TEST_F(SecurityHardened, DuplicatedConnectWithReorderedRepliesEndsFullyOpen) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  // The fabric duplicates the CONNECT and delivers the two replies in reverse order.
  net.filter = [](Header& h) {
    return h.opcode != u(Opcode::kConnect) && h.opcode != u(Opcode::kConnectAck) && h.opcode != u(Opcode::kNack);
  };
  const Key k = random_key(rng);
  r.stage_key(kRPart, k);
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  ASSERT_EQ(net.dropped.size(), 1u);
  const Header conn = net.dropped[0];
  inject(s, conn);
  inject(s, conn);
  ASSERT_EQ(net.dropped.size(), 3u);
  const Header first = net.dropped[1], second = net.dropped[2];
  // The duplicate is acknowledged again, identically: no KEY_PRESENT NACK.
  EXPECT_EQ(first.opcode, u(Opcode::kConnectAck));
  EXPECT_EQ(second, first);
  EXPECT_EQ(s.rejects(Reason::kKeyPresent), 0u);
  EXPECT_EQ(s.stat(CmmCore::kStatConnectAccepted), 2u);  // SetUp's and this one
  net.filter = nullptr;
  inject(r, second);
  inject(r, first);
  EXPECT_EQ(r.core.ep_state(p.rx), State::kOpen);
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  EXPECT_EQ(r.rejects(Reason::kStrayResponse), 1u);  // the other ACK, at an OPEN entry
  // A message flows on the new channel.
  ASSERT_EQ(s.doorbell(user(1, 3000), p.tx, 8, 0x66).status, u(Rsp::kOk));
  s.settle();
  EXPECT_EQ(r.core.rxq_count(p.rx), 1u);
  EXPECT_EQ(r.rd_ok(user(kRPart, kRPid), ep_addr(p.rx, CMM_EP_RX_TAG_OFFSET)), 0x66u);
  expect_channel_works(0x16);
}

TEST_F(SecurityHardened, DroppedDataIsReportedAsSeqGapToBothAgents) {
  net.filter = [](Header& h) { return !(h.opcode == u(Opcode::kData) && h.tag == 0x101); };
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x101).status, u(Rsp::kOk));
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x102).status, u(Rsp::kOk));
  s.settle();
  ASSERT_EQ(net.dropped.size(), 1u);
  // The receiver delivers 0x102 and reports one missing message.
  EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 1u);
  EXPECT_EQ(r.rd_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_TAG_OFFSET)), 0x102u);
  EXPECT_EQ(r.rejects(Reason::kSeqGap), 1u);
  expect_log(r, kRPart, Reason::kSeqGap, ch.rx_ep, u(Opcode::kData), true, false, kS);
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_RX), 2u);
  const Header gap = last_sent(r, Opcode::kNack);
  EXPECT_EQ(gap.reason, u(Reason::kSeqGap));
  EXPECT_EQ(gap.tag, 1u);  // number of missing messages
  EXPECT_EQ(gap.seq, 1u);  // names the delivered DATA (0x102, seq 1)
  EXPECT_TRUE(gap.key == ch.key);
  // The sender's CMM believes it and tells its agent.
  const uint32_t ts = tx_status();
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kSeqGap));
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_TAG), 0u);  // a SEQ_GAP NACK's tag is a count, not a tag
  // Counted as lost messages, apart from the refusals (0x102 was delivered).
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_NACKS), 0u);
  EXPECT_EQ(s.rd_ok(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_LOST_OFFSET)), CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 1u));
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_LOST_OFFSET)), CMM_FIELD_SET(0u, CMM_CST_LOST_RX, 1u));
  EXPECT_EQ(s.irq_status(kSPart), bit(Irq::kTxnack) | bit(Irq::kErr));
  expect_log(s, kSPart, Reason::kSeqGap, ch.tx_ep, u(Opcode::kNack), true, false, kR);
  EXPECT_EQ(CMM_FIELD_GET(s.rd_ok(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_SEQ_OFFSET)), CMM_CST_SEQ_TX), 2u);
  // No further gap once in step.
  net.filter = nullptr;
  expect_channel_works(0x17);
  EXPECT_EQ(r.rejects(Reason::kSeqGap), 1u);
}

TEST_F(SecurityHardened, DuplicatedOrReplayedDataIsSeqOldAndNotDeliveredTwice) {
  std::vector<Header> wire;
  net.filter = [&wire](Header& h) {
    if (h.opcode == u(Opcode::kData)) wire.push_back(h);
    return true;
  };
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x201).status, u(Rsp::kOk));
  s.settle();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 1u);
  drain_rx();
  r.take_verdicts();
  // The same DATA again (a duplicating fabric, or a replay by a rogue node).
  for (uint32_t i = 1; i <= 3; ++i) {
    inject(r, wire[0]);
    EXPECT_EQ(r.rejects(Reason::kSeqOld), i);
    EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 0u);
  }
  std::vector<VdRec> vd = r.take_verdicts();
  ASSERT_EQ(vd.size(), 3u);
  for (const VdRec& v : vd) {
    EXPECT_FALSE(v.accept);
    EXPECT_EQ(v.reason, u(Reason::kSeqOld));
  }
  EXPECT_EQ(r.stat(CmmCore::kStatDataDelivered), 1u);
  EXPECT_EQ(r.errlog_count(kRPart), 0u);  // the sender's concern, not the receiver's
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kSeqOld));
  // The sender hears of it (LAST_REASON, IRQ TXNACK), but its message was
  // delivered: not counted as refused.
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_NACKS), 0u);
  EXPECT_EQ(s.irq_status(kSPart) & bit(Irq::kTxnack), bit(Irq::kTxnack));
  net.filter = nullptr;
  expect_channel_works(0x18);
}

TEST_F(SecurityHardened, ReorderedDataIsNeverDeliveredOutOfOrder) {
  net.filter = [](Header& h) { return !(h.opcode == u(Opcode::kData) && h.tag == 0x301); };
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x301).status, u(Rsp::kOk));
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x302).status, u(Rsp::kOk));
  s.settle();
  ASSERT_EQ(net.dropped.size(), 1u);
  // 0x302 overtook 0x301: delivered, with the gap reported.
  EXPECT_EQ(r.rejects(Reason::kSeqGap), 1u);
  // 0x301 arrives late: refused, never delivered after 0x302.
  net.filter = nullptr;
  inject(r, net.dropped[0]);
  EXPECT_EQ(r.rejects(Reason::kSeqOld), 1u);
  EXPECT_EQ(r.core.rxq_count(ch.rx_ep), 1u);
  EXPECT_EQ(r.rd_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_TAG_OFFSET)), 0x302u);
  EXPECT_EQ(r.stat(CmmCore::kStatDataDelivered), 1u);
  drain_rx();
  expect_channel_works(0x19);
}

TEST_F(SecurityHardened, ErrorLogFloodDoesNotHideAnException) {
  // A flood of alternating kinds fills the log and then loses entries.
  for (int i = 0; i < 40; ++i) {
    if (i % 2) r.rd(user(kRPart, 999), ep_addr(ch.rx_ep, CMM_EP_RX_STATUS_OFFSET));  // DENIED
    else inject(r, data_to_rx(random_key(rng), static_cast<uint16_t>(i)));             // BAD_KEY
  }
  uint32_t st = r.rd_ok(kernel(kRPart), CMM_ERRLOG_STATUS_OFFSET);
  ASSERT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT), kErrlogDepth);
  // Full after 4; then each BAD_KEY is lost, each DENIED coalesces into the newest entry.
  const uint32_t lost = CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST);
  EXPECT_EQ(lost, 18u);
  r.wr_ok(kernel(kRPart), CMM_IRQ_STATUS_OFFSET, CMM_IRQ_STATUS_WMASK);
  // Now an I6 exception: a CONNECT onto the receive entry's local key.
  Header c = make_header(Opcode::kConnect, kX, 2, 9, kR, kRPart, static_cast<uint8_t>(ch.rx_ep));
  c.key = random_key(rng);
  inject(r, c);
  EXPECT_EQ(r.rejects(Reason::kKeyLocked), 1u);
  st = r.rd_ok(kernel(kRPart), CMM_ERRLOG_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST), lost + 1);  // the log had no room
  // ... but the exception register has it, and IRQ EXC says so.
  uint32_t x1 = 0;
  x1 = CMM_FIELD_SET(x1, CMM_EXC_FIRST_REASON, u(Reason::kKeyLocked));
  x1 = CMM_FIELD_SET(x1, CMM_EXC_FIRST_EP, ch.rx_ep);
  x1 = CMM_FIELD_SET(x1, CMM_EXC_FIRST_SRC_NODE, kX);
  x1 = CMM_FIELD_SET(x1, CMM_EXC_FIRST_VALID, 1u);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_EXC_COUNT_OFFSET), 1u);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_EXC_FIRST_OFFSET), x1);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_EXC_LAST_OFFSET), x1);
  EXPECT_EQ(r.irq_status(kRPart), bit(Irq::kErr) | bit(Irq::kExc));
  // A second one: FIRST kept, LAST updated.
  Header c2 = from_s(Opcode::kConnect);
  c2.key = random_key(rng);
  inject(r, c2);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_EXC_COUNT_OFFSET), 2u);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_EXC_FIRST_OFFSET), x1);
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(kernel(kRPart), CMM_EXC_LAST_OFFSET), CMM_EXC_LAST_SRC_NODE), kS);
  // Other partitions saw nothing; EXC_CLEAR clears.
  EXPECT_EQ(r.rd_ok(kernel(kSPart), CMM_EXC_COUNT_OFFSET), 0u);
  r.cmd_ok(kRPart, Cmd::kExcClear);
  for (uint32_t a : {CMM_EXC_COUNT_OFFSET, CMM_EXC_FIRST_OFFSET, CMM_EXC_LAST_OFFSET})
    EXPECT_EQ(r.rd_ok(kernel(kRPart), a), 0u);
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  r.clear_errlog(kRPart);
  expect_channel_works(0x1A);
}

TEST_F(SecurityHardened, RejectRateAlarmFiresAtThresholdOncePerWindow) {
  constexpr uint32_t kLog2 = 9;  // windows of 512 cycles
  const Req k = kernel(kRPart);
  uint32_t cfg = 0;
  cfg = CMM_FIELD_SET(cfg, CMM_ALARM_CFG_THRESH, 3u);
  cfg = CMM_FIELD_SET(cfg, CMM_ALARM_CFG_WINDOW_LOG2, kLog2);
  r.wr_ok(k, CMM_ALARM_CFG_OFFSET, cfg);
  EXPECT_EQ(r.rd_ok(k, CMM_ALARM_CFG_OFFSET), cfg);
  r.wr_ok(k, CMM_IRQ_ENABLE_OFFSET, bit(Irq::kAlarm));
  auto to_window_start = [&] {
    while ((r.core.cycle() & ((1u << kLog2) - 1)) != 0) r.tick();
    return r.core.cycle() >> kLog2;
  };
  auto event = [&] { r.rd(user(kRPart, 999), CMM_PART_INFO_OFFSET); };  // DENIED, logged (coalesced)
  uint64_t w = to_window_start();
  event();
  event();
  EXPECT_EQ(r.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 0u);
  EXPECT_EQ(r.irq_status(kRPart) & bit(Irq::kAlarm), 0u);
  event();  // the third in the window
  EXPECT_EQ(r.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 1u);
  EXPECT_EQ(r.irq_status(kRPart) & bit(Irq::kAlarm), bit(Irq::kAlarm));
  EXPECT_EQ(r.core.out().irq, 1u << kRPart);
  r.wr_ok(k, CMM_IRQ_STATUS_OFFSET, bit(Irq::kAlarm));
  for (int i = 0; i < 5; ++i) event();  // more in the same window: no second alarm
  EXPECT_EQ(r.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 1u);
  EXPECT_EQ(r.irq_status(kRPart) & bit(Irq::kAlarm), 0u);
  ASSERT_EQ(r.core.cycle() >> kLog2, w) << "events spilled into the next window";
  EXPECT_EQ(r.errlog_count(kRPart), 2u);  // coalesced, all counted by the alarm
  // The next window counts afresh.
  w = to_window_start();
  event();
  event();
  EXPECT_EQ(r.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 1u);
  event();
  EXPECT_EQ(r.rd_ok(k, CMM_ALARM_COUNT_OFFSET), 2u);
  EXPECT_EQ(r.irq_status(kRPart) & bit(Irq::kAlarm), bit(Irq::kAlarm));
  ASSERT_EQ(r.core.cycle() >> kLog2, w);
  // Another partition's alarm is untouched.
  EXPECT_EQ(r.rd_ok(kernel(kSPart), CMM_ALARM_COUNT_OFFSET), 0u);
  r.clear_errlog(kRPart);
  expect_channel_works(0x1B);
}

TEST_F(SecurityHardened, AllZeroStagedKeyIsRefused) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  r.stage_key(kRPart, Key{});
  r.cmd_refused(kRPart, Cmd::kConnect, p.rx, Reason::kKeyZero);
  r.stage_key(kRPart, Key{});
  r.cmd_refused(kRPart, Cmd::kSetKey, p.rx, Reason::kKeyZero);
  EXPECT_EQ(r.rejects(Reason::kKeyZero), 2u);
  EXPECT_FALSE(r.core.key_valid(p.rx));
  EXPECT_EQ(r.core.ep_state(p.rx), State::kAuthorized);
  r.settle();
  EXPECT_EQ(s.core.ep_state(p.tx), State::kAuthorized);  // no CONNECT went out
  EXPECT_EQ(r.stat(CmmCore::kStatConnectSent), 1u);      // SetUp's only
  // A real key works.
  r.stage_key(kRPart, random_key(rng));
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  expect_channel_works(0x1C);
}

// Keys are never all-zero, also when one arrives from the entry's own peer
// (a rogue device at the peer's node id): found by the formal I6 cover trace.
TEST_F(SecurityHardened, AllZeroKeyInAConnectFromThePeerIsRefused) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  Header c = make_header(Opcode::kConnect, kR, kRPart, static_cast<uint8_t>(p.rx), kS, 1, static_cast<uint8_t>(p.tx));
  c.src_gen = p.rx_gen;
  c.dst_gen = p.tx_gen;  // ids and epochs right, key all zero
  inject(s, c);
  EXPECT_EQ(s.rejects(Reason::kKeyZero), 1u);
  EXPECT_FALSE(s.core.key_valid(p.tx));
  EXPECT_EQ(s.core.ep_state(p.tx), State::kAuthorized);
  // The genuine CONNECT still opens the entry.
  r.stage_key(kRPart, random_key(rng));
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  EXPECT_EQ(r.core.ep_state(p.rx), State::kOpen);
}

TEST_F(SecurityHardened, IncompleteKeyStagingIsRefused) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  const Key k = random_key(rng);
  for (uint32_t missing = 0; missing < kKeyWords; ++missing) {
    SCOPED_TRACE(missing);
    for (uint32_t w = 0; w < kKeyWords; ++w)
      if (w != missing) r.wr_ok(kernel(kRPart), CMM_KEY_OFFSET + 4 * w, k[w]);
    r.cmd_refused(kRPart, Cmd::kConnect, p.rx, Reason::kKeyIncomplete);
    EXPECT_FALSE(r.core.key_valid(p.rx));
  }
  // Nothing staged at all.
  r.cmd_refused(kRPart, Cmd::kSetKey, p.rx, Reason::kKeyIncomplete);
  EXPECT_EQ(r.rejects(Reason::kKeyIncomplete), kKeyWords + 1);
  r.settle();
  EXPECT_EQ(s.core.ep_state(p.tx), State::kAuthorized);
  r.stage_key(kRPart, k);
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  EXPECT_TRUE(s.core.key_equals_for_test(p.tx, k));
  expect_channel_works(0x1D);
}

TEST_F(SecurityHardened, TwoProcessesMixingKeyWordsAreRefused) {
  const Pair p = authorize_pair(kRPart, kRPid, 1, 3000);
  const Req a{kRPart, Priv::kKernel, 11}, b{kRPart, Priv::kKernel, 22};
  const Key ka = random_key(rng), kb = random_key(rng);
  r.wr_ok(a, CMM_KEY_OFFSET + 0, ka[0]);
  r.wr_ok(a, CMM_KEY_OFFSET + 4, ka[1]);
  // b's words while a's staging is in progress: refused, a's words kept.
  EXPECT_EQ(r.wr(b, CMM_KEY_OFFSET + 8, kb[2]).status, u(Rsp::kReject));
  EXPECT_EQ(r.wr(b, CMM_KEY_OFFSET + 0, kb[0]).status, u(Rsp::kReject));
  EXPECT_EQ(r.rejects(Reason::kKeyStageBusy), 2u);
  r.wr_ok(a, CMM_KEY_OFFSET + 8, ka[2]);
  r.wr_ok(a, CMM_KEY_OFFSET + 12, ka[3]);
  // b commands with a's staged key: refused (and the staging is zeroized).
  r.cmd_refused(kRPart, Cmd::kConnect, p.rx, Reason::kKeyStageBusy);  // kernel(kRPart) has pid 0
  EXPECT_EQ(r.access(b, true, CMM_CMD_OFFSET, cmd_word(Cmd::kConnect, p.rx)).status, u(Rsp::kReject));
  EXPECT_EQ(r.cmd_reason(kRPart), u(Reason::kKeyIncomplete));  // nothing left staged
  EXPECT_EQ(r.rejects(Reason::kKeyStageBusy), 3u);
  EXPECT_FALSE(r.core.key_valid(p.rx));
  // a stages and commands alone: stored exactly.
  r.stage_key(kRPart, ka, 11);
  EXPECT_EQ(r.access(a, true, CMM_CMD_OFFSET, cmd_word(Cmd::kConnect, p.rx)).status, u(Rsp::kOk));
  r.settle();
  EXPECT_TRUE(r.core.key_equals_for_test(p.rx, ka));
  EXPECT_TRUE(s.core.key_equals_for_test(p.tx, ka));
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  expect_channel_works(0x1E);
}

TEST_F(SecurityHardened, ReservedBitsInEveryWritableRegisterAreRefused) {
  const Req k = kernel(kRPart);
  const int e = r.alloc(kRPart);  // an ALLOCATED entry: its CST fields are writable
  ASSERT_GE(e, 0);
  const uint32_t ep = static_cast<uint32_t>(e);
  r.rd(user(kRPart, 999), CMM_PART_INFO_OFFSET);  // IRQ ERR pending (a W1C target)
  r.wr_ok(k, CMM_IRQ_ENABLE_OFFSET, 0x05);
  struct W {
    const char* name;
    uint32_t addr, wmask, value;  // value: a legal write that would change something
  };
  const W regs_[] = {
      {"CMD", CMM_CMD_OFFSET, CMM_CMD_WMASK, cmd_word(Cmd::kAlloc)},
      {"IRQ_STATUS", CMM_IRQ_STATUS_OFFSET, CMM_IRQ_STATUS_WMASK, bit(Irq::kErr)},
      {"IRQ_ENABLE", CMM_IRQ_ENABLE_OFFSET, CMM_IRQ_ENABLE_WMASK, 0x7Fu},
      {"MGMT_DST", CMM_MGMT_DST_OFFSET, CMM_MGMT_DST_WMASK, 0x123u},
      {"ALARM_CFG", CMM_ALARM_CFG_OFFSET, CMM_ALARM_CFG_WMASK, 5u},
      {"CST_CTRL", cst_addr(ep, CMM_CST_CTRL_OFFSET), CMM_CST_CTRL_WMASK, 1u},
      {"CST_OWNER", cst_addr(ep, CMM_CST_OWNER_OFFSET), CMM_CST_OWNER_WMASK, 0x1234u},
      {"CST_REMOTE_HI", cst_addr(ep, CMM_CST_REMOTE_HI_OFFSET), CMM_CST_REMOTE_HI_WMASK, 0u},
      {"CST_GEN", cst_addr(ep, CMM_CST_GEN_OFFSET), CMM_CST_GEN_WMASK, 0x4200u},
  };
  auto snapshot = [&] {
    std::vector<uint32_t> v;
    for (uint32_t a : {CMM_PART_INFO_OFFSET, CMM_CMD_STATUS_OFFSET, CMM_IRQ_STATUS_OFFSET, CMM_IRQ_ENABLE_OFFSET,
                       CMM_MGMT_DST_OFFSET, CMM_ALARM_CFG_OFFSET, cst_addr(ep, CMM_CST_CTRL_OFFSET),
                       cst_addr(ep, CMM_CST_OWNER_OFFSET), cst_addr(ep, CMM_CST_REMOTE_OFFSET),
                       cst_addr(ep, CMM_CST_REMOTE_HI_OFFSET),
                       cst_addr(ep, CMM_CST_GEN_OFFSET)})
      v.push_back(r.rd_ok(k, a));
    return v;
  };
  const std::vector<uint32_t> before = snapshot();
  uint32_t n = 0;
  for (const W& w : regs_) {
    SCOPED_TRACE(w.name);
    ASSERT_NE(w.wmask, 0xFFFFFFFFu);
    for (uint32_t b = 0; b < 32; ++b) {
      if (w.wmask & (1u << b)) continue;
      EXPECT_EQ(r.wr(k, w.addr, w.value | (1u << b)).status, u(Rsp::kReject)) << b;
      ++n;
    }
  }
  EXPECT_EQ(r.rejects(Reason::kReservedBits), n);
  EXPECT_GT(n, 9u * 8u);
  EXPECT_EQ(snapshot(), before);  // nothing changed, no command ran
  EXPECT_EQ(r.stat(CmmCore::kStatConnectSent), 1u);
  // The same values without the reserved bits are accepted.
  for (const W& w : regs_) EXPECT_EQ(r.wr(k, w.addr, w.value).status, u(Rsp::kOk)) << w.name;
  EXPECT_NE(snapshot(), before);
  EXPECT_EQ(r.rejects(Reason::kReservedBits), n);
  r.clear_errlog(kRPart);
  expect_channel_works(0x1F);
}

TEST(SecurityQuota, ReservationKeepsAnotherPartitionsQuotaAvailable) {
  // Over-committed quotas (the scenario validator refuses them; the core must
  // still keep partition 1's quota free from a greedy partition 0).
  Straps st;
  st.node_id = kR;
  st.quota = {16, 4, 0, 0, 0, 0, 0, 0};
  CoreHarness h(st);
  int n = 0;
  while (h.alloc(0) >= 0) ++n;
  EXPECT_EQ(n, 12);
  EXPECT_EQ(h.cmd_reason(0), u(Reason::kNoFreeEp));
  EXPECT_EQ(h.rejects(Reason::kNoFreeEp), 1u);
  EXPECT_EQ(h.rejects(Reason::kQuotaExceeded), 0u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.alloc(1), 12 + i);
  h.cmd_refused(1, Cmd::kAlloc, 0, Reason::kQuotaExceeded);
  // A freed entry of partition 0 goes back to it.
  h.cmd_ok(0, Cmd::kFree, 3);
  EXPECT_EQ(h.alloc(0), 3);
}

TEST(SecurityQuota, QuotaStrapAboveTheTableIsReservedInFull) {
  // A quota strap larger than the table (the 17-bit pin allows up to 2^17 - 1)
  // reserves every free entry for its partition while that partition holds
  // fewer entries: the reservation sum must not wrap (a spare of 2^16 or
  // 3 x 2^15 kept in 15 bits reads as 0 and lets partition 0 take the table).
  Straps st;
  st.node_id = kR;
  st.quota = {16, 0x10000, 0x18000, 0, 0, 0, 0, 0};
  CoreHarness h(st);
  EXPECT_EQ(h.alloc(0), 0);  // partition 0 held nothing: no one holds fewer
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kNoFreeEp);  // 1 and 2 hold fewer, with quotas past the table
  EXPECT_EQ(h.alloc(1), 1);
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kNoFreeEp);  // 2 still holds fewer
  EXPECT_EQ(h.alloc(2), 2);
  EXPECT_EQ(h.alloc(0), 3);  // no one holds fewer than partition 0 now
  EXPECT_EQ(h.rejects(Reason::kNoFreeEp), 2u);
  EXPECT_EQ(h.rejects(Reason::kQuotaExceeded), 0u);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(1), CMM_PART_INFO_OFFSET), CMM_PART_INFO_QUOTA), 0x10000u);
  EXPECT_EQ(CMM_FIELD_GET(h.rd_ok(kernel(2), CMM_PART_INFO_OFFSET), CMM_PART_INFO_QUOTA), 0x18000u);
}

TEST(SecurityAlias, ResponseToAnEndpointIdPastTheTableNeverReachesTheEntryItAliases) {
  // A rogue node answers a CONNECT with a genuine-looking CONNECT_ACK (right
  // ids, key and generations) but addressed to an endpoint id past the table
  // whose low bits name the CONNECTING entry: it is a stray response, not
  // the entry's ACK (an index cut to the table's width must never be used).
  Straps st;
  st.node_id = kR;
  st.quota = {4, 4, 4, 4, 0, 0, 0, 0};
  CoreHarness h(st);
  const Key k = {0x1234567u, 0x89ABCDEFu, 0x0F1E2D3Cu, 0x4B5A6978u};
  const int e = h.make_entry(0, 0x100, Dir::kRecv, kS, 0, 0);
  ASSERT_EQ(e, 0);
  h.stage_key(0, k);
  h.cmd_ok(0, Cmd::kConnect, 0);
  h.settle();
  h.take_egress();
  ASSERT_EQ(h.core.ep_state(0), State::kConnecting);
  Header ack = make_header(Opcode::kConnectAck, kS, 0, 0, kR, 0, 0);
  ack.key = k;
  ack.dst_gen = h.core.ep_gen(0);
  for (const uint32_t alias : {kNumEndpoints, 2 * kNumEndpoints, 0x1000u, 0x8000u, 0x10000u - kNumEndpoints}) {
    SCOPED_TRACE("dst_ep " + std::to_string(alias));
    const uint32_t before = h.rejects(Reason::kStrayResponse);
    Header a = ack;
    a.dst_ep = static_cast<uint16_t>(alias);
    h.inject(a);
    EXPECT_EQ(h.rejects(Reason::kStrayResponse), before + 1);
    EXPECT_EQ(h.core.ep_state(0), State::kConnecting);
    EXPECT_EQ(h.cst_state(0, 0), u(State::kConnecting));
  }
  EXPECT_TRUE(h.take_egress().empty());  // a response is never answered
  h.inject(ack);  // the same ACK at the entry's own id opens it
  EXPECT_EQ(h.core.ep_state(0), State::kOpen);
  EXPECT_EQ(h.cst_state(0, 0), u(State::kOpen));
}

TEST_F(SecurityHardened, NackToANonPeerSourceCarriesNoKey) {
  // Node 66 sends DATA with the (leaked) channel key to the receive entry,
  // and its real CMM sends a CONNECT to the open send entry: both NACKed,
  // and neither NACK carries key bits.
  Header d = data_to_rx(ch.key, 0x44);
  d.src_node = kX;
  inject(r, d);
  EXPECT_EQ(r.rejects(Reason::kSrcNodeMismatch), 1u);
  Header n1 = last_sent(r, Opcode::kNack);
  EXPECT_EQ(n1.dst_node, kX);
  EXPECT_TRUE(n1.key == Key{});
  Header d2 = data_to_rx(ch.key, 0x45);
  d2.src_part = 5;  // right node, wrong partition
  inject(r, d2);
  EXPECT_EQ(r.rejects(Reason::kSrcPartMismatch), 1u);
  EXPECT_TRUE(last_sent(r, Opcode::kNack).key == Key{});
  const int xe = x.make_entry(2, 1, Dir::kRecv, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), true, ch.tx_gen);
  x.stage_key(2, random_key(rng));
  x.cmd_ok(2, Cmd::kConnect, static_cast<uint32_t>(xe));
  x.settle();
  EXPECT_EQ(s.rejects(Reason::kSrcNodeMismatch) + s.rejects(Reason::kKeyPresent), 1u);
  Header n2 = last_sent(s, Opcode::kNack);
  EXPECT_EQ(n2.dst_node, kX);
  EXPECT_TRUE(n2.key == Key{});
  EXPECT_EQ(x.rejects(Reason::kUnauthResponse), 1u);  // and node 66's CMM cannot believe it
  EXPECT_EQ(x.core.ep_state(static_cast<uint32_t>(xe)), State::kConnecting);
  // Contrast: the entry's own peer gets the keyed NACK and its CMM believes it
  // (a DATA it sent, whose key a fault on the path corrupted).
  net.filter = [](Header& h) {
    if (h.opcode == u(Opcode::kData) && h.tag == 0x46) h.key[1] ^= 0x10;
    return true;
  };
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 8, 0x46).status, u(Rsp::kOk));
  s.settle();
  net.filter = nullptr;
  Header n3 = last_sent(r, Opcode::kNack);
  EXPECT_EQ(n3.dst_node, kS);
  EXPECT_TRUE(n3.key == ch.key);
  EXPECT_EQ(CMM_FIELD_GET(tx_status(), CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kBadKey));
  r.clear_errlog(kRPart);
  expect_channel_works(0x20);
}


TEST_F(SecurityHardened, DropDuplicateReorderKeepsOrderAndEveryMessageAccounted) {
  // A faulty fabric drops, duplicates and delays DATA at random. The receiver
  // delivers in order and at most once; every message is delivered, refused
  // (TX_NACKS) or reported lost (CST_LOST), each exactly once.
  std::mt19937 frng(0xFA017);
  std::vector<Header> later;
  net.filter = [&](Header& h) {
    if (h.opcode != u(Opcode::kData)) return true;
    const uint32_t x = frng() % 100;
    if (x < 20) return false;  // dropped
    if (x < 35) {              // duplicated: one now, one later
      later.push_back(h);
      return true;
    }
    if (x < 50) {  // delayed
      later.push_back(h);
      return false;
    }
    return true;
  };
  std::vector<uint32_t> delivered;
  auto drain = [&] {
    while (r.core.rxq_count(ch.rx_ep) != 0) {
      delivered.push_back(r.rd_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_TAG_OFFSET)));
      r.wr_ok(rx_user(), ep_addr(ch.rx_ep, CMM_EP_RX_POP_OFFSET), 0);
    }
  };
  constexpr uint32_t kMsgs = 300;
  for (uint32_t i = 0; i < kMsgs; ++i) {
    ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 16, i).status, u(Rsp::kOk));
    if (!later.empty() && frng() % 3 == 0) {  // release a delayed or duplicated one
      const size_t k = frng() % later.size();
      r.ingress.push_back(later[k]);
      later.erase(later.begin() + static_cast<long>(k));
    }
    s.settle();
    drain();
  }
  for (const Header& h : later) r.ingress.push_back(h);
  r.settle();
  drain();
  // A last message over a clean fabric: every loss before it is now known.
  net.filter = nullptr;
  ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 16, kMsgs).status, u(Rsp::kOk));
  s.settle();
  drain();
  ASSERT_FALSE(delivered.empty());
  EXPECT_EQ(delivered.back(), kMsgs);
  for (size_t i = 1; i < delivered.size(); ++i) ASSERT_LT(delivered[i - 1], delivered[i]) << "order / duplicate";
  const uint32_t nacks = CMM_FIELD_GET(s.cst_status(kSPart, ch.tx_ep), CMM_CST_STATUS_TX_NACKS);
  const uint32_t tx_lost = CMM_FIELD_GET(s.rd_ok(kernel(kSPart), cst_addr(ch.tx_ep, CMM_CST_LOST_OFFSET)), CMM_CST_LOST_TX);
  const uint32_t rx_lost = CMM_FIELD_GET(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_LOST_OFFSET)), CMM_CST_LOST_RX);
  EXPECT_EQ(kMsgs + 1, delivered.size() + nacks + tx_lost);
  EXPECT_EQ(tx_lost, rx_lost);
  EXPECT_GT(tx_lost, 30u);                   // the faults happened
  EXPECT_GT(r.rejects(Reason::kSeqOld), 30u);  // duplicates and late ones refused
  EXPECT_EQ(r.rejects(Reason::kSeqGap) + r.rejects(Reason::kSeqOld) + r.rejects(Reason::kRxqFull),
            r.stat(CmmCore::kStatNackSent));
  expect_channel_works(0x21);
}

// =====================================================================
// Hardware key generator (docs/security.md 1.10)
// =====================================================================

class SecurityHwKey : public SecurityHardened {
 protected:
  const Key kE{0x01234567u, 0x89ABCDEFu, 0x0F1E2D3Cu, 0x4B5A6978u};
  static constexpr uint32_t kReady = CMM_KEYGEN_STATUS_READY_MASK << CMM_KEYGEN_STATUS_READY_LSB;
  static constexpr uint32_t kSeeded = CMM_KEYGEN_STATUS_SEEDED_MASK << CMM_KEYGEN_STATUS_SEEDED_LSB;
  uint32_t keygen_status(CoreHarness& h, uint8_t part = 0) { return h.rd_ok(kernel(part), CMM_KEYGEN_STATUS_OFFSET); }
  // A register access accepted exactly at the edge that makes the core's cycle count `c`.
  RegRsp at(CoreHarness& h, uint64_t c, Req who, bool write, uint32_t addr, uint32_t data = 0) {
    h.run_to(c - 1);
    const RegRsp rsp = h.access(who, write, addr, data);
    EXPECT_EQ(rsp.accept_cycle, c);
    return rsp;
  }
  RegRsp hw_cmd(CoreHarness& h, uint8_t part, Cmd op, uint32_t ep) {
    return h.wr(kernel(part), CMM_CMD_OFFSET, hw_cmd_word(op, ep));
  }
};

TEST_F(SecurityHwKey, HardwareKeyConnectOpensAChannelAndDataIsDelivered) {
  const Pair p = authorize_pair(kRPart, kRPid, kSPart, kSPid);
  r.seed(kE);
  r.tick(kKeygenCycles + 1);
  EXPECT_EQ(keygen_status(r, 5), kReady | kSeeded);  // node-wide, any kernel agent
  // CONNECT with HWKEY: no KEY write at all, the key never crosses the register port.
  ASSERT_EQ(hw_cmd(r, kRPart, Cmd::kConnect, p.rx).status, u(Rsp::kOk));
  r.settle();
  const Key hk = hw_key_ref(kE, 0, kR);
  EXPECT_EQ(r.core.ep_state(p.rx), State::kOpen);
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  EXPECT_TRUE(r.core.key_equals_for_test(p.rx, hk));
  EXPECT_TRUE(s.core.key_equals_for_test(p.tx, hk));
  EXPECT_EQ(r.core.key_origin(p.rx), u(Origin::kLocal));
  EXPECT_EQ(s.core.key_origin(p.tx), u(Origin::kRemote));
  EXPECT_TRUE(last_sent(r, Opcode::kConnect).key == hk);
  EXPECT_EQ(CMM_FIELD_GET(r.cst_ctrl(kRPart, p.rx), CMM_CST_CTRL_KEY_VALID), 1u);
  // A message over the hardware-keyed channel.
  r.take_verdicts();
  ASSERT_EQ(s.doorbell(tx_user(), p.tx, 32, 0x77).status, u(Rsp::kOk));
  s.settle();
  EXPECT_TRUE(last_sent(s, Opcode::kData).key == hk);
  const std::vector<VdRec> vd = r.take_verdicts();
  ASSERT_EQ(vd.size(), 1u);
  EXPECT_TRUE(vd[0].accept);
  EXPECT_EQ(vd[0].ep, p.rx);
  EXPECT_EQ(r.core.rxq_count(p.rx), 1u);
  EXPECT_EQ(r.rd_ok(rx_user(), ep_addr(p.rx, CMM_EP_RX_TAG_OFFSET)), 0x77u);
  EXPECT_EQ(r.rejects(Reason::kKeyIncomplete) + r.rejects(Reason::kKeyZero), 0u);
  expect_channel_works(0x31);
}

TEST_F(SecurityHwKey, HardwareKeyIsNotReadyUnseededWithAZeroSeedAndFor14CyclesAfterADraw) {
  const Pair p = authorize_pair(kRPart, kRPid, kSPart, kSPid);
  const int e = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, kSPart, 9);
  ASSERT_GE(e, 0);
  const uint32_t e2 = static_cast<uint32_t>(e);
  const uint32_t sent = r.stat(CmmCore::kStatConnectSent);
  uint32_t n = 0;
  auto refused = [&](Cmd op, uint32_t ep) {
    EXPECT_EQ(hw_cmd(r, kRPart, op, ep).status, u(Rsp::kReject));
    EXPECT_EQ(r.cmd_reason(kRPart), u(Reason::kKeyGenNotReady));
    ++n;
  };
  // Unseeded after reset; an all-zero seed leaves it unseeded.
  EXPECT_EQ(keygen_status(r), 0u);
  refused(Cmd::kConnect, p.rx);
  r.seed(Key{});
  r.tick(2 * kKeygenCycles);
  EXPECT_EQ(keygen_status(r), 0u);
  refused(Cmd::kConnect, p.rx);
  refused(Cmd::kSetKey, e2);
  EXPECT_EQ(r.rejects(Reason::kKeyGenNotReady), n);
  EXPECT_EQ(r.core.ep_state(p.rx), State::kAuthorized);  // nothing changed, nothing sent
  EXPECT_FALSE(r.core.key_valid(p.rx));
  EXPECT_FALSE(r.core.key_valid(e2));
  EXPECT_EQ(r.stat(CmmCore::kStatConnectSent), sent);
  // Seeded at edge c0: not ready at edge c0 + 13, ready at c0 + 14.
  r.seed(kE);
  const uint64_t c0 = r.core.cycle();
  EXPECT_EQ(at(r, c0 + kKeygenCycles - 1, kernel(0), false, CMM_KEYGEN_STATUS_OFFSET).rdata, kSeeded);
  EXPECT_EQ(at(r, c0 + kKeygenCycles, kernel(0), false, CMM_KEYGEN_STATUS_OFFSET).rdata, kReady | kSeeded);
  // A draw at edge d: the next draw is refused at d + 13 and succeeds at d + 14.
  const RegRsp d = hw_cmd(r, kRPart, Cmd::kSetKey, p.rx);
  ASSERT_EQ(d.status, u(Rsp::kOk));
  EXPECT_TRUE(r.core.key_equals_for_test(p.rx, hw_key_ref(kE, 0, kR)));
  EXPECT_EQ(at(r, d.accept_cycle + kKeygenCycles - 1, kernel(kRPart), true, CMM_CMD_OFFSET,
               hw_cmd_word(Cmd::kSetKey, e2)).status,
            u(Rsp::kReject));
  ++n;
  EXPECT_FALSE(r.core.key_valid(e2));
  EXPECT_EQ(at(r, d.accept_cycle + kKeygenCycles, kernel(kRPart), true, CMM_CMD_OFFSET,
               hw_cmd_word(Cmd::kSetKey, e2)).status,
            u(Rsp::kOk));
  EXPECT_TRUE(r.core.key_equals_for_test(e2, hw_key_ref(kE, 1, kR)));
  EXPECT_EQ(r.rejects(Reason::kKeyGenNotReady), n);
  // The SET_KEY key opens the channel with a plain CONNECT (the stored key is used).
  r.cmd_ok(kRPart, Cmd::kConnect, p.rx);
  r.settle();
  EXPECT_EQ(s.core.ep_state(p.tx), State::kOpen);
  EXPECT_TRUE(s.core.key_equals_for_test(p.tx, hw_key_ref(kE, 0, kR)));
  expect_channel_works(0x32);
}

TEST_F(SecurityHwKey, HwkeyWithAnyOtherCommandIsReservedBits) {
  const int e = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, kSPart, 9);
  ASSERT_GE(e, 0);
  r.seed(kE);
  r.tick(kKeygenCycles + 1);
  const Key staged = random_key(rng);
  r.stage_key(kRPart, staged);
  const uint32_t st = r.cmd_status(kRPart);
  const uint32_t info = r.rd_ok(kernel(kRPart), CMM_PART_INFO_OFFSET);
  uint32_t n = 0;
  for (uint32_t op = 0; op <= CMM_CMD_OP_MASK; ++op) {
    if (op == u(Cmd::kConnect) || op == u(Cmd::kSetKey)) continue;
    SCOPED_TRACE(op);
    EXPECT_EQ(hw_cmd(r, kRPart, static_cast<Cmd>(op), static_cast<uint32_t>(e)).status, u(Rsp::kReject));
    ++n;
  }
  EXPECT_EQ(r.rejects(Reason::kReservedBits), n);
  EXPECT_EQ(r.cmd_status(kRPart), st);  // no command ran (not even ALLOC or FREE)
  EXPECT_EQ(r.rd_ok(kernel(kRPart), CMM_PART_INFO_OFFSET), info);
  EXPECT_EQ(r.core.ep_state(static_cast<uint32_t>(e)), State::kAuthorized);
  EXPECT_EQ(keygen_status(r), kReady | kSeeded);  // nothing drawn
  // Nothing changed: the staged key is still there for a plain SET_KEY.
  r.cmd_ok(kRPart, Cmd::kSetKey, static_cast<uint32_t>(e));
  EXPECT_TRUE(r.core.key_equals_for_test(static_cast<uint32_t>(e), staged));
  r.clear_errlog(kRPart);
  expect_channel_works(0x33);
}

TEST_F(SecurityHwKey, ReseedingAbandonsAnInFlightComputationAndAReadyResult) {
  const int e = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, kSPart, 9);
  ASSERT_GE(e, 0);
  const Key e1{1u, 2u, 3u, 4u}, e2{5u, 6u, 7u, 8u}, e3{9u, 10u, 11u, 12u};
  r.seed(e1);
  const uint64_t c1 = r.core.cycle();
  r.run_to(c1 + 5);
  r.seed(e2);  // mid-computation
  const uint64_t c2 = r.core.cycle();
  // The first computation would have been ready at c1 + 14; the second is at c2 + 14.
  EXPECT_EQ(at(r, c1 + kKeygenCycles, kernel(0), false, CMM_KEYGEN_STATUS_OFFSET).rdata, kSeeded);
  EXPECT_EQ(at(r, c2 + kKeygenCycles - 1, kernel(0), false, CMM_KEYGEN_STATUS_OFFSET).rdata, kSeeded);
  EXPECT_EQ(at(r, c2 + kKeygenCycles, kernel(0), false, CMM_KEYGEN_STATUS_OFFSET).rdata, kReady | kSeeded);
  r.seed(e3);  // a ready result is dropped too
  EXPECT_EQ(keygen_status(r), kSeeded);
  r.tick(kKeygenCycles);
  ASSERT_EQ(hw_cmd(r, kRPart, Cmd::kSetKey, static_cast<uint32_t>(e)).status, u(Rsp::kOk));
  const uint32_t ep = static_cast<uint32_t>(e);
  EXPECT_TRUE(r.core.key_equals_for_test(ep, hw_key_ref(e3, 0, kR)));
  EXPECT_FALSE(r.core.key_equals_for_test(ep, hw_key_ref(e2, 0, kR)));
  EXPECT_FALSE(r.core.key_equals_for_test(ep, hw_key_ref(e1, 0, kR)));
  EXPECT_EQ(r.rejects(Reason::kKeyGenNotReady), 0u);
  expect_channel_works(0x34);
}

TEST_F(SecurityHwKey, TwoNodesWithTheSameEntropyMakeDifferentKeys) {
  // A platform that seeds every node alike still gets distinct keys: the node id is in the message.
  const int er = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, kSPart, 9);
  const int es = s.make_entry(kSPart, kSPid, Dir::kRecv, kR, kRPart, 9);
  ASSERT_GE(er, 0);
  ASSERT_GE(es, 0);
  r.seed(kE);
  s.seed(kE);
  r.tick(kKeygenCycles + 1);
  ASSERT_EQ(hw_cmd(r, kRPart, Cmd::kSetKey, static_cast<uint32_t>(er)).status, u(Rsp::kOk));
  ASSERT_EQ(hw_cmd(s, kSPart, Cmd::kSetKey, static_cast<uint32_t>(es)).status, u(Rsp::kOk));
  const Key kr = hw_key_ref(kE, 0, kR), ks = hw_key_ref(kE, 0, kS);
  EXPECT_FALSE(kr == ks);
  EXPECT_TRUE(r.core.key_equals_for_test(static_cast<uint32_t>(er), kr));
  EXPECT_TRUE(s.core.key_equals_for_test(static_cast<uint32_t>(es), ks));
  EXPECT_FALSE(r.core.key_equals_for_test(static_cast<uint32_t>(er), ks));
  expect_channel_works(0x35);
}

TEST_F(SecurityHwKey, GeneratorKeysAreSipHashOfCounterAndNodeAndAResendDrawsNone) {
  // Three receive entries whose CONNECTs never arrive (the peer never sees them).
  net.filter = [](Header& h) { return h.opcode != u(Opcode::kConnect); };
  std::vector<uint32_t> eps;
  for (uint32_t i = 0; i < 3; ++i) {
    const int e = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, kSPart, static_cast<uint8_t>(10 + i));
    ASSERT_GE(e, 0);
    eps.push_back(static_cast<uint32_t>(e));
  }
  r.seed(kE);
  for (uint32_t i = 0; i < 3; ++i) {
    r.tick(kKeygenCycles + 1);
    ASSERT_EQ(hw_cmd(r, kRPart, Cmd::kConnect, eps[i]).status, u(Rsp::kOk)) << i;
    r.settle();
    const Key want = hw_key_ref(kE, i, kR);
    EXPECT_TRUE(r.core.key_equals_for_test(eps[i], want)) << i;
    EXPECT_TRUE(net.dropped.back().key == want) << i;  // on the wire (and compared with the RTL)
    EXPECT_EQ(r.core.ep_state(eps[i]), State::kConnecting);
  }
  // Re-sending a CONNECT with HWKEY sends the stored key again and draws nothing.
  r.tick(kKeygenCycles + 1);
  ASSERT_EQ(hw_cmd(r, kRPart, Cmd::kConnect, eps[0]).status, u(Rsp::kOk));
  r.settle();
  EXPECT_TRUE(net.dropped.back().key == hw_key_ref(kE, 0, kR));
  EXPECT_EQ(keygen_status(r), kReady | kSeeded);
  EXPECT_TRUE(r.core.key_equals_for_test(eps[0], hw_key_ref(kE, 0, kR)));
  // The next draw (another partition: the generator is node-wide) is counter 3.
  const int e = r.make_entry(4, 400, Dir::kRecv, kS, kSPart, 13);
  ASSERT_GE(e, 0);
  ASSERT_EQ(hw_cmd(r, 4, Cmd::kSetKey, static_cast<uint32_t>(e)).status, u(Rsp::kOk));
  EXPECT_TRUE(r.core.key_equals_for_test(static_cast<uint32_t>(e), hw_key_ref(kE, 3, kR)));
  net.filter = nullptr;
  expect_channel_works(0x36);
}

// =====================================================================
// Table integrity (docs/security.md 1.11)
// =====================================================================

class SecurityTableFault : public SecurityHardened {
 protected:
  uint32_t table_fault_reg(uint8_t part = 0) { return r.rd_ok(kernel(part), CMM_TABLE_FAULT_OFFSET); }
  Header data_for(const Channel& c, const Key& k, uint16_t seq) const {
    Header d = make_header(Opcode::kData, kS, c.tx_part, static_cast<uint8_t>(c.tx_ep), kR, c.rx_part,
                           static_cast<uint8_t>(c.rx_ep));
    d.len = 40;
    d.key = k;
    d.src_gen = c.tx_gen;
    d.dst_gen = c.rx_gen;
    d.seq = seq;
    return d;
  }
};

// For every protected bit and the parity bit of the receive entry of an open
// channel, in the CST and in the CKT: the flip fails the entry closed, is
// reported everywhere, and nothing addressed to the entry is ever used again.
TEST_F(SecurityTableFault, EveryBitFlipOfAnOpenChannelEntryFailsClosed) {
  uint32_t flips = 0;
  for (uint8_t t = 0; t < 2; ++t) {
    const uint32_t bits = t == 0 ? CmmCore::kCstProtBits : CmmCore::kCktProtBits;
    for (uint32_t b = 0; b <= bits; ++b) {
      SCOPED_TRACE(std::string(t == 0 ? "CST" : "CKT") + " bit " + std::to_string(b));
      r.core.reset();
      s.core.reset();
      r.take_egress();
      s.take_egress();
      r.take_verdicts();
      const Key key = random_key(rng);
      const Channel c = open_channel(r, kRPart, kRPid, s, kSPart, kSPid, key);
      ASSERT_EQ(r.core.ep_state(c.rx_ep), State::kOpen);
      r.flip(t, c.rx_ep, b);
      r.tick();  // detected at the next edge
      ++flips;
      EXPECT_EQ(r.core.ep_state(c.rx_ep), State::kFault);
      EXPECT_FALSE(r.core.key_valid(c.rx_ep));
      const uint32_t tf = table_fault_reg(5);
      EXPECT_EQ(CMM_FIELD_GET(tf, CMM_TABLE_FAULT_COUNT), 1u);
      EXPECT_EQ(CMM_FIELD_GET(tf, CMM_TABLE_FAULT_LAST_EP), c.rx_ep);
      EXPECT_EQ(CMM_FIELD_GET(tf, CMM_TABLE_FAULT_LAST_TABLE), t);
      uint32_t n = 1;
      EXPECT_EQ(r.rejects(Reason::kTableFault), n);
      // The stored state and owner after the flip decide where the exception goes.
      uint32_t st = u(State::kOpen), own = kRPart;
      if (t == 0 && b < 3) st ^= 1u << b;
      if (t == 0 && b >= 4 && b < 8) own ^= 1u << (b - 4);
      const bool exc = st != u(State::kFree) && own < kNumPartitions;
      for (uint8_t p = 0; p < kNumPartitions; ++p) {
        const uint32_t irq = r.irq_status(p);
        EXPECT_NE(irq & bit(Irq::kAlarm), 0u) << int(p);
        EXPECT_EQ(r.rd_ok(kernel(p), CMM_ALARM_COUNT_OFFSET), 1u) << int(p);
        const bool mine = exc && p == own;
        EXPECT_EQ(r.rd_ok(kernel(p), CMM_EXC_COUNT_OFFSET), mine ? 1u : 0u) << int(p);
        EXPECT_EQ((irq & bit(Irq::kExc)) != 0, mine) << int(p);
      }
      if (exc) {
        const uint32_t x = r.rd_ok(kernel(static_cast<uint8_t>(own)), CMM_EXC_FIRST_OFFSET);
        EXPECT_EQ(CMM_FIELD_GET(x, CMM_EXC_FIRST_REASON), u(Reason::kTableFault));
        EXPECT_EQ(CMM_FIELD_GET(x, CMM_EXC_FIRST_EP), c.rx_ep);
      }
      // Neither the owner nor the partition a flipped owner field names can
      // command or read the entry.
      for (uint32_t p : {uint32_t{kRPart}, own}) {
        if (p >= kNumPartitions) continue;
        const uint8_t pp = static_cast<uint8_t>(p);
        r.cmd_refused(pp, Cmd::kClose, c.rx_ep, Reason::kTableFault);
        EXPECT_EQ(r.rd(kernel(pp), cst_addr(c.rx_ep, CMM_CST_CTRL_OFFSET)).status, u(Rsp::kReject));
        EXPECT_EQ(r.rd(user(pp, kRPid), ep_addr(c.rx_ep, CMM_EP_RX_STATUS_OFFSET)).status, u(Rsp::kReject));
        n += 3;
      }
      // DATA with the channel's key (the sender's doorbell) and, for a key
      // bit, with the flipped key: dropped, counted, never answered.
      const size_t eg = r.egress.size();
      ASSERT_EQ(s.doorbell(tx_user(), c.tx_ep, 40, 0x55).status, u(Rsp::kOk));
      s.settle();
      ++n;
      if (t == 1 && b < 128) {
        Key flipped = key;
        flipped[b / 32] ^= 1u << (b % 32);
        r.inject(data_for(c, flipped, 1));
        r.inject(data_for(c, key, 1));
        n += 2;
      }
      for (const VdRec& v : r.take_verdicts()) {
        EXPECT_FALSE(v.accept);
        EXPECT_EQ(v.reason, u(Reason::kTableFault));
      }
      EXPECT_EQ(r.egress.size(), eg);  // no NACK
      EXPECT_EQ(r.core.rxq_count(c.rx_ep), 0u);
      EXPECT_EQ(r.stat(CmmCore::kStatDataDelivered), 0u);
      EXPECT_EQ(r.rejects(Reason::kTableFault), n);
      if (HasFailure()) return;
    }
  }
  EXPECT_EQ(flips, (CmmCore::kCstProtBits + 1) + 131u);
}

TEST_F(SecurityTableFault, FaultEntryRefusesEveryPacketKindAndCommandWithoutAnswer) {
  r.flip(1, ch.rx_ep, 77);  // one key bit
  r.tick();
  ASSERT_EQ(r.core.ep_state(ch.rx_ep), State::kFault);
  uint32_t n = 1;
  r.take_egress();
  r.take_verdicts();
  // Every channel packet kind, with the right ids, generations and key.
  Header d = data_to_rx(ch.key);
  Header nk = from_s(Opcode::kNack);
  nk.aux = u(Opcode::kConnect);
  nk.key = ch.key;
  Header ack = from_s(Opcode::kConnectAck);
  ack.key = ch.key;
  Header con = from_s(Opcode::kConnect);
  con.key = ch.key;
  Header cl = from_s(Opcode::kClose);
  cl.key = ch.key;
  for (const Header& h : {d, con, ack, nk, cl}) {
    SCOPED_TRACE(opcode_name(h.opcode));
    inject(r, h);
    EXPECT_EQ(r.rejects(Reason::kTableFault), ++n);
  }
  EXPECT_TRUE(r.egress.empty());  // nothing answered
  const std::vector<VdRec> vd = r.take_verdicts();
  ASSERT_EQ(vd.size(), 1u);
  EXPECT_FALSE(vd[0].accept);
  EXPECT_EQ(vd[0].reason, u(Reason::kTableFault));
  EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kFault);
  // Every command naming it, by the owner and by another partition: TABLE_FAULT
  // (not DENIED: the owner field is not trusted); the range check stays first.
  for (uint8_t p : {kRPart, uint8_t{1}}) {
    for (Cmd op : {Cmd::kAuthorize, Cmd::kSetKey, Cmd::kConnect, Cmd::kClose, Cmd::kFree}) {
      r.cmd_refused(p, op, ch.rx_ep, Reason::kTableFault);
      ++n;
    }
    EXPECT_EQ(r.wr(kernel(p), CMM_CMD_OFFSET, hw_cmd_word(Cmd::kConnect, ch.rx_ep)).status, u(Rsp::kReject));
    EXPECT_EQ(r.cmd_reason(p), u(Reason::kTableFault));
    ++n;
  }
  r.cmd_refused(kRPart, Cmd::kClose, kNumEndpoints, Reason::kBadEp);
  EXPECT_EQ(r.rejects(Reason::kTableFault), n);
  EXPECT_EQ(r.rejects(Reason::kDenied), 0u);
  // The partition keeps counting the entry (its quota shrinks until reset).
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(kernel(kRPart), CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 1u);
  // Management traffic is not addressed to an entry: still delivered.
  Header m = make_header(Opcode::kMgmt, kS, kSPart, 0, kR, kRPart, 0);
  m.key = Key{1, 2, 3, 4};
  inject(r, m);
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(kernel(kRPart), CMM_MGMT_RX_STATUS_OFFSET), CMM_MGMT_RX_STATUS_COUNT), 1u);
}

TEST_F(SecurityTableFault, FaultEntryIsNeverReallocatedNorCountedFree) {
  // Partition 0 may hold 3, every other one 2 (over-committed by one).
  Straps st;
  st.node_id = kR;
  st.quota.fill(2);
  st.quota[0] = 3;
  CoreHarness h(st);
  const int f = h.alloc(0);
  ASSERT_GE(f, 0);
  h.flip(0, static_cast<uint32_t>(f), 10);  // owner_pid bit of an ALLOCATED entry
  h.tick();
  ASSERT_EQ(h.core.ep_state(static_cast<uint32_t>(f)), State::kFault);
  // Partitions 2..7 take their quotas, partition 0 one more: 13 entries plus the fault.
  std::vector<int> got;
  for (uint8_t p = 2; p < kNumPartitions; ++p)
    for (int i = 0; i < 2; ++i) got.push_back(h.alloc(p));
  got.push_back(h.alloc(0));
  for (int e : got) {
    EXPECT_GE(e, 0);
    EXPECT_NE(e, f);
  }
  // Two entries are free, both reserved for partition 1 (used 0 < 2): partition 0
  // is refused; counting the FAULT entry as free would have let it take one.
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kNoFreeEp);
  const int a = h.alloc(1), b = h.alloc(1);
  EXPECT_GE(a, 0);
  EXPECT_GE(b, 0);
  EXPECT_NE(a, f);
  EXPECT_NE(b, f);
  // Table full but for the FAULT entry: never handed out, also after a FREE.
  h.cmd_refused(0, Cmd::kAlloc, 0, Reason::kNoFreeEp);
  h.cmd_ok(1, Cmd::kFree, static_cast<uint32_t>(a));
  EXPECT_EQ(h.alloc(1), a);
  EXPECT_EQ(h.core.ep_state(static_cast<uint32_t>(f)), State::kFault);
  EXPECT_EQ(h.rejects(Reason::kNoFreeEp), 2u);
}

TEST_F(SecurityTableFault, FaultsInOneChannelLeaveTheOtherChannelsWorking) {
  // A second channel between the same nodes, failed closed at both ends.
  const Channel c2 = open_channel(r, 4, 400, s, 1, 401, random_key(rng));
  ASSERT_EQ(s.core.ep_state(c2.tx_ep), State::kOpen);
  r.flip(1, c2.rx_ep, 128);  // CKT valid bit at the receiver
  s.flip(0, c2.tx_ep, 30);   // CST rnode bit at the sender
  r.tick();
  EXPECT_EQ(r.core.ep_state(c2.rx_ep), State::kFault);
  EXPECT_EQ(s.core.ep_state(c2.tx_ep), State::kFault);
  // The faulted sender refuses its process's doorbell.
  EXPECT_EQ(s.doorbell(user(1, 401), c2.tx_ep, 40, 1).status, u(Rsp::kReject));
  EXPECT_EQ(s.rejects(Reason::kTableFault), 2u);
  EXPECT_EQ(CMM_FIELD_GET(s.rd_ok(kernel(0), CMM_TABLE_FAULT_OFFSET), CMM_TABLE_FAULT_LAST_TABLE), 0u);
  EXPECT_EQ(CMM_FIELD_GET(r.rd_ok(kernel(0), CMM_TABLE_FAULT_OFFSET), CMM_TABLE_FAULT_LAST_TABLE), 1u);
  // The first channel, its entries and its keys are untouched.
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  EXPECT_TRUE(s.core.key_equals_for_test(ch.tx_ep, ch.key));
  r.clear_errlog(4);
  expect_channel_works(0x41);
  expect_channel_works(0x42);
}

}  // namespace
}  // namespace cmm::coretest
