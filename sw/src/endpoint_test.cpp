// User endpoint library against a mock bus that expects the exact accesses.
#include "cmm_sw/endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "cmm_sw_testing/mock_reg_if.h"

namespace cmm::sw {
namespace {

using namespace regs;
using ::testing::InSequence;
using ::testing::StrictMock;
using testing::expect_read;
using testing::expect_read_block;
using testing::expect_write;
using testing::expect_write_block;
using testing::MockRegIf;

constexpr uint8_t kEp = 3;
constexpr uint32_t page_reg(uint32_t off) { return CMM_EP_BASE + kEp * CMM_EP_STRIDE + off; }

uint32_t doorbell(uint32_t len, uint32_t tag) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, len), CMM_EP_DOORBELL_TAG, tag);
}
uint32_t rx_status(uint32_t count, uint32_t slot, uint32_t len) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_EP_RX_STATUS_COUNT, count);
  v = CMM_FIELD_SET(v, CMM_EP_RX_STATUS_SLOT, slot);
  return CMM_FIELD_SET(v, CMM_EP_RX_STATUS_LEN, len);
}
uint32_t tx_status(Reason r, uint32_t nacks, uint32_t tag) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_EP_TX_STATUS_LAST_REASON, static_cast<uint32_t>(r));
  v = CMM_FIELD_SET(v, CMM_EP_TX_STATUS_NACKS, nacks);
  return CMM_FIELD_SET(v, CMM_EP_TX_STATUS_LAST_TAG, tag);
}

class EndpointTest : public ::testing::Test {
 protected:
  StrictMock<MockRegIf> bus;
  Endpoint ep{bus, kEp};
};

TEST_F(EndpointTest, WindowAddressesComeFromTheRegisterMap) {
  EXPECT_EQ(Endpoint::page(kEp), CMM_EP_BASE + 3 * CMM_EP_STRIDE);
  EXPECT_EQ(ep.reg(CMM_TX_BUF_OFFSET), 0x13400u);
  EXPECT_EQ(ep.reg(CMM_RX_BUF_OFFSET), 0x13800u);
}

TEST_F(EndpointTest, SendStagesPayloadThenRingsDoorbell) {
  const std::vector<uint8_t> msg{'h', 'e', 'l', 'l', 'o'};
  {
    InSequence seq;
    expect_write_block(bus, page_reg(CMM_TX_BUF_OFFSET), msg);
    expect_write(bus, page_reg(CMM_EP_DOORBELL_OFFSET), doorbell(5, 0xBEEF));
  }
  EXPECT_EQ(ep.send(msg.data(), msg.size(), 0xBEEF), Status::Ok());
}

TEST_F(EndpointTest, SendRefusedReadsReasonFromTxStatus) {
  const std::vector<uint8_t> msg(16, 0xA5);
  {
    InSequence seq;
    expect_write_block(bus, page_reg(CMM_TX_BUF_OFFSET), msg);
    expect_write(bus, page_reg(CMM_EP_DOORBELL_OFFSET), doorbell(16, 7), BusStatus::kReject);
    expect_read(bus, page_reg(CMM_EP_TX_STATUS_OFFSET), tx_status(Reason::kNotOpen, 0, 0));
  }
  EXPECT_EQ(ep.send(msg.data(), msg.size(), 7), Status::Err(Result::kRejected, Reason::kNotOpen));
}

TEST_F(EndpointTest, SendByNonOwnerIsDeniedAtTheWindow) {
  const std::vector<uint8_t> msg(4, 1);
  expect_write_block(bus, page_reg(CMM_TX_BUF_OFFSET), msg, BusStatus::kDenied);
  EXPECT_EQ(ep.send(msg.data(), msg.size(), 0), Status::Err(Result::kBusError, Reason::kDenied));
}

TEST_F(EndpointTest, SendChecksLengthBeforeAnyAccess) {
  std::vector<uint8_t> big(CMM_TX_BUF_BYTES + 1, 0);
  EXPECT_EQ(ep.send(big.data(), 0, 0), Status::Err(Result::kBadArg, Reason::kBadLen));
  EXPECT_EQ(ep.send(big.data(), big.size(), 0), Status::Err(Result::kBadArg, Reason::kBadLen));
  EXPECT_EQ(ep.send(nullptr, 4, 0), Status::Err(Result::kBadArg, Reason::kBadLen));
}

