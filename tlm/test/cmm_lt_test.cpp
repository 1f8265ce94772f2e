// Loosely-timed register path of CmmTlm (b_transport on reg_tsock, docs/embedding.md
// "Loosely-timed register access"): a temporally decoupled CPU with a quantum
// keeper opens a channel and sends messages between two CMMs; every register
// result equals the cycle-accurate path's for the same sequence; I5 holds
// (DENIED, reason, counter); the annotated delays are the documented ones;
// the target never wait()s while the fabric keeps up; DMI is refused.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cmm_node_util.h"
#include "cmm_sw/endpoint.h"
#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/node_bus.h"
#include "link_stub.h"
#include "sc_test_util.h"

#include <tlm_utils/tlm_quantumkeeper.h>

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::tlmshell::test;
using namespace sc_core;
using sw::BusStatus;

namespace {

const sc_time P(1, SC_NS);
constexpr uint16_t kRecvPid = 10, kSendPid = 20, kRoguePid = 99;
constexpr int kMessages = 3;  // fits the receive queue: all arrive before any is read
const Key kKey{0x01020304u, 0x05060708u, 0x090A0B0Cu, 0x0D0E0F10u};

// One register access as software saw it.
struct SeenAccess {
  char op = 'r';  // r w R(burst read) W(burst write)
  uint32_t addr = 0, value = 0;  // value: data read/written (bursts: a byte sum)
  BusStatus st = BusStatus::kOk;
  bool operator==(const SeenAccess& o) const { return op == o.op && addr == o.addr && value == o.value && st == o.st; }
};
std::ostream& operator<<(std::ostream& os, const SeenAccess& a) {
  return os << a.op << " 0x" << std::hex << a.addr << " = 0x" << a.value << std::dec << " st "
            << static_cast<int>(a.st);
}

uint32_t sum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; ++i) s = s * 31 + p[i];
  return s;
}

// Records every access made through it. While polling, only the attempt that
// ends the poll is kept: how often software polls depends on timing, the
// results of the accesses do not.
class Recorder : public sw::RegIf {
 public:
  Recorder(sw::RegIf& in, std::vector<SeenAccess>& log) : in_(in), log_(log) {}
  BusStatus read32(uint32_t a, uint32_t& d) override { return add('r', a, d, in_.read32(a, d)); }
  BusStatus write32(uint32_t a, uint32_t d) override { return add('w', a, d, in_.write32(a, d)); }
  BusStatus write_block(uint32_t a, const uint8_t* p, size_t n) override {
    const BusStatus s = in_.write_block(a, p, n);
    return add('W', a, sum(p, n), s);
  }
  BusStatus read_block(uint32_t a, uint8_t* p, size_t n) override {
    const BusStatus s = in_.read_block(a, p, n);
    return add('R', a, sum(p, n), s);
  }
  void begin_poll() {
    polling_ = true;
    pending_.clear();
  }
  void retry() { pending_.clear(); }
  void end_poll() {
    log_.insert(log_.end(), pending_.begin(), pending_.end());
    pending_.clear();
    polling_ = false;
  }

 private:
  BusStatus add(char op, uint32_t a, uint32_t v, BusStatus s) {
    (polling_ ? pending_ : log_).push_back(SeenAccess{op, a, v, s});
    return s;
  }
  sw::RegIf& in_;
  std::vector<SeenAccess>& log_;
  std::vector<SeenAccess> pending_;
  bool polling_ = false;
};

// Software contexts of one run: node 1 (receiver) and node 2 (sender).
struct Contexts {
  sw::RegIf *kr, *ks, *ur, *us, *rogue;  // rogue: user pid 99 of node 2's partition 0
  std::function<void(uint32_t)> pause;   // let `cycles` of the CPU's time pass
};

