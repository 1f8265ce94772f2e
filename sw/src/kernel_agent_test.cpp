// Kernel-agent driver against a mock bus that expects the EXACT access
// sequence (address, direction, value, response) of every operation.
#include "cmm_sw/kernel_agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
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
constexpr uint32_t kAllIrq = 0x7F;

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
  (void)used;  // PART_USED since 16-bit endpoint ids
  return CMM_FIELD_SET(v, CMM_PART_INFO_QUOTA, quota);
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

uint32_t cst_gen(uint32_t local, uint32_t remote) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_GEN_LOCAL, local), CMM_CST_GEN_REMOTE, remote);
}
// One error-log entry drained by poll(): head, repeat count, pop.
void expect_errlog_entry(MockRegIf& bus, uint32_t head, uint32_t repeat = 0) {
  expect_read(bus, CMM_ERRLOG_HEAD_OFFSET, head);
  expect_read(bus, CMM_ERRLOG_HEAD_REPEAT_OFFSET, repeat);
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kErrlogPop));
}

void expect_init(MockRegIf& bus, uint32_t node = kNode, uint32_t part = kPart, uint32_t quota = 4,
                 uint32_t geo = geometry()) {
  expect_read(bus, CMM_ID_OFFSET, kMagic);
  expect_read(bus, CMM_GEOMETRY_OFFSET, geo);
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
  void SetUp() override { init_with(geometry()); }
  void init_with(uint32_t geo) {
    {
      InSequence seq;
      expect_init(bus, kNode, kPart, 4, geo);
    }
    ASSERT_EQ(agent.init(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
    agent.set_clock([this] { return now; });
  }
  // The first poll after init looks at every queue (causes cleared by init).
  void settle() {
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
      expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 0));
      expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0);
      expect_read(bus, CMM_EXC_COUNT_OFFSET, 0);
      expect_read(bus, CMM_ALARM_COUNT_OFFSET, 0);
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

  // Receiver side up to CHAN_REQ sent: ALLOC (endpoint ep, generation gen),
  // CST_GEN read, direction, owner, CHAN_REQ carrying the generation.
  void request(uint16_t ep, uint8_t gen, uint16_t expect_id, uint16_t peer_node = 204, uint8_t peer_part = 0) {
    {
      InSequence seq;
      expect_alloc(bus, ep);
      expect_read(bus, cst(ep, CMM_CST_GEN_OFFSET), cst_gen(gen, 0));
      expect_write(bus, cst(ep, CMM_CST_CTRL_OFFSET), 0);
      expect_write(bus, cst(ep, CMM_CST_OWNER_OFFSET), 216);
      expect_mgmt_send(bus, peer_node, peer_part, chan_proto::encode(chan_proto::chan_req(expect_id, ep, 216, 2202, gen)));
    }
    uint16_t id = 0;
    ASSERT_EQ(agent.request_channel(ChannelRequest{peer_node, peer_part, 2202, 216}, id), Status::Ok());
    ASSERT_EQ(id, expect_id);
    Mock::VerifyAndClearExpectations(&bus);
  }
  // Receiver side: CHAN_INFO {send_ep, send_gen} from (204, 0) for request id
  // on receive endpoint ep: CST_REMOTE, CST_GEN.REMOTE, AUTHORIZE, key, CONNECT.
  void info_then_connect(uint16_t id, uint16_t ep, uint16_t send_ep, uint8_t send_gen) {
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
      expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
      expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_info(id, send_ep, 2202, send_gen)));
      expect_write(bus, cst(ep, CMM_CST_REMOTE_OFFSET), remote(204, 0, send_ep));
      expect_write(bus, cst(ep, CMM_CST_GEN_OFFSET), cst_gen(0, send_gen));
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, ep));
      for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, ep));
    }
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }
  // Sender side: CHAN_REQ {id, recv_ep 5, gen recv_gen} from (202, 3) granted
  // with send endpoint ep of generation gen.
  void grant(uint16_t id, uint16_t ep, uint8_t gen, uint8_t recv_gen) {
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
      expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
      expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(id, 5, 216, 2202, recv_gen)));
      expect_alloc(bus, ep);
      expect_read(bus, cst(ep, CMM_CST_GEN_OFFSET), cst_gen(gen, 0));
      expect_write(bus, cst(ep, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, 1u));
      expect_write(bus, cst(ep, CMM_CST_OWNER_OFFSET), 2202);
      expect_write(bus, cst(ep, CMM_CST_REMOTE_OFFSET), remote(202, 3, 5));
      expect_write(bus, cst(ep, CMM_CST_GEN_OFFSET), cst_gen(0, recv_gen));
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, ep));
      expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_info(id, ep, 2202, gen)));
    }
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }
  void idle_poll() {
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }

  StrictMock<MockRegIf> bus;
  KernelAgent agent{bus, 42};
  uint64_t now = 0;
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

TEST(AgentInit, ImpossibleGeometryIsBadDevice) {
  // No partition, no receive slot, a key of another width: none can be a CMM's.
  const uint32_t bad[] = {CMM_FIELD_SET(geometry(), CMM_GEOMETRY_NUM_PART, 0u),
                          CMM_FIELD_SET(geometry(), CMM_GEOMETRY_NUM_PART, kMaxNumPartitions + 1),
                          CMM_FIELD_SET(geometry(), CMM_GEOMETRY_RXQ_DEPTH, 0u),
                          CMM_FIELD_SET(geometry(), CMM_GEOMETRY_KEY_WORDS, kKeyWords - 1)};
  for (const uint32_t g : bad) {
    StrictMock<MockRegIf> bus;
    KernelAgent agent(bus, 1);
    {
      InSequence seq;
      expect_read(bus, CMM_ID_OFFSET, kMagic);
      expect_read(bus, CMM_GEOMETRY_OFFSET, g);
    }
    EXPECT_EQ(agent.init(), Status::Err(Result::kBadDevice)) << std::hex << g;
  }
}

// The geometry is a run-time parameter of the CMM: the agent adopts the device's.
TEST(AgentInit, AdoptsTheDeviceGeometry) {
  StrictMock<MockRegIf> bus;
  KernelAgent agent(bus, 1);
  {
    InSequence seq;
    expect_read(bus, CMM_ID_OFFSET, kMagic);
    expect_read(bus, CMM_GEOMETRY_OFFSET, CMM_FIELD_SET(geometry(5000), CMM_GEOMETRY_NUM_PART, 12u));
    expect_read(bus, CMM_NODE_ID_OFFSET, kNode);
    expect_read(bus, CMM_PART_INFO_OFFSET, part_info(kPart, 4, 0));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, kAllIrq);
    expect_write(bus, CMM_IRQ_ENABLE_OFFSET, kAllIrq);
  }
  ASSERT_EQ(agent.init(), Status::Ok());
  EXPECT_EQ(agent.device_geometry().num_endpoints, 5000u);
  EXPECT_EQ(agent.device_geometry().num_partitions, 12u);
  // Endpoint 200 and partition 11 exist on this device (the default geometry refuses them);
  // remote endpoint 4999 needs CST_REMOTE_HI (bits 15:12), written first.
  expect_write(bus, cst(200, CMM_CST_OWNER_OFFSET), 7);
  expect_write(bus, cst(200, CMM_CST_REMOTE_HI_OFFSET), 4999u >> 12);
  expect_write(bus, cst(200, CMM_CST_REMOTE_OFFSET), remote(202, 11, 4999 & 0xFFF));
  EXPECT_EQ(agent.set_owner(200, 7), Status::Ok());
  EXPECT_EQ(agent.set_remote(200, PeerId{202, 11, 4999}), Status::Ok());
  EXPECT_EQ(agent.set_remote(200, PeerId{202, 11, 5000}), Status::Err(Result::kBadArg, Reason::kBadField));
  EXPECT_EQ(agent.set_remote(200, PeerId{202, 12, 0}), Status::Err(Result::kBadArg, Reason::kBadField));
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
  uint16_t ep = 0;
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
  uint16_t ep = 0;
  ASSERT_EQ(agent.alloc_endpoint(ep), Status::Ok());
  EXPECT_EQ(ep, 5);
}

