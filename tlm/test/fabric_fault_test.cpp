// FaultLink: each fault kind on one link between two link stubs, credits
// conserved (a drop gives its credit back, a copy takes its own), seeded.
#include <memory>
#include <vector>

#include "cmm_tlm/fabric_fault.h"
#include "link_stub.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

const sc_time P(1, SC_NS);

Packet pkt(uint16_t tag, uint16_t payload = 40, uint8_t cls = 0) {
  Packet p;
  p.hdr.opcode = cls ? static_cast<uint8_t>(regs::Opcode::kNack) : static_cast<uint8_t>(regs::Opcode::kData);
  if (cls) p.hdr.aux = static_cast<uint8_t>(regs::Opcode::kData);
  p.hdr.dst_node = 1;
  p.hdr.len = cls ? 0 : payload;
  p.hdr.tag = tag;
  p.cls = cls;
  p.payload_len = cls ? 0 : payload;
  for (uint16_t i = 0; i < p.payload_len; ++i) p.payload[i] = static_cast<uint8_t>(i * 7 + tag);
  return p;
}

struct Seen : FaultObserver {
  std::vector<std::pair<FaultKind, uint16_t>> faults;
  void on_fault(FaultKind k, uint32_t, const Packet& before, const Packet*) override {
    faults.emplace_back(k, before.hdr.tag);
  }
};

// sender -> FaultLink -> receiver.
struct Bench {
  test::LinkStub tx{"tx"}, rx{"rx"};
  FaultLink link;
  Seen seen;
  explicit Bench(const FaultConfig& c, uint32_t index = 0) : link("link", index, c) {
    tx.isock.bind(link.tsock);
    link.isock.bind(rx.tsock);
    rx.isock.bind(tx.tsock);  // unused direction (rx never sends)
    link.set_observer(&seen);
  }
};

FaultConfig one(FaultKind k, double rate, uint64_t seed = 1) {
  FaultConfig c;
  c.rules.push_back({k, rate, -1});
  c.seed = seed;
  return c;
}

// Sends n packets (tags 0..n-1), one per cycle whenever a credit is there.
void send_all(test::LinkStub& tx, uint16_t n, uint8_t cls = 0) {
  for (uint16_t i = 0; i < n;) {
    if (tx.send(pkt(i, 40, cls))) ++i;
    wait(P);
  }
}

uint32_t bit_diff(const Packet& a, const test::LinkStub::Rx& b) {
  uint32_t d = 0;
  const auto pa = a.hdr.pack(), pb = b.hdr.pack();
  for (size_t i = 0; i < pa.size(); ++i) d += static_cast<uint32_t>(__builtin_popcount(pa[i] ^ pb[i]));
  for (size_t i = 0; i < a.carried() && i < b.payload.size(); ++i)
    d += static_cast<uint32_t>(__builtin_popcount(static_cast<unsigned>(a.payload[i] ^ b.payload[i])));
  return d;
}

}  // namespace

TEST(FaultLink, WithoutRulesPacketsAndCreditsPassWithTheSendersTiming) {
  CMM_REQUIRE_FRESH_KERNEL();
  Bench b(FaultConfig{});
  test::ThreadRunner t("t", [&] {
    wait(P);
    ASSERT_EQ(b.tx.credits[0], 4u);
    for (uint16_t i = 0; i < 3; ++i) ASSERT_TRUE(b.tx.send(pkt(i), P * 5.0));
    wait(P * 20.0);
  });
  sc_start(P * 100.0);
  ASSERT_EQ(b.rx.rx.size(), 3u);
  for (const auto& r : b.rx.rx) EXPECT_EQ(r.t, P * 6.0);  // sent at 1 ns + 5 ns annotated
  EXPECT_EQ(b.tx.credits[0], 4u);
  EXPECT_EQ(b.link.stats().packets, 3u);
  EXPECT_TRUE(b.seen.faults.empty());
}

TEST(FaultLink, DropGivesTheCreditBackAndIsCounted) {
  CMM_REQUIRE_FRESH_KERNEL();
  Bench b(one(FaultKind::kDrop, 1.0));
  test::ThreadRunner t("t", [&] { send_all(b.tx, 20); });
  sc_start(P * 200.0);
  EXPECT_TRUE(t.finished);  // 20 packets through 4 credits: every credit came back
  EXPECT_TRUE(b.rx.rx.empty());
  EXPECT_EQ(b.tx.credits[0], 4u);
  EXPECT_EQ(b.link.stats().injected[static_cast<size_t>(FaultKind::kDrop)], 20u);
  EXPECT_EQ(b.seen.faults.size(), 20u);
  EXPECT_EQ(b.link.held(), 0u);
}

