// Two-node fixture of the patent's FIG. 1/5 example on real cores:
// receiver process 216 on node 202 partition 3, sender process 220b (pid 2202)
// on node 204 partition 0, each partition with a kernel agent.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "cmm_sw/endpoint.h"
#include "cmm_sw/kernel_agent.h"
#include "cmm_sw_testing/core_reg_if.h"

namespace cmm::sw::testing {

inline constexpr uint8_t kRecvNode = 202, kRecvPart = 3;
inline constexpr uint16_t kRecvPid = 216;
inline constexpr uint8_t kSendNode = 204, kSendPart = 0;
inline constexpr uint16_t kSendPid = 2202;  // process 220b

// Agent timers in the tests: short, in CMM cycles of the loopback fabric.
inline AgentConfig test_config() {
  AgentConfig c;
  c.connect_timeout = 256;
  c.request_timeout = 8192;
  c.grant_timeout = 8192;
  c.mgmt_tries = 4;  // back-off 64..512 cycles: all four re-sends fit in the request timeout
  return c;
}

class TwoNodes : public ::testing::Test {
 protected:
  explicit TwoNodes(const AgentConfig& recv_cfg = test_config(), const AgentConfig& send_cfg = test_config())
      : recv_agent(recv_kbus, 0x202'0003, recv_cfg), send_agent(send_kbus, 0x204'0000, send_cfg) {}

  // Quotas add up to the table (16): the CMM reserves every partition's
  // unused quota (docs/security.md 1.7).
  static constexpr std::array<uint8_t, regs::kNumPartitions> kQuotaRecv{2, 2, 2, 4, 2, 2, 2, 0};
  static constexpr std::array<uint8_t, regs::kNumPartitions> kQuotaSend{2, 2, 2, 2, 2, 2, 2, 2};

  LoopbackFabric fab{2};
  SimNode& rnode = fab.add_node(kRecvNode, kQuotaRecv);
  SimNode& snode = fab.add_node(kSendNode, kQuotaSend);
  CoreRegIf recv_kbus{rnode, kRecvPart, regs::Priv::kKernel, 0};
  CoreRegIf recv_ubus{rnode, kRecvPart, regs::Priv::kUser, kRecvPid};
  CoreRegIf send_kbus{snode, kSendPart, regs::Priv::kKernel, 0};
  CoreRegIf send_ubus{snode, kSendPart, regs::Priv::kUser, kSendPid};
  KernelAgent recv_agent;
  KernelAgent send_agent;
  std::vector<Event> recv_ev, send_ev;

  void SetUp() override {
    // The agents' clock: the CMM cycle count (no wall-clock time).
    recv_agent.set_clock([this] { return fab.cycle(); });
    send_agent.set_clock([this] { return fab.cycle(); });
    ASSERT_EQ(recv_agent.init(), Status::Ok());
    ASSERT_EQ(send_agent.init(), Status::Ok());
  }

  static void drain(KernelAgent& a, std::vector<Event>& into) {
    Event e;
    while (a.next_event(e)) into.push_back(e);
  }
  // One round of both partition CPU threads: each agent polls (its accesses
  // step the whole fabric), then the fabric idles a few cycles.
  void round() {
    ASSERT_EQ(recv_agent.poll(), Status::Ok());
    drain(recv_agent, recv_ev);
    ASSERT_EQ(send_agent.poll(), Status::Ok());
    drain(send_agent, send_ev);
    fab.run(4);
  }
  bool pump(const std::function<bool()>& done, int max_rounds = 100) {
    for (int i = 0; i < max_rounds; ++i) {
      if (done()) return true;
      round();
      if (::testing::Test::HasFatalFailure()) return false;
    }
    return done();
  }
  // Rounds until the fabric has run at least `cycles` more cycles or done().
  bool run_for(uint64_t cycles, const std::function<bool()>& done = [] { return false; }) {
    const uint64_t end = fab.cycle() + cycles;
    while (fab.cycle() < end) {
      if (done()) return true;
      round();
      if (::testing::Test::HasFatalFailure()) return false;
    }
    return done();
  }
  static const Event* find(const std::vector<Event>& v, Event::Kind k, uint16_t req_id = kNoRequest) {
    for (const Event& e : v)
      if (e.kind == k && (req_id == kNoRequest || e.req_id == req_id)) return &e;
    return nullptr;
  }
  static size_t count(const std::vector<Event>& v, Event::Kind k) {
    return static_cast<size_t>(std::count_if(v.begin(), v.end(), [k](const Event& e) { return e.kind == k; }));
  }
  // Error-log occurrences (coalesced repeats included) of one reason.
  static uint32_t logged(const std::vector<Event>& v, regs::Reason r) {
    uint32_t n = 0;
    for (const Event& e : v)
      if (e.kind == Event::Kind::kErrorLogged && e.error.reason == r) n += e.count;
    return n;
  }
  static uint32_t occurrences(const std::vector<Event>& v, Event::Kind k) {
    uint32_t n = 0;
    for (const Event& e : v)
      if (e.kind == k) n += e.count;
    return n;
  }

  // DESIGN steps 1-3 through the agents: returns the receive and send endpoints.
  void open_channel(uint16_t& rep, uint16_t& sep) {
    uint16_t req = 0;
    ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req),
              Status::Ok());
    ASSERT_TRUE(pump([&] {
      return find(recv_ev, Event::Kind::kChannelReady, req) && find(send_ev, Event::Kind::kSendReady, req);
    })) << "channel did not open";
    rep = find(recv_ev, Event::Kind::kChannelReady, req)->ep;
    sep = find(send_ev, Event::Kind::kSendReady, req)->ep;
  }
};

}  // namespace cmm::sw::testing