TEST_F(AgentTest, AllocQuotaExceededReasonFromCmdStatus) {
  {
    InSequence seq;
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kQuotaExceeded));
  }
  uint16_t ep = 0xAA;
  EXPECT_EQ(agent.alloc_endpoint(ep), Status::Err(Result::kRejected, Reason::kQuotaExceeded));
  EXPECT_EQ(ep, 0xAA);
}

TEST_F(AgentTest, CommandDeniedIsBusErrorWithoutStatusRead) {
  expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAlloc), BusStatus::kDenied);
  uint16_t ep = 0;
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

// ------------------------------------------------------------------ hardware keys (key_source)

uint32_t hw_cmd(Cmd op, uint32_t ep) { return CMM_FIELD_SET(cmd(op, ep), CMM_CMD_HWKEY, 1u); }

// An agent with key_source = hardware on its own strict bus, initialized.
class HwKeyAgentTest : public ::testing::Test {
 protected:
  static AgentConfig hw_config(uint8_t tries) {
    AgentConfig c;
    c.key_source = KeySource::kHardware;
    c.keygen_tries = tries;
    return c;
  }
  void start(uint8_t tries = AgentConfig{}.keygen_tries) {
    agent = std::make_unique<KernelAgent>(bus, 42, hw_config(tries));
    {
      InSequence seq;
      expect_init(bus);
    }
    ASSERT_EQ(agent->init(), Status::Ok());
    agent->set_clock([this] { return now; });
    {
      InSequence seq;  // first poll looks at every queue
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
      expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 0));
      expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0);
      expect_read(bus, CMM_EXC_COUNT_OFFSET, 0);
      expect_read(bus, CMM_ALARM_COUNT_OFFSET, 0);
    }
    ASSERT_EQ(agent->poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }
  void expect_not_ready(uint32_t ep) {
    expect_write(bus, CMM_CMD_OFFSET, hw_cmd(Cmd::kConnect, ep), BusStatus::kReject);
    expect_read(bus, CMM_CMD_STATUS_OFFSET, cmd_status(Reason::kKeyGenNotReady, ep));
  }
  StrictMock<MockRegIf> bus;
  std::unique_ptr<KernelAgent> agent;
  uint64_t now = 0;
};

TEST_F(HwKeyAgentTest, ConnectAndSetKeyAreOneHwkeyCommandWithoutKeyWrites) {
  start();
  {
    InSequence seq;  // no KEY0..3 write at all: the key never crosses the bus
    expect_write(bus, CMM_CMD_OFFSET, hw_cmd(Cmd::kConnect, 6));
    expect_write(bus, CMM_CMD_OFFSET, hw_cmd(Cmd::kSetKey, 3));
  }
  EXPECT_EQ(agent->connect(6), Status::Ok());
  EXPECT_EQ(agent->next_deadline(), AgentConfig{}.connect_timeout);  // the CONNECT re-send timer as always
  EXPECT_EQ(agent->set_key(3), Status::Ok());
  EXPECT_EQ(agent->stats().keygen_retries, 0u);
}

TEST_F(HwKeyAgentTest, KeyGenNotReadyIsRetriedAfterKeygenCyclesThenConnects) {
  start();
  {
    InSequence seq;
    expect_not_ready(6);
  }
  EXPECT_EQ(agent->connect(6), Status::Ok());  // scheduled again, not failed
  EXPECT_EQ(agent->next_deadline(), kKeygenCycles);
  Mock::VerifyAndClearExpectations(&bus);
  now = kKeygenCycles - 1;  // not yet
  expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
  ASSERT_EQ(agent->poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  now = kKeygenCycles;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_not_ready(6);  // another partition drew the key first
  }
  ASSERT_EQ(agent->poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent->next_deadline(), 2 * kKeygenCycles);
  now = 2 * kKeygenCycles;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_write(bus, CMM_CMD_OFFSET, hw_cmd(Cmd::kConnect, 6));
  }
  ASSERT_EQ(agent->poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent->next_deadline(), 2 * kKeygenCycles + AgentConfig{}.connect_timeout);
  EXPECT_EQ(agent->stats().keygen_retries, 2u);
  EXPECT_EQ(agent->pending_events(), 0u);
}

TEST_F(HwKeyAgentTest, KeyGenNotReadyAfterTheBoundedTriesFailsWithThatReason) {
  start(3);
  {
    InSequence seq;
    expect_not_ready(6);
  }
  EXPECT_EQ(agent->connect(6), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  for (uint32_t i = 1; i < 3; ++i) {
    now = i * kKeygenCycles;
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
      expect_not_ready(6);
    }
    ASSERT_EQ(agent->poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
  }
  // Third refusal: no more tries, no timer, the failure is reported once.
  EXPECT_EQ(agent->next_deadline(), KernelAgent::kNever);
  Event ev;
  ASSERT_TRUE(agent->next_event(ev));
  EXPECT_EQ(ev.kind, Event::Kind::kChannelFailed);
  EXPECT_EQ(ev.ep, 6);
  EXPECT_EQ(ev.reason, Reason::kKeyGenNotReady);
  EXPECT_FALSE(agent->next_event(ev));
  EXPECT_EQ(agent->stats().keygen_retries, 2u);
  now = 100 * kKeygenCycles;
  expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
  ASSERT_EQ(agent->poll(), Status::Ok());
}

TEST_F(HwKeyAgentTest, OneTryOnlyReturnsTheRefusalFromConnect) {
  start(1);
  {
    InSequence seq;
    expect_not_ready(6);
  }
  EXPECT_EQ(agent->connect(6), Status::Err(Result::kRejected, Reason::kKeyGenNotReady));
  EXPECT_EQ(agent->next_deadline(), KernelAgent::kNever);
}

// ------------------------------------------------------------------ reads

TEST_F(AgentTest, ReadCstDecodesAllFiveRegisters) {
  {
    InSequence seq;
    expect_read(bus, cst(7, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kOpen, true, Origin::kRemote));
    expect_read(bus, cst(7, CMM_CST_OWNER_OFFSET), 2202);
    expect_read(bus, cst(7, CMM_CST_REMOTE_OFFSET), remote(202, 3, 1));
    expect_read(bus, cst(7, CMM_CST_STATUS_OFFSET), cst_status(2, Reason::kRxqFull, 300));
    expect_read(bus, cst(7, CMM_CST_LOST_OFFSET), CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 0x1234u), CMM_CST_LOST_RX, 0xABCDu));
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
  EXPECT_EQ(c.tx_lost, 0x1234);
  EXPECT_EQ(c.rx_lost, 0xABCD);
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
    expect_read(bus, CMM_PART_USED_OFFSET, CMM_FIELD_SET(0u, CMM_PART_USED_USED, 2u));
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
  EXPECT_EQ(agent.irq_ack(0x80), Status::Err(Result::kBadArg));
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
    expect_errlog_entry(bus, errlog_head(Reason::kKeyLocked, 3, Opcode::kConnect, true, true, 202));
    expect_errlog_entry(bus, errlog_head(Reason::kDenied, 9, Opcode{}, false, false, kNode), 6);
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
  EXPECT_EQ(ev[1].count, 1u);
  EXPECT_EQ(ev[2].error.reason, Reason::kDenied);
  EXPECT_FALSE(ev[2].error.from_fabric);
  // Coalesced repeats: one log slot, seven denied accesses.
  EXPECT_EQ(ev[2].count, 7u);
  EXPECT_EQ(agent.stats().errlog_repeats, 6u);
  EXPECT_EQ(agent.stats().logged[u(Reason::kDenied)], 7u);
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
    for (int i = 0; i < 4; ++i) expect_errlog_entry(bus, head);
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
    for (size_t i = 0; i < KernelAgent::kEventCapacity - queued - (kNumEndpoints + 2) + 1; ++i)
      expect_errlog_entry(bus, head);
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
    expect_errlog_entry(bus, head);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.pending_events(), 1u);
}

