// Table integrity in strong mode (docs/security.md 1.11, issue 9 item 4):
// every single-bit flip of one CST entry, one CKT entry and one link-key
// entry either fails the entry closed (counted, alarmed) or is harmless; no
// flip gives an entry to another partition or makes a wrong key accepted.
#include <gtest/gtest.h>
#include <sodium.h>

#include <memory>
#include <string>
#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

// ---------------------------------------------------------------- independent reference (libsodium)

std::array<uint8_t, 16> kbytes(const Key& k) {
  std::array<uint8_t, 16> b{};
  for (uint32_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(k[i / 4] >> (8 * (i % 4)));
  return b;
}
Key sip128(const Key& k, const std::vector<uint8_t>& m) {
  const auto kb = kbytes(k);
  uint8_t out[crypto_shorthash_siphashx24_BYTES];
  crypto_shorthash_siphashx24(out, m.data(), m.size(), kb.data());
  Key r{};
  for (uint32_t i = 0; i < 16; ++i) r[i / 4] |= uint32_t{out[i]} << (8 * (i % 4));
  return r;
}
// MAC input: 32 header bytes (key field zeroed) || payload (strong-mode.md 11.4).
Key ref_mac(const Key& k, const Header& h, const std::vector<uint8_t>& pay) {
  Header z = h;
  z.key = Key{};
  const Header::Packed p = z.pack();
  std::vector<uint8_t> m(32, 0);
  for (uint32_t i = 0; i < 32; ++i)
    if (i / 4 < p.size()) m[i] = static_cast<uint8_t>(p[i / 4] >> (8 * (i % 4)));
  m.insert(m.end(), pay.begin(), pay.end());
  return sip128(k, m);
}
// A CONNECT (template h: ids, generations, counter) wrapping `chan` under link key lk (11.5).
std::vector<uint8_t> forge_connect(Header& h, const Key& lk, const Key& chan) {
  auto sub = [&](const char* label) { return sip128(lk, std::vector<uint8_t>(label, label + 8)); };
  const uint32_t n = uint32_t{h.seq} | uint32_t{h.tag} << 16;
  const std::vector<uint8_t> nonce{static_cast<uint8_t>(h.src_node), static_cast<uint8_t>(h.dst_node),
                                   h.src_part, h.dst_part, static_cast<uint8_t>(h.src_ep),
                                   static_cast<uint8_t>(h.dst_ep), h.src_gen, h.dst_gen,
                                   static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8),
                                   static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 24),
                                   static_cast<uint8_t>(h.src_node >> 8), static_cast<uint8_t>(h.dst_node >> 8),
                                   static_cast<uint8_t>(h.src_ep >> 8), static_cast<uint8_t>(h.dst_ep >> 8)};
  const Key ks = sip128(sub("wrap-enc"), nonce);
  Key c{};
  for (uint32_t w = 0; w < 4; ++w) c[w] = chan[w] ^ ks[w];
  const auto cb = kbytes(c);
  std::vector<uint8_t> pay(cb.begin(), cb.end());
  h.key = ref_mac(sub("wrap-mac"), h, pay);
  return pay;
}

// ---------------------------------------------------------------- two strong cores

CoreParams strong_params() {
  CoreParams p;
  p.strong = true;
  return p;
}
void provision(CoreHarness& h, uint16_t node, const Key& lk) { provision_link(h, node, lk); }

const Key kLink{0x01234567u, 0x89ABCDEFu, 0x0F1E2D3Cu, 0x4B5A6978u};
const Key kLink2{0x13572468u, 0x2468ACE0u, 0x0DDBA11u, 0xC0FFEE01u};
const Key kChan{0xA5A5A5A5u, 0x11223344u, 0xDEADBEEFu, 0x0BADF00Du};
const Key kChan2{0x5A5A5A5Au, 0x55667788u, 0xFEEDFACEu, 0x0D15EA5Eu};
const Key kEvil{0x0E0E0E0Eu, 1, 2, 3};  // the key an attacker wants installed
constexpr uint8_t kRxPart = 1, kTxPart = 2;
constexpr uint16_t kRxPid = 10, kTxPid = 20;

