// Kernel-agent driver against a mock bus that expects the EXACT access
// sequence (address, direction, value, response) of every operation.
#include "cmm_sw/kernel_agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "cmm_sw_testing/mock_reg_if.h"

namespace cmm::sw {
namespace {

using namespace regs;
using ::testing::InSequence;
using ::testing::Mock;
using ::testing::StrictMock;
using testing::expect_read;
using testing::expect_write;
using testing::expect_write_any;
using testing::MockRegIf;

constexpr uint8_t kNode = 204;
constexpr uint8_t kPart = 0;
constexpr uint32_t kAllIrq = 0x1F;

uint32_t u(Reason r) { return static_cast<uint32_t>(r); }
uint32_t irq(Irq b) { return 1u << static_cast<uint32_t>(b); }

uint32_t cmd(Cmd op, uint32_t ep = 0) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(op)), CMM_CMD_EP, ep);
}
uint32_t cmd_status(Reason r, uint32_t ep = 0, uint32_t count = 1) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_CMD_STATUS_REASON, u(r));
  v = CMM_FIELD_SET(v, CMM_CMD_STATUS_EP, ep);
  return CMM_FIELD_SET(v, CMM_CMD_STATUS_COUNT, count);
}
uint32_t cst(uint32_t ep, uint32_t off) { return CMM_CST_BASE + ep * CMM_CST_STRIDE + off; }
uint32_t geometry(uint32_t eps = kNumEndpoints) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_GEOMETRY_NUM_EP, eps);
  v = CMM_FIELD_SET(v, CMM_GEOMETRY_NUM_PART, kNumPartitions);
  v = CMM_FIELD_SET(v, CMM_GEOMETRY_RXQ_DEPTH, kRxqDepth);
  return CMM_FIELD_SET(v, CMM_GEOMETRY_KEY_WORDS, kKeyWords);
}
uint32_t part_info(uint32_t part, uint32_t quota, uint32_t used) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_PART_INFO_PART, part);
  v = CMM_FIELD_SET(v, CMM_PART_INFO_QUOTA, quota);
  return CMM_FIELD_SET(v, CMM_PART_INFO_USED, used);
}
uint32_t cst_ctrl(Dir d, State s, bool key_valid = false, Origin o = Origin::kLocal, uint32_t owner = kPart) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, static_cast<uint32_t>(d));
  v = CMM_FIELD_SET(v, CMM_CST_CTRL_STATE, static_cast<uint32_t>(s));
  v = CMM_FIELD_SET(v, CMM_CST_CTRL_KEY_VALID, key_valid ? 1u : 0u);
  v = CMM_FIELD_SET(v, CMM_CST_CTRL_KEY_ORIGIN, static_cast<uint32_t>(o));
  return CMM_FIELD_SET(v, CMM_CST_CTRL_OWNER_PART, owner);
}
uint32_t remote(uint32_t node, uint32_t part, uint32_t ep) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, node);
  v = CMM_FIELD_SET(v, CMM_CST_REMOTE_PART, part);
  return CMM_FIELD_SET(v, CMM_CST_REMOTE_EP, ep);
}
uint32_t cst_status(uint32_t rxq, Reason last, uint32_t nacks) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_CST_STATUS_RXQ_COUNT, rxq);
  v = CMM_FIELD_SET(v, CMM_CST_STATUS_LAST_REASON, u(last));
  return CMM_FIELD_SET(v, CMM_CST_STATUS_TX_NACKS, nacks);
}
uint32_t mgmt_status(uint32_t count, uint32_t node, uint32_t part) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_MGMT_RX_STATUS_COUNT, count);
  v = CMM_FIELD_SET(v, CMM_MGMT_RX_STATUS_SRC_NODE, node);
  return CMM_FIELD_SET(v, CMM_MGMT_RX_STATUS_SRC_PART, part);
}
uint32_t mgmt_dst(uint32_t node, uint32_t part) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_MGMT_DST_NODE, node), CMM_MGMT_DST_PART, part);
}
uint32_t errlog_status(uint32_t count, uint32_t lost) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_ERRLOG_STATUS_COUNT, count), CMM_ERRLOG_STATUS_LOST, lost);
}
uint32_t errlog_head(Reason r, uint32_t ep, Opcode op, bool fabric, bool exc, uint32_t src) {
  uint32_t v = CMM_FIELD_SET(0u, CMM_ERRLOG_HEAD_REASON, u(r));
  v = CMM_FIELD_SET(v, CMM_ERRLOG_HEAD_EP, ep);
  v = CMM_FIELD_SET(v, CMM_ERRLOG_HEAD_OPCODE, static_cast<uint32_t>(op));
  v = CMM_FIELD_SET(v, CMM_ERRLOG_HEAD_FROM_FABRIC, fabric ? 1u : 0u);
  v = CMM_FIELD_SET(v, CMM_ERRLOG_HEAD_EXCEPTION, exc ? 1u : 0u);
  return CMM_FIELD_SET(v, CMM_ERRLOG_HEAD_SRC_NODE, src);
}

