// Replays the directed core tests (a test file of hw/src/, compiled again
// into this executable) on the RTL core in lockstep: each CoreHarness gets a
// shadow Verilated core driven with the identical PinsIn at every edge
// (CoreHarness::edge() and the pin-level CoreHarness::step()), and every
// output is compared after every edge. A direct core.reset() of a test is
// seen as the cycle counter restarting and replayed as reset edges.
//
// A core stepped behind the harness's back (CmmCore::step() called directly)
// is a FAILURE: the replay would silently stop following it. It is caught at
// the next harness edge (the cycle count jumped) and when the harness ends
// (the core's cycle count is not the last one replayed).
//
// Cores no Verilated model can play are counted and reported, not failed:
// non-default geometry, reliable delivery and rekey (C++-only CoreParams
// switches, docs/strong-mode.md 6, 7) and strong cores at engine settings of no
// RTL flavour. The replay of a core stops (reported, not failed) at a
// test-only back door the test announced (CoreHarness::note_backdoor()) and
// at an edge whose inputs no RTL pin carries (fault_table = 2: the link-key
// table has no RTL fault port nor parity, docs/security.md 1.11).
// Built with CMM_REPLAY_G2 (cmm_rtl_geometry_test): plain cores of exactly
// the second RTL geometry (CMM_RTL_GEOMETRY2) replay on that model.
// Built with CMM_REPLAY_STRONG: strong cores at the RTL flavour's engine
// (B = 16, L = 4) are replayed on the STRONG = 1 core; without it, strong
// cores are counted as not replayable in this executable.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "cmm_core_testing.h"
#include "cosim.h"

namespace cmm::dv {
namespace {

// Why a core with these parameters has no Verilated model here (nullptr: it has one).
const char* no_model(const CoreParams& p) {
#if defined(CMM_REPLAY_G2)
  // The second geometry's model (CMM_RTL_GEOMETRY2) plays plain cores of exactly that geometry.
  if (!p.geo.is_default() && !(p.geo == rtl_g2_geometry() && !p.strong))
    return "non-default geometry (no Verilated model)";
#else
  if (!p.geo.is_default()) return "non-default geometry (no Verilated model)";
#endif
  if (p.reliable) return "reliable delivery (C++-only, strong-mode.md 6)";
  if (p.rekey) return "rekey (C++-only, strong-mode.md 7)";
#if defined(CMM_REPLAY_STRONG)
  if (p.strong && (p.mac_bytes_per_cycle != 16 || p.mac_latency_cycles != 4))
    return "strong MAC engine settings of no RTL flavour (only B = 16, L = 4)";
#else
  if (p.strong) return "strong core (replayed by the executables built with the STRONG = 1 model)";
#endif
  return nullptr;
}

struct Shadow {
  std::unique_ptr<CorePinsModel> rtl;
  uint64_t last_cycle = ~0ull;  // power-up: reset edge at the first edge
  uint64_t cycles = 0;
  bool failed = false;            // mismatch (reported)
  bool desynced = false;          // stepped outside the harness (reported, failed)
  std::string stop;               // why the replay stopped before the end ("": it did not)
};

class Replay final : public ::testing::EmptyTestEventListener {
 public:
  Replay() {
    coretest::edge_hook() = [this](const coretest::CoreHarness& h, const PinsIn& in, const PinsOut& before) {
      on_edge(h, in, before);
    };
    coretest::end_hook() = [this](const coretest::CoreHarness& h) { on_end(h); };
  }
  void OnTestStart(const ::testing::TestInfo&) override {
    shadows_.clear();
    skipped_.clear();
    t_ = PerTest{};
  }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    // Harnesses still alive (none in the current tests): their end is not checked.
    for (auto& [h, s] : shadows_) account(s);
    shadows_.clear();
    const std::string name = std::string(t.test_suite_name()) + "." + t.name();
    if (t_.cores) {
      std::printf("[rtl-replay] %s: %llu cycles on %llu core(s) matched the RTL, every output every cycle%s\n",
                  name.c_str(), static_cast<unsigned long long>(t_.cycles), static_cast<unsigned long long>(t_.cores),
                  t_.desynced ? " (FAILED: a core was stepped outside the harness)" : "");
    }
    for (const auto& [why, n] : t_.stopped)
      std::printf("[rtl-replay] %s: %llu core(s) replayed only up to %s\n", name.c_str(),
                  static_cast<unsigned long long>(n), why.c_str());
    for (const auto& [why, n] : t_.skipped)
      std::printf("[rtl-replay] %s: %llu core(s) not replayed: %s\n", name.c_str(), static_cast<unsigned long long>(n),
                  why.c_str());
    total_cycles_ += t_.cycles;
    tests_ += t_.cores != 0;
    full_tests_ += t_.cores != 0 && t_.stopped.empty() && t_.skipped.empty() && !t_.desynced;
    stopped_tests_ += !t_.stopped.empty();
    skipped_tests_ += !t_.skipped.empty();
    partial_tests_ += t_.desynced;
    for (const auto& [why, n] : t_.skipped) skipped_cores_ += n;
  }
  void OnTestProgramEnd(const ::testing::UnitTest& u) override {
    std::printf("[rtl-replay] total: %llu of %d tests replayed (%llu in full; %llu with a core up to a back door or "
                "a pin of no RTL; %llu with %llu core(s) of no RTL model), %llu stepped outside the harness, %llu "
                "cycles matched\n",
                static_cast<unsigned long long>(tests_), u.test_to_run_count(),
                static_cast<unsigned long long>(full_tests_), static_cast<unsigned long long>(stopped_tests_),
                static_cast<unsigned long long>(skipped_tests_), static_cast<unsigned long long>(skipped_cores_),
                static_cast<unsigned long long>(partial_tests_), static_cast<unsigned long long>(total_cycles_));
  }

