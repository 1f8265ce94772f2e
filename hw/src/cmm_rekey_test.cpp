// Rekey without drain (docs/strong-mode.md 7): two key slots per CKT entry,
// the KS header bit, CMD REKEY, the forced rekey (REKEY_DUE) and the per-key
// hard limit (KEY_EXHAUSTED); attacks on it (label security); and many
// rekeys under traffic with reliable delivery and wire faults.
#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

constexpr uint8_t kStrongBit = 1u << regs::kStrongAuxBit;
constexpr uint8_t kKsBit = 1u << regs::kKeySlotAuxBit;
constexpr uint32_t kIrqErr = 1u << static_cast<uint32_t>(Irq::kErr);
const Key kLink{0x01234567u, 0x89ABCDEFu, 0x0F1E2D3Cu, 0x4B5A6978u};
const Key kKey1{0xA5A5A5A5u, 0x11223344u, 0xDEADBEEFu, 0x0BADF00Du};
Key nth_key(uint32_t i) { return Key{0x1000u + i, 0x5EED0000u ^ i, 0xC0FFEE00u + 3 * i, 0x77u << (i % 24)}; }

CoreParams rk_params(bool rekey = true, bool reliable = false) {
  CoreParams p;
  p.strong = true;
  p.rekey = rekey;
  p.reliable = reliable;
  p.rekey_soft_limit = 4;
  p.rekey_hard_limit = 8;
  p.tx_window = 4;
  p.retx_max = 8;
  p.retx_timeout_cycles = 96;
  return p;
}
void provision(CoreHarness& h, uint16_t node) { provision_link(h, node, kLink); }
std::vector<uint8_t> payload(uint32_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 29 + 3 * i);
  return v;
}
struct Pkt {
  Header h;
  std::vector<uint8_t> pay;
};

// rx (node 1, partition 1) receives from tx (node 2, partition 2) on a strong channel.
class Rekey : public ::testing::Test {
 protected:
  explicit Rekey(bool rekey = true, bool reliable = false)
      : rx{1, rk_params(rekey, reliable)}, tx{2, rk_params(rekey, reliable)}, net{{&rx, &tx}} {}
  void SetUp() override {
    provision(rx, 2);
    provision(tx, 1);
    net.tap = [this](const Header& h, const std::vector<uint8_t>& p) {
      recorded.push_back(Pkt{h, p});
      if (hold_data && h.opcode == u(Opcode::kData)) {
        held.push_back(Pkt{h, p});
        return false;
      }
      return true;
    };
    rx.core.set_observer(&log);
  }
  void fill(CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, uint8_t rn, uint8_t rp, uint32_t re,
            uint8_t rgen) {
    h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_CTRL_OFFSET),
            CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, u(dir)), CMM_CST_CTRL_MODE, 1u));
    h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), pid);
    h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote_word(rn, rp, re));
    h.set_remote_gen(part, ep, rgen);
    h.cmd_ok(part, Cmd::kAuthorize, ep);
  }
  void open() {
    c.rx_ep = static_cast<uint32_t>(rx.alloc(1));
    c.tx_ep = static_cast<uint32_t>(tx.alloc(2));
    c.rx_gen = rx.gen(1, c.rx_ep);
    c.tx_gen = tx.gen(2, c.tx_ep);
    fill(tx, 2, c.tx_ep, 20, Dir::kSend, 1, 1, c.rx_ep, c.rx_gen);
    fill(rx, 1, c.rx_ep, 10, Dir::kRecv, 2, 2, c.tx_ep, c.tx_gen);
    rx.stage_key(1, kKey1);
    rx.cmd_ok(1, Cmd::kConnect, c.rx_ep);
    rx.settle();
    ASSERT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
    ASSERT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  }
  RegRsp send(uint32_t tag, uint32_t len = 24) {
    tx.tx_payload = payload(len, tag);
    const RegRsp r = tx.doorbell(user(2, 20), c.tx_ep, len, tag);
    tx.tick(len / 16 + 8);
    return r;
  }
  void drain() {
    while (rx.core.rxq_count(c.rx_ep) > 0) rx.wr_ok(user(1, 10), ep_addr(c.rx_ep, regs::CMM_EP_RX_POP_OFFSET), 1);
  }
  void rekey(const Key& k) {
    rx.stage_key(1, k);
    rx.cmd_ok(1, Cmd::kRekey, c.rx_ep);
  }
  uint32_t ctrl(CoreHarness& h, uint8_t part, uint32_t ep) { return h.cst_ctrl(part, ep); }
  void release() {
    for (const Pkt& p : held) net.deliver(p.h, p.pay);
    held.clear();
  }

  CoreHarness rx, tx;
  Net net;
  DeliveryLog log;
  Channel c;
  std::vector<Pkt> recorded;
  std::deque<Pkt> held;
  bool hold_data = false;
};

