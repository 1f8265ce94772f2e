// Fuzz harness: CMM TLM shell + crossbar packet path (tlm/).
//
// One SystemC system, elaborated at the first input and kept for the whole
// run (SystemC elaborates once per process): CMM nodes 0 and 1 on crossbar
// ports 0 and 1 with an open channel node0.ep0 <- node1.ep0 (set up by the
// kernel agents through the node bus), a rogue node on port 2 (node id 2),
// and a third CMM (node 3) whose ingress link the harness drives directly
// (no switch in front: any source, any length, any CRC reach its shell).
//
// Each input is a list of packets (any header field, class, payload_len and
// header len, CRC sealed or raw, the channel's real key or not) sent by the
// rogue or on node 3's link, with credits as the link protocol requires.
// After each input the simulation drains and the harness checks:
//  * no crash, no sanitizer report, no SystemC error;
//  * every payload a shell moved into an RX slot was accepted by its core
//    (shell data_delivered == the core's accept verdicts), and nothing the
//    rogue or the direct link sent was delivered at all (no channel accepts
//    their ids);
//  * the legitimate channel is still OPEN at both ends (no unauthenticated
//    CLOSE/NACK/CONNECT_ACK took effect).
#include "fuzz_reader.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/node_bus.h"

using namespace cmm;
using namespace cmm::tlmshell;
using namespace cmm::regs;
using namespace sc_core;

namespace {

const sc_time kP(1, SC_NS);
const Key kChanKey{0x0A0B0C0Du, 0x10203040u, 0x55AA55AAu, 0x76543210u};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_tlm: %s\n", what.c_str());
  std::abort();
}

// Counts the core's accept verdicts (on_deliver).
struct DeliverCount : CmmTlmObserver {
  uint64_t n = 0;
  void on_deliver(uint64_t, const Header&) override { ++n; }
};

// A fabric link end that sends packets the harness builds byte by byte
// (payload_len may lie) and swallows what it receives (returning credits).
class Link : public sc_module {
 public:
  SC_HAS_PROCESS(Link);
  tlm_utils::simple_initiator_socket<Link> isock;
  tlm_utils::simple_target_socket<Link> tsock;
  std::deque<std::pair<Packet, uint32_t>> queue;  // packet, cycles to wait before it
  std::array<uint32_t, 2> credits{};
  uint64_t received = 0;

  explicit Link(sc_module_name n) : sc_module(n), isock("isock"), tsock("tsock") {
    isock.register_nb_transport_bw(this, &Link::bw);
    tsock.register_nb_transport_fw(this, &Link::fw);
    ext_ = new LinkExt;
    gp_.set_extension(ext_);
    cext_ = new LinkExt;
    cext_->kind = LinkExt::kCredit;
    cgp_.set_extension(cext_);
    SC_THREAD(run);
    SC_METHOD(init);
  }
  bool idle() const { return queue.empty(); }

 private:
  void init() {
    for (uint8_t c = 0; c < 2; ++c) give_credit(c, 8);
  }
  void run() {
    for (;;) {
      if (queue.empty()) {
        wait(20 * kP);
        continue;
      }
      wait((1 + queue.front().second) * kP);
      const uint8_t cls = queue.front().first.cls & 1u;
      for (int i = 0; i < 200 && credits[cls] == 0; ++i) wait(5 * kP);  // a well-behaved link waits for credit
      if (credits[cls] == 0) {  // peer withholds credit: give up on this packet
        queue.pop_front();
        continue;
      }
      --credits[cls];
      pkt_ = queue.front().first;  // plain assignment: the harness may make payload_len lie
      queue.pop_front();
      ext_->kind = LinkExt::kPacket;
      ext_->pkt = &pkt_;
      tlm::tlm_phase ph = tlm::BEGIN_REQ;
      sc_time d = SC_ZERO_TIME;
      isock->nb_transport_fw(gp_, ph, d);
    }
  }
  void give_credit(uint8_t cls, uint16_t n) {
    cext_->cls = cls;
    cext_->credits = n;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_time d = SC_ZERO_TIME;
    tsock->nb_transport_bw(cgp_, ph, d);
  }
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    if (e && e->kind == LinkExt::kCredit) credits[e->cls & 1u] += e->credits;
    return tlm::TLM_COMPLETED;
  }
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    if (e && e->pkt) {
      ++received;
      give_credit(e->pkt->cls & 1u, 1);
    }
    return tlm::TLM_COMPLETED;
  }
  LinkExt* ext_;
  LinkExt* cext_;
  tlm::tlm_generic_payload gp_, cgp_;
  Packet pkt_;
};