TEST(FaultLink, DuplicateCopyFollowsTheOriginalOnItsOwnCredit) {
  CMM_REQUIRE_FRESH_KERNEL();
  Bench b(one(FaultKind::kDuplicate, 1.0));
  test::ThreadRunner t("t", [&] { send_all(b.tx, 10); });
  sc_start(P * 200.0);
  EXPECT_TRUE(t.finished);
  ASSERT_EQ(b.rx.rx.size(), 20u);
  for (uint16_t i = 0; i < 10; ++i) {
    EXPECT_EQ(b.rx.rx[2 * i].hdr.tag, i);
    EXPECT_EQ(b.rx.rx[2 * i + 1].hdr.tag, i);  // the copy right behind it
    EXPECT_EQ(b.rx.rx[2 * i + 1].payload, b.rx.rx[2 * i].payload);
  }
  EXPECT_EQ(b.tx.credits[0], 3u);  // one credit is the link's spare for copies
  EXPECT_EQ(b.link.stats().injected[static_cast<size_t>(FaultKind::kDuplicate)], 10u);
}

TEST(FaultLink, ReorderedPacketsArriveOnceEachSomeLateAndWithinTheWindow) {
  CMM_REQUIRE_FRESH_KERNEL();
  FaultConfig c = one(FaultKind::kReorder, 0.2, 7);
  c.reorder_window = 3;
  Bench b(c);
  test::ThreadRunner t("t", [&] { send_all(b.tx, 200); });
  sc_start(P * 5000.0);
  EXPECT_TRUE(t.finished);
  ASSERT_EQ(b.rx.rx.size(), 200u);
  std::vector<int> count(200, 0);
  uint32_t late = 0;
  for (size_t i = 0; i < b.rx.rx.size(); ++i) {
    const uint16_t tag = b.rx.rx[i].hdr.tag;
    ++count[tag];
    if (i > tag) ++late;
    // Passed by at most `window` later packets while the stream flows.
    EXPECT_LE(i, tag + 3u + 3u) << "tag " << tag;
  }
  for (int n : count) EXPECT_EQ(n, 1);
  const uint64_t hits = b.link.stats().injected[static_cast<size_t>(FaultKind::kReorder)];
  EXPECT_GT(hits, 20u);
  EXPECT_LT(hits, 70u);
  EXPECT_GT(late, 0u);
  EXPECT_EQ(b.tx.credits[0], 4u);
}

TEST(FaultLink, CorruptFlipsOneToThreeBitsAndTheCrcNoLongerMatches) {
  CMM_REQUIRE_FRESH_KERNEL();
  Bench b(one(FaultKind::kCorrupt, 1.0, 3));
  test::ThreadRunner t("t", [&] { send_all(b.tx, 50); });
  sc_start(P * 500.0);
  ASSERT_EQ(b.rx.rx.size(), 50u);
  std::array<int, 4> flips{};
  for (const auto& r : b.rx.rx) {
    // In order: the i-th arrival is packet i (its tag may be one of the flipped bits).
    const uint32_t d = bit_diff(pkt(static_cast<uint16_t>(&r - b.rx.rx.data())), r);
    ASSERT_GE(d, 1u);
    ASSERT_LE(d, 3u);
    ++flips[d];
    Packet got;
    got.hdr = r.hdr;
    got.payload_len = r.len;
    std::copy(r.payload.begin(), r.payload.end(), got.payload.begin());
    got.crc = r.crc;
    EXPECT_FALSE(crc_ok(got));  // CRC-32C detects every 1-3 bit error
  }
  EXPECT_GT(flips[1], 0);
  EXPECT_GT(flips[2], 0);
  EXPECT_GT(flips[3], 0);
  EXPECT_EQ(b.tx.credits[0], 4u);
}

TEST(FaultLink, DelayKeepsTheLinkInOrder) {
  CMM_REQUIRE_FRESH_KERNEL();
  FaultConfig c = one(FaultKind::kDelay, 0.1, 5);
  c.delay_cycles = 30;
  Bench b(c);
  test::ThreadRunner t("t", [&] { send_all(b.tx, 100); });
  sc_start(P * 5000.0);
  ASSERT_EQ(b.rx.rx.size(), 100u);
  for (uint16_t i = 0; i < 100; ++i) EXPECT_EQ(b.rx.rx[i].hdr.tag, i);
  uint32_t delayed = 0;
  for (size_t i = 1; i < b.rx.rx.size(); ++i) delayed += b.rx.rx[i].t - b.rx.rx[i - 1].t >= P * 30.0 ? 1 : 0;
  EXPECT_GT(delayed, 0u);
  // A hit while the queue is backed up adds less than a full gap.
  EXPECT_LE(delayed, b.link.stats().injected[static_cast<size_t>(FaultKind::kDelay)]);
}