// The new key goes into the other slot at both ends with traffic in flight:
// the receiver accepts a DATA MAC'd under the old slot after the switch was
// acknowledged, and retires the old slot only at the first DATA under the new one.
TEST_F(Rekey, NewKeyInstalledWithoutDrainAndBothSlotsAcceptedUntilTheFirstNewSlotPacket) {
  open();
  ASSERT_EQ(send(0).status, u(Rsp::kOk));
  hold_data = true;
  ASSERT_EQ(send(1).status, u(Rsp::kOk));  // in flight under slot 0
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].h.aux & (kStrongBit | kKsBit), kStrongBit);
  const Key k2 = nth_key(2);
  rekey(k2);
  // REKEY_PENDING until the sender's CMM acknowledges; both slots at the receiver.
  EXPECT_EQ(CMM_FIELD_GET(ctrl(rx, 1, c.rx_ep), CMM_CST_CTRL_REKEY_PENDING), 1u);
  rx.settle();
  const uint32_t rc = ctrl(rx, 1, c.rx_ep);
  EXPECT_EQ(CMM_FIELD_GET(rc, CMM_CST_CTRL_REKEY_PENDING), 0u);
  EXPECT_EQ(CMM_FIELD_GET(rc, CMM_CST_CTRL_KEY_SLOT), 1u);
  EXPECT_EQ(CMM_FIELD_GET(rc, CMM_CST_CTRL_OLD_SLOT_VALID), 1u);
  EXPECT_EQ(CMM_FIELD_GET(rc, CMM_CST_CTRL_STATE), u(State::kOpen));  // never left OPEN
  EXPECT_TRUE(tx.core.key_equals_for_test(c.tx_ep, k2));
  EXPECT_EQ(tx.core.key_slot(c.tx_ep), 1u);
  EXPECT_EQ(tx.core.rekeys_installed(), 1u);
  // The old-slot DATA arrives now: accepted, the old slot stays.
  hold_data = false;
  release();
  rx.settle();
  ASSERT_EQ(log.got.size(), 2u);
  EXPECT_TRUE(rx.core.old_slot_valid(c.rx_ep));
  // The first DATA under the new slot retires the old one.
  ASSERT_EQ(send(2).status, u(Rsp::kOk));
  rx.settle();
  ASSERT_EQ(log.got.size(), 3u);
  EXPECT_EQ(log.got[2].aux & kKsBit, kKsBit);
  EXPECT_FALSE(rx.core.old_slot_valid(c.rx_ep));
  EXPECT_EQ(rx.core.rekeys_retired(), 1u);
  EXPECT_TRUE(rx.core.key_equals_for_test(c.rx_ep, k2));
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(log.got[i].seq, i);  // the sequence number did not restart
  // A second rekey flips back to slot 0 with a fresh key.
  drain();
  rekey(nth_key(3));
  rx.settle();
  ASSERT_EQ(send(3).status, u(Rsp::kOk));
  rx.settle();
  ASSERT_EQ(log.got.size(), 4u);
  EXPECT_EQ(log.got[3].aux & kKsBit, 0u);
  EXPECT_EQ(rx.core.rekeys_retired(), 2u);
  EXPECT_EQ(rx.rejects(Reason::kBadMac) + tx.rejects(Reason::kBadMac), 0u);
}

