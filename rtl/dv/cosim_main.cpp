// Lockstep co-simulation runner (nightly / long runs, debugging).
//   cmm_cosim_run [--cycles N] [--seed S] [--seeds K] [--fst file.fst] [--summary] [--preload P] [--wide]
//                 [--cross F] [--strong]
// --preload P: pulse the counter preload pin (dv_preload_i) every P cycles.
// --wide: wide-value mode of the plain stimulus (Stimulus::set_wide; scripts/coverage).
// --cross F: write the functional cross of the ingress commits of every seed
// (cosim.h CrossCoverage; merged by scripts/coverage) to the JSON file F.
// --summary: one line per seed instead of the coverage report (scripts/soak,
// scripts/mutate); a mismatch report is printed either way.
// --strong (runners built with CMM_COSIM_MAIN_STRONG, linked with a STRONG = 1
// pin model): the strong stimulus against a strong reference core.
// cmm_cosim_g2_run (built with CMM_COSIM_MAIN_G2): the same at the second
// table geometry (rtl/CMakeLists.txt CMM_RTL_GEOMETRY2), reference and RTL.
// Exit status 0 iff every seed matched.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "cosim.h"

int main(int argc, char** argv) {
  cmm::dv::CosimConfig cfg;
  uint64_t seeds = 1;
  bool summary = false;
  std::string cross_path;
#if defined(CMM_COSIM_MAIN_G2)
  cfg.params.geo = cmm::dv::rtl_g2_geometry();
  cfg.make_dut = cmm::dv::make_rtl_model_g2;
#endif
  for (int i = 1; i < argc; ++i) {
    auto val = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--cycles")) cfg.cycles = std::strtoull(val("--cycles"), nullptr, 0);
    else if (!std::strcmp(argv[i], "--seed")) cfg.seed = std::strtoull(val("--seed"), nullptr, 0);
    else if (!std::strcmp(argv[i], "--seeds")) seeds = std::strtoull(val("--seeds"), nullptr, 0);
    else if (!std::strcmp(argv[i], "--fst")) cfg.fst_path = val("--fst");
    else if (!std::strcmp(argv[i], "--summary")) summary = true;
    else if (!std::strcmp(argv[i], "--preload")) {
      const char* v = val("--preload");
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v, &end, 0);
      if (*v == '\0' || *end != '\0' || n > 0xFFFFFFFFull) {
        std::fprintf(stderr, "--preload: '%s' is not a cycle count (0..4294967295)\n", v);
        return 2;
      }
      cfg.preload_period = static_cast<uint32_t>(n);
    } else if (!std::strcmp(argv[i], "--wide")) {
      cfg.wide = true;
    } else if (!std::strcmp(argv[i], "--cross")) {
      cross_path = val("--cross");
      cfg.collect_cross = true;
    }
#if defined(CMM_COSIM_MAIN_STRONG)
    else if (!std::strcmp(argv[i], "--strong")) {
      cfg.params.strong = true;  // B = 16, L = 4: the strong flavours' engine
      cfg.make_dut = [](const cmm::Straps& st, const cmm::dv::RtlTrace& t) {
        return cmm::dv::make_rtl_model_strong(st, t);
      };
    }
#endif
    else {
      std::fprintf(stderr, "usage: %s [--cycles N] [--seed S] [--seeds K] [--fst file.fst] [--summary] [--preload P] [--wide] [--cross F]%s\n", argv[0],
#if defined(CMM_COSIM_MAIN_STRONG)
                   " [--strong]");
#else
                   "");
#endif
      return 2;
    }
  }
  // Opened before the runs: a bad path fails at once, not after them.
  std::ofstream cross_out;
  if (!cross_path.empty()) {
    cross_out.open(cross_path);
    if (!cross_out) {
      std::fprintf(stderr, "--cross: cannot write '%s'\n", cross_path.c_str());
      return 2;
    }
  }
  cmm::dv::CrossCoverage cross;
  const uint64_t first = cfg.seed;
  for (uint64_t s = 0; s < seeds; ++s) {
    cfg.seed = first + s;
    cfg.verbose = !summary;
    const cmm::dv::CosimResult r = cmm::dv::run_cosim(cfg);
    if (summary && !r.pass) {
      std::fputs(r.report.c_str(), stderr);
      std::printf("seed %" PRIu64 ": FAIL at cycle %" PRIu64 " port %s\n", cfg.seed, r.fail_cycle,
                  r.fail_port.c_str());
    } else if (summary) {
      std::printf("seed %" PRIu64 ": PASS cycles=%" PRIu64 " reg=%" PRIu64 " ing=%" PRIu64 " eg=%" PRIu64
                  " verdicts=%" PRIu64 " delivered=%" PRIu64 " resets=%" PRIu64
                  " reasons=%u states=%u cmds=%u hazards=%u hardening=%u seconds=%.1f\n",
                  cfg.seed, r.cycles, r.reg_accesses, r.ing_headers, r.eg_headers, r.verdicts, r.delivered,
                  r.resets, r.reasons_hit, r.states_hit, r.cmds_hit, r.hazard_kinds, r.new_reasons_hit,
                  r.seconds);
      std::fflush(stdout);
    }
    if (!r.pass) return 1;
    cross.merge(r.cross);
  }
  if (cross_out.is_open()) {
    cross_out << cross.json();
    cross_out.close();
    if (!cross_out) {
      std::fprintf(stderr, "--cross: writing '%s' failed\n", cross_path.c_str());
      return 2;
    }
  }
  return 0;
}
