// Reliable delivery on strong channels (docs/strong-mode.md 6): drops,
// duplicates, reordering and corruption on the wire are recovered exactly
// once and in order; the retry limit is reported to the sender; forged,
// replayed and spliced packets are refused (label security).
#include <gtest/gtest.h>

#include <deque>
#include <ostream>
#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

constexpr uint8_t kStrongBit = 1u << regs::kStrongAuxBit;
constexpr uint32_t kRetxSent = static_cast<uint32_t>(regs::Stat::kRetxSent);
constexpr uint32_t kAckSent = static_cast<uint32_t>(regs::Stat::kAckSent);
constexpr uint32_t kIrqTxnack = 1u << static_cast<uint32_t>(Irq::kTxnack);
const Key kLink{0x01234567u, 0x89ABCDEFu, 0x0F1E2D3Cu, 0x4B5A6978u};
const Key kChanKey{0xA5A5A5A5u, 0x11223344u, 0xDEADBEEFu, 0x0BADF00Du};

CoreParams rel_params(bool reliable = true) {
  CoreParams p;
  p.strong = true;
  p.reliable = reliable;
  p.tx_window = 4;
  p.retx_max = 6;
  p.retx_timeout_cycles = 96;  // a few round trips of the back-to-back Net
  return p;
}
void provision(CoreHarness& h, uint16_t node) { provision_link(h, node, kLink); }
std::vector<uint8_t> payload(uint32_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 13 + 7 * i);
  return v;
}


enum class Fault { kNone, kDrop, kDuplicate, kReorder, kCorrupt };
const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kNone: return "None";
    case Fault::kDrop: return "Drop";
    case Fault::kDuplicate: return "Duplicate";
    case Fault::kReorder: return "Reorder";
    case Fault::kCorrupt: return "Corrupt";
  }
  return "?";
}

void PrintTo(Fault f, std::ostream* os) { *os << fault_name(f); }

// A wire between the two cores that faults every k-th DATA and ACK (the
// channel's packets; CONNECT and its ACK pass, as in the campaign's
// data-path faults) and records every packet (the sniffer's view).
struct Wire {
  struct Pkt {
    Header h;
    std::vector<uint8_t> pay;
  };
  Fault fault = Fault::kNone;
  uint32_t every = 5;   // fault an eligible packet with probability 1/every (seeded)
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  bool active = false;  // on once the channel is open
  bool drop_all_data = false;
  uint32_t seen = 0, injected = 0;
  std::vector<Pkt> recorded;  // every packet that entered the wire
  std::deque<Pkt> held;       // reordered: released behind the next packets
  uint32_t hold_for = 0;
  Net* net = nullptr;

  bool tap(const Header& h, const std::vector<uint8_t>& pay) {
    recorded.push_back(Pkt{h, pay});
    const bool eligible = active && (h.opcode == static_cast<uint8_t>(Opcode::kData) ||
                                     h.opcode == static_cast<uint8_t>(Opcode::kAck));
    if (!eligible) return true;
    if (drop_all_data && h.opcode == static_cast<uint8_t>(Opcode::kData)) {
      ++injected;
      return false;
    }
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;  // a fixed stream: reproducible
    ++seen;
    if (fault == Fault::kNone || (rng >> 33) % every != 0) {
      if (!held.empty() && hold_for > 0 && --hold_for == 0) {
        net->deliver(h, pay);  // this one overtakes the held one
        release();
        return false;
      }
      return true;
    }
    ++injected;
    switch (fault) {
      case Fault::kDrop:
        return false;
      case Fault::kDuplicate:
        net->deliver(h, pay);
        net->deliver(h, pay);
        return false;
      case Fault::kReorder:
        held.push_back(Pkt{h, pay});
        hold_for = 2;
        return false;
      case Fault::kCorrupt: {
        Pkt p{h, pay};
        if (!p.pay.empty() && injected % 2 == 0) p.pay[injected % p.pay.size()] ^= 0x10;  // a payload bit
        else p.h.tag = static_cast<uint16_t>(p.h.tag ^ 0x0100);                          // a header bit
        net->deliver(p.h, p.pay);
        return false;
      }
      case Fault::kNone:
        break;
    }
    return true;
  }
  void release() {
    while (!held.empty()) {
      net->deliver(held.front().h, held.front().pay);
      held.pop_front();
    }
  }
};