// After the switch the old slot is zeroized: a late DATA under it, and a
// replay of a recorded old-slot DATA, are KEY_SLOT_STALE (counted, logged,
// never answered); the channel keeps working.
TEST_F(Rekey, OldSlotPacketsAfterTheSwitchAreRefusedKeySlotStale) {
  open();
  ASSERT_EQ(send(0).status, u(Rsp::kOk));
  rx.settle();
  hold_data = true;
  ASSERT_EQ(send(1).status, u(Rsp::kOk));  // late: arrives after the switch
  std::vector<Pkt> late(held.begin(), held.end());
  held.clear();
  hold_data = false;
  rekey(nth_key(5));
  rx.settle();
  ASSERT_EQ(send(2).status, u(Rsp::kOk));
  rx.settle();
  ASSERT_FALSE(rx.core.old_slot_valid(c.rx_ep));
  drain();
  rx.clear_errlog(1);
  const size_t delivered = log.got.size();
  const size_t sent_before = tx.egress.size();
  const uint32_t nacks0 = rx.stat(CmmCore::kStatNackSent);
  net.deliver(late[0].h, late[0].pay);
  rx.settle();
  EXPECT_EQ(rx.rejects(Reason::kKeySlotStale), 1u);
  ASSERT_GE(rx.errlog_count(1), 1u);
  EXPECT_EQ(rx.pop_err(1).reason, u(Reason::kKeySlotStale));
  // Replays of every recorded old-slot DATA (the delivered one and the late one).
  for (const Pkt& p : recorded)
    if (p.h.opcode == u(Opcode::kData) && (p.h.aux & kKsBit) == 0) net.deliver(p.h, p.pay);
  rx.settle();
  EXPECT_GE(rx.rejects(Reason::kKeySlotStale), 3u);
  EXPECT_EQ(log.got.size(), delivered) << "an old-slot packet was delivered after the switch";
  EXPECT_EQ(rx.stat(CmmCore::kStatNackSent), nacks0);  // never answered
  EXPECT_EQ(tx.egress.size(), sent_before);
  // The legitimate channel keeps delivering.
  ASSERT_EQ(send(3).status, u(Rsp::kOk));
  rx.settle();
  EXPECT_EQ(log.got.size(), delivered + 1);
}

