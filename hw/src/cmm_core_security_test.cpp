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
                uint8_t src_node) {
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

class Security : public ::testing::Test {
 protected:
  CoreHarness r{kR}, s{kS}, x{kX};
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
    ASSERT_EQ(s.doorbell(tx_user(), ch.tx_ep, 40, tag).status, u(Rsp::kOk));
    s.settle();
    ASSERT_EQ(s.egress.size(), eg_before + 1);
    Header d = make_header(Opcode::kData, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart,
                           static_cast<uint8_t>(ch.rx_ep));
    d.len = 40;
    d.tag = tag;
    d.key = ch.key;
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
  h.inject(make_header(Opcode::kConnectAck, kS, 0, 0, kR, 0, static_cast<uint8_t>(e)));
  // p1: receive entry AUTHORIZED with a key from SET_KEY.
  e = h.make_entry(1, pid(1), Dir::kRecv, kS, 1, 1);
  h.stage_key(1, keys[1]);
  h.cmd_ok(1, Cmd::kSetKey, static_cast<uint32_t>(e));
  // p2: send entry OPEN with a remote key.
  e = h.make_entry(2, pid(2), Dir::kSend, kS, 2, 2);
  Header c = make_header(Opcode::kConnect, kS, 2, 2, kR, 2, static_cast<uint8_t>(e));
  c.key = keys[2];
  h.inject(c);
  // p3: receive entry CONNECTING.
  e = h.make_entry(3, pid(3), Dir::kRecv, kS, 3, 3);
  h.stage_key(3, keys[3]);
  h.cmd_ok(3, Cmd::kConnect, static_cast<uint32_t>(e));
  // p4: send entry OPEN, then a second CONNECT with another key (refused).
  e = h.make_entry(4, pid(4), Dir::kSend, kS, 4, 4);
  c = make_header(Opcode::kConnect, kS, 4, 4, kR, 4, static_cast<uint8_t>(e));
  c.key = keys[4];
  h.inject(c);
  c.key = keys[5];
  h.inject(c);
  // p5: receive entry OPEN holding a delivered message.
  e = h.make_entry(5, pid(5), Dir::kRecv, kS, 5, 5);
  h.stage_key(5, keys[6]);
  h.cmd_ok(5, Cmd::kConnect, static_cast<uint32_t>(e));
  h.inject(make_header(Opcode::kConnectAck, kS, 5, 5, kR, 5, static_cast<uint8_t>(e)));
  Header d = make_header(Opcode::kData, kS, 5, 5, kR, 5, static_cast<uint8_t>(e));
  d.len = 16;
  d.key = keys[6];
  h.inject(d);
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
  for (int i = 0; i < 15; ++i) ka.push_back(random_key(rng));
  for (int i = 0; i < 15; ++i) kb.push_back(random_key(rng));
  // Two cores, same history, different keys.
  CoreHarness a(kR), b(kR);
  plant_keys(a, ka);
  plant_keys(b, kb);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(a.core.out(), b.core.out());
  ASSERT_EQ(a.core.cycle(), b.core.cycle());
  EXPECT_EQ(a.rejects(Reason::kKeyPresent), 1u);
  std::vector<uint32_t> words;
  for (const auto* set : {&ka, &kb})
    for (const Key& k : *set) words.insert(words.end(), k.begin(), k.end());
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
        a.core.step(in);
        b.core.step(in);
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
    for (uint8_t p = 0; p < kNumPartitions; ++p) {
      h.cmd_ok(p, Cmd::kSetKey, 6u + p);
      EXPECT_TRUE(h.core.key_equals_for_test(6u + p, k[7 + p])) << int(p);
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
    // The NACK went to the claimed source, whose CMM records it.
    const uint32_t ts = s.rd_ok(tx_user(), ep_addr(ch.tx_ep, CMM_EP_TX_STATUS_OFFSET));
    EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kBadKey));
    EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_NACKS), n);
    EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_TAG), 0xF00u + n - 1);
  }
  EXPECT_EQ(r.stat(CmmCore::kStatDataDelivered), 0u);
  EXPECT_EQ(s.irq_status(kSPart), bit(Irq::kTxnack));
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  expect_channel_works(1);
  EXPECT_EQ(r.rejects(Reason::kBadKey), n);
}