 private:
  struct PerTest {
    uint64_t cycles = 0, cores = 0;
    bool desynced = false;
    std::map<std::string, uint64_t> stopped, skipped;  // reason -> cores
  };

  void compare(const coretest::CoreHarness& h, Shadow& s, const PinsIn& in, const PinsOut& ref, const char* when) {
    std::string port, vr, vd, all;
    if (!first_output_diff(ref, s.rtl->out(), port, vr, vd, all)) return;
    s.failed = true;
    std::ostringstream req;
    if (in.reg_req_valid)
      req << "; register " << (in.reg_req_write ? "write" : "read") << " 0x" << std::hex << in.reg_req_addr
          << " (part " << std::dec << unsigned(in.reg_req_part) << ") at this edge";
    if (in.ing_valid) req << "; ingress opcode " << unsigned(in.ing_hdr.opcode);
    ADD_FAILURE() << "RTL lockstep mismatch (node " << unsigned(h.core.straps().node_id) << ") at core cycle "
                  << h.core.cycle() << when << ", first port " << port << ": C++ " << vr << ", RTL " << vd
                  << "; all differing ports: " << all << req.str();
  }

  void desync(const coretest::CoreHarness& h, Shadow& s, const char* when) {
    s.desynced = true;
    ADD_FAILURE() << "core of node " << unsigned(h.core.straps().node_id) << " was stepped outside CoreHarness "
                  << when << " (core cycle " << h.core.cycle() << ", last replayed "
                  << (s.last_cycle == ~0ull ? std::string("none") : std::to_string(s.last_cycle))
                  << "): the RTL replay cannot follow it; drive pin-level edges with CoreHarness::step(PinsIn)";
  }

  // Once per core: the core's share of the test's figures.
  void account(const Shadow& s) {
    t_.cycles += s.cycles;
    t_.cores += s.cycles != 0;
    t_.desynced |= s.desynced;
    if (!s.stop.empty()) ++t_.stopped[s.stop];
  }

  void on_edge(const coretest::CoreHarness& h, const PinsIn& in, const PinsOut& before) {
    const CoreParams& p = h.core.params();
    if (const char* why = no_model(p)) {
      if (skipped_.insert(&h).second) ++t_.skipped[why];
      return;
    }
    auto it = shadows_.find(&h);
    if (it == shadows_.end()) {
      Shadow s;
      if (!h.backdoor()) {
#if defined(CMM_REPLAY_G2)
        if (!p.geo.is_default()) s.rtl = make_rtl_model_g2(h.core.straps(), RtlTrace{});
        else
#endif
#if defined(CMM_REPLAY_STRONG)
        s.rtl = p.strong ? make_rtl_model_strong(h.core.straps(), RtlTrace{})
                         : make_rtl_model(h.core.straps(), RtlTrace{});
#else
        s.rtl = make_rtl_model(h.core.straps(), RtlTrace{});
#endif
      }
      it = shadows_.emplace(&h, std::move(s)).first;
    }
    Shadow& s = it->second;
    if (s.failed || s.desynced || !s.stop.empty()) return;
    if (h.backdoor()) {
      s.stop = std::string("the test-only back door ") + h.backdoor();
      return;
    }
    // core.cycle() is 1 after the first edge following construction or reset();
    // any other jump means edges the harness did not see.
    if (h.core.cycle() != s.last_cycle + 1 && h.core.cycle() != 1) {
      desync(h, s, "before this edge");
      return;
    }
    if (h.core.cycle() != s.last_cycle + 1) {
      s.rtl->reset();
      s.rtl->reset();
      compare(h, s, PinsIn{}, before, " (after reset)");
      if (s.failed) return;
    }
    if (in.fault_valid && in.fault_table > 1) {
      s.stop = "a fault injected into the link-key table (no RTL fault port nor link parity, security.md 1.11)";
      return;
    }
    s.rtl->step(in);
    s.last_cycle = h.core.cycle();
    ++s.cycles;
    compare(h, s, in, h.core.out(), "");
  }

  // The harness ends (its destructor): every edge of its core must have been replayed.
  void on_end(const coretest::CoreHarness& h) {
    skipped_.erase(&h);
    auto it = shadows_.find(&h);
    if (it == shadows_.end()) {
      if (h.core.cycle() != 0 && !h.backdoor() && !no_model(h.core.params())) {
        Shadow s;
        desync(h, s, "at every edge");
        account(s);
      }
      return;
    }
    Shadow& s = it->second;
    if (!s.failed && !s.desynced && s.stop.empty() && h.core.cycle() != 0 && h.core.cycle() != s.last_cycle)
      desync(h, s, "after its last harness edge");
    account(s);
    shadows_.erase(it);  // a later harness at the same address is a new core
  }

  std::map<const coretest::CoreHarness*, Shadow> shadows_;
  std::set<const coretest::CoreHarness*> skipped_;
  PerTest t_;
  uint64_t total_cycles_ = 0, tests_ = 0, full_tests_ = 0, stopped_tests_ = 0, skipped_tests_ = 0,
           skipped_cores_ = 0, partial_tests_ = 0;
};

// Installed before RUN_ALL_TESTS (gtest_main), owned by gtest.
[[maybe_unused]] const bool kInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new Replay);
  return true;
}();

}  // namespace
}  // namespace cmm::dv