// A CONNECT naming the other slot from anyone but the entry's peer (another
// node with a link key, another partition of the peer's node) installs
// nothing: SRC_NODE_MISMATCH / SRC_PART_MISMATCH, counted, logged for the
// owner; the channel keeps its key.
TEST_F(Rekey, RekeyConnectFromTheWrongNodeOrPartitionIsRefused) {
  CoreHarness rogue{3, rk_params()};
  Net net3{{&rx, &tx, &rogue}};
  provision(rogue, 2);
  provision(tx, 3);
  open();
  // Rogue node 3: a receive entry aimed at the send entry, with the right generations.
  const uint32_t rep = static_cast<uint32_t>(rogue.alloc(2));
  fill(rogue, 2, rep, 30, Dir::kRecv, 2, 2, c.tx_ep, c.tx_gen);
  tx.clear_errlog(2);
  // Its slot bit flipped so that it asks for the other slot, as a rekey does.
  const Key evil = nth_key(66);
  rogue.stage_key(2, evil);
  rogue.cmd_ok(2, Cmd::kConnect, rep);
  rogue.settle();
  EXPECT_EQ(tx.rejects(Reason::kSrcNodeMismatch), 1u);
  ASSERT_GE(tx.errlog_count(2), 1u);
  EXPECT_EQ(tx.pop_err(2).reason, u(Reason::kSrcNodeMismatch));
  EXPECT_TRUE(tx.core.key_equals_for_test(c.tx_ep, kKey1));
  EXPECT_EQ(tx.core.rekeys_installed(), 0u);
  // Another partition (3) of the receiver's own node.
  const uint32_t pep = static_cast<uint32_t>(rx.alloc(3));
  fill(rx, 3, pep, 40, Dir::kRecv, 2, 2, c.tx_ep, c.tx_gen);
  rx.stage_key(3, evil);
  rx.cmd_ok(3, Cmd::kConnect, pep);
  rx.settle();
  EXPECT_EQ(tx.rejects(Reason::kSrcPartMismatch), 1u);
  EXPECT_TRUE(tx.core.key_equals_for_test(c.tx_ep, kKey1));
  EXPECT_EQ(tx.core.key_slot(c.tx_ep), 0u);
  // The legitimate channel still works, and still rekeys.
  ASSERT_EQ(send(0).status, u(Rsp::kOk));
  rx.settle();
  EXPECT_EQ(log.got.size(), 1u);
  rekey(nth_key(7));
  rx.settle();
  EXPECT_EQ(tx.core.rekeys_installed(), 1u);
}

// A recorded rekey CONNECT replayed after a later rekey never reinstalls its
// (older) key: its wrap counter is not above the installing one (SEQ_OLD).
TEST_F(Rekey, ReplayedOlderRekeyConnectNeverReinstallsItsKey) {
  open();
  rekey(nth_key(1));
  rx.settle();
  Pkt first{};
  for (const Pkt& p : recorded)
    if (p.h.opcode == u(Opcode::kConnect) && (p.h.aux & kKsBit)) first = p;
  ASSERT_EQ(first.h.opcode, u(Opcode::kConnect));
  ASSERT_EQ(send(0).status, u(Rsp::kOk));  // the switch completes
  rx.settle();
  rekey(nth_key(2));  // back to slot 0
  rx.settle();
  ASSERT_EQ(send(1).status, u(Rsp::kOk));
  rx.settle();
  ASSERT_EQ(tx.core.key_slot(c.tx_ep), 0u);
  const uint32_t old0 = tx.rejects(Reason::kSeqOld);
  net.deliver(first.h, first.pay);  // names slot 1, which is free again at the sender
  rx.settle();
  EXPECT_EQ(tx.rejects(Reason::kSeqOld), old0 + 1);
  EXPECT_TRUE(tx.core.key_equals_for_test(c.tx_ep, nth_key(2)));
  EXPECT_EQ(tx.core.key_slot(c.tx_ep), 0u);
  EXPECT_EQ(tx.core.rekeys_installed(), 2u);
  ASSERT_EQ(send(2).status, u(Rsp::kOk));
  rx.settle();
  EXPECT_EQ(log.got.size(), 3u);
}