TEST(FaultLink, StallHoldsPacketsAndCreditsThenReleasesEverything) {
  CMM_REQUIRE_FRESH_KERNEL();
  FaultConfig c = one(FaultKind::kStall, 1.0);
  c.stall_cycles = 50;
  Bench b(c);
  test::ThreadRunner t("t", [&] {
    wait(P);
    ASSERT_TRUE(b.tx.send(pkt(0)));  // starts a stall at 1 ns
    wait(P);
    ASSERT_TRUE(b.tx.send(pkt(1)));  // extends it by one cycle
  });
  sc_start(P * 500.0);
  ASSERT_EQ(b.rx.rx.size(), 2u);
  EXPECT_EQ(b.rx.rx[0].t, P * 52.0);
  EXPECT_EQ(b.rx.rx[1].t, P * 52.0);
  EXPECT_EQ(b.link.stats().injected[static_cast<size_t>(FaultKind::kStall)], 2u);
  EXPECT_EQ(b.link.stats().stall_cycles, 51u);
  EXPECT_EQ(b.tx.credits[0], 4u);  // the credits held over the stall came back after it
}

TEST(FaultLink, OnlyDataPacketsWhenAsked) {
  CMM_REQUIRE_FRESH_KERNEL();
  FaultConfig c = one(FaultKind::kDrop, 1.0);
  c.packets = FaultPackets::kData;
  Bench b(c);
  test::ThreadRunner t("t", [&] {
    wait(P);
    Packet p = pkt(1);
    p.hdr.opcode = static_cast<uint8_t>(regs::Opcode::kConnect);
    p.hdr.len = 0;
    p.payload_len = 0;
    ASSERT_TRUE(b.tx.send(p));
    ASSERT_TRUE(b.tx.send(pkt(2)));          // DATA: dropped
    ASSERT_TRUE(b.tx.send(pkt(3, 0, 1)));    // NACK of DATA: dropped
  });
  sc_start(P * 100.0);
  ASSERT_EQ(b.rx.rx.size(), 1u);
  EXPECT_EQ(b.rx.rx[0].hdr.tag, 1);
  EXPECT_EQ(b.seen.faults.size(), 2u);
}

// Same seed and link index: the same packets are hit; another seed: others.
TEST(FaultLink, SameSeedSameFaultsOtherSeedOtherFaults) {
  CMM_REQUIRE_FRESH_KERNEL();
  Bench a(one(FaultKind::kDrop, 0.1, 11), 3);
  test::LinkStub tx2("tx2"), rx2("rx2"), tx3("tx3"), rx3("rx3");
  FaultLink l2("l2", 3, one(FaultKind::kDrop, 0.1, 11)), l3("l3", 3, one(FaultKind::kDrop, 0.1, 12));
  tx2.isock.bind(l2.tsock);
  l2.isock.bind(rx2.tsock);
  tx3.isock.bind(l3.tsock);
  l3.isock.bind(rx3.tsock);
  rx2.isock.bind(tx2.tsock);
  rx3.isock.bind(tx3.tsock);
  test::ThreadRunner t1("t1", [&] { send_all(a.tx, 300); });
  test::ThreadRunner t2("t2", [&] { send_all(tx2, 300); });
  test::ThreadRunner t3("t3", [&] { send_all(tx3, 300); });
  sc_start(P * 3000.0);
  auto tags = [](const test::LinkStub& s) {
    std::vector<uint16_t> v;
    for (const auto& r : s.rx) v.push_back(r.hdr.tag);
    return v;
  };
  EXPECT_EQ(tags(a.rx), tags(rx2));
  EXPECT_NE(tags(a.rx), tags(rx3));
  EXPECT_LT(a.rx.rx.size(), 300u);
}

TEST(FaultConfig, ValidateNamesTheField) {
  FaultConfig c = one(FaultKind::kDrop, 1.5);
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.rules[0].rate = 0.1;
  c.reorder_window = 0;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.reorder_window = 4;
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(parse_fault_kind("corrupt"), FaultKind::kCorrupt);
  EXPECT_THROW(parse_fault_kind("melt"), std::invalid_argument);
}

CMM_SC_TEST_MAIN