void expect_init(MockRegIf& bus, uint32_t node = kNode, uint32_t part = kPart, uint32_t quota = 4) {
  expect_read(bus, CMM_ID_OFFSET, kMagic);
  expect_read(bus, CMM_GEOMETRY_OFFSET, geometry());
  expect_read(bus, CMM_NODE_ID_OFFSET, node);
  expect_read(bus, CMM_PART_INFO_OFFSET, part_info(part, quota, 0));
  expect_write(bus, CMM_IRQ_STATUS_OFFSET, kAllIrq);
  expect_write(bus, CMM_IRQ_ENABLE_OFFSET, kAllIrq);
}
void expect_mgmt_send(MockRegIf& bus, uint32_t node, uint32_t part, const MgmtWords& w) {
  for (uint32_t i = 0; i < kMgmtWords; ++i) expect_write(bus, CMM_MGMT_TX_OFFSET + i * CMM_MGMT_TX_STRIDE, w[i]);
  expect_write(bus, CMM_MGMT_DST_OFFSET, mgmt_dst(node, part));
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kMgmtSend));
}
void expect_mgmt_rx(MockRegIf& bus, uint32_t count, uint32_t node, uint32_t part, const MgmtWords& w) {
  expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, mgmt_status(count, node, part));
  for (uint32_t i = 0; i < kMgmtWords; ++i) expect_read(bus, CMM_MGMT_RX_OFFSET + i * CMM_MGMT_RX_STRIDE, w[i]);
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kMgmtPop));
}
void expect_alloc(MockRegIf& bus, uint32_t ep, uint32_t count = 1) {
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc));
  expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kOk, ep, count));
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      InSequence seq;
      expect_init(bus);
    }
    ASSERT_EQ(agent.init(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }
  // The first poll after init looks at every queue (causes cleared by init).
  void settle() {
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
      expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 0));
      expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0);
    }
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }
  std::vector<Event> events() {
    std::vector<Event> v;
    Event e;
    while (agent.next_event(e)) v.push_back(e);
    return v;
  }

  StrictMock<MockRegIf> bus;
  KernelAgent agent{bus, 42};
};

// ------------------------------------------------------------------ init

TEST(AgentInit, ReadsIdGeometryNodePartitionAndEnablesInterrupts) {
  StrictMock<MockRegIf> bus;
  KernelAgent agent(bus, 1);
  {
    InSequence seq;
    expect_init(bus, 202, 3, 2);
  }
  ASSERT_EQ(agent.init(), Status::Ok());
  EXPECT_TRUE(agent.initialized());
  EXPECT_EQ(agent.node_id(), 202);
  EXPECT_EQ(agent.partition(), 3);
  EXPECT_EQ(agent.quota(), 2);
}

TEST(AgentInit, BadMagicStopsAfterIdRead) {
  StrictMock<MockRegIf> bus;
  KernelAgent agent(bus, 1);
  expect_read(bus, CMM_ID_OFFSET, 0xDEADBEEF);
  EXPECT_EQ(agent.init(), Status::Err(Result::kBadDevice));
  EXPECT_FALSE(agent.initialized());
}

