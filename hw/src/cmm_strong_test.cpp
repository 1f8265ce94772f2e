// Strong mode of the C++ core (docs/strong-mode.md 11): known answers of the
// MAC and the key wrap against libsodium, the management-plane link keys,
// the attack tests (label security) and the MAC engine's cycle cost.
#include <gtest/gtest.h>
#include <sodium.h>

#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

constexpr uint8_t kStrongBit = 1u << regs::kStrongAuxBit;

// ---------------------------------------------------------------- independent reference (libsodium)

std::array<uint8_t, 16> kbytes(const Key& k) {
  std::array<uint8_t, 16> b{};
  for (uint32_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(k[i / 4] >> (8 * (i % 4)));
  return b;
}
Key bkey(const uint8_t* b) {
  Key k{};
  for (uint32_t i = 0; i < 16; ++i) k[i / 4] |= uint32_t{b[i]} << (8 * (i % 4));
  return k;
}
Key sodium128(const Key& k, const std::vector<uint8_t>& m) {
  const auto kb = kbytes(k);
  uint8_t out[crypto_shorthash_siphashx24_BYTES];
  crypto_shorthash_siphashx24(out, m.data(), m.size(), kb.data());
  return bkey(out);
}
// 32 header bytes (key field zeroed, packed words little-endian) || payload.
std::vector<uint8_t> mac_input(const Header& h, const std::vector<uint8_t>& pay) {
  Header z = h;
  z.key = Key{};
  const Header::Packed p = z.pack();
  std::vector<uint8_t> m(32, 0);
  for (uint32_t i = 0; i < 32; ++i)
    if (i / 4 < p.size()) m[i] = static_cast<uint8_t>(p[i / 4] >> (8 * (i % 4)));
  m.insert(m.end(), pay.begin(), pay.end());
  return m;
}
Key ref_mac(const Key& k, const Header& h, const std::vector<uint8_t>& pay = {}) {
  return sodium128(k, mac_input(h, pay));
}
Key ref_subkey(const Key& lk, const char* label) {
  return sodium128(lk, std::vector<uint8_t>(label, label + 8));
}
std::vector<uint8_t> ref_nonce(const Header& h) {
  const uint32_t n = uint32_t{h.seq} | uint32_t{h.tag} << 16;
  return {static_cast<uint8_t>(h.src_node), static_cast<uint8_t>(h.dst_node), h.src_part, h.dst_part,
          static_cast<uint8_t>(h.src_ep), static_cast<uint8_t>(h.dst_ep), h.src_gen, h.dst_gen,
          static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n >> 16),
          static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(h.src_node >> 8), static_cast<uint8_t>(h.dst_node >> 8),
          static_cast<uint8_t>(h.src_ep >> 8), static_cast<uint8_t>(h.dst_ep >> 8)};
}

// ---------------------------------------------------------------- helpers

CoreParams strong_params(uint32_t lat = regs::kMacLatencyCycles, uint32_t bpc = regs::kMacBytesPerCycle) {
  CoreParams p;
  p.strong = true;
  p.mac_latency_cycles = lat;
  p.mac_bytes_per_cycle = bpc;
  return p;
}
uint32_t link_cmd(regs::LinkOp op, uint32_t node) { return link_cmd_word(op, node); }
void provision(CoreHarness& h, uint16_t node, const Key& lk) {
  provision_link(h, node, lk);
  EXPECT_TRUE(h.core.link_valid(node));
}
std::vector<uint8_t> payload(uint32_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + 7 * i);
  return v;
}
uint32_t ctrl_word(Dir d, bool strong) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, u(d)), CMM_CST_CTRL_MODE, strong ? 1u : 0u);
}

const Key kLink{0x01234567u, 0x89ABCDEFu, 0x0F1E2D3Cu, 0x4B5A6978u};
const Key kChanKey{0xA5A5A5A5u, 0x11223344u, 0xDEADBEEFu, 0x0BADF00Du};

// Two strong cores (receiver node 1, sender node 2) on a Net, link keys
// provisioned at both ends through the FIRMWARE port.
class Strong : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    provision(rx, 2, kLink);
    provision(tx, 1, kLink);
  }
  // Opens a channel rx(part 1, pid 10) <- tx(part 2, pid 20); modes per end.
  Channel open(bool rx_strong = true, bool tx_strong = true, const Key& key = kChanKey, bool expect_open = true) {
    Channel c;
    c.rx_part = 1;
    c.tx_part = 2;
    c.rx_pid = 10;
    c.tx_pid = 20;
    c.key = key;
    c.rx_ep = static_cast<uint32_t>(rx.alloc(1));
    c.tx_ep = static_cast<uint32_t>(tx.alloc(2));
    c.rx_gen = rx.gen(1, c.rx_ep);
    c.tx_gen = tx.gen(2, c.tx_ep);
    auto fill = [](CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, bool strong, uint8_t rn,
                   uint8_t rp, uint32_t re, uint8_t rgen) {
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), ctrl_word(dir, strong));
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), pid);
      h.wr_ok(kernel(part), cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote_word(rn, rp, re));
      h.set_remote_gen(part, ep, rgen);
      h.cmd_ok(part, Cmd::kAuthorize, ep);
    };
    fill(tx, 2, c.tx_ep, 20, Dir::kSend, tx_strong, 1, 1, c.rx_ep, c.rx_gen);
    fill(rx, 1, c.rx_ep, 10, Dir::kRecv, rx_strong, 2, 2, c.tx_ep, c.tx_gen);
    rx.stage_key(1, key);
    if (expect_open) rx.cmd_ok(1, Cmd::kConnect, c.rx_ep);
    else rx.cmd(1, Cmd::kConnect, c.rx_ep);
    rx.settle();
    if (expect_open) {
      EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
      EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
    }
    return c;
  }
  // Sends one message and settles; returns true if it was delivered.
  bool send(const Channel& c, const std::vector<uint8_t>& pay, uint16_t tag = 5) {
    const size_t before = rx.core.stat(CmmCore::kStatDataDelivered);
    tx.tx_payload = pay;
    EXPECT_EQ(tx.doorbell(user(2, 20), c.tx_ep, static_cast<uint32_t>(pay.size()), tag).status, u(Rsp::kOk));
    tx.settle();
    const bool got = rx.core.stat(CmmCore::kStatDataDelivered) == before + 1;
    if (got) rx.wr_ok(user(1, 10), ep_addr(c.rx_ep, regs::CMM_EP_RX_POP_OFFSET), 1);
    return got;
  }
  // The last egress record of `h` with this opcode.
  static EgRec last(CoreHarness& h, Opcode op) {
    for (size_t i = h.egress.size(); i-- > 0;)
      if (h.egress[i].hdr.opcode == u(op)) return h.egress[i];
    ADD_FAILURE() << "no " << regs::opcode_name(u(op)) << " left";
    return EgRec{};
  }
  CoreHarness rx{1, strong_params()};
  CoreHarness tx{2, strong_params()};
  Net net{{&rx, &tx}};
};