// Receiver side of the id exchange, access by access.
TEST_F(AgentTest, RequestChannelThenChannelInfoThenAck) {
  settle();
  request(5, 9, 1);
  EXPECT_EQ(agent.next_deadline(), AgentConfig{}.request_timeout / 8);  // the CHAN_REQ is re-sent if unanswered
  info_then_connect(1, 5, 7, 33);
  EXPECT_EQ(agent.pending_events(), 0u);
  EXPECT_EQ(agent.next_deadline(), AgentConfig{}.connect_timeout);  // the CONNECT is re-sent if unanswered

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
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
  Mock::VerifyAndClearExpectations(&bus);
  now = 1'000'000;  // nothing left to time out
  idle_poll();
  EXPECT_EQ(agent.stats().total_refused(), 0u);
}

TEST_F(AgentTest, ReplyFromAnotherPartitionIsIgnored) {
  settle();
  request(5, 1, 1);
  {
    InSequence seq;  // forged answer stamped (204, 1): no CST write, no CONNECT
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 2, 204, 1, chan_proto::encode(chan_proto::chan_refuse(1, Reason::kDenied, 2202)));
    expect_mgmt_rx(bus, 1, 204, 1, chan_proto::encode(chan_proto::chan_info(1, 7, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  for (const Event& e : ev) {
    EXPECT_EQ(e.kind, Event::Kind::kMgmtIgnored);
    EXPECT_EQ(e.peer.part, 1);
    EXPECT_EQ(e.agent_reason, AgentReason::kWrongSource);
  }
  EXPECT_EQ(agent.stats()[AgentReason::kWrongSource], 2u);
  Mock::VerifyAndClearExpectations(&bus);
  info_then_connect(1, 5, 7, 2);  // the real answer still works
}

TEST_F(AgentTest, DuplicateAnswerIsNotPending) {
  settle();
  request(5, 1, 1);
  info_then_connect(1, 5, 7, 2);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_refuse(1, Reason::kDenied, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kNotPending);
  EXPECT_EQ(agent.stats()[AgentReason::kNotPending], 1u);
}

TEST_F(AgentTest, CancelRequestSendsChanCancelThenFrees) {
  request(2, 1, 1);
  {
    InSequence seq;
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_cancel(1, Reason::kOk, 2202)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 2));
  }
  EXPECT_EQ(agent.cancel_request(1), Status::Ok());
  EXPECT_EQ(agent.cancel_request(1), Status::Err(Result::kBadArg));
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
}

TEST_F(AgentTest, ChanCancelReleasesAnUnconnectedGrant) {
  settle();
  grant(9, 1, 4, 3);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
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
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
}

TEST_F(AgentTest, ChanCancelFromAnotherSourceReleasesNothing) {
  settle();
  grant(9, 1, 4, 3);
  {
    InSequence seq;  // stamped (202, 4) and (66, 3): not the grantee
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 3, 202, 4, chan_proto::encode(chan_proto::chan_cancel(9, Reason::kOk, 2202)));
    expect_mgmt_rx(bus, 2, 66, 3, chan_proto::encode(chan_proto::chan_cancel(9, Reason::kOk, 2202)));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_cancel(8, Reason::kOk, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kWrongSource);
  EXPECT_EQ(ev[1].agent_reason, AgentReason::kWrongSource);
  EXPECT_EQ(ev[2].agent_reason, AgentReason::kUnknownRequest);
  EXPECT_EQ(agent.stats()[AgentReason::kWrongSource], 2u);
  EXPECT_EQ(agent.stats()[AgentReason::kUnknownRequest], 1u);
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

// Sender side: CHAN_REQ handled access by access, remote from the stamped ids,
// CST_GEN.REMOTE from the request, our generation in CHAN_INFO.
TEST_F(AgentTest, ChanReqAllocatesConfiguresAuthorizesAndAnswers) {
  settle();
  grant(9, 0, 17, 5);
  EXPECT_EQ(agent.pending_events(), 0u);
  EXPECT_EQ(agent.next_deadline(), AgentConfig{}.grant_timeout);

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
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
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

// SEQ_GAP NACKs (messages missing before a delivered one) are logged for the
// sender's agent; they are not in TX_NACKS (refusals only), so a refusal in
// the same poll is reported in full, and the lost count comes from CST_LOST.
TEST_F(AgentTest, SeqGapNacksAreCountedAsLostNotAsRefusedMessages) {
  settle();
  grant(9, 0, 17, 5);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_read(bus, cst(0, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kOpen, true, Origin::kRemote));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  events();
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // 2 SEQ_GAP NACKs (one log entry, repeat 1; 5 missing), then 1 RXQ_FULL
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr) | irq(Irq::kTxnack));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr) | irq(Irq::kTxnack));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 0));
    expect_errlog_entry(bus, errlog_head(Reason::kSeqGap, 0, Opcode::kNack, true, false, 202), 1);
    expect_read(bus, cst(0, CMM_CST_LOST_OFFSET), CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 5u));
    expect_read(bus, cst(0, CMM_CST_STATUS_OFFSET), cst_status(0, Reason::kRxqFull, 1));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kErrorLogged);
  EXPECT_EQ(ev[0].reason, Reason::kSeqGap);
  EXPECT_EQ(ev[0].count, 2u);
  EXPECT_EQ(ev[1].kind, Event::Kind::kTxNacked);
  EXPECT_EQ(ev[1].count, 1u);  // the refusal is not eaten by the gaps
  EXPECT_EQ(ev[1].reason, Reason::kRxqFull);
  EXPECT_EQ(agent.stats().seq_gap_nacks, 2u);
  EXPECT_EQ(agent.stats().tx_lost, 5u);
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // one more SEQ_GAP NACK only (2 missing): TX_NACKS unchanged, no kTxNacked
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr) | irq(Irq::kTxnack));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr) | irq(Irq::kTxnack));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 0));
    expect_errlog_entry(bus, errlog_head(Reason::kSeqGap, 0, Opcode::kNack, true, false, 202));
    expect_read(bus, cst(0, CMM_CST_LOST_OFFSET), CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 7u));
    expect_read(bus, cst(0, CMM_CST_STATUS_OFFSET), cst_status(0, Reason::kSeqGap, 1));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev2 = events();
  ASSERT_EQ(ev2.size(), 1u);
  EXPECT_EQ(ev2[0].kind, Event::Kind::kErrorLogged);
  EXPECT_EQ(agent.stats().seq_gap_nacks, 3u);
  EXPECT_EQ(agent.stats().tx_lost, 7u);
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // a SEQ_GAP entry lost to a full log: CST_LOST of every tracked entry is read
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr) | irq(Irq::kTxnack));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr) | irq(Irq::kTxnack));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 1));
    expect_read(bus, cst(0, CMM_CST_LOST_OFFSET), CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 10u));
    expect_read(bus, cst(0, CMM_CST_STATUS_OFFSET), cst_status(0, Reason::kSeqGap, 1));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev3 = events();
  ASSERT_EQ(ev3.size(), 1u);
  EXPECT_EQ(ev3[0].kind, Event::Kind::kErrorsLost);
  EXPECT_EQ(agent.stats().seq_gap_nacks, 3u);
  EXPECT_EQ(agent.stats().tx_lost, 10u);
}

