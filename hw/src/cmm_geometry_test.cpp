// Run-time geometry of the core (DESIGN.md): ranges, the register map and the
// GEOMETRY register follow it, tables and queues have the chosen sizes.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cmm_core_testing.h"

namespace cmm::coretest {
namespace {

using namespace regs;

constexpr uint16_t kNode0 = 1, kNode1 = 2;

Straps quota0(uint32_t q) {  // partition 0 alone has a quota
  Straps s;
  s.node_id = kNode0;
  s.quota[0] = q;
  return s;
}

CoreParams geo_params(uint32_t eps, uint32_t parts = kNumPartitions, uint32_t rxq = kRxqDepth) {
  CoreParams p;
  p.geo.num_endpoints = eps;
  p.geo.num_partitions = parts;
  p.geo.rxq_depth = rxq;
  return p;
}

TEST(Geometry, RangesComeFromTheDataFile) {
  EXPECT_EQ(Geometry{}.check(), "");
  EXPECT_TRUE(Geometry{}.is_default());
  Geometry g;
  g.num_endpoints = kMaxNumEndpoints;
  EXPECT_EQ(g.check(), "");
  g.num_endpoints = kMaxNumEndpoints + 1;
  EXPECT_NE(g.check().find("num_endpoints = 65537 out of range 1..65536"), std::string::npos) << g.check();
  g.num_endpoints = 0;
  EXPECT_NE(g.check().find("num_endpoints = 0"), std::string::npos);
  g = Geometry{};
  g.num_partitions = kMaxNumPartitions + 1;
  EXPECT_NE(g.check().find("num_partitions = 17"), std::string::npos);
  g = Geometry{};
  g.rxq_depth = kMaxRxqDepth + 1;  // RXQ_COUNT is 4 bits
  EXPECT_NE(g.check().find("rxq_depth = 16"), std::string::npos);
  g = Geometry{};
  g.egq_depth = 1;
  EXPECT_NE(g.check().find("egq_depth = 1"), std::string::npos);
  g = Geometry{};
  g.mgmtq_depth = 0;
  EXPECT_NE(g.check().find("mgmtq_depth = 0"), std::string::npos);
  g = Geometry{};
  g.errlog_depth = 16;
  EXPECT_NE(g.check().find("errlog_depth = 16"), std::string::npos);
}

TEST(Geometry, CoreRefusesAnImpossibleGeometry) {
  Straps s;
  EXPECT_THROW(CmmCore(s, geo_params(kMaxNumEndpoints + 1)), std::invalid_argument);
  EXPECT_THROW(CmmCore(s, geo_params(16, 0)), std::invalid_argument);
  EXPECT_NO_THROW(CmmCore(s, geo_params(kMaxNumEndpoints, kMaxNumPartitions, kMaxRxqDepth)));
}

TEST(Geometry, AddressWidthGrowsWithTheEndpointPages) {
  Geometry g;
  EXPECT_EQ(g.addr_bits(), kAddrBits);
  g.num_endpoints = 240;  // 0x10000 + 240 pages of 4 KiB = 1 MiB
  EXPECT_EQ(g.addr_bits(), kAddrBits);
  g.num_endpoints = 241;
  EXPECT_EQ(g.addr_bits(), kAddrBits + 1);
  // Past 1,920 entries the CST window reaches 0x10000: the pages move up.
  g.num_endpoints = 1920;
  EXPECT_EQ(g.ep_base(), CMM_EP_BASE);
  g.num_endpoints = 1921;
  EXPECT_EQ(g.ep_base(), 0x20000u);
  g.num_endpoints = 4096;
  EXPECT_EQ(g.ep_base(), 0x30000u);
  EXPECT_EQ(g.addr_bits(), 25u);
  g.num_endpoints = kMaxNumEndpoints;
  EXPECT_EQ(g.ep_base(), 0x210000u);
  EXPECT_EQ(g.addr_bits(), 29u);
}

TEST(Geometry, RegisterReportsTheRunTimeValues) {
  CoreHarness a(kNode0, geo_params(100, 12, 9));
  const uint32_t v = a.rd_ok(user(0, 1), CMM_GEOMETRY_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_GEOMETRY_NUM_EP), 100u);
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_GEOMETRY_NUM_PART), 12u);
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_GEOMETRY_RXQ_DEPTH), 9u);
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_GEOMETRY_KEY_WORDS), kKeyWords);
  // Partition 11 exists (a default core answers DENIED for it).
  EXPECT_EQ(a.rd(kernel(11), CMM_PART_INFO_OFFSET).status, u(Rsp::kOk));
  EXPECT_EQ(a.rd(kernel(12), CMM_PART_INFO_OFFSET).status, u(Rsp::kDenied));
  // NUM_EP is 17 bits: 256 and 65,536 read as such.
  CoreHarness b(kNode0, geo_params(256));
  EXPECT_EQ(CMM_FIELD_GET(b.rd_ok(user(0, 1), CMM_GEOMETRY_OFFSET), CMM_GEOMETRY_NUM_EP), 256u);
  CoreHarness c(kNode0, geo_params(kMaxNumEndpoints));
  EXPECT_EQ(CMM_FIELD_GET(c.rd_ok(user(0, 1), CMM_GEOMETRY_OFFSET), CMM_GEOMETRY_NUM_EP), kMaxNumEndpoints);
}