// ---------------------------------------------------------------- known answers

TEST_F(Strong, DataTagIsSipHash128OfHeaderAndPayloadKnownAnswerAgainstLibsodium) {
  const Channel c = open();
  for (uint32_t n : {1u, 15u, 16u, 17u, 100u, 1024u}) {
    const auto pay = payload(n, static_cast<uint8_t>(n));
    ASSERT_TRUE(send(c, pay)) << n;
    const EgRec d = last(tx, Opcode::kData);
    EXPECT_EQ(d.hdr.aux, kStrongBit);
    EXPECT_EQ(d.hdr.len, n);
    EXPECT_EQ(d.hdr.key, ref_mac(kChanKey, d.hdr, pay)) << n;
    EXPECT_NE(d.hdr.key, kChanKey);
  }
  // The control packets' tags too: the CONNECT_ACK and a CLOSE.
  const EgRec ack = last(tx, Opcode::kConnectAck);
  EXPECT_EQ(ack.hdr.aux, kStrongBit);
  EXPECT_EQ(ack.hdr.key, ref_mac(kChanKey, ack.hdr));
  rx.cmd_ok(1, Cmd::kClose, c.rx_ep);
  rx.settle();
  const EgRec cl = last(rx, Opcode::kClose);
  EXPECT_EQ(cl.hdr.key, ref_mac(kChanKey, cl.hdr));
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kClosed);
}

TEST_F(Strong, ConnectWrapIsEncryptThenMacKnownAnswerAgainstLibsodium) {
  const Channel c = open();
  const EgRec cn = last(rx, Opcode::kConnect);
  EXPECT_EQ(cn.hdr.aux, kStrongBit);
  EXPECT_EQ(cn.hdr.len, 16u);
  EXPECT_EQ(cn.hdr.seq, 0u);  // the link's first CONNECT: counter 0
  EXPECT_EQ(cn.hdr.tag, 0u);
  ASSERT_EQ(cn.payload.size(), 16u);
  const Key ks = sodium128(ref_subkey(kLink, "wrap-enc"), ref_nonce(cn.hdr));
  Key expect_c{};
  for (uint32_t w = 0; w < 4; ++w) expect_c[w] = kChanKey[w] ^ ks[w];
  EXPECT_EQ(bkey(cn.payload.data()), expect_c);
  EXPECT_EQ(cn.hdr.key, ref_mac(ref_subkey(kLink, "wrap-mac"), cn.hdr, cn.payload));
  EXPECT_TRUE(tx.core.key_equals_for_test(c.tx_ep, kChanKey));  // unwrapped to the channel key
  // The counter never repeats: a second channel's CONNECT uses 1.
  open(true, true, Key{1, 2, 3, 4});
  EXPECT_EQ(last(rx, Opcode::kConnect).hdr.seq, 1u);
  EXPECT_EQ(rx.core.link_ctr(2), 2u);
}

// ---------------------------------------------------------------- attacks (label security)

// A rogue that sniffs strong DATA learns no key: the key field is a tag; any
// key-field value on a different payload, the channel key itself included, is BAD_MAC.
TEST_F(Strong, SniffedStrongDataGivesNoKeyAndForgeriesAreBadMac) {
  const Channel c = open();
  const auto pay = payload(64, 3);
  ASSERT_TRUE(send(c, pay));
  const EgRec sniffed = last(tx, Opcode::kData);
  EXPECT_NE(sniffed.hdr.key, kChanKey);
  EXPECT_FALSE(tx.core.key_equals_for_test(c.tx_ep, sniffed.hdr.key));
  tx.take_egress();
  rx.take_egress();
  const uint32_t bad0 = rx.rejects(Reason::kBadMac);
  rx.clear_errlog(1);
  // Forgeries: next seq, other payload, key field = sniffed tag / the real key / zero / random.
  const std::vector<Key> fields{sniffed.hdr.key, kChanKey, Key{}, Key{0x12345678u, 1, 2, 3}};
  for (const Key& f : fields) {
    Header h = sniffed.hdr;
    h.seq = static_cast<uint16_t>(h.seq + 1);
    h.key = f;
    rx.strong_payloads.push_back(payload(64, 99));
    rx.inject(h);
  }
  // And the sniffed header with the plain mode's key (STRONG cleared).
  Header p = sniffed.hdr;
  p.aux = 0;
  p.seq = static_cast<uint16_t>(p.seq + 1);
  p.key = kChanKey;
  rx.inject(p);
  const uint32_t n = static_cast<uint32_t>(fields.size()) + 1;
  EXPECT_EQ(rx.rejects(Reason::kBadMac), bad0 + n);
  const auto vds = rx.take_verdicts();
  ASSERT_GE(vds.size(), n);
  for (size_t i = vds.size() - n; i < vds.size(); ++i) {
    EXPECT_FALSE(vds[i].accept);
    EXPECT_EQ(vds[i].reason, u(Reason::kBadMac));
  }
  EXPECT_TRUE(rx.take_egress().empty()) << "a forgery was answered";
  EXPECT_EQ(rx.errlog_count(1), 2u);  // logged for the owner (coalesced)
  EXPECT_EQ(rx.pop_err(1).reason, u(Reason::kBadMac));
  EXPECT_EQ(rx.core.rx_seq(c.rx_ep), 1u);  // nothing accepted
  ASSERT_TRUE(send(c, payload(32, 8)));   // the channel keeps working
}