TEST(AgentInit, GeometryMismatchIsBadDevice) {
  StrictMock<MockRegIf> bus;
  KernelAgent agent(bus, 1);
  {
    InSequence seq;
    expect_read(bus, CMM_ID_OFFSET, kMagic);
    expect_read(bus, CMM_GEOMETRY_OFFSET, geometry(8));
  }
  EXPECT_EQ(agent.init(), Status::Err(Result::kBadDevice));
}

TEST(AgentInit, BusErrorsAreReported) {
  StrictMock<MockRegIf> bus;
  KernelAgent agent(bus, 1);
  expect_read(bus, CMM_ID_OFFSET, 0, BusStatus::kDenied);
  EXPECT_EQ(agent.init(), Status::Err(Result::kBusError, Reason::kDenied));
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;
    expect_read(bus, CMM_ID_OFFSET, kMagic);
    expect_read(bus, CMM_GEOMETRY_OFFSET, geometry());
    expect_read(bus, CMM_NODE_ID_OFFSET, 0, BusStatus::kDecErr);
  }
  EXPECT_EQ(agent.init(), Status::Err(Result::kBusError, Reason::kBadAddr));
}

TEST(AgentInit, NothingWorksBeforeInit) {
  StrictMock<MockRegIf> bus;  // no access expected
  KernelAgent agent(bus, 1);
  uint8_t ep = 0;
  uint16_t req = 0;
  uint32_t v = 0;
  EXPECT_EQ(agent.alloc_endpoint(ep), Status::Err(Result::kNotReady));
  EXPECT_EQ(agent.authorize(0), Status::Err(Result::kNotReady));
  EXPECT_EQ(agent.poll(), Status::Err(Result::kNotReady));
  EXPECT_EQ(agent.stat(0, v), Status::Err(Result::kNotReady));
  EXPECT_EQ(agent.request_channel(ChannelRequest{202, 3, 216, 2202}, req), Status::Err(Result::kNotReady));
}

// ------------------------------------------------------------------ commands

TEST_F(AgentTest, AllocReadsEndpointFromCmdStatus) {
  {
    InSequence seq;
    expect_alloc(bus, 5);
  }
  uint8_t ep = 0;
  ASSERT_EQ(agent.alloc_endpoint(ep), Status::Ok());
  EXPECT_EQ(ep, 5);
}

TEST_F(AgentTest, AllocQuotaExceededReasonFromCmdStatus) {
  {
    InSequence seq;
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kQuotaExceeded));
  }
  uint8_t ep = 0xAA;
  EXPECT_EQ(agent.alloc_endpoint(ep), Status::Err(Result::kRejected, Reason::kQuotaExceeded));
  EXPECT_EQ(ep, 0xAA);
}

TEST_F(AgentTest, CommandDeniedIsBusErrorWithoutStatusRead) {
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc), BusStatus::kDenied);
  uint8_t ep = 0;
  EXPECT_EQ(agent.alloc_endpoint(ep), Status::Err(Result::kBusError, Reason::kDenied));
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 2), BusStatus::kDecErr);
  EXPECT_EQ(agent.authorize(2), Status::Err(Result::kBusError, Reason::kBadAddr));
}

TEST_F(AgentTest, ConfigureWritesCtrlOwnerRemote) {
  {
    InSequence seq;
    expect_write(bus, cst(5, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, 1u));
    expect_write(bus, cst(5, CMM_CST_OWNER_OFFSET), 2202);
    expect_write(bus, cst(5, CMM_CST_REMOTE_OFFSET), remote(202, 3, 9));
  }
  EXPECT_EQ(agent.configure(5, Dir::kSend, 2202, PeerId{202, 3, 9}), Status::Ok());
}

TEST_F(AgentTest, ConfigureChecksRemoteBeforeAnyAccess) {
  EXPECT_EQ(agent.configure(5, Dir::kSend, 1, PeerId{202, kNumPartitions, 0}),
            Status::Err(Result::kBadArg, Reason::kBadField));
  EXPECT_EQ(agent.set_remote(5, PeerId{202, 0, kNumEndpoints}), Status::Err(Result::kBadArg, Reason::kBadField));
}