class Reliable : public ::testing::Test {
 protected:
  void SetUp() override {
    provision(rx, 2);
    provision(tx, 1);
    wire.net = &net;
    net.tap = [this](const Header& h, const std::vector<uint8_t>& p) { return wire.tap(h, p); };
    // A held packet never waits for ever (the reorder fault's time limit).
    net.after_tick = [this] {
      if (!wire.held.empty() && ++held_ticks_ > 40) {
        wire.release();
        held_ticks_ = 0;
      }
    };
    rx.core.set_observer(&log);
  }
  void open() {
    c.rx_part = 1;
    c.tx_part = 2;
    c.rx_ep = static_cast<uint32_t>(rx.alloc(1));
    c.tx_ep = static_cast<uint32_t>(tx.alloc(2));
    c.rx_gen = rx.gen(1, c.rx_ep);
    c.tx_gen = tx.gen(2, c.tx_ep);
    auto fill = [](CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, uint8_t rn, uint8_t rp,
                   uint32_t re, uint8_t rgen) {
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_CTRL_OFFSET),
              CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, u(dir)), CMM_CST_CTRL_MODE, 1u));
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), pid);
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote_word(rn, rp, re));
      h.set_remote_gen(part, ep, rgen);
      h.cmd_ok(part, Cmd::kAuthorize, ep);
    };
    fill(tx, 2, c.tx_ep, 20, Dir::kSend, 1, 1, c.rx_ep, c.rx_gen);
    fill(rx, 1, c.rx_ep, 10, Dir::kRecv, 2, 2, c.tx_ep, c.tx_gen);
    rx.stage_key(1, kChanKey);
    rx.cmd_ok(1, Cmd::kConnect, c.rx_ep);
    rx.settle();
    ASSERT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
    ASSERT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
    wire.active = true;
  }
  // The receiving process pops what arrived.
  void drain() {
    while (rx.core.rxq_count(c.rx_ep) > 0) rx.wr_ok(user(1, 10), ep_addr(c.rx_ep, regs::CMM_EP_RX_POP_OFFSET), 1);
  }
  // Sends n messages (tags 0..n-1), retrying doorbells refused TX_WINDOW_FULL
  // as the library does; returns the number of such refusals.
  uint32_t send_all(uint32_t n) {
    uint32_t full = 0;
    for (uint32_t i = 0; i < n; ++i) {
      for (uint32_t tries = 0;; ++tries) {
        tx.tx_payload = payload(20 + i % 50, i);
        const RegRsp r = tx.doorbell(user(2, 20), c.tx_ep, static_cast<uint32_t>(tx.tx_payload.size()), i);
        if (r.status == u(Rsp::kOk)) break;
        EXPECT_EQ(CMM_FIELD_GET(tx.rd_ok(user(2, 20), ep_addr(c.tx_ep, regs::CMM_EP_TX_STATUS_OFFSET)),
                                CMM_EP_TX_STATUS_LAST_REASON),
                  u(Reason::kTxWindowFull));
        ++full;
        drain();
        tx.tick(8);
        if (tries > 2000) {
          ADD_FAILURE() << "window never opened at " << i << " exhausted " << tx.core.reject_count(Reason::kRetxExhausted)
                        << " retx " << tx.core.stat(kRetxSent) << " used " << tx.core.window_used(c.tx_ep);
          return full;
        }
      }
      drain();
    }
    for (uint32_t i = 0; i < 200 && !(tx.core.window_used(c.tx_ep) == 0 && wire.held.empty()); ++i) {
      drain();
      tx.tick(16);
    }
    drain();
    tx.settle(100000);
    drain();
    return full;
  }
  CoreHarness rx{1, rel_params()};
  CoreHarness tx{2, rel_params()};
  Net net{{&rx, &tx}};
  Wire wire;
  DeliveryLog log;
  Channel c;
  uint32_t held_ticks_ = 0;
};