// NO_KEY is the strong DATA check's first reason: a strong entry without a
// key cannot check a MAC, so the packet is dropped unanswered (11.7).
TEST_F(Strong, StrongDataForAStrongEntryWithoutKeyIsNoKeyAndUnanswered) {
  const Channel c = open();
  ASSERT_TRUE(send(c, payload(16, 1)));
  const EgRec sniffed = last(tx, Opcode::kData);
  // A second strong receive entry of the same partition, ALLOCATED, no key.
  const uint32_t e = static_cast<uint32_t>(rx.alloc(1));
  rx.wr_ok(kernel(1), cst_addr(e, regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kRecv, true));
  ASSERT_FALSE(rx.core.key_valid(e));
  rx.take_egress();
  rx.take_verdicts();
  rx.clear_errlog(1);
  const uint32_t nokey0 = rx.rejects(Reason::kNoKey);
  Header h = sniffed.hdr;
  h.dst_ep = static_cast<uint8_t>(e);
  h.dst_gen = rx.core.ep_gen(e);
  rx.strong_payloads.push_back(payload(16, 1));
  rx.inject(h);
  EXPECT_EQ(rx.rejects(Reason::kNoKey), nokey0 + 1);
  EXPECT_EQ(rx.core.reject_count(Reason::kNoKey), nokey0 + 1);
  const auto vds = rx.take_verdicts();
  ASSERT_EQ(vds.size(), 1u);
  EXPECT_FALSE(vds[0].accept);
  EXPECT_EQ(vds[0].reason, u(Reason::kNoKey));
  EXPECT_TRUE(rx.take_egress().empty()) << "answered without a key";
  ASSERT_EQ(rx.errlog_count(1), 1u);
  const ErrEntry le = rx.pop_err(1);
  EXPECT_EQ(le.reason, u(Reason::kNoKey));
  EXPECT_EQ(le.ep, e);
  EXPECT_EQ(rx.core.rxq_count(e), 0u);
  ASSERT_TRUE(send(c, payload(24, 2)));  // the channel keeps working
}

