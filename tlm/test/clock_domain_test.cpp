// One clock, one dispatcher: a component is evaluated at every edge it asked
// for, in attach order, and at no other.
#include <vector>

#include "cmm_tlm/clock_domain.h"
#include "sc_test_util.h"

using namespace cmm::tlmshell;
using namespace sc_core;

namespace {

struct Recorder : Clocked {
  std::vector<uint64_t> edges;
  std::function<void(uint64_t)> on;
  void clock_edge(uint64_t c) override {
    edges.push_back(c);
    if (on) on(c);
  }
};

// Another process asks for a later edge at the time of an edge already due,
// before the dispatcher has run at that time (a bus request arriving at an
// edge time). The due edge must still be evaluated. The dispatcher used to
// overwrite it with the later one: a CMM shell then skipped the edge that
// carried a register response, and the RTL core lost the response pulse in
// its idle edges (found by cmmsim_rtl_nodes_identical).
TEST(ClockDomain, ALaterRequestAtTheTimeOfADueEdgeDoesNotCancelIt) {
  CMM_REQUIRE_FRESH_KERNEL();
  ClockDomain clk("clk", sc_time(1, SC_NS));
  Recorder a, b;
  const uint32_t ia = clk.attach(a);
  const uint32_t ib = clk.attach(b);
  // a asks for its next edge from inside its edges (as a busy shell does).
  a.on = [&](uint64_t c) {
    if (c < 5) clk.wake_at(ia, c + 1);
  };
  clk.wake_at(ia, 3);
  clk.wake_at(ib, 3);
  // Stop at time 4 before its edge is evaluated, then ask for a later edge
  // for a: exactly what a process running before the dispatcher at that time
  // does.
  sc_start(sc_time(4, SC_NS));
  ASSERT_EQ(sc_time_stamp(), sc_time(4, SC_NS));
  ASSERT_EQ(a.edges, (std::vector<uint64_t>{3}));
  clk.wake_at(ia, 20);
  sc_start(sc_time(26, SC_NS));
  // Edge 4 was due, so the request for 20 is dropped (the earliest request
  // wins; a component asks again at each edge it evaluates).
  EXPECT_EQ(a.edges, (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(b.edges, (std::vector<uint64_t>{3}));
}

}  // namespace

CMM_SC_TEST_MAIN