TEST_F(AgentTest, CstWriteRejectedOutsideAllocatedIsNotOpen) {
  expect_write(bus, cst(5, CMM_CST_CTRL_OFFSET), 0, BusStatus::kReject);
  EXPECT_EQ(agent.configure(5, Dir::kRecv, 1, PeerId{1, 1, 1}), Status::Err(Result::kRejected, Reason::kNotOpen));
}

TEST_F(AgentTest, EndpointOutOfRangeTouchesNothing) {
  CstInfo info;
  State st;
  EXPECT_EQ(agent.authorize(kNumEndpoints), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(agent.connect(kNumEndpoints), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(agent.close(200), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(agent.free_endpoint(16), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(agent.read_cst(16, info), Status::Err(Result::kBadArg, Reason::kBadEp));
  EXPECT_EQ(agent.endpoint_state(16, st), Status::Err(Result::kBadArg, Reason::kBadEp));
}

TEST_F(AgentTest, AuthorizeCloseFreeAreOneCommandEach) {
  {
    InSequence seq;
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 4));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kClose, 4));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 4));
  }
  EXPECT_EQ(agent.authorize(4), Status::Ok());
  EXPECT_EQ(agent.close(4), Status::Ok());
  EXPECT_EQ(agent.free_endpoint(4), Status::Ok());
}

TEST_F(AgentTest, FreeRejectedWhileOpen) {
  {
    InSequence seq;
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 4), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kNotOpen, 4));
  }
  EXPECT_EQ(agent.free_endpoint(4), Status::Err(Result::kRejected, Reason::kNotOpen));
}

TEST_F(AgentTest, ConnectStagesKeyThenCommand) {
  const ChannelKey key{0x11111111, 0x22222222, 0x33333333, 0x44444444};
  {
    InSequence seq;
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, key[i]);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 6));
  }
  EXPECT_EQ(agent.connect(6, key), Status::Ok());
}

TEST_F(AgentTest, ConnectNeverReadsAnythingBack) {
  // I1 from the driver's side: the key is written, nothing is read.
  std::array<uint32_t, kKeyWords> seen{};
  {
    InSequence seq;
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, &seen[i]);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 6));
  }
  EXPECT_EQ(agent.connect(6), Status::Ok());
  EXPECT_NE(seen, (std::array<uint32_t, kKeyWords>{}));
}

TEST_F(AgentTest, GeneratedKeysAreFreshAndReproducibleFromTheSeed) {
  std::array<uint32_t, kKeyWords> k1{}, k2{}, k3{};
  {
    InSequence seq;
    for (auto* k : {&k1, &k2}) {
      for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, &(*k)[i]);
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 1));
    }
  }
  EXPECT_TRUE(agent.connect(1).ok());
  EXPECT_TRUE(agent.connect(1).ok());
  EXPECT_NE(k1, k2);

  StrictMock<MockRegIf> bus2;
  KernelAgent same_seed(bus2, 42);
  {
    InSequence seq;
    expect_init(bus2);
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus2, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, &k3[i]);
    expect_write(bus2, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 1));
  }
  ASSERT_TRUE(same_seed.init().ok());
  EXPECT_TRUE(same_seed.connect(1).ok());
  EXPECT_EQ(k1, k3);
}

TEST_F(AgentTest, ConnectOnRemoteKeyIsKeyLocked) {
  {
    InSequence seq;
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, 7);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 2), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kKeyLocked, 2));
  }
  EXPECT_EQ(agent.connect(2, ChannelKey{7, 7, 7, 7}), Status::Err(Result::kRejected, Reason::kKeyLocked));
}

TEST_F(AgentTest, SetKeyStagesKeyThenSetKeyCommand) {
  {
    InSequence seq;
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, i + 1);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kSetKey, 3));
  }
  EXPECT_EQ(agent.set_key(3, ChannelKey{1, 2, 3, 4}), Status::Ok());
}

