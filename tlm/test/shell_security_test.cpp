// Attacks on the CMM TLM shell's packet buffer (docs/security.md 1.8), one
// test per attack: CRC-32C (every single-bit flip of the header, of a payload
// byte and of the CRC itself is dropped BAD_CRC before the core sees it; an
// opcode DATA -> CLOSE corruption does not close the channel), lengths never
// trusted (BAD_LEN, a 65535-byte claim), TX staging scrubbed between owners.
// The peer CMM is played by a LinkStub bound to the shell's fabric sockets.
#include <memory>
#include <string>
#include <vector>

#include "cmm_node_util.h"
#include "cmm_tlm/crossbar.h"
#include "link_stub.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::regs;
using namespace sc_core;
using sw::BusStatus;

namespace {

const sc_time P(1, SC_NS);
constexpr uint8_t kPeerNode = 1, kPeerEp = 0, kPeerGen = 7;

// CMM node 0 and, on its fabric sockets, the peer (node 1 endpoint 0).
struct ShellBench {
  test::Node n;
  test::LinkStub peer;
  ShellBench() : n("n0", 0), peer("peer") {
    peer.isock.bind(n.cmm.ing_tsock);
    n.cmm.eg_isock.bind(peer.tsock);
  }
  // A packet of the peer's entry to entry `ep` of node 0.
  Packet from_peer(Opcode op, uint32_t ep) const {
    Packet p;
    p.hdr.opcode = static_cast<uint8_t>(op);
    p.hdr.src_node = kPeerNode;
    p.hdr.src_part = 0;
    p.hdr.src_ep = kPeerEp;
    p.hdr.dst_node = 0;
    p.hdr.dst_part = 0;
    p.hdr.dst_ep = static_cast<uint8_t>(ep);
    p.hdr.src_gen = kPeerGen;
    p.cls = (op == Opcode::kConnectAck || op == Opcode::kNack) ? 1 : 0;
    return p;
  }
  // Waits for the next packet of opcode `op` from the CMM (after index `from`).
  const test::LinkStub::Rx* wait_rx(Opcode op, size_t& from) {
    for (int i = 0; i < 500; ++i) {
      for (; from < peer.rx.size(); ++from)
        if (peer.rx[from].hdr.opcode == static_cast<uint8_t>(op)) return &peer.rx[from++];
      wait(5 * P);
    }
    return nullptr;
  }
  void send(Packet& p, bool raw = false) {
    while (!(raw ? peer.send_raw(p) : peer.send(p))) wait(P);
  }
};

// Receive entry on node 0 from the peer, opened by the peer's CONNECT_ACK.
uint32_t open_receive_entry(ShellBench& b, sw::RegIf& k, const Key& key, size_t& seen) {
  const uint32_t ep = test::alloc_entry(k, Dir::kRecv, 100, kPeerNode, 0, kPeerEp);
  test::authorize(k, ep, kPeerGen);
  test::connect(k, ep, key);
  const auto* c = b.wait_rx(Opcode::kConnect, seen);
  EXPECT_NE(c, nullptr);
  if (!c) return ep;
  EXPECT_EQ(c->crc, packet_crc(Packet{c->hdr, c->cls, 0, 0, 0, {}}));  // the shell sealed its egress
  Packet ack = b.from_peer(Opcode::kConnectAck, ep);
  ack.hdr.src_gen = c->hdr.dst_gen;
  ack.hdr.dst_gen = c->hdr.src_gen;
  ack.hdr.key = c->hdr.key;
  b.send(ack);
  EXPECT_TRUE(test::wait_open(k, ep));
  return ep;
}

Packet data_from_peer(const ShellBench& b, uint32_t ep, uint8_t local_gen, const Key& key, uint16_t seq,
                      uint16_t len, uint16_t tag) {
  Packet d = b.from_peer(Opcode::kData, ep);
  d.hdr.dst_gen = local_gen;
  d.hdr.key = key;
  d.hdr.seq = seq;
  d.hdr.len = len;
  d.hdr.tag = tag;
  d.payload_len = len;
  for (uint16_t i = 0; i < len; ++i) d.payload[i] = static_cast<uint8_t>(i * 11 + seq);
  seal(d);
  return d;
}

// Counts the shell's drop reports (CmmTlmObserver::on_drop).
struct DropObs : CmmTlmObserver {
  DropCount seen;
  void on_drop(const sc_time&, const Packet& p, Reason why) override {
    (void)p.carried();
    seen.add(why);
  }
};

uint64_t core_rejects(const CmmTlm& m) {
  uint64_t n = 0;
  for (auto r : m.stats().rejects) n += r;
  return n;
}

}  // namespace

