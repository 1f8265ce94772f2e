// cmmsim: runs a scenario (default: the patent's FIG. 2 system) and reports.
// Every input is checked before the simulation starts; bad input exits 2
// naming the key or option, the value, where it came from and what is allowed.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <systemc>

#include "scenario_keys.h"
#include "system.h"

#ifndef CMM_GIT_HASH
#define CMM_GIT_HASH "unknown"
#endif
#ifndef CMM_VERSION
#define CMM_VERSION "unknown"
#endif
#ifndef CMM_VERILATOR_VERSION
#define CMM_VERILATOR_VERSION "not in this build"
#endif
#if defined(__clang__)
#define CMM_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define CMM_COMPILER "GCC " __VERSION__
#else
#define CMM_COMPILER "unknown compiler"
#endif

namespace fs = std::filesystem;
using namespace cmm::tb;
using nlohmann::json;

namespace {
volatile std::sig_atomic_t g_interrupt = 0;
extern "C" void on_sigint(int) { g_interrupt = 1; }

// An unsigned option value, checked like a scenario key (no wrap, no truncation).
uint64_t option_uint(const std::string& flag, const std::string& text, uint64_t lo, uint64_t hi) {
  KeyDecl d = KeyDecl::make(KeyScope::kScenario, flag, KeyType::kUint, "cycles", "");
  d.umin = lo;
  d.umax = hi;
  const json v = cli_value(text);
  try {
    d.check(v, "", flag);
  } catch (const ConfigError&) {
    throw ConfigError(flag + " " + text + ": allowed: " + d.allowed_text() + " (cycles)");
  }
  return v.get<uint64_t>();
}

// A scenario key from its own option (--seed, --max-cycles, --messages).
json option_key(const std::string& flag, const std::string& path, const std::string& text) {
  const json v = cli_value(text);
  find_key_path(path)->check(v, flag, path);
  return v;
}

// The folder must exist (or be creatable) and take files; checked before
// the simulation so that a long run is not lost.
void check_out_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw ConfigError("-o " + dir + ": cannot create the output folder" + (ec ? ": " + ec.message() : ""));
  const fs::path probe = fs::path(dir) / ".cmmsim-write-check";
  {
    std::ofstream f(probe);
    if (!f) throw ConfigError("-o " + dir + ": the output folder is not writable");
  }
  fs::remove(probe, ec);
}

// A trace file: its folder must exist and take files.
void check_out_file(const std::string& flag, const std::string& path) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) throw ConfigError(flag + " " + path + ": folder " + dir.string() + " does not exist");
  if (fs::is_directory(p)) throw ConfigError(flag + " " + path + ": is a folder, not a file");
  const bool existed = fs::exists(p);
  {
    std::ofstream f(p, std::ios::app);
    if (!f) throw ConfigError(flag + " " + path + ": cannot write this file");
  }
  std::error_code ec;
  if (!existed) fs::remove(p, ec);
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}
}  // namespace