TEST_F(Security, I2RightKeyFromTheWrongSourceIsRefused) {
  // Even with the channel key (say it leaked), a DATA whose hardware-stamped
  // source is not the CST's remote is refused.
  struct Case {
    uint8_t node, part, ep;
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
  const int r2 = r.make_entry(kRPart, kRPid, Dir::kRecv, kS, 1, static_cast<uint8_t>(s2));
  ASSERT_GE(s2, 0);
  ASSERT_GE(r2, 0);
  s.wr_ok(kernel(1), cst_addr(static_cast<uint32_t>(s2), CMM_CST_REMOTE_OFFSET),
          remote_word(kR, kRPart, static_cast<uint8_t>(r2)));
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
  const int s3 = s.make_entry(1, 3001, Dir::kSend, kR, kRPart, static_cast<uint8_t>(r3));
  ASSERT_GE(r3, 0);
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
    // The attacker's CMM got the NACK: its entry is back to AUTHORIZED.
    EXPECT_EQ(a.node->core.ep_state(static_cast<uint32_t>(ae)), State::kAuthorized);
    EXPECT_EQ(CMM_FIELD_GET(a.node->cst_status(a.part, static_cast<uint32_t>(ae)), CMM_CST_STATUS_LAST_REASON),
              u(a.why));
    a.node->cmd_ok(a.part, Cmd::kClose, static_cast<uint32_t>(ae));
    a.node->cmd_ok(a.part, Cmd::kFree, static_cast<uint32_t>(ae));
    a.node->clear_errlog(a.part);
  }
  // The legitimate receiver endpoint r3 connects.
  const Key k = random_key(rng);
  r.wr_ok(kernel(kRPart), cst_addr(static_cast<uint32_t>(r3), CMM_CST_REMOTE_OFFSET), remote_word(kS, 1, se));
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
  EXPECT_EQ(r.irq_status(kRPart), bit(Irq::kErr));
  EXPECT_EQ(r.core.out().irq, 1u << kRPart);
  // Entry unchanged.
  EXPECT_TRUE(r.core.key_equals_for_test(ch.rx_ep, ch.key));
  EXPECT_FALSE(r.core.key_equals_for_test(ch.rx_ep, evil));
  EXPECT_EQ(r.core.key_origin(ch.rx_ep), u(Origin::kLocal));
  EXPECT_EQ(r.core.ep_state(ch.rx_ep), State::kOpen);
  EXPECT_EQ(r.rd_ok(kernel(kRPart), cst_addr(ch.rx_ep, CMM_CST_REMOTE_OFFSET)),
            remote_word(kS, kSPart, static_cast<uint8_t>(ch.tx_ep)));
  // The attacker was NACKed.
  EXPECT_EQ(x.core.ep_state(static_cast<uint32_t>(xe)), State::kAuthorized);
  EXPECT_EQ(CMM_FIELD_GET(x.cst_status(2, static_cast<uint32_t>(xe)), CMM_CST_STATUS_LAST_REASON), u(Reason::kKeyLocked));
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
    EXPECT_EQ(s.irq_status(kSPart), bit(Irq::kErr));
    EXPECT_EQ(s.core.out().irq, 1u << kSPart);
    s.wr_ok(kernel(kSPart), CMM_IRQ_STATUS_OFFSET, bit(Irq::kErr));
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
    const uint32_t st = r.rd_ok(kernel(intruder.part), CMM_ERRLOG_STATUS_OFFSET);
    EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT), kErrlogDepth);
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
  const uint32_t st = r.rd_ok(k5, CMM_ERRLOG_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT), kErrlogDepth);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST), n - kErrlogDepth);
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
  for (uint32_t i = 0; i < CMM_KEY_COUNT; ++i) kregs.push_back(CMM_KEY_OFFSET + 4 * i);
  for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) kregs.push_back(CMM_MGMT_TX_OFFSET + 4 * i);
  for (uint32_t i = 0; i < CMM_MGMT_RX_COUNT; ++i) kregs.push_back(CMM_MGMT_RX_OFFSET + 4 * i);
  for (uint32_t i = 0; i < CMM_REJECT_COUNT_COUNT; ++i) kregs.push_back(CMM_REJECT_COUNT_OFFSET + 4 * i);
  for (uint32_t i = 0; i < CMM_STAT_COUNT; ++i) kregs.push_back(stat_addr(i));
  // Its own endpoint's CST entry is kernel-only too.
  for (uint32_t off : {CMM_CST_CTRL_OFFSET, CMM_CST_OWNER_OFFSET, CMM_CST_REMOTE_OFFSET, CMM_CST_STATUS_OFFSET})
    kregs.push_back(cst_addr(ch.rx_ep, off));
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
  const uint32_t n = 2 * static_cast<uint32_t>(kregs.size());
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
  const uint32_t st = r.rd_ok(kernel(kRPart), CMM_ERRLOG_STATUS_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT), kErrlogDepth);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST), n - kErrlogDepth);
  expect_log(r, kRPart, Reason::kDenied, 0, 0, false, false, kR);
  expect_channel_works(13);
}

// =====================================================================
// I4: source ids in packets come from hardware
// =====================================================================

TEST_F(Security, I4DataHeadersCarryHardwareIdsWhateverSoftwareDoes) {
  Header expect = make_header(Opcode::kData, kS, kSPart, static_cast<uint8_t>(ch.tx_ep), kR, kRPart,
                              static_cast<uint8_t>(ch.rx_ep));
  expect.key = ch.key;
  // The agent cannot re-point or re-own the open entry.
  for (uint32_t off : {CMM_CST_CTRL_OFFSET, CMM_CST_OWNER_OFFSET, CMM_CST_REMOTE_OFFSET})
    EXPECT_EQ(s.wr(kernel(kSPart), cst_addr(ch.tx_ep, off), remote_word(kX, 7, 7)).status, u(Rsp::kReject));
  EXPECT_EQ(s.rejects(Reason::kNotOpen), 3u);
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
    s.wr_ok(kernel(p), CMM_MGMT_DST_OFFSET, 0xFFFFF000u | remote_word(kR, kRPart, 0));
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

}  // namespace
}  // namespace cmm::coretest