// The sequence both paths run: channel set-up by both kernel agents, two I5
// violations, kMessages messages, then every statistics counter of both CMMs.
void scenario(const Contexts& c, std::vector<SeenAccess>& log) {
  Recorder kr(*c.kr, log), ks(*c.ks, log), ur(*c.ur, log), us(*c.us, log), rogue(*c.rogue, log);
  const Chan ch = setup_channel(kr, 1, kRecvPid, 0, ks, 2, kSendPid, 0);
  connect(kr, ch.rx_ep, kKey);
  for (Recorder* r : {&kr, &ks}) r->begin_poll();
  for (int i = 0; i < 400; ++i) {
    kr.retry();
    ks.retry();
    if (state_of(kr, ch.rx_ep) == static_cast<uint32_t>(regs::State::kOpen) &&
        state_of(ks, ch.tx_ep) == static_cast<uint32_t>(regs::State::kOpen))
      break;
    c.pause(10);
  }
  kr.end_poll();
  ks.end_poll();
  EXPECT_EQ(state_of(ks, ch.tx_ep), static_cast<uint32_t>(regs::State::kOpen));

  // I5: a process that owns nothing rings the sender's doorbell and reads its CST entry.
  uint32_t v = 0;
  EXPECT_EQ(rogue.write32(epr(ch.tx_ep, regs::CMM_EP_DOORBELL_OFFSET), 8), BusStatus::kDenied);
  EXPECT_EQ(rogue.read32(cst(ch.tx_ep, regs::CMM_CST_REMOTE_OFFSET), v), BusStatus::kDenied);

  sw::Endpoint tx(us, static_cast<uint8_t>(ch.tx_ep)), rx(ur, static_cast<uint8_t>(ch.rx_ep));
  for (int m = 0; m < kMessages; ++m) {
    const std::string msg = "message " + std::to_string(m) + std::string(static_cast<size_t>(m) * 13, '*');
    EXPECT_TRUE(tx.send(msg.data(), msg.size(), static_cast<uint16_t>(100 + m)).ok()) << m;
  }
  sw::RxStatus rs;
  ur.begin_poll();
  for (int i = 0; i < 400; ++i) {
    ur.retry();
    EXPECT_TRUE(rx.rx_status(rs).ok());
    if (rs.count == kMessages) break;
    c.pause(10);
  }
  ur.end_poll();
  EXPECT_EQ(rs.count, kMessages);
  for (int m = 0; m < kMessages; ++m) {
    const std::string want = "message " + std::to_string(m) + std::string(static_cast<size_t>(m) * 13, '*');
    char buf[128] = {};
    sw::RxInfo info;
    ASSERT_TRUE(rx.receive(buf, sizeof buf, info).ok()) << m;
    EXPECT_EQ(info.tag, 100 + m);
    EXPECT_EQ(std::string(buf, info.len), want);
  }
  for (uint32_t i = 0; i < regs::kStatCount; ++i) {
    (void)kr.read32(regs::CMM_STAT_OFFSET + regs::CMM_STAT_STRIDE * i, v);
    (void)ks.read32(regs::CMM_STAT_OFFSET + regs::CMM_STAT_STRIDE * i, v);
  }
}

CmmTlmConfig node_cfg(uint8_t id) { return Node::cfg(id, 4, 16); }

XbarConfig xbar_cfg() {
  XbarConfig c;
  c.num_ports = 2;
  c.ports.assign(2, XbarPortConfig{16, 2});
  return c;
}

// A server whose partition CPU is loosely timed.
struct LtNode {
  CmmTlm cmm;
  NodeBus bus;
  LtPartitionBusIf cpu;
  LtNode(const std::string& n, uint8_t id, tlm_utils::tlm_quantumkeeper* qk)
      : cmm((n + "_cmm").c_str(), node_cfg(id)), bus((n + "_bus").c_str(), 1, P), cpu((n + "_cpu").c_str(), qk) {
    bus.cmm_isock.bind(cmm.reg_tsock);
    cpu.isock.bind(*bus.part_tsock[0]);
  }
};

template <class N>
void join(Crossbar& x, N& a, N& b) {
  a.cmm.eg_isock.bind(*x.in_tsock[0]);
  x.out_isock[0]->bind(a.cmm.ing_tsock);
  b.cmm.eg_isock.bind(*x.in_tsock[1]);
  x.out_isock[1]->bind(b.cmm.ing_tsock);
  x.set_route(1, 0);
  x.set_route(2, 1);
}

