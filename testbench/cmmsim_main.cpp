// cmmsim: runs a scenario (default: the patent's FIG. 2 system) and reports.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <systemc>

#include "system.h"

#ifndef CMM_GIT_HASH
#define CMM_GIT_HASH "unknown"
#endif
#ifndef CMM_VERILATOR_VERSION
#define CMM_VERILATOR_VERSION "not in this build"
#endif

namespace fs = std::filesystem;
using namespace cmm::tb;

namespace {
volatile std::sig_atomic_t g_interrupt = 0;
extern "C" void on_sigint(int) { g_interrupt = 1; }
}  // namespace

int sc_main(int argc, char** argv) {
  // The end of a run is an sc_stop() by the testbench, not news.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  CLI::App app{"cmmsim: cycle-accurate simulation of CMM-based multi-node systems"};
  uint64_t seed = 1;
  std::string config, out_dir, builtin = "fig2";
  int64_t messages = -1;
  uint64_t max_cycles = 0;
  bool dump_config = false, quiet = false, no_progress = false;
  auto* seed_opt = app.add_option("--seed", seed,
                                  "random seed: same seed and configuration, identical statistics and traces "
                                  "(default: the configuration's seed, 1)");
  app.add_option("-s,--scenario", builtin, "built-in scenario: fig2 (the patent's FIG. 2 system) or fig2-attacks "
                                            "(the same under attack)")
      ->check(CLI::IsMember({"fig2", "fig2-attacks"}))
      ->capture_default_str();
  app.add_option("-c,--config", config, "scenario JSON file (instead of a built-in scenario; see --dump-config)")
      ->check(CLI::ExistingFile);
  app.add_option("-o,--out", out_dir, "write config.json, stats.json (deterministic), speed.json, row.csv (one CSV row, for sweeps) and summary.txt into this folder");
  app.add_option("--messages", messages, "override the message count of every channel")
      ->check(CLI::Range(int64_t{0}, int64_t{65535}));
  app.add_option("--max-cycles", max_cycles, "watchdog: fail if the run is not done after this many cycles");
  std::vector<std::string> sets;
  app.add_option("--set", sets,
                 "override a scenario key, KEY=VALUE (repeatable; nested keys as a.b), e.g. --set topology=mesh "
                 "--set traffic.offered_load=0.01; see --dump-config for the keys");
  RunOptions ro;
  app.add_option("--trace", ro.perfetto_path,
                 "write a Perfetto/Chrome trace-event JSON timeline to this file (open in ui.perfetto.dev)");
  app.add_option("--vcd", ro.vcd_path, "write a VCD waveform of every CMM core's pins to this file (GTKWave)");
  app.add_option("--trace-from", ro.trace_from_cycle, "traces: first cycle of the window (CMM clock cycles)")
      ->capture_default_str();
  app.add_option("--trace-to", ro.trace_to_cycle, "traces: end of the window, exclusive (CMM clock cycles)");
  app.add_option("--trace-nodes", ro.trace_nodes, "traces: only these nodes (names, e.g. 202 204)")->delimiter(',');
  app.add_flag("--exact-latency", ro.exact_latency,
               "keep every latency sample: exact percentiles; memory grows with the run");
  app.add_flag("--vcd-keys", ro.vcd_keys,
               "also dump the 128-bit key fields into the VCD (off by default: a waveform never leaks keys)");
  app.add_flag("--dump-config", dump_config, "print the effective scenario as JSON and exit");
  app.add_flag("-q,--quiet", quiet, "no summary on stdout");
  app.add_flag("--no-progress", no_progress,
               "no progress lines on stderr (default: at most one a second with simulated time, percent of "
               "messages, speed and ETA)");
  app.set_version_flag("--version", std::string("cmmsim ") + CMM_GIT_HASH + "\n" + sc_core::sc_version() +
                                        "\nVerilator: " + CMM_VERILATOR_VERSION);
  CLI11_PARSE(app, argc, argv);

  Scenario s;
  try {
    if (config.empty()) {
      s = builtin == "fig2" ? fig2_scenario() : fig2_attack_scenario();
    } else {
      std::ifstream f(config);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(f);
      } catch (const nlohmann::json::parse_error& e) {
        std::cerr << "cmmsim: " << config << ": not valid JSON: " << e.what() << "\n";
        return 2;
      }
      s = scenario_from_json(j, config);
    }
    if (!sets.empty()) {
      nlohmann::json j = s.to_json();
      for (const auto& kv : sets) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
          throw ConfigError("--set '" + kv + "': expected KEY=VALUE");
        const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
        // KEY may be a dotted path into nested objects: traffic.offered_load.
        nlohmann::json* node = &j;
        std::string part, rest = key;
        for (;;) {
          const auto dot = rest.find('.');
          part = rest.substr(0, dot);
          if (!node->is_object() || !node->contains(part))
            throw ConfigError("--set '" + kv + "': the scenario has no key '" + key +
                              "' (see --dump-config; nested keys as a.b.c)");
          if (dot == std::string::npos) break;
          node = &(*node)[part];
          rest = rest.substr(dot + 1);
        }
        if ((*node)[part].is_array() || (*node)[part].is_object())
          throw ConfigError("--set '" + kv + "': '" + key + "' is not a scalar key of the scenario");
        // Numbers and booleans as JSON; anything else as a string.
        nlohmann::json v = nlohmann::json::parse(val, nullptr, false);
        (*node)[part] = v.is_discarded() || v.is_object() || v.is_array() ? nlohmann::json(val) : v;
      }
      s = scenario_from_json(j, "--set");
    }
    if (messages >= 0)
      for (auto& c : s.channels) c.messages = static_cast<uint32_t>(messages);
    if (max_cycles) s.max_cycles = max_cycles;
    s.validate();
  } catch (const ConfigError& e) {
    std::cerr << "cmmsim: configuration error: " << e.what() << "\n";
    return 2;
  }
  if (seed_opt->count()) s.seed = seed;
  seed = s.seed;
  nlohmann::json effective = s.to_json();
  if (dump_config) {
    std::cout << effective.dump(2) << "\n";
    return 0;
  }

  RunResult r;
  try {
    std::signal(SIGINT, on_sigint);  // Ctrl-C: stop cleanly, still write the statistics
    ro.seed = seed;
    ro.progress = !no_progress && !quiet;
    ro.interrupt = &g_interrupt;
    r = run_system(s, ro);
    std::signal(SIGINT, SIG_DFL);
  } catch (const ConfigError& e) {
    std::cerr << "cmmsim: configuration error: " << e.what() << "\n";
    return 2;
  }
  const std::string text = summary_text(r);
  if (!quiet) std::cout << text;
  if (!out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) {
      std::cerr << "cmmsim: cannot create output folder " << out_dir << ": " << ec.message() << "\n";
      return 2;
    }
    std::ofstream(fs::path(out_dir) / "config.json") << effective.dump(2) << "\n";
    std::ofstream(fs::path(out_dir) / "stats.json") << stats_json(r).dump(2) << "\n";
    std::ofstream(fs::path(out_dir) / "speed.json") << speed_json(r).dump(2) << "\n";
    std::ofstream(fs::path(out_dir) / "row.csv") << csv_row(r, effective);
    if (!r.timeseries.empty()) std::ofstream(fs::path(out_dir) / "timeseries.csv") << timeseries_csv(r);
    std::ofstream(fs::path(out_dir) / "summary.txt") << text;
  }
  if (r.interrupted) {
    std::cerr << "cmmsim: interrupted; statistics of the partial run written\n";
    return 130;
  }
  if (!r.scoreboard_clean) {
    std::cerr << "cmmsim: FAILED: " << r.errors.size() << " scoreboard/invariant error(s)\n";
    return 1;
  }
  return 0;
}
