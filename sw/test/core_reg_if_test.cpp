// The CoreRegIf / LoopbackFabric harness itself: register accesses through the
// pins, requester-id stamping, window grants, packets between cores.
#include "cmm_sw_testing/core_reg_if.h"

#include <gtest/gtest.h>

namespace cmm::sw::testing {
namespace {

using namespace regs;

constexpr std::array<uint8_t, kNumPartitions> kQuota{2, 2, 2, 2, 2, 2, 2, 2};

uint32_t cmd(Cmd op, uint32_t ep = 0) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(op)), CMM_CMD_EP, ep);
}

TEST(CoreRegIf, ReadsThroughThePins) {
  LoopbackFabric fab;
  SimNode& n = fab.add_node(7, kQuota);
  CoreRegIf k(n, 2, Priv::kKernel, 0);
  uint32_t v = 0;
  ASSERT_EQ(k.read32(CMM_ID_OFFSET, v), BusStatus::kOk);
  EXPECT_EQ(v, kMagic);
  ASSERT_EQ(k.read32(CMM_NODE_ID_OFFSET, v), BusStatus::kOk);
  EXPECT_EQ(v, 7u);
  ASSERT_EQ(k.read32(CMM_PART_INFO_OFFSET, v), BusStatus::kOk);
  EXPECT_EQ(CMM_FIELD_GET(v, CMM_PART_INFO_PART), 2u);  // stamped by the adapter, not chosen by software
  EXPECT_EQ(k.accesses(), 3u);
  EXPECT_LE(fab.cycle(), 3u * 2u);  // one request, one response cycle each
}

TEST(CoreRegIf, RequesterIdDecidesAccess) {
  LoopbackFabric fab;
  SimNode& n = fab.add_node(7, kQuota);
  CoreRegIf user(n, 2, Priv::kUser, 100);
  uint32_t v = 0;
  EXPECT_EQ(user.read32(CMM_ID_OFFSET, v), BusStatus::kOk);
  EXPECT_EQ(user.read32(CMM_PART_INFO_OFFSET, v), BusStatus::kDenied);  // kernel bank
  EXPECT_EQ(user.write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kDenied);
  EXPECT_EQ(user.read32(0x3, v), BusStatus::kDecErr);
  CoreRegIf bad_part(n, kNumPartitions, Priv::kKernel, 0);
  EXPECT_EQ(bad_part.read32(CMM_PART_INFO_OFFSET, v), BusStatus::kDenied);
}

TEST(CoreRegIf, CommandsRejectWithReasonInCmdStatus) {
  LoopbackFabric fab;
  SimNode& n = fab.add_node(7, kQuota);
  CoreRegIf k(n, 1, Priv::kKernel, 0);
  uint32_t st = 0;
  ASSERT_EQ(k.write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kOk);
  ASSERT_EQ(k.write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kOk);
  ASSERT_EQ(k.write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kReject);
  ASSERT_EQ(k.read32(CMM_CMD_STATUS_OFFSET, st), BusStatus::kOk);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON), static_cast<uint32_t>(Reason::kQuotaExceeded));
}

