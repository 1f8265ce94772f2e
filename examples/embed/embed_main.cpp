// A tiny SystemC platform that embeds the installed CMM package: two servers
// (node 1 and node 2), each with a CMM, a node bus and one partition CPU that
// runs the kernel agent and one user process, joined by a crossbar. The
// receiver's agent asks node 2's agent for a channel; once it is OPEN the
// sender process sends one message, which the receiver process reads.
//
// Node 1's CPU is cycle-accurate (CpuBusIf: nb_transport, the thread waits
// for every response). Node 2's CPU is loosely timed, as an instruction-set
// simulator in a virtual platform would be: LtCpuBusIf calls b_transport on
// the same register socket, the CMM answers inside the call and adds the
// access latency to the CPU's local time, and the CPU synchronises only when
// its quantum keeper says so (docs/embedding.md, "Loosely-timed register access").
//
// Built out of tree against `find_package(cmm)` (see CMakeLists.txt here);
// the project's test `package_embed_example` installs the package and builds
// and runs this. Exit code 0 and "embed: delivered" when the message arrived.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <systemc>
#include <tlm>

#include "cmm_sw/endpoint.h"
#include "cmm_sw/kernel_agent.h"
#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/node_bus.h"

using namespace sc_core;
using cmm::sw::Event;
using cmm::sw::KernelAgent;

namespace {

const sc_time kPeriod(1, SC_NS);
constexpr uint16_t kRecvPid = 10, kSendPid = 20;
const char kMessage[] = "hello across the fabric";

uint64_t cycle() { return static_cast<uint64_t>(sc_time_stamp() / kPeriod); }

// The CPU of a server: cycle-accurate (PartitionBusIf) or loosely timed
// (LtPartitionBusIf with its quantum keeper). Both give RegIf contexts whose
// requester id the hardware stamps.
struct CaCpu {
  cmm::tlmshell::PartitionBusIf bus{"cpu"};
  std::unique_ptr<cmm::tlmshell::CpuBusIf> ctx(cmm::regs::Priv p, uint16_t pid) { return bus.make_context(p, pid); }
  void spend(const sc_time& t) { wait(t); }
  uint64_t now_cycle() const { return cycle(); }
};
struct LtCpu {
  cmm::tlmshell::LtPartitionBusIf bus{"cpu"};
  std::unique_ptr<cmm::tlmshell::LtCpuBusIf> ctx(cmm::regs::Priv p, uint16_t pid) { return bus.make_context(p, pid); }
  void spend(const sc_time& t) { bus.advance(t); }  // local time; wait()s only at the quantum
  uint64_t now_cycle() { return static_cast<uint64_t>(bus.qk().get_current_time() / kPeriod); }
};

template <class Cpu>
struct Server : sc_module {
  cmm::tlmshell::CmmTlm cmm;
  cmm::tlmshell::NodeBus bus;
  Cpu cpu;
  std::unique_ptr<cmm::sw::RegIf> kernel_ctx, user_ctx;
  std::unique_ptr<KernelAgent> agent;

  Server(sc_module_name n, uint8_t node_id) : sc_module(n), cmm("cmm", config(node_id)), bus("bus", 1, kPeriod) {
    bus.cmm_isock.bind(cmm.reg_tsock);  // partition 0's port: nb_transport and b_transport alike
    cpu.bus.isock.bind(*bus.part_tsock[0]);
    kernel_ctx = cpu.ctx(cmm::regs::Priv::kKernel, 0);
    user_ctx = cpu.ctx(cmm::regs::Priv::kUser, node_id == 1 ? kRecvPid : kSendPid);
    agent = std::make_unique<KernelAgent>(*kernel_ctx, /*key_seed=*/42);
    agent->set_clock([this] { return cpu.now_cycle(); });
  }
  static cmm::tlmshell::CmmTlmConfig config(uint8_t node_id) {
    cmm::tlmshell::CmmTlmConfig c;
    c.clock_period = kPeriod;
    c.straps.node_id = node_id;
    c.straps.quota.fill(0);  // the quotas must fit the endpoint table
    c.straps.quota[0] = 8;
    return c;
  }
  // Agent bring-up, then poll until `done` says stop; events go to on_event.
  template <class OnEvent, class Done>
  void run_agent(OnEvent on_event, Done done) {
    if (!agent->init().ok()) SC_REPORT_FATAL("embed", "kernel agent init failed");
    while (!done()) {
      if (!agent->poll().ok()) SC_REPORT_FATAL("embed", "kernel agent poll failed");
      Event ev;
      while (agent->next_event(ev)) on_event(ev);
      cpu.spend(20 * kPeriod);
    }
  }
};

struct Platform : sc_module {
  Server<CaCpu> receiver{"server1", 1};
  Server<LtCpu> sender{"server2", 2};
  cmm::tlmshell::Crossbar fabric{"fabric", fabric_config()};
  bool delivered = false;
  int8_t recv_ep = -1, send_ep = -1;