// Two CMMs driven through the LT path by one decoupled CPU thread.
struct LtRig {
  tlm_utils::tlm_quantumkeeper qk;
  LtNode n1{"lt1", 1, &qk}, n2{"lt2", 2, &qk};
  Crossbar xbar{"lt_xbar", xbar_cfg()};
  std::unique_ptr<LtCpuBusIf> kr, ks, ur, us, rogue;
  std::vector<SeenAccess> log;
  LtRig() {
    join(xbar, n1, n2);
    kr = n1.cpu.make_context(regs::Priv::kKernel, 0);
    ur = n1.cpu.make_context(regs::Priv::kUser, kRecvPid);
    ks = n2.cpu.make_context(regs::Priv::kKernel, 0);
    us = n2.cpu.make_context(regs::Priv::kUser, kSendPid);
    rogue = n2.cpu.make_context(regs::Priv::kUser, kRoguePid);
  }
  void run() {
    qk.reset();
    scenario({kr.get(), ks.get(), ur.get(), us.get(), rogue.get(), [this](uint32_t n) { n1.cpu.advance(n * P); }},
             log);
    qk.sync();
  }
};

void set_quantum(const sc_time& q) { tlm::tlm_global_quantum::instance().set(q); }

}  // namespace

// The same register sequence through the cycle-accurate path (nb_transport,
// CpuBusIf) and the LT path (b_transport, quantum keeper of 200 cycles): the
// channel opens, every message arrives, and every access's status and data
// are equal. The LT target answered every access without waiting.
TEST(CmmLt, ChannelAndMessagesEqualCycleAccurate) {
  CMM_REQUIRE_FRESH_KERNEL();
  set_quantum(200 * P);
  Node c1("ca1", 1), c2("ca2", 2);
  Crossbar cx("ca_xbar", xbar_cfg());
  join(cx, c1, c2);
  auto ckr = c1.biu.make_context(regs::Priv::kKernel, 0), cur = c1.biu.make_context(regs::Priv::kUser, kRecvPid);
  auto cks = c2.biu.make_context(regs::Priv::kKernel, 0), cus = c2.biu.make_context(regs::Priv::kUser, kSendPid);
  auto crogue = c2.biu.make_context(regs::Priv::kUser, kRoguePid);
  std::vector<SeenAccess> ca_log;
  ThreadRunner ca("ca_cpu", [&] {
    scenario({ckr.get(), cks.get(), cur.get(), cus.get(), crogue.get(), [](uint32_t n) { wait(n * P); }}, ca_log);
  });
  LtRig lt;
  ThreadRunner lt_cpu("lt_cpu", [&] { lt.run(); });
  sc_start(sc_time(1, SC_MS));
  ASSERT_TRUE(ca.finished);
  ASSERT_TRUE(lt_cpu.finished);
  ASSERT_GT(ca_log.size(), 40u);
  EXPECT_EQ(lt.log, ca_log);
  for (const CmmTlm* m : {&lt.n1.cmm, &lt.n2.cmm}) {
    EXPECT_GT(m->stats().lt_requests, 0u);
    EXPECT_GT(m->stats().lt_catchup_edges, 0u);
    EXPECT_EQ(m->stats().lt_syncs, 0u);  // never waited inside the target
    EXPECT_EQ(m->stats().link_errors, 0u);
  }
  EXPECT_EQ(c1.cmm.stats().lt_requests, 0u);  // the nb path never went through b_transport
  EXPECT_EQ(lt.n1.cmm.stats().data_delivered, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(c1.cmm.stats().data_delivered, static_cast<uint64_t>(kMessages));
  // Decoupled: far fewer synchronisations than accesses.
  EXPECT_LT(lt.n1.cpu.syncs() + lt.n2.cpu.syncs(), lt.log.size() / 2);
}

// I5 through the LT path: the rogue process's doorbell and CST read are
// DENIED (TLM generic error, core status DENIED), counted by the core with
// reason DENIED; a denied CMD carries the reason in CMD_STATUS; the
// legitimate channel keeps delivering.
TEST(CmmLt, I5ViolationDeniedWithReasonAndCounter) {
  CMM_REQUIRE_FRESH_KERNEL();
  set_quantum(100 * P);
  LtRig lt;
  auto user_cmd = lt.n1.cpu.make_context(regs::Priv::kUser, kRecvPid);
  ThreadRunner cpu("cpu", [&] {
    lt.run();
    // A user process issuing a kernel command: refused, reason DENIED.
    EXPECT_EQ(user_cmd->write32(regs::CMM_CMD_OFFSET, cmd(regs::Cmd::kAlloc)), BusStatus::kDenied);
    EXPECT_EQ(user_cmd->last_tlm_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);
    // The legitimate channel still works after the violations.
    sw::Endpoint tx(*lt.us, 0), rx(*lt.ur, 0);
    ASSERT_TRUE(tx.send("after", 5, 7).ok());
    sw::RxStatus rs;
    for (int i = 0; i < 100 && rx.rx_status(rs).ok() && rs.count == 0; ++i) lt.n1.cpu.advance(10 * P);
    char buf[8] = {};
    sw::RxInfo info;
    EXPECT_TRUE(rx.receive(buf, sizeof buf, info).ok());
    EXPECT_EQ(std::string(buf, info.len), "after");
    lt.qk.sync();
  });
  sc_start(sc_time(1, SC_MS));
  ASSERT_TRUE(cpu.finished);
  // The scenario's doorbell and CST read by pid 99 at node 2 (lt.log holds them).
  const auto denied = static_cast<uint32_t>(regs::Reason::kDenied);
  EXPECT_EQ(lt.n2.cmm.core().reject_count(regs::Reason::kDenied), 2u);
  EXPECT_EQ(lt.n2.cmm.stats().rejects[denied], 2u);
  EXPECT_EQ(lt.n2.cmm.stats().reg_status[static_cast<uint32_t>(regs::Rsp::kDenied)], 2u);
  EXPECT_EQ(lt.n1.cmm.core().reject_count(regs::Reason::kDenied), 1u);  // the user's CMD
  EXPECT_EQ(lt.n1.cmm.stats().rejects[denied], 1u);
  EXPECT_EQ(lt.n1.cmm.stats().data_delivered, static_cast<uint64_t>(kMessages + 1));
  int denied_seen = 0;
  for (const SeenAccess& a : lt.log) denied_seen += a.st == BusStatus::kDenied;
  EXPECT_EQ(denied_seen, 2);
}

// Annotated delays (docs/embedding.md "Loosely-timed register access"): from the
// caller's local time T, a word access returns at T + 2 Lb + 2 cycles (the
// cycle-accurate latency), off the grid it waits for the next edge, a
// payload-window burst adds ceil(len / buf_bytes_per_cycle) cycles. None of
// them advances simulated time or runs a delta cycle inside b_transport; the
// CMM is caught up to the caller's local time (evaluated_cycle()).
TEST(CmmLt, AnnotatedDelaysAsDocumentedAndNoWait) {
  CMM_REQUIRE_FRESH_KERNEL();
  set_quantum(sc_time(10, SC_US));
  CmmTlmConfig cfg = node_cfg(5);
  CmmTlm cmm("cmm", cfg);
  NodeBus bus("bus", 1, 2 * P);
  LinkStub link("link");
  LtPartitionBusIf cpu("cpu");
  bus.cmm_isock.bind(cmm.reg_tsock);
  cpu.isock.bind(*bus.part_tsock[0]);
  link.isock.bind(cmm.ing_tsock);
  cmm.eg_isock.bind(link.tsock);
  auto k = cpu.make_context(regs::Priv::kKernel, 0);
  ThreadRunner t("t", [&] {
    wait(10 * P);
    cpu.qk().reset();
    uint32_t v = 0;
    const sc_time t0 = sc_time_stamp();
    const uint64_t deltas = sc_delta_count();
    EXPECT_EQ(k->read32(regs::CMM_ID_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(v, regs::kMagic);
    EXPECT_EQ(k->last_latency(), (2 * 2 + 2) * P);
    // Off the grid: sampled at the next edge strictly after the request's arrival.
    cpu.advance(sc_time(500, SC_PS));
    EXPECT_EQ(k->read32(regs::CMM_ID_OFFSET, v), BusStatus::kOk);
    EXPECT_EQ(k->last_latency(), sc_time(5500, SC_PS));  // local time back on the grid
    // A local time 1000 cycles ahead: the CMM catches up to it (idle cycles skipped).
    cpu.advance(1000 * P);
    EXPECT_EQ(k->write32(regs::CMM_CMD_OFFSET, cmd(regs::Cmd::kAlloc)), BusStatus::kOk);
    EXPECT_EQ(k->last_latency(), 6 * P);
    EXPECT_EQ(k->write32(cst(0, regs::CMM_CST_OWNER_OFFSET), 9), BusStatus::kOk);
    auto u = cpu.make_context(regs::Priv::kUser, 9);
    uint8_t buf[64] = {};
    EXPECT_EQ(u->write_block(epr(0, regs::CMM_TX_BUF_OFFSET), buf, sizeof buf), BusStatus::kOk);
    EXPECT_EQ(u->last_latency(), (6 + 64 / cfg.buf_bytes_per_cycle) * P);
    // Still the same simulated time and delta: nothing waited.
    EXPECT_EQ(sc_time_stamp(), t0);
    EXPECT_EQ(sc_delta_count(), deltas);
    EXPECT_GE(cmm.evaluated_cycle(), cmm.cycle_now() + 1000);
    EXPECT_EQ(cpu.qk().get_local_time(), sc_time(6 + 6 + 1000 + 6 + 6 + 14, SC_NS));
    cpu.sync();
  });
  sc_start(sc_time(1, SC_MS));
  ASSERT_TRUE(t.finished);
  EXPECT_EQ(cmm.stats().lt_syncs, 0u);
  EXPECT_EQ(cmm.stats().lt_requests, 5u);
  EXPECT_EQ(cmm.stats().reg_bursts, 1u);
  EXPECT_EQ(cpu.syncs(), 0u);
}

// DMI is refused for the register space, also through the node bus, and no
// response allows it.
TEST(CmmLt, DmiRefused) {
  CMM_REQUIRE_FRESH_KERNEL();
  CmmTlm cmm("cmm", node_cfg(5));
  NodeBus bus("bus", 1, P);
  LinkStub link("link");
  LtPartitionBusIf cpu("cpu");
  bus.cmm_isock.bind(cmm.reg_tsock);
  cpu.isock.bind(*bus.part_tsock[0]);
  link.isock.bind(cmm.ing_tsock);
  cmm.eg_isock.bind(link.tsock);
  auto k = cpu.make_context(regs::Priv::kKernel, 0);
  ThreadRunner t("t", [&] {
    tlm::tlm_generic_payload gp;
    uint32_t word = 0;
    gp.set_address(regs::CMM_ID_OFFSET);
    gp.set_command(tlm::TLM_READ_COMMAND);
    gp.set_data_ptr(reinterpret_cast<unsigned char*>(&word));
    gp.set_data_length(4);
    tlm::tlm_dmi dmi;
    EXPECT_FALSE(cpu.isock->get_direct_mem_ptr(gp, dmi));
    EXPECT_EQ(dmi.get_start_address(), 0u);
    EXPECT_GE(dmi.get_end_address(), regs::CMM_EP_BASE);
    uint32_t v = 0;
    EXPECT_EQ(k->read32(regs::CMM_ID_OFFSET, v), BusStatus::kOk);
    cpu.sync();
  });
  sc_start(sc_time(1, SC_US));
  ASSERT_TRUE(t.finished);
  EXPECT_EQ(cmm.stats().lt_dmi_refused, 1u);
}

// Back-pressure: the fabric withholds request-class credits, so CONNECT
// headers fill the request egress queue and the register port stops taking
// commands. The LT access then cannot finish without simulated time: it
// waits (counted in lt_syncs) until the fabric returns credits, and completes
// with the core's answer.
TEST(CmmLt, FabricBackPressureWaitsThenCompletes) {
  CMM_REQUIRE_FRESH_KERNEL();
  set_quantum(100 * P);
  CmmTlmConfig cfg = node_cfg(5);
  CmmTlm cmm("cmm", cfg);
  NodeBus bus("bus", 1, P);
  LinkStub link("link");
  link.grant = {0, 4};  // no request-class credits at first
  LtPartitionBusIf cpu("cpu");
  bus.cmm_isock.bind(cmm.reg_tsock);
  cpu.isock.bind(*bus.part_tsock[0]);
  link.isock.bind(cmm.ing_tsock);
  cmm.eg_isock.bind(link.tsock);
  auto k = cpu.make_context(regs::Priv::kKernel, 0);
  const uint32_t n = regs::kEgqDepth + 1;
  ThreadRunner t("t", [&] {
    cpu.qk().reset();
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t ep = alloc_entry(*k, regs::Dir::kRecv, static_cast<uint16_t>(30 + i), 7, 0, static_cast<uint8_t>(i));
      authorize(*k, ep, 1);
      connect(*k, ep, kKey);  // the last one waits for a credit
    }
    cpu.sync();
  });
  ThreadRunner credit("credit", [&] {
    wait(3000 * P);
    link.give_credit(0, 8);
  });
  sc_start(sc_time(1, SC_MS));
  ASSERT_TRUE(t.finished);
  EXPECT_EQ(cmm.stats().lt_syncs, 1u);
  EXPECT_EQ(link.rx.size(), n);  // every CONNECT left once credits came
  EXPECT_EQ(cmm.stats().link_errors, 0u);
}

// One CMM shared by a loosely-timed CPU (partition 0) and a cycle-accurate
// one (partition 1), both busy at once: each sees its own writes read back,
// I5 keeps them apart (each is DENIED on the other's entry), the
// cycle-accurate accesses take at least their documented latency (more when
// the CMM was caught up ahead of them), and the CMM reports no clocking error.
TEST(CmmLt, SharedWithCycleAccurateInitiator) {
  CMM_REQUIRE_FRESH_KERNEL();
  set_quantum(50 * P);
  CmmTlmConfig cfg = node_cfg(5);
  cfg.straps.quota[1] = 4;
  cfg.straps.quota[0] = 4;
  CmmTlm cmm("cmm", cfg);
  NodeBus bus("bus", 2, P);
  LinkStub link("link");
  LtPartitionBusIf lt_cpu("lt_cpu");
  PartitionBusIf ca_cpu("ca_cpu");
  bus.cmm_isock.bind(cmm.reg_tsock);
  lt_cpu.isock.bind(*bus.part_tsock[0]);
  ca_cpu.isock.bind(*bus.part_tsock[1]);
  link.isock.bind(cmm.ing_tsock);
  cmm.eg_isock.bind(link.tsock);
  auto lk = lt_cpu.make_context(regs::Priv::kKernel, 0);
  auto ck = ca_cpu.make_context(regs::Priv::kKernel, 0);
  uint32_t lt_ep = 99, ca_ep = 99;
  int lt_ok = 0, ca_ok = 0;
  sc_time ca_min = sc_time(1, SC_SEC);
  ThreadRunner lt("lt", [&] {
    lt_cpu.qk().reset();
    lt_ep = alloc_entry(*lk, regs::Dir::kRecv, 40, 7, 0, 1);
    for (uint32_t i = 0; i < 200; ++i) {
      uint32_t v = 0;
      EXPECT_EQ(lk->write32(cst(lt_ep, regs::CMM_CST_OWNER_OFFSET), 100 + i), BusStatus::kOk);
      EXPECT_EQ(lk->read32(cst(lt_ep, regs::CMM_CST_OWNER_OFFSET), v), BusStatus::kOk);
      lt_ok += v == 100 + i;
      if (ca_ep < regs::kNumEndpoints) {
        EXPECT_EQ(lk->read32(cst(ca_ep, regs::CMM_CST_OWNER_OFFSET), v), BusStatus::kDenied);
      }
      lt_cpu.advance(3 * P);
    }
    lt_cpu.sync();
  });
  ThreadRunner ca("ca", [&] {
    ca_ep = alloc_entry(*ck, regs::Dir::kSend, 50, 7, 0, 2);
    for (uint32_t i = 0; i < 100; ++i) {
      uint32_t v = 0;
      const sc_time t0 = sc_time_stamp();
      EXPECT_EQ(ck->write32(cst(ca_ep, regs::CMM_CST_OWNER_OFFSET), 500 + i), BusStatus::kOk);
      ca_min = std::min(ca_min, sc_time_stamp() - t0);
      EXPECT_EQ(ck->read32(cst(ca_ep, regs::CMM_CST_OWNER_OFFSET), v), BusStatus::kOk);
      ca_ok += v == 500 + i;
      if (lt_ep < regs::kNumEndpoints) {
        EXPECT_EQ(ck->read32(cst(lt_ep, regs::CMM_CST_OWNER_OFFSET), v), BusStatus::kDenied);
      }
      wait(P);
    }
  });
  sc_start(sc_time(1, SC_MS));
  ASSERT_TRUE(lt.finished);
  ASSERT_TRUE(ca.finished);
  EXPECT_NE(lt_ep, ca_ep);
  EXPECT_EQ(lt_ok, 200);
  EXPECT_EQ(ca_ok, 100);
  EXPECT_GE(ca_min, 4 * P);  // 2 Lb + 2 cycles at least
  EXPECT_GT(cmm.stats().lt_catchup_edges, 0u);
  EXPECT_EQ(cmm.stats().lt_syncs, 0u);
  EXPECT_EQ(cmm.stats().reg_shell_errors, 0u);
  EXPECT_GT(cmm.stats().reg_status[static_cast<uint32_t>(regs::Rsp::kDenied)], 100u);
}

CMM_SC_TEST_MAIN