// Forced rekey: the receive entry's owner is told (REKEY_DUE: counted, error
// log, IRQ ERR) when rekey_soft_limit DATA arrived under the newest key,
// once per key; a REKEY restarts the count.
TEST_F(Rekey, ForcedRekeyIsRaisedAtTheSoftLimitOncePerKey) {
  open();
  rx.wr_ok(kernel(1), regs::CMM_IRQ_ENABLE_OFFSET, kIrqErr);
  rx.clear_errlog(1);
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(send(i).status, u(Rsp::kOk));
  rx.settle();
  drain();
  EXPECT_EQ(rx.rejects(Reason::kRekeyDue), 0u);
  EXPECT_EQ(CMM_FIELD_GET(ctrl(rx, 1, c.rx_ep), CMM_CST_CTRL_KEY_USE), 3u);
  ASSERT_EQ(send(3).status, u(Rsp::kOk));
  rx.settle();
  drain();
  EXPECT_EQ(rx.rejects(Reason::kRekeyDue), 1u);
  EXPECT_NE(rx.core.out().irq & (1u << 1), 0u);
  ASSERT_EQ(rx.errlog_count(1), 1u);
  const ErrEntry e = rx.pop_err(1);
  EXPECT_EQ(e.reason, u(Reason::kRekeyDue));
  EXPECT_EQ(e.ep, c.rx_ep);
  ASSERT_EQ(send(4).status, u(Rsp::kOk));
  rx.settle();
  drain();
  EXPECT_EQ(rx.rejects(Reason::kRekeyDue), 1u);  // once per key
  rekey(nth_key(9));
  rx.settle();
  EXPECT_EQ(CMM_FIELD_GET(ctrl(rx, 1, c.rx_ep), CMM_CST_CTRL_KEY_USE), 0u);
  for (uint32_t i = 5; i < 9; ++i) ASSERT_EQ(send(i).status, u(Rsp::kOk));
  rx.settle();
  drain();
  EXPECT_EQ(rx.rejects(Reason::kRekeyDue), 2u);
  EXPECT_EQ(log.got.size(), 9u);
}

// The sender refuses a DATA past rekey_hard_limit under one key
// (KEY_EXHAUSTED: REJECT, counted, EP_TX_STATUS) so no (key, seq) pair can
// repeat; a rekey lets it send again. The counter preload hook reaches a limit quickly.
TEST_F(Rekey, SenderRefusesPastTheHardLimitKeyExhaustedUntilRekeyed) {
  open();
  for (uint32_t i = 0; i < 8; ++i) {
    ASSERT_EQ(send(i).status, u(Rsp::kOk)) << i;
    drain();
  }
  EXPECT_EQ(CMM_FIELD_GET(ctrl(tx, 2, c.tx_ep), CMM_CST_CTRL_KEY_USE), 8u);
  EXPECT_EQ(send(8).status, u(Rsp::kReject));
  EXPECT_EQ(tx.rejects(Reason::kKeyExhausted), 1u);
  EXPECT_EQ(CMM_FIELD_GET(tx.rd_ok(user(2, 20), ep_addr(c.tx_ep, regs::CMM_EP_TX_STATUS_OFFSET)),
                          CMM_EP_TX_STATUS_LAST_REASON),
            u(Reason::kKeyExhausted));
  rx.settle();
  drain();
  EXPECT_EQ(log.got.size(), 8u);
  rekey(nth_key(4));
  rx.settle();
  EXPECT_EQ(send(8).status, u(Rsp::kOk));
  rx.settle();
  EXPECT_EQ(log.got.size(), 9u);
  tx.core.set_key_use_for_test(c.tx_ep, 8);
  EXPECT_EQ(send(9).status, u(Rsp::kReject));
  EXPECT_EQ(tx.rejects(Reason::kKeyExhausted), 2u);
}

// REKEY refusals: not a receive entry, not strong, the previous new key not used yet.
TEST_F(Rekey, RekeyCommandRefusals) {
  open();
  tx.stage_key(2, nth_key(1));
  tx.cmd_refused(2, Cmd::kRekey, c.tx_ep, Reason::kWrongDir);
  rekey(nth_key(1));
  rx.settle();
  rx.stage_key(1, nth_key(2));
  rx.cmd_refused(1, Cmd::kRekey, c.rx_ep, Reason::kKeyPresent);  // the sender has not used the first yet
  EXPECT_TRUE(rx.core.old_slot_valid(c.rx_ep));
  ASSERT_EQ(send(0).status, u(Rsp::kOk));
  rx.settle();
  rekey(nth_key(2));  // now it may
  rx.settle();
  EXPECT_EQ(tx.core.rekeys_installed(), 2u);
}