// 16-bit endpoint ids (docs/scale.md): a channel between entries above 4,095
// (CST_REMOTE_HI, endpoint pages above the CST window, ALLOC result, header
// ids, PART_USED) carries DATA; an id one past the table is BAD_FIELD.
TEST(Geometry, SixteenBitEndpointIdsCarryData) {
  const uint32_t n = 5000;
  Straps s0 = quota0(n), s1 = quota0(n);
  s1.node_id = kNode1;
  CoreHarness rx(s0, geo_params(n)), tx(s1, geo_params(n));
  Net net({&rx, &tx});
  for (uint32_t e = 0; e < 4500; ++e) {
    ASSERT_EQ(rx.alloc(0), static_cast<int>(e));
    ASSERT_EQ(tx.alloc(0), static_cast<int>(e));
  }
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(kernel(0), CMM_PART_USED_OFFSET), CMM_PART_USED_USED), 4500u);
  const Channel c = open_channel(rx, 0, 10, tx, 0, 20, Key{5, 6, 7, 8});
  ASSERT_EQ(c.rx_ep, 4500u);
  ASSERT_EQ(c.tx_ep, 4500u);
  EXPECT_EQ(rx.core.ep_state(c.rx_ep), State::kOpen);
  EXPECT_EQ(tx.core.ep_state(c.tx_ep), State::kOpen);
  EXPECT_EQ(CMM_FIELD_GET(tx.rd_ok(kernel(0), cst_addr(c.tx_ep, CMM_CST_REMOTE_HI_OFFSET)), CMM_CST_REMOTE_HI_EP), 1u);
  tx.take_egress();
  EXPECT_EQ(tx.doorbell(user(0, 20), c.tx_ep, 16, 7).status, u(Rsp::kOk));
  tx.settle();
  EXPECT_EQ(rx.core.rxq_count(c.rx_ep), 1u);
  const uint32_t page = rx.core.geometry().ep_page(c.rx_ep);
  EXPECT_GE(page, 0x30000u);
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(user(0, 10), page + CMM_EP_RX_STATUS_OFFSET), CMM_EP_RX_STATUS_COUNT), 1u);
  // The whole id is checked at the CST_REMOTE write: 5000 is one past the table.
  const int e = rx.alloc(0);
  ASSERT_GE(e, 0);
  rx.wr_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_HI_OFFSET), n >> 12);
  EXPECT_EQ(rx.wr(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_OFFSET), remote_word(kNode1, 0, n & 0xFFF)).status,
            u(Rsp::kReject));
  EXPECT_EQ(rx.rejects(Reason::kBadField), 1u);
  // CST_REMOTE_HI written after a valid CST_REMOTE cannot move the id past the
  // table: bits 15:12 = 2 name no entry of 5,000 (the whole id stays as it was).
  rx.wr_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_HI_OFFSET), 0);
  rx.wr_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_OFFSET), remote_word(kNode1, 0, 100));
  EXPECT_EQ(rx.wr(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_HI_OFFSET), 2).status, u(Rsp::kReject));
  EXPECT_EQ(rx.rejects(Reason::kBadField), 2u);
  EXPECT_EQ(rx.rd_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_HI_OFFSET)), 0u);
  EXPECT_EQ(rx.rd_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_OFFSET)), remote_word(kNode1, 0, 100));
  rx.wr_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_HI_OFFSET), 1);  // 4,196: in the table
  EXPECT_EQ(rx.rd_ok(kernel(0), cst_addr(static_cast<uint32_t>(e), CMM_CST_REMOTE_HI_OFFSET)), 1u);
}