struct NodeT {
  CmmTlm cmm;
  NodeBus bus;
  PartitionBusIf biu;
  DeliverCount obs;
  NodeT(const char* n, uint8_t id)
      : cmm((std::string(n) + "_cmm").c_str(), cfg(id)),
        bus((std::string(n) + "_bus").c_str(), 1, kP),
        biu((std::string(n) + "_biu0").c_str()) {
    bus.cmm_isock.bind(cmm.reg_tsock);
    biu.isock.bind(*bus.part_tsock[0]);
    cmm.set_observer(&obs);
  }
  static CmmTlmConfig cfg(uint8_t id) {
    CmmTlmConfig c;
    c.straps.node_id = id;
    c.straps.quota.fill(0);
    c.straps.quota[0] = 8;
    return c;
  }
};

uint32_t cst(uint32_t ep, uint32_t off) { return CMM_CST_BASE + ep * CMM_CST_STRIDE + off; }
uint32_t cmd(Cmd op, uint32_t ep = 0) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(op)), CMM_CMD_EP, ep);
}

class Agents : public sc_module {
 public:
  SC_HAS_PROCESS(Agents);
  Agents(sc_module_name n, NodeT& rx, NodeT& tx) : sc_module(n), rx_(rx), tx_(tx) { SC_THREAD(run); }
  bool open = false;

 private:
  void w(sw::RegIf& k, uint32_t a, uint32_t v) {
    if (k.write32(a, v) != sw::BusStatus::kOk) fail("channel setup: register write refused");
  }
  void run() {
    auto kr = rx_.biu.make_context(Priv::kKernel, 0);
    auto ks = tx_.biu.make_context(Priv::kKernel, 0);
    // Both: ALLOC ep0, direction, owner, remote ids; generations exchanged (1 after the first ALLOC).
    for (int side = 0; side < 2; ++side) {
      sw::RegIf& k = side ? *ks : *kr;
      w(k, CMM_CMD_OFFSET, cmd(Cmd::kAlloc));
      w(k, cst(0, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, side ? 1u : 0u));
      w(k, cst(0, CMM_CST_OWNER_OFFSET), 100);
      w(k, cst(0, CMM_CST_REMOTE_OFFSET), CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, side ? 0u : 1u));
      w(k, cst(0, CMM_CST_GEN_OFFSET), CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, 1u));
      w(k, CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, 0));
    }
    for (uint32_t i = 0; i < kKeyWords; ++i) w(*kr, CMM_KEY_OFFSET + 4 * i, kChanKey[i]);
    w(*kr, CMM_CMD_OFFSET, cmd(Cmd::kConnect, 0));
    for (int i = 0; i < 100 && !open; ++i) {
      wait(50 * kP);
      open = rx_.cmm.core().ep_state(0) == State::kOpen && tx_.cmm.core().ep_state(0) == State::kOpen;
    }
  }
  NodeT& rx_;
  NodeT& tx_;
};

struct System {
  NodeT n0{"n0", 0}, n1{"n1", 1}, n3{"n3", 3};
  Crossbar xbar{"xbar", xcfg()};
  Link rogue{"rogue"}, direct{"direct"};
  Agents agents{"agents", n0, n1};
  uint64_t base_deliveries = 0;