TEST_F(AgentTest, KeyStagingBusErrorStopsBeforeCommand) {
  {
    InSequence seq;
    expect_write(bus, CMM_KEY_OFFSET, 1);
    expect_write(bus, CMM_KEY_OFFSET + CMM_KEY_STRIDE, 2, BusStatus::kDenied);
  }
  EXPECT_EQ(agent.connect(3, ChannelKey{1, 2, 3, 4}), Status::Err(Result::kBusError, Reason::kDenied));
}

// ------------------------------------------------------------------ reads

TEST_F(AgentTest, ReadCstDecodesAllFourRegisters) {
  {
    InSequence seq;
    expect_read(bus, cst(7, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kOpen, true, Origin::kRemote));
    expect_read(bus, cst(7, CMM_CST_OWNER_OFFSET), 2202);
    expect_read(bus, cst(7, CMM_CST_REMOTE_OFFSET), remote(202, 3, 1));
    expect_read(bus, cst(7, CMM_CST_STATUS_OFFSET), cst_status(2, Reason::kRxqFull, 300));
  }
  CstInfo c;
  ASSERT_EQ(agent.read_cst(7, c), Status::Ok());
  EXPECT_EQ(c.dir, Dir::kSend);
  EXPECT_EQ(c.state, State::kOpen);
  EXPECT_TRUE(c.key_valid);
  EXPECT_EQ(c.key_origin, Origin::kRemote);
  EXPECT_EQ(c.owner_part, kPart);
  EXPECT_EQ(c.owner_pid, 2202);
  EXPECT_EQ(c.remote, (PeerId{202, 3, 1}));
  EXPECT_EQ(c.rxq_count, 2);
  EXPECT_EQ(c.last_reason, Reason::kRxqFull);
  EXPECT_EQ(c.tx_nacks, 300);
}

TEST_F(AgentTest, ReadCstDeniedForeignEntry) {
  expect_read(bus, cst(7, CMM_CST_CTRL_OFFSET), 0, BusStatus::kDenied);
  CstInfo c;
  EXPECT_EQ(agent.read_cst(7, c), Status::Err(Result::kBusError, Reason::kDenied));
}

TEST_F(AgentTest, CountersPartInfoAndIrq) {
  {
    InSequence seq;
    expect_read(bus, CMM_REJECT_COUNT_OFFSET + u(Reason::kBadKey) * CMM_REJECT_COUNT_STRIDE, 3);
    expect_read(bus, CMM_STAT_OFFSET + 7 * CMM_STAT_STRIDE, 9);
    expect_read(bus, CMM_PART_INFO_OFFSET, part_info(kPart, 4, 2));
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kRx) | irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kRx));
  }
  uint32_t v = 0;
  ASSERT_TRUE(agent.reject_count(Reason::kBadKey, v).ok());
  EXPECT_EQ(v, 3u);
  ASSERT_TRUE(agent.stat(7, v).ok());
  EXPECT_EQ(v, 9u);
  PartInfo pi;
  ASSERT_TRUE(agent.part_info(pi).ok());
  EXPECT_EQ(pi.quota, 4);
  EXPECT_EQ(pi.used, 2);
  ASSERT_TRUE(agent.irq_status(v).ok());
  EXPECT_EQ(v, irq(Irq::kRx) | irq(Irq::kMgmt));
  EXPECT_TRUE(agent.irq_ack(irq(Irq::kRx)).ok());
  EXPECT_EQ(agent.irq_ack(0x20), Status::Err(Result::kBadArg));
  EXPECT_EQ(agent.stat(CMM_STAT_COUNT, v), Status::Err(Result::kBadArg));
}

// ------------------------------------------------------------------ MGMT, error log

TEST_F(AgentTest, SendMgmtWritesPayloadDestinationThenCommand) {
  const MgmtWords w{1, 2, 3, 4};
  {
    InSequence seq;
    expect_mgmt_send(bus, 202, 3, w);
  }
  EXPECT_EQ(agent.send_mgmt(202, 3, w), Status::Ok());
  EXPECT_EQ(agent.send_mgmt(202, kNumPartitions, w), Status::Err(Result::kBadArg, Reason::kBadPart));
}

