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
  EXPECT_EQ(sb.latencies(), (std::vector<uint64_t>{40, 60}));
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
  EXPECT_EQ(sb.channels().at(3).reported(), 1u);
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
  EXPECT_EQ(c.nack_lost, 0u);
  EXPECT_EQ(c.nack_old, 1u);
  EXPECT_EQ(c.delivered + c.reported(), c.sent);
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
  EXPECT_EQ(c.dropped, 2u);
  EXPECT_EQ(c.gap_lost, 0u);
  EXPECT_EQ(c.delivered + c.reported(), c.sent);
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

TEST(Percentile, NearestRank) {
  std::vector<uint64_t> v{5, 1, 4, 2, 3};
  EXPECT_EQ(percentile(v, 50), 3u);
  EXPECT_EQ(percentile(v, 100), 5u);
  EXPECT_EQ(percentile(v, 1), 1u);
  EXPECT_EQ(percentile({}, 50), 0u);
}

}  // namespace
}  // namespace cmm::tb