TEST_F(EndpointTest, SendLargestMessage) {
  std::vector<uint8_t> msg(kMaxMsgBytes);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i * 7);
  {
    InSequence seq;
    expect_write_block(bus, page_reg(CMM_TX_BUF_OFFSET), msg);
    expect_write(bus, page_reg(CMM_EP_DOORBELL_OFFSET), doorbell(kMaxMsgBytes, 1));
  }
  EXPECT_TRUE(ep.send(msg.data(), msg.size(), 1).ok());
}

TEST_F(EndpointTest, ReceiveReadsStatusWindowTagThenPops) {
  const std::vector<uint8_t> msg{1, 2, 3, 4, 5};
  {
    InSequence seq;
    expect_read(bus, page_reg(CMM_EP_RX_STATUS_OFFSET), rx_status(2, 1, 5));
    expect_read_block(bus, page_reg(CMM_RX_BUF_OFFSET), msg);
    expect_read(bus, page_reg(CMM_EP_RX_TAG_OFFSET), 0x4242);
    expect_write(bus, page_reg(CMM_EP_RX_POP_OFFSET), 1);
  }
  uint8_t buf[64] = {};
  RxInfo info;
  ASSERT_EQ(ep.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(info.len, 5);
  EXPECT_EQ(info.tag, 0x4242);
  EXPECT_EQ(info.remaining, 1);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + 5), msg);
}

TEST_F(EndpointTest, ReceiveEmptyQueue) {
  expect_read(bus, page_reg(CMM_EP_RX_STATUS_OFFSET), rx_status(0, 2, 0));
  uint8_t buf[8];
  RxInfo info;
  EXPECT_EQ(ep.receive(buf, sizeof buf, info), Status::Err(Result::kEmpty, Reason::kRxqEmpty));
}

TEST_F(EndpointTest, ReceiveIntoTooSmallBufferPopsNothing) {
  expect_read(bus, page_reg(CMM_EP_RX_STATUS_OFFSET), rx_status(1, 0, 100));
  uint8_t buf[8];
  RxInfo info;
  EXPECT_EQ(ep.receive(buf, sizeof buf, info), Status::Err(Result::kNoSpace));
  EXPECT_EQ(info.len, 100);
}

TEST_F(EndpointTest, ReceiveByNonOwnerIsDenied) {
  expect_read(bus, page_reg(CMM_EP_RX_STATUS_OFFSET), 0, BusStatus::kDenied);
  uint8_t buf[8];
  RxInfo info;
  EXPECT_EQ(ep.receive(buf, sizeof buf, info), Status::Err(Result::kBusError, Reason::kDenied));
}

TEST_F(EndpointTest, ReceiveWindowRejectedWhenQueueEmptiedMeanwhile) {
  {
    InSequence seq;
    expect_read(bus, page_reg(CMM_EP_RX_STATUS_OFFSET), rx_status(1, 0, 2));
    expect_read_block(bus, page_reg(CMM_RX_BUF_OFFSET), {0, 0}, BusStatus::kReject);
  }
  uint8_t buf[8];
  RxInfo info;
  EXPECT_EQ(ep.receive(buf, sizeof buf, info), Status::Err(Result::kRejected, Reason::kRxqEmpty));
}

TEST_F(EndpointTest, TxStatusDecodesNackBackpressure) {
  expect_read(bus, page_reg(CMM_EP_TX_STATUS_OFFSET), tx_status(Reason::kRxqFull, 3, 0x1234));
  TxStatus ts;
  ASSERT_TRUE(ep.tx_status(ts).ok());
  EXPECT_EQ(ts.last_reason, Reason::kRxqFull);
  EXPECT_EQ(ts.nacks, 3);
  EXPECT_EQ(ts.last_tag, 0x1234);
}