int sc_main(int argc, char** argv) {
  // The end of a run is an sc_stop() by the testbench, not news.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  CLI::App app{"cmmsim: cycle-accurate simulation of CMM-based multi-node systems"};
  std::string seed_text, messages_text, max_cycles_text, from_text, to_text;
  std::string config, out_dir, builtin = "fig2";
  bool dump_config = false, quiet = false, no_progress = false, list_keys = false, keys_md = false;
  app.add_option("--seed", seed_text,
                 "random seed, 0..2^64-1: same seed and configuration, identical statistics and traces "
                 "(default: the configuration's seed, 1)");
  auto* scen_opt =
      app.add_option("-s,--scenario", builtin,
                     "built-in scenario: fig2 (the patent's FIG. 2 system) or fig2-attacks (the same under attack)")
          ->check(CLI::IsMember({"fig2", "fig2-attacks"}))
          ->capture_default_str();
  app.add_option("-c,--config", config, "scenario JSON file (instead of a built-in scenario; see --dump-config)")
      ->check(CLI::ExistingFile)
      ->excludes(scen_opt);
  auto* out_opt = app.add_option("-o,--out", out_dir,
                                 "write config.json, stats.json and stats.txt (deterministic), speed.json, row.csv "
                                 "(one CSV row, for sweeps) and summary.txt into this folder (checked first)");
  app.add_option("--messages", messages_text,
                 "override the message count of every channel, 0..65536 (static channels only: an error with "
                 "generated traffic)");
  app.add_option("--max-cycles", max_cycles_text,
                 "watchdog, >= 1: fail if the run is not done after this many cycles (scenario key max_cycles)");
  std::vector<std::string> sets;
  app.add_option("--set", sets,
                 "override a scenario key, KEY=VALUE (repeatable; nested keys as a.b), e.g. --set topology=mesh "
                 "--set traffic.offered_load=0.01; see --list-keys");
  std::vector<std::string> fault_opts;
  app.add_option("--fault", fault_opts,
                 "add a fabric fault rule KIND=RATE[@LINK] (repeatable), e.g. --fault drop=0.01 --fault "
                 "corrupt=0.001@202.in; --fault off clears the scenario's rules (docs/fault-injection.md)");
  RunOptions ro;
  auto* trace_opt = app.add_option(
      "--trace", ro.perfetto_path, "write a Perfetto/Chrome trace-event JSON timeline to this file (ui.perfetto.dev)");
  auto* vcd_opt = app.add_option("--vcd", ro.vcd_path, "write a VCD waveform of every CMM core's pins to this file");
  auto* from_opt = app.add_option("--trace-from", from_text, "traces: first cycle of the window (default 0)");
  auto* to_opt = app.add_option("--trace-to", to_text, "traces: end of the window, exclusive (> --trace-from)");
  auto* nodes_opt =
      app.add_option("--trace-nodes", ro.trace_nodes, "traces: only these nodes (names, e.g. 202 204)")->delimiter(',');
  app.add_flag("--exact-latency", ro.exact_latency,
               "keep every latency sample: exact percentiles; memory grows with the run");
  auto* keys_opt = app.add_flag(
      "--vcd-keys", ro.vcd_keys, "also dump the 128-bit key fields into the VCD (off by default: a waveform never leaks keys)");
  app.add_flag("--dump-config", dump_config, "print the effective scenario as JSON and exit");
  app.add_flag("--list-keys", list_keys, "list every scenario key with type, range, unit and description, and exit");
  app.add_flag("--keys-markdown", keys_md, "print docs/scenario-keys.md (the key reference) and exit");
  bool keys_js = false;
  app.add_flag("--keys-json", keys_js, "print every scenario key's declaration as JSON and exit");
  app.add_flag("-q,--quiet", quiet, "no summary on stdout");
  app.add_flag("--no-progress", no_progress,
               "no progress lines on stderr (default: at most one a second with simulated time, percent of "
               "messages, speed and ETA)");
  Provenance prov{CMM_VERSION, CMM_GIT_HASH, std::string("SystemC ") + sc_core::sc_release(), CMM_COMPILER,
                  CMM_VERILATOR_VERSION, 0};
  app.set_version_flag("--version", std::string("cmmsim ") + CMM_VERSION + " (git " + CMM_GIT_HASH + ")\n" +
                                        sc_core::sc_version() + "\nCompiler: " + CMM_COMPILER +
                                        "\nVerilator: " + CMM_VERILATOR_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return 2;     // bad command line, as docs/testbench.md promises
  }
  if (list_keys || keys_md || keys_js) {
    std::cout << (keys_js ? keys_json().dump(2) + "\n" : keys_md ? keys_markdown() : keys_text());
    return 0;
  }

  Scenario s;
  json effective;
  try {
    // Options that would have no effect are errors: a silently ignored option is a wrong experiment.
    const bool tracing = !ro.perfetto_path.empty() || !ro.vcd_path.empty();
    for (auto* o : {from_opt, to_opt, nodes_opt})
      if (o->count() && !tracing) throw ConfigError(o->get_name() + " has no effect without --trace or --vcd");
    if (keys_opt->count() && ro.vcd_path.empty()) throw ConfigError("--vcd-keys has no effect without --vcd");
    if (dump_config && out_opt->count()) throw ConfigError("-o has no effect with --dump-config (it only prints)");
    if (!from_text.empty()) ro.trace_from_cycle = option_uint("--trace-from", from_text, 0, UINT64_MAX - 1);
    if (!to_text.empty()) ro.trace_to_cycle = option_uint("--trace-to", to_text, 1, UINT64_MAX);
    if (ro.trace_to_cycle <= ro.trace_from_cycle)
      throw ConfigError("--trace-to " + std::to_string(ro.trace_to_cycle) + " must be above --trace-from " +
                        std::to_string(ro.trace_from_cycle) + " (the window [from, to) would be empty)");
    // The output folder and trace files first: never lose a finished run.
    if (!dump_config) {
      if (!out_dir.empty()) check_out_dir(out_dir);
      if (!ro.perfetto_path.empty()) check_out_file("--trace", ro.perfetto_path);
      if (!ro.vcd_path.empty()) check_out_file("--vcd", ro.vcd_path);
    }
    (void)trace_opt;
    (void)vcd_opt;

    std::vector<std::string> warnings;
    std::string source = "scenario " + builtin;
    if (config.empty()) {
      s = builtin == "fig2" ? fig2_scenario() : fig2_attack_scenario();
    } else {
      source = config;
      std::ifstream f(config);
      json j;
      try {
        j = json::parse(f);
      } catch (const json::parse_error& e) {
        throw ConfigError(config + ": not valid JSON: " + e.what());
      }
      s = scenario_from_json(j, config, &warnings);
    }
    if (!sets.empty()) {
      json j = s.to_json();
      for (const auto& kv : sets) apply_set(j, kv);
      json given = json::object();  // the keys --set gave, for the no-effect warnings
      for (const auto& kv : sets) given[kv.substr(0, kv.find('='))] = true;
      s = scenario_from_json(j, source + " with --set");
      for (const auto& w : s.ineffective_keys(given)) warnings.push_back("--set: " + w);
    }
    for (const auto& f : fault_opts) {
      if (f == "off") {
        s.faults.clear();
        continue;
      }
      s.faults.push_back(parse_fault_option(f));
      try {
        s.validate();  // the link names a node of this scenario
      } catch (const ConfigError& e) {
        throw ConfigError("--fault " + f + ": " + e.what());
      }
    }
    if (!seed_text.empty()) s.seed = option_key("--seed", "seed", seed_text).get<uint64_t>();
    if (!max_cycles_text.empty()) s.max_cycles = option_key("--max-cycles", "max_cycles", max_cycles_text).get<uint64_t>();
    if (!messages_text.empty()) {
      const auto m = option_key("--messages", "channels[].messages", messages_text).get<uint32_t>();
      if (s.traffic)
        throw ConfigError("--messages has no effect with generated traffic (measure_cycles and "
                          "traffic.offered_load decide how many messages are sent)");
      for (auto& c : s.channels) c.messages = m;
    }
    s.validate();
    for (const auto& w : warnings) std::cerr << "cmmsim: warning: " << w << "\n";
    effective = s.to_json();
  } catch (const ConfigError& e) {
    std::cerr << "cmmsim: configuration error: " << e.what() << "\n";
    return 2;
  }
  prov.seed = s.seed;
  if (dump_config) {
    std::cout << effective.dump(2) << "\n";
    return 0;
  }

  RunResult r;
  try {
    std::signal(SIGINT, on_sigint);  // Ctrl-C: stop cleanly, still write the statistics
    ro.seed = s.seed;
    ro.progress = !no_progress && !quiet;
    ro.interrupt = &g_interrupt;
    r = run_system(s, ro);
    std::signal(SIGINT, SIG_DFL);
  } catch (const ConfigError& e) {
    std::cerr << "cmmsim: configuration error: " << e.what() << "\n";
    return 2;
  }
  const std::string text = summary_text(r) + "  build                " + prov.line() + "\n";
  if (!quiet) std::cout << text;
  if (!out_dir.empty()) {
    try {
      const fs::path d(out_dir);
      json cfg = effective;
      cfg["provenance"] = prov.to_json();
      const json stats = stats_json(r, &prov);
      write_file(d / "config.json", cfg.dump(2) + "\n");
      write_file(d / "stats.json", stats.dump(2) + "\n");
      write_file(d / "stats.txt", stats_txt(stats));
      write_file(d / "speed.json", speed_json(r, &prov).dump(2) + "\n");
      write_file(d / "row.csv", csv_row(r, effective));
      if (!r.timeseries.empty()) write_file(d / "timeseries.csv", timeseries_csv(r));
      write_file(d / "summary.txt", text);
    } catch (const std::exception& e) {
      std::cerr << "cmmsim: " << e.what() << "\n";
      return 2;
    }
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
