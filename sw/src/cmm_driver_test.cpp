// The register-level driver alone (cmm_sw/cmm_driver.h) on the mock bus:
// guard statements come before any bus access, and each call is its exact
// register sequence. The agent's own tests (kernel_agent_test.cpp) cover the
// sequences through KernelAgent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmm_sw/cmm_driver.h"
#include "cmm_sw_testing/mock_reg_if.h"

namespace cmm::sw {
namespace {

using ::testing::InSequence;
using ::testing::StrictMock;
using testing::expect_read;
using testing::expect_write;
using testing::MockRegIf;

// A StrictMock fails the test on any access: each bad argument is refused
// with its reason before the bus is touched.
TEST(CmmDriver, BadArgumentsAreRefusedBeforeAnyBusAccess) {
  StrictMock<MockRegIf> bus;
  CmmDriver d(bus);
  const auto bad_ep = static_cast<uint8_t>(regs::kNumEndpoints);
  EXPECT_EQ(d.write_ctrl(bad_ep, regs::Dir::kRecv), Status::Err(Result::kBadArg, regs::Reason::kBadEp));
  EXPECT_EQ(d.write_owner(bad_ep, 7), Status::Err(Result::kBadArg, regs::Reason::kBadEp));
  CstInfo cst;
  EXPECT_EQ(d.read_cst(bad_ep, cst), Status::Err(Result::kBadArg, regs::Reason::kBadEp));
  PeerId far{1, static_cast<uint8_t>(regs::kNumPartitions), 0};
  EXPECT_EQ(d.write_remote(0, far), Status::Err(Result::kBadArg, regs::Reason::kBadField));
  MgmtWords w{};
  EXPECT_EQ(d.send_mgmt(1, static_cast<uint8_t>(regs::kNumPartitions), w),
            Status::Err(Result::kBadArg, regs::Reason::kBadPart));
  EXPECT_EQ(d.set_alarm(1, static_cast<uint8_t>(regs::CMM_ALARM_CFG_WINDOW_LOG2_MASK + 1)),
            Status::Err(Result::kBadArg, regs::Reason::kBadField));
  EXPECT_EQ(d.irq_ack(~regs::CMM_IRQ_STATUS_BITS_MASK), Status::Err(Result::kBadArg));
  uint32_t v = 0;
  EXPECT_EQ(d.stat(regs::CMM_STAT_COUNT, v), Status::Err(Result::kBadArg));
}

// A refused command: CMD, then CMD_STATUS for the reason (nothing else).
TEST(CmmDriver, RefusedCommandReadsItsReasonFromCmdStatus) {
  StrictMock<MockRegIf> bus;
  CmmDriver d(bus);
  {
    InSequence seq;
    uint32_t cmd = CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(regs::Cmd::kAuthorize));
    cmd = CMM_FIELD_SET(cmd, CMM_CMD_EP, 3u);
    expect_write(bus, regs::CMM_CMD_OFFSET, cmd, BusStatus::kReject);
    expect_read(bus, regs::CMM_CMD_STATUS_OFFSET,
                CMM_FIELD_SET(0u, CMM_CMD_STATUS_REASON, static_cast<uint32_t>(regs::Reason::kDenied)));
  }
  EXPECT_EQ(d.command(regs::Cmd::kAuthorize, 3), Status::Err(Result::kRejected, regs::Reason::kDenied));
}

// The CST_LOST word decoded: TX and RX counts of one entry.
TEST(CmmDriver, CstLostReadsOneWordOfTheEntry) {
  StrictMock<MockRegIf> bus;
  CmmDriver d(bus);
  uint32_t w = CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 5u);
  w = CMM_FIELD_SET(w, CMM_CST_LOST_RX, 9u);
  expect_read(bus, CmmDriver::cst_addr(2, regs::CMM_CST_LOST_OFFSET), w);
  uint16_t tx = 0, rx = 0;
  ASSERT_TRUE(d.cst_lost(2, tx, rx).ok());
  EXPECT_EQ(tx, 5u);
  EXPECT_EQ(rx, 9u);
}

}  // namespace
}  // namespace cmm::sw