TEST_F(EndpointTest, TxSentAndRxStatus) {
  {
    InSequence seq;
    expect_read(bus, page_reg(CMM_EP_TX_SENT_OFFSET), 77);
    expect_read(bus, page_reg(CMM_EP_RX_STATUS_OFFSET), rx_status(3, 2, 9));
  }
  uint32_t sent = 0;
  ASSERT_TRUE(ep.tx_sent(sent).ok());
  EXPECT_EQ(sent, 77u);
  RxStatus rs;
  ASSERT_TRUE(ep.rx_status(rs).ok());
  EXPECT_EQ(rs.count, 3);
  EXPECT_EQ(rs.slot, 2);
  EXPECT_EQ(rs.len, 9);
}

constexpr uint32_t cst_reg(uint32_t off) { return CMM_CST_BASE + kEp * CMM_CST_STRIDE + off; }

TEST_F(EndpointTest, ChannelViewReadsCtrlRemoteAndStatusOfItsCstEntry) {
  uint32_t ctrl = CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, static_cast<uint32_t>(Dir::kSend));
  ctrl = CMM_FIELD_SET(ctrl, CMM_CST_CTRL_STATE, static_cast<uint32_t>(State::kOpen));
  ctrl = CMM_FIELD_SET(ctrl, CMM_CST_CTRL_KEY_VALID, 1u);
  uint32_t remote = CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, 0x42u);
  remote = CMM_FIELD_SET(remote, CMM_CST_REMOTE_PART, 5u);
  remote = CMM_FIELD_SET(remote, CMM_CST_REMOTE_EP, 9u);
  uint32_t status = CMM_FIELD_SET(0u, CMM_CST_STATUS_RXQ_COUNT, 2u);
  status = CMM_FIELD_SET(status, CMM_CST_STATUS_LAST_REASON, static_cast<uint32_t>(Reason::kRxqFull));
  status = CMM_FIELD_SET(status, CMM_CST_STATUS_TX_NACKS, 300u);
  {
    InSequence seq;
    expect_read(bus, cst_reg(CMM_CST_CTRL_OFFSET), ctrl);
    expect_read(bus, cst_reg(CMM_CST_REMOTE_OFFSET), remote);
    expect_read(bus, cst_reg(CMM_CST_STATUS_OFFSET), status);
  }
  ChannelView v;
  ASSERT_EQ(ep.channel_view(v), Status::Ok());
  EXPECT_EQ(v.state, State::kOpen);
  EXPECT_EQ(v.dir, Dir::kSend);
  EXPECT_EQ(v.mode, Mode::kPlain);
  EXPECT_TRUE(v.key_valid);
  EXPECT_EQ(v.remote_node, 0x42);
  EXPECT_EQ(v.remote_part, 5);
  EXPECT_EQ(v.remote_ep, 9);
  EXPECT_EQ(v.rxq_count, 2);
  EXPECT_EQ(v.last_nack, Reason::kRxqFull);
  EXPECT_EQ(v.tx_nacks, 300);
}

TEST_F(EndpointTest, ChannelViewOfANonOwnerStopsAtTheFirstDenied) {
  expect_read(bus, cst_reg(CMM_CST_CTRL_OFFSET), 0, BusStatus::kDenied);
  ChannelView v;
  EXPECT_EQ(ep.channel_view(v), Status::Err(Result::kBusError, Reason::kDenied));
  EXPECT_EQ(v.state, State::kFree);  // untouched
}

TEST(EndpointGuard, EndpointOutOfRangeTouchesNothing) {
  StrictMock<MockRegIf> bus;
  Endpoint ep(bus, kNumEndpoints, kNumEndpoints);
  uint8_t b[4] = {};
  RxInfo info;
  TxStatus ts;
  EXPECT_EQ(ep.send(b, 4, 0), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(ep.receive(b, 4, info), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(ep.tx_status(ts), Status::Err(Result::kBadArg, Reason::kBadEp));
  ChannelView v;
  EXPECT_EQ(ep.channel_view(v), Status::Err(Result::kBadArg, Reason::kBadEp));
}

}  // namespace
}  // namespace cmm::sw