TEST(ShellSecurity, Crc32cKnownAnswer) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t*>(s), 9), 0xE3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
  const uint8_t zeros[32] = {};
  EXPECT_EQ(crc32c(zeros, 32), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  // Running form equals the one-shot form.
  const uint32_t st = crc32c_update(0xFFFFFFFFu, reinterpret_cast<const uint8_t*>(s), 4);
  EXPECT_EQ(~crc32c_update(st, reinterpret_cast<const uint8_t*>(s) + 4, 5), 0xE3069283u);
}

// Every single-bit flip of the 252 header bits, of one payload byte and of
// the CRC word itself, and an opcode DATA -> CLOSE corruption, arrive at an
// open receive entry: all dropped BAD_CRC by the shell, the core never sees
// them (no verdict, no reject, no state change), the channel stays open and
// the next genuine DATA is delivered intact.
TEST(ShellSecurity, EverySingleBitFlipDroppedBadCrc) {
  CMM_REQUIRE_FRESH_KERNEL();
  ShellBench b;
  DropObs obs;
  b.n.cmm.set_observer(&obs);
  auto k = b.n.biu.make_context(Priv::kKernel, 0);
  auto u = b.n.biu.make_context(Priv::kUser, 100);
  const Key key{0x11112222u, 0x33334444u, 0x55556666u, 0x77778888u};
  uint64_t flips = 0, ing_before = 0, rej_before = 0;
  bool done = false;
  test::ThreadRunner drv("drv", [&] {
    size_t seen = 0;
    const uint32_t ep = open_receive_entry(b, *k, key, seen);
    const uint8_t gen = test::local_gen(*k, ep);
    Packet d0 = data_from_peer(b, ep, gen, key, 0, 40, 0x10);
    b.send(d0);
    for (int i = 0; i < 50 && test::rx_count(*u, ep) == 0; ++i) wait(5 * P);
    ASSERT_EQ(test::rx_count(*u, ep), 1u);
    ing_before = b.n.cmm.stats().ing_packets[0] + b.n.cmm.stats().ing_packets[1];
    rej_before = core_rejects(b.n.cmm);

    const Packet good = data_from_peer(b, ep, gen, key, 1, 40, 0x11);
    for (uint32_t bit = 0; bit < kHdrBits; ++bit) {
      Header::Packed w = good.hdr.pack();
      w[bit / 32] ^= 1u << (bit % 32);
      Packet bad = good;
      bad.hdr = Header::unpack(w);
      b.send(bad, true);
      ++flips;
    }
    for (uint32_t bit = 0; bit < 8; ++bit) {  // payload byte 5
      Packet bad = good;
      bad.payload[5] ^= static_cast<uint8_t>(1u << bit);
      b.send(bad, true);
      ++flips;
    }
    for (uint32_t bit = 0; bit < 32; ++bit) {  // the CRC field
      Packet bad = good;
      bad.crc ^= 1u << bit;
      b.send(bad, true);
      ++flips;
    }
    Packet to_close = good;  // DATA -> CLOSE: would close the channel if believed
    to_close.hdr.opcode = static_cast<uint8_t>(Opcode::kClose);
    to_close.hdr.len = 0;
    to_close.payload_len = 0;
    b.send(to_close, true);
    ++flips;
    wait(50 * P);
    EXPECT_EQ(test::state_of(*k, ep), static_cast<uint32_t>(State::kOpen));
    EXPECT_EQ(test::rx_count(*u, ep), 1u);
    EXPECT_EQ(b.n.cmm.stats().ing_packets[0] + b.n.cmm.stats().ing_packets[1], ing_before);
    EXPECT_EQ(core_rejects(b.n.cmm), rej_before);
    // The genuine next message still arrives, intact.
    Packet d1 = good;
    b.send(d1, true);
    for (int i = 0; i < 50 && test::rx_count(*u, ep) < 2; ++i) wait(5 * P);
    (void)test::pop_msg(*u, ep, 40);
    uint32_t tag = 0;
    const auto m = test::pop_msg(*u, ep, 40, &tag);
    EXPECT_EQ(tag, 0x11u);
    EXPECT_EQ(m, std::vector<uint8_t>(good.payload.begin(), good.payload.begin() + 40));
    done = true;
  });
  sc_start(sc_time(1, SC_MS));
  EXPECT_TRUE(done);
  const auto& s = b.n.cmm.stats();
  EXPECT_EQ(flips, kHdrBits + 8u + 32u + 1u);
  EXPECT_EQ(s.drops.of(Reason::kBadCrc), flips);
  EXPECT_EQ(s.drops.total(), flips);
  EXPECT_EQ(obs.seen.bad_crc, flips);  // each drop reported to the observer
  EXPECT_EQ(s.data_delivered, 2u);
  EXPECT_EQ(s.link_errors, 0u);
  EXPECT_EQ(b.peer.credits[0] + b.peer.credits[1], 8u);  // every drop returned its credit
}