// Rekey off (the RTL's core): REKEY is BAD_CMD, HWKEY with it RESERVED_BITS,
// the new CST_CTRL fields read 0, a KS bit is just a header bit the MAC
// covers (BAD_MAC, never KEY_SLOT_STALE), a NACK's aux keeps bit 6 in its
// opcode, and no limit refuses a doorbell.
class RekeyOff : public Rekey {
 protected:
  RekeyOff() : Rekey(false) {}
};
TEST_F(RekeyOff, NoBehaviourChange) {
  open();
  rx.stage_key(1, nth_key(1));
  rx.cmd_refused(1, Cmd::kRekey, c.rx_ep, Reason::kBadCmd);
  const RegRsp hw = rx.wr(kernel(1), regs::CMM_CMD_OFFSET,
                          CMM_FIELD_SET(CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, u(Cmd::kRekey)), CMM_CMD_HWKEY, 1u),
                                        CMM_CMD_EP, c.rx_ep));
  EXPECT_EQ(hw.status, u(Rsp::kReject));
  EXPECT_EQ(rx.rejects(Reason::kReservedBits), 1u);
  tx.core.set_key_use_for_test(c.tx_ep, 1000000);  // rekey off: no pin shows it (the RTL replay goes on)
  for (uint32_t i = 0; i < 10; ++i) {
    ASSERT_EQ(send(i).status, u(Rsp::kOk)) << i;
    rx.settle();
    drain();
  }
  drain();
  EXPECT_EQ(log.got.size(), 10u);
  for (const Header& h : log.got) EXPECT_EQ(h.aux, kStrongBit);
  const uint32_t extra = (1u << regs::CMM_CST_CTRL_OLD_SLOT_VALID_LSB) | (1u << regs::CMM_CST_CTRL_KEY_SLOT_LSB) |
                         (1u << regs::CMM_CST_CTRL_REKEY_PENDING_LSB) |
                         (regs::CMM_CST_CTRL_KEY_USE_MASK << regs::CMM_CST_CTRL_KEY_USE_LSB);
  EXPECT_EQ(ctrl(rx, 1, c.rx_ep) & extra, 0u);
  EXPECT_EQ(ctrl(tx, 2, c.tx_ep) & extra, 0u);
  Pkt d{};
  for (const Pkt& p : recorded)
    if (p.h.opcode == u(Opcode::kData)) d = p;
  Header ks = d.h;
  ks.aux = static_cast<uint8_t>(ks.aux | kKsBit);
  net.deliver(ks, d.pay);
  rx.settle();
  EXPECT_EQ(rx.rejects(Reason::kBadMac), 1u);
  EXPECT_EQ(rx.rejects(Reason::kKeySlotStale), 0u);
  // A NACK whose aux has bit 6: original opcode 0x41, no such one: STRAY_RESPONSE.
  Header n = make_header(Opcode::kNack, 1, 1, static_cast<uint8_t>(c.rx_ep), 2, 2, static_cast<uint8_t>(c.tx_ep));
  n.aux = static_cast<uint8_t>(kStrongBit | kKsBit | u(Opcode::kData));
  const uint32_t stray0 = tx.rejects(Reason::kStrayResponse);
  tx.inject(n);
  tx.settle();
  EXPECT_EQ(tx.rejects(Reason::kStrayResponse), stray0 + 1);
  EXPECT_EQ(tx.rejects(Reason::kBadMac), 0u);
  EXPECT_EQ(tx.core.rekeys_installed() + rx.core.rekeys_retired(), 0u);
}