TEST_F(AgentTest, MgmtReceiveReadsStampedSourceWordsThenPops) {
  const MgmtWords w{0xA, 0xB, 0xC, 0xD};
  {
    InSequence seq;
    expect_mgmt_rx(bus, 2, 202, 3, w);
    expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, mgmt_status(0, 0, 0));
  }
  MgmtMessage m;
  ASSERT_EQ(agent.mgmt_receive(m), Status::Ok());
  EXPECT_EQ(m.src_node, 202);
  EXPECT_EQ(m.src_part, 3);
  EXPECT_EQ(m.words, w);
  EXPECT_EQ(agent.mgmt_receive(m), Status::Err(Result::kEmpty, Reason::kRxqEmpty));
}

TEST_F(AgentTest, ErrlogPopDecodesTheHeadWord) {
  {
    InSequence seq;
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 2));
    expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, errlog_head(Reason::kKeyLocked, 3, Opcode::kConnect, true, true, 204));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 2));
  }
  ErrorEntry e;
  uint8_t lost = 0;
  ASSERT_EQ(agent.errlog_pop(e, &lost), Status::Ok());
  EXPECT_EQ(lost, 2);
  EXPECT_EQ(e.reason, Reason::kKeyLocked);
  EXPECT_EQ(e.ep, 3);
  EXPECT_EQ(e.opcode, static_cast<uint8_t>(Opcode::kConnect));
  EXPECT_TRUE(e.from_fabric);
  EXPECT_TRUE(e.exception);
  EXPECT_EQ(e.src_node, 204);
  EXPECT_EQ(agent.errlog_pop(e), Status::Err(Result::kEmpty, Reason::kRxqEmpty));
}

// ------------------------------------------------------------------ poll / id exchange

TEST_F(AgentTest, FirstPollLooksAtEveryQueueThenIdlePollIsOneRead) {
  settle();
  expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
  EXPECT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.pending_events(), 0u);
}

TEST_F(AgentTest, PollDrainsErrorLogIntoEvents) {
  settle();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(2, 1));
    expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, errlog_head(Reason::kKeyLocked, 3, Opcode::kConnect, true, true, 202));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
    expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, errlog_head(Reason::kDenied, 9, Opcode{}, false, false, kNode));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kErrorsLost);
  EXPECT_EQ(ev[0].count, 1u);
  EXPECT_EQ(ev[1].kind, Event::Kind::kErrorLogged);
  EXPECT_EQ(ev[1].reason, Reason::kKeyLocked);
  EXPECT_TRUE(ev[1].error.exception);
  EXPECT_EQ(ev[1].ep, 3);
  EXPECT_EQ(ev[2].error.reason, Reason::kDenied);
  EXPECT_FALSE(ev[2].error.from_fabric);
}

TEST_F(AgentTest, FullEventQueueLeavesTheErrorLogForLater) {
  settle();
  const uint32_t head = errlog_head(Reason::kDenied, 1, Opcode{}, false, false, kNode);
  // Polls that each pop 4 entries, never draining the events.
  size_t polls = 0;
  while (KernelAgent::kEventCapacity - agent.pending_events() >= kNumEndpoints + 2 + 4) {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(4, 0));
    for (int i = 0; i < 4; ++i) {
      expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, head);
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
    }
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
    ++polls;
  }
  const size_t queued = agent.pending_events();
  EXPECT_EQ(queued, 4 * polls);
  // Not enough room for another entry: it stays in the hardware log, the
  // cause stays pending in the driver.
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(4, 0));
    for (size_t i = 0; i < KernelAgent::kEventCapacity - queued - (kNumEndpoints + 2) + 1; ++i) {
      expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, head);
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
    }
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  const size_t before = agent.pending_events();
  EXPECT_LE(before, KernelAgent::kEventCapacity);
  events();  // the CPU thread catches up
  {
    InSequence seq;  // no new interrupt, but the deferred cause is serviced
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 0));
    expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, head);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.pending_events(), 1u);
}