// With more than 256 endpoints the log's EP field (bits 7:0) names several
// entries: each send entry among them has its CST_LOST read, but the one
// logged NACK (and its repeat) is counted once, not once per candidate.
class AgentTest512 : public AgentTest {
 protected:
  void SetUp() override { init_with(geometry(512)); }
};

TEST_F(AgentTest512, SeqGapNackOfAnAmbiguousLogEntryIsCountedOnce) {
  settle();
  grant(9, 0, 17, 5);
  grant(10, 256, 18, 5);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 0));
    expect_errlog_entry(bus, errlog_head(Reason::kSeqGap, 0, Opcode::kNack, true, false, 202), 1);
    expect_read(bus, cst(0, CMM_CST_LOST_OFFSET), CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 0u));
    expect_read(bus, cst(256, CMM_CST_LOST_OFFSET), CMM_FIELD_SET(0u, CMM_CST_LOST_TX, 4u));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent.stats().seq_gap_nacks, 2u);  // one entry + one repeat
  EXPECT_EQ(agent.stats().tx_lost, 4u);
}

TEST_F(AgentTest, ReSentChanReqIsAnsweredAgainWithTheSameGrant) {
  settle();
  grant(9, 0, 17, 5);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(9, 5, 216, 2202, 5)));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_info(9, 0, 2202, 17)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());  // no ALLOC: the strict mock allows none
  EXPECT_EQ(agent.pending_events(), 0u);
  EXPECT_EQ(agent.stats().mgmt_duplicates, 1u);
  EXPECT_EQ(agent.next_deadline(), AgentConfig{}.grant_timeout);  // the grant's expiry is not extended
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
  EXPECT_EQ(agent.stats().chan_refuses, 1u);
  EXPECT_EQ(agent.stats().total_refused(), 0u);  // the CMM refused, not the agent's policy
}

TEST_F(AgentTest, PolicyRefusalTouchesNoEndpoint) {
  settle();
  agent.set_accept_policy([](const IncomingRequest& r) { return r.send_pid != 2202; });
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(4, 5, 216, 2202)));
    expect_mgmt_send(bus, 202, 3,
                     chan_proto::encode(chan_proto::chan_refuse(4, Reason::kDenied, 2202, AgentReason::kPolicy)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.stats()[AgentReason::kPolicy], 1u);
}

// Per-peer limit, sender side: a third unconnected grant for one peer
// partition is refused without touching an endpoint; another peer is served.
TEST_F(AgentTest, ChanReqBeyondThePeerLimitIsRefused) {
  settle();
  grant(1, 0, 1, 1);
  grant(2, 1, 1, 1);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(3, 5, 216, 2202, 1)));
    expect_mgmt_send(bus, 202, 3,
                     chan_proto::encode(chan_proto::chan_refuse(3, Reason::kDenied, 2202, AgentReason::kPeerLimit)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelRefused);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kPeerLimit);
  EXPECT_EQ(agent.stats()[AgentReason::kPeerLimit], 1u);
}

// Per-peer limit, receiver side: the third request to one peer waits until
// an earlier one is answered, then goes out.
TEST_F(AgentTest, RequestsBeyondThePeerLimitAreHeldBackUntilOneFinishes) {
  settle();
  request(1, 1, 1);
  request(2, 1, 2);
  {
    InSequence seq;  // prepared, not sent
    expect_alloc(bus, 3);
    expect_read(bus, cst(3, CMM_CST_GEN_OFFSET), cst_gen(1, 0));
    expect_write(bus, cst(3, CMM_CST_CTRL_OFFSET), 0);
    expect_write(bus, cst(3, CMM_CST_OWNER_OFFSET), 216);
  }
  uint16_t id = 0;
  ASSERT_EQ(agent.request_channel(ChannelRequest{204, 0, 2202, 216}, id), Status::Ok());
  EXPECT_EQ(id, 3);
  EXPECT_EQ(agent.stats().requests_deferred, 1u);
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // request 1 refused by the peer: endpoint 1 freed, request 3 sent
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_refuse(1, Reason::kNoFreeEp, 2202)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 1));
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(3, 3, 216, 2202, 1)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelFailed);
  EXPECT_EQ(ev[0].req_id, 1);
  EXPECT_EQ(ev[0].reason, Reason::kNoFreeEp);
}

// Receiver side: an unanswered CHAN_REQ (lost without a NACK, or its
// CHAN_INFO lost) is re-sent after T = request_timeout / 8, then 2T, 4T
// (a fourth would come after the expiry); then it expires and the peer is
// told to drop any grant whose CHAN_INFO we never saw.
TEST_F(AgentTest, UnansweredRequestIsResentOnTimeoutThenExpiresAndIsWithdrawn) {
  settle();
  request(4, 1, 1);
  const MgmtWords req = chan_proto::encode(chan_proto::chan_req(1, 4, 216, 2202, 1));
  const uint64_t T = AgentConfig{}.request_timeout / 8;
  uint64_t due = T;
  for (uint64_t wait = T; wait <= 4 * T; wait *= 2) {
    now = due - 1;
    idle_poll();
    now = due;
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
      expect_mgmt_send(bus, 204, 0, req);
    }
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
    EXPECT_EQ(agent.pending_events(), 0u);  // a re-send is no failure
    due += 2 * wait;
  }
  EXPECT_EQ(agent.stats().mgmt_resends, 3u);
  EXPECT_EQ(agent.stats().mgmt_timeouts, 3u);
  EXPECT_EQ(agent.next_deadline(), AgentConfig{}.request_timeout);  // 15T + 8T is past the expiry
  now = AgentConfig{}.request_timeout - 1;
  idle_poll();
  now = AgentConfig{}.request_timeout;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_mgmt_send(bus, 204, 0,
                     chan_proto::encode(chan_proto::chan_cancel(1, Reason::kOk, 2202, AgentReason::kRequestExpired)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 4));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelFailed);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kRequestExpired);
  EXPECT_EQ(agent.stats()[AgentReason::kRequestExpired], 1u);
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
}

// The first CHAN_REQ was lost: the re-send after the timeout is answered and
// the channel set up; the first CHAN_INFO arriving late after all (or the
// peer answering both) is dropped without any access, event or refusal.
TEST_F(AgentTest, LostChanReqIsResentOnTimeoutAndALateSecondChanInfoIsDropped) {
  settle();
  request(5, 1, 1);
  const uint64_t T = AgentConfig{}.request_timeout / 8;
  now = T;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 1)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent.next_deadline(), T + 2 * T);  // the wait doubles
  info_then_connect(1, 5, 7, 2);
  EXPECT_EQ(agent.next_deadline(), T + AgentConfig{}.connect_timeout);  // answered: only the CONNECT timer
  {
    InSequence seq;  // the same grant again: popped, nothing else
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_info(1, 7, 2202, 2)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent.pending_events(), 0u);
  EXPECT_EQ(agent.stats().mgmt_duplicates, 1u);
  EXPECT_EQ(agent.stats().total_refused(), 0u);
  EXPECT_EQ(agent.stats().mgmt_timeouts, 1u);
  {
    InSequence seq;  // CONNECT_ACK
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kOpen, true));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelReady);
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
  Mock::VerifyAndClearExpectations(&bus);
  now = 1'000'000;  // no re-send of an answered request
  idle_poll();
}