class ReliableFaults : public Reliable, public ::testing::WithParamInterface<Fault> {};

// Each fault kind on a fifth of the DATA and ACKs (seeded): all 60 messages delivered exactly
// once, in order, with the right payload (the MAC checks it), and nothing
// reported lost.
TEST_P(ReliableFaults, EveryMessageDeliveredExactlyOnceInOrder) {
  open();
  wire.fault = GetParam();
  const uint32_t n = 60;
  send_all(n);
  ASSERT_EQ(log.got.size(), n) << fault_name(GetParam());
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(log.got[i].seq, i);
    EXPECT_EQ(log.got[i].tag, i);
    EXPECT_EQ(log.got[i].len, 20 + i % 50);
  }
  if (GetParam() != Fault::kNone) {
    EXPECT_GT(wire.injected, 5u);
  }
  EXPECT_EQ(tx.core.window_used(c.tx_ep), 0u);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  EXPECT_EQ(tx.rejects(Reason::kRetxExhausted), 0u);
  // Nothing reported lost: no NACK, no gap at either end.
  const uint32_t st = tx.cst_status(2, c.tx_ep);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_CST_STATUS_TX_NACKS), 0u);
  EXPECT_EQ(rx.rd_ok(kernel(1), cst_addr(c.rx_ep, regs::CMM_CST_LOST_OFFSET)), 0u);
  EXPECT_EQ(rx.stat(CmmCore::kStatDataDelivered), n);
  EXPECT_EQ(tx.stat(CmmCore::kStatDataSent), n);
  EXPECT_EQ(rx.stat(kAckSent), rx.core.stat(kAckSent));
  const uint32_t retx = tx.stat(kRetxSent);
  switch (GetParam()) {
    case Fault::kDrop:
    case Fault::kReorder:
      EXPECT_GT(retx, 0u);
      EXPECT_GT(rx.rejects(Reason::kSeqAhead) + tx.rejects(Reason::kSeqOld), 0u);
      break;
    case Fault::kCorrupt:
      EXPECT_GT(retx, 0u);
      EXPECT_GT(rx.rejects(Reason::kBadMac) + tx.rejects(Reason::kBadMac), 0u);  // the MAC caught every flip
      break;
    case Fault::kDuplicate:
      EXPECT_GT(rx.rejects(Reason::kSeqOld), 0u);  // copies refused, re-acknowledged
      break;
    case Fault::kNone:
      EXPECT_EQ(retx, 0u);
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(Wire, ReliableFaults,
                         ::testing::Values(Fault::kNone, Fault::kDrop, Fault::kDuplicate, Fault::kReorder,
                                           Fault::kCorrupt),
                         [](const ::testing::TestParamInfo<Fault>& i) { return std::string(fault_name(i.param)); });

// Every DATA lost: after retx_max rounds the sender is told (RETX_EXHAUSTED:
// counter, EP_TX_STATUS, TX_NACKS = the unacknowledged messages, error log,
// IRQ) and the channel closes; nothing is silent.
TEST_F(Reliable, RetryLimitIsReportedToTheSender) {
  open();
  wire.drop_all_data = true;
  tx.wr_ok(kernel(2), regs::CMM_IRQ_ENABLE_OFFSET, 0x7F);
  for (uint32_t i = 0; i < 3; ++i) {
    tx.tx_payload = payload(32, i);
    ASSERT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 32, 100 + i).status, u(Rsp::kOk));
  }
  tx.settle(100000);
  EXPECT_EQ(tx.rejects(Reason::kRetxExhausted), 1u);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kClosed);
  EXPECT_FALSE(tx.core.key_valid(c.tx_ep));
  const uint32_t ts = tx.rd_ok(user(2, 20), ep_addr(c.tx_ep, regs::CMM_EP_TX_STATUS_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kRetxExhausted));
  EXPECT_EQ(CMM_FIELD_GET(ts, CMM_EP_TX_STATUS_NACKS), 3u);
  EXPECT_EQ(tx.stat(kRetxSent), 3u * tx.core.params().retx_max);  // R rounds of the whole window
  EXPECT_NE(tx.irq_status(2) & kIrqTxnack, 0u);
  ASSERT_GE(tx.errlog_count(2), 1u);
  EXPECT_EQ(tx.pop_err(2).reason, u(Reason::kRetxExhausted));
  EXPECT_TRUE(log.got.empty());
  // The receiver learns it too: the sealed CLOSE closes its entry.
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kClosed);
  // A doorbell now is refused, not lost.
  tx.tx_payload = payload(8, 1);
  EXPECT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 8, 9).status, u(Rsp::kReject));
}