// Receiver side of the id exchange, access by access.
TEST_F(AgentTest, RequestChannelThenChannelInfoThenAck) {
  settle();
  const MgmtWords req = chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202));
  {
    InSequence seq;
    expect_alloc(bus, 5);
    expect_write(bus, cst(5, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, 0u));
    expect_write(bus, cst(5, CMM_CST_OWNER_OFFSET), 216);
    expect_mgmt_send(bus, 204, 0, req);
  }
  uint16_t id = 0;
  ASSERT_EQ(agent.request_channel(ChannelRequest{204, 0, 2202, 216}, id), Status::Ok());
  EXPECT_EQ(id, 1);
  Mock::VerifyAndClearExpectations(&bus);

  // CHAN_INFO from the stamped source (204, 0): CST_REMOTE, AUTHORIZE, key, CONNECT.
  const MgmtWords info = chan_proto::encode(chan_proto::chan_info(1, 7, 2202));
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, info);
    expect_write(bus, cst(5, CMM_CST_REMOTE_OFFSET), remote(204, 0, 7));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 5));
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.pending_events(), 0u);
  Mock::VerifyAndClearExpectations(&bus);

  // CONNECT_ACK: CONN interrupt, the entry reads OPEN.
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kOpen, true));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelReady);
  EXPECT_EQ(ev[0].req_id, 1);
  EXPECT_EQ(ev[0].ep, 5);
  EXPECT_EQ(ev[0].pid, 216);
  EXPECT_EQ(ev[0].peer, (PeerId{204, 0, 7}));
}

TEST_F(AgentTest, ReplyFromAnotherPartitionIsIgnored) {
  settle();
  {
    InSequence seq;
    expect_alloc(bus, 5);
    expect_write(bus, cst(5, CMM_CST_CTRL_OFFSET), 0);
    expect_write(bus, cst(5, CMM_CST_OWNER_OFFSET), 216);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202)));
  }
  uint16_t id = 0;
  ASSERT_TRUE(agent.request_channel(ChannelRequest{204, 0, 2202, 216}, id).ok());
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // forged answer stamped (204, 1): no CST write, no CONNECT
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 1, chan_proto::encode(chan_proto::chan_info(1, 7, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kMgmtIgnored);
  EXPECT_EQ(ev[0].peer.part, 1);
}

TEST_F(AgentTest, CancelRequestSendsChanCancelThenFrees) {
  {
    InSequence seq;
    expect_alloc(bus, 2);
    expect_write(bus, cst(2, CMM_CST_CTRL_OFFSET), 0);
    expect_write(bus, cst(2, CMM_CST_OWNER_OFFSET), 216);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 2, 216, 2202)));
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_cancel(1, Reason::kOk, 2202)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 2));
  }
  uint16_t id = 0;
  ASSERT_TRUE(agent.request_channel(ChannelRequest{204, 0, 2202, 216}, id).ok());
  EXPECT_EQ(agent.cancel_request(id), Status::Ok());
  EXPECT_EQ(agent.cancel_request(id), Status::Err(Result::kBadArg));
}

TEST_F(AgentTest, ChanCancelReleasesAnUnconnectedGrant) {
  settle();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 2, 202, 3, chan_proto::encode(chan_proto::chan_req(9, 5, 216, 2202)));
    expect_alloc(bus, 1);
    expect_write(bus, cst(1, CMM_CST_CTRL_OFFSET), 1);
    expect_write(bus, cst(1, CMM_CST_OWNER_OFFSET), 2202);
    expect_write(bus, cst(1, CMM_CST_REMOTE_OFFSET), remote(202, 3, 5));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 1));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_info(9, 1, 2202)));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_cancel(9, Reason::kOk, 2202)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kClose, 1));  // AUTHORIZED -> ALLOCATED
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 1));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kRequestCancelled);
  EXPECT_EQ(ev[0].ep, 1);
  EXPECT_EQ(ev[0].req_id, 9);
}