// The timer re-sends share the mgmt_tries budget with the NACK re-sends:
// with one re-send allowed, one goes out, then only the expiry.
TEST(AgentMgmtTimeout, TimerResendsStopAtTheSharedBudget) {
  AgentConfig cfg;
  cfg.mgmt_tries = 1;
  cfg.mgmt_timeout = 100;
  StrictMock<MockRegIf> bus;
  KernelAgent a(bus, 1, cfg);
  uint64_t t = 0;
  a.set_clock([&t] { return t; });
  {
    InSequence seq;
    expect_init(bus);
    expect_alloc(bus, 2);
    expect_read(bus, cst(2, CMM_CST_GEN_OFFSET), cst_gen(3, 0));
    expect_write(bus, cst(2, CMM_CST_CTRL_OFFSET), 0);
    expect_write(bus, cst(2, CMM_CST_OWNER_OFFSET), 216);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 2, 216, 2202, 3)));
  }
  ASSERT_EQ(a.init(), Status::Ok());
  uint16_t id = 0;
  ASSERT_EQ(a.request_channel(ChannelRequest{204, 0, 2202, 216}, id), Status::Ok());
  EXPECT_EQ(a.next_deadline(), 100u);
  Mock::VerifyAndClearExpectations(&bus);
  t = 100;
  {
    InSequence seq;  // first poll after init: every queue, then the timer
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 0));
    expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0);
    expect_read(bus, CMM_EXC_COUNT_OFFSET, 0);
    expect_read(bus, CMM_ALARM_COUNT_OFFSET, 0);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 2, 216, 2202, 3)));
  }
  ASSERT_EQ(a.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(a.stats().mgmt_resends, 1u);
  EXPECT_EQ(a.next_deadline(), cfg.request_timeout);  // budget spent: no further timer
}

// Sender side: a grant no CONNECT used is released at its deadline.
TEST_F(AgentTest, UnusedGrantExpiresAndIsReleased) {
  settle();
  grant(9, 2, 1, 1);
  now = AgentConfig{}.grant_timeout;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(2, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kAuthorized));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kClose, 2));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 2));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kRequestCancelled);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kGrantExpired);
  EXPECT_EQ(agent.stats()[AgentReason::kGrantExpired], 1u);
}

TEST_F(AgentTest, GrantConnectedJustBeforeItsDeadlineIsKept) {
  settle();
  grant(9, 2, 1, 1);
  now = AgentConfig{}.grant_timeout;
  {
    InSequence seq;  // OPEN at the deadline (CONN not yet seen): left to the CONN scan
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(2, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kOpen, true, Origin::kRemote));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(2, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kOpen, true, Origin::kRemote));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kSendReady);
  EXPECT_EQ(agent.stats()[AgentReason::kGrantExpired], 0u);
}

// CONNECT retry: re-issued on the CONNECTING entry (no key staged: the CMM
// re-sends the stored key) after T, 2T, 4T; after 4 sends CLOSE + failure,
// the peer told, the endpoint freed.
TEST_F(AgentTest, UnansweredConnectIsResentWithBackOffThenClosedAndReported) {
  settle();
  request(5, 1, 1);
  info_then_connect(1, 5, 7, 2);
  const uint64_t T = AgentConfig{}.connect_timeout;
  uint64_t due = T;
  for (uint64_t wait = T; wait <= 4 * T; wait *= 2) {
    now = due - 1;
    idle_poll();
    now = due;
    {
      InSequence seq;
      expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
      expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kConnecting, true));
      expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 5));
    }
    ASSERT_EQ(agent.poll(), Status::Ok());
    Mock::VerifyAndClearExpectations(&bus);
    due += 2 * wait;
    EXPECT_EQ(agent.next_deadline(), due);
  }
  EXPECT_EQ(agent.stats().connect_resends, 3u);
  now = due;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kConnecting, true));
    expect_mgmt_send(bus, 204, 0,
                     chan_proto::encode(chan_proto::chan_cancel(1, Reason::kOk, 2202, AgentReason::kConnectTimeout)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kClose, 5));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelFailed);
  EXPECT_EQ(ev[0].req_id, 1);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kConnectTimeout);
  EXPECT_EQ(agent.stats()[AgentReason::kConnectTimeout], 1u);
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
}

TEST_F(AgentTest, ConnectAnsweredAtItsDeadlineIsNotResent) {
  settle();
  request(5, 1, 1);
  info_then_connect(1, 5, 7, 2);
  now = AgentConfig{}.connect_timeout;
  {
    InSequence seq;  // OPEN by now: no re-send, the CONN scan reports it
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kOpen, true));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
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
  EXPECT_EQ(agent.stats().connect_resends, 0u);
}

// A hand-made channel (no protocol) that never connects: CLOSEd and
// reported, the endpoint stays the caller's.
TEST_F(AgentTest, ManualConnectTimeoutClosesAndReports) {
  AgentConfig cfg;
  cfg.connect_tries = 1;
  cfg.connect_timeout = 10;
  StrictMock<MockRegIf> bus2;
  KernelAgent a(bus2, 1, cfg);
  uint64_t t = 0;
  a.set_clock([&t] { return t; });
  {
    InSequence seq;
    expect_init(bus2);
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus2, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
    expect_write(bus2, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 3));
  }
  ASSERT_EQ(a.init(), Status::Ok());
  ASSERT_EQ(a.connect(3), Status::Ok());
  EXPECT_EQ(a.next_deadline(), 10u);
  Mock::VerifyAndClearExpectations(&bus2);
  t = 10;
  {
    InSequence seq;
    expect_read(bus2, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus2, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 0));
    expect_read(bus2, CMM_MGMT_RX_STATUS_OFFSET, 0);
    expect_read(bus2, cst(3, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kConnecting, true));  // CONN scan
    expect_read(bus2, CMM_EXC_COUNT_OFFSET, 0);
    expect_read(bus2, CMM_ALARM_COUNT_OFFSET, 0);
    expect_read(bus2, cst(3, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kRecv, State::kConnecting, true));  // timer
    expect_write(bus2, CMM_CMD_OFFSET, cmd(Cmd::kClose, 3));
  }
  ASSERT_EQ(a.poll(), Status::Ok());
  Event ev;
  ASSERT_TRUE(a.next_event(ev));
  EXPECT_EQ(ev.kind, Event::Kind::kChannelFailed);
  EXPECT_EQ(ev.agent_reason, AgentReason::kConnectTimeout);
  EXPECT_EQ(ev.req_id, kNoRequest);
  EXPECT_FALSE(a.next_event(ev));
}

// Without a clock nothing expires and nothing is re-sent.
TEST_F(AgentTest, WithoutAClockNoTimerFires) {
  agent.set_clock(nullptr);
  settle();
  request(5, 1, 1);
  info_then_connect(1, 5, 7, 2);
  idle_poll();
  EXPECT_EQ(agent.stats().connect_resends, 0u);
}