TEST(Geometry, WindowsExistForEveryEndpointOfTheTable) {
  CoreHarness h(quota0(250), geo_params(256));
  // Partition 0 takes 250 entries: the ALLOC result names them all.
  for (uint32_t e = 0; e < 250; ++e) ASSERT_EQ(h.alloc(0), static_cast<int>(e));
  EXPECT_EQ(h.cst_state(0, 249), u(State::kAllocated));
  EXPECT_EQ(h.core.ep_state(255), State::kFree);
  EXPECT_EQ(h.rd(kernel(0), cst_addr(256, CMM_CST_CTRL_OFFSET)).status, u(Rsp::kDecerr));
  // The endpoint page of entry 245 lies above the default 20-bit map.
  h.wr_ok(kernel(0), cst_addr(245, CMM_CST_OWNER_OFFSET), 77);
  ASSERT_GE(ep_addr(245, 0), 1u << kAddrBits);
  EXPECT_EQ(h.rd(user(0, 77), ep_addr(245, CMM_EP_TX_SENT_OFFSET)).status, u(Rsp::kOk));
  EXPECT_EQ(h.rd(user(0, 76), ep_addr(245, CMM_EP_TX_SENT_OFFSET)).status, u(Rsp::kDenied));
  EXPECT_EQ(h.rd(user(0, 77), ep_addr(256, CMM_EP_TX_SENT_OFFSET)).status, u(Rsp::kDecerr));
}

TEST(Geometry, DataFlowsBetweenHighEndpointsAndTheQueueHasTheChosenDepth) {
  const uint32_t depth = 9;
  CoreHarness rx(kNode0, geo_params(256, kNumPartitions, depth), 31), tx(kNode1, geo_params(256, kNumPartitions, depth), 31);
  Net net({&rx, &tx});
  for (uint32_t e = 0; e < 30; ++e) {  // push the channel's entries past id 240
    ASSERT_GE(rx.alloc(1), 0);
    ASSERT_GE(tx.alloc(1), 0);
  }
  for (uint8_t p = 2; p < kNumPartitions; ++p)
    for (uint32_t e = 0; e < 30; ++e) {
      ASSERT_GE(rx.alloc(p), 0);
      ASSERT_GE(tx.alloc(p), 0);
    }
  const Key k{1, 2, 3, 4};
  const Channel c = open_channel(rx, 0, 10, tx, 0, 20, k);
  EXPECT_GE(c.rx_ep, 180u);
  EXPECT_GE(c.tx_ep, 180u);
  tx.take_egress();
  for (uint32_t i = 0; i < depth; ++i) {
    EXPECT_EQ(tx.doorbell(user(0, 20), c.tx_ep, 16, i).status, u(Rsp::kOk));
    tx.settle();
  }
  EXPECT_EQ(rx.core.rxq_count(c.rx_ep), depth);
  const uint32_t st = rx.rd_ok(user(0, 10), ep_addr(c.rx_ep, CMM_EP_RX_STATUS_OFFSET));
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_EP_RX_STATUS_COUNT), depth);
  // One more: the queue is full at the chosen depth.
  EXPECT_EQ(tx.doorbell(user(0, 20), c.tx_ep, 16, 99).status, u(Rsp::kOk));
  tx.settle();
  EXPECT_EQ(rx.core.rxq_count(c.rx_ep), depth);
  EXPECT_EQ(rx.rejects(Reason::kRxqFull), 1u);
}

TEST(Geometry, ManagementQueueAndErrorLogHaveTheChosenDepths) {
  CoreParams p;
  p.geo.mgmtq_depth = 7;
  p.geo.errlog_depth = 6;
  CoreHarness a(kNode0), b(kNode1, p);
  Net net({&a, &b});
  a.wr_ok(kernel(2), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kNode1), CMM_MGMT_DST_PART, 5u));
  for (uint32_t i = 0; i < 8; ++i) {
    a.cmd_ok(2, Cmd::kMgmtSend);
    a.settle();
  }
  EXPECT_EQ(CMM_FIELD_GET(b.rd_ok(kernel(5), CMM_MGMT_RX_STATUS_OFFSET), CMM_MGMT_RX_STATUS_COUNT), 7u);
  EXPECT_EQ(b.rejects(Reason::kMgmtqFull), 1u);
  // Alternating reasons (equal neighbours would coalesce): BAD_ADDR, DENIED, ...
  for (uint32_t i = 0; i < 8; ++i) {
    if (i & 1) b.rd(user(3, 1), CMM_CMD_STATUS_OFFSET);
    else b.rd(kernel(3), 0x7F0);
  }
  EXPECT_EQ(b.errlog_count(3), 6u);
}