// A DATA claiming 65535 payload bytes (header and carried length) and DATA
// whose lengths disagree reach the shell with a valid CRC: dropped BAD_LEN,
// never copied, never seen by the core; legitimate DATA still delivered.
TEST(ShellSecurity, BadLengthDroppedBadLen) {
  CMM_REQUIRE_FRESH_KERNEL();
  ShellBench b;
  DropObs obs;
  b.n.cmm.set_observer(&obs);
  auto k = b.n.biu.make_context(Priv::kKernel, 0);
  auto u = b.n.biu.make_context(Priv::kUser, 100);
  const Key key{1, 2, 3, 4};
  bool done = false;
  test::ThreadRunner drv("drv", [&] {
    size_t seen = 0;
    const uint32_t ep = open_receive_entry(b, *k, key, seen);
    const uint8_t gen = test::local_gen(*k, ep);
    const uint64_t rej_before = core_rejects(b.n.cmm);
    auto evil = std::make_unique<Packet>(data_from_peer(b, ep, gen, key, 0, 64, 0xBAD));
    evil->hdr.len = 65535;
    evil->payload_len = 65535;
    seal(*evil);  // a CRC over what it carries: the length check must still catch it
    b.send(*evil, true);
    auto mismatch = std::make_unique<Packet>(data_from_peer(b, ep, gen, key, 0, 64, 0xBAD));
    mismatch->hdr.len = 1000;  // header claims more than carried
    seal(*mismatch);
    b.send(*mismatch, true);
    wait(20 * P);
    EXPECT_EQ(test::rx_count(*u, ep), 0u);
    EXPECT_EQ(core_rejects(b.n.cmm), rej_before);
    Packet d = data_from_peer(b, ep, gen, key, 0, 1024, 0x42);  // the maximum is legal
    b.send(d);
    for (int i = 0; i < 50 && test::rx_count(*u, ep) == 0; ++i) wait(5 * P);
    uint32_t tag = 0;
    EXPECT_EQ(test::pop_msg(*u, ep, 1024, &tag), std::vector<uint8_t>(d.payload.begin(), d.payload.end()));
    EXPECT_EQ(tag, 0x42u);
    done = true;
  });
  sc_start(sc_time(1, SC_MS));
  EXPECT_TRUE(done);
  const auto& s = b.n.cmm.stats();
  EXPECT_EQ(s.drops.of(Reason::kBadLen), 2u);
  EXPECT_EQ(s.drops.total(), 2u);
  EXPECT_EQ(obs.seen.bad_len, 2u);
  EXPECT_EQ(s.data_delivered, 1u);
}