// The RX engine takes the entry's key when the header enters S1 (it hashes
// the payload as it streams, 11.6): a key changed while it runs cannot make
// a packet tagged under the new key pass.
TEST_F(Strong, KeyChangedWhileTheRxMacEngineRunsIsBadMac) {
  const Channel c = open();
  ASSERT_TRUE(send(c, payload(16, 1)));
  const EgRec sniffed = last(tx, Opcode::kData);
  const Key k2{0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
  Header h = sniffed.hdr;
  h.seq = static_cast<uint16_t>(h.seq + 1);
  h.len = regs::kMaxMsgBytes;  // 64 beats: time for the agent to re-key the entry
  const auto pay = payload(regs::kMaxMsgBytes, 7);
  h.key = ref_mac(k2, h, pay);
  rx.take_verdicts();
  rx.clear_errlog(1);
  const uint32_t bad0 = rx.rejects(Reason::kBadMac);
  rx.strong_payloads.push_back(pay);
  rx.ingress.push_back(h);
  rx.tick(2);
  ASSERT_TRUE(rx.core.mac_rx_busy());
  rx.cmd_ok(1, Cmd::kClose, c.rx_ep);
  rx.cmd_ok(1, Cmd::kAuthorize, c.rx_ep);
  rx.stage_key(1, k2);
  rx.cmd_ok(1, Cmd::kSetKey, c.rx_ep);
  ASSERT_TRUE(rx.core.mac_rx_busy()) << "the packet committed before the re-key";
  ASSERT_TRUE(rx.core.key_equals_for_test(c.rx_ep, k2));
  rx.settle();
  EXPECT_EQ(rx.rejects(Reason::kBadMac), bad0 + 1);
  const auto vds = rx.take_verdicts();
  ASSERT_EQ(vds.size(), 1u);
  EXPECT_FALSE(vds[0].accept);
  EXPECT_EQ(vds[0].reason, u(Reason::kBadMac));
  EXPECT_EQ(rx.pop_err(1).reason, u(Reason::kBadMac));
}

// The management-plane decode follows the generated rules: the FIRMWARE pin
// reaches only who = any / firmware registers, nobody else the firmware ones.
TEST_F(Strong, DecodeFollowsTheGeneratedRulesWithTheFirmwarePin) {
  uint32_t n = 0;
  for (uint32_t a = 0; a < regs::CMM_CST_BASE; a += 4) {
    const regs::RegHit hit = regs::reg_decode(a);
    const regs::Who who = hit.id == regs::RegId::kNone ? regs::Who::kKernel : regs::reg_rule(hit.id).who;
    const bool fw_reg = hit.id != regs::RegId::kNone && who == regs::Who::kFirmware;
    const bool any_reg = hit.id != regs::RegId::kNone && who == regs::Who::kAny;
    const uint8_t fw_want = (fw_reg || any_reg) ? u(Rsp::kOk) : u(Rsp::kDenied);
    EXPECT_EQ(rx.rd(firmware(), a).status, fw_want) << std::hex << a;
    const uint8_t k_want = hit.id == regs::RegId::kNone ? u(Rsp::kDecerr) : fw_reg ? u(Rsp::kDenied) : u(Rsp::kOk);
    EXPECT_EQ(rx.rd(kernel(0), a).status, k_want) << std::hex << a;
    if (fw_reg) {
      EXPECT_EQ(rx.rd(user(1, 10), a).status, u(Rsp::kDenied)) << std::hex << a;
    }
    n += 2;
  }
  EXPECT_GE(n, 2u * (regs::CMM_CST_BASE / 4));
  // Window addresses are kernel/process territory: DENIED to the pin.
  EXPECT_EQ(rx.rd(firmware(), cst_addr(0, regs::CMM_CST_CTRL_OFFSET)).status, u(Rsp::kDenied));
  EXPECT_EQ(rx.rd(firmware(), ep_addr(0, regs::CMM_EP_RX_STATUS_OFFSET)).status, u(Rsp::kDenied));
}

TEST_F(Strong, TamperedPayloadByteIsBadMacAndNotDelivered) {
  const Channel c = open();
  ASSERT_TRUE(send(c, payload(200, 1)));
  const uint32_t bad0 = rx.rejects(Reason::kBadMac);
  rx.clear_errlog(1);
  net.pay_filter = [](const Header& h, std::vector<uint8_t>& p) {
    if (h.opcode == u(Opcode::kData) && p.size() > 100) p[100] ^= 0x01;
  };
  EXPECT_FALSE(send(c, payload(200, 2)));
  EXPECT_EQ(rx.rejects(Reason::kBadMac), bad0 + 1);
  EXPECT_EQ(rx.take_verdicts().back().reason, u(Reason::kBadMac));
  EXPECT_EQ(rx.pop_err(1).reason, u(Reason::kBadMac));
  EXPECT_EQ(last(rx, Opcode::kConnect).hdr.opcode, u(Opcode::kConnect));  // rx sent no NACK:
  for (const auto& e : rx.egress) EXPECT_NE(e.hdr.opcode, u(Opcode::kNack));
  net.pay_filter = nullptr;
  ASSERT_TRUE(send(c, payload(200, 3)));  // next one delivered (gap reported: one was lost)
}

TEST_F(Strong, ReplayedStrongDataIsSeqOldCountedAndNeverDeliveredTwice) {
  const Channel c = open();
  const auto pay = payload(48, 4);
  ASSERT_TRUE(send(c, pay));
  const EgRec cap = last(tx, Opcode::kData);
  ASSERT_TRUE(send(c, payload(48, 5)));
  const uint32_t old0 = rx.rejects(Reason::kSeqOld);
  const uint32_t delivered = rx.core.stat(CmmCore::kStatDataDelivered);
  for (int i = 0; i < 3; ++i) {  // the captured packet, valid MAC and all, replayed
    rx.strong_payloads.push_back(cap.payload);
    rx.inject(cap.hdr);
  }
  EXPECT_EQ(rx.rejects(Reason::kSeqOld), old0 + 3);
  EXPECT_EQ(rx.core.stat(CmmCore::kStatDataDelivered), delivered);
  EXPECT_EQ(rx.take_verdicts().back().reason, u(Reason::kSeqOld));
  // The answering NACK is MAC'd, not keyed.
  const EgRec nk = last(rx, Opcode::kNack);
  EXPECT_EQ(nk.hdr.reason, u(Reason::kSeqOld));
  EXPECT_EQ(nk.hdr.key, ref_mac(kChanKey, nk.hdr));
  ASSERT_TRUE(send(c, payload(48, 6)));
}

// 16-bit node ids, link_nodes link keys (docs/scale.md): a node id beyond the
// table can hold no link key, so a strong CONNECT to or from it is refused
// NO_LINK_KEY; LINK_CMD cannot even name it (its NODE field is the table index).
TEST_F(Strong, StrongConnectToOrFromANodeIdBeyondTheLinkTableIsRefusedNoLinkKey) {
  constexpr uint16_t kFar = regs::kLinkNodes + 44;  // node 300: bits 7:0 = 44
  static_assert(kFar < (1u << regs::kNodeIdBits));
  for (uint32_t w = 0; w < regs::kKeyWords; ++w)
    rx.wr_ok(firmware(), regs::CMM_LINK_KEY_OFFSET + regs::CMM_LINK_KEY_STRIDE * w, kLink[w]);
  const uint32_t set_far = static_cast<uint32_t>(regs::LinkOp::kSet) | uint32_t{kFar} << regs::CMM_LINK_CMD_NODE_LSB;
  EXPECT_EQ(rx.wr(firmware(), regs::CMM_LINK_CMD_OFFSET, set_far).status, u(Rsp::kReject));
  EXPECT_EQ(rx.rejects(Reason::kReservedBits), 1u);
  EXPECT_FALSE(rx.core.link_valid(kFar));
  EXPECT_FALSE(rx.core.link_valid(kFar % regs::kLinkNodes));  // no alias entry written
  // To: CMD CONNECT on a strong receive entry whose remote node is kFar.
  const int rep = rx.make_entry(1, 10, Dir::kRecv, kFar, 2, 0, false);
  ASSERT_GE(rep, 0);
  const uint32_t re = static_cast<uint32_t>(rep);
  rx.wr_ok(kernel(1), cst_addr(re, regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kRecv, true));
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(kernel(1), cst_addr(re, regs::CMM_CST_REMOTE_OFFSET)), CMM_CST_REMOTE_NODE), kFar);
  rx.cmd_ok(1, Cmd::kAuthorize, re);
  rx.stage_key(1, kChanKey);
  rx.cmd_refused(1, Cmd::kConnect, re, Reason::kNoLinkKey);
  EXPECT_EQ(rx.rejects(Reason::kNoLinkKey), 1u);
  EXPECT_EQ(rx.core.ep_state(re), State::kAuthorized);
  EXPECT_FALSE(rx.core.key_valid(re));
  for (const auto& e : rx.egress) EXPECT_NE(e.hdr.opcode, u(Opcode::kConnect));
  {
    // From: a strong core at node kFar (its link key for node 2 is in range)
    // CONNECTs to tx; tx has no link key for kFar and drops it unanswered.
    CoreHarness far{kFar, strong_params()};
    Net far_net{{&far, &tx}};
    provision(far, 2, kLink);
    const int tep = tx.make_entry(2, 20, Dir::kSend, kFar, 1, 0, false);
    ASSERT_GE(tep, 0);
    const uint32_t te = static_cast<uint32_t>(tep);
    tx.wr_ok(kernel(2), cst_addr(te, regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kSend, true));
    tx.cmd_ok(2, Cmd::kAuthorize, te);
    const int fep = far.make_entry(1, 10, Dir::kRecv, 2, 2, static_cast<uint8_t>(te), false);
    ASSERT_GE(fep, 0);
    const uint32_t fe = static_cast<uint32_t>(fep);
    far.wr_ok(kernel(1), cst_addr(fe, regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kRecv, true));
    far.set_remote_gen(1, fe, tx.gen(2, te));
    far.cmd_ok(1, Cmd::kAuthorize, fe);
    far.stage_key(1, kChanKey);
    far.cmd_ok(1, Cmd::kConnect, fe);
    far.settle();
    const EgRec cn = last(far, Opcode::kConnect);
    EXPECT_EQ(cn.hdr.src_node, kFar);
    EXPECT_EQ(cn.hdr.aux, kStrongBit);
    EXPECT_EQ(tx.rejects(Reason::kNoLinkKey), 1u);
    EXPECT_FALSE(tx.core.key_valid(te));
    EXPECT_EQ(tx.core.ep_state(te), State::kAuthorized);
    const ErrEntry e = tx.pop_err(2);
    EXPECT_EQ(e.reason, u(Reason::kNoLinkKey));
    EXPECT_EQ(e.src_node, kFar & 0xFFu);  // ERRLOG_HEAD.SRC_NODE: bits 7:0
    for (const auto& g : tx.egress) EXPECT_NE(g.hdr.opcode, u(Opcode::kNack));  // never answered
  }
  // The legitimate channel between nodes 1 and 2 still opens and carries data.
  Net net2{{&rx, &tx}};
  const Channel c = open();
  EXPECT_TRUE(send(c, payload(32, 3)));
}

