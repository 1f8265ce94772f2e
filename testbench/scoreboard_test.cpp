#include "scoreboard.h"

#include <gtest/gtest.h>

#include <vector>

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
  sb.nacks_reported(3, 1, 13);
  std::vector<std::string> err;
  EXPECT_TRUE(sb.finish(err)) << (err.empty() ? "" : err[0]);
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