// Receiver node 1, sender node 2, strong channels rx <- tx. A fresh world per flip.
struct World {
  explicit World(bool provision_tx = true) {
    provision(rx, 2, kLink);
    if (provision_tx) provision(tx, 1, kLink);
  }
  Channel open(const Key& key, bool expect_open = true) {
    Channel c;
    c.rx_part = kRxPart;
    c.tx_part = kTxPart;
    c.key = key;
    c.rx_ep = static_cast<uint32_t>(rx.alloc(kRxPart));
    c.tx_ep = static_cast<uint32_t>(tx.alloc(kTxPart));
    c.rx_gen = rx.gen(kRxPart, c.rx_ep);
    c.tx_gen = tx.gen(kTxPart, c.tx_ep);
    auto fill = [](CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, uint8_t rn, uint8_t rp,
                   uint32_t re, uint8_t rgen) {
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_CTRL_OFFSET),
              CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, u(dir)), CMM_CST_CTRL_MODE, 1u));
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), pid);
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote_word(rn, rp, re));
      h.set_remote_gen(part, ep, rgen);
      h.cmd_ok(part, Cmd::kAuthorize, ep);
    };
    fill(tx, kTxPart, c.tx_ep, kTxPid, Dir::kSend, 1, kRxPart, c.rx_ep, c.rx_gen);
    fill(rx, kRxPart, c.rx_ep, kRxPid, Dir::kRecv, 2, kTxPart, c.tx_ep, c.tx_gen);
    rx.stage_key(kRxPart, key);
    rx.cmd(kRxPart, Cmd::kConnect, c.rx_ep);
    rx.settle();
    if (expect_open) {
      EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
      EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
    }
    return c;
  }
  // One DATA through the real doorbell; true if delivered (then popped).
  bool send(const Channel& c, uint8_t seed) {
    const uint32_t before = rx.core.stat(CmmCore::kStatDataDelivered);
    tx.tx_payload.assign(24, seed);
    EXPECT_EQ(tx.doorbell(user(kTxPart, kTxPid), c.tx_ep, 24, seed).status, u(Rsp::kOk));
    tx.settle();
    const bool got = rx.core.stat(CmmCore::kStatDataDelivered) == before + 1;
    if (got) rx.wr_ok(user(kRxPart, kRxPid), ep_addr(c.rx_ep, regs::CMM_EP_RX_POP_OFFSET), 1);
    return got;
  }
  static const EgRec* last(const CoreHarness& h, Opcode op) {
    for (size_t i = h.egress.size(); i-- > 0;)
      if (h.egress[i].hdr.opcode == u(op)) return &h.egress[i];
    return nullptr;
  }
  static size_t count(const CoreHarness& h, Opcode op) {
    size_t n = 0;
    for (const EgRec& e : h.egress) n += e.hdr.opcode == u(op);
    return n;
  }
  // TABLE_FAULT counted once for `entry`; ALARM (and nothing else) in every partition.
  static void expect_one_fault(CoreHarness& h, uint32_t entry, uint32_t table, bool exc_part_ok, uint32_t exc_part) {
    const uint32_t tf = h.rd_ok(kernel(0), regs::CMM_TABLE_FAULT_OFFSET);
    EXPECT_EQ(CMM_FIELD_GET(tf, CMM_TABLE_FAULT_COUNT), 1u);
    EXPECT_EQ(CMM_FIELD_GET(tf, CMM_TABLE_FAULT_LAST_EP), entry);
    EXPECT_EQ(CMM_FIELD_GET(tf, CMM_TABLE_FAULT_LAST_TABLE), table & regs::CMM_TABLE_FAULT_LAST_TABLE_MASK);
    for (uint8_t p = 0; p < regs::kNumPartitions; ++p) {
      EXPECT_NE(h.irq_status(p) & bit(Irq::kAlarm), 0u) << int(p);
      EXPECT_EQ(h.rd_ok(kernel(p), regs::CMM_ALARM_COUNT_OFFSET), 1u) << int(p);
      EXPECT_EQ(h.rd_ok(kernel(p), regs::CMM_EXC_COUNT_OFFSET), exc_part_ok && p == exc_part ? 1u : 0u) << int(p);
    }
  }

  CoreHarness rx{1, strong_params()};
  CoreHarness tx{2, strong_params()};
  Net net{{&rx, &tx}};
};

class TableIntegrity : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

