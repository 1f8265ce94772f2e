// Lockstep co-simulation runner (nightly / long runs, debugging).
//   cmm_cosim_run [--cycles N] [--seed S] [--seeds K] [--fst file.fst]
// Exit status 0 iff every seed matched.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cosim.h"

int main(int argc, char** argv) {
  cmm::dv::CosimConfig cfg;
  uint64_t seeds = 1;
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
    else {
      std::fprintf(stderr, "usage: %s [--cycles N] [--seed S] [--seeds K] [--fst file.fst]\n", argv[0]);
      return 2;
    }
  }
  const uint64_t first = cfg.seed;
  for (uint64_t s = 0; s < seeds; ++s) {
    cfg.seed = first + s;
    if (!cmm::dv::run_cosim(cfg).pass) return 1;
  }
  return 0;
}
