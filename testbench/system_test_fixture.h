// Shared by the whole-system tests (system_test.cpp, system_security_test.cpp,
// system_fault_test.cpp): the one-elaboration-per-process guard, run helpers,
// lookups into a RunResult, and the test main. SystemC allows one elaboration
// per process: ctest runs each TEST in its own process; a second simulation
// in the same process is skipped, not failed.
#pragma once
#include <cstdint>
#include <string>

#include <gtest/gtest.h>
#include <systemc>

#include "system.h"

namespace cmm::tb::test {

inline bool claim_kernel() {
  static bool used = false;
  if (used) return false;
  used = true;
  return true;
}

inline RunOptions opts(uint64_t seed) {
  RunOptions o;
  o.seed = seed;
  return o;
}

inline RunResult run(const Scenario& s, uint64_t seed) { return run_system(s, opts(seed)); }

// The summary, for failure messages.
inline std::string dump(const RunResult& r) { return summary_text(r, false); }

inline const ChannelRow* row(const RunResult& r, const std::string& label) {
  for (const auto& c : r.channels)
    if (c.label == label) return &c;
  return nullptr;
}

// An attack's refusals with one reason, and with any.
inline uint64_t refused(const AttackRow& a, const std::string& reason) {
  auto it = a.refused.find(reason);
  return it == a.refused.end() ? 0 : it->second;
}

inline uint64_t sum_refused(const AttackRow& a) {
  uint64_t n = 0;
  for (const auto& [k, v] : a.refused) n += v;
  return n;
}

inline uint64_t obs(const AttackRow& a, const char* key) { return a.observed.at(key).get<uint64_t>(); }

}  // namespace cmm::tb::test

#define REQUIRE_FRESH_KERNEL()                                                                \
  do {                                                                                        \
    if (!::cmm::tb::test::claim_kernel())                                                     \
      GTEST_SKIP() << "one SystemC elaboration per process: run each test alone (ctest does)"; \
  } while (0)

// libsystemc provides main() and calls sc_main; SystemC's info messages off.
#define CMM_TB_SYSTEM_TEST_MAIN                                                                        \
  int sc_main(int argc, char** argv) {                                                                 \
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING); \
    ::testing::InitGoogleTest(&argc, argv);                                                            \
    return RUN_ALL_TESTS();                                                                            \
  }