// CST bits 0..kCstProtBits (parity last) and kCstProtBits + 1 (CST_CTRL.MODE), CKT bits 0-130 of the receive entry
// of an open strong channel: the entry fails closed (FAULT, key zeroized),
// neither its owner nor a partition a flipped owner field names can touch it,
// DATA with the channel's tag or a tag under the flipped key is TABLE_FAULT,
// and a second strong channel of the same nodes keeps carrying data.
TEST_F(TableIntegrity, EveryBitFlipOfAStrongCstOrCktEntryFailsClosed) {
  uint32_t flips = 0;
  for (uint8_t t = 0; t < 2; ++t) {
    const uint32_t last_bit = t == 0 ? CmmCore::kCstProtBits + 1 : CmmCore::kCktProtBits;
    for (uint32_t b = 0; b <= last_bit; ++b) {
      SCOPED_TRACE(std::string(t == 0 ? "CST" : "CKT") + " bit " + std::to_string(b));
      auto w = std::make_unique<World>();
      const Channel a = w->open(kChan);
      const Channel other = w->open(kChan2);
      w->rx.flip(t, a.rx_ep, b);
      w->rx.tick();
      ++flips;
      EXPECT_EQ(w->rx.core.ep_state(a.rx_ep), State::kFault);
      EXPECT_FALSE(w->rx.core.key_valid(a.rx_ep));
      uint32_t own = kRxPart;
      if (t == 0 && b >= 4 && b < 8) own ^= 1u << (b - 4);
      uint32_t st = u(State::kOpen);
      if (t == 0 && b < 3) st ^= 1u << b;
      World::expect_one_fault(w->rx, a.rx_ep, t, st != u(State::kFree) && own < regs::kNumPartitions, own);
      uint32_t n = 1;
      EXPECT_EQ(w->rx.rejects(Reason::kTableFault), n);
      for (uint32_t p : {uint32_t{kRxPart}, own}) {
        if (p >= regs::kNumPartitions) continue;
        EXPECT_EQ(w->rx.rd(kernel(static_cast<uint8_t>(p)), cst_addr(a.rx_ep, regs::CMM_CST_CTRL_OFFSET)).status,
                  u(Rsp::kReject));
        EXPECT_EQ(w->rx.rd(user(static_cast<uint8_t>(p), kRxPid), ep_addr(a.rx_ep, regs::CMM_EP_RX_STATUS_OFFSET))
                      .status,
                  u(Rsp::kReject));
        n += 2;
      }
      w->rx.take_verdicts();
      const size_t nacks = World::count(w->rx, Opcode::kNack);
      EXPECT_FALSE(w->send(a, 0x31));  // the legitimate tag
      ++n;
      if (t == 1 && b < 128) {  // a tag under the flipped key
        const EgRec* d = World::last(w->tx, Opcode::kData);
        ASSERT_NE(d, nullptr);
        Header f = d->hdr;
        f.seq = static_cast<uint16_t>(f.seq + 1);
        Key flipped = kChan;
        flipped[b / 32] ^= 1u << (b % 32);
        const std::vector<uint8_t> pay(24, 0x77);
        f.key = ref_mac(flipped, f, pay);
        w->net.deliver(f, pay);
        w->rx.settle();
        ++n;
      }
      for (const VdRec& v : w->rx.take_verdicts()) {
        EXPECT_FALSE(v.accept);
        EXPECT_EQ(v.reason, u(Reason::kTableFault));
      }
      EXPECT_EQ(World::count(w->rx, Opcode::kNack), nacks);  // never answered
      EXPECT_EQ(w->rx.core.rxq_count(a.rx_ep), 0u);
      EXPECT_EQ(w->rx.rejects(Reason::kTableFault), n);
      EXPECT_TRUE(w->send(other, 0x42));
      if (HasFailure()) return;
    }
  }
  EXPECT_EQ(flips, (CmmCore::kCstProtBits + 2) + (CmmCore::kCktProtBits + 1));
}