// Many rekeys under traffic with reliable delivery and a faulty wire (every
// 5th DATA/ACK dropped, duplicated or held back): every message delivered
// exactly once in order, none reported; retransmissions of DATA MAC'd under a
// retired slot are re-sealed under the new one.
enum class Fault { kDrop, kDuplicate, kReorder };
class RekeyReliable : public Rekey, public ::testing::WithParamInterface<Fault> {
 protected:
  RekeyReliable() : Rekey(true, true) {}
};
TEST_P(RekeyReliable, ManyRekeysUnderTrafficEveryMessageOnceInOrder) {
  open();
  uint64_t rng = 0x2545F4914F6CDD1Dull;
  uint32_t seen = 0;
  std::deque<Pkt> back;
  net.tap = [&](const Header& h, const std::vector<uint8_t>& p) {
    if (h.opcode != u(Opcode::kData) && h.opcode != u(Opcode::kAck)) return true;
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    ++seen;
    if (!back.empty() && seen % 3 == 0) {
      net.deliver(h, p);  // overtakes the held one
      for (const Pkt& b : back) net.deliver(b.h, b.pay);
      back.clear();
      return false;
    }
    if ((rng >> 33) % 5 != 0) return true;
    switch (GetParam()) {
      case Fault::kDrop: return false;
      case Fault::kDuplicate: net.deliver(h, p); return true;
      case Fault::kReorder: back.push_back(Pkt{h, p}); return false;
    }
    return true;
  };
  const uint32_t n = 240, every = 6;  // 40 rekeys
  uint32_t rekeys = 0, exhausted = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (i % every == every - 1) {
      // The agent's part: a new key when the previous one is in use at both ends.
      for (uint32_t t = 0; t < 400 && rx.core.old_slot_valid(c.rx_ep); ++t) {
        drain();
        tx.tick(4);
      }
      if (!rx.core.old_slot_valid(c.rx_ep)) {
        rekey(nth_key(100 + i));
        ++rekeys;
      }
    }
    for (uint32_t tries = 0;; ++tries) {
      const RegRsp r = send(i, 16 + i % 40);
      if (r.status == u(Rsp::kOk)) break;
      drain();
      if (tx.core.reject_count(Reason::kKeyExhausted) > exhausted && !rx.core.old_slot_valid(c.rx_ep) &&
          !rx.core.rekey_pending(c.rx_ep)) {
        exhausted = tx.core.reject_count(Reason::kKeyExhausted);
        rekey(nth_key(5000 + i));  // the forced rekey's answer
        ++rekeys;
      }
      ASSERT_LT(tries, 3000u) << "stuck at " << i;
    }
    drain();
  }
  for (uint32_t t = 0; t < 400 && (tx.core.window_used(c.tx_ep) != 0 || !back.empty()); ++t) {
    if (t % 20 == 19) {
      for (const Pkt& b : back) net.deliver(b.h, b.pay);
      back.clear();
    }
    drain();
    tx.tick(16);
  }
  drain();
  tx.settle(100000);
  drain();
  ASSERT_EQ(log.got.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(log.got[i].seq, i);
    EXPECT_EQ(log.got[i].tag, i);
  }
  EXPECT_GE(rekeys, 35u);
  EXPECT_EQ(tx.core.rekeys_installed(), rekeys);
  EXPECT_GE(rx.core.rekeys_retired(), rekeys - 1);
  EXPECT_EQ(tx.rejects(Reason::kRetxExhausted), 0u);
  EXPECT_EQ(CMM_FIELD_GET(tx.cst_status(2, c.tx_ep), CMM_CST_STATUS_TX_NACKS), 0u);
  EXPECT_EQ(rx.rd_ok(kernel(1), cst_addr(c.rx_ep, regs::CMM_CST_LOST_OFFSET)), 0u);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
}
INSTANTIATE_TEST_SUITE_P(Wire, RekeyReliable, ::testing::Values(Fault::kDrop, Fault::kDuplicate, Fault::kReorder),
                         [](const ::testing::TestParamInfo<Fault>& i) {
                           return std::string(i.param == Fault::kDrop        ? "Drop"
                                              : i.param == Fault::kDuplicate ? "Duplicate"
                                                                             : "Reorder");
                         });

}  // namespace
}  // namespace cmm::coretest