// Owner A stages 1000 bytes but never rings; the agent CLOSEs and FREEs the
// endpoint; owner B of the re-allocated endpoint rings with LEN 1000 without
// writing: the DATA carries zeros, never A's bytes. Also after a short DATA
// the rest of the staged bytes are gone.
TEST(ShellSecurity, TxStagingScrubbedBetweenOwners) {
  CMM_REQUIRE_FRESH_KERNEL();
  ShellBench b;
  auto k = b.n.biu.make_context(Priv::kKernel, 0);
  auto ua = b.n.biu.make_context(Priv::kUser, 100);
  auto ub = b.n.biu.make_context(Priv::kUser, 200);
  const Key key{9, 8, 7, 6};
  const std::vector<uint8_t> secret(1000, 0xA5);
  std::vector<std::vector<uint8_t>> sent;  // DATA payloads seen by the peer
  bool done = false;
  test::ThreadRunner drv("drv", [&] {
    size_t seen = 0;
    // The peer (receiver side) opens a send entry of node 0 with its CONNECT.
    auto open_send = [&](uint16_t pid) {
      const uint32_t ep = test::alloc_entry(*k, Dir::kSend, pid, kPeerNode, 0, kPeerEp);
      test::authorize(*k, ep, kPeerGen);
      Packet c = b.from_peer(Opcode::kConnect, ep);
      c.hdr.dst_gen = test::local_gen(*k, ep);
      c.hdr.key = key;
      b.send(c);
      EXPECT_NE(b.wait_rx(Opcode::kConnectAck, seen), nullptr);
      EXPECT_TRUE(test::wait_open(*k, ep));
      return ep;
    };
    auto next_data = [&]() {
      const auto* d = b.wait_rx(Opcode::kData, seen);
      EXPECT_NE(d, nullptr);
      if (d) sent.push_back(d->payload);
    };
    const uint32_t ep = open_send(100);
    // A: 1000 bytes staged, a 10-byte message, then LEN 1000 with nothing written.
    EXPECT_EQ(test::send_msg(*ua, ep, secret, 1, 10), BusStatus::kOk);
    next_data();
    EXPECT_EQ(test::send_msg(*ua, ep, {}, 2, 1000), BusStatus::kOk);
    next_data();
    // A stages its secret again and leaves it there.
    EXPECT_EQ(ua->write_block(test::epr(ep, CMM_TX_BUF_OFFSET), secret.data(), secret.size()), BusStatus::kOk);
    EXPECT_EQ(k->write32(CMM_CMD_OFFSET, test::cmd(Cmd::kClose, ep)), BusStatus::kOk);
    EXPECT_NE(b.wait_rx(Opcode::kClose, seen), nullptr);
    EXPECT_EQ(k->write32(CMM_CMD_OFFSET, test::cmd(Cmd::kFree, ep)), BusStatus::kOk);
    // B gets the same endpoint and rings with a long LEN, writing nothing.
    EXPECT_EQ(open_send(200), ep);
    EXPECT_EQ(test::send_msg(*ub, ep, {}, 3, 1000), BusStatus::kOk);
    next_data();
    done = true;
  });
  sc_start(sc_time(1, SC_MS));
  EXPECT_TRUE(done);
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0], std::vector<uint8_t>(10, 0xA5));
  EXPECT_EQ(sent[1], std::vector<uint8_t>(1000, 0));  // A's own leftovers gone after its DATA
  EXPECT_EQ(sent[2], std::vector<uint8_t>(1000, 0));  // B never sees A's bytes
  EXPECT_GE(b.n.cmm.stats().tx_scrubs, 1u);
  EXPECT_EQ(b.n.cmm.stats().data_sent, 3u);
}

// ---------------------------------------------------------------- strong mode (docs/strong-mode.md 11)

