// Fuzz harness: scenario/config parser (testbench/scenario.cpp).
// Any bytes -> JSON (not JSON: nothing to check, cmmsim reports the parse
// error) -> scenario_from_json() must either throw ConfigError or return a
// scenario that validates; a valid scenario must survive to_json() ->
// scenario_from_json() unchanged. Anything else (another exception, a crash,
// a sanitizer report) is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "scenario.h"

using cmm::tb::ConfigError;
using cmm::tb::Scenario;

namespace {
[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_scenario: %s: %s\n", what, detail.c_str());
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  Scenario s;
  try {
    s = cmm::tb::scenario_from_json(j, "fuzz");
  } catch (const ConfigError&) {
    return 0;  // the clean refusal
  } catch (const std::exception& e) {
    fail("exception other than ConfigError", e.what());
  }
  // Accepted: it validates, and its JSON form reads back to the same scenario.
  nlohmann::json back;
  try {
    s.validate();
    back = s.to_json();
    const Scenario s2 = cmm::tb::scenario_from_json(back, "fuzz round trip");
    if (s2.to_json() != back) fail("round trip changed the scenario", back.dump());
  } catch (const std::exception& e) {
    fail("accepted scenario does not read back", std::string(e.what()) + " in " + back.dump());
  }
  return 0;
}