TEST_F(Strong, StrongConnectWithoutOrWithAWrongLinkKeyIsRefused) {
  // No link key at the receiver's CMM: CMD CONNECT refused, nothing stored or sent.
  rx.wr_ok(firmware(), regs::CMM_LINK_CMD_OFFSET, link_cmd(regs::LinkOp::kClear, 2));
  Channel c = open(true, true, kChanKey, false);
  EXPECT_EQ(rx.cmd_reason(1), u(Reason::kNoLinkKey));
  EXPECT_EQ(rx.rejects(Reason::kNoLinkKey), 1u);
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kAuthorized);
  EXPECT_FALSE(rx.core.key_valid(c.rx_ep));
  for (const auto& e : rx.egress) EXPECT_NE(e.hdr.opcode, u(Opcode::kConnect));
  // A wrong link key at the receiver: the sender's CMM finds the wrap tag wrong.
  provision(rx, 2, Key{9, 9, 9, 9});
  rx.stage_key(1, kChanKey);
  rx.cmd_ok(1, Cmd::kConnect, c.rx_ep);
  rx.settle();
  EXPECT_EQ(tx.rejects(Reason::kBadMac), 1u);
  EXPECT_FALSE(tx.core.key_valid(c.tx_ep));
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kAuthorized);
  EXPECT_EQ(tx.pop_err(2).reason, u(Reason::kBadMac));
  for (const auto& e : tx.egress) EXPECT_NE(e.hdr.opcode, u(Opcode::kNack));  // never answered
  // No link key at the sender's CMM: NO_LINK_KEY there, unanswered.
  provision(rx, 2, kLink);
  tx.wr_ok(firmware(), regs::CMM_LINK_CMD_OFFSET, link_cmd(regs::LinkOp::kClear, 1));
  rx.cmd_ok(1, Cmd::kConnect, c.rx_ep);  // re-send (CONNECTING): the stored key
  rx.settle();
  EXPECT_EQ(tx.rejects(Reason::kNoLinkKey), 1u);
  EXPECT_FALSE(tx.core.key_valid(c.tx_ep));
  // Provisioned right: the re-send opens the channel, which carries data.
  provision(tx, 1, kLink);
  rx.cmd_ok(1, Cmd::kConnect, c.rx_ep);
  rx.settle();
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
  EXPECT_TRUE(send(c, payload(10, 1)));
}