// A NACK of our MGMT message names a node, not a partition, and is only
// node-authenticated: MGMTQ_FULL re-sends (bounded, after a back-off);
// nothing fails the request.
TEST_F(AgentTest, MgmtNackResendsAfterBackoffButNeverFailsTheRequest) {
  settle();
  request(5, 1, 1);
  const MgmtWords req = chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 1));
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(2, 0));
    expect_errlog_entry(bus, errlog_head(Reason::kMgmtqFull, 0, Opcode::kMgmt, true, false, 204));
    expect_errlog_entry(bus, errlog_head(Reason::kDenied, 0, Opcode::kMgmt, true, false, 204));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());  // no re-send into the queue that just overflowed
  Mock::VerifyAndClearExpectations(&bus);
  const auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kErrorLogged);
  EXPECT_EQ(ev[1].kind, Event::Kind::kErrorLogged);
  EXPECT_EQ(agent.stats().mgmt_resends, 0u);
  EXPECT_EQ(agent.stats()[AgentReason::kMgmtNacked], 2u);
  now = AgentConfig{}.mgmt_backoff - 1;  // the spread only adds to the back-off
  idle_poll();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_mgmt_send(bus, 204, 0, req);
  }
  now = 2 * AgentConfig{}.mgmt_backoff;  // the spread stays below one back-off
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent.stats().mgmt_resends, 1u);
  idle_poll();  // one re-send per NACK
  info_then_connect(1, 5, 7, 2);  // still pending: the answer is taken
}

// The error log names the source node by its low 8 bits only: a MGMTQ_FULL
// NACK from node 460 (low byte 204) must still re-send toward node 460.
// Without the masked compare the 16-bit peer id never equals the 8-bit field
// and a connect storm on a system of more than 256 nodes only expires.
TEST_F(AgentTest, MgmtNackFromANodeAbove255ResendsAfterBackoff) {
  settle();
  request(5, 1, 1, 460);
  const MgmtWords req = chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 1));
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 0));
    expect_errlog_entry(bus, errlog_head(Reason::kMgmtqFull, 0, Opcode::kMgmt, true, false, 460 & 0xFF));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  (void)events();
  EXPECT_EQ(agent.stats()[AgentReason::kMgmtNacked], 1u);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_mgmt_send(bus, 460, 0, req);
  }
  now = 2 * AgentConfig{}.mgmt_backoff;
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent.stats().mgmt_resends, 1u);
}

// A full error log loses the MGMTQ_FULL NACK of our CHAN_REQ (found by the
// fanout-6 system run): a LOST increase re-sends every unanswered MGMT
// message after its back-off, as if it had been NACKed.
TEST_F(AgentTest, LostErrorLogEntryResendsTheUnansweredRequestAfterTheBackoff) {
  settle();
  request(5, 1, 1);
  const MgmtWords req = chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 1));
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 1));  // nothing queued, one lost
    expect_read(bus, cst(5, CMM_CST_LOST_OFFSET), 0);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kErrorsLost);
  now = AgentConfig{}.mgmt_backoff - 1;
  idle_poll();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_mgmt_send(bus, 204, 0, req);
  }
  now = 2 * AgentConfig{}.mgmt_backoff;
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  EXPECT_EQ(agent.stats().mgmt_resends, 1u);
  idle_poll();
  info_then_connect(1, 5, 7, 2);  // the answer to the re-sent request is taken
}

TEST_F(AgentTest, ExceptionRegisterAndAlarmAreReported) {
  settle();
  uint32_t last = CMM_FIELD_SET(0u, CMM_EXC_LAST_REASON, u(Reason::kKeyLocked));
  last = CMM_FIELD_SET(last, CMM_EXC_LAST_EP, 6);
  last = CMM_FIELD_SET(last, CMM_EXC_LAST_SRC_NODE, 66);
  last = CMM_FIELD_SET(last, CMM_EXC_LAST_VALID, 1);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kExc) | irq(Irq::kAlarm));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kExc) | irq(Irq::kAlarm));
    expect_read(bus, CMM_EXC_COUNT_OFFSET, 5);
    expect_read(bus, CMM_EXC_LAST_OFFSET, last);
    expect_read(bus, CMM_ALARM_COUNT_OFFSET, 1);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;  // two more exceptions
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kExc));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kExc));
    expect_read(bus, CMM_EXC_COUNT_OFFSET, 7);
    expect_read(bus, CMM_EXC_LAST_OFFSET, last);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kException);
  EXPECT_EQ(ev[0].count, 5u);
  EXPECT_EQ(ev[0].error.reason, Reason::kKeyLocked);
  EXPECT_EQ(ev[0].error.ep, 6);
  EXPECT_EQ(ev[0].error.src_node, 66);
  EXPECT_TRUE(ev[0].error.exception);
  EXPECT_EQ(ev[1].kind, Event::Kind::kAlarm);
  EXPECT_EQ(ev[1].count, 1u);
  EXPECT_EQ(ev[2].kind, Event::Kind::kException);
  EXPECT_EQ(ev[2].count, 2u);
  EXPECT_EQ(agent.stats().exceptions, 7u);
  EXPECT_EQ(agent.stats().alarms, 1u);
}

TEST(AgentInit, AlarmConfiguredAtInitWithoutReservedBits) {
  StrictMock<MockRegIf> bus;
  AgentConfig cfg;
  cfg.alarm_thresh = 100;
  cfg.alarm_window_log2 = 12;
  KernelAgent agent(bus, 1, cfg);
  {
    InSequence seq;
    expect_read(bus, CMM_ID_OFFSET, kMagic);
    expect_read(bus, CMM_GEOMETRY_OFFSET, geometry());
    expect_read(bus, CMM_NODE_ID_OFFSET, kNode);
    expect_read(bus, CMM_PART_INFO_OFFSET, part_info(kPart, 4, 0));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, kAllIrq);
    expect_write(bus, CMM_IRQ_ENABLE_OFFSET, kAllIrq);
    expect_write(bus, CMM_ALARM_CFG_OFFSET, 100u | (12u << 16));
  }
  ASSERT_EQ(agent.init(), Status::Ok());
  EXPECT_EQ((100u | (12u << 16)) & ~CMM_ALARM_CFG_WMASK, 0u);
}

TEST_F(AgentTest, ExcClearAndReadExceptions) {
  {
    InSequence seq;
    expect_read(bus, CMM_EXC_COUNT_OFFSET, 2);
    expect_read(bus, CMM_EXC_FIRST_OFFSET, CMM_FIELD_SET(u(Reason::kKeyLocked), CMM_EXC_FIRST_VALID, 1u));
    expect_read(bus, CMM_EXC_LAST_OFFSET, CMM_FIELD_SET(u(Reason::kKeyPresent), CMM_EXC_LAST_VALID, 1u));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kExcClear));
  }
  ExcInfo x;
  ASSERT_EQ(agent.read_exceptions(x), Status::Ok());
  EXPECT_EQ(x.count, 2);
  EXPECT_EQ(x.first.reason, Reason::kKeyLocked);
  EXPECT_EQ(x.last.reason, Reason::kKeyPresent);
  EXPECT_EQ(agent.exc_clear(), Status::Ok());
}