namespace {

// A node with a board-management port (FIRMWARE) on its node bus.
struct StrongNode {
  CmmTlm cmm;
  NodeBus bus;
  PartitionBusIf biu, bmc;
  StrongNode(const char* n, uint8_t id)
      : cmm((std::string(n) + "_cmm").c_str(), test::Node::cfg(id, 4, 16)),
        bus((std::string(n) + "_bus").c_str(), 1, P, true),
        biu((std::string(n) + "_biu0").c_str()),
        bmc((std::string(n) + "_bmc").c_str()) {
    bus.cmm_isock.bind(cmm.reg_tsock);
    biu.isock.bind(*bus.part_tsock[0]);
    bmc.isock.bind(*bus.mgmt_tsock);
  }
};

// Cycle of each accepted doorbell (sender) and of each delivery verdict (receiver).
struct CycleObs : CmmTlmObserver {
  std::vector<uint64_t> doorbells, delivered;
  void on_pins(const sc_time& t, const PinsIn& in, const PinsOut& o) override {
    if (in.reg_req_valid && o.reg_req_ready && in.reg_req_write && in.reg_req_addr >= CMM_EP_BASE &&
        (in.reg_req_addr - CMM_EP_BASE) % CMM_EP_STRIDE == CMM_EP_DOORBELL_OFFSET)
      doorbells.push_back(t.value() / P.value());
  }
  void on_deliver(uint64_t c, const Header&) override { delivered.push_back(c); }
};

}  // namespace