// A full window refuses the doorbell TX_WINDOW_FULL (counted) until an ACK frees it.
TEST_F(Reliable, FullWindowRefusesTheDoorbellUntilAcknowledged) {
  open();
  wire.drop_all_data = true;
  for (uint32_t i = 0; i < 4; ++i) {
    tx.tx_payload = payload(16, i);
    ASSERT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 16, i).status, u(Rsp::kOk));
  }
  tx.tx_payload = payload(16, 4);
  EXPECT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 16, 4).status, u(Rsp::kReject));
  EXPECT_EQ(tx.rejects(Reason::kTxWindowFull), 1u);
  wire.drop_all_data = false;  // the retransmissions get through
  tx.settle(20000);
  EXPECT_EQ(log.got.size(), 4u);
  drain();
  EXPECT_EQ(tx.core.window_used(c.tx_ep), 0u);
  tx.tx_payload = payload(16, 4);
  EXPECT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 16, 4).status, u(Rsp::kOk));
  tx.settle(20000);
  EXPECT_EQ(log.got.size(), 5u);
}

// A forged ACK (wrong tag, or the right seq without the key) is BAD_MAC and
// moves nothing; a replayed genuine ACK is SEQ_OLD; the window still
// retransmits and the channel keeps working.
TEST_F(Reliable, ForgedOrReplayedAckIsRefused) {
  open();
  tx.tx_payload = payload(16, 1);
  ASSERT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 16, 1).status, u(Rsp::kOk));
  tx.settle(20000);
  ASSERT_EQ(log.got.size(), 1u);
  Header genuine{};
  for (const auto& p : wire.recorded)
    if (p.h.opcode == u(Opcode::kAck)) genuine = p.h;
  ASSERT_EQ(genuine.opcode, u(Opcode::kAck));
  EXPECT_EQ(genuine.seq, 1u);
  EXPECT_EQ(genuine.aux & kStrongBit, kStrongBit);
  EXPECT_NE(genuine.key, kChanKey);  // a tag, never the key
  // Two messages the receiver never gets.
  wire.drop_all_data = true;
  for (uint32_t i = 2; i < 4; ++i) {
    tx.tx_payload = payload(16, i);
    ASSERT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 16, i).status, u(Rsp::kOk));
  }
  tx.tick(8);
  ASSERT_EQ(tx.core.window_used(c.tx_ep), 2u);
  const uint32_t bad0 = tx.rejects(Reason::kBadMac), old0 = tx.rejects(Reason::kSeqOld);
  // Forgeries acknowledging both: the genuine tag on another seq, the channel key, zero, STRONG cleared.
  std::vector<Header> forged;
  for (const Key& k : {genuine.key, kChanKey, Key{}}) {
    Header f = genuine;
    f.seq = 3;
    f.key = k;
    forged.push_back(f);
  }
  Header nostrong = genuine;
  nostrong.seq = 3;
  nostrong.aux = 0;
  forged.push_back(nostrong);
  for (const Header& f : forged) {
    tx.ingress.push_back(f);
    tx.tick(3);
  }
  EXPECT_EQ(tx.rejects(Reason::kBadMac), bad0 + 4);
  EXPECT_EQ(tx.core.window_used(c.tx_ep), 2u) << "a forged ACK moved the window";
  // The genuine ACK of message 0 replayed: old, nothing moves.
  tx.ingress.push_back(genuine);
  tx.tick(3);
  EXPECT_EQ(tx.rejects(Reason::kSeqOld), old0 + 1);
  EXPECT_EQ(tx.core.window_used(c.tx_ep), 2u);
  // The legitimate channel recovers both by retransmission.
  wire.drop_all_data = false;
  tx.settle(20000);
  ASSERT_EQ(log.got.size(), 3u);
  EXPECT_EQ(log.got[1].tag, 2u);
  EXPECT_EQ(log.got[2].tag, 3u);
  EXPECT_EQ(tx.rejects(Reason::kRetxExhausted), 0u);
}