// Reserved bits: every word the agent writes to a register with a write mask
// stays inside it (the CMM refuses RESERVED_BITS otherwise).
TEST_F(AgentTest, WritesNeverSetReservedBits) {
  std::vector<std::pair<uint32_t, uint32_t>> writes;
  EXPECT_CALL(bus, write32(::testing::_, ::testing::_)).WillRepeatedly([&](uint32_t a, uint32_t v) {
    writes.emplace_back(a, v);
    return BusStatus::kOk;
  });
  EXPECT_CALL(bus, read32(::testing::_, ::testing::_)).WillRepeatedly([](uint32_t a, uint32_t& v) {
    v = a == CMM_CMD_STATUS_OFFSET ? cmd_status(Reason::kOk, 15) : 0xFFFFFFFFu;  // all ones: worst case
    return BusStatus::kOk;
  });
  uint16_t ep = 0;
  ASSERT_TRUE(agent.alloc_endpoint(ep).ok());
  ASSERT_TRUE(agent.configure(15, Dir::kSend, 0xFFFF, PeerId{255, 7, 15}, 255).ok());
  ASSERT_TRUE(agent.authorize(15).ok());
  ASSERT_TRUE(agent.connect(15).ok());
  ASSERT_TRUE(agent.set_key(15).ok());
  ASSERT_TRUE(agent.close(15).ok());
  ASSERT_TRUE(agent.free_endpoint(15).ok());
  ASSERT_TRUE(agent.send_mgmt(255, 7, MgmtWords{~0u, ~0u, ~0u, ~0u}).ok());
  ASSERT_TRUE(agent.irq_ack(CMM_IRQ_STATUS_BITS_MASK).ok());
  ASSERT_TRUE(agent.set_alarm(0xFFFF, 31).ok());
  ASSERT_TRUE(agent.exc_clear().ok());
  uint16_t id = 0;
  ASSERT_TRUE(agent.request_channel(ChannelRequest{255, 7, 0xFFFF, 0xFFFF}, id).ok());
  ASSERT_TRUE(agent.poll().ok());
  ASSERT_FALSE(writes.empty());
  for (const auto& [a, v] : writes) {
    uint32_t mask = 0xFFFFFFFFu;
    if (a == CMM_CMD_OFFSET) mask = CMM_CMD_WMASK;
    else if (a == CMM_IRQ_STATUS_OFFSET) mask = CMM_IRQ_STATUS_WMASK;
    else if (a == CMM_IRQ_ENABLE_OFFSET) mask = CMM_IRQ_ENABLE_WMASK;
    else if (a == CMM_MGMT_DST_OFFSET) mask = CMM_MGMT_DST_WMASK;
    else if (a == CMM_ALARM_CFG_OFFSET) mask = CMM_ALARM_CFG_WMASK;
    else if (a >= CMM_CST_BASE && a < CMM_CST_BASE + kNumEndpoints * CMM_CST_STRIDE) {
      const uint32_t off = (a - CMM_CST_BASE) % CMM_CST_STRIDE;
      mask = off == CMM_CST_CTRL_OFFSET     ? CMM_CST_CTRL_WMASK
             : off == CMM_CST_OWNER_OFFSET  ? CMM_CST_OWNER_WMASK
             : off == CMM_CST_REMOTE_OFFSET ? CMM_CST_REMOTE_WMASK
             : off == CMM_CST_GEN_OFFSET    ? CMM_CST_GEN_WMASK
                                            : 0u;
    }
    EXPECT_EQ(v & ~mask, 0u) << "write of " << std::hex << v << " to " << a;
  }
}

TEST_F(AgentTest, ForeignMgmtMessageIsReportedRaw) {
  settle();
  const MgmtWords w{0x12345678, 0, 0, 0};
  MgmtWords bad = chan_proto::encode(chan_proto::chan_req(1, 2, 3, 4));
  bad[3] = 0x100;  // our protocol id, broken layout
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 3, 202, 6, w);
    expect_mgmt_rx(bus, 2, 202, 6, w);
    expect_mgmt_rx(bus, 1, 202, 6, bad);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kMgmtOther);
  EXPECT_EQ(ev[0].mgmt.words, w);
  EXPECT_EQ(ev[0].mgmt.src_part, 6);
  EXPECT_EQ(ev[0].agent_reason, AgentReason::kNone);
  EXPECT_EQ(ev[2].agent_reason, AgentReason::kMalformed);
  EXPECT_EQ(agent.stats()[AgentReason::kMalformed], 1u);
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


// ------------------------------------------------------------------ strong mode (docs/strong-mode.md 2, 11)

constexpr uint32_t kStrongCtrlRecv = 1u << CMM_CST_CTRL_MODE_LSB;                      // DIR RECV, MODE STRONG
constexpr uint32_t kStrongCtrlSend = kStrongCtrlRecv | (1u << CMM_CST_CTRL_DIR_LSB);  // DIR SEND, MODE STRONG
constexpr uint8_t kStrong = static_cast<uint8_t>(regs::Mode::kStrong);

// Receiver side: CST_CTRL gets MODE with DIR, read back, and CHAN_REQ carries
// the mode; a CHAN_INFO echoing it goes on to AUTHORIZE and CONNECT.
TEST_F(AgentTest, StrongRequestSetsModeReadsItBackAndCarriesItInChanReq) {
  settle();
  {
    InSequence seq;
    expect_alloc(bus, 5);
    expect_read(bus, cst(5, CMM_CST_GEN_OFFSET), cst_gen(9, 0));
    expect_write(bus, cst(5, CMM_CST_CTRL_OFFSET), kStrongCtrlRecv);
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), kStrongCtrlRecv | cst_ctrl(Dir::kRecv, State::kAllocated));
    expect_write(bus, cst(5, CMM_CST_OWNER_OFFSET), 216);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 9, kStrong)));
  }
  uint16_t id = 0;
  ChannelRequest rq{204, 0, 2202, 216};
  rq.mode = regs::Mode::kStrong;
  ASSERT_EQ(agent.request_channel(rq, id), Status::Ok());
  EXPECT_EQ(id, 1);
  Mock::VerifyAndClearExpectations(&bus);
  now = AgentConfig{}.request_timeout / 8;
  {
    InSequence seq;  // unanswered: the re-sent CHAN_REQ asks the same mode
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 9, kStrong)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_info(1, 7, 2202, 33, kStrong)));
    expect_write(bus, cst(5, CMM_CST_REMOTE_OFFSET), remote(204, 0, 7));
    expect_write(bus, cst(5, CMM_CST_GEN_OFFSET), cst_gen(0, 33));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 5));
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.stats().total_refused(), 0u);
}