TEST_F(AgentTest, RequestChannelQuotaExceededIsImmediate) {
  {
    InSequence seq;
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kQuotaExceeded));
  }
  uint16_t id = 0;
  EXPECT_EQ(agent.request_channel(ChannelRequest{204, 0, 2202, 216}, id),
            Status::Err(Result::kRejected, Reason::kQuotaExceeded));
  EXPECT_EQ(agent.request_channel(ChannelRequest{204, kNumPartitions, 2202, 216}, id),
            Status::Err(Result::kBadArg, Reason::kBadPart));
}

// Sender side: CHAN_REQ handled access by access, remote from the stamped ids.
TEST_F(AgentTest, ChanReqAllocatesConfiguresAuthorizesAndAnswers) {
  settle();
  const MgmtWords req = chan_proto::encode(chan_proto::chan_req(9, 5, 216, 2202));
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, req);
    expect_alloc(bus, 0);
    expect_write(bus, cst(0, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, 1u));
    expect_write(bus, cst(0, CMM_CST_OWNER_OFFSET), 2202);
    expect_write(bus, cst(0, CMM_CST_REMOTE_OFFSET), remote(202, 3, 5));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 0));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_info(9, 0, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.pending_events(), 0u);
  Mock::VerifyAndClearExpectations(&bus);

  // CONNECT accepted by the CMM: CONN interrupt, entry OPEN -> SendReady.
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_read(bus, cst(0, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kOpen, true, Origin::kRemote));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kSendReady);
  EXPECT_EQ(ev[0].ep, 0);
  EXPECT_EQ(ev[0].pid, 2202);
  EXPECT_EQ(ev[0].req_id, 9);
  EXPECT_EQ(ev[0].peer, (PeerId{202, 3, 5}));
  Mock::VerifyAndClearExpectations(&bus);

  // Receiver's queue full: TXNACK interrupt, CST_STATUS shows the NACK.
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kTxnack));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kTxnack));
    expect_read(bus, cst(0, CMM_CST_STATUS_OFFSET), cst_status(0, Reason::kRxqFull, 2));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kTxNacked);
  EXPECT_EQ(ev[0].count, 2u);
  EXPECT_EQ(ev[0].reason, Reason::kRxqFull);
  Mock::VerifyAndClearExpectations(&bus);

  // Peer CLOSE: CONN interrupt, entry CLOSED -> PeerClosed.
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_read(bus, cst(0, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kClosed));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kPeerClosed);
  EXPECT_EQ(ev[0].ep, 0);
}

TEST_F(AgentTest, ChanReqOverQuotaIsRefusedWithTheHardwareReason) {
  settle();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(4, 5, 216, 2202)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kQuotaExceeded));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_refuse(4, Reason::kQuotaExceeded, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelRefused);
  EXPECT_EQ(ev[0].reason, Reason::kQuotaExceeded);
  EXPECT_EQ(ev[0].req_id, 4);
}

TEST_F(AgentTest, PolicyRefusalTouchesNoEndpoint) {
  settle();
  agent.set_accept_policy([](const IncomingRequest& r) { return r.send_pid != 2202; });
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(4, 5, 216, 2202)));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_refuse(4, Reason::kDenied, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
}

TEST_F(AgentTest, ForeignMgmtMessageIsReportedRaw) {
  settle();
  const MgmtWords w{0x12345678, 0, 0, 0};
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 2, 202, 6, w);
    expect_mgmt_rx(bus, 1, 202, 6, w);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kMgmtOther);
  EXPECT_EQ(ev[0].mgmt.words, w);
  EXPECT_EQ(ev[0].mgmt.src_part, 6);
}

TEST_F(AgentTest, PollBusErrorKeepsWorkForNextPoll) {
  settle();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0, BusStatus::kDecErr);
  }
  EXPECT_EQ(agent.poll(), Status::Err(Result::kBusError, Reason::kBadAddr));
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // the cause was acknowledged already: retried from the deferred set
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0);
  }
  EXPECT_EQ(agent.poll(), Status::Ok());
}

}  // namespace
}  // namespace cmm::sw