// Two CMMs on a crossbar; link keys provisioned through the FIRMWARE port
// only (the kernel is DENIED); a plain and a strong channel carry the same
// messages; the strong one's doorbell-to-delivery latency is longer by
// exactly 2 * (mac_latency_cycles + ceil(bytes / mac_bytes_per_cycle))
// simulated cycles (the TX engine at the sender, the RX engine at the receiver).
TEST(ShellStrong, StrongChannelCarriesMessagesEndToEndAndMacCostMatchesTheModel) {
  CMM_REQUIRE_FRESH_KERNEL();
  StrongNode rx("n0", 0), tx("n1", 1);
  XbarConfig xc;
  xc.num_ports = 2;
  xc.ports.assign(2, XbarPortConfig{16, 2});
  Crossbar xbar("xbar", xc);
  rx.cmm.eg_isock.bind(*xbar.in_tsock[0]);
  xbar.out_isock[0]->bind(rx.cmm.ing_tsock);
  tx.cmm.eg_isock.bind(*xbar.in_tsock[1]);
  xbar.out_isock[1]->bind(tx.cmm.ing_tsock);
  CycleObs rx_o, tx_o;
  rx.cmm.set_observer(&rx_o);
  tx.cmm.set_observer(&tx_o);
  auto fw_r = rx.bmc.make_context(Priv::kKernel, 0);  // the bus stamps FIRMWARE whatever the context says
  auto fw_s = tx.bmc.make_context(Priv::kKernel, 0);
  auto kr = rx.biu.make_context(Priv::kKernel, 0);
  auto ur = rx.biu.make_context(Priv::kUser, 100);
  auto ks = tx.biu.make_context(Priv::kKernel, 0);
  auto us = tx.biu.make_context(Priv::kUser, 200);
  const Key lk{0xC0FFEE01u, 0xC0FFEE02u, 0xC0FFEE03u, 0xC0FFEE04u};
  const std::vector<uint32_t> sizes{16, 17, 100, 256, 1024};
  std::vector<std::vector<uint8_t>> got[2];
  bool done = false;
  test::ThreadRunner drv("drv", [&] {
    // Management plane: the kernel is refused, the board-management port provisions.
    EXPECT_EQ(provision_link_key(*kr, 1, lk), BusStatus::kDenied);
    EXPECT_FALSE(rx.cmm.core().link_valid(1));
    EXPECT_EQ(provision_link_key(*fw_r, 1, lk), BusStatus::kOk);
    EXPECT_EQ(provision_link_key(*fw_s, 0, lk), BusStatus::kOk);
    uint32_t v = 1;
    EXPECT_EQ(fw_r->read32(CMM_LINK_KEY_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(v, 0u);  // never readable
    // Channel 0 plain, channel 1 strong (CST_CTRL.MODE written by both agents).
    uint32_t rep[2], tep[2];
    for (uint32_t m = 0; m < 2; ++m) {
      rep[m] = test::alloc_entry(*kr, Dir::kRecv, 100, 1, 0, static_cast<uint8_t>(m));
      tep[m] = test::alloc_entry(*ks, Dir::kSend, 200, 0, 0, static_cast<uint8_t>(m));
      EXPECT_EQ(rep[m], m);
      EXPECT_EQ(tep[m], m);
      EXPECT_EQ(kr->write32(test::cst(rep[m], CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_MODE, m)),
                BusStatus::kOk);
      uint32_t c = CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, 1u), CMM_CST_CTRL_MODE, m);
      EXPECT_EQ(ks->write32(test::cst(tep[m], CMM_CST_CTRL_OFFSET), c), BusStatus::kOk);
      const uint8_t gr = test::local_gen(*kr, rep[m]), gs = test::local_gen(*ks, tep[m]);
      test::authorize(*kr, rep[m], gs);
      test::authorize(*ks, tep[m], gr);
      test::connect(*kr, rep[m], Key{m + 1, 2, 3, 4});
      EXPECT_TRUE(test::wait_open(*ks, tep[m]));
      EXPECT_TRUE(test::wait_open(*kr, rep[m]));
    }
    EXPECT_TRUE(tx.cmm.core().key_equals_for_test(1, Key{2, 2, 3, 4}));  // unwrapped
    for (uint32_t n : sizes) {
      for (uint32_t m = 0; m < 2; ++m) {
        std::vector<uint8_t> msg(n);
        for (uint32_t i = 0; i < n; ++i) msg[i] = static_cast<uint8_t>(i * 31 + n + m);
        EXPECT_EQ(test::send_msg(*us, tep[m], msg, static_cast<uint16_t>(n)), BusStatus::kOk);
        for (int i = 0; i < 1000 && test::rx_count(*ur, rep[m]) == 0; ++i) wait(20 * P);
        const auto r = test::pop_msg(*ur, rep[m], n);
        EXPECT_EQ(r, msg) << "n=" << n << " mode=" << m;
        got[m].push_back(r);
      }
    }
    done = true;
  });
  sc_start(sc_time(1, SC_MS));
  ASSERT_TRUE(done);
  EXPECT_EQ(got[1].size(), sizes.size());
  ASSERT_EQ(tx_o.doorbells.size(), 2 * sizes.size());
  ASSERT_EQ(rx_o.delivered.size(), 2 * sizes.size());
  const CoreParams& cp = tx.cmm.core().params();
  EXPECT_TRUE(cp.strong);
  for (size_t i = 0; i < sizes.size(); ++i) {
    const uint64_t plain = rx_o.delivered[2 * i] - tx_o.doorbells[2 * i];
    const uint64_t strong = rx_o.delivered[2 * i + 1] - tx_o.doorbells[2 * i + 1];
    const uint64_t model = 2 * (cp.mac_latency_cycles + (sizes[i] + cp.mac_bytes_per_cycle - 1) / cp.mac_bytes_per_cycle);
    EXPECT_EQ(strong - plain, model) << "n=" << sizes[i];
    std::printf("strong-mode latency n=%u: plain %llu, strong %llu cycles (MAC model +%llu)\n", sizes[i],
                static_cast<unsigned long long>(plain), static_cast<unsigned long long>(strong),
                static_cast<unsigned long long>(model));
  }
  for (Reason r : {Reason::kBadMac, Reason::kNoLinkKey, Reason::kModeMismatch, Reason::kBadKey})
    EXPECT_EQ(rx.cmm.core().reject_count(r) + tx.cmm.core().reject_count(r), 0u) << reason_name(static_cast<uint32_t>(r));
  EXPECT_EQ(rx.cmm.core().reject_count(Reason::kDenied), 1u);  // the kernel's LINK_KEY0 write
  EXPECT_EQ(rx.cmm.stats().link_errors + tx.cmm.stats().link_errors + xbar.stats().link_errors, 0u);
}

CMM_SC_TEST_MAIN