TEST(CoreRegIf, WindowsNeedAGrantAndStayInsideTheWindow) {
  LoopbackFabric fab;
  SimNode& n = fab.add_node(7, kQuota);
  CoreRegIf k(n, 1, Priv::kKernel, 0);
  CoreRegIf owner(n, 1, Priv::kUser, 55);
  CoreRegIf other(n, 1, Priv::kUser, 56);
  uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint32_t tx = CMM_EP_BASE + CMM_TX_BUF_OFFSET;  // endpoint 0
  EXPECT_EQ(owner.write_block(tx, bytes, sizeof bytes), BusStatus::kDenied);  // endpoint FREE
  ASSERT_EQ(k.write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), BusStatus::kOk);
  ASSERT_EQ(k.write32(CMM_CST_BASE + CMM_CST_OWNER_OFFSET, 55), BusStatus::kOk);
  EXPECT_EQ(owner.write_block(tx, bytes, sizeof bytes), BusStatus::kOk);
  EXPECT_EQ(other.write_block(tx, bytes, sizeof bytes), BusStatus::kDenied);
  const uint64_t before = owner.accesses();
  EXPECT_EQ(owner.write_block(tx + CMM_TX_BUF_BYTES - 4, bytes, sizeof bytes), BusStatus::kDecErr);
  EXPECT_EQ(owner.write_block(CMM_EP_BASE + CMM_RX_BUF_OFFSET, bytes, 4), BusStatus::kDecErr);
  EXPECT_EQ(owner.read_block(tx, bytes, 4), BusStatus::kDecErr);
  EXPECT_EQ(owner.accesses(), before);  // refused by the adapter, never reached the core
  // RX window of an empty queue: the core refuses the grant.
  EXPECT_EQ(owner.read_block(CMM_EP_BASE + CMM_RX_BUF_OFFSET, bytes, 4), BusStatus::kReject);
  EXPECT_EQ(n.buffer_errors(), 0u);
}

TEST(LoopbackFabric, MgmtCarriesHardwareStampedSource) {
  LoopbackFabric fab(3);
  SimNode& a = fab.add_node(202, kQuota);
  SimNode& b = fab.add_node(204, kQuota);
  CoreRegIf ka(a, 5, Priv::kKernel, 0);
  CoreRegIf kb(b, 2, Priv::kKernel, 0);
  fab.set_trace(true);
  ASSERT_EQ(ka.write32(CMM_MGMT_TX_OFFSET, 0xCAFE), BusStatus::kOk);
  ASSERT_EQ(ka.write32(CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, 204u),
                                                          CMM_MGMT_DST_PART, 2u)),
            BusStatus::kOk);
  ASSERT_EQ(ka.write32(CMM_CMD_OFFSET, cmd(Cmd::kMgmtSend)), BusStatus::kOk);
  ASSERT_TRUE(fab.run_until_idle());
  ASSERT_EQ(fab.trace().size(), 1u);
  EXPECT_EQ(fab.trace()[0].hdr.opcode, static_cast<uint8_t>(Opcode::kMgmt));
  uint32_t st = 0, w0 = 0;
  ASSERT_EQ(kb.read32(CMM_MGMT_RX_STATUS_OFFSET, st), BusStatus::kOk);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_COUNT), 1u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE), 202u);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART), 5u);
  ASSERT_EQ(kb.read32(CMM_MGMT_RX_OFFSET, w0), BusStatus::kOk);
  EXPECT_EQ(w0, 0xCAFEu);
}

TEST(LoopbackFabric, NodeCanTalkToItselfAndUnknownNodesAreCounted) {
  LoopbackFabric fab;
  SimNode& a = fab.add_node(9, kQuota);
  CoreRegIf k1(a, 1, Priv::kKernel, 0);
  CoreRegIf k2(a, 2, Priv::kKernel, 0);
  for (uint32_t node : {9u, 77u}) {
    ASSERT_EQ(k1.write32(CMM_MGMT_DST_OFFSET, CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, node),
                                                            CMM_MGMT_DST_PART, 2u)),
              BusStatus::kOk);
    ASSERT_EQ(k1.write32(CMM_CMD_OFFSET, cmd(Cmd::kMgmtSend)), BusStatus::kOk);
  }
  ASSERT_TRUE(fab.run_until_idle());
  uint32_t st = 0;
  ASSERT_EQ(k2.read32(CMM_MGMT_RX_STATUS_OFFSET, st), BusStatus::kOk);
  EXPECT_EQ(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_COUNT), 1u);
  EXPECT_EQ(fab.undeliverable(), 1u);
  EXPECT_THROW(fab.add_node(9, kQuota), std::invalid_argument);
}

}  // namespace
}  // namespace cmm::sw::testing