// Rekey without drain (docs/strong-mode.md 7) of an OPEN strong receive
// channel: on request a fresh key staged and CMD REKEY; re-issued while the
// CMM shows REKEY_PENDING; on a REKEY_DUE log entry (forced) the same again.
TEST_F(AgentTest, StrongChannelRekeysOnRequestResendsWhilePendingAndWhenForced) {
  settle();
  {
    InSequence seq;
    expect_alloc(bus, 5);
    expect_read(bus, cst(5, CMM_CST_GEN_OFFSET), cst_gen(9, 0));
    expect_write(bus, cst(5, CMM_CST_CTRL_OFFSET), kStrongCtrlRecv);
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), kStrongCtrlRecv | cst_ctrl(Dir::kRecv, State::kAllocated));
    expect_write(bus, cst(5, CMM_CST_OWNER_OFFSET), 216);
    expect_mgmt_send(bus, 204, 0, chan_proto::encode(chan_proto::chan_req(1, 5, 216, 2202, 9, kStrong)));
  }
  uint16_t id = 0;
  ChannelRequest rq{204, 0, 2202, 216};
  rq.mode = regs::Mode::kStrong;
  ASSERT_EQ(agent.request_channel(rq, id), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_info(1, 7, 2202, 33, kStrong)));
    expect_write(bus, cst(5, CMM_CST_REMOTE_OFFSET), remote(204, 0, 7));
    expect_write(bus, cst(5, CMM_CST_GEN_OFFSET), cst_gen(0, 33));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 5));
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Mock::VerifyAndClearExpectations(&bus);
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kConn));
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), kStrongCtrlRecv | cst_ctrl(Dir::kRecv, State::kOpen, true));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  ASSERT_EQ(events().size(), 1u);
  Mock::VerifyAndClearExpectations(&bus);
  // On request.
  {
    InSequence seq;
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kRekey, 5));
  }
  ASSERT_EQ(agent.rekey_channel(5), Status::Ok());
  EXPECT_EQ(agent.stats().rekeys, 1u);
  EXPECT_EQ(agent.next_deadline(), now + AgentConfig{}.connect_timeout);
  Mock::VerifyAndClearExpectations(&bus);
  // Still REKEY_PENDING at the timer: CMD REKEY again, nothing staged.
  const uint32_t open_ctrl = kStrongCtrlRecv | cst_ctrl(Dir::kRecv, State::kOpen, true);
  now += AgentConfig{}.connect_timeout;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(open_ctrl, CMM_CST_CTRL_REKEY_PENDING, 1u));
    expect_read(bus, cst(5, CMM_CST_OWNER_OFFSET), 216);
    expect_read(bus, cst(5, CMM_CST_REMOTE_OFFSET), remote(204, 0, 7));
    expect_read(bus, cst(5, CMM_CST_STATUS_OFFSET), 0);
    expect_read(bus, cst(5, CMM_CST_LOST_OFFSET), 0);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kRekey, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.stats().rekey_resends, 1u);
  Mock::VerifyAndClearExpectations(&bus);
  // Acknowledged: the timer stops.
  now += AgentConfig{}.connect_timeout;
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, cst(5, CMM_CST_CTRL_OFFSET), open_ctrl);
    expect_read(bus, cst(5, CMM_CST_OWNER_OFFSET), 216);
    expect_read(bus, cst(5, CMM_CST_REMOTE_OFFSET), remote(204, 0, 7));
    expect_read(bus, cst(5, CMM_CST_STATUS_OFFSET), 0);
    expect_read(bus, cst(5, CMM_CST_LOST_OFFSET), 0);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.next_deadline(), KernelAgent::kNever);
  Mock::VerifyAndClearExpectations(&bus);
  // Forced: a REKEY_DUE entry for the channel.
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kErr));
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(1, 0));
    expect_errlog_entry(bus, errlog_head(Reason::kRekeyDue, 5, Opcode::kData, true, false, 204));
    for (uint32_t i = 0; i < kKeyWords; ++i) expect_write_any(bus, CMM_KEY_OFFSET + i * CMM_KEY_STRIDE, nullptr);
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kRekey, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.stats().rekeys, 2u);
  EXPECT_EQ(agent.stats().forced_rekeys, 1u);
}

// Sender side: a strong CHAN_REQ gives the send entry MODE STRONG (read back)
// and CHAN_INFO echoes the mode.
TEST_F(AgentTest, StrongChanReqSetsModeOnTheSendEntryAndEchoesIt) {
  settle();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(4, 5, 216, 2202, 6, kStrong)));
    expect_alloc(bus, 0);
    expect_read(bus, cst(0, CMM_CST_GEN_OFFSET), cst_gen(17, 0));
    expect_write(bus, cst(0, CMM_CST_CTRL_OFFSET), kStrongCtrlSend);
    expect_read(bus, cst(0, CMM_CST_CTRL_OFFSET), kStrongCtrlSend | cst_ctrl(Dir::kSend, State::kAllocated));
    expect_write(bus, cst(0, CMM_CST_OWNER_OFFSET), 2202);
    expect_write(bus, cst(0, CMM_CST_REMOTE_OFFSET), remote(202, 3, 5));
    expect_write(bus, cst(0, CMM_CST_GEN_OFFSET), cst_gen(0, 6));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 0));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_info(4, 0, 2202, 17, kStrong)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  EXPECT_EQ(agent.pending_events(), 0u);
}

// Sender side: a mode the agent does not grant is refused MODE_MISMATCH
// before any endpoint is touched.
TEST(AgentStrong, ModeTheAgentDoesNotGrantIsRefusedModeMismatch) {
  StrictMock<MockRegIf> bus;
  AgentConfig cfg;
  cfg.accept_modes = 1u << static_cast<uint32_t>(regs::Mode::kPlain);
  KernelAgent agent{bus, 42, cfg};
  {
    InSequence seq;
    expect_init(bus);
  }
  ASSERT_EQ(agent.init(), Status::Ok());
  {
    InSequence seq;  // first poll looks at every queue
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, 0);
    expect_read(bus, CMM_ERRLOG_STATUS_OFFSET, errlog_status(0, 0));
    expect_read(bus, CMM_MGMT_RX_STATUS_OFFSET, 0);
    expect_read(bus, CMM_EXC_COUNT_OFFSET, 0);
    expect_read(bus, CMM_ALARM_COUNT_OFFSET, 0);
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(4, 5, 216, 2202, 6, kStrong)));
    expect_mgmt_send(bus, 202, 3,
                     chan_proto::encode(chan_proto::chan_refuse(4, Reason::kModeMismatch, 2202, AgentReason::kPolicy)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  Event ev;
  ASSERT_TRUE(agent.next_event(ev));
  EXPECT_EQ(ev.kind, Event::Kind::kChannelRefused);
  EXPECT_EQ(ev.reason, Reason::kModeMismatch);
  EXPECT_FALSE(agent.next_event(ev));
  EXPECT_EQ(agent.stats()[AgentReason::kPolicy], 1u);
}

// Sender side on a CMM without strong mode: MODE reads back 0, the entry is
// freed and the request refused MODE_MISMATCH (never a silently plain channel).
TEST_F(AgentTest, CmmWithoutStrongModeIsFoundByTheReadBackAndRefused) {
  settle();
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 202, 3, chan_proto::encode(chan_proto::chan_req(4, 5, 216, 2202, 6, kStrong)));
    expect_alloc(bus, 0);
    expect_read(bus, cst(0, CMM_CST_GEN_OFFSET), cst_gen(17, 0));
    expect_write(bus, cst(0, CMM_CST_CTRL_OFFSET), kStrongCtrlSend);
    expect_read(bus, cst(0, CMM_CST_CTRL_OFFSET), cst_ctrl(Dir::kSend, State::kAllocated));  // MODE 0
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 0));
    expect_mgmt_send(bus, 202, 3, chan_proto::encode(chan_proto::chan_refuse(4, Reason::kModeMismatch, 2202)));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, Reason::kModeMismatch);
}

// Receiver side: a CHAN_INFO whose mode differs from the request's is not
// used: CHAN_CANCEL MODE_MISMATCH, endpoint freed, the request fails.
TEST_F(AgentTest, ChanInfoWithAnotherModeIsCancelledModeMismatch) {
  settle();
  request(5, 9, 1);  // plain request
  {
    InSequence seq;
    expect_read(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_write(bus, CMM_IRQ_STATUS_OFFSET, irq(Irq::kMgmt));
    expect_mgmt_rx(bus, 1, 204, 0, chan_proto::encode(chan_proto::chan_info(1, 7, 2202, 33, kStrong)));
    expect_mgmt_send(bus, 204, 0,
                     chan_proto::encode(chan_proto::chan_cancel(1, Reason::kModeMismatch, 2202, AgentReason::kPolicy)));
    expect_write(bus, CMM_CMD_OFFSET, cmd(Cmd::kFree, 5));
  }
  ASSERT_EQ(agent.poll(), Status::Ok());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Event::Kind::kChannelFailed);
  EXPECT_EQ(ev[0].reason, Reason::kModeMismatch);
}

}  // namespace
}  // namespace cmm::sw