  SC_HAS_PROCESS(Platform);
  explicit Platform(sc_module_name n) : sc_module(n) {
    receiver.cmm.eg_isock.bind(*fabric.in_tsock[0]);
    fabric.out_isock[0]->bind(receiver.cmm.ing_tsock);
    sender.cmm.eg_isock.bind(*fabric.in_tsock[1]);
    fabric.out_isock[1]->bind(sender.cmm.ing_tsock);
    fabric.set_route(1, 0);  // node id -> crossbar port (also pins each port's source id)
    fabric.set_route(2, 1);
    SC_THREAD(receiver_cpu);
    SC_THREAD(sender_cpu);
  }
  static cmm::tlmshell::XbarConfig fabric_config() {
    cmm::tlmshell::XbarConfig c;
    c.num_ports = 2;
    c.ports.assign(2, cmm::tlmshell::XbarPortConfig{16, 2});
    return c;
  }

  void receiver_cpu() {
    bool requested = false;
    receiver.run_agent(
        [&](const Event& ev) {
          std::printf("embed: cycle %llu node 1: %s\n", static_cast<unsigned long long>(cycle()), ev.str().c_str());
          if (ev.kind == Event::Kind::kChannelReady) recv_ep = static_cast<int8_t>(ev.ep);
          if (ev.kind == Event::Kind::kRxPending && recv_ep >= 0) {
            cmm::sw::Endpoint ep(*receiver.user_ctx, static_cast<uint8_t>(recv_ep));
            char buf[64] = {};
            cmm::sw::RxInfo info;
            if (ep.receive(buf, sizeof buf - 1, info).ok() && info.len == sizeof kMessage &&
                std::memcmp(buf, kMessage, sizeof kMessage) == 0) {
              std::printf("embed: delivered \"%s\" at cycle %llu\n", buf, static_cast<unsigned long long>(cycle()));
              delivered = true;
            }
          }
          if (ev.kind == Event::Kind::kChannelFailed) SC_REPORT_FATAL("embed", "channel set-up failed");
          (void)requested;
        },
        [&] {
          if (!requested) {
            uint16_t req = 0;
            if (!receiver.agent->request_channel({2, 0, kSendPid, kRecvPid}, req).ok())
              SC_REPORT_FATAL("embed", "request_channel failed");
            requested = true;
          }
          return delivered;
        });
    sc_stop();
  }

  void sender_cpu() {
    bool sent = false;
    sender.run_agent(
        [&](const Event& ev) {
          std::printf("embed: cycle %llu node 2: %s\n", static_cast<unsigned long long>(sender.cpu.now_cycle()),
                      ev.str().c_str());
          if (ev.kind == Event::Kind::kSendReady) send_ep = static_cast<int8_t>(ev.ep);
        },
        [&] {
          if (send_ep >= 0 && !sent) {
            cmm::sw::Endpoint ep(*sender.user_ctx, static_cast<uint8_t>(send_ep));
            if (!ep.send(kMessage, sizeof kMessage, /*tag=*/7).ok()) SC_REPORT_FATAL("embed", "send refused");
            sent = true;
          }
          return delivered;
        });
    sender.cpu.bus.sync();
  }
};

}  // namespace

int sc_main(int, char*[]) {
  // Node 2's CPU runs up to 200 cycles ahead of simulated time between synchronisations.
  tlm::tlm_global_quantum::instance().set(200 * kPeriod);
  Platform top("top");
  sc_start(sc_time(1, SC_MS));  // sc_stop() at delivery; the limit only catches a hang
  if (!top.delivered) {
    std::printf("embed: FAILED, nothing delivered by cycle %llu\n", static_cast<unsigned long long>(cycle()));
    return 1;
  }
  const auto& lt = top.sender.cmm.stats();
  std::printf("embed: node 2 loosely timed: %llu register accesses by b_transport, %llu CPU synchronisations, "
              "%llu waits inside the CMM\n",
              static_cast<unsigned long long>(lt.lt_requests), static_cast<unsigned long long>(top.sender.cpu.bus.syncs()),
              static_cast<unsigned long long>(lt.lt_syncs));
  return lt.lt_requests > 0 && lt.lt_syncs == 0 ? 0 : 1;
}