  static XbarConfig xcfg() {
    XbarConfig c;
    c.num_ports = 3;
    c.ports.assign(3, XbarPortConfig{16, 2});
    return c;
  }
  System() {
    n0.cmm.eg_isock.bind(*xbar.in_tsock[0]);
    xbar.out_isock[0]->bind(n0.cmm.ing_tsock);
    n1.cmm.eg_isock.bind(*xbar.in_tsock[1]);
    xbar.out_isock[1]->bind(n1.cmm.ing_tsock);
    rogue.isock.bind(*xbar.in_tsock[2]);
    xbar.out_isock[2]->bind(rogue.tsock);
    xbar.set_route(0, 0);
    xbar.set_route(1, 1);
    xbar.set_route(2, 2);
    direct.isock.bind(n3.cmm.ing_tsock);
    n3.cmm.eg_isock.bind(direct.tsock);
  }
};

System* sys = nullptr;

void check(const char* when) {
  for (NodeT* n : {&sys->n0, &sys->n1, &sys->n3})
    if (n->cmm.stats().data_delivered != n->obs.n)
      fail(std::string(when) + ": shell of " + n->cmm.name() + " delivered " +
           std::to_string(n->cmm.stats().data_delivered) + " payloads, its core accepted " + std::to_string(n->obs.n));
  if (sys->n0.obs.n + sys->n1.obs.n + sys->n3.obs.n != sys->base_deliveries)
    fail(std::string(when) + ": a packet of the rogue node or of the direct link was delivered");
  if (sys->n0.cmm.core().ep_state(0) != State::kOpen || sys->n1.cmm.core().ep_state(0) != State::kOpen)
    fail(std::string(when) + ": the legitimate channel is no longer OPEN at both ends");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!sys) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    sc_report_handler::set_actions(SC_WARNING, SC_DO_NOTHING);
    sys = new System;
    sc_start(20 * sc_time(1, SC_US));
    if (!sys->agents.open) fail("setup: the legitimate channel did not open");
    sys->base_deliveries = sys->n0.obs.n + sys->n1.obs.n + sys->n3.obs.n;
    check("after setup");
  }
  Reader r{data, size};
  for (int i = 0; i < 64 && !r.empty(); ++i) {
    const uint8_t f = r.u8();
    Packet p;
    Header& h = p.hdr;
    const bool direct = f & 1u;
    h.opcode = r.u8();
    h.src_node = (f & 0x08) ? r.u8() : (direct ? 3 : 2);
    h.src_part = r.u8();
    h.src_ep = r.u8();
    static constexpr uint8_t dsts[4] = {0, 1, 3, 2};
    h.dst_node = (f & 0x30) == 0x30 ? r.u8() : dsts[(f >> 4) & 3u];
    h.dst_part = r.u8();
    h.dst_ep = r.u8();
    h.len = r.u16();
    h.tag = r.u16();
    h.reason = r.u8();
    h.aux = r.u8();
    h.src_gen = r.u8();
    h.dst_gen = r.u8();
    h.seq = r.u16();
    const uint8_t k = r.u8();
    if (k & 0x80) {
      for (auto& w : h.key) w = r.u32();
    } else if (k & 1u) {
      h.key = kChanKey;  // a sniffed key: still useless without the peer's ids
    }
    p.cls = (f >> 6) & 1u;
    p.payload_len = (f & 0x04) ? r.u16() : h.len;  // a lie, or consistent with the header
    const uint8_t fill = r.u8();
    for (uint32_t b = 0; b < p.carried(); ++b) p.payload[b] = static_cast<uint8_t>(fill + b);
    if (f & 0x02) seal(p);
    else p.crc = r.u32();
    const uint32_t delay = r.u8() % 16;
    (direct ? sys->direct : sys->rogue).queue.emplace_back(p, delay);
  }
  // Run until both links have sent everything, then let the nodes answer.
  for (int i = 0; i < 400 && !(sys->rogue.idle() && sys->direct.idle()); ++i) sc_start(50 * kP);
  sc_start(3000 * kP);
  check("after an input");
  return 0;
}

// libsystemc references sc_main; libFuzzer's main() runs instead, and the
// harness drives sc_start() itself.
int sc_main(int, char**) { return 0; }
