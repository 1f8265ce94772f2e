// Lockstep co-simulation at the second table geometry (issue 11 item 3): the
// RTL generated for CMM_RTL_GEOMETRY2 (rtl/CMakeLists.txt) against
// cmm::CmmCore built with the same run-time geometry, every output every
// cycle. Longer: CMM_COSIM_CYCLES=4000000 ./cmm_cosim_g2_test.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cosim.h"

namespace cmm::dv {
namespace {

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

CosimConfig g2_config() {
  CosimConfig cfg;
  cfg.params.geo = rtl_g2_geometry();
  cfg.make_dut = make_rtl_model_g2;
  return cfg;
}

TEST(CosimGeometry2, IsNotTheDefaultGeometry) {
  const Geometry g = rtl_g2_geometry();
  EXPECT_TRUE(g.check().empty()) << g.check();
  EXPECT_FALSE(g.is_default()) << "CMM_RTL_GEOMETRY2 must differ from hw/data/cmm.toml's geometry";
}

TEST(CosimGeometry2, StrapsFillTheTable) {
  const Geometry g = rtl_g2_geometry();
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const Straps s = straps_for_seed(seed, g);
    uint32_t sum = 0, none = 0;
    for (uint32_t p = 0; p < g.num_partitions; ++p) {
      sum += s.quota[p];
      none += s.quota[p] == 0;
    }
    for (uint32_t p = g.num_partitions; p < s.quota.size(); ++p) EXPECT_EQ(s.quota[p], 0u) << "seed " << seed;
    EXPECT_EQ(sum, g.num_endpoints + (seed & 1 ? 2u : 0u)) << "seed " << seed;
    EXPECT_EQ(none, g.num_partitions > 1 ? 1u : 0u) << "seed " << seed;
  }
}

TEST(CosimGeometry2, LockstepRandom) {
  const uint64_t total = env_u64("CMM_COSIM_CYCLES", 200000);
  const uint64_t seed0 = env_u64("CMM_COSIM_SEED", 1);
  constexpr uint64_t kSeeds = 4;  // seed 4: the closure profile
  CosimConfig cfg = g2_config();
  cfg.cycles = total / kSeeds;
  if (const char* f = std::getenv("CMM_COSIM_FST")) cfg.fst_path = f;
  uint32_t reasons = 0, states = 0, cmds = 0;
  uint64_t high_ep_verdicts = 0;
  for (uint64_t s = 0; s < kSeeds; ++s) {
    cfg.seed = seed0 + s;
    const CosimResult r = run_cosim(cfg);
    ASSERT_TRUE(r.pass) << r.report;
    EXPECT_GT(r.reg_accesses, cfg.cycles / 8);
    EXPECT_GT(r.ing_headers, cfg.cycles / 20);
    EXPECT_GT(r.delivered, 0u);
    reasons = std::max(reasons, r.reasons_hit);
    states = std::max(states, r.states_hit);
    cmds = std::max(cmds, r.cmds_hit);
    high_ep_verdicts += r.high_ep_verdicts;
  }
  EXPECT_GE(reasons, 30u);
  EXPECT_EQ(states, regs::kStateCount);
  EXPECT_EQ(cmds, regs::kCmdCount);
  // The entries that exist only at this geometry carry traffic.
  EXPECT_GT(high_ep_verdicts, 0u);
}

// The harness is not blind to the geometry: the reference core at the
// default geometry against the RTL of the second one must part ways (an
// entry, a partition or a queue slot one of them does not have).
TEST(CosimGeometry2, DefaultGeometryReferenceMismatches) {
  CosimConfig cfg = g2_config();
  cfg.params.geo = Geometry{};
  cfg.seed = 1;
  cfg.cycles = 50000;
  cfg.verbose = false;
  const CosimResult r = run_cosim(cfg);
  EXPECT_FALSE(r.pass);
  EXPECT_NE(r.report.find("LOCKSTEP MISMATCH"), std::string::npos) << r.report;
}

}  // namespace
}  // namespace cmm::dv
