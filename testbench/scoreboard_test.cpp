#include "scoreboard.h"

#include <gtest/gtest.h>

#include <vector>

#include "cmm_regs.h"

namespace cmm::tb {
namespace {

std::vector<uint8_t> payload(uint32_t ch, uint32_t seq, uint32_t len) {
  std::vector<uint8_t> b(len);
  make_payload(7, ch, seq, b.data(), len);
  return b;
}

uint8_t kSeqGap0() { return static_cast<uint8_t>(regs::Reason::kSeqGap); }
uint8_t kSeqOld0() { return static_cast<uint8_t>(regs::Reason::kSeqOld); }

TEST(Scoreboard, CleanWhenEveryMessageDeliveredOnce) {
  Scoreboard sb(7);
  sb.add_channel(0, "a<-b", 2);
  sb.sent(0, 0, 10, 100);
  sb.sent(0, 1, 20, 110);
  auto p0 = payload(0, 0, 10), p1 = payload(0, 1, 20);
  sb.delivered(0, 1, p1.data(), 20, 150);
  sb.delivered(0, 0, p0.data(), 10, 160);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  EXPECT_EQ(std::vector<uint64_t>(sb.latencies().begin(), sb.latencies().end()), (std::vector<uint64_t>{40, 60}));
}

TEST(Scoreboard, DetectsDuplicateCorruptionLossAndForgery) {
  Scoreboard sb(7);
  sb.add_channel(0, "a<-b", 3);
  sb.sent(0, 0, 10, 0);
  sb.sent(0, 1, 10, 0);
  auto p0 = payload(0, 0, 10);
  sb.delivered(0, 0, p0.data(), 10, 5);
  sb.delivered(0, 0, p0.data(), 10, 6);  // duplicate
  auto bad = payload(0, 1, 10);
  bad[3] ^= 1;
  sb.delivered(0, 1, bad.data(), 10, 7);  // corrupted
  sb.delivered(0, 2, p0.data(), 10, 8);   // never sent
  std::vector<std::string> err;
  EXPECT_FALSE(sb.finish(err));
  // duplicate, corrupted, never sent, 1 lost without NACK, 1 of 3 never attempted
  EXPECT_EQ(err.size(), 5u);
}

TEST(Scoreboard, LossReportedByNackIsClean) {
  Scoreboard sb(1);
  sb.add_channel(3, "x", 2);
  sb.sent(3, 0, 8, 0);
  sb.sent(3, 1, 8, 0);
  std::vector<uint8_t> q(8);
  make_payload(1, 3, 0, q.data(), 8);
  sb.delivered(3, 0, q.data(), 8, 4);
  sb.nack(3, 1, 13);  // RXQ_FULL
  sb.nacks_reported(3, 1, 13);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  EXPECT_EQ(sb.channels().at(3).reported_lost(), 1u);
}

constexpr uint8_t kSeqOld = static_cast<uint8_t>(regs::Reason::kSeqOld);
constexpr uint8_t kSeqGap = static_cast<uint8_t>(regs::Reason::kSeqGap);

// A SEQ_GAP NACK names a delivered message and the number missing before it:
// the tagged message is no loss, the missing ones are reported losses; a
// SEQ_OLD NACK of a duplicate copy is no loss either.
TEST(Scoreboard, SeqGapReportsTheMissingNotTheTaggedMessage) {
  Scoreboard sb(1);
  sb.add_channel(0, "x", 5);
  for (uint32_t i = 0; i < 5; ++i) sb.sent(0, i, 8, 0);
  std::vector<uint8_t> q(8);
  for (uint32_t i : {0u, 3u, 4u}) {
    make_payload(1, 0, i, q.data(), 8);
    sb.delivered(0, i, q.data(), 8, 9);
  }
  sb.nack(0, 3, kSeqGap, 2);  // 1 and 2 never arrived
  sb.nack(0, 4, kSeqOld);     // a duplicate copy of 4, refused
  sb.gaps_reported(0, 1);  // the library learns SEQ_GAPs from its error log; SEQ_OLD refuses nothing
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  const auto& c = sb.channels().at(0);
  EXPECT_EQ(c.gap_lost, 2u);
  EXPECT_EQ(c.nacked_lost, 0u);
  EXPECT_EQ(c.nacks_seq_old, 1u);
  EXPECT_EQ(c.delivered + c.reported_lost(), c.sent);
}

// A message dropped by the fabric with a counted reason is a reported loss;
// a later SEQ_GAP over it does not count it twice.
TEST(Scoreboard, FabricDropWithReasonIsReported) {
  Scoreboard sb(1);
  sb.add_channel(0, "x", 3);
  for (uint32_t i = 0; i < 3; ++i) sb.sent(0, i, 8, 0);
  std::vector<uint8_t> q(8);
  make_payload(1, 0, 1, q.data(), 8);
  sb.delivered(0, 1, q.data(), 8, 9);
  sb.dropped(0, 0, static_cast<uint8_t>(regs::Reason::kHolTimeout));
  sb.dropped(0, 2, static_cast<uint8_t>(regs::Reason::kHolTimeout));  // trailing: no SEQ_GAP follows
  sb.nack(0, 1, kSeqGap, 1);
  sb.gaps_reported(0, 1);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  const auto& c = sb.channels().at(0);
  EXPECT_EQ(c.fabric_dropped, 2u);
  EXPECT_EQ(c.gap_lost, 0u);
  EXPECT_EQ(c.delivered + c.reported_lost(), c.sent);
}

// A loss nobody reported, or NACKs that never reached the sender's library,
// fail the run; so does a SEQ_GAP over messages that were delivered.
TEST(Scoreboard, SilentLossAndUnreportedNacksAreErrors) {
  Scoreboard sb(1);
  sb.add_channel(0, "x", 3);
  for (uint32_t i = 0; i < 3; ++i) sb.sent(0, i, 8, 0);
  std::vector<uint8_t> q(8);
  make_payload(1, 0, 0, q.data(), 8);
  sb.delivered(0, 0, q.data(), 8, 9);
  sb.nack(0, 2, 13);  // RXQ_FULL, but the library never saw it; seq 1 silently lost
  std::vector<std::string> err;
  EXPECT_FALSE(sb.finish(err));
  EXPECT_EQ(err.size(), 2u);
  EXPECT_EQ(sb.unreported(0), 1u);
  Scoreboard sb2(1);
  sb2.add_channel(0, "y", 2);
  sb2.sent(0, 0, 8, 0);
  sb2.sent(0, 1, 8, 0);
  make_payload(1, 0, 0, q.data(), 8);
  sb2.delivered(0, 0, q.data(), 8, 9);
  sb2.nack(0, 1, kSeqGap, 1);  // claims 0 missing, but 0 was delivered
  sb2.gaps_reported(0, 1);
  err.clear();
  EXPECT_FALSE(sb2.finish(err));
}

// Delivered and reported messages are forgotten: the record is what is in
// flight, however long the run; a second delivery of a forgotten message,
// a replay of an old one and one beyond what was sent are still errors.
TEST(Scoreboard, RetiresFinishedMessagesAndStillCatchesDuplicates) {
  Scoreboard sb(1);
  constexpr uint32_t kN = 200000;
  sb.add_channel(0, "x", 0);
  std::vector<uint8_t> q(16);
  size_t most = 0;
  uint32_t lost = 0;
  for (uint32_t i = 0; i < kN + 3; ++i) {
    if (i < kN) {
      sb.extend(0, i + 1);
      sb.sent(0, i, 16, i);
    }
    // Deliveries trail the sends by 3 and come out of order in pairs; every
    // 1000th message is refused by the receiver's CMM (NACKed) instead.
    if (i >= 3) {
      const uint32_t d = (i - 3) ^ 1u;
      if (d % 1000 == 7) {
        sb.nack(0, d, 13);
        sb.nacks_reported(0, 1, 13);
        ++lost;
      } else {
        make_payload(1, 0, d, q.data(), 16);
        sb.delivered(0, d, q.data(), 16, i + 50);
      }
    }
    most = std::max(most, sb.tracked());
  }
  EXPECT_LE(most, 8u);
  EXPECT_EQ(sb.tracked(), 0u);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  EXPECT_EQ(sb.channels().at(0).delivered, kN - lost);
  EXPECT_EQ(sb.latencies().count(), kN - lost);
  // Now the duplicates: a recent one, a replay of the first, a NACKed one, one never sent.
  for (uint32_t d : {kN - 2, 0u, 7u, kN}) {
    make_payload(1, 0, d, q.data(), 16);
    sb.delivered(0, d, q.data(), 16, kN + 60);
  }
  err.clear();
  EXPECT_FALSE(sb.finish(err));
  ASSERT_EQ(err.size(), 4u);
  EXPECT_NE(err[0].find("seq 199998: delivered again"), std::string::npos) << err[0];
  EXPECT_NE(err[1].find("seq 0: delivered again"), std::string::npos) << err[1];
  EXPECT_NE(err[2].find("seq 7: delivered again"), std::string::npos) << err[2];
  EXPECT_NE(err[3].find("never sent"), std::string::npos) << err[3];
  // A loss NACK or a SEQ_GAP over a forgotten delivered message is an error too.
  sb.nack(0, 100, 13);
  sb.nack(0, 500, kSeqGap0(), 1);
  sb.gaps_reported(0, 1);
  err.clear();
  EXPECT_FALSE(sb.finish(err));
  EXPECT_EQ(err.size(), 6u);
}

// One message in flight holds the window open behind it; its report lets
// everything after it go.
TEST(Scoreboard, WindowSpansFromTheOldestMessageInFlight) {
  Scoreboard sb(1);
  sb.add_channel(0, "x", 1000);
  std::vector<uint8_t> q(8);
  for (uint32_t i = 0; i < 1000; ++i) sb.sent(0, i, 8, 0);
  for (uint32_t i = 0; i < 1000; ++i) {
    if (i == 10) continue;
    make_payload(1, 0, i, q.data(), 8);
    sb.delivered(0, i, q.data(), 8, 5);
  }
  EXPECT_EQ(sb.tracked(), 990u);
  EXPECT_EQ(sb.unreported(0), 1u);
  sb.nack(0, 11, kSeqGap0(), 1);  // 10 never arrived
  sb.gaps_reported(0, 1);
  EXPECT_EQ(sb.tracked(), 0u);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  EXPECT_EQ(sb.channels().at(0).gap_lost, 1u);
}

// Refused-at-source and dropped messages are remembered after the window
// moved past them: a SEQ_GAP skips the refused one and may cover the dropped
// one; delivering either is still "never sent".
TEST(Scoreboard, RefusedAndDroppedAreRememberedBehindTheWindow) {
  for (bool bad : {false, true}) {
    Scoreboard sb(1);
    sb.add_channel(0, "x", 5);
    std::vector<uint8_t> q(8);
    sb.sent(0, 0, 8, 0);
    sb.refused_at_source(0, 1, 13);
    for (uint32_t i = 2; i < 5; ++i) sb.sent(0, i, 8, 0);
    sb.dropped(0, 3, static_cast<uint8_t>(regs::Reason::kHolTimeout));
    for (uint32_t i : {0u, 2u, 4u}) {
      make_payload(1, 0, i, q.data(), 8);
      sb.delivered(0, i, q.data(), 8, 9);
    }
    EXPECT_EQ(sb.tracked(), 2u);  // 1 refused, 3 dropped
    // 3 dropped, 2 delivered, 1 refused (skipped), 0 delivered.
    sb.nack(0, 4, kSeqGap0(), bad ? 3 : 1);
    sb.gaps_reported(0, 1);
    sb.nack(0, 4, kSeqOld0());  // a late copy of 4, refused
    std::vector<std::string> err;
    if (!bad) {
      EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
      EXPECT_EQ(sb.channels().at(0).fabric_dropped, 1u);
      EXPECT_EQ(sb.channels().at(0).gap_lost, 0u);
      for (uint32_t i : {1u, 3u}) {
        make_payload(1, 0, i, q.data(), 8);
        sb.delivered(0, i, q.data(), 8, 9);
      }
      EXPECT_FALSE(sb.finish(err));
      ASSERT_EQ(err.size(), 2u);
      EXPECT_NE(err[0].find("seq 1: delivered but never sent"), std::string::npos) << err[0];
      EXPECT_NE(err[1].find("seq 3: delivered but never sent"), std::string::npos) << err[1];
    } else {
      EXPECT_FALSE(sb.finish(err));
      ASSERT_EQ(err.size(), 2u);  // 2 and 0 delivered, not missing
      EXPECT_NE(err[0].find("seq 2: reported missing"), std::string::npos) << err[0];
      EXPECT_NE(err[1].find("seq 0: reported missing"), std::string::npos) << err[1];
    }
  }
}

// The system's per-message records: only unfinished ones are held; each
// record leaves once, in order; a stuck one leaves when reported finished or
// beyond the tag horizon.
// FAULT_TAIL: a message destroyed by an injected fault with no later message
// is its own category: not silent, not reported, and never delivered later.
TEST(Scoreboard, TailLossIsANamedCategoryNeitherSilentNorReported) {
  Scoreboard sb(7);
  sb.add_channel(0, "a<-b", 3);
  for (uint32_t i = 0; i < 3; ++i) sb.sent(0, i, 10, 0);
  auto p0 = payload(0, 0, 10), p2 = payload(0, 2, 10);
  sb.delivered(0, 0, p0.data(), 10, 5);
  std::vector<std::string> err;
  EXPECT_FALSE(sb.finish(err));  // 1 and 2 in flight: silent
  sb.tail_lost(0, 1);
  sb.tail_lost(0, 2);
  sb.tail_lost(0, 0);  // delivered: not a loss, ignored
  err.clear();
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  const auto& c = sb.channels().at(0);
  EXPECT_EQ(c.tail_lost, 2u);
  EXPECT_EQ(c.reported_lost(), 0u);
  EXPECT_EQ(sb.unreported(0), 0u);
  sb.delivered(0, 2, p2.data(), 10, 9);  // a tail that shows up after all
  err.clear();
  EXPECT_FALSE(sb.finish(err));
}

// A receive entry still CONNECTING (its CONNECT_ACK lost) NACKs DATA
// NOT_OPEN without moving its sequence; the first DATA after it opens counts
// them again in its SEQ_GAP: accepted, counted as gap_renacked, lost once.
TEST(Scoreboard, NotOpenRefusalCountedAgainByALaterSeqGapIsNoError) {
  Scoreboard sb(7);
  sb.add_channel(0, "a<-b", 3);
  for (uint32_t i = 0; i < 3; ++i) sb.sent(0, i, 10, 0);
  const auto not_open = static_cast<uint8_t>(regs::Reason::kNotOpen);
  sb.nack(0, 0, not_open);
  sb.nack(0, 1, not_open);
  sb.nacks_reported(0, 2, not_open);
  auto p2 = payload(0, 2, 10);
  sb.delivered(0, 2, p2.data(), 10, 5);  // 0 and 1 retired behind the window, remembered
  sb.nack(0, 2, kSeqGap0(), 2);
  sb.gaps_reported(0, 1);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
  EXPECT_EQ(sb.channels().at(0).gap_renacked, 2u);
  EXPECT_EQ(sb.channels().at(0).reported_lost(), 2u);
}

TEST(SeqWindow, HoldsOnlyUnfinishedRecordsAndHandsEachOverOnce) {
  SeqWindow<uint64_t> w;
  std::vector<uint32_t> order;
  uint64_t sum = 0;
  w.on_done = [&](uint32_t seq, const uint64_t& v) {
    order.push_back(seq);
    sum += v;
  };
  bool lost_reported = false;
  w.finished = [&](uint32_t seq) { return seq == 5 && lost_reported; };
  size_t most = 0;
  constexpr uint32_t kN = 300000;
  for (uint32_t i = 0; i < kN; ++i) {
    w.push_back(i);
    if (i >= 2 && i - 2 != 5) w.retire(i - 2);  // finished two behind; 5 is lost
    if (i == 1000) lost_reported = true;
    most = std::max(most, w.held());
  }
  EXPECT_EQ(w.size(), kN);
  EXPECT_LE(most, 1003u);  // 5 held the window open until its loss was reported
  EXPECT_LE(w.held(), 3u);
  w[17] = 99;  // finished long ago: a scratch record
  EXPECT_EQ(w[17], 0u);
  w.flush();
  ASSERT_EQ(order.size(), kN);
  for (uint32_t i = 0; i < kN; ++i) ASSERT_EQ(order[i], i);
  EXPECT_EQ(sum, uint64_t{kN} * (kN - 1) / 2);
  // Never finished, never reported: it leaves after kSeqHorizon newer ones.
  SeqWindow<int> v;
  v.resize(10);
  v[0] = 1;
  for (uint32_t i = 1; i < 3 * SeqWindow<int>::kSeqHorizon; ++i) {
    v[i] = 2;
    v.retire(i);
  }
  EXPECT_EQ(v.held(), 0u);
}

TEST(Percentile, NearestRank) {
  std::vector<uint64_t> v{5, 1, 4, 2, 3};
  EXPECT_EQ(percentile(v, 50), 3u);
  EXPECT_EQ(percentile(v, 100), 5u);
  EXPECT_EQ(percentile(v, 1), 1u);
  EXPECT_EQ(percentile({}, 50), 0u);
}

}  // namespace
}  // namespace cmm::tb