TEST_F(Strong, KernelAndUserCannotTouchLinkKeysFirmwareWritesNobodyReads) {
  const uint32_t denied0 = rx.rejects(Reason::kDenied);
  uint32_t attempts = 0;
  const std::vector<uint32_t> addrs{regs::CMM_LINK_KEY_OFFSET, regs::CMM_LINK_KEY_OFFSET + 12, regs::CMM_LINK_CMD_OFFSET,
                                    regs::CMM_LINK_STATUS_OFFSET};
  for (Req who : {kernel(0), kernel(3), user(1, 10)}) {
    for (uint32_t a : addrs) {
      RegRsp w = rx.wr(who, a, a == regs::CMM_LINK_CMD_OFFSET ? link_cmd(regs::LinkOp::kClear, 2) : 0x55u);
      RegRsp r = rx.rd(who, a);
      EXPECT_EQ(w.status, u(Rsp::kDenied));
      EXPECT_EQ(r.status, u(Rsp::kDenied));
      EXPECT_EQ(r.rdata, 0u);
      attempts += 2;
    }
  }
  EXPECT_EQ(rx.rejects(Reason::kDenied), denied0 + attempts);
  EXPECT_TRUE(rx.core.link_valid(2));  // the CLEAR attempts changed nothing
  // Firmware: writes work, reads of the key return 0; it reaches nothing else.
  for (uint32_t w = 0; w < 4; ++w) EXPECT_EQ(rx.rd_ok(firmware(), regs::CMM_LINK_KEY_OFFSET + 4 * w), 0u);
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(firmware(), regs::CMM_LINK_STATUS_OFFSET), CMM_LINK_STATUS_REASON), 0u);
  EXPECT_EQ(rx.rd(firmware(), regs::CMM_CMD_OFFSET).status, u(Rsp::kDenied));
  EXPECT_EQ(rx.rd(firmware(), regs::CMM_REJECT_COUNT_OFFSET).status, u(Rsp::kDenied));
  EXPECT_EQ(rx.rd_ok(firmware(), regs::CMM_ID_OFFSET), regs::kMagic);
  // I1 for link keys: no read at any kernel-bank address by anyone returns a link-key word.
  for (Req who : {kernel(0), kernel(1), user(1, 10), firmware()}) {
    for (uint32_t a = 0; a < regs::CMM_CST_BASE; a += 4) {
      const RegRsp r = rx.rd(who, a);
      for (uint32_t w : kLink) EXPECT_NE(r.rdata, w) << std::hex << a;
    }
  }
  // SET needs all four words and a non-zero key.
  rx.wr_ok(firmware(), regs::CMM_LINK_KEY_OFFSET, 1);
  EXPECT_EQ(rx.wr(firmware(), regs::CMM_LINK_CMD_OFFSET, link_cmd(regs::LinkOp::kSet, 7)).status, u(Rsp::kReject));
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(firmware(), regs::CMM_LINK_STATUS_OFFSET), CMM_LINK_STATUS_REASON),
            u(Reason::kKeyIncomplete));
  for (uint32_t w = 0; w < 4; ++w) rx.wr_ok(firmware(), regs::CMM_LINK_KEY_OFFSET + 4 * w, 0);
  EXPECT_EQ(rx.wr(firmware(), regs::CMM_LINK_CMD_OFFSET, link_cmd(regs::LinkOp::kSet, 7)).status, u(Rsp::kReject));
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(firmware(), regs::CMM_LINK_STATUS_OFFSET), CMM_LINK_STATUS_REASON),
            u(Reason::kKeyZero));
  EXPECT_FALSE(rx.core.link_valid(7));
  // The legitimate channel is unaffected.
  const Channel c = open();
  EXPECT_TRUE(send(c, payload(8, 1)));
}

TEST_F(Strong, ModeMismatchIsRefusedAndNothingStored) {
  // Receiver strong, sender plain: the sender's CMM refuses MODE_MISMATCH, its MAC'd NACK is believed.
  Channel c = open(true, false, kChanKey, false);
  EXPECT_EQ(tx.rejects(Reason::kModeMismatch), 1u);
  EXPECT_FALSE(tx.core.key_valid(c.tx_ep));
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kAuthorized);  // NACK of CONNECT: back, key zeroized
  EXPECT_FALSE(rx.core.key_valid(c.rx_ep));
  EXPECT_EQ(rx.pop_err(1).reason, u(Reason::kModeMismatch));
  EXPECT_EQ(tx.pop_err(2).reason, u(Reason::kModeMismatch));
  // Receiver plain, sender strong: refused the same way.
  Channel d = open(false, true, Key{5, 6, 7, 8}, false);
  EXPECT_EQ(tx.rejects(Reason::kModeMismatch), 2u);
  EXPECT_FALSE(tx.core.key_valid(d.tx_ep));
  EXPECT_EQ(rx.core.ep_state(d.rx_ep), State::kAuthorized);
  // Matching modes open (on fresh entries: the quota is 2 per partition).
  for (const Channel* x : {&c, &d}) {
    rx.cmd_ok(1, Cmd::kClose, x->rx_ep);
    rx.cmd_ok(1, Cmd::kFree, x->rx_ep);
    tx.cmd_ok(2, Cmd::kClose, x->tx_ep);
    tx.cmd_ok(2, Cmd::kFree, x->tx_ep);
  }
  rx.settle();
  const Channel e = open(true, true, Key{11, 12, 13, 14});
  EXPECT_TRUE(send(e, payload(20, 2)));
}

TEST_F(Strong, ForgedStrongControlPacketsAreBadMacAndChangeNothing) {
  const Channel c = open();
  ASSERT_TRUE(send(c, payload(16, 1)));
  // CLOSE to the sender with the right ids and generations, a wrong tag.
  Header cl = make_header(Opcode::kClose, 1, 1, static_cast<uint8_t>(c.rx_ep), 2, 2, static_cast<uint8_t>(c.tx_ep));
  cl.aux = kStrongBit;
  cl.src_gen = c.rx_gen;
  cl.dst_gen = c.tx_gen;
  cl.key = kChanKey;  // even the real key: a strong entry wants a MAC
  tx.inject(cl);
  EXPECT_EQ(tx.rejects(Reason::kBadMac), 1u);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  // NACK of DATA to the sender, wrong tag.
  Header nk = make_header(Opcode::kNack, 1, 1, static_cast<uint8_t>(c.rx_ep), 2, 2, static_cast<uint8_t>(c.tx_ep));
  nk.aux = kStrongBit | u(Opcode::kData);
  nk.reason = u(Reason::kRxqFull);
  nk.src_gen = c.rx_gen;
  nk.dst_gen = c.tx_gen;
  nk.key = Key{1, 1, 1, 1};
  tx.inject(nk);
  EXPECT_EQ(tx.rejects(Reason::kBadMac), 2u);
  EXPECT_EQ(CMM_FIELD_GET(tx.cst_status(2, c.tx_ep), CMM_CST_STATUS_TX_NACKS), 0u);
  // The same NACK with the right MAC is believed (the check is not vacuous).
  nk.seq = 0;  // names the DATA that was sent
  nk.key = ref_mac(kChanKey, nk);
  tx.inject(nk);
  EXPECT_EQ(CMM_FIELD_GET(tx.cst_status(2, c.tx_ep), CMM_CST_STATUS_TX_NACKS), 1u);
  EXPECT_EQ(tx.rejects(Reason::kBadMac), 2u);
  EXPECT_TRUE(send(c, payload(16, 2)));
}