// The sniffer-and-replay attacker on the link (issue 9 item 6): it records
// every packet and replays each one, and splices the header of one DATA with
// the payload of another. Every replayed DATA is SEQ_OLD (delivered once),
// every splice BAD_MAC, replayed control packets change nothing, and the
// channel keeps delivering.
TEST_F(Reliable, SnifferReplayAndSpliceAreRefused) {
  open();
  send_all(6);
  ASSERT_EQ(log.got.size(), 6u);
  const std::vector<Wire::Pkt> rec = wire.recorded;
  wire.active = false;
  const uint32_t old0 = rx.rejects(Reason::kSeqOld), bad0 = rx.rejects(Reason::kBadMac);
  uint32_t data = 0, splices = 0;
  std::vector<Wire::Pkt> datas;
  for (const auto& p : rec)
    if (p.h.opcode == u(Opcode::kData)) datas.push_back(p);
  // Replays of everything recorded, to where it was going.
  for (const auto& p : rec) {
    if (p.h.opcode == u(Opcode::kData)) ++data;
    net.deliver(p.h, p.pay);
    tx.tick(4);
  }
  // Splices: header of DATA i, payload of DATA i+1 (same length, so only the MAC can tell).
  for (size_t i = 0; i + 1 < datas.size(); ++i) {
    Header h = datas[i].h;
    std::vector<uint8_t> pay = datas[i + 1].pay;
    pay.resize(h.len, 0);
    h.seq = static_cast<uint16_t>(rx.core.rx_seq(c.rx_ep));  // even at the expected seq
    net.deliver(h, pay);
    ++splices;
    tx.tick(4);
  }
  tx.settle(20000);
  drain();
  EXPECT_EQ(log.got.size(), 6u) << "a replay or splice was delivered";
  EXPECT_EQ(rx.rejects(Reason::kSeqOld), old0 + data);
  EXPECT_EQ(rx.rejects(Reason::kBadMac), bad0 + splices);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
  EXPECT_EQ(tx.core.window_used(c.tx_ep), 0u);
  // The channel keeps working, in order.
  wire.active = true;
  wire.recorded.clear();
  tx.tx_payload = payload(40, 77);
  ASSERT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 40, 77).status, u(Rsp::kOk));
  tx.settle(20000);
  ASSERT_EQ(log.got.size(), 7u);
  EXPECT_EQ(log.got[6].tag, 77u);
  EXPECT_EQ(log.got[6].seq, 6u);
}

// Strong without reliable delivery is unchanged: no ACK, no window, ACK opcode unknown.
TEST_F(Reliable, WithoutReliableNoAckAndTheOpcodeIsUnknown) {
  CoreHarness a{1, rel_params(false)};
  Header h{};
  h.opcode = u(Opcode::kAck);
  h.dst_node = 1;
  a.inject(h);
  EXPECT_EQ(a.rejects(Reason::kBadOpcode), 1u);
  EXPECT_FALSE(a.core.params().reliable);
  CoreParams p = rel_params();
  p.strong = false;  // reliable needs strong
  CmmCore plain(CoreHarness::make_straps(1, 4), p);
  EXPECT_FALSE(plain.params().reliable);
}

}  // namespace
}  // namespace cmm::coretest
