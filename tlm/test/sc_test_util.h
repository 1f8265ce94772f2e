// Helpers for SystemC tests under GoogleTest. SystemC allows one elaboration
// per process: ctest runs every TEST in its own process (gtest_discover_tests);
// a second simulation test in the same process is skipped, not failed.
#pragma once
#include <functional>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <systemc>

namespace cmm::tlmshell::test {

inline bool claim_kernel() {
  static bool used = false;
  if (used) return false;
  used = true;
  return true;
}

#define CMM_REQUIRE_FRESH_KERNEL()                                                             \
  do {                                                                                         \
    if (!::cmm::tlmshell::test::claim_kernel())                                                \
      GTEST_SKIP() << "one SystemC elaboration per process: run each test alone (ctest does)"; \
  } while (0)

// Runs a function as an SC_THREAD.
class ThreadRunner : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ThreadRunner);
  ThreadRunner(sc_core::sc_module_name n, std::function<void()> fn) : sc_module(n), fn_(std::move(fn)) {
    SC_THREAD(run);
  }
  bool finished = false;

 private:
  void run() {
    fn_();
    finished = true;
  }
  std::function<void()> fn_;
};

}  // namespace cmm::tlmshell::test

// libsystemc provides main() and calls sc_main.
#define CMM_SC_TEST_MAIN                       \
  int sc_main(int argc, char** argv) {         \
    ::testing::InitGoogleTest(&argc, argv);    \
    return RUN_ALL_TESTS();                    \
  }