// The wrap nonce never repeats: the CONNECT that would wrap the link's
// 32-bit counter is refused KEY_EXHAUSTED until the link key is re-provisioned.
TEST_F(Strong, LinkCounterNeverWrapsKeyExhaustedUntilReprovisioned) {
  rx.note_backdoor("set_link_ctr_for_test");  // the RTL replay of rx stops here
  rx.core.set_link_ctr_for_test(2, 0xFFFFFFFEu);
  const Channel c = open();  // uses 0xFFFFFFFE
  const EgRec cn = last(rx, Opcode::kConnect);
  EXPECT_EQ(cn.hdr.seq, 0xFFFEu);
  EXPECT_EQ(cn.hdr.tag, 0xFFFFu);
  EXPECT_TRUE(send(c, payload(8, 1)));
  Channel d = open(true, true, Key{7, 7, 7, 7}, false);
  EXPECT_EQ(rx.cmd_reason(1), u(Reason::kKeyExhausted));
  EXPECT_EQ(rx.rejects(Reason::kKeyExhausted), 1u);
  EXPECT_FALSE(rx.core.key_valid(d.rx_ep));
  EXPECT_EQ(rx.core.link_ctr(2), 0xFFFFFFFFu);
  provision(rx, 2, kLink);  // re-provisioning restarts the counter
  rx.stage_key(1, Key{7, 7, 7, 7});
  rx.cmd_ok(1, Cmd::kConnect, d.rx_ep);
  rx.settle();
  EXPECT_EQ(tx.core.ep_state(d.tx_ep), State::kOpen);
  EXPECT_TRUE(send(c, payload(8, 2)));
}

// Backpressure stays reported in strong mode: the receiver's RXQ_FULL NACK
// carries a MAC (no key) and the sender's CMM believes it.
TEST_F(Strong, ReceiveQueueFullIsReportedByAMacdNackTheSenderBelieves) {
  const Channel c = open();
  for (uint32_t i = 0; i < regs::kRxqDepth + 1; ++i) {
    tx.tx_payload = payload(40, static_cast<uint8_t>(i));
    EXPECT_EQ(tx.doorbell(user(2, 20), c.tx_ep, 40, i).status, u(Rsp::kOk));
  }
  tx.settle();
  EXPECT_EQ(rx.core.rxq_count(c.rx_ep), regs::kRxqDepth);
  EXPECT_EQ(rx.rejects(Reason::kRxqFull), 1u);
  const EgRec nk = last(rx, Opcode::kNack);
  EXPECT_EQ(nk.hdr.aux, kStrongBit | u(Opcode::kData));
  EXPECT_EQ(nk.hdr.key, ref_mac(kChanKey, nk.hdr));
  EXPECT_EQ(CMM_FIELD_GET(tx.cst_status(2, c.tx_ep), CMM_CST_STATUS_TX_NACKS), 1u);
  EXPECT_EQ(CMM_FIELD_GET(tx.rd_ok(user(2, 20), ep_addr(c.tx_ep, regs::CMM_EP_TX_STATUS_OFFSET)),
                          CMM_EP_TX_STATUS_LAST_REASON),
            u(Reason::kRxqFull));
  EXPECT_EQ(tx.rejects(Reason::kBadMac) + tx.rejects(Reason::kUnauthResponse), 0u);
}

// ---------------------------------------------------------------- mode off, mode plain

// With strong mode off the core is the old core: LINK_* unmapped, MODE
// reads 0 and ignores writes, FIRMWARE and STRONG ignored, new pins idle.
TEST(StrongOff, NewRegistersUnmappedModeReadsZeroPinsIdle) {
  CoreHarness h(1);
  EXPECT_FALSE(h.core.params().strong);
  const uint32_t bad0 = h.rejects(Reason::kBadAddr);
  EXPECT_EQ(h.wr(kernel(0), regs::CMM_LINK_KEY_OFFSET, 1).status, u(Rsp::kDecerr));
  EXPECT_EQ(h.wr(firmware(), regs::CMM_LINK_CMD_OFFSET, link_cmd(regs::LinkOp::kSet, 2)).status, u(Rsp::kDecerr));
  EXPECT_EQ(h.rd(kernel(0), regs::CMM_LINK_STATUS_OFFSET).status, u(Rsp::kDecerr));
  EXPECT_EQ(h.rejects(Reason::kBadAddr), bad0 + 3);
  const int ep = h.alloc(0);
  ASSERT_GE(ep, 0);
  h.wr_ok(kernel(0), cst_addr(static_cast<uint32_t>(ep), regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kSend, true));
  EXPECT_EQ(CMM_FIELD_GET(h.cst_ctrl(0, static_cast<uint32_t>(ep)), CMM_CST_CTRL_MODE), 0u);
  EXPECT_EQ(CMM_FIELD_GET(h.cst_ctrl(0, static_cast<uint32_t>(ep)), CMM_CST_CTRL_DIR), u(Dir::kSend));
  // A firmware-stamped access is an ordinary one (kernel bank refuses it as a user access).
  EXPECT_EQ(h.rd(firmware(), regs::CMM_CMD_STATUS_OFFSET).status, u(Rsp::kDenied));
  EXPECT_FALSE(h.core.out().mac_tx_ready);
  EXPECT_FALSE(h.core.out().mac_rx_ready);
}

