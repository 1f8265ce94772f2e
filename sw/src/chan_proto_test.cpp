#include "cmm_sw/chan_proto.h"

#include <gtest/gtest.h>

namespace cmm::sw::chan_proto {
namespace {

TEST(ChanProto, ChanReqLayoutIsDocumented) {
  const MgmtWords w = encode(chan_req(0x1234, 5, 216, 2202, 0x9A));
  EXPECT_EQ(w[0], 0x12340000u | (1u << 8) | 0xC2u);
  EXPECT_EQ(w[1], (216u << 16) | (0x9Au << 8) | 5u);
  EXPECT_EQ(w[2], 2202u);
  EXPECT_EQ(w[3], 0u);
}

TEST(ChanProto, ChanInfoAndRefuseLayout) {
  MgmtWords w = encode(chan_info(7, 9, 2202, 0xFE));
  EXPECT_EQ(w[0], (7u << 16) | (2u << 8) | kProto);
  EXPECT_EQ(w[1], (2202u << 16) | (0xFEu << 8) | 9u);
  EXPECT_EQ(w[2], 0u);
  w = encode(chan_refuse(7, regs::Reason::kQuotaExceeded, 2202));
  EXPECT_EQ(w[0], (7u << 16) | (3u << 8) | kProto);
  EXPECT_EQ(w[1], (2202u << 16) | static_cast<uint32_t>(regs::Reason::kQuotaExceeded));
  w = encode(chan_cancel(7, regs::Reason::kOk, 2202, AgentReason::kConnectTimeout));
  EXPECT_EQ(w[0], (7u << 16) | (4u << 8) | kProto);
  EXPECT_EQ(w[1], (2202u << 16) | (static_cast<uint32_t>(AgentReason::kConnectTimeout) << 8));
}

TEST(ChanProto, RoundTrip) {
  for (const Msg& m : {chan_req(1, 15, 0xFFFF, 0), chan_req(0xFFFF, 0, 1, 0xFFFF, 255), chan_info(2, 3, 4, 1),
                       chan_refuse(3, regs::Reason::kDenied, 99, AgentReason::kPeerLimit),
                       chan_cancel(4, regs::Reason::kNotOpen, 5, AgentReason::kGrantExpired)}) {
    Msg d;
    ASSERT_TRUE(decode(encode(m), d));
    EXPECT_EQ(d, m);
  }
}

// The channel mode (docs/strong-mode.md 2): CHAN_REQ word 2 [23:16],
// CHAN_INFO word 2 [7:0]; plain (0) encodes exactly as before the mode existed.
TEST(ChanProto, ModeLayoutRoundTripAndOutOfRangeMode) {
  const Msg rq = chan_req(7, 3, 10, 20, 5, 1);
  const MgmtWords w = encode(rq);
  EXPECT_EQ(w[2], 20u | 1u << 16);
  Msg d;
  ASSERT_TRUE(decode(w, d));
  EXPECT_EQ(d, rq);
  EXPECT_EQ(encode(chan_req(7, 3, 10, 20, 5))[2], 20u);  // plain: word 2 unchanged
  const Msg in = chan_info(7, 4, 20, 6, 1);
  EXPECT_EQ(encode(in)[2], 1u);
  ASSERT_TRUE(decode(encode(in), d));
  EXPECT_EQ(d, in);
  MgmtWords bad = w;
  bad[2] = 20u | 2u << 16;  // no mode 2
  EXPECT_FALSE(decode(bad, d));
  bad[2] = 20u | 1u << 24;  // reserved bits
  EXPECT_FALSE(decode(bad, d));
  MgmtWords bad_info = encode(in);
  bad_info[2] = 2;
  EXPECT_FALSE(decode(bad_info, d));
}

TEST(ChanProto, RejectsForeignOrMalformedWords) {
  Msg d;
  MgmtWords w = encode(chan_req(1, 2, 3, 4));
  w[0] ^= 0x1u;  // other protocol id
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_req(1, 2, 3, 4));
  w[0] = (w[0] & ~0xFF00u) | (9u << 8);  // unknown type
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_req(1, 2, 3, 4));
  w[2] |= 0x1000000u;  // reserved bits (16..23 are MODE since strong mode)
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_cancel(1, regs::Reason::kOk, 3));
  w[1] |= static_cast<uint32_t>(AgentReason::kCount) << 8;  // no such agent reason
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_req(1, 2, 3, 4));
  w[0] = (w[0] & ~0xFFu) | 0xC1u;  // version 1 (no generations): not decoded
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_req(1, 2, 3, 4));
  w[3] = 0x100;  // word 3 carries only endpoint bits 15:8
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_refuse(1, regs::Reason::kBadField, 3));
  w[3] = 1;  // no endpoint in a refusal
  EXPECT_FALSE(decode(w, d));
  // 16-bit endpoint ids round-trip; below 256 word 3 stays 0 (the 8-bit layout).
  ASSERT_TRUE(decode(encode(chan_req(1, 0x1234, 3, 4)), d));
  EXPECT_EQ(d.ep, 0x1234u);
  EXPECT_EQ(encode(chan_info(1, 0x3412, 3))[3], 0x34u);
  EXPECT_EQ(encode(chan_info(1, 0xFF, 3))[3], 0u);
  w = encode(chan_info(1, 2, 3));
  w[2] = 5;
  EXPECT_FALSE(decode(w, d));
  w = encode(chan_refuse(1, regs::Reason::kDenied, 3));
  w[1] = (w[1] & ~0xFFu) | 0xFEu;  // no such reason code
  EXPECT_FALSE(decode(w, d));
  EXPECT_FALSE(decode(MgmtWords{}, d));
}

}  // namespace
}  // namespace cmm::sw::chan_proto
