// Replays every directed core test (hw/src/cmm_core_test.cpp, compiled again
// into this executable) on the RTL core in lockstep: each CoreHarness gets a
// shadow Verilated core driven with the identical PinsIn at every edge, and
// every output is compared after every edge. A direct core.reset() of a test
// is seen as the cycle counter restarting and replayed as reset edges. A few
// tests also step the core directly (CmmCore::step(), bypassing the harness):
// those edges are invisible here, so that core's replay stops there (counted
// and reported as partial, not as a failure).
// Built with CMM_REPLAY_STRONG (cmm_rtl_strong_test): strong cores at the
// RTL flavour's engine (B = 16, L = 4) are replayed on the STRONG = 1 core;
// strong cores at other engine settings are skipped and counted.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <memory>

#include "cmm_core_testing.h"
#include "cosim.h"

namespace cmm::dv {
namespace {

struct Shadow {
  std::unique_ptr<CorePinsModel> rtl;
  uint64_t last_cycle = 0;
  bool failed = false;
  bool desynced = false;  // the core was stepped outside the harness
};

class Replay final : public ::testing::EmptyTestEventListener {
 public:
  Replay() {
    coretest::edge_hook() = [this](const coretest::CoreHarness& h, const PinsIn& in, const PinsOut& before) {
      on_edge(h, in, before);
    };
  }
  void OnTestStart(const ::testing::TestInfo& t) override {
    shadows_.clear();
    cycles_ = 0;
    // Jumps a link's CONNECT counter through a test-only back door of the C++
    // core (2^32 CONNECTs are not simulated): no pin can do that to the RTL.
    backdoor_ = std::string(t.name()) == "LinkCounterNeverWrapsKeyExhaustedUntilReprovisioned";
  }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    size_t partial = 0;
    for (const auto& [h, s] : shadows_) partial += s.desynced;
    std::printf("[rtl-replay] %s.%s: %llu cycles on %zu core(s) matched the RTL, every output every cycle%s\n",
                t.test_suite_name(), t.name(), static_cast<unsigned long long>(cycles_), shadows_.size(),
                partial ? " (partial: replay stopped at a direct CmmCore::step() of the test)" : "");
    if (backdoor_) std::printf("[rtl-replay] %s.%s: not replayed (test-only back door into the C++ core)\n",
                               t.test_suite_name(), t.name());
    if (skipped_) std::printf("[rtl-replay] %s.%s: %llu core(s) not replayed (engine settings of no RTL flavour)\n",
                              t.test_suite_name(), t.name(), static_cast<unsigned long long>(skipped_));
    skipped_ = 0;
    skipped_set_.clear();
    total_cycles_ += cycles_;
    tests_ += cycles_ != 0;
    partial_tests_ += partial != 0;
    shadows_.clear();
  }
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    std::printf("[rtl-replay] total: %llu directed tests replayed (%llu of them partially), %llu cycles matched\n",
                static_cast<unsigned long long>(tests_), static_cast<unsigned long long>(partial_tests_),
                static_cast<unsigned long long>(total_cycles_));
  }

 private:
  void compare(const coretest::CoreHarness& h, Shadow& s, const PinsOut& ref, const char* when) {
    std::string port, vr, vd, all;
    if (!first_output_diff(ref, s.rtl->out(), port, vr, vd, all)) return;
    s.failed = true;
    ADD_FAILURE() << "RTL lockstep mismatch (node " << unsigned(h.core.straps().node_id) << ") at core cycle "
                  << h.core.cycle() << " " << when << ", first port " << port << ": C++ " << vr << ", RTL " << vd
                  << "; all differing ports: " << all;
  }

  void on_edge(const coretest::CoreHarness& h, const PinsIn& in, const PinsOut& before) {
    if (backdoor_) return;
    const CoreParams& p = h.core.params();
#if defined(CMM_REPLAY_STRONG)
    if (p.strong && (p.mac_bytes_per_cycle != 16 || p.mac_latency_cycles != 4)) {
      if (skipped_set_.insert(&h).second) ++skipped_;
      return;
    }
#else
    if (p.strong) return;  // replayed by cmm_rtl_strong_test (STRONG = 1 flavour)
#endif
    auto it = shadows_.find(&h);
    if (it == shadows_.end()) {
      Shadow s;
#if defined(CMM_REPLAY_STRONG)
      s.rtl = p.strong ? make_rtl_model_strong(h.core.straps(), RtlTrace{}) : make_rtl_model(h.core.straps(), RtlTrace{});
#else
      s.rtl = make_rtl_model(h.core.straps(), RtlTrace{});
#endif
      it = shadows_.emplace(&h, std::move(s)).first;
      it->second.last_cycle = ~0ull;  // power-up: reset edge below
    }
    Shadow& s = it->second;
    if (s.failed || s.desynced) return;
    // core.cycle() is 1 after the first edge following construction or reset();
    // any other jump means edges the harness did not see.
    if (h.core.cycle() != s.last_cycle + 1 && h.core.cycle() != 1) {
      s.desynced = true;
      return;
    }
    if (h.core.cycle() != s.last_cycle + 1) {
      s.rtl->reset();
      s.rtl->reset();
      compare(h, s, before, "(after reset)");
      if (s.failed) return;
    }
    s.rtl->step(in);
    s.last_cycle = h.core.cycle();
    ++cycles_;
    compare(h, s, h.core.out(), "");
  }

  std::map<const coretest::CoreHarness*, Shadow> shadows_;
  std::set<const coretest::CoreHarness*> skipped_set_;
  uint64_t skipped_ = 0;
  bool backdoor_ = false;
  uint64_t cycles_ = 0, total_cycles_ = 0, tests_ = 0, partial_tests_ = 0;
};

// Installed before RUN_ALL_TESTS (gtest_main), owned by gtest.
[[maybe_unused]] const bool kInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Replay);
  return true;
}();

}  // namespace
}  // namespace cmm::dv