// Plain channels behave identically in a strong core and a core without
// strong mode: same headers, same cycles (the plain mode is unchanged).
TEST(StrongOff, PlainChannelIsIdenticalWithAndWithoutStrongMode) {
  std::vector<std::vector<EgRec>> runs;
  for (bool strong : {false, true}) {
    CoreParams p;
    p.strong = strong;
    CoreHarness a(1, p), b(2, p);
    Net net({&a, &b});
    const Channel c = open_channel(a, 1, 10, b, 2, 20, kChanKey);
    for (uint32_t i = 0; i < 5; ++i) {
      b.tx_payload = payload(100, 1);
      EXPECT_EQ(b.doorbell(user(2, 20), c.tx_ep, 100, i).status, u(Rsp::kOk));
    }
    b.settle();
    EXPECT_EQ(a.core.stat(CmmCore::kStatDataDelivered), 4u);  // queue depth 4: one RXQ_FULL
    std::vector<EgRec> all = a.take_egress();
    for (auto& e : b.take_egress()) all.push_back(e);
    for (auto& e : all) e.payload.clear();
    runs.push_back(all);
    EXPECT_EQ(a.core.mac_tx_busy() || b.core.mac_tx_busy(), false);
    EXPECT_FALSE(b.last_in.mac_tx_valid);
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  for (size_t i = 0; i < runs[0].size(); ++i) {
    EXPECT_EQ(runs[0][i].cycle, runs[1][i].cycle) << i;
    EXPECT_EQ(runs[0][i].hdr, runs[1][i].hdr) << i;
  }
}

// ---------------------------------------------------------------- MAC engine cost (cycles)

// Doorbell accept -> delivery verdict: plain 4 cycles at these settings;
// strong adds (L + ceil(n / B)) at the sender's TX engine and again at the
// receiver's RX engine: exactly, in simulated cycles.
struct CostCase {
  uint32_t lat, bpc;
};
class StrongCost : public ::testing::TestWithParam<CostCase> {};

TEST_P(StrongCost, LatencyGrowsByMacLatencyPlusBeatsAtEachEnd) {
  ASSERT_GE(sodium_init(), 0);
  const CostCase cc = GetParam();
  auto measure = [&](bool strong, uint32_t n) -> uint64_t {
    CoreParams p = strong_params(cc.lat, cc.bpc);
    CoreHarness a(1, p), b(2, p);
    Net net({&a, &b});
    provision(a, 2, kLink);
    provision(b, 1, kLink);
    // open: reuse the fixture's steps through a minimal local copy
    const int rx_ep = a.alloc(1), tx_ep = b.alloc(2);
    const uint8_t rg = a.gen(1, static_cast<uint32_t>(rx_ep)), tg = b.gen(2, static_cast<uint32_t>(tx_ep));
    b.wr_ok(kernel(2), cst_addr(static_cast<uint32_t>(tx_ep), regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kSend, strong));
    b.wr_ok(kernel(2), cst_addr(static_cast<uint32_t>(tx_ep), regs::CMM_CST_OWNER_OFFSET), 20);
    b.wr_ok(kernel(2), cst_addr(static_cast<uint32_t>(tx_ep), regs::CMM_CST_REMOTE_OFFSET),
            remote_word(1, 1, static_cast<uint32_t>(rx_ep)));
    b.set_remote_gen(2, static_cast<uint32_t>(tx_ep), rg);
    b.cmd_ok(2, Cmd::kAuthorize, static_cast<uint32_t>(tx_ep));
    a.wr_ok(kernel(1), cst_addr(static_cast<uint32_t>(rx_ep), regs::CMM_CST_CTRL_OFFSET), ctrl_word(Dir::kRecv, strong));
    a.wr_ok(kernel(1), cst_addr(static_cast<uint32_t>(rx_ep), regs::CMM_CST_OWNER_OFFSET), 10);
    a.wr_ok(kernel(1), cst_addr(static_cast<uint32_t>(rx_ep), regs::CMM_CST_REMOTE_OFFSET),
            remote_word(2, 2, static_cast<uint32_t>(tx_ep)));
    a.set_remote_gen(1, static_cast<uint32_t>(rx_ep), tg);
    a.cmd_ok(1, Cmd::kAuthorize, static_cast<uint32_t>(rx_ep));
    a.stage_key(1, kChanKey);
    a.cmd_ok(1, Cmd::kConnect, static_cast<uint32_t>(rx_ep));
    a.settle();
    EXPECT_EQ(b.core.ep_state(static_cast<uint32_t>(tx_ep)), State::kOpen);
    a.take_verdicts();
    b.tx_payload = payload(n, 9);
    const RegRsp r = b.doorbell(user(2, 20), static_cast<uint32_t>(tx_ep), n, 1);
    EXPECT_EQ(r.status, u(Rsp::kOk));
    b.settle(10000);
    const auto v = a.take_verdicts();
    EXPECT_EQ(v.size(), 1u);
    if (v.empty()) return 0;
    EXPECT_TRUE(v[0].accept);
    return v[0].cycle - r.accept_cycle;
  };
  for (uint32_t n : {1u, 16u, 17u, 256u, 1000u, 1024u}) {
    const uint64_t plain = measure(false, n), strong = measure(true, n);
    const uint64_t beats = (n + cc.bpc - 1) / cc.bpc;
    EXPECT_EQ(strong - plain, 2 * (cc.lat + beats)) << "n=" << n << " L=" << cc.lat << " B=" << cc.bpc;
  }
}

INSTANTIATE_TEST_SUITE_P(Params, StrongCost,
                         ::testing::Values(CostCase{4, 16}, CostCase{0, 16}, CostCase{1, 1}, CostCase{7, 8}),
                         [](const auto& i) {
                           return "L" + std::to_string(i.param.lat) + "_B" + std::to_string(i.param.bpc);
                         });

}  // namespace
}  // namespace cmm::coretest