// Link-key entry at the wrapping end (receiver's CMM, link[2], used once:
// counter 1): key bits 0-127, valid 128, counter 129-160, parity 161. Each
// flip zeroizes the entry (a flipped key would wrap under a key the peer
// lacks, a flipped counter would repeat a nonce), is counted and alarmed (no
// exception: the entry has no owner); the open channel keeps working; a new
// CONNECT is refused NO_LINK_KEY with nothing sent; a new link key restores it.
TEST_F(TableIntegrity, EveryBitFlipOfAUsedLinkKeyEntryFailsClosedAndNeverWrapsUnderIt) {
  for (uint32_t b = 0; b <= 161; ++b) {
    SCOPED_TRACE("link bit " + std::to_string(b));
    auto w = std::make_unique<World>();
    const Channel a = w->open(kChan);
    ASSERT_EQ(w->rx.core.link_ctr(2), 1u);
    w->rx.flip(2, 2, b);
    w->rx.tick();
    EXPECT_FALSE(w->rx.core.link_valid(2));
    EXPECT_EQ(w->rx.core.link_ctr(2), 0u);
    World::expect_one_fault(w->rx, 2, 2, false, 0);
    EXPECT_EQ(w->rx.rejects(Reason::kTableFault), 1u);
    EXPECT_TRUE(w->send(a, 0x31));  // the channel key lives in the CKT
    const size_t connects = World::count(w->rx, Opcode::kConnect);
    const Channel d = w->open(kChan2, false);
    EXPECT_EQ(w->rx.cmd_reason(kRxPart), u(Reason::kNoLinkKey));
    EXPECT_EQ(w->rx.rejects(Reason::kNoLinkKey), 1u);
    EXPECT_EQ(World::count(w->rx, Opcode::kConnect), connects);
    EXPECT_EQ(w->tx.rejects(Reason::kBadMac), 0u);
    EXPECT_EQ(w->tx.core.ep_state(d.tx_ep), State::kAuthorized);
    // The firmware provisions a new link key at both ends: the CONNECT goes through.
    provision(w->rx, 2, kLink2);
    provision(w->tx, 1, kLink2);
    w->rx.stage_key(kRxPart, kChan2);
    w->rx.cmd_ok(kRxPart, Cmd::kConnect, d.rx_ep);
    w->rx.settle();
    EXPECT_EQ(w->tx.core.ep_state(d.tx_ep), State::kOpen);
    EXPECT_TRUE(w->send(d, 0x42));
    EXPECT_EQ(w->rx.rejects(Reason::kTableFault), 1u);
    if (HasFailure()) return;
  }
}

// Link-key entry at the unwrapping end (sender's CMM, link[1]) never
// provisioned (all zero). Without parity a flip of `valid` would make the CMM
// unwrap a CONNECT forged under the all-zero key and install the attacker's
// channel key. Each flip is detected and the entry zeroized: the forgeries
// (under the zero key and, for a key bit, under the flipped key) are refused
// NO_LINK_KEY, nothing is installed or answered; once provisioned, the
// legitimate CONNECT opens the channel with the legitimate key.
TEST_F(TableIntegrity, EveryBitFlipOfAnEmptyLinkKeyEntryNeverAcceptsAForgedConnect) {
  for (uint32_t b = 0; b <= 161; ++b) {
    SCOPED_TRACE("link bit " + std::to_string(b));
    auto w = std::make_unique<World>(false);
    const Channel d = w->open(kChan, false);
    EXPECT_EQ(w->tx.rejects(Reason::kNoLinkKey), 1u);
    const EgRec* cn = World::last(w->rx, Opcode::kConnect);
    ASSERT_NE(cn, nullptr);
    const Header tmpl = cn->hdr;
    w->tx.flip(2, 1, b);
    w->tx.tick();
    EXPECT_FALSE(w->tx.core.link_valid(1));
    World::expect_one_fault(w->tx, 1, 2, false, 0);
    EXPECT_EQ(w->tx.rejects(Reason::kTableFault), 1u);
    std::vector<Key> forged_under{Key{}};
    if (b < 128) {
      Key k{};
      k[b / 32] = 1u << (b % 32);
      forged_under.push_back(k);
    }
    const size_t acks = World::count(w->tx, Opcode::kConnectAck) + World::count(w->tx, Opcode::kNack);
    for (const Key& lk : forged_under) {
      Header f = tmpl;
      const std::vector<uint8_t> pay = forge_connect(f, lk, kEvil);
      w->net.deliver(f, pay);
      w->tx.settle();
    }
    EXPECT_EQ(w->tx.rejects(Reason::kNoLinkKey), 1u + forged_under.size());
    EXPECT_FALSE(w->tx.core.key_valid(d.tx_ep));
    EXPECT_EQ(w->tx.core.ep_state(d.tx_ep), State::kAuthorized);
    EXPECT_EQ(World::count(w->tx, Opcode::kConnectAck) + World::count(w->tx, Opcode::kNack), acks);
    // Provisioned: the receiver's re-sent CONNECT opens the channel with its key.
    provision(w->tx, 1, kLink);
    w->rx.cmd_ok(kRxPart, Cmd::kConnect, d.rx_ep);
    w->rx.settle();
    EXPECT_EQ(w->tx.core.ep_state(d.tx_ep), State::kOpen);
    EXPECT_TRUE(w->tx.core.key_equals_for_test(d.tx_ep, kChan));
    EXPECT_TRUE(w->send(d, 0x42));
    EXPECT_EQ(w->tx.rejects(Reason::kTableFault), 1u);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace cmm::coretest