// The second geometry the RTL is generated for (rtl/CMakeLists.txt
// CMM_RTL_GEOMETRY2: 32 endpoints, 4 partitions, queues 8 deep): the
// replay (cmm_rtl_geometry_test) runs these cores on that RTL in lockstep.
TEST(Geometry, SecondRtlGeometryEndToEnd) {
  CoreParams p;
  p.geo = Geometry{32, 4, 8, 8, 8, 8};
  Straps s0;
  s0.node_id = kNode0;
  s0.quota = {12, 10, 6, 4, 0, 0, 0, 0};
  Straps s1 = s0;
  s1.node_id = kNode1;
  CoreHarness rx(s0, p), tx(s1, p);
  Net net({&rx, &tx});
  const uint32_t g = rx.rd_ok(user(0, 1), CMM_GEOMETRY_OFFSET);
  EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_NUM_EP), 32u);
  EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_NUM_PART), 4u);
  EXPECT_EQ(CMM_FIELD_GET(g, CMM_GEOMETRY_RXQ_DEPTH), 8u);
  EXPECT_EQ(rx.rd(kernel(3), CMM_PART_INFO_OFFSET).status, u(Rsp::kOk));
  EXPECT_EQ(rx.rd(kernel(4), CMM_PART_INFO_OFFSET).status, u(Rsp::kDenied));
  // Partitions 1-3 take their quotas (20 entries): the channel lies above entry 15.
  for (uint8_t q = 1; q < 4; ++q)
    for (uint32_t i = 0; i < s0.quota[q]; ++i) {
      ASSERT_GE(rx.alloc(q), 0);
      ASSERT_GE(tx.alloc(q), 0);
    }
  const Channel c = open_channel(rx, 0, 10, tx, 0, 20, Key{11, 12, 13, 14});
  EXPECT_EQ(c.rx_ep, 20u);
  EXPECT_EQ(c.tx_ep, 20u);
  tx.take_egress();
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(tx.doorbell(user(0, 20), c.tx_ep, 16, i).status, u(Rsp::kOk));
    tx.settle();
  }
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(user(0, 10), ep_addr(c.rx_ep, CMM_EP_RX_STATUS_OFFSET)), CMM_EP_RX_STATUS_COUNT), 8u);
  EXPECT_EQ(tx.doorbell(user(0, 20), c.tx_ep, 16, 99).status, u(Rsp::kOk));  // the ninth: RXQ_FULL at depth 8
  tx.settle();
  EXPECT_EQ(rx.core.rxq_count(c.rx_ep), 8u);
  EXPECT_EQ(rx.rejects(Reason::kRxqFull), 1u);
  EXPECT_EQ(rx.rd_ok(user(0, 10), ep_addr(c.rx_ep, CMM_EP_RX_TAG_OFFSET)), 0u);
  // Management queue and error log 8 deep.
  tx.wr_ok(kernel(2), CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, kNode0), CMM_MGMT_DST_PART, 3u));
  for (uint32_t i = 0; i < 9; ++i) {
    tx.cmd_ok(2, Cmd::kMgmtSend);
    tx.settle();
  }
  EXPECT_EQ(CMM_FIELD_GET(rx.rd_ok(kernel(3), CMM_MGMT_RX_STATUS_OFFSET), CMM_MGMT_RX_STATUS_COUNT), 8u);
  EXPECT_EQ(rx.rejects(Reason::kMgmtqFull), 1u);
  rx.clear_errlog(3);
  for (uint32_t i = 0; i < 10; ++i) {
    if (i & 1) rx.rd(user(3, 1), CMM_CMD_STATUS_OFFSET);
    else rx.rd(kernel(3), 0x7F0);
  }
  EXPECT_EQ(rx.errlog_count(3), 8u);
}

}  // namespace
}  // namespace cmm::coretest
