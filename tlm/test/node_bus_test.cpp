// NodeBus stamps the partition of its port; privilege and pid come from the
// CPU context; software cannot choose them. Bus latency on both paths.
#include <vector>

#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/node_bus.h"
#include "sc_test_util.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

struct Seen {
  uint8_t part;
  regs::Priv priv;
  uint16_t pid;
  uint64_t addr;
  sc_time t;
};

// Records the requester id and completes at once (TLM_COMPLETED).
class RecordingTarget : public sc_module {
 public:
  tlm_utils::simple_target_socket<RecordingTarget> tsock;
  std::vector<Seen> seen;
  explicit RecordingTarget(sc_module_name n) : sc_module(n), tsock("tsock") {
    tsock.register_nb_transport_fw(this, &RecordingTarget::fw);
  }
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
    if (ph != tlm::BEGIN_REQ) return tlm::TLM_COMPLETED;
    RequesterId* r = nullptr;
    gp.get_extension(r);
    EXPECT_NE(r, nullptr);
    if (r) seen.push_back(Seen{r->part, r->priv, r->pid, gp.get_address(), sc_time_stamp() + d});
    if (gp.is_read()) std::memset(gp.get_data_ptr(), 0xAB, gp.get_data_length());
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
    RegResponse* rr = nullptr;
    gp.get_extension(rr);
    if (rr) rr->status = regs::Rsp::kOk;
    return tlm::TLM_COMPLETED;
  }
};

}  // namespace

TEST(NodeBus, StampsPartitionOfPortAndContextIds) {
  CMM_REQUIRE_FRESH_KERNEL();
  const sc_time lb(3, SC_NS);
  NodeBus bus("bus", 4, lb);
  RecordingTarget tgt("tgt");
  bus.cmm_isock.bind(tgt.tsock);
  std::vector<std::unique_ptr<PartitionBusIf>> biu;
  for (int p = 0; p < 4; ++p) {
    biu.push_back(std::make_unique<PartitionBusIf>(("biu" + std::to_string(p)).c_str()));
    biu.back()->isock.bind(*bus.part_tsock[p]);
  }
  auto k2 = biu[2]->make_context(regs::Priv::kKernel, 7);
  auto u0 = biu[0]->make_context(regs::Priv::kUser, 42);
  auto u3 = biu[3]->make_context(regs::Priv::kUser, 0xBEEF);
  sc_time t_issue, t_done;
  test::ThreadRunner cpu("cpu", [&] {
    wait(5, SC_NS);
    uint32_t v = 0;
    t_issue = sc_time_stamp();
    EXPECT_EQ(k2->read32(0x0, v), sw::BusStatus::kOk);
    t_done = sc_time_stamp();
    EXPECT_EQ(v, 0xABABABABu);
    EXPECT_EQ(u0->write32(0x24, 1), sw::BusStatus::kOk);
    EXPECT_EQ(u3->write32(0x1000, 1), sw::BusStatus::kOk);
  });
  sc_start();
  ASSERT_TRUE(cpu.finished);
  ASSERT_EQ(tgt.seen.size(), 3u);
  EXPECT_EQ(tgt.seen[0].part, 2);
  EXPECT_EQ(tgt.seen[0].priv, regs::Priv::kKernel);
  EXPECT_EQ(tgt.seen[0].pid, 7);
  EXPECT_EQ(tgt.seen[0].t, t_issue + lb);  // forward latency
  EXPECT_EQ(t_done - t_issue, 2 * lb);     // round trip of an immediately completed access
  EXPECT_EQ(tgt.seen[1].part, 0);
  EXPECT_EQ(tgt.seen[1].priv, regs::Priv::kUser);
  EXPECT_EQ(tgt.seen[1].pid, 42);
  EXPECT_EQ(tgt.seen[2].part, 3);
  EXPECT_EQ(tgt.seen[2].pid, 0xBEEF);
  EXPECT_EQ(bus.stats().requests, 3u);
  EXPECT_EQ(bus.stats().errors, 0u);
  // The partition ports are bound straight to PartitionBusIfs (direct
  // calls); the target is no CMM, so that hop stays a socket call.
  EXPECT_EQ(bus.direct_hops(), 4u);
}

CMM_SC_TEST_MAIN
